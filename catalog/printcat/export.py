"""The catalogue as MARCXML (MARC 21 slim), for union catalogues and other library systems.

Every record, or the ones asked for, as a `<collection>`: the same fields the import reads
(README.md, "The print catalogue"), with each printed copy as an 852 and a leader and 008
that the MARC 21 slim schema accepts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import pymarc
from pymarc import Field, Indicators, Subfield

from catalog import records
from catalog.printcat import values

# Leader: new record (n), language material (a), monograph (m), Unicode (a), ISBD punctuation omitted (c).
LEADER = "00000nam a2200000 c 4500"


def export_marcxml(connection: sqlite3.Connection, record_ids: Iterable[int] | None = None) -> bytes:
    """A MARCXML collection of the given records (every record when None), as UTF-8 bytes.

    Raises `RecordNotFound` for a number that is not in the catalogue.
    """
    if record_ids is None:
        record_ids = [record_id for (record_id,) in connection.execute("SELECT id FROM records ORDER BY id")]
    parts = [b'<?xml version="1.0" encoding="UTF-8"?>\n<collection xmlns="http://www.loc.gov/MARC21/slim">\n']
    for record_id in record_ids:
        identifiers = connection.execute(
            "SELECT scheme, value FROM identifiers WHERE record_id = ? ORDER BY rowid", (record_id,)
        ).fetchall()
        marc = marc_record(
            records.get_record(connection, record_id), [(scheme, value) for scheme, value in identifiers]
        )
        parts.append(pymarc.record_to_xml(marc, namespace=False) + b"\n")
    parts.append(b"</collection>\n")
    return b"".join(parts)


def _field(tag: str, indicators: str, *subfields: tuple[str, str | None]) -> Field | None:
    kept = [Subfield(code, str(value)) for code, value in subfields if value not in (None, "")]
    if not kept:
        return None
    return Field(tag, Indicators(indicators[0], indicators[1]), kept)


def marc_record(record: dict, identifiers: list[tuple[str, str]]) -> pymarc.Record:
    """One catalogue record (as `records.get_record` gives it, with all its identifiers) as MARC 21."""
    marc = pymarc.Record(leader=LEADER, force_utf8=True)
    marc.add_field(Field("001", data=str(record["id"])))
    updated = record["updated_at"] or ""
    stamp = "".join(char for char in updated if char.isdigit())[:14]
    if len(stamp) == 14:
        marc.add_field(Field("005", data=f"{stamp}.0"))
    marc.add_field(Field("008", data=_fixed_field(record)))
    fields: list[Field | None] = []
    fields += [_field("020", "  ", ("a", value)) for scheme, value in identifiers if scheme == "isbn"]
    fields += [_field("022", "  ", ("a", value)) for scheme, value in identifiers if scheme == "issn"]
    fields.append(_field("041", "0 ", ("a", values.marc_language(record["language"]))))
    fields.append(_field("082", "04", ("a", record["ddc"])))
    fields.append(_field("084", "  ", ("a", record.get("classification"))))
    people = record["contributors"]
    main = next((person for person in people if person["role"] == "aut"), None)
    if main is not None:
        fields.append(_field("100", "1 ", ("a", main["sort_name"] or main["name"]), ("4", main["role"])))
    for person in people:
        if person is not main:
            fields.append(_field("700", "1 ", ("a", person["sort_name"] or person["name"]), ("4", person["role"])))
    fields.append(_field("245", ("1" if main else "0") + "0", ("a", record["title"]), ("b", record["subtitle"])))
    fields.append(_field("250", "  ", ("a", record.get("edition"))))
    year = str(record["year"]) if record["year"] else None
    fields.append(_field("264", " 1", ("a", record.get("place")), ("b", record["publisher"]), ("c", year)))
    fields.append(_field("300", "  ", ("a", record.get("extent"))))
    fields.append(_field("490", "0 ", ("a", record.get("series"))))
    fields.append(_field("520", "  ", ("a", record["description"])))
    fields += [_field("650", " 4", ("a", term)) for term in record["subjects"]]
    for item in record["items"]:
        fields.append(_field("852", "  ", ("b", item["location"]), ("h", item["call_number"]), ("p", item["barcode"])))
    for field in fields:
        if field is not None:
            marc.add_ordered_field(field)
    return marc


def _fixed_field(record: dict) -> str:
    """008 for books: date entered, single date, no place code, language; 40 characters."""
    created = "".join(char for char in (record["created_at"] or "") if char.isdigit())
    entered = created[2:8] if len(created) >= 8 else "000000"
    date_type, date = ("s", f"{record['year']:04d}") if record["year"] else ("n", "uuuu")
    language = values.marc_language(record["language"]) or "und"
    form = "o" if record["files"] and not record["items"] else " "
    fixed = f"{entered}{date_type}{date}    xx {' ' * 5}{form}{' ' * 11}{language} d"
    assert len(fixed) == 40, fixed
    return fixed

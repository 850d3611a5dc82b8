"""What OAI-PMH harvesters see of the catalogue: sets, datestamps, tombstones and metadata.

A record is in the sets `dewey:X00` (the first digit of its DDC number), `format:epub`,
`format:pdf` (its e-book files), `format:print` (it has printed copies) and `language:xx`, and in
their parents `dewey`, `format`, `language`. Its datestamp is `records.updated_at` (UTC). A
withdrawn record is shown as deleted; a deleted one leaves a tombstone in `oai_deletions`
(written by `note_deletion`, which `catalog.editing.delete_record` calls).
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import pymarc
from lxml import etree

from catalog import records
from catalog.errors import RecordNotFound
from catalog.printcat.export import marc_record

DC_NAMESPACE = "http://purl.org/dc/elements/1.1/"
OAI_DC_NAMESPACE = "http://www.openarchives.org/OAI/2.0/oai_dc/"
MARC_NAMESPACE = "http://www.loc.gov/MARC21/slim"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
# (prefix, schema, namespace) of every metadata format, in the order ListMetadataFormats gives them.
FORMATS = (
    ("oai_dc", "http://www.openarchives.org/OAI/2.0/oai_dc.xsd", OAI_DC_NAMESPACE),
    ("marc21", "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd", MARC_NAMESPACE),
)
# The fifteen elements of simple Dublin Core, in the order oai_dc writes them.
DC_ELEMENTS = (
    "title",
    "creator",
    "subject",
    "description",
    "publisher",
    "contributor",
    "date",
    "type",
    "format",
    "identifier",
    "source",
    "language",
    "relation",
    "coverage",
    "rights",
)
DEWEY_NAMES = {
    "0": "Karya Umum",
    "1": "Filsafat dan Psikologi",
    "2": "Agama",
    "3": "Ilmu Sosial",
    "4": "Bahasa",
    "5": "Ilmu Murni",
    "6": "Ilmu Terapan",
    "7": "Kesenian dan Olahraga",
    "8": "Kesusastraan",
    "9": "Sejarah dan Geografi",
}
FORMAT_NAMES = {"epub": "EPUB", "pdf": "PDF", "print": "Buku tercetak (printed book)"}
MEDIA_TYPES = {"epub": "application/epub+zip", "pdf": "application/pdf"}
RIGHTS = {
    "open-access": "Akses terbuka (open access)",
    "lending": "Dipinjamkan dengan lisensi (licensed for lending)",
    "in-library": "Dibaca di perpustakaan saja (in the library only)",
}
_SET_SPEC = re.compile(r"^(dewey|format|language)(?::([A-Za-z0-9\-_.]+))?$")
_LANGUAGE = re.compile(r"^[A-Za-z0-9\-_.]+$")


def record_sets(record: dict[str, Any]) -> list[str]:
    """The setSpecs of a record (as `records.get_record` gives it), children only."""
    sets = []
    if record["ddc"] and record["ddc"][0].isdigit():
        sets.append(f"dewey:{record['ddc'][0]}00")
    sets += [f"format:{kind}" for kind in sorted({file["format"] for file in record["files"]})]
    if record["items"]:
        sets.append("format:print")
    language = (record["language"] or "").lower()
    if language and _LANGUAGE.match(language):
        sets.append(f"language:{language}")
    return sets


def note_deletion(connection: sqlite3.Connection, record_id: int) -> None:
    """Keep a tombstone of a record about to be deleted; the caller holds the transaction."""
    sets = " ".join(record_sets(records.get_record(connection, record_id)))
    connection.execute(
        "INSERT OR REPLACE INTO oai_deletions (record_id, deleted_at, sets)"
        " VALUES (?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ?)",
        (record_id, sets),
    )


def known_sets(connection: sqlite3.Connection) -> list[tuple[str, str]]:
    """(setSpec, setName) of every set that holds a record or a tombstone, parents first."""
    specs: set[str] = set()
    for row in connection.execute("SELECT DISTINCT substr(ddc, 1, 1) FROM records WHERE ddc GLOB '[0-9]*'"):
        specs.add(f"dewey:{row[0]}00")
    for (kind,) in connection.execute("SELECT DISTINCT format FROM ebook_files"):
        specs.add(f"format:{kind}")
    if connection.execute("SELECT 1 FROM items LIMIT 1").fetchone():
        specs.add("format:print")
    for (language,) in connection.execute("SELECT DISTINCT lower(language) FROM records WHERE language IS NOT NULL"):
        if language and _LANGUAGE.match(language):
            specs.add(f"language:{language}")
    for (sets,) in connection.execute("SELECT sets FROM oai_deletions"):
        specs.update(sets.split())
    result = []
    for parent, name in (("dewey", "DDC"), ("format", "Format"), ("language", "Bahasa (language)")):
        children = sorted(spec for spec in specs if spec.startswith(parent + ":"))
        if children:
            result.append((parent, name))
            result += [(spec, _set_name(spec)) for spec in children]
    return result


def _set_name(spec: str) -> str:
    parent, value = spec.split(":", 1)
    if parent == "dewey":
        return f"{value} {DEWEY_NAMES.get(value[0], '')}".strip()
    if parent == "format":
        return FORMAT_NAMES.get(value, value)
    return value


def is_set_spec(spec: str) -> bool:
    return bool(_SET_SPEC.match(spec))


def _set_condition(spec: str | None) -> tuple[str, str, list[Any]]:
    """SQL conditions (on records r, on oai_deletions d) that select the set *spec*."""
    if not spec:
        return "1", "1", []
    parent, value = _SET_SPEC.match(spec).groups()
    if value is None:
        live = {
            "dewey": "r.ddc GLOB '[0-9]*'",
            "format": "(EXISTS (SELECT 1 FROM ebook_files f WHERE f.record_id = r.id)"
            " OR EXISTS (SELECT 1 FROM items i WHERE i.record_id = r.id))",
            "language": "r.language IS NOT NULL",
        }[parent]
        return live, "instr(' ' || d.sets, ' ' || ? || ':') > 0", [parent]
    gone = "instr(' ' || d.sets || ' ', ' ' || ? || ' ') > 0"
    if parent == "dewey":
        digit = value[0] if re.fullmatch(r"[0-9]00", value) else "x"
        return "substr(r.ddc, 1, 1) = ? AND r.ddc GLOB '[0-9]*'", gone, [digit, spec]
    if parent == "format" and value == "print":
        return "EXISTS (SELECT 1 FROM items i WHERE i.record_id = r.id)", gone, [spec]
    if parent == "format":
        return "EXISTS (SELECT 1 FROM ebook_files f WHERE f.record_id = r.id AND f.format = ?)", gone, [value, spec]
    return "lower(r.language) = ?", gone, [value.lower(), spec]


def headers(
    connection: sqlite3.Connection,
    *,
    after_id: int = 0,
    since: str | None = None,
    until: str | None = None,
    set_spec: str | None = None,
    limit: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Headers (id, datestamp, deleted) in id order after *after_id*, within the datestamps
    [since, until] and the set, up to *limit*; and how many match in all (any id)."""
    live_set, gone_set, set_parameters = _set_condition(set_spec)
    live_parameters = set_parameters[:-1] if set_spec else []
    gone_parameters = set_parameters[-1:] if set_spec else []
    dates, date_parameters = "", []
    if since:
        dates += " AND datestamp >= ?"
        date_parameters.append(since)
    if until:
        dates += " AND datestamp <= ?"
        date_parameters.append(until)
    live = "SELECT r.id AS id, r.updated_at AS datestamp, r.withdrawn AS deleted FROM records r"
    gone = "SELECT d.record_id, d.deleted_at, 1 FROM oai_deletions d"
    union = (
        f"SELECT * FROM ({live} WHERE {live_set}"  # noqa: S608 - fixed SQL conditions; every value is bound
        f" UNION ALL {gone} WHERE {gone_set} AND d.record_id NOT IN (SELECT id FROM records))"
        f" WHERE 1 {dates}"
    )
    parameters = [*live_parameters, *gone_parameters, *date_parameters]
    total = connection.execute(f"SELECT count(*) FROM ({union})", parameters).fetchone()[0]  # noqa: S608 - fixed SQL
    rows = connection.execute(
        f"SELECT * FROM ({union}) WHERE id > ? ORDER BY id LIMIT ?",  # noqa: S608 - fixed SQL, bound values
        [*parameters, after_id, -1 if limit is None else limit],
    ).fetchall()
    return [{"id": row["id"], "datestamp": row["datestamp"], "deleted": bool(row["deleted"])} for row in rows], total


def header(connection: sqlite3.Connection, record_id: int) -> dict[str, Any] | None:
    row = connection.execute("SELECT updated_at, withdrawn FROM records WHERE id = ?", (record_id,)).fetchone()
    if row:
        return {"id": record_id, "datestamp": row["updated_at"], "deleted": bool(row["withdrawn"])}
    row = connection.execute("SELECT deleted_at FROM oai_deletions WHERE record_id = ?", (record_id,)).fetchone()
    return {"id": record_id, "datestamp": row["deleted_at"], "deleted": True} if row else None


def header_sets(connection: sqlite3.Connection, record_id: int) -> list[str]:
    try:
        return record_sets(records.get_record(connection, record_id))
    except RecordNotFound:
        pass
    row = connection.execute("SELECT sets FROM oai_deletions WHERE record_id = ?", (record_id,)).fetchone()
    return row["sets"].split() if row else []


def earliest_datestamp(connection: sqlite3.Connection) -> str | None:
    return connection.execute(
        "SELECT min(stamp) FROM (SELECT min(updated_at) AS stamp FROM records"
        " UNION ALL SELECT min(deleted_at) FROM oai_deletions)"
    ).fetchone()[0]


def dublin_core(record: dict[str, Any], record_url: str | None) -> etree._Element:
    """`<oai_dc:dc>` with only the fifteen simple Dublin Core elements."""
    values: dict[str, list[str]] = {name: [] for name in DC_ELEMENTS}
    values["title"].append(record["title"] + (f": {record['subtitle']}" if record["subtitle"] else ""))
    values["creator"] += record["authors"]
    values["contributor"] += [p["name"] for p in record["contributors"] if p["name"] not in record["authors"]]
    values["subject"] += record["subjects"]
    if record["ddc"]:
        values["subject"].append(f"DDC {record['ddc']}")
    values["description"] += [text for text in (record["description"],) if text]
    values["publisher"] += [text for text in (record["publisher"],) if text]
    values["date"] += [str(record["year"])] if record["year"] else []
    values["type"].append("Text")
    values["format"] += [MEDIA_TYPES[kind] for kind in sorted({f["format"] for f in record["files"]})]
    if record["items"]:
        values["format"].append("Printed book")
    for scheme, value in record["identifiers"].items():
        values["identifier"].append(f"urn:{scheme}:{value}" if scheme in ("isbn", "issn") else value)
    if record_url:
        values["identifier"].append(record_url)
    values["source"] += [text for text in (record["source"],) if text]
    values["language"] += [record["language"]] if record["language"] else []
    values["relation"] += [record["series"]] if record["series"] else []
    if record["files"]:
        values["rights"].append(RIGHTS.get(record["licence"], record["licence"]))
    root = etree.Element(
        f"{{{OAI_DC_NAMESPACE}}}dc",
        nsmap={"oai_dc": OAI_DC_NAMESPACE, "dc": DC_NAMESPACE, "xsi": XSI},
    )
    root.set(f"{{{XSI}}}schemaLocation", f"{OAI_DC_NAMESPACE} {FORMATS[0][1]}")
    for name in DC_ELEMENTS:
        for value in values[name]:
            etree.SubElement(root, f"{{{DC_NAMESPACE}}}{name}").text = _xml_text(value)
    return root


def marc21(connection: sqlite3.Connection, record: dict[str, Any]) -> etree._Element:
    """The record as MARC 21 slim, the same as `printcat.export` writes."""
    identifiers = connection.execute(
        "SELECT scheme, value FROM identifiers WHERE record_id = ? ORDER BY rowid", (record["id"],)
    ).fetchall()
    marc = marc_record(record, [(scheme, value) for scheme, value in identifiers])
    return etree.fromstring(pymarc.record_to_xml(marc, namespace=True))


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)

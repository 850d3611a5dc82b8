"""A librarian's changes to a record: its fields, licence, withdrawal and deletion (its cover:
`catalog.covers`; the staff's lists: `catalog.listing`).

Each change is a plain function on a connection; the caller holds the transaction (so the
audit log entry lands in the same one) and then calls `refresh_index` so that search shows
the change at once. Files are removed from disk only after the database no longer names
them (`remove_stored_files`); a crash in between leaves files that the next import sweeps.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from catalog import lending, oai_store, records
from catalog import search as search_engine
from catalog.datadir import DataDir
from catalog.errors import CatalogError
from catalog.extract.identifiers import normalise_isbn
from catalog.i18n import N_
from catalog.search.index import SearchIndex

# Fields a librarian edits as plain text, with their longest allowed value.
TEXT_FIELDS = {
    "title": 500,
    "subtitle": 500,
    "publisher": 200,
    "place": 100,
    "edition": 100,
    "series": 300,
    "extent": 200,
    "classification": 50,
    "description": 10_000,
}
LIST_FIELDS = ("authors", "contributors", "subjects", "isbns", "identifiers")
# MARC relator codes offered for other contributors; a record may carry others, which are kept.
CONTRIBUTOR_ROLES = {
    "edt": N_("Editor"),
    "trl": N_("Translator"),
    "ill": N_("Illustrator"),
    "com": N_("Compiler"),
    "pht": N_("Photographer"),
    "nrt": N_("Narrator"),
    "ctb": N_("Contributor"),
}
_ROLE = re.compile(r"^[a-z]{3}$")
IDENTIFIER_SCHEMES = ("issn", "doi", "url", "uuid", "other")
LICENCES = ("open-access", "lending", "in-library")
_DDC = re.compile(r"^[0-9]{3}(\.[0-9]+)?$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")


# --- what can be wrong with a librarian's input ----------------------------------------------


class InvalidRecordField(CatalogError):
    """A value a record cannot take; `field` names the form field it came from."""

    code = "invalid-field"
    message = N_("This value cannot be used.")

    @property
    def field(self) -> str:
        return str(self.params.get("field", ""))


class TitleRequired(InvalidRecordField):
    code = "title-required"
    message = N_("A record needs a title.")


class ValueTooLong(InvalidRecordField):
    code = "value-too-long"
    message = N_("At most %(limit)s characters.")


class InvalidIsbn(InvalidRecordField):
    code = "invalid-isbn"
    message = N_("%(value)s is not a valid ISBN: an ISBN has 10 or 13 digits and its last digit must fit the others.")


class InvalidYear(InvalidRecordField):
    code = "invalid-year"
    message = N_("The year must be between %(earliest)s and %(latest)s.")


class InvalidDdc(InvalidRecordField):
    code = "invalid-ddc"
    message = N_("A DDC number has three digits, optionally followed by a point and more digits, e.g. 899.221.")


class DdcClassMismatch(InvalidRecordField):
    code = "ddc-class-mismatch"
    message = N_("The DDC number %(number)s does not belong to the class chosen (%(chosen)s00).")


class InvalidLanguage(InvalidRecordField):
    code = "invalid-language"
    message = N_("A language is a code such as id, en or jv.")


class InvalidLicence(InvalidRecordField):
    code = "invalid-licence"
    message = N_("A lending licence needs at least one copy and at least one loan day.")


class RecordHasLoans(CatalogError):
    code = "record-has-loans"
    message = N_("A printed copy of this title is on loan (%(barcodes)s); check it in before deleting the title.")


# --- fields ---------------------------------------------------------------------------


def update_record(
    connection: sqlite3.Connection, record_id: int, values: dict[str, Any], *, latest_year: int
) -> dict[str, Any]:
    """Set a record's descriptive fields from *values* (the keys of TEXT_FIELDS and
    LIST_FIELDS, plus `year`, `language`, `ddc`); returns {field: new value} of what changed.

    Every value is checked first, so a refusal changes nothing. `authors` and `subjects` are
    lists of names; `contributors` (name, role) pairs; `isbns` ISBN-10/13 with or without
    hyphens; `identifiers` (scheme, value) pairs. The caller holds the transaction.
    """
    before = editable(connection, record_id)
    clean = _checked(values, latest_year, before)
    after = _comparable(clean)
    changed = {name: value for name, value in after.items() if _comparable_record(before).get(name) != value}
    if not changed:
        return {}
    connection.execute(
        "UPDATE records SET title = ?, title_source = 'librarian', subtitle = ?, publisher = ?, place = ?, year = ?,"
        " edition = ?, series = ?, extent = ?, language = ?, ddc = ?, classification = ?, description = ?,"
        " updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?",
        (
            clean["title"],
            clean["subtitle"],
            clean["publisher"],
            clean["place"],
            clean["year"],
            clean["edition"],
            clean["series"],
            clean["extent"],
            clean["language"],
            clean["ddc"],
            clean["classification"],
            clean["description"],
            record_id,
        ),
    )
    if "authors" in changed or "contributors" in changed:
        _replace_people(connection, record_id, before, clean)
    if "subjects" in changed:
        connection.execute("DELETE FROM subjects WHERE record_id = ?", (record_id,))
        connection.executemany(
            "INSERT INTO subjects (record_id, position, term) VALUES (?, ?, ?)",
            [(record_id, position, term) for position, term in enumerate(clean["subjects"], start=1)],
        )
    if "isbns" in changed or "identifiers" in changed:
        connection.execute("DELETE FROM identifiers WHERE record_id = ?", (record_id,))
        connection.executemany(
            "INSERT OR IGNORE INTO identifiers (record_id, scheme, value) VALUES (?, ?, ?)",
            [(record_id, "isbn", isbn) for isbn in clean["isbns"]]
            + [(record_id, scheme, value) for scheme, value in clean["identifiers"]],
        )
    return changed


def _checked(values: dict[str, Any], latest_year: int, before: dict[str, Any]) -> dict[str, Any]:
    """The values cleaned and checked; a language or DDC kept as it was (from an old import)
    is not checked again, so that a librarian can still correct the other fields."""
    clean: dict[str, Any] = {}
    for name, limit in TEXT_FIELDS.items():
        text = _text(values.get(name), multiline=name == "description")
        if text is not None and len(text) > limit:
            raise ValueTooLong(field=name, limit=limit)
        clean[name] = text
    if not clean["title"]:
        raise TitleRequired(field="title")
    clean["authors"] = _names(values.get("authors"), "authors")
    clean["subjects"] = _names(values.get("subjects"), "subjects")
    clean["contributors"] = []
    for name, role in values.get("contributors") or ():
        name = _text(name)
        if name:
            clean["contributors"].append((name[:200], role if role and _ROLE.match(role) else "ctb"))
    clean["isbns"] = []
    for value in values.get("isbns") or ():
        value = _text(value)
        if not value:
            continue
        isbn = normalise_isbn(value)
        if isbn is None or len(re.sub(r"[0-9Xx\- ]", "", value)) > 0:
            raise InvalidIsbn(field="isbns", value=value)
        if isbn not in clean["isbns"]:
            clean["isbns"].append(isbn)
    clean["identifiers"] = []
    for scheme, value in values.get("identifiers") or ():
        value = _text(value)
        if value:
            clean["identifiers"].append((scheme if scheme in IDENTIFIER_SCHEMES else "other", value[:300]))
    year = values.get("year")
    if year in ("", None):
        clean["year"] = None
    else:
        try:
            clean["year"] = int(year)
        except (TypeError, ValueError):
            raise InvalidYear(field="year", earliest=1000, latest=latest_year) from None
        if not 1000 <= clean["year"] <= latest_year:
            raise InvalidYear(field="year", earliest=1000, latest=latest_year)
    language = _text(values.get("language"))
    if language and not _LANGUAGE.match(language) and language != before["language"]:
        raise InvalidLanguage(field="language")
    clean["language"] = language
    number = _text(values.get("ddc"))
    if number and number == before["ddc"]:
        clean["ddc"] = number
    else:
        clean["ddc"] = ddc_from(_text(values.get("ddc_class")), number)
    return clean


def ddc_from(chosen_class: str | None, number: str | None) -> str | None:
    """The DDC to store from the class picker (`3`) and the free number (`398.2`)."""
    if number:
        if not _DDC.match(number):
            raise InvalidDdc(field="ddc")
        if chosen_class and number[0] != chosen_class:
            raise DdcClassMismatch(field="ddc", number=number, chosen=chosen_class)
        return number
    if chosen_class:
        if not (len(chosen_class) == 1 and chosen_class.isdigit()):
            raise InvalidDdc(field="ddc")
        return chosen_class + "00"
    return None


def _text(value: Any, multiline: bool = False) -> str | None:
    """A value without stray spaces (line breaks kept in *multiline* text), or None when empty."""
    if value is None:
        return None
    if multiline:
        text = "\n".join(" ".join(line.split()) for line in str(value).strip().splitlines())
    else:
        text = " ".join(str(value).split())
    return text or None


def _names(values: Iterable[Any] | None, field: str) -> list[str]:
    names: list[str] = []
    for value in values or ():
        name = _text(value)
        if not name:
            continue
        if len(name) > 200:
            raise ValueTooLong(field=field, limit=200)
        if name not in names:
            names.append(name)
    return names


def _comparable(clean: dict[str, Any]) -> dict[str, Any]:
    return {
        **clean,
        "contributors": [list(pair) for pair in clean["contributors"]],
        "identifiers": clean["identifiers"],
    }


def _comparable_record(record: dict[str, Any]) -> dict[str, Any]:
    identifiers = records_identifiers(record)
    return {
        **{name: record.get(name) for name in TEXT_FIELDS},
        "year": record["year"],
        "language": record["language"],
        "ddc": record["ddc"],
        "authors": record["authors"],
        "subjects": record["subjects"],
        "contributors": [[name, role] for name, role in record["other_contributors"]],
        "isbns": [value for scheme, value in identifiers if scheme == "isbn"],
        "identifiers": [(scheme, value) for scheme, value in identifiers if scheme != "isbn"],
    }


def records_identifiers(record: dict[str, Any]) -> list[tuple[str, str]]:
    """All of a record's identifiers as (scheme, value), several per scheme (the record dict
    keeps only the first of each)."""
    return list(record.get("all_identifiers") or record["identifiers"].items())


def editable(connection: sqlite3.Connection, record_id: int) -> dict[str, Any]:
    """A record with what the edit page needs beyond `records.get_record`: every identifier,
    and its other contributors apart from its authors."""
    record = records.get_record(connection, record_id)
    rows = connection.execute(
        "SELECT scheme, value FROM identifiers WHERE record_id = ? ORDER BY rowid", (record_id,)
    ).fetchall()
    record["all_identifiers"] = [(row["scheme"], row["value"]) for row in rows]
    people = connection.execute(
        "SELECT name, role, creator FROM contributors WHERE record_id = ? ORDER BY position", (record_id,)
    ).fetchall()
    record["contributors"] = [
        {"name": row["name"], "role": row["role"], "creator": bool(row["creator"])} for row in people
    ]
    record["other_contributors"] = [(row["name"], row["role"]) for row in people if not row["creator"]]
    return record


def _replace_people(connection: sqlite3.Connection, record_id: int, before: dict, clean: dict) -> None:
    sort_names = {
        row["name"]: row["sort_name"]
        for row in connection.execute("SELECT name, sort_name FROM contributors WHERE record_id = ?", (record_id,))
    }
    roles = {person["name"]: person["role"] for person in before["contributors"]}
    people = [(name, roles.get(name, "aut"), 1) for name in clean["authors"]]
    people += [(name, role, 0) for name, role in clean["contributors"]]
    connection.execute("DELETE FROM contributors WHERE record_id = ?", (record_id,))
    connection.executemany(
        "INSERT INTO contributors (record_id, position, name, sort_name, role, creator) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (record_id, position, name, sort_names.get(name), role, creator)
            for position, (name, role, creator) in enumerate(people, start=1)
        ],
    )


# --- licence and withdrawal --------------------------------------------------------------


def set_licence(
    connection: sqlite3.Connection,
    record_id: int,
    licence: str,
    copies: int | None,
    loan_days: int | None,
    stamped_download: bool = False,
) -> dict[str, Any]:
    """Open access, lending (copies and loan days, both at least 1; optionally a PDF download
    stamped with the borrower's number) or reading in the library only. The form's checks;
    the change itself is `catalog.lending.set_licence`, the same as `ebookserver licence set`."""
    if licence not in LICENCES:
        raise InvalidLicence(field="licence")
    if licence == "lending":
        if not copies or copies < 1 or not loan_days or loan_days < 1 or copies > 1000 or loan_days > 365:
            raise InvalidLicence(field="licence_copies")
    else:
        copies, loan_days, stamped_download = None, None, False
    records.get_record(connection, record_id)
    lending.set_licence(
        connection,
        record_id,
        open_access=licence == "open-access",
        copies=copies,
        loan_days=loan_days,
        in_library_only=licence == "in-library",
        stamped_download=stamped_download,
    )
    return {"licence": licence, "copies": copies, "loan_days": loan_days, "stamped_download": stamped_download}


def set_withdrawn(connection: sqlite3.Connection, record_id: int, withdrawn: bool) -> None:
    """Hide a record from patrons (search, browsing, its page) or show it again."""
    records.get_record(connection, record_id)
    connection.execute(
        "UPDATE records SET withdrawn = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?",
        (int(withdrawn), record_id),
    )


def refresh_index(index: SearchIndex, connection: sqlite3.Connection, record_id: int) -> None:
    """Bring the search index in step with one record after a change: re-indexed, or taken
    out when it is withdrawn or deleted."""
    row = connection.execute("SELECT withdrawn FROM records WHERE id = ?", (record_id,)).fetchone()
    if row is None or row["withdrawn"]:
        search_engine.index_records(index, connection, [], removed=[record_id])
    else:
        search_engine.index_records(index, connection, [record_id])
    # A refreshed Whoosh searcher keeps the deletions it knew (the replaced document still
    # matches), so the shared searchers are reopened. To go when SearchIndex.searchers()
    # reopens instead of refreshing.
    index._close_searchers()


# --- deletion -------------------------------------------------------------------------


def delete_record(connection: sqlite3.Connection, datadir: DataDir, record_id: int) -> list[Path]:
    """Delete a record with its files' rows, text and printed copies; returns the files on
    disk that no record uses any more, for `remove_stored_files` after the commit."""
    record = records.get_record(connection, record_id)
    on_loan = [item["barcode"] for item in record["items"] if item["status"] == "on-loan"]
    if on_loan:
        raise RecordHasLoans(barcodes=", ".join(on_loan))
    oai_store.note_deletion(connection, record_id)  # harvesters learn of the deletion
    connection.execute("DELETE FROM records WHERE id = ?", (record_id,))
    unused = []
    for file in record["files"]:
        if records.find_file(connection, file["sha256"]) is None:
            unused += [
                datadir.book_path(file["sha256"], file["format"]),
                datadir.cover_path(file["sha256"]),
                datadir.thumb_path(file["sha256"]),
            ]
    return unused


def remove_stored_files(paths: Iterable[Path]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

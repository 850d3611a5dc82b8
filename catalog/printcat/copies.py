"""Printed books catalogued by hand and their copies on the shelf.

`add_printed_book` makes a record with no e-book file (`source = 'librarian'`), checked like
any edit (`catalog.editing.update_record`: ISBN check digit, year, DDC, language). A copy
(an `items` row) has a barcode unique in the catalogue, a call number, a location and a
status; a copy on loan keeps its status until it is checked in at the desk, and cannot be
removed. The caller holds the transaction for every change, so its audit entry lands with it.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from typing import Any

from catalog import editing, records
from catalog.errors import CatalogError
from catalog.i18n import N_
from catalog.printcat.model import ItemNotFound

# A barcode a scanner reads and Code 128 prints: visible ASCII, no spaces.
_BARCODE = re.compile(r"^[!-~]{1,64}$")
# The statuses a librarian sets by hand; `on-loan` comes only from the lending desk.
HAND_STATUSES = tuple(status for status in records.ITEM_STATUSES if status != "on-loan")
IMPORT_ACTION = "print.import"


class CopyRefused(CatalogError):
    code = "copy-refused"
    message = N_("This copy cannot be saved.")


class InvalidBarcode(CopyRefused):
    code = "invalid-barcode"
    message = N_("A barcode is 1 to 64 letters, digits or signs such as - / . without spaces.")


class BarcodeTaken(CopyRefused):
    code = "barcode-taken"
    message = N_("The barcode %(barcode)s is already used by a copy of “%(title)s”. Each copy needs its own barcode.")


class InvalidCopyStatus(CopyRefused):
    code = "invalid-copy-status"
    message = N_("A copy is lent at the lending desk; its status cannot be set to “on loan” here.")


class CopyIsOnLoan(CopyRefused):
    code = "copy-is-on-loan"
    message = N_("The copy %(barcode)s is on loan; check it in at the lending desk first.")


def add_printed_book(connection: sqlite3.Connection, values: dict[str, Any], *, latest_year: int) -> int:
    """A new record for a printed book from a librarian's *values* (the fields of
    `editing.update_record`); returns its number. Raises `editing.InvalidRecordField`."""
    record_id = connection.execute(
        "INSERT INTO records (title, title_source, source) VALUES (?, 'librarian', 'librarian')",
        (str(values.get("title") or "").strip() or "?",),
    ).lastrowid
    editing.update_record(connection, record_id, values, latest_year=latest_year)
    return record_id


def printed_records(
    connection: sqlite3.Connection, text: str = "", *, limit: int | None = 50, offset: int = 0
) -> tuple[int, list[dict[str, Any]]]:
    """(how many, this page): records with printed copies or catalogued from print, newest
    first; with *text*, those whose title, author, ISBN or a copy's barcode contains it."""
    conditions = [
        "(r.source != 'file' OR r.id IN (SELECT record_id FROM items))",
    ]
    parameters: list[Any] = []
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(
            "(r.title LIKE ? ESCAPE '\\' OR r.subtitle LIKE ? ESCAPE '\\'"
            " OR r.id IN (SELECT record_id FROM contributors WHERE name LIKE ? ESCAPE '\\')"
            " OR r.id IN (SELECT record_id FROM identifiers WHERE value LIKE ? ESCAPE '\\')"
            " OR r.id IN (SELECT record_id FROM items WHERE barcode LIKE ? ESCAPE '\\'))"
        )
        parameters += [pattern] * 5
    where = " AND ".join(conditions)
    total = connection.execute(f"SELECT count(*) FROM records r WHERE {where}", parameters).fetchone()[0]  # noqa: S608
    rows = connection.execute(
        f"SELECT r.* FROM records r WHERE {where} ORDER BY r.id DESC LIMIT ? OFFSET ?",  # noqa: S608 - fixed fragments
        (*parameters, -1 if limit is None else limit, offset),
    ).fetchall()
    return total, [records.record_from_row(connection, row) for row in rows]


def record_copies(connection: sqlite3.Connection, record_id: int) -> list[dict[str, Any]]:
    """A record's copies in the order they were added, each with `due_at` of its open loan (or None)."""
    rows = connection.execute(
        "SELECT items.*, print_loans.due_at FROM items"
        " LEFT JOIN print_loans ON print_loans.item_id = items.id AND print_loans.returned_at IS NULL"
        " WHERE items.record_id = ? ORDER BY items.id",
        (record_id,),
    ).fetchall()
    return [dict(row) for row in rows]


def get_copy(connection: sqlite3.Connection, item_id: int) -> dict[str, Any]:
    """One copy with `due_at` of its open loan; raises `ItemNotFound`."""
    row = connection.execute(
        "SELECT items.*, print_loans.due_at FROM items"
        " LEFT JOIN print_loans ON print_loans.item_id = items.id AND print_loans.returned_at IS NULL"
        " WHERE items.id = ?",
        (item_id,),
    ).fetchone()
    if row is None:
        raise ItemNotFound(item_id=item_id)
    return dict(row)


def add_copy(
    connection: sqlite3.Connection,
    record_id: int,
    *,
    barcode: str,
    call_number: str | None = None,
    location: str | None = None,
    status: str = "available",
) -> int:
    """Add a copy to a record (which must exist); returns its number. Raises `InvalidBarcode`,
    `BarcodeTaken`, `InvalidCopyStatus` or `RecordNotFound`."""
    records.get_record(connection, record_id)
    barcode = barcode.strip()
    if not _BARCODE.match(barcode):
        raise InvalidBarcode(barcode=barcode)
    owner = connection.execute(
        "SELECT records.title FROM items JOIN records ON records.id = items.record_id WHERE items.barcode = ?",
        (barcode,),
    ).fetchone()
    if owner is not None:
        raise BarcodeTaken(barcode=barcode, title=owner["title"])
    if status not in HAND_STATUSES:
        raise InvalidCopyStatus(status=status)
    item_id = records.add_item(
        connection, record_id, barcode=barcode, call_number=_text(call_number), location=_text(location), status=status
    )
    _touch(connection, record_id)
    return item_id


def change_copy(
    connection: sqlite3.Connection,
    item_id: int,
    *,
    call_number: str | None,
    location: str | None,
    status: str,
) -> dict[str, Any]:
    """Set a copy's call number, location and status; returns {field: new value} of what changed.

    The status stays `on-loan` while the copy is lent (`CopyIsOnLoan`), and no copy is set to
    `on-loan` by hand (`InvalidCopyStatus`).
    """
    copy = get_copy(connection, item_id)
    if status != copy["status"]:
        if copy["due_at"] is not None:
            raise CopyIsOnLoan(barcode=copy["barcode"])
        if status not in HAND_STATUSES:
            raise InvalidCopyStatus(status=status)
    after = {"call_number": _text(call_number), "location": _text(location), "status": status}
    changed = {name: value for name, value in after.items() if copy[name] != value}
    if changed:
        connection.execute(
            "UPDATE items SET call_number = ?, location = ?, status = ? WHERE id = ?",
            (after["call_number"], after["location"], after["status"], item_id),
        )
        _touch(connection, copy["record_id"])
    return changed


def remove_copy(connection: sqlite3.Connection, item_id: int) -> dict[str, Any]:
    """Delete a copy (and its past loans); returns it. Raises `CopyIsOnLoan` while it is lent."""
    copy = get_copy(connection, item_id)
    if copy["due_at"] is not None:
        raise CopyIsOnLoan(barcode=copy["barcode"])
    connection.execute("DELETE FROM items WHERE id = ?", (item_id,))
    _touch(connection, copy["record_id"])
    return copy


def items_with_barcodes(connection: sqlite3.Connection, barcodes: Iterable[str]) -> tuple[list[int], list[str]]:
    """(copy numbers, barcodes not in the catalogue) for *barcodes*, in their order, each once."""
    found: list[int] = []
    unknown: list[str] = []
    for barcode in dict.fromkeys(code.strip() for code in barcodes if code.strip()):
        row = connection.execute("SELECT id FROM items WHERE barcode = ?", (barcode,)).fetchone()
        if row is None:
            unknown.append(barcode)
        elif row["id"] not in found:
            found.append(row["id"])
    return found, unknown


def items_of_record(connection: sqlite3.Connection, record_id: int) -> list[int]:
    return [
        item_id
        for (item_id,) in connection.execute("SELECT id FROM items WHERE record_id = ? ORDER BY id", (record_id,))
    ]


def last_import_items(connection: sqlite3.Connection) -> list[int]:
    """The copies added by the latest print catalogue import (from its audit log entry) that still exist."""
    row = connection.execute(
        "SELECT detail FROM audit_log WHERE action = ? ORDER BY id DESC LIMIT 1", (IMPORT_ACTION,)
    ).fetchone()
    wanted = (json.loads(row["detail"]) if row and row["detail"] else {}).get("item_ids") or []
    existing = {item_id for (item_id,) in connection.execute("SELECT id FROM items")}
    return [item_id for item_id in wanted if item_id in existing]


def suggested_call_number(record: dict[str, Any], existing: list[dict[str, Any]]) -> str | None:
    """A call number for a new copy: the last copy's, else DDC, three letters of the main
    author's (sort) name and the title's first letter, as Indonesian libraries write it: `899.221 TOE b`."""
    for copy in reversed(existing):
        if copy["call_number"]:
            return copy["call_number"]
    if not record.get("ddc"):
        return None
    people = record.get("contributors") or []
    main = next((person for person in people if person["role"] == "aut"), None)
    # The entry element: the sort name's first part, else the last word (Indonesian names are
    # entered under their last element: Pramoedya Ananta Toer → TOE).
    if main is None:
        entry = ""
    elif main["sort_name"]:
        entry = main["sort_name"].split(",")[0]
    else:
        entry = (main["name"].split() or [""])[-1]
    letters = re.sub(r"[^A-Za-z]", "", entry)[:3].upper()
    title = re.sub(r"[^A-Za-z]", "", record.get("title") or "")[:1].lower()
    return " ".join(part for part in (record["ddc"], letters, title) if part)


def _text(value: str | None) -> str | None:
    text = " ".join((value or "").split())
    return text or None


def _touch(connection: sqlite3.Connection, record_id: int) -> None:
    connection.execute(
        "UPDATE records SET updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?", (record_id,)
    )

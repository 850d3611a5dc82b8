"""Importing a parsed file into the catalogue: matching by ISBN, merging, and the report.

`import_records(connection, parsed, dry_run=True)` runs the whole import inside one
`BEGIN IMMEDIATE` transaction and rolls it back, so the dry-run report says exactly what a
real import would do; with `dry_run=False` the same work is committed, but only when the file
has no errors: a file with any error writes nothing at all.

A record whose ISBN (ISBN-10 and ISBN-13 compared as ISBN-13, hyphens ignored) is already in
the catalogue, or earlier in the same file, is merged into that record: empty fields are
filled, identifiers added, authors and subjects added only when the record has none, and its
copies added. Nothing a librarian typed is overwritten. A copy whose barcode is already in
the catalogue or earlier in the file is reported and not added again.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any

from catalog import db
from catalog.printcat import values
from catalog.printcat.model import (
    SOURCE_OF_FORMAT,
    BarcodeInCatalogue,
    BarcodeRepeated,
    ImportHasErrors,
    MissingBarcode,
    ParsedFile,
    PrintRecord,
    Problem,
    Where,
)


@dataclasses.dataclass
class RecordOutcome:
    """What the import does with one record of the file."""

    where: Where
    title: str
    action: str  # "new" or "merged"
    record_id: int
    filled: list[str] = dataclasses.field(default_factory=list)
    barcodes: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class ImportReport:
    format: str
    dry_run: bool
    outcomes: list[RecordOutcome] = dataclasses.field(default_factory=list)
    problems: list[Problem] = dataclasses.field(default_factory=list)
    item_ids: list[int] = dataclasses.field(default_factory=list)
    committed: bool = False

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "error"]

    @property
    def new_records(self) -> int:
        return sum(outcome.action == "new" for outcome in self.outcomes)

    @property
    def merged_records(self) -> int:
        return len({outcome.record_id for outcome in self.outcomes if outcome.action == "merged"})

    @property
    def new_items(self) -> int:
        return sum(len(outcome.barcodes) for outcome in self.outcomes)

    @property
    def skipped_items(self) -> int:
        """Copies left out: barcodes already in the catalogue or repeated, copies without one."""
        return sum(problem.error.code in _SKIPPED_ITEM for problem in self.problems)

    @property
    def skipped_records(self) -> int:
        """Places in the file with an error (each keeps the whole file from being imported)."""
        return len({problem.where for problem in self.errors})

    @property
    def record_ids(self) -> list[int]:
        return sorted({outcome.record_id for outcome in self.outcomes})

    def as_dict(self, gettext: Callable[[str], str] | None = None) -> dict[str, Any]:
        """The report as JSON-ready data; messages in the language of *gettext* and in English."""
        return {
            "format": self.format,
            "dry_run": self.dry_run,
            "committed": self.committed,
            "new_records": self.new_records,
            "merged_records": self.merged_records,
            "new_items": self.new_items,
            "skipped_records": self.skipped_records,
            "skipped_items": self.skipped_items,
            "errors": len(self.errors),
            "problems": [
                {
                    **problem.where.as_dict(),
                    "severity": problem.severity,
                    "code": problem.error.code,
                    "message": problem.render(gettext),
                    "message_en": problem.render(),
                }
                for problem in self.problems
            ],
            "records": [
                {
                    **outcome.where.as_dict(),
                    "title": outcome.title,
                    "action": outcome.action,
                    "id": None if self.dry_run else outcome.record_id,
                    "filled": outcome.filled,
                    "barcodes": outcome.barcodes,
                }
                for outcome in self.outcomes
            ],
            "item_ids": [] if self.dry_run else self.item_ids,
        }


_SKIPPED_ITEM = {BarcodeInCatalogue.code, BarcodeRepeated.code, MissingBarcode.code}


class _Rollback(Exception):
    """Raised inside the transaction to undo a dry run."""


def import_records(connection: sqlite3.Connection, parsed: ParsedFile, *, dry_run: bool = True) -> ImportReport:
    """Import *parsed* in one transaction; roll back when *dry_run* or when the file has errors.

    Raises `ImportHasErrors` for a real import of a file with errors (nothing is written);
    a dry run never raises for the file's problems, it reports them.
    """
    report = ImportReport(parsed.format, dry_run, problems=list(parsed.problems))
    try:
        with db.transaction(connection):
            _import(connection, parsed, report)
            if dry_run or report.errors:
                raise _Rollback
    except _Rollback:
        if not dry_run:
            raise ImportHasErrors(count=len(report.errors)) from None
        return report
    report.committed = True
    return report


def _import(connection: sqlite3.Connection, parsed: ParsedFile, report: ImportReport) -> None:
    by_isbn = _isbns_in_catalogue(connection)
    barcodes: dict[str, Where] = {}
    source = SOURCE_OF_FORMAT.get(parsed.format, "marc")  # a file of no known layout has no records
    for found in parsed.records:
        keys = [key for key in (values.isbn13(isbn) for isbn in found.isbns) if key]
        existing = next((by_isbn[key] for key in keys if key in by_isbn), None)
        if existing is None:
            record_id = _add_record(connection, found, source)
            outcome = RecordOutcome(found.where, found.title or "", "new", record_id)
        else:
            filled = _merge(connection, existing, found)
            outcome = RecordOutcome(found.where, found.title or "", "merged", existing, filled)
        for key in keys:
            by_isbn.setdefault(key, outcome.record_id)
        for item in found.items:
            if item.barcode in barcodes:
                report.problems.append(Problem(item.where, BarcodeRepeated(barcode=item.barcode), "warning"))
                continue
            barcodes[item.barcode] = item.where
            owner = connection.execute("SELECT record_id FROM items WHERE barcode = ?", (item.barcode,)).fetchone()
            if owner is not None:
                problem = BarcodeInCatalogue(barcode=item.barcode, record_id=owner[0])
                report.problems.append(Problem(item.where, problem, "warning"))
                continue
            report.item_ids.append(
                connection.execute(
                    "INSERT INTO items (record_id, barcode, call_number, location, status) VALUES (?, ?, ?, ?, ?)",
                    (outcome.record_id, item.barcode, item.call_number, item.location, item.status),
                ).lastrowid
            )
            outcome.barcodes.append(item.barcode)
        report.outcomes.append(outcome)


def _isbns_in_catalogue(connection: sqlite3.Connection) -> dict[str, int]:
    found: dict[str, int] = {}
    for record_id, value in connection.execute(
        "SELECT record_id, value FROM identifiers WHERE scheme = 'isbn' ORDER BY record_id"
    ):
        key = values.isbn13(value)
        if key:
            found.setdefault(key, record_id)
    return found


def _add_record(connection: sqlite3.Connection, found: PrintRecord, source: str) -> int:
    columns = ("title", "title_source", "source", *PrintRecord.FILLABLE)
    row = {"title": found.title, "title_source": "metadata", "source": source}
    row.update({name: getattr(found, name) for name in PrintRecord.FILLABLE})
    record_id = connection.execute(
        f"INSERT INTO records ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",  # noqa: S608 (fixed names)
        [row[name] for name in columns],
    ).lastrowid
    _add_people(connection, record_id, found)
    _add_identifiers(connection, record_id, found)
    _add_subjects(connection, record_id, found.subjects)
    return record_id


def _merge(connection: sqlite3.Connection, record_id: int, found: PrintRecord) -> list[str]:
    """Fill what the record lacks from *found*; returns the names of the fields filled."""
    row = connection.execute("SELECT * FROM records WHERE id = ?", (record_id,)).fetchone()
    filled = [
        name for name in PrintRecord.FILLABLE if row[name] in (None, "") and getattr(found, name) not in (None, "")
    ]
    for name in filled:
        connection.execute(
            f"UPDATE records SET {name} = ? WHERE id = ?",  # noqa: S608 (a name from PrintRecord.FILLABLE)
            (getattr(found, name), record_id),
        )
    has_people = connection.execute("SELECT 1 FROM contributors WHERE record_id = ?", (record_id,)).fetchone()
    if not has_people and (found.creators or found.contributors):
        _add_people(connection, record_id, found)
        filled.append("contributors")
    has_subjects = connection.execute("SELECT 1 FROM subjects WHERE record_id = ?", (record_id,)).fetchone()
    if not has_subjects and found.subjects:
        _add_subjects(connection, record_id, found.subjects)
        filled.append("subjects")
    if _add_identifiers(connection, record_id, found):
        filled.append("identifiers")
    if filled or found.items:
        connection.execute(
            "UPDATE records SET updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?", (record_id,)
        )
    return filled


def _add_people(connection: sqlite3.Connection, record_id: int, found: PrintRecord) -> None:
    people = [(person, 1) for person in found.creators] + [(person, 0) for person in found.contributors]
    connection.executemany(
        "INSERT INTO contributors (record_id, position, name, sort_name, role, creator) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (record_id, position, person.name, person.sort_name, person.role, creator)
            for position, (person, creator) in enumerate(people, start=1)
        ],
    )


def _add_identifiers(connection: sqlite3.Connection, record_id: int, found: PrintRecord) -> int:
    """Add the identifiers the record lacks; returns how many were added."""
    have = {values.isbn13(value) or value for (value,) in connection.execute(
        "SELECT value FROM identifiers WHERE record_id = ?", (record_id,)
    )}  # fmt: skip
    added = 0
    for scheme, value in [("isbn", isbn) for isbn in found.isbns] + found.identifiers:
        key = values.isbn13(value) if scheme == "isbn" else value
        if key in have:
            continue
        have.add(key)
        connection.execute(
            "INSERT OR IGNORE INTO identifiers (record_id, scheme, value) VALUES (?, ?, ?)", (record_id, scheme, value)
        )
        added += 1
    return added


def _add_subjects(connection: sqlite3.Connection, record_id: int, subjects: Iterable[str]) -> None:
    connection.executemany(
        "INSERT INTO subjects (record_id, position, term) VALUES (?, ?, ?)",
        [(record_id, position, term) for position, term in enumerate(subjects, start=1)],
    )

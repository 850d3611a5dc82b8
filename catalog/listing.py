"""What the staff's catalogue pages list: every record (withdrawn ones too), the last imports,
and the names and subjects already used, for suggestions while editing."""

from __future__ import annotations

import sqlite3
from typing import Any

from catalog import records


def suggestions(connection: sqlite3.Connection, limit: int = 2000) -> dict[str, list[str]]:
    """Names and subjects already in the catalogue, most used first (for `<datalist>`)."""
    return {
        "authors": [
            name
            for (name,) in connection.execute(
                "SELECT name FROM contributors GROUP BY name ORDER BY count(*) DESC, name LIMIT ?", (limit,)
            )
        ],
        "subjects": [
            term
            for (term,) in connection.execute(
                "SELECT term FROM subjects GROUP BY term ORDER BY count(*) DESC, term LIMIT ?", (limit,)
            )
        ],
        "publishers": [
            name
            for (name,) in connection.execute(
                "SELECT publisher FROM records WHERE publisher IS NOT NULL GROUP BY publisher"
                " ORDER BY count(*) DESC, publisher LIMIT ?",
                (limit,),
            )
        ],
    }


def staff_list(
    connection: sqlite3.Connection, text: str = "", *, withdrawn_only: bool = False, limit: int = 50, offset: int = 0
) -> tuple[int, list[dict[str, Any]]]:
    """(how many, this page): records whose title, author, ISBN or file name contains *text*,
    the newest first; withdrawn ones included (or only those)."""
    conditions, parameters = [], []
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(
            "(r.title LIKE ? ESCAPE '\\' OR r.subtitle LIKE ? ESCAPE '\\'"
            " OR r.id IN (SELECT record_id FROM contributors WHERE name LIKE ? ESCAPE '\\')"
            " OR r.id IN (SELECT record_id FROM identifiers WHERE value LIKE ? ESCAPE '\\')"
            " OR r.id IN (SELECT record_id FROM ebook_files WHERE original_name LIKE ? ESCAPE '\\'))"
        )
        parameters += [pattern] * 5
    if withdrawn_only:
        conditions.append("r.withdrawn = 1")
    where = " AND ".join(conditions) or "1"
    total = connection.execute(f"SELECT count(*) FROM records r WHERE {where}", parameters).fetchone()[0]  # noqa: S608
    rows = connection.execute(
        f"SELECT r.* FROM records r WHERE {where} ORDER BY r.id DESC LIMIT ? OFFSET ?",  # noqa: S608 - fixed fragments
        (*parameters, limit, offset),
    ).fetchall()
    return total, [records.record_from_row(connection, row) for row in rows]


def recent_imports(connection: sqlite3.Connection, limit: int = 15) -> list[sqlite3.Row]:
    """The last files imported, found to be duplicates or refused, newest first."""
    return connection.execute(
        "SELECT l.*, r.title FROM import_log l LEFT JOIN records r ON r.id = l.record_id ORDER BY l.id DESC LIMIT ?",
        (limit,),
    ).fetchall()

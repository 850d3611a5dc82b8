"""Ways into the collection without a query: newest books, and books by author, subject,
DDC class, language or format, each with how many books it holds. Withdrawn records are
never listed."""

from __future__ import annotations

import sqlite3
from typing import Any

from catalog.records import record_from_row

# kind -> (WHERE clause on `records r`, how the value is bound). Only these fragments are
# ever put into SQL; the value is always a bound parameter.
_WHERE = {
    "author": "r.id IN (SELECT record_id FROM contributors WHERE name = ?)",
    "subject": "r.id IN (SELECT record_id FROM subjects WHERE term = ?)",
    "ddc": "substr(r.ddc, 1, 1) = ? AND r.ddc GLOB '[0-9]*'",
    "language": "(r.language = ? OR r.language LIKE ? || '-%')",
    "format": "r.id IN (SELECT record_id FROM ebook_files WHERE format = ?)",
}


def _where(kind: str, value: str) -> tuple[str, tuple]:
    if kind == "new":
        return "1", ()
    clause = _WHERE[kind]
    if kind == "ddc":
        return clause, (value[:1],)
    if kind == "language":
        return clause, (value, value)
    return clause, (value,)


def records_in(
    connection: sqlite3.Connection, kind: str, value: str = "", *, limit: int = 24, offset: int = 0
) -> tuple[int, list[dict[str, Any]]]:
    """(how many books, this page of them): the newest first for `new`, else by title."""
    where, parameters = _where(kind, value)
    where = f"r.withdrawn = 0 AND {where}"
    total = connection.execute(f"SELECT count(*) FROM records r WHERE {where}", parameters).fetchone()[0]  # noqa: S608
    order = "r.created_at DESC, r.id DESC" if kind == "new" else "r.title COLLATE NOCASE, r.id"
    rows = connection.execute(
        f"SELECT r.* FROM records r WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",  # noqa: S608 - fixed fragments
        (*parameters, limit, offset),
    ).fetchall()
    return total, [record_from_row(connection, row) for row in rows]


def counts(connection: sqlite3.Connection) -> dict[str, list[tuple[str, int]]]:
    """Books per DDC main class (`3`), language and format, the largest first."""
    return {
        "ddc": connection.execute(
            "SELECT substr(ddc, 1, 1) AS value, count(*) AS n FROM records WHERE withdrawn = 0 AND ddc GLOB '[0-9]*'"
            " GROUP BY value ORDER BY value"
        ).fetchall(),
        "language": connection.execute(
            "SELECT lower(substr(language, 1, instr(language || '-', '-') - 1)) AS value, count(*) AS n"
            " FROM records WHERE withdrawn = 0 AND language IS NOT NULL AND language != ''"
            " GROUP BY value ORDER BY n DESC, value"
        ).fetchall(),
        "format": connection.execute(
            "SELECT format AS value, count(DISTINCT record_id) AS n FROM ebook_files"
            " WHERE record_id IN (SELECT id FROM records WHERE withdrawn = 0) GROUP BY format ORDER BY n DESC"
        ).fetchall(),
    }

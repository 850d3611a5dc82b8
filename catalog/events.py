"""Events: what happens in the library, recorded as it happens and never tied to a patron."""

from __future__ import annotations

import sqlite3
from typing import Any

from catalog import db
from catalog.records import record_from_row

READ = "read"  # a book opened in the reader
DOWNLOAD = "download"
LOAN = "loan"  # an e-book borrowed
RETURN = "return"  # an e-book returned before its loan ended (loans that end by themselves are not events)
RENEW = "renew"  # an e-book loan renewed
HOLD = "hold"  # a patron joined the queue of an e-book
KINDS = (READ, DOWNLOAD, LOAN, RETURN, RENEW, HOLD)


def log(connection: sqlite3.Connection, kind: str, record_id: int | None = None) -> None:
    """Record one event now, in its own short transaction (or the caller's, when one is open)."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    if connection.in_transaction:
        connection.execute("INSERT INTO events (kind, record_id) VALUES (?, ?)", (kind, record_id))
        return
    with db.transaction(connection):
        connection.execute("INSERT INTO events (kind, record_id) VALUES (?, ?)", (kind, record_id))


def most_read(connection: sqlite3.Connection, *, days: int = 90, limit: int = 8) -> list[dict[str, Any]]:
    """The books opened most often in the last *days* days, most first (ties: newest first)."""
    rows = connection.execute(
        "SELECT r.*, count(*) AS reads FROM events e JOIN records r ON r.id = e.record_id"
        " WHERE e.kind = ? AND e.at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?)"
        " GROUP BY r.id ORDER BY reads DESC, r.created_at DESC, r.id DESC LIMIT ?",
        (READ, f"-{int(days)} days", limit),
    ).fetchall()
    return [{**record_from_row(connection, row), "reads": row["reads"]} for row in rows]

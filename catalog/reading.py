"""What a signed-in patron reads: where they are in each book (so they read on from there on
another device) and the reading history, which is kept only for patrons who turn it on and is
deleted when they ask. No Flask; every function takes `now=` where time matters."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from catalog.members import parse_stamp, stamp, utc_now, writing

HISTORY_LIMIT = 200


def save_position(
    connection: sqlite3.Connection, member_id: int, file_id: int, seq: int, *, now: datetime | None = None
) -> None:
    """Remember where the member is in a book's file (page or chapter *seq*)."""
    now = (now or utc_now()).replace(microsecond=0)
    with writing(connection):
        connection.execute(
            "INSERT INTO reading_positions (member_id, file_id, seq, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (member_id, file_id) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at",
            (member_id, file_id, seq, stamp(now)),
        )


def position(connection: sqlite3.Connection, member_id: int, file_id: int) -> int | None:
    row = connection.execute(
        "SELECT seq FROM reading_positions WHERE member_id = ? AND file_id = ?", (member_id, file_id)
    ).fetchone()
    return row["seq"] if row else None


def keeps_history(connection: sqlite3.Connection, member_id: int) -> bool:
    row = connection.execute("SELECT keep_history FROM members WHERE id = ?", (member_id,)).fetchone()
    return bool(row and row["keep_history"])


def set_keep_history(connection: sqlite3.Connection, member_id: int, keep: bool) -> None:
    """Turn the reading history on or off; turning it off deletes what was kept."""
    with writing(connection):
        connection.execute("UPDATE members SET keep_history = ? WHERE id = ?", (int(keep), member_id))
        if not keep:
            connection.execute("DELETE FROM reading_history WHERE member_id = ?", (member_id,))


def note_reading(
    connection: sqlite3.Connection, member_id: int, record_id: int, *, now: datetime | None = None
) -> bool:
    """Add a book to the member's history, only when they keep one; returns whether it was kept."""
    now = (now or utc_now()).replace(microsecond=0)
    with writing(connection):
        if not keeps_history(connection, member_id):
            return False
        connection.execute(
            "INSERT INTO reading_history (member_id, record_id, read_at) VALUES (?, ?, ?)",
            (member_id, record_id, stamp(now)),
        )
    return True


def reading_history(connection: sqlite3.Connection, member_id: int, *, limit: int = HISTORY_LIMIT) -> list[dict]:
    """The books the member opened, most recent first, each once (with the last time)."""
    return [
        {"record_id": row["record_id"], "title": row["title"], "read_at": parse_stamp(row["read_at"])}
        for row in connection.execute(
            "SELECT reading_history.record_id, records.title, max(reading_history.read_at) AS read_at"
            " FROM reading_history JOIN records ON records.id = reading_history.record_id"
            " WHERE reading_history.member_id = ? GROUP BY reading_history.record_id ORDER BY read_at DESC LIMIT ?",
            (member_id, limit),
        )
    ]


def clear_history(connection: sqlite3.Connection, member_id: int) -> int:
    """Delete the member's reading history; returns the entries deleted."""
    with writing(connection):
        return connection.execute("DELETE FROM reading_history WHERE member_id = ?", (member_id,)).rowcount

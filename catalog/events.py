"""Events: what happens in the library, recorded as it happens and never tied to a patron."""

from __future__ import annotations

import datetime
import sqlite3
from typing import Any
from zoneinfo import ZoneInfo

from catalog import db
from catalog.members import parse_stamp, stamp
from catalog.records import record_from_row

READ = "read"  # a book opened in the reader
DOWNLOAD = "download"
LOAN = "loan"  # an e-book borrowed
RETURN = "return"  # an e-book returned before its loan ended (loans that end by themselves are not events)
RENEW = "renew"  # an e-book loan renewed
HOLD = "hold"  # a patron joined the queue of an e-book
VISIT = "visit"  # an OPAC session began (once per browser session, not per page)
SEARCH = "search"  # a catalogue search (every search, including those that found nothing)
ZERO_RESULT_SEARCH = "zero_result_search"  # a search that found nothing (also counted as a search)
RECORD_VIEW = "record_view"  # a record page opened
HOLD_FULFILLED = "hold_fulfilled"  # a copy was set aside for the first in a queue
HOLD_EXPIRED = "hold_expired"  # a set-aside copy was not claimed in time
REFUSAL_NO_LICENCE = "refusal_no_licence"  # borrowing refused: the library holds no licensed copy
REFUSAL_LIMIT = "refusal_limit"  # borrowing refused: every licensed copy is out (the patron was queued)
KIOSK_SESSION = "kiosk_session"  # someone began using the kiosk screen
KINDS = (
    READ,
    DOWNLOAD,
    LOAN,
    RETURN,
    RENEW,
    HOLD,
    VISIT,
    SEARCH,
    ZERO_RESULT_SEARCH,
    RECORD_VIEW,
    HOLD_FULFILLED,
    HOLD_EXPIRED,
    REFUSAL_NO_LICENCE,
    REFUSAL_LIMIT,
    KIOSK_SESSION,
)


def log(connection: sqlite3.Connection, kind: str, record_id: int | None = None, *, at: str | None = None) -> None:
    """Record one event now (or at the UTC stamp *at*, for something that happened earlier), in
    its own short transaction (or the caller's, when one is open)."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    if connection.in_transaction:
        _insert(connection, kind, record_id, at)
        return
    with db.relaxed(connection), db.transaction(connection):
        _insert(connection, kind, record_id, at)


def _insert(connection: sqlite3.Connection, kind: str, record_id: int | None, at: str | None) -> None:
    if at is None:
        connection.execute("INSERT INTO events (kind, record_id) VALUES (?, ?)", (kind, record_id))
    else:
        connection.execute("INSERT INTO events (at, kind, record_id) VALUES (?, ?, ?)", (at, kind, record_id))


def log_search(connection: sqlite3.Connection, query: str, hits: int, *, day: datetime.date) -> None:
    """Count one search; a search that found nothing is also counted as such, and its words are
    kept (lower-cased, with no patron, session or time finer than the library's local *day*) in
    `zero_result_queries` for "what to buy next"."""
    with db.relaxed(connection), db.transaction(connection):
        _insert(connection, SEARCH, None, None)
        if hits == 0:
            _insert(connection, ZERO_RESULT_SEARCH, None, None)
            text = " ".join(query.lower().split())[:200]
            if text:
                connection.execute(
                    "INSERT INTO zero_result_queries (day, query, searches) VALUES (?, ?, 1)"
                    " ON CONFLICT (day, query) DO UPDATE SET searches = searches + 1",
                    (day.isoformat(), text),
                )


def most_read(connection: sqlite3.Connection, *, days: int = 90, limit: int = 8) -> list[dict[str, Any]]:
    """The books opened most often in the last *days* days, most first (ties: newest first)."""
    rows = connection.execute(
        "SELECT r.*, sum(e.n) AS reads FROM event_counts e JOIN records r ON r.id = e.record_id"
        " WHERE e.kind = ? AND e.at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?)"
        " GROUP BY r.id ORDER BY reads DESC, r.created_at DESC, r.id DESC LIMIT ?",
        (READ, f"-{int(days)} days", limit),
    ).fetchall()
    return [{**record_from_row(connection, row), "reads": row["reads"]} for row in rows]


def compact(connection: sqlite3.Connection, *, timezone: str, keep_days: int, now: datetime.datetime) -> int:
    """Fold the raw events of every local day that ended more than *keep_days* days ago into
    daily counts per (kind, record) in `event_days`, and delete them; returns how many raw events
    went. Counts are unchanged (statistics read `event_counts`); what goes is the time of day.
    One transaction: a power cut leaves either the raw events or their counts, never both."""
    if keep_days < 1:
        raise ValueError("keep_days must be at least 1")
    zone = ZoneInfo(timezone)
    first_kept = now.astimezone(zone).date() - datetime.timedelta(days=keep_days)
    cutoff = _day_start(first_kept, zone)
    with db.transaction(connection):
        oldest = connection.execute("SELECT min(at) FROM events WHERE at < ?", (cutoff,)).fetchone()[0]
        while oldest is not None:
            day = parse_stamp(oldest).astimezone(zone).date()
            start, end = _day_start(day, zone), min(_day_start(day + datetime.timedelta(days=1), zone), cutoff)
            connection.execute(
                "INSERT INTO event_days (at, kind, record_id, n) SELECT ?, kind, record_id, count(*) FROM events"
                " WHERE at >= ? AND at < ? GROUP BY kind, record_id",
                (start, start, end),
            )
            oldest = connection.execute(
                "SELECT min(at) FROM events WHERE at >= ? AND at < ?", (end, cutoff)
            ).fetchone()[0]
        return connection.execute("DELETE FROM events WHERE at < ?", (cutoff,)).rowcount


def _day_start(day: datetime.date, zone: ZoneInfo) -> str:
    return stamp(datetime.datetime.combine(day, datetime.time.min, zone))

"""The librarian's statistics (`/kelola/statistik`): counts for today, this month or this year in
the library's time zone, a series to chart, top titles, searches that found nothing, and use by
DDC class and language. Everything comes from `event_counts` (raw events and the daily counts
they are folded into after `events_keep_days`) and `zero_result_queries`; nothing here knows who
did what."""

from __future__ import annotations

import datetime
import sqlite3
from typing import Any
from zoneinfo import ZoneInfo

from catalog import events

PERIODS = ("day", "month", "year")
# What a "use" of a book is on this page: opened in the reader, downloaded or borrowed.
USE_KINDS = (events.READ, events.DOWNLOAD, events.LOAN)
_STAMP = "%Y-%m-%dT%H:%M:%SZ"


def period_bounds(period: str, now: datetime.datetime, timezone: str) -> tuple[datetime.datetime, datetime.datetime]:
    """The local [start, end) of today, this month or this year around *now*."""
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}")
    local = now.astimezone(ZoneInfo(timezone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        start, end = midnight, midnight + datetime.timedelta(days=1)
    elif period == "month":
        start = midnight.replace(day=1)
        end = (start + datetime.timedelta(days=32)).replace(day=1)
    else:
        start = midnight.replace(month=1, day=1)
        end = start.replace(year=start.year + 1)
    return start, end


def _utc(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime(_STAMP)


def summary(connection: sqlite3.Connection, start: datetime.datetime, end: datetime.datetime) -> dict[str, int]:
    """How many events of each kind in [start, end) (every kind, zero when none)."""
    found = dict(
        connection.execute(
            "SELECT kind, sum(n) FROM event_counts WHERE at >= ? AND at < ? GROUP BY kind", (_utc(start), _utc(end))
        ).fetchall()
    )
    return {kind: found.get(kind, 0) for kind in events.KINDS}


def series(
    connection: sqlite3.Connection,
    period: str,
    start: datetime.datetime,
    end: datetime.datetime,
    kinds: tuple[str, ...],
) -> list[tuple[str, int]]:
    """Counts of *kinds* per hour (a day), per day (a month) or per month (a year), every bucket
    present, labelled "00".."23", "1".."31" or "1".."12"."""
    zone = start.tzinfo
    if period == "day":
        labels = [f"{hour:02d}" for hour in range(24)]
    elif period == "month":
        labels = [str(day) for day in range(1, (end - start).days + 1)]
    else:
        labels = [str(month) for month in range(1, 13)]
    counts = dict.fromkeys(labels, 0)
    marks = ", ".join("?" for _ in kinds)
    rows = connection.execute(
        f"SELECT at, n FROM event_counts WHERE at >= ? AND at < ? AND kind IN ({marks})",  # noqa: S608 - placeholders only
        (_utc(start), _utc(end), *kinds),
    )
    for at, n in rows:
        local = datetime.datetime.strptime(at, _STAMP).replace(tzinfo=datetime.UTC).astimezone(zone)
        label = f"{local.hour:02d}" if period == "day" else str(local.day if period == "month" else local.month)
        if label in counts:
            counts[label] += n
    return list(counts.items())


def top_titles(
    connection: sqlite3.Connection, start: datetime.datetime, end: datetime.datetime, *, limit: int = 10
) -> list[dict[str, Any]]:
    """The books used most (opened, downloaded, borrowed), most first, with their views."""
    rows = connection.execute(
        "SELECT r.id, r.title, sum(e.n * (e.kind IN (?, ?, ?))) AS uses, sum(e.n * (e.kind = ?)) AS views"
        " FROM event_counts e"
        " JOIN records r ON r.id = e.record_id WHERE e.at >= ? AND e.at < ? GROUP BY r.id"
        " HAVING uses > 0 ORDER BY uses DESC, views DESC, r.title LIMIT ?",
        (*USE_KINDS, events.RECORD_VIEW, _utc(start), _utc(end), limit),
    ).fetchall()
    return [{"record_id": row["id"], "title": row["title"], "uses": row["uses"], "views": row["views"]} for row in rows]


def zero_result_queries(
    connection: sqlite3.Connection, start: datetime.datetime, end: datetime.datetime, *, limit: int = 20
) -> list[dict[str, Any]]:
    """What was searched for and not found, most often first (for "what to buy next")."""
    first = start.date().isoformat()
    last = (end - datetime.timedelta(days=1)).date().isoformat()
    rows = connection.execute(
        "SELECT query, sum(searches) AS n FROM zero_result_queries WHERE day >= ? AND day <= ?"
        " GROUP BY query ORDER BY n DESC, query LIMIT ?",
        (first, last, limit),
    ).fetchall()
    return [{"query": row["query"], "searches": row["n"]} for row in rows]


def use_by(
    connection: sqlite3.Connection, start: datetime.datetime, end: datetime.datetime, what: str
) -> list[tuple[str, int]]:
    """Uses of books by DDC main class ("0".."9", "" for none) or by language code ("" for none)."""
    column = {
        "ddc": "CASE WHEN r.ddc GLOB '[0-9]*' THEN substr(r.ddc, 1, 1) ELSE '' END",
        "language": "coalesce(r.language, '')",
    }[what]
    rows = connection.execute(
        f"SELECT {column} AS value, sum(e.n) AS n FROM event_counts e JOIN records r ON r.id = e.record_id"  # noqa: S608 - fixed columns
        " WHERE e.at >= ? AND e.at < ? AND e.kind IN (?, ?, ?) GROUP BY value ORDER BY n DESC, value",
        (_utc(start), _utc(end), *USE_KINDS),
    ).fetchall()
    return [(row["value"], row["n"]) for row in rows]

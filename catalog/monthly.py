"""The monthly report for the national programme: one local month of a library's figures, as
the programme's form asks for them (printed on A4 by `ebookserver/views/monthly.py`).

Everything is an aggregate: members are counted by gender and age band, loans and visits are
counts, and the only names in it are the library's and its own events'. The month is the
library's local month (setting `timezone`); figures come from `event_counts`, so months whose raw
events were folded into daily counts (`events_keep_days`) report the same numbers.
"""

from __future__ import annotations

import dataclasses
import datetime
import sqlite3
from typing import Any
from zoneinfo import ZoneInfo

from catalog import accounts, events, members, stats


@dataclasses.dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """`2026-11` -> Month(2026, 11); ValueError for anything else."""
        year, _, month = text.partition("-")
        if len(year) != 4 or len(month) != 2 or not (year.isdigit() and month.isdigit()):
            raise ValueError(f"not a month YYYY-MM: {text!r}")
        parsed = cls(int(year), int(month))
        if not 1 <= parsed.month <= 12 or parsed.year < 1900:
            raise ValueError(f"not a month YYYY-MM: {text!r}")
        return parsed

    @classmethod
    def containing(cls, moment: datetime.datetime, timezone: str) -> Month:
        local = moment.astimezone(ZoneInfo(timezone))
        return cls(local.year, local.month)

    @property
    def first(self) -> datetime.date:
        return datetime.date(self.year, self.month, 1)

    @property
    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def report(connection: sqlite3.Connection, month: Month, *, timezone: str) -> dict[str, Any]:
    """The month's figures: identity, visits, members, loans, collection and events held."""
    zone = ZoneInfo(timezone)
    start = stats.stamp(datetime.datetime.combine(month.first, datetime.time.min, zone))
    end = stats.stamp(datetime.datetime.combine(month.next.first, datetime.time.min, zone))
    by_kind = dict(
        connection.execute(
            "SELECT kind, sum(n) FROM event_counts WHERE at >= ? AND at < ? GROUP BY kind", (start, end)
        ).fetchall()
    )
    return {
        "month": str(month),
        "library": accounts.identity(connection) or {},
        "use": {
            "visits": by_kind.get(events.VISIT, 0),
            "kiosk_sessions": by_kind.get(events.KIOSK_SESSION, 0),
            "searches": by_kind.get(events.SEARCH, 0),
            "record_views": by_kind.get(events.RECORD_VIEW, 0),
            "reads": by_kind.get(events.READ, 0),
            "downloads": by_kind.get(events.DOWNLOAD, 0),
        },
        "members": _members(connection, end, month.year),
        "new_members": stats.new_members(connection, start, end, month.year),
        "loans": _loans(connection, start, end, by_kind),
        "collection": stats.collection(connection, end),
        "events_held": _events_held(connection, month),
    }


def _members(connection: sqlite3.Connection, end: str, year: int) -> dict[str, Any]:
    """Members registered by the month's end, crossed by age band and gender (ages in *year*)."""
    genders = (*members.GENDERS, members.UNKNOWN)
    bands = (*(code for code, _low, _high in members.AGE_BANDS), members.UNKNOWN)
    crossed = {band: dict.fromkeys(genders, 0) for band in bands}
    rows = connection.execute(
        "SELECT birth_year, gender, count(*) AS n FROM members WHERE created_at < ? GROUP BY birth_year, gender",
        (end,),
    )
    for row in rows:
        crossed[members.age_band(row["birth_year"], year)][row["gender"] or members.UNKNOWN] += row["n"]
    return {
        "total": sum(sum(by_gender.values()) for by_gender in crossed.values()),
        "by_gender": {gender: sum(crossed[band][gender] for band in bands) for gender in genders},
        "by_age_band_and_gender": crossed,
    }


def _loans(connection: sqlite3.Connection, start: str, end: str, by_kind: dict[str, int]) -> dict[str, int]:
    print_row = connection.execute(
        "SELECT sum(loaned_at >= ?1 AND loaned_at < ?2), sum(returned_at >= ?1 AND returned_at < ?2) FROM print_loans",
        (start, end),
    ).fetchone()
    ebook_row = connection.execute(
        "SELECT sum(loaned_at >= ?1 AND loaned_at < ?2),"
        " (SELECT count(*) FROM ebook_holds WHERE placed_at >= ?1 AND placed_at < ?2) FROM ebook_loans",
        (start, end),
    ).fetchone()
    return {
        "print_loans": print_row[0] or 0,
        "print_returns": print_row[1] or 0,
        "ebook_loans": ebook_row[0] or 0,
        "ebook_renewals": by_kind.get(events.RENEW, 0),
        "holds_placed": ebook_row[1] or 0,
    }


def _events_held(connection: sqlite3.Connection, month: Month) -> list[dict[str, Any]]:
    """The library's published events that began in the month (their times are local)."""
    rows = connection.execute(
        "SELECT starts_at, title, place FROM announcements WHERE published = 1 AND starts_at >= ? AND starts_at < ?"
        " ORDER BY starts_at, id",
        (month.first.isoformat(), month.next.first.isoformat()),
    )
    return [{"starts_at": row["starts_at"], "title": row["title"], "place": row["place"]} for row in rows]

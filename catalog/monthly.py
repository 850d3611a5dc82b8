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

from catalog import accounts, members, stats

USE = ("visits", "kiosk_sessions", "searches", "record_views", "reads", "downloads")
LOANS = ("print_loans", "print_returns", "ebook_loans", "ebook_renewals", "holds_placed")


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
    month_end = datetime.datetime.combine(month.next.first, datetime.time.min, zone)
    start = stats.stamp(datetime.datetime.combine(month.first, datetime.time.min, zone))
    # the daily report's counters, over the whole month (its title list is not shown here)
    counted = stats.counts(connection, start, stats.stamp(month_end), month.year, min_count=1)
    return {
        "month": str(month),
        "library": accounts.identity(connection) or {},
        "use": {name: counted[name] for name in USE},
        "members": members.member_statistics(connection, year=month.year, registered_before=month_end),
        "new_members": counted["new_members"],
        "loans": {name: counted.get(name, 0) for name in LOANS},
        "collection": counted["collection"],
        "events_held": _events_held(connection, month),
    }


def _events_held(connection: sqlite3.Connection, month: Month) -> list[dict[str, Any]]:
    """The library's published events that began in the month (their times are local)."""
    rows = connection.execute(
        "SELECT starts_at, title, place FROM announcements WHERE published = 1 AND starts_at >= ? AND starts_at < ?"
        " ORDER BY starts_at, id",
        (month.first.isoformat(), month.next.first.isoformat()),
    )
    return [{"starts_at": row["starts_at"], "title": row["title"], "place": row["place"]} for row in rows]

"""The daily usage report: one JSON document per library per day, aggregate counts only.

The document follows `catalog/schemas/daily-report-v1.schema.json` (README.md, "Statistics and
harvesting"). It names the library (its identity from first-run setup) and the day in the
library's time zone; `report_id` is derived from the library, the day and the revision, so a
receiver that stores each id once never counts a day twice, and a corrected day goes out with a
higher revision that replaces the earlier one.

Privacy: nothing here reads a patron's name, number, address or loans by patron; new members
are counted by gender and age band only; title-level counts below `min_count` are left out.
"""

from __future__ import annotations

import datetime
import json
import sqlite3
import uuid
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from catalog import accounts, events, members

SCHEMA_ID = "https://ebookserver.id/schemas/daily-report-v1.schema.json"
REPORT_NAMESPACE = uuid.UUID("8a1f4f5e-5c9b-4d3e-9a57-2b6f0f1d9c11")
IDENTITY_FIELDS = ("npp", "name", "village", "district", "regency", "province")
# Counters the schema knows that this version does not record yet (none since the events of the
# statistics issue's item 1; the field stays so that a receiver never reads a missing counter as 0).
NOT_YET_COUNTED: tuple[str, ...] = ()
# Counter -> the event kind it counts (catalog/events.py).
EVENT_COUNTERS = {
    "visits": events.VISIT,
    "searches": events.SEARCH,
    "zero_result_searches": events.ZERO_RESULT_SEARCH,
    "record_views": events.RECORD_VIEW,
    "holds_fulfilled": events.HOLD_FULFILLED,
    "holds_expired": events.HOLD_EXPIRED,
    "borrow_refusals_no_licence": events.REFUSAL_NO_LICENCE,
    "borrow_refusals_limit": events.REFUSAL_LIMIT,
    "kiosk_sessions": events.KIOSK_SESSION,
}
_STAMP = "%Y-%m-%dT%H:%M:%SZ"


class ReportInvalid(ValueError):
    """A document that does not follow the schema (the message says where)."""


def stamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime(_STAMP)


def day_bounds(day: datetime.date, timezone: str) -> tuple[str, str]:
    """The UTC stamps [start, end) of a local day."""
    zone = ZoneInfo(timezone)
    start = datetime.datetime.combine(day, datetime.time.min, zone)
    end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min, zone)
    return stamp(start), stamp(end)


def library_key(identity: dict[str, Any] | None) -> str:
    """What identifies the library upstream: its NPP, else its name and place."""
    identity = identity or {}
    if identity.get("npp"):
        return f"npp:{identity['npp']}"
    place = "/".join(str(identity.get(field) or "") for field in ("name", "village", "district", "regency"))
    return f"name:{place}"


def report_id(key: str, day: datetime.date, revision: int) -> str:
    """The idempotency key: the same library, day and revision always give the same id."""
    return str(uuid.uuid5(REPORT_NAMESPACE, f"{key}|{day.isoformat()}|{revision}"))


def daily_report(
    connection: sqlite3.Connection,
    day: datetime.date,
    *,
    revision: int,
    timezone: str,
    now: datetime.datetime,
    min_count: int = 5,
    provisional: bool = False,
) -> dict[str, Any]:
    """The report of one local *day*, as a JSON-ready dictionary valid against the schema."""
    identity = accounts.identity(connection) or {}
    start, end = day_bounds(day, timezone)
    key = library_key(identity)
    document = {
        "schema": SCHEMA_ID,
        "report_id": report_id(key, day, revision),
        "revision": revision,
        "provisional": provisional,
        "library": {"key": key, **{field: identity.get(field) for field in IDENTITY_FIELDS}},
        "period": {"date": day.isoformat(), "timezone": timezone, "start": start, "end": end},
        "generated_at": stamp(now),
        "counts": counts(connection, start, end, day.year, min_count),
        "not_counted": list(NOT_YET_COUNTED),
    }
    validate(document)
    return document


def counts(connection: sqlite3.Connection, start: str, end: str, year: int, min_count: int) -> dict[str, Any]:
    """Every counter this version records, for the UTC window [start, end)."""
    by_kind = dict(
        connection.execute(
            "SELECT kind, sum(n) FROM event_counts WHERE at >= ? AND at < ? GROUP BY kind", (start, end)
        ).fetchall()
    )
    print_row = connection.execute(
        "SELECT sum(loaned_at >= ?1 AND loaned_at < ?2), sum(returned_at >= ?1 AND returned_at < ?2) FROM print_loans",
        (start, end),
    ).fetchone()
    result: dict[str, Any] = {
        "reads": by_kind.get(events.READ, 0),
        "downloads": by_kind.get(events.DOWNLOAD, 0),
        "print_loans": print_row[0] or 0,
        "print_returns": print_row[1] or 0,
        "new_members": new_members(connection, start, end, year),
        "collection": collection(connection, end),
        "titles": titles(connection, start, end, min_count),
        **{name: by_kind.get(kind, 0) for name, kind in EVENT_COUNTERS.items()},
    }
    if _has_table(connection, "ebook_loans"):  # e-lending (migration 0009)
        row = connection.execute(
            "SELECT sum(loaned_at >= ?1 AND loaned_at < ?2), sum(returned_at >= ?1 AND returned_at < ?2),"
            " (SELECT count(*) FROM ebook_holds WHERE placed_at >= ?1 AND placed_at < ?2) FROM ebook_loans",
            (start, end),
        ).fetchone()
        result["ebook_loans"] = row[0] or 0
        result["ebook_returns"] = row[1] or 0
        result["ebook_renewals"] = by_kind.get(events.RENEW, 0)
        result["holds_placed"] = row[2] or 0
    return result


def new_members(connection: sqlite3.Connection, start: str, end: str, year: int) -> dict[str, Any]:
    """Members registered in [start, end) by gender and by age band (no one is named)."""
    genders = (*members.GENDERS, members.UNKNOWN)
    bands = (*(code for code, _low, _high in members.AGE_BANDS), members.UNKNOWN)
    by_gender, by_band = dict.fromkeys(genders, 0), dict.fromkeys(bands, 0)
    rows = connection.execute(
        "SELECT birth_year, gender, count(*) AS n FROM members WHERE created_at >= ? AND created_at < ?"
        " GROUP BY birth_year, gender",
        (start, end),
    )
    for row in rows:
        by_gender[row["gender"] or members.UNKNOWN] += row["n"]
        by_band[members.age_band(row["birth_year"], year)] += row["n"]
    return {"total": sum(by_gender.values()), "by_gender": by_gender, "by_age_band": by_band}


def collection(connection: sqlite3.Connection, end: str) -> dict[str, int]:
    """The collection at the end of the day (records added by then, withdrawn ones left out)."""
    row = connection.execute(
        "SELECT count(*) AS titles,"
        " sum(EXISTS (SELECT 1 FROM ebook_files f WHERE f.record_id = r.id)) AS ebook_titles,"
        " sum(EXISTS (SELECT 1 FROM items i WHERE i.record_id = r.id)) AS print_titles"
        " FROM records r WHERE r.withdrawn = 0 AND r.created_at < ?",
        (end,),
    ).fetchone()
    copies = connection.execute(
        "SELECT count(*) FROM items i JOIN records r ON r.id = i.record_id"
        " WHERE r.withdrawn = 0 AND r.created_at < ? AND i.status NOT IN ('withdrawn', 'lost')",
        (end,),
    ).fetchone()[0]
    return {
        "titles": row["titles"] or 0,
        "ebook_titles": row["ebook_titles"] or 0,
        "print_titles": row["print_titles"] or 0,
        "print_copies": copies,
    }


def titles(connection: sqlite3.Connection, start: str, end: str, min_count: int) -> dict[str, Any]:
    """Reads and downloads per title, only where the count reaches *min_count* (a count of one
    or two could point at a person in a small village); the rest are summed in `suppressed`."""
    rows = connection.execute(
        "SELECT e.record_id, r.title, sum(e.n * (e.kind = ?)) AS reads, sum(e.n * (e.kind = ?)) AS downloads"
        " FROM event_counts e"
        " JOIN records r ON r.id = e.record_id WHERE e.at >= ? AND e.at < ? AND e.kind IN (?, ?)"
        " GROUP BY e.record_id ORDER BY reads DESC, downloads DESC, e.record_id",
        (events.READ, events.DOWNLOAD, start, end, events.READ, events.DOWNLOAD),
    ).fetchall()
    shown, suppressed = [], 0
    for row in rows:
        entry: dict[str, Any] = {"record_id": row["record_id"], "title": row["title"]}
        for name in ("reads", "downloads"):
            if row[name] >= min_count:
                entry[name] = row[name]
            else:
                suppressed += row[name]
        if len(entry) > 2:
            shown.append(entry)
    return {"min_count": min_count, "shown": shown, "suppressed": suppressed}


def _has_table(connection: sqlite3.Connection, name: str) -> bool:
    return (
        connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
        is not None
    )


# --- the schema ------------------------------------------------------------------------------


@cache
def schema() -> dict[str, Any]:
    """The published JSON Schema of the daily report (shipped with the package)."""
    text = resources.files("catalog").joinpath("schemas/daily-report-v1.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def validate(document: Any) -> None:
    """Raise `ReportInvalid` unless *document* follows the schema."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker())
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(document)"
        raise ReportInvalid(f"{where}: {error.message}")

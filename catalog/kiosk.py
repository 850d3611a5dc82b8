"""The TV kiosk: what it shows, when the library is open, and which engine the TV runs.

The librarian's choices live in one row of `kiosk_settings` and in `kiosk_picks`; the
showcase is built here from the catalogue (new arrivals, most read this week, picks, events,
opening hours) as plain dictionaries for the kiosk's templates.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import sqlite3
from typing import Any

from catalog import announcements, browse, events
from catalog.i18n import N_
from catalog.records import get_record, record_from_row

SLIDES = ("new", "popular", "picks", "events", "hours")
SLIDE_TITLES = {
    "new": N_("New arrivals"),
    "popular": N_("Most read this week"),
    "picks": N_("The librarian's picks"),
    "events": N_("Coming up at the library"),
    "hours": N_("Opening hours"),
}
BOOKS_PER_SLIDE = 6
MAX_PICKS = 24
MIN_INTERVAL, MAX_INTERVAL = 3, 600
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@dataclasses.dataclass(frozen=True)
class KioskSettings:
    slides: tuple[str, ...]
    interval_seconds: int
    show_events: bool
    open_days: tuple[int, ...]
    opens_at: str | None
    closes_at: str | None
    engine: str | None = None
    engine_seen_at: str | None = None


def settings(connection: sqlite3.Connection) -> KioskSettings:
    row = connection.execute("SELECT * FROM kiosk_settings WHERE id = 1").fetchone()
    return KioskSettings(
        slides=tuple(slide for slide in row["slides"].split(",") if slide in SLIDES),
        interval_seconds=row["interval_seconds"],
        show_events=bool(row["show_events"]),
        open_days=tuple(int(day) for day in row["open_days"].split(",") if day.strip().isdigit()),
        opens_at=row["opens_at"],
        closes_at=row["closes_at"],
        engine=row["engine"],
        engine_seen_at=row["engine_seen_at"],
    )


def save_settings(connection: sqlite3.Connection, chosen: KioskSettings) -> None:
    """Store the librarian's choices; the caller holds the transaction."""
    if not MIN_INTERVAL <= chosen.interval_seconds <= MAX_INTERVAL:
        raise ValueError(f"the rotation interval must be {MIN_INTERVAL}–{MAX_INTERVAL} seconds")
    for value in (chosen.opens_at, chosen.closes_at):
        if value is not None and not _TIME.match(value):
            raise ValueError(f"{value!r} is not a time HH:MM")
    if (chosen.opens_at is None) != (chosen.closes_at is None):
        raise ValueError("give both the opening and the closing time, or neither")
    connection.execute(
        "UPDATE kiosk_settings SET slides = ?, interval_seconds = ?, show_events = ?, open_days = ?, opens_at = ?,"
        " closes_at = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = 1",
        (
            ",".join(slide for slide in SLIDES if slide in chosen.slides),
            chosen.interval_seconds,
            int(chosen.show_events),
            ",".join(str(day) for day in sorted(set(chosen.open_days)) if 1 <= day <= 7),
            chosen.opens_at,
            chosen.closes_at,
        ),
    )


def picks(connection: sqlite3.Connection) -> list[dict[str, Any]]:
    """The librarian's picks in their order (withdrawn titles left out)."""
    rows = connection.execute(
        "SELECT r.* FROM kiosk_picks p JOIN records r ON r.id = p.record_id WHERE r.withdrawn = 0 ORDER BY p.position"
    ).fetchall()
    return [record_from_row(connection, row) for row in rows]


def set_picks(connection: sqlite3.Connection, record_ids: list[int]) -> None:
    """Replace the picks with *record_ids* in that order (each must exist; the caller holds
    the transaction). Raises RecordNotFound for an unknown id."""
    unique = list(dict.fromkeys(record_ids))[:MAX_PICKS]
    for record_id in unique:
        get_record(connection, record_id)
    connection.execute("DELETE FROM kiosk_picks")
    connection.executemany(
        "INSERT INTO kiosk_picks (record_id, position) VALUES (?, ?)",
        [(record_id, position) for position, record_id in enumerate(unique, start=1)],
    )


def is_open(chosen: KioskSettings, now: datetime.datetime) -> bool:
    """Whether the library is open at *now* (local time); always, without opening times."""
    if chosen.opens_at is None or chosen.closes_at is None:
        return True
    if now.isoweekday() not in chosen.open_days:
        return False
    clock = now.strftime("%H:%M")
    if chosen.opens_at <= chosen.closes_at:
        return chosen.opens_at <= clock < chosen.closes_at
    return clock >= chosen.opens_at or clock < chosen.closes_at  # open past midnight


def showcase(connection: sqlite3.Connection, chosen: KioskSettings, now_local: str) -> list[dict[str, Any]]:
    """The slides to rotate through, each `{"name", "title", "records" | "events"}`; empty
    ones are left out (the opening-hours slide is always kept when chosen)."""
    slides = []
    for name in chosen.slides:
        slide: dict[str, Any] = {"name": name, "title": SLIDE_TITLES[name], "records": [], "events": []}
        if name == "new":
            slide["records"] = browse.records_in(connection, "new", limit=BOOKS_PER_SLIDE)[1]
        elif name == "popular":
            slide["records"] = [
                record
                for record in events.most_read(connection, days=7, limit=BOOKS_PER_SLIDE * 2)
                if not record["withdrawn"]
            ][:BOOKS_PER_SLIDE]
        elif name == "picks":
            slide["records"] = picks(connection)[:BOOKS_PER_SLIDE]
        elif name == "events":
            if not chosen.show_events:
                continue
            slide["events"] = announcements.upcoming(connection, now_local, limit=4)
        if name == "hours" or slide["records"] or slide["events"]:
            slides.append(slide)
    return slides


_ENGINES = (
    (re.compile(r"Tizen[ /]([\d.]+)"), "Tizen"),
    (re.compile(r"Web0S|webOS"), "webOS"),
    (re.compile(r"Android[ /]([\d.]+)"), "Android"),
)
_CHROME = re.compile(r"Chrom(?:e|ium)/(\d+)")


def engine_of(user_agent: str) -> str:
    """A short name of a browser's platform and engine, e.g. `Tizen 4.0, Chromium 56`."""
    parts = []
    for pattern, name in _ENGINES:
        match = pattern.search(user_agent)
        if match:
            parts.append(f"{name} {match.group(1)}" if match.groups() else name)
            break
    chrome = _CHROME.search(user_agent)
    if chrome:
        parts.append(f"Chromium {chrome.group(1)}")
    elif "AppleWebKit" in user_agent:
        parts.append("WebKit")
    return ", ".join(parts) or (user_agent[:80] or "unknown")


def note_engine(connection: sqlite3.Connection, engine: str) -> bool:
    """Remember the engine the kiosk runs on; True when it is new (so it is logged once)."""
    row = connection.execute("SELECT engine FROM kiosk_settings WHERE id = 1").fetchone()
    if row["engine"] == engine:
        return False
    connection.execute(
        "UPDATE kiosk_settings SET engine = ?, engine_seen_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = 1",
        (engine,),
    )
    return True

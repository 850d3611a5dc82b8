"""Events and announcements: a reading hour, a storytelling afternoon, a closed day. Shown on
the OPAC home page and on the TV kiosk.

An event's time is the library's local time (`YYYY-MM-DDTHH:MM`), as the librarian typed it;
a notice has no time. Pictures are re-encoded as bounded JPEGs (never served as uploaded).
"""

from __future__ import annotations

import dataclasses
import hashlib
import sqlite3
from typing import Any

from catalog.datadir import DataDir, write_atomically
from catalog.errors import NotAnImage
from catalog.extract.images import normalise_cover
from catalog.extract.model import Limits

FIELDS = ("title", "starts_at", "ends_at", "place", "description", "image", "published")
IMAGE_LIMITS = dataclasses.replace(Limits(), cover_max_px=1280, thumb_max_px=480)
MAX_IMAGE_BYTES = 15 * 1024 * 1024


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    cleaned = {field: values.get(field) for field in FIELDS}
    for field in ("title", "place", "description", "starts_at", "ends_at"):
        cleaned[field] = (str(cleaned[field]).strip() or None) if cleaned[field] is not None else None
    if not cleaned["title"]:
        raise ValueError("an announcement needs a title")
    cleaned["published"] = int(bool(values.get("published", True)))
    return cleaned


def add(connection: sqlite3.Connection, values: dict[str, Any]) -> int:
    """A new announcement; the caller holds the transaction."""
    cleaned = _clean(values)
    columns = ", ".join(FIELDS)
    return connection.execute(
        f"INSERT INTO announcements ({columns}) VALUES ({', '.join('?' for _ in FIELDS)})",  # noqa: S608 - fixed names
        tuple(cleaned[field] for field in FIELDS),
    ).lastrowid


def update(connection: sqlite3.Connection, announcement_id: int, values: dict[str, Any]) -> None:
    cleaned = _clean(values)
    assignments = ", ".join(f"{field} = ?" for field in FIELDS)
    connection.execute(
        f"UPDATE announcements SET {assignments}, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"  # noqa: S608
        " WHERE id = ?",
        (*(cleaned[field] for field in FIELDS), announcement_id),
    )


def delete(connection: sqlite3.Connection, announcement_id: int) -> None:
    connection.execute("DELETE FROM announcements WHERE id = ?", (announcement_id,))


def get(connection: sqlite3.Connection, announcement_id: int) -> dict[str, Any] | None:
    row = connection.execute("SELECT * FROM announcements WHERE id = ?", (announcement_id,)).fetchone()
    return dict(row) if row else None


def listed(connection: sqlite3.Connection, *, limit: int = 200) -> list[dict[str, Any]]:
    """Every announcement for the staff list: future events first by time, then the rest, newest first."""
    rows = connection.execute(
        "SELECT * FROM announcements ORDER BY starts_at IS NULL, starts_at DESC, id DESC LIMIT ?", (limit,)
    ).fetchall()
    return [dict(row) for row in rows]


def upcoming(connection: sqlite3.Connection, now_local: str, *, limit: int = 5) -> list[dict[str, Any]]:
    """Published events not yet over at *now_local* (`YYYY-MM-DDTHH:MM`, the library's time),
    soonest first, then notices from the last 30 days, newest first."""
    today = now_local[:10]
    events = connection.execute(
        "SELECT * FROM announcements WHERE published = 1 AND starts_at IS NOT NULL"
        " AND coalesce(ends_at, substr(starts_at, 1, 10) || 'T23:59') >= ? ORDER BY starts_at LIMIT ?",
        (now_local, limit),
    ).fetchall()
    notices = connection.execute(
        "SELECT * FROM announcements WHERE published = 1 AND starts_at IS NULL"
        " AND created_at >= strftime('%Y-%m-%dT%H:%M:%SZ', ?, '-30 days') ORDER BY id DESC LIMIT ?",
        (today, limit),
    ).fetchall()
    return [dict(row) for row in [*events, *notices][:limit]]


def store_image(datadir: DataDir, image: bytes) -> str:
    """Re-encode an uploaded picture and store it (and a smaller one); returns its name."""
    if len(image) > MAX_IMAGE_BYTES:
        raise NotAnImage()
    large, small = normalise_cover(image, IMAGE_LIMITS)
    if large is None or small is None:
        raise NotAnImage()
    name = hashlib.sha256(large).hexdigest()
    write_atomically(datadir.images_dir / f"{name}.jpg", large)
    write_atomically(datadir.images_dir / f"{name}-small.jpg", small)
    return name

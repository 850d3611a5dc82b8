"""What extraction returns, and the limits it works within."""

from __future__ import annotations

import dataclasses
import re

from catalog.extract.clean import clean_text, title_from_filename


@dataclasses.dataclass(frozen=True)
class Limits:
    """Bounds that keep a hostile file from exhausting the server."""

    max_file_bytes: int = 500 * 1024 * 1024
    zip_max_entries: int = 10_000
    zip_max_uncompressed_bytes: int = 1024 * 1024 * 1024
    zip_max_entry_bytes: int = 256 * 1024 * 1024
    zip_max_ratio: int = 200
    max_text_units: int = 20_000
    cover_max_px: int = 600
    thumb_max_px: int = 200


@dataclasses.dataclass
class Contributor:
    name: str
    role: str = "aut"
    sort_name: str | None = None


@dataclasses.dataclass
class TextUnit:
    """One PDF page or EPUB spine document, numbered from 1 in reading order."""

    seq: int
    text: str
    label: str | None = None
    href: str | None = None


@dataclasses.dataclass
class Extraction:
    format: str
    title: str | None = None
    title_source: str = "metadata"
    subtitle: str | None = None
    other_titles: list[str] = dataclasses.field(default_factory=list)
    creators: list[Contributor] = dataclasses.field(default_factory=list)
    contributors: list[Contributor] = dataclasses.field(default_factory=list)
    language: str | None = None
    identifiers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    publisher: str | None = None
    year: int | None = None
    subjects: list[str] = dataclasses.field(default_factory=list)
    description: str | None = None
    pages: int = 0
    units: list[TextUnit] = dataclasses.field(default_factory=list)
    cover_jpeg: bytes | None = None
    thumb_jpeg: bytes | None = None
    skipped: list[str] = dataclasses.field(default_factory=list)

    @property
    def has_text(self) -> bool:
        return any(unit.text.strip() for unit in self.units)

    def fill_title_from_filename(self, name: str) -> None:
        if not self.title:
            self.title = title_from_filename(name)
            self.title_source = "filename"


_YEAR = re.compile(r"(?<!\d)(1[0-9]{3}|20[0-9]{2})(?!\d)")


def year_from_date(value: str | None) -> int | None:
    """The year of a metadata date such as `2008-05-20` or `D:20090101`, or None."""
    if not value:
        return None
    match = _YEAR.search(clean_text(value) or "")
    return int(match.group(1)) if match else None


def language_tag(value: str | None) -> str | None:
    """A cleaned BCP 47 language tag as the file gives it (`en-US`), or None when empty."""
    cleaned = clean_text(value)
    if not cleaned or not re.fullmatch(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*", cleaned):
        return None
    return cleaned

"""Cleaning metadata values without inventing any."""

from __future__ import annotations

import re
import unicodedata

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff\ufffe\uffff]")
_SPACE = re.compile(r"\s+")
_FILENAME_SEPARATORS = re.compile(r"[_\-.+]+")


def clean_text(value: object) -> str | None:
    """Collapse whitespace, drop control characters and NULs, NFC-normalise; None when empty."""
    if value is None:
        return None
    text = str(value)
    text = _CONTROL.sub("", text)
    text = unicodedata.normalize("NFC", _SPACE.sub(" ", text)).strip()
    return text or None


def clean_long_text(value: object) -> str | None:
    """Like `clean_text` but keeps paragraph breaks (for descriptions)."""
    if value is None:
        return None
    paragraphs = [clean_text(part) for part in re.split(r"\n\s*\n", str(value))]
    text = "\n\n".join(part for part in paragraphs if part)
    return text or None


def title_from_filename(name: str) -> str:
    """A readable title from a file name: `sejarah_desa-kita.pdf` -> `Sejarah desa kita`."""
    stem = name.rsplit("/", 1)[-1]
    if "." in stem:
        stem = stem.rsplit(".", 1)[0]
    words = clean_text(_FILENAME_SEPARATORS.sub(" ", stem)) or clean_text(name) or "?"
    if words.islower():
        words = words[0].upper() + words[1:]
    return words


def split_people(value: str | None) -> list[str]:
    """Split an author field such as `A; B` into names, keeping `Last, First` whole.

    Only semicolons separate: "and", "dan" and commas also occur inside corporate names
    (`Kementerian Pendidikan dan Kebudayaan`), and splitting there would invent authors.
    """
    cleaned = clean_text(value)
    if not cleaned:
        return []
    parts = cleaned.split(";")
    return [part for part in (clean_text(p) for p in parts) if part]

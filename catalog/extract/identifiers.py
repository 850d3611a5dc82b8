"""Recognising identifiers: ISBN (checked), ISSN, DOI, UUID, URL, anything else."""

from __future__ import annotations

import re

_ISBN_CHARS = re.compile(r"[^0-9Xx]")
_ISBN_SHAPE = re.compile(r"[0-9Xx\- ]{10,17}")


def classify(value: str | None, scheme: str | None = None) -> tuple[str, str] | None:
    """(scheme, value) for an identifier as a file gives it, e.g. `urn:isbn:978...`."""
    if not value:
        return None
    lowered = value.lower()
    scheme = (scheme or "").strip().lower()
    for prefix in ("urn:isbn:", "isbn:", "isbn "):
        if lowered.startswith(prefix):
            value, scheme = value[len(prefix) :].strip(), "isbn"
            lowered = value.lower()
            break
    if scheme in ("isbn", "15") or (not scheme and _ISBN_SHAPE.fullmatch(value) and _valid_isbn(value)):
        isbn = normalise_isbn(value)
        return ("isbn", isbn) if isbn else ("other", value)
    if lowered.startswith("urn:uuid:"):
        return "uuid", value[len("urn:uuid:") :]
    if scheme == "uuid" or re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", lowered):
        return "uuid", lowered
    if lowered.startswith(("doi:", "urn:doi:")) or scheme in ("doi", "06"):
        return "doi", value.split(":", 1)[-1] if lowered.startswith(("doi:", "urn:doi:")) else value
    if lowered.startswith(("urn:issn:", "issn:")) or scheme == "issn":
        return "issn", value.rsplit(":", 1)[-1].strip()
    if lowered.startswith(("http://", "https://")):
        return "url", value
    return "other", value


def normalise_isbn(value: str) -> str | None:
    """ISBN digits without hyphens when the check digit is right, else None."""
    digits = _ISBN_CHARS.sub("", value).upper()
    return digits if _valid_isbn(digits) else None


def _valid_isbn(value: str) -> bool:
    digits = _ISBN_CHARS.sub("", value).upper()
    if len(digits) == 13 and digits.isdigit():
        total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits))
        return total % 10 == 0
    if len(digits) == 10 and digits[:9].isdigit() and (digits[9].isdigit() or digits[9] == "X"):
        total = sum((10 - i) * (10 if d == "X" else int(d)) for i, d in enumerate(digits))
        return total % 11 == 0
    return False

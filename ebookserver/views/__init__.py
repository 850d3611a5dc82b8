"""One blueprint per area of the site, and what several of them share."""

from __future__ import annotations

from typing import Any

from flask import abort

from catalog import records
from catalog.errors import RecordNotFound
from ebookserver.database import get_db

# Search filters in query strings (pages and the JSON API): parameter -> facet.
SEARCH_FILTERS = {
    "lang": "language",
    "format": "format",
    "ddc": "ddc_class",
    "year": "year",
    "availability": "availability",
}


def record_or_404(record_id: int) -> dict[str, Any]:
    """The record, or the 404 page (also for ids too large for SQLite)."""
    try:
        return records.get_record(get_db(), record_id)
    except (RecordNotFound, OverflowError):
        abort(404)

"""One blueprint per area of the site, and what several of them share."""

from __future__ import annotations

from typing import Any

from flask import abort

from catalog import records
from catalog.errors import RecordNotFound
from ebookserver.database import get_db

# Search filters in the JSON API's query string: parameter -> facet.
SEARCH_FILTERS = {
    "lang": "language",
    "format": "format",
    "ddc": "ddc_class",
    "year": "year",
    "availability": "availability",
}
# On pages `?lang=` chooses the interface's language, so the books' language is `bahasa`.
PAGE_FILTERS = {("bahasa" if parameter == "lang" else parameter): facet for parameter, facet in SEARCH_FILTERS.items()}


def record_or_404(record_id: int) -> dict[str, Any]:
    """The record, or the 404 page (also for ids too large for SQLite)."""
    try:
        return records.get_record(get_db(), record_id)
    except (RecordNotFound, OverflowError):
        abort(404)

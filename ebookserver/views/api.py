"""JSON for programs and scripts: /api/v1/search and /api/v1/records/<id>, described by
/api/v1/openapi.json (ebookserver/static/openapi.json).

The API is lenient on purpose: a page, limit or sort it cannot use falls back to its default
(the answer says which page and size it used), so every request gets a JSON answer of a
documented shape, never a server error. A withdrawn title is gone here as on the catalogue's
pages (404), except for a signed-in librarian.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request, send_from_directory

from catalog import records
from catalog import search as search_engine
from catalog.errors import RecordNotFound
from ebookserver.database import get_db
from ebookserver.views import SEARCH_FILTERS

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
FILTER_PARAMETERS = {**SEARCH_FILTERS, "language": "language"}
DESCRIPTION = "openapi.json"


@blueprint.get("/search")
def search():
    search_request = search_engine.SearchRequest(
        text=request.args.get("q", ""),
        page=request.args.get("page", 1, type=int) or 1,
        page_size=request.args.get("limit", 10, type=int) or 10,
        sort=request.args.get("sort", "relevance"),
        filters=tuple(
            (facet, request.args[parameter])
            for parameter, facet in FILTER_PARAMETERS.items()
            if parameter in request.args
        ),
    )
    result = search_engine.search(current_app.config["SEARCH_INDEX"], get_db(), search_request)
    return jsonify(result)


@blueprint.get("/records/<int:record_id>")
def record(record_id: int):
    try:
        found = records.get_record(get_db(), record_id)
    except (RecordNotFound, OverflowError):  # OverflowError: an id larger than SQLite's integers
        found = None
    if found is None or (found["withdrawn"] and g.get("staff") is None):
        return jsonify({"error": {"status": 404, "title": "record not found", "id": record_id}}), 404
    return jsonify(found)


@blueprint.get("/openapi.json")
def description():
    """The OpenAPI 3.1 description of this API (the file the tests fuzz it against)."""
    return send_from_directory(current_app.static_folder, DESCRIPTION, mimetype="application/json")

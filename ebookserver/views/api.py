"""JSON for programs and scripts: /api/v1/search and /api/v1/records/<id>."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from catalog import records
from catalog import search as search_engine
from catalog.errors import RecordNotFound
from ebookserver.database import get_db
from ebookserver.views import SEARCH_FILTERS

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
FILTER_PARAMETERS = {**SEARCH_FILTERS, "language": "language"}


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
        return jsonify(records.get_record(get_db(), record_id))
    except RecordNotFound:
        return jsonify({"error": {"status": 404, "title": "record not found", "id": record_id}}), 404

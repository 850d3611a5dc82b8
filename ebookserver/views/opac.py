"""The public catalogue. For now: a paginated list of every record, with covers."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request, send_file

from catalog import records
from ebookserver.database import get_db

blueprint = Blueprint("opac", __name__)
PAGE_SIZE = 24


@blueprint.get("/")
def index():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    connection = get_db()
    total = records.count_records(connection)
    found = records.list_records(connection, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return render_template("index.html", records=found, total=total, page=page, pages=pages)


@blueprint.get("/covers/<sha256>.jpg")
def thumbnail(sha256: str):
    if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        abort(404)
    path = current_app.config["DATADIR"].thumb_path(sha256)
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="image/jpeg", max_age=7 * 24 * 3600)

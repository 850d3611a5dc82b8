"""The public catalogue: home, search results, record pages and browsing, as HTML that
works without JavaScript."""

from __future__ import annotations

import datetime
import sqlite3

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, send_file, url_for

from catalog import announcements, browse, events
from catalog import search as search_engine
from ebookserver import access, names
from ebookserver.access import may_download, may_read
from ebookserver.database import get_db
from ebookserver.views import PAGE_FILTERS, patron, record_or_404
from ebookserver.views.events import local_now

blueprint = Blueprint("opac", __name__)
PAGE_SIZE = 24
RESULTS_PER_PAGE = 10
NEW_ON_HOME = 8
MOST_READ_DAYS = 90
# Facet -> its query-string parameter (for facet links).
FACET_PARAMETER = {facet: parameter for parameter, facet in PAGE_FILTERS.items()}
MAX_PAGE = 10_000
VISIT_COOKIE = "kunjungan"  # a session cookie (gone with the browser) that says the visit was counted


@blueprint.before_request
def _note_visit() -> None:
    """Count an OPAC visit once per browser session: the first page without the cookie."""
    if request.cookies.get(VISIT_COOKIE) or request.endpoint in ("opac.thumbnail", "opac.cover"):
        return
    if _log(lambda connection: events.log(connection, events.VISIT)):
        g.visit_counted = True


@blueprint.after_request
def _visit_cookie(response):
    if g.get("visit_counted"):
        response.set_cookie(VISIT_COOKIE, "1", httponly=True, samesite="Lax")
    return response


def _log(write) -> bool:
    """Count what happened; a busy database costs the count, never the page."""
    try:
        write(get_db())
    except sqlite3.OperationalError:
        current_app.logger.warning("could not record a usage event")
        return False
    return True


def _page_number() -> int:
    page = request.args.get("page", 1, type=int) or 1
    return min(max(page, 1), MAX_PAGE)


@blueprint.get("/")
def index():
    connection = get_db()
    total, newest = browse.records_in(connection, "new", limit=NEW_ON_HOME)
    return render_template(
        "home.html",
        total=total,
        newest=newest,
        most_read=events.most_read(connection, days=MOST_READ_DAYS, limit=NEW_ON_HOME),
        upcoming=announcements.upcoming(connection, local_now(), limit=3),
        counts=browse.counts(connection),
        names=names,
    )


@blueprint.get("/cari")
def results():
    text = request.args.get("q", "").strip()
    if not text:
        return redirect(url_for("opac.index"))
    filters = tuple(
        (facet, request.args[parameter]) for parameter, facet in PAGE_FILTERS.items() if request.args.get(parameter)
    )
    within = request.args.get("within", type=int)
    if within:
        filters += (("record", within),)
    sort = request.args.get("sort", "relevance")
    found = search_engine.search(
        current_app.config["SEARCH_INDEX"],
        get_db(),
        search_engine.SearchRequest(text, page=_page_number(), page_size=RESULTS_PER_PAGE, sort=sort, filters=filters),
    )
    if _page_number() == 1:  # turning pages is not another search
        _log(lambda connection: events.log_search(connection, text, found.get("total") or 0, day=_today()))
    active = {parameter: request.args[parameter] for parameter in PAGE_FILTERS if request.args.get(parameter)}
    if within:
        active["within"] = str(within)
    return render_template(
        "results.html",
        query=text,
        found=found,
        sort=sort if sort in search_engine.service.SORTS else "relevance",
        active=active,
        facet_parameter=FACET_PARAMETER,
        names=names,
    )


@blueprint.get("/buku/<int:record_id>")
def record(record_id: int):
    found = record_or_404(record_id)
    if found["withdrawn"] and g.get("staff") is None:
        abort(404)  # withdrawn: gone for patrons; staff still see it (and that it is withdrawn)
    files = [
        {**file, "readable": may_read(found, file), "downloadable": may_download(found, file)}
        for file in found["files"]
    ]
    _log(lambda connection: events.log(connection, events.RECORD_VIEW, record_id))
    return render_template(
        "record.html", record=found, files=files, names=names, lending_offer=patron.offer(found), access=access
    )


@blueprint.get("/jelajah/baru")
def newest():
    return _browse("new", "")


@blueprint.get("/jelajah/<any(author, subject, ddc, language, format):kind>/<path:value>")
def browse_by(kind: str, value: str):
    return _browse(kind, value)


def _browse(kind: str, value: str):
    page = _page_number()
    total, found = browse.records_in(get_db(), kind, value, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    if total == 0 and kind != "new":
        abort(404)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return render_template(
        "browse.html", kind=kind, value=value, records=found, total=total, page=page, pages=pages, names=names
    )


@blueprint.get("/covers/<sha256>.jpg")
def thumbnail(sha256: str):
    return _image(current_app.config["DATADIR"].thumb_path, sha256)


@blueprint.get("/covers/<sha256>/besar.jpg")
def cover(sha256: str):
    return _image(current_app.config["DATADIR"].cover_path, sha256)


def _image(path_of, sha256: str):
    if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        abort(404)
    path = path_of(sha256)
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="image/jpeg", max_age=7 * 24 * 3600)


def _today() -> datetime.date:
    """The library's local date (zero-result searches are kept by it)."""
    return datetime.date.fromisoformat(local_now()[:10])

"""Reading in the browser, rendered by the server: a PDF page as an image with its text,
an EPUB chapter as its own sanitized HTML (its stored text when the chapter cannot be read).
No script of the book ever reaches the browser, every page works without JavaScript, and a
search snippet links straight to its page with the words marked.

Every route here asks `ebookserver.access` first: a title that needs a loan is read only
under a running loan (checked on every page, picture and image, so a remembered or copied URL
stops working when the loan ends), and the page then says why and offers to borrow again. A
signed-in patron's place in a book is kept on the server, so they read on from it on another
device; a visitor's is kept in a cookie."""

from __future__ import annotations

import io
import posixpath
import sqlite3
import threading
import urllib.parse
import zlib

import pymupdf
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from markupsafe import Markup

from catalog import events, lending, reading
from catalog.errors import CatalogError
from catalog.extract import Limits
from catalog.extract.chapter import chapter_html, chapter_image
from catalog.search.analysis import detect_language
from catalog.search.snippets import marks
from catalog.stamped import stamp_pdf
from ebookserver import access
from ebookserver.access import may_download
from ebookserver.database import get_db
from ebookserver.views import patron as patron_pages
from ebookserver.views import record_or_404

blueprint = Blueprint("reader", __name__)
FONT_SIZES = ("small", "normal", "large", "larger")
THEMES = ("day", "night")
PAGE_DPI = 110
MAX_HIGHLIGHT_WORDS = 8
_rendering = threading.BoundedSemaphore(2)  # page images at a time: bounds memory on a small server
# The reader never runs a script, not even ours: pictures, styles and forms from this server only.
READER_CSP = (
    "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'"
)


def _readable(record_id: int, file_id: int | None = None, *, explain: bool = False) -> tuple[dict, dict]:
    """The record and its file to read, or the right error page: 404 for what does not
    exist, 403 when the licence does not allow it now; with *explain*, a page that says why
    (no loan, the loan ended, not at the library) and what to do."""
    record = record_or_404(record_id)
    files = [file for file in record["files"] if file_id in (None, file["id"])]
    if not files:
        abort(404)
    decision = access.reading_access(record)
    if not decision.allowed:
        if explain and decision.reason != access.WITHDRAWN:
            abort(_refusal(record, decision))
        abort(403)
    return record, files[0]


def _refusal(record: dict, decision: access.Access) -> Response:
    """The reader's page for a title that cannot be read now, saying why plainly."""
    offer = (
        patron_pages.offer(record) if decision.reason in (access.SIGN_IN, access.NO_LOAN, access.LOAN_ENDED) else None
    )
    response = make_response(
        render_template("patron/refused.html", record=record, decision=decision, offer=offer, access=access), 403
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _remember(kind: str, work) -> None:
    """Keep a patron's place or history; a busy database costs that, never the page."""
    try:
        work()
    except sqlite3.OperationalError:
        current_app.logger.warning("could not keep a reading %s", kind)


def _unit(file_id: int, seq: int):
    return (
        get_db()
        .execute("SELECT seq, label, href, text_z FROM text_units WHERE file_id = ? AND seq = ?", (file_id, seq))
        .fetchone()
    )


def _highlight_words() -> list[str]:
    return request.args.get("hl", "").split()[:MAX_HIGHLIGHT_WORDS]


@blueprint.get("/baca/<int:record_id>")
def start(record_id: int):
    _record, file = _readable(record_id, request.args.get("file", type=int), explain=True)
    patron = g.get("patron")
    if patron is not None:
        remembered = reading.position(get_db(), patron["id"], file["id"])
    else:
        remembered = request.cookies.get(f"pos-{file['id']}", type=int)
    seq = remembered if remembered and 1 <= remembered <= file["pages"] else 1
    return redirect(url_for("reader.read", record_id=record_id, seq=seq, file=file["id"]))


@blueprint.get("/baca/<int:record_id>/<int:seq>")
def read(record_id: int, seq: int):
    record, file = _readable(record_id, request.args.get("file", type=int), explain=True)
    if not 1 <= seq <= max(file["pages"], 1):
        abort(404)
    patron = g.get("patron")
    if _entering_the_book(record_id):
        _log_event(events.READ, record_id)
        if patron is not None:
            _remember("history", lambda: reading.note_reading(get_db(), patron["id"], record_id))
    unit = _unit(file["id"], seq)
    text = zlib.decompress(unit["text_z"]).decode("utf-8") if unit else ""
    words = _highlight_words()
    language = record["language"] or detect_language(text)
    chapter = _chapter(record, file, unit, words, language) if file["format"] == "epub" else None
    paragraphs = _paragraphs(text, marks(text, words, language) if words else []) if chapter is None else []
    contents = (
        get_db()
        .execute(
            "SELECT seq, label FROM text_units WHERE file_id = ? AND label IS NOT NULL AND label != '' ORDER BY seq",
            (file["id"],),
        )
        .fetchall()
    )
    size = _preference("size", FONT_SIZES, "normal")
    theme = _preference("theme", THEMES, "day")
    boxes = _pdf_boxes(file, seq, paragraphs) if file["format"] == "pdf" and words else []
    response = make_response(
        render_template(
            "reader.html",
            record=record,
            file=file,
            seq=seq,
            unit=unit,
            paragraphs=paragraphs,
            chapter=chapter,
            text_only=file["format"] == "epub" and chapter is None and bool(paragraphs),
            contents=contents,
            size=size,
            theme=theme,
            sizes=FONT_SIZES,
            themes=THEMES,
            highlight=" ".join(words),
            boxes=boxes,
            downloadable=may_download(record, file),
            loan=access.reading_access(record).loan,
        )
    )
    if patron is not None:  # kept on the server, so nothing of the patron stays in a shared PC's browser
        _remember("position", lambda: reading.save_position(get_db(), patron["id"], file["id"], seq))
    else:
        response.set_cookie(f"pos-{file['id']}", str(seq), max_age=180 * 24 * 3600, samesite="Lax", httponly=True)
    for name, value in (("size", size), ("theme", theme)):
        if request.args.get(name) == value:
            response.set_cookie(f"reader-{name}", value, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = READER_CSP
    return response


def _entering_the_book(record_id: int) -> bool:
    """True unless the reader came from another page of this book (turning pages is not a
    new read). Our pages send a same-origin Referer."""
    referrer = urllib.parse.urlsplit(request.referrer or "")
    return not (referrer.netloc == request.host and referrer.path.startswith(f"/baca/{record_id}/"))


def _log_event(kind: str, record_id: int) -> None:
    """Count what happened; a busy database costs the count, never the page."""
    try:
        events.log(get_db(), kind, record_id)
    except sqlite3.OperationalError:
        current_app.logger.warning("could not record a %s event for record %s", kind, record_id)


def _chapter(record: dict, file: dict, unit, words: list[str], language: str | None) -> Markup | None:
    """The chapter's own HTML, sanitized, with the words marked; None when it cannot be read
    (no stored href, a damaged file) or shows nothing, so that the stored text is shown."""
    href = unit["href"] if unit else None
    if not href:
        return None
    chapters = {
        posixpath.normpath(row["href"]): row["seq"]
        for row in get_db().execute(
            "SELECT seq, href FROM text_units WHERE file_id = ? AND href IS NOT NULL", (file["id"],)
        )
    }
    highlight = " ".join(words) or None

    def chapter_url(target: str, fragment: str) -> str | None:
        seq = chapters.get(posixpath.normpath(target))
        if seq is None:
            return None
        return url_for(
            "reader.read", record_id=record["id"], seq=seq, file=file["id"], hl=highlight, _anchor=fragment or None
        )

    def image_url(name: str) -> str:
        return url_for("reader.picture", record_id=record["id"], name=name, file=file["id"])

    path = current_app.config["DATADIR"].book_path(file["sha256"], "epub")
    try:
        html = chapter_html(
            path,
            href,
            _limits(),
            chapter_url=chapter_url,
            image_url=image_url,
            highlight=(lambda text: marks(text, words, language)) if words else None,
        )
    except (CatalogError, OSError):
        current_app.logger.warning("chapter %d of file %s cannot be read; showing its text", unit["seq"], file["id"])
        return None
    return Markup(html) if _shows_something(html) else None  # noqa: S704 - sanitized by nh3 in chapter_html


def _shows_something(html: str) -> bool:
    return "<img" in html or bool(Markup(html).striptags().strip())  # noqa: S704 - only read, never rendered


def _limits() -> Limits:
    settings = current_app.config.get("EBOOKSERVER")
    return settings.limits() if settings is not None else Limits()


def _preference(name: str, allowed: tuple[str, ...], default: str) -> str:
    for value in (request.args.get(name), request.cookies.get(f"reader-{name}")):
        if value in allowed:
            return value
    return default


def _paragraphs(text: str, found: list[tuple[int, int]]) -> list[list[tuple[str, bool]]]:
    """The text as paragraphs, each a list of (piece, marked) pieces."""
    paragraphs, start = [], 0
    for line_end in [*(index for index, char in enumerate(text) if char == "\n"), len(text)]:
        pieces, cursor = [], start
        for mark_start, mark_end in found:
            if mark_start >= start and mark_end <= line_end:
                pieces.append((text[cursor:mark_start], False))
                pieces.append((text[mark_start:mark_end], True))
                cursor = mark_end
        pieces.append((text[cursor:line_end], False))
        pieces = [(piece, marked) for piece, marked in pieces if piece]
        if any(piece.strip() for piece, _ in pieces):
            paragraphs.append(pieces)
        start = line_end + 1
    return paragraphs


def _pdf_boxes(file: dict, seq: int, paragraphs) -> list[dict[str, float]]:
    """Where the marked words are on the page image, in percent of its size."""
    forms = {piece for paragraph in paragraphs for piece, marked in paragraph if marked}
    path = current_app.config["DATADIR"].book_path(file["sha256"], "pdf")
    boxes = []
    try:
        with pymupdf.open(path) as document:
            page = document[seq - 1]
            width, height = page.rect.width, page.rect.height
            for form in sorted(forms):
                for rect in page.search_for(form)[:50]:
                    boxes.append(
                        {
                            "left": 100 * rect.x0 / width,
                            "top": 100 * rect.y0 / height,
                            "width": 100 * rect.width / width,
                            "height": 100 * rect.height / height,
                        }
                    )
    except (RuntimeError, ValueError, IndexError):
        current_app.logger.warning("could not place highlights on page %d of file %s", seq, file["id"])
        return []
    return boxes


@blueprint.get("/baca/<int:record_id>/<int:seq>.png")
def page_image(record_id: int, seq: int):
    _record, file = _readable(record_id, request.args.get("file", type=int))
    if file["format"] != "pdf" or not 1 <= seq <= file["pages"]:
        abort(404)
    path = current_app.config["DATADIR"].book_path(file["sha256"], "pdf")
    with _rendering:
        try:
            with pymupdf.open(path) as document:
                png = document[seq - 1].get_pixmap(dpi=PAGE_DPI).tobytes("png")
        except (RuntimeError, ValueError, IndexError):
            current_app.logger.exception("could not render page %d of file %s", seq, file["id"])
            abort(500)
        finally:
            # MuPDF keeps decoded images across documents, up to 256 MB a process: emptied, memory stays flat.
            pymupdf.TOOLS.store_shrink(100)
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = _resource_caching(_record)
    return response


@blueprint.get("/baca/<int:record_id>/gambar/<path:name>")
def picture(record_id: int, name: str):
    """A picture of an EPUB chapter: only JPEG, PNG, GIF or WebP files its manifest lists."""
    record, file = _readable(record_id, request.args.get("file", type=int))
    return chapter_picture(file, name, _resource_caching(record))


def chapter_picture(file: dict, name: str, caching: str) -> Response:
    """A picture an EPUB's manifest lists, re-checked and served sandboxed; 404 otherwise
    (also used by the TV kiosk's reader)."""
    if file["format"] != "epub":
        abort(404)
    path = current_app.config["DATADIR"].book_path(file["sha256"], "epub")
    try:
        found = chapter_image(path, name, _limits())
    except (CatalogError, OSError):
        current_app.logger.warning("picture %r of file %s cannot be read", name, file["id"])
        found = None
    if found is None:
        abort(404)
    data, media_type = found
    response = Response(data, mimetype=media_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = caching
    return response


def _resource_caching(record: dict) -> str:
    """Pages of a lent title are not kept by the browser: they must not outlive the loan."""
    return "no-store" if lending.needs_loan(record) else "private, max-age=86400"


@blueprint.get("/unduh/<int:record_id>/bertanda")
def stamped_download(record_id: int):
    """A lent PDF with the borrower's member number and due date on every page, for titles the
    library lets borrowers download; under a running loan only."""
    record, _file = _readable(record_id, explain=True)
    pdf = next((file for file in record["files"] if access.may_download_stamped(record, file)), None)
    if pdf is None:
        abort(403)
    loan, member = access.reading_access(record).loan, g.patron
    line = _(
        "Lent to member %(number)s until %(due)s, for their own reading only.",
        number=member["number"],
        due=patron_pages.moment(loan["due_at"]),
    )
    with _rendering:
        try:
            data = stamp_pdf(current_app.config["DATADIR"].book_path(pdf["sha256"], "pdf"), line)
        except (RuntimeError, ValueError, OSError):
            current_app.logger.exception("could not stamp file %s", pdf["id"])
            abort(500)
    _log_event(events.DOWNLOAD, record_id)
    name = f"{(record['title'] or 'buku')[:80]}.pdf"
    response = send_file(
        io.BytesIO(data), mimetype="application/pdf", as_attachment=True, download_name=name, max_age=0
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/unduh/<int:record_id>")
def download(record_id: int):
    record, file = _readable(record_id, request.args.get("file", type=int))
    if not may_download(record, file):
        abort(403)
    path = current_app.config["DATADIR"].book_path(file["sha256"], file["format"])
    name = f"{(record['title'] or 'buku')[:80]}.{file['format']}"
    _log_event(events.DOWNLOAD, record_id)
    return send_file(path, as_attachment=True, download_name=name, max_age=0)

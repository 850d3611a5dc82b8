"""Reading on the TV, for open-access titles only: an EPUB chapter as clean HTML in large
type that the kiosk script lays out in pages, a PDF page as an image rendered here by
PyMuPDF to fit the screen. Left and right turn the pages; Back returns to the book."""

from __future__ import annotations

import posixpath
import threading
import zlib
from typing import Any

import pymupdf
from flask import Blueprint, Response, abort, current_app, redirect, request, url_for
from markupsafe import Markup

from catalog.errors import CatalogError
from catalog.extract import Limits
from catalog.extract.chapter import chapter_html
from ebookserver.access import may_read
from ebookserver.database import get_db
from ebookserver.views import record_or_404
from ebookserver.views.kiosk import kiosk_screen, not_found
from ebookserver.views.reader import chapter_picture

blueprint = Blueprint("kiosk_reader", __name__, url_prefix="/kiosk/baca")
blueprint.register_error_handler(404, not_found)
PAGE_HEIGHT_PX = 880  # the page image's height inside the safe area, above the page line
MAX_DPI = 150
_rendering = threading.BoundedSemaphore(1)  # one TV: one page image at a time bounds memory


def readable_file(record: dict[str, Any], file_id: int | None = None) -> dict[str, Any] | None:
    """The record's first file the TV may show, or None: open-access titles only (the TV is a
    shared screen in the reading room: never a loan's book, nor an in-library title's)."""
    if record.get("withdrawn") or record.get("licence") != "open-access":
        return None
    for file in record["files"]:
        if file_id in (None, file["id"]) and file["format"] in ("epub", "pdf") and may_read(record, file):
            return file
    return None


def _book(record_id: int) -> tuple[dict, dict]:
    record = record_or_404(record_id)
    file = readable_file(record, request.args.get("file", type=int))
    if file is None:
        abort(404)
    return record, file


def _unit(file_id: int, seq: int):
    return (
        get_db()
        .execute("SELECT seq, label, href, text_z FROM text_units WHERE file_id = ? AND seq = ?", (file_id, seq))
        .fetchone()
    )


def _limits() -> Limits:
    return current_app.config["EBOOKSERVER"].limits()


@blueprint.get("/<int:record_id>")
def start(record_id: int):
    _record, file = _book(record_id)
    return redirect(url_for("kiosk_reader.read", record_id=record_id, seq=1, file=file["id"]))


@blueprint.get("/<int:record_id>/<int:seq>")
def read(record_id: int, seq: int):
    record, file = _book(record_id)
    pages = max(file["pages"] or 1, 1)
    if not 1 <= seq <= pages:
        abort(404)
    unit = _unit(file["id"], seq)
    chapter, paragraphs = None, []
    if file["format"] == "epub":
        chapter = _chapter(record, file, unit)
        if chapter is None and unit is not None:
            text = zlib.decompress(unit["text_z"]).decode("utf-8")
            paragraphs = [line for line in text.split("\n") if line.strip()]

    def turn(to: int, end: bool = False) -> str | None:
        if not 1 <= to <= pages:
            return None
        return url_for("kiosk_reader.read", record_id=record_id, seq=to, file=file["id"], akhir=1 if end else None)

    return kiosk_screen(
        "kiosk/read.html",
        screen="reader",
        back=url_for("kiosk.book", record_id=record_id),
        record=record,
        file=file,
        seq=seq,
        pages=pages,
        chapter=chapter,
        paragraphs=paragraphs,
        previous_url=turn(seq - 1, end=True),
        next_url=turn(seq + 1),
        at_end=bool(request.args.get("akhir")),
    )


def _chapter(record: dict, file: dict, unit) -> Markup | None:
    """The chapter's sanitized HTML with its links and pictures pointing at the kiosk, or None
    when it cannot be read (the stored text is shown instead)."""
    if unit is None or not unit["href"]:
        return None
    chapters = {
        posixpath.normpath(row["href"]): row["seq"]
        for row in get_db().execute(
            "SELECT seq, href FROM text_units WHERE file_id = ? AND href IS NOT NULL", (file["id"],)
        )
    }

    def chapter_url(target: str, _fragment: str) -> str | None:
        seq = chapters.get(posixpath.normpath(target))
        return None if seq is None else url_for("kiosk_reader.read", record_id=record["id"], seq=seq, file=file["id"])

    def image_url(name: str) -> str:
        return url_for("kiosk_reader.picture", record_id=record["id"], name=name, file=file["id"])

    path = current_app.config["DATADIR"].book_path(file["sha256"], "epub")
    try:
        html = chapter_html(path, unit["href"], _limits(), chapter_url=chapter_url, image_url=image_url)
    except (CatalogError, OSError):
        current_app.logger.warning("kiosk: chapter %d of file %s cannot be read", unit["seq"], file["id"])
        return None
    shows = "<img" in html or bool(Markup(html).striptags().strip())  # noqa: S704 - only read
    return Markup(html) if shows else None  # noqa: S704 - sanitized by nh3 in chapter_html


@blueprint.get("/<int:record_id>/<int:seq>.png")
def page_image(record_id: int, seq: int):
    """A PDF page as a PNG as tall as the TV's reading area."""
    _record, file = _book(record_id)
    if file["format"] != "pdf" or not 1 <= seq <= (file["pages"] or 0):
        abort(404)
    path = current_app.config["DATADIR"].book_path(file["sha256"], "pdf")
    with _rendering:
        try:
            with pymupdf.open(path) as document:
                page = document[seq - 1]
                dpi = min(MAX_DPI, max(36, int(PAGE_HEIGHT_PX * 72 / max(page.rect.height, 1))))
                png = page.get_pixmap(dpi=dpi).tobytes("png")
        except (RuntimeError, ValueError, IndexError):
            current_app.logger.exception("kiosk: could not render page %d of file %s", seq, file["id"])
            abort(404)
        finally:
            pymupdf.TOOLS.store_shrink(100)  # MuPDF's cache of decoded images (see reader.page_image)
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@blueprint.get("/<int:record_id>/gambar/<path:name>")
def picture(record_id: int, name: str):
    """A picture of an EPUB chapter (only the JPEG, PNG, GIF or WebP files its manifest lists)."""
    _record, file = _book(record_id)
    return chapter_picture(file, name, "public, max-age=86400")

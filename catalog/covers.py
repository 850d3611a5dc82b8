"""A record's cover, replaced by a librarian: from an uploaded picture or a page of its PDF.

Whatever is sent is decoded in a separate process under a memory limit (as import does) and
re-encoded as a bounded JPEG by `catalog.extract.images`, so the server never serves the
bytes it was given. Covers are named after the record's first e-book file, as import names
them, so the import's sweep keeps them.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import multiprocessing
import resource
import sqlite3

from catalog import records
from catalog.datadir import DataDir, write_atomically
from catalog.errors import CatalogError, NotAnImage
from catalog.extract.model import Limits
from catalog.i18n import N_

MAX_COVER_BYTES = 15 * 1024 * 1024


class NoFileForCover(CatalogError):
    code = "no-file-for-cover"
    message = N_("This record has no e-book file, so it cannot have a cover yet.")


class PageOutOfRange(CatalogError):
    code = "page-out-of-range"
    message = N_("The PDF has pages 1 to %(pages)s; page %(page)s does not exist.")


class CoverFailed(CatalogError):
    code = "cover-failed"
    message = N_("The cover could not be made from this picture or page.")


@dataclasses.dataclass(frozen=True)
class Cover:
    """A cover and its thumbnail, as JPEG bytes made by us."""

    jpeg: bytes
    thumb_jpeg: bytes


def from_picture(image: bytes, limits: Limits) -> Cover:
    """A cover from an uploaded picture (slow: run it outside any transaction)."""
    if not image or len(image) > MAX_COVER_BYTES:
        raise NotAnImage()
    cover, thumb = _in_worker(_cover_from_image, image, limits)
    if cover is None or thumb is None:
        raise NotAnImage()
    return Cover(cover, thumb)


def from_pdf_page(connection: sqlite3.Connection, datadir: DataDir, record_id: int, page: int, limits: Limits) -> Cover:
    """A cover from a page of the record's PDF (slow: run it outside any transaction)."""
    record = records.get_record(connection, record_id)
    pdf = next((file for file in record["files"] if file["format"] == "pdf"), None)
    if pdf is None:
        raise NoFileForCover()
    if not 1 <= page <= pdf["pages"]:
        raise PageOutOfRange(page=page, pages=pdf["pages"])
    cover, thumb = _in_worker(_cover_from_pdf_page, str(datadir.book_path(pdf["sha256"], "pdf")), page, limits)
    if cover is None or thumb is None:
        raise CoverFailed()
    return Cover(cover, thumb)


def store(connection: sqlite3.Connection, datadir: DataDir, record_id: int, cover: Cover) -> None:
    """Make *cover* the record's cover; the caller holds the transaction."""
    record = records.get_record(connection, record_id)
    if not record["files"]:
        raise NoFileForCover()
    sha256 = record["files"][0]["sha256"]
    write_atomically(datadir.cover_path(sha256), cover.jpeg)
    write_atomically(datadir.thumb_path(sha256), cover.thumb_jpeg)
    connection.execute(
        "UPDATE records SET cover = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?",
        (datadir.cover_path(sha256).name, record_id),
    )


def replace_cover(
    connection: sqlite3.Connection, datadir: DataDir, record_id: int, image: bytes, limits: Limits
) -> None:
    """From a picture, in one go (for scripts and tests)."""
    records.get_record(connection, record_id)
    store(connection, datadir, record_id, from_picture(image, limits))


def cover_from_page(
    connection: sqlite3.Connection, datadir: DataDir, record_id: int, page: int, limits: Limits
) -> None:
    """From a page of the record's PDF, in one go (for scripts and tests)."""
    store(connection, datadir, record_id, from_pdf_page(connection, datadir, record_id, page, limits))


_WORKER_MEMORY_BYTES = 1024 * 1024 * 1024
_WORKER_SECONDS = 60


def _limit_worker() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (_WORKER_MEMORY_BYTES, _WORKER_MEMORY_BYTES))


def _in_worker(function, *arguments):
    context = multiprocessing.get_context("forkserver")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context, initializer=_limit_worker) as executor:
        try:
            return executor.submit(function, *arguments).result(timeout=_WORKER_SECONDS)
        except (concurrent.futures.TimeoutError, concurrent.futures.process.BrokenProcessPool, MemoryError):
            for process in list(getattr(executor, "_processes", {}).values()):
                process.kill()
            return None, None


def _cover_from_image(image: bytes, limits: Limits) -> tuple[bytes | None, bytes | None]:
    from catalog.extract.images import normalise_cover

    return normalise_cover(image, limits)


def _cover_from_pdf_page(path: str, page: int, limits: Limits) -> tuple[bytes | None, bytes | None]:
    import pymupdf

    from catalog.extract.images import render_first_page

    try:
        with pymupdf.open(path) as document:
            document.select([page - 1])  # in memory only: the page asked for becomes the first
            return render_first_page(document, limits)
    except Exception:  # noqa: BLE001 - PyMuPDF raises plain Exception for pages it cannot render
        return None, None

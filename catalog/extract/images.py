"""Covers: any image a book carries is re-encoded as a bounded JPEG before it is stored.

Re-encoding through MuPDF means the server never serves the book's own image bytes as a
cover (no SVG with scripts, no polyglot files), and covers have predictable sizes.
"""

from __future__ import annotations

import pymupdf

from catalog.extract.model import Limits


def normalise_cover(image: bytes, limits: Limits) -> tuple[bytes | None, bytes | None]:
    """(cover, thumbnail) JPEGs from image bytes, or (None, None) when it is no usable image."""
    try:
        return _from_pixmap(pymupdf.Pixmap(image), limits)
    except Exception:  # noqa: BLE001 - PyMuPDF raises plain Exception for images it cannot decode
        return None, None


def render_first_page(document: pymupdf.Document, limits: Limits) -> tuple[bytes | None, bytes | None]:
    """The first page of a PDF rendered as cover and thumbnail."""
    page = document.load_page(0)
    width, height = page.rect.width or 1, page.rect.height or 1
    zoom = min(limits.cover_max_px / max(width, height), 2.0)
    pixmap = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)
    return _from_pixmap(pixmap, limits)


def _from_pixmap(pixmap: pymupdf.Pixmap, limits: Limits) -> tuple[bytes | None, bytes | None]:
    if pixmap.width < 2 or pixmap.height < 2:
        return None, None
    if pixmap.alpha:
        pixmap = pymupdf.Pixmap(pixmap, 0)
    if pixmap.colorspace is None or pixmap.colorspace.n not in (1, 3):
        pixmap = pymupdf.Pixmap(pymupdf.csRGB, pixmap)
    cover = _shrink(pixmap, limits.cover_max_px)
    thumb = _shrink(pixmap, limits.thumb_max_px)
    return cover.tobytes("jpeg", jpg_quality=80), thumb.tobytes("jpeg", jpg_quality=75)


def _shrink(pixmap: pymupdf.Pixmap, max_px: int) -> pymupdf.Pixmap:
    largest = max(pixmap.width, pixmap.height)
    if largest <= max_px:
        return pixmap
    factor = 1
    while largest // (2**factor) > max_px:
        factor += 1
    shrunk = pymupdf.Pixmap(pixmap, 0)  # a copy, without alpha
    shrunk.shrink(factor)
    return shrunk

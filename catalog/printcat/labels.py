"""A4 sheets of labels for printed copies: a spine label and a Code 128 barcode label each.

Sixteen copies to a sheet (two columns, eight rows, 95 × 34 mm cells with light cut lines).
The spine label (left, 28 mm wide) has the library's name and the call number one part per
line (`899.221` / `TOE` / `b`), as Indonesian libraries shelve; the barcode label (right) has
the library's name, the barcode as Code 128 bars with quiet zones, the barcode in text, and
the title. Bars are drawn as vector rectangles with PyMuPDF from python-barcode's Code 128
encoding (no raster images, so they print sharp on any printer).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import pymupdf
from barcode import Code128

from catalog.printcat.model import ItemNotFound

MM = 72 / 25.4
PAGE_WIDTH, PAGE_HEIGHT = pymupdf.paper_size("a4")
MARGIN = 10 * MM
COLUMNS, ROWS = 2, 8
CELL_WIDTH = (PAGE_WIDTH - 2 * MARGIN) / COLUMNS
CELL_HEIGHT = (PAGE_HEIGHT - 2 * MARGIN) / ROWS
SPINE_WIDTH = 28 * MM
MAX_MODULE = 0.33 * MM  # the widest bar unit scanners like; narrower when the code is long
QUIET_MODULES = 10
TEXT_FONT, CODE_FONT = "helv", "cour"


def label_sheet(
    connection: sqlite3.Connection, item_ids: Sequence[int], *, library_name: str = "Perpustakaan Desa"
) -> bytes:
    """A PDF with one spine-and-barcode label per item, in the order given; raises ItemNotFound."""
    copies = []
    for item_id in item_ids:
        row = connection.execute(
            "SELECT items.barcode, items.call_number, records.title FROM items"
            " JOIN records ON records.id = items.record_id WHERE items.id = ?",
            (item_id,),
        ).fetchone()
        if row is None:
            raise ItemNotFound(item_id=item_id)
        copies.append(row)
    document = pymupdf.open()
    page = None
    for number, (barcode, call_number, title) in enumerate(copies):
        place = number % (COLUMNS * ROWS)
        if place == 0:
            page = document.new_page(width=PAGE_WIDTH, height=PAGE_HEIGHT)
        column, row = place % COLUMNS, place // COLUMNS
        cell = pymupdf.Rect(
            MARGIN + column * CELL_WIDTH,
            MARGIN + row * CELL_HEIGHT,
            MARGIN + (column + 1) * CELL_WIDTH,
            MARGIN + (row + 1) * CELL_HEIGHT,
        )
        _label(page, cell, barcode, call_number, title, library_name)
    document.set_metadata({"title": library_name, "creator": "ebookserver"})
    data = document.tobytes(garbage=3, deflate=True)
    document.close()
    return data


def _label(page, cell, barcode: str, call_number: str | None, title: str, library_name: str) -> None:
    page.draw_rect(cell, color=(0.75, 0.75, 0.75), width=0.3, dashes="[2 2] 0")
    spine = pymupdf.Rect(cell.x0, cell.y0, cell.x0 + SPINE_WIDTH, cell.y1)
    page.draw_line(spine.top_right, spine.bottom_right, color=(0.75, 0.75, 0.75), width=0.3, dashes="[2 2] 0")
    _fitted(page, spine.x0 + 2 * MM, spine.y0 + 4 * MM, spine.width - 4 * MM, library_name, 6)
    parts = (call_number or "").split() or ["–"]
    size = min(14, (spine.height - 10 * MM) / max(len(parts), 1) / 1.2)
    y = spine.y0 + 8 * MM + size
    for part in parts[:5]:
        _fitted(page, spine.x0 + 2 * MM, y, spine.width - 4 * MM, part, size, bold=True)
        y += size * 1.2
    area = pymupdf.Rect(spine.x1 + 2 * MM, cell.y0 + 2 * MM, cell.x1 - 2 * MM, cell.y1 - 2 * MM)
    _fitted(page, area.x0, area.y0 + 2 * MM, area.width, library_name, 6)
    modules = Code128(barcode).build()[0]
    module = min(MAX_MODULE, area.width / (len(modules) + 2 * QUIET_MODULES))
    x = area.x0 + (area.width - module * len(modules)) / 2
    bars = pymupdf.Rect(0, area.y0 + 4 * MM, 0, area.y0 + 16 * MM)
    shape = page.new_shape()
    for position, bit in enumerate(modules):
        if bit == "1":
            shape.draw_rect(pymupdf.Rect(x + position * module, bars.y0, x + (position + 1) * module, bars.y1))
    shape.finish(color=None, fill=(0, 0, 0), width=0)
    shape.commit()
    text_width = pymupdf.get_text_length(barcode, fontname=CODE_FONT, fontsize=9)
    page.insert_text(
        (area.x0 + (area.width - text_width) / 2, bars.y1 + 4 * MM), barcode, fontname=CODE_FONT, fontsize=9
    )
    _fitted(page, area.x0, bars.y1 + 8.5 * MM, area.width, title, 7)


def _fitted(page, x: float, y: float, width: float, text: str, size: float, bold: bool = False) -> None:
    """Write *text* at (x, y), in a smaller size (down to 70 %) or shortened with "..." to fit in *width*."""
    font = "hebo" if bold else TEXT_FONT
    smallest = size * 0.7
    while size > smallest and pymupdf.get_text_length(text, fontname=font, fontsize=size) > width:
        size -= 0.25
    if pymupdf.get_text_length(text, fontname=font, fontsize=size) > width:
        while text and pymupdf.get_text_length(text + "...", fontname=font, fontsize=size) > width:
            text = text[:-1]
        text = text.rstrip() + "..."
    page.insert_text((x, y), text, fontname=font, fontsize=size)

"""A lent PDF stamped for its borrower: every page carries a line naming the member number and
the loan's due date, for titles the library lets borrowers download (a deterrent against
passing the file on, not a lock). PyMuPDF does the work; nothing here knows about HTTP."""

from __future__ import annotations

from pathlib import Path

import pymupdf

MARGIN = 14
FONT_SIZE = 7


def stamp_pdf(path: Path, line: str) -> bytes:
    """The PDF at *path* with *line* written at the foot of every page, as bytes."""
    with pymupdf.open(path) as document:
        for page in document:
            box = page.rect
            page.insert_textbox(
                pymupdf.Rect(MARGIN, box.height - MARGIN - 2 * FONT_SIZE, box.width - MARGIN, box.height - 4),
                line,
                fontsize=FONT_SIZE,
                color=(0.35, 0.35, 0.35),
                align=pymupdf.TEXT_ALIGN_CENTER,
                overlay=True,
            )
        metadata = dict(document.metadata or {})
        metadata["subject"] = line
        document.set_metadata(
            {key: value for key, value in metadata.items() if key not in ("format", "encryption") and value}
        )
        return document.tobytes(garbage=1, deflate=True)

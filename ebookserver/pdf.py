"""HTML to an A4 PDF with PyMuPDF's Story (already a dependency): the monthly report and other
printable pages come out the same on any printer, with no browser print dialog to get wrong."""

from __future__ import annotations

import io

import pymupdf

A4 = pymupdf.paper_rect("a4")
MARGIN = 42  # points, about 15 mm


def html_to_pdf(html: str, *, css: str = "", title: str = "") -> bytes:
    """Lay *html* out on as many A4 pages as it needs; returns the PDF's bytes."""
    story = pymupdf.Story(html=html, user_css=css)
    out = io.BytesIO()
    writer = pymupdf.DocumentWriter(out)
    frame = pymupdf.Rect(MARGIN, MARGIN, A4.width - MARGIN, A4.height - MARGIN)
    more = True
    while more:
        device = writer.begin_page(A4)
        more, _filled = story.place(frame)
        story.draw(device)
        writer.end_page()
    writer.close()
    if not title:
        return out.getvalue()
    with pymupdf.open(stream=out.getvalue(), filetype="pdf") as document:
        document.set_metadata({"title": title, "creator": "ebookserver"})
        return document.tobytes(garbage=3, deflate=True)

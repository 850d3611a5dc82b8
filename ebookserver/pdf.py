"""HTML to an A4 PDF with PyMuPDF's Story (already a dependency): the monthly report and the
printed guides come out the same on any printer, with no browser print dialog to get wrong."""

from __future__ import annotations

import io

import pymupdf

A4 = pymupdf.paper_rect("a4")
MARGIN = 42  # points, about 15 mm
NUMBER_SPACE = 14  # points kept free at the foot of the page for its number


def html_to_pdf(
    html: str,
    *,
    css: str = "",
    title: str = "",
    archive: pymupdf.Archive | None = None,
    margin: float = MARGIN,
    numbered: bool = False,
) -> bytes:
    """Lay *html* out on as many A4 pages as it needs (pictures come from *archive*), numbering
    the pages when asked; returns the PDF's bytes."""
    story = pymupdf.Story(html=html, user_css=css, archive=archive)
    out = io.BytesIO()
    writer = pymupdf.DocumentWriter(out)
    frame = pymupdf.Rect(margin, margin, A4.width - margin, A4.height - margin - (NUMBER_SPACE if numbered else 0))
    more = True
    while more:
        device = writer.begin_page(A4)
        more, _filled = story.place(frame)
        story.draw(device)
        writer.end_page()
    writer.close()
    with pymupdf.open(stream=out.getvalue(), filetype="pdf") as document:
        if numbered:
            for number, page in enumerate(document, start=1):
                page.insert_text((A4.width / 2 - 10, A4.height - margin / 2), f"{number}", fontsize=9)
        if title:
            document.set_metadata({"title": title, "creator": "ebookserver"})
        return document.tobytes(garbage=3, deflate=True)

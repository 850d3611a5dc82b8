"""A small demo library for the guides' screenshots: a few e-books with covers and a SLiMS export.

Everything is made here (ebooklib, PyMuPDF), so the screenshots need neither the internet nor
the shared corpus, and the books look like a village library's rather than test fixtures.
"""

from __future__ import annotations

from pathlib import Path

import pymupdf
from ebooklib import epub

from catalog.printcat import tabular

# title, author, subject, cover colour (RGB 0–1), chapters
EBOOKS = (
    (
        "Menanam Padi di Sawah",
        "Siti Rahayu",
        "Pertanian",
        (0.18, 0.49, 0.20),
        (
            "Petani di desa menanam padi di sawah pada musim hujan.",
            "Bab kedua bercerita tentang pupuk dan cara membaca tanda-tanda cuaca.",
            "Panen raya: warga desa memotong padi bersama-sama lalu menjemurnya.",
        ),
    ),
    (
        "Si Kancil dan Buaya",
        "Dongeng Nusantara",
        "Dongeng",
        (0.80, 0.45, 0.10),
        ("Si Kancil ingin menyeberang sungai yang penuh buaya.", "Kancil menghitung buaya satu per satu."),
    ),
    (
        "Beternak Ikan Lele",
        "Budi Santoso",
        "Perikanan",
        (0.10, 0.35, 0.60),
        ("Kolam terpal cocok untuk pekarangan sempit.", "Pakan lele diberikan dua kali sehari."),
    ),
)

# A SLiMS "Export Bibliography" file (its real columns) with two printed books.
SLIMS_BOOKS = (
    {
        "title": "Laskar pelangi : sebuah novel",
        "isbn_issn": "978-979-22-3456-5",
        "publisher_name": "Bentang Pustaka",
        "publish_year": "2008",
        "collation": "xiv, 529 hlm. ; 20 cm",
        "call_number": "899.221 HIR l",
        "place_name": "Yogyakarta",
        "classification": "899.221",
        "sor": "Andrea Hirata",
        "authors": "<Hirata, Andrea>",
        "topics": "<Fiksi Indonesia>",
        "item_code": "<S0001><S0002>",
    },
    {
        "title": "Bumi manusia",
        "isbn_issn": "979-97312-3-2",
        "publisher_name": "Hasta Mitra",
        "publish_year": "1980",
        "collation": "535 hlm. ; 20 cm",
        "call_number": "899.221 TOE b",
        "place_name": "Jakarta",
        "classification": "899.221",
        "sor": "Pramoedya Ananta Toer",
        "authors": "<Toer, Pramoedya Ananta>",
        "topics": "<Fiksi Indonesia>",
        "item_code": "<S0003>",
    },
)


def cover_png(title: str, author: str, colour: tuple[float, float, float]) -> bytes:
    """A plain book cover: the title and author in white on a colour."""
    document = pymupdf.open()
    page = document.new_page(width=300, height=450)
    page.draw_rect(page.rect, color=colour, fill=colour)
    page.insert_textbox(pymupdf.Rect(20, 60, 280, 300), title, fontsize=30, color=(1, 1, 1), fontname="hebo")
    page.insert_textbox(pymupdf.Rect(20, 380, 280, 430), author, fontsize=16, color=(1, 1, 1), fontname="helv")
    png = page.get_pixmap().tobytes("png")
    document.close()
    return png


def make_ebook(folder: Path, title: str, author: str, subject: str, colour, chapters) -> Path:
    book = epub.EpubBook()
    book.set_identifier(f"urn:uuid:panduan-{abs(hash(title)):x}")
    book.set_title(title)
    book.set_language("id")
    book.add_author(author)
    book.add_metadata("DC", "subject", subject)
    book.add_metadata("DC", "publisher", "Penerbit Desa")
    book.add_metadata("DC", "description", f"Buku tentang {subject.lower()} untuk warga desa.")
    book.set_cover("sampul.png", cover_png(title, author, colour))
    documents = []
    for number, text in enumerate(chapters, start=1):
        document = epub.EpubHtml(title=f"Bab {number}", file_name=f"bab{number}.xhtml", lang="id")
        document.content = f"<html><body><h1>Bab {number}</h1><p>{text}</p></body></html>"
        book.add_item(document)
        documents.append(document)
    book.toc = documents
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *documents]
    path = folder / (title.lower().replace(" ", "-") + ".epub")
    epub.write_epub(str(path), book)
    return path


def make_ebooks(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [make_ebook(folder, *book) for book in EBOOKS]


def make_slims_export(folder: Path) -> Path:
    header = ",".join(f'"{name}"' for name in tabular.SLIMS_COLUMNS) + ","
    lines = [",".join(f'"{book.get(name, "")}"' for name in tabular.SLIMS_COLUMNS) for book in SLIMS_BOOKS]
    path = folder / "ekspor-slims.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path

"""Builders for test books: real EPUB and PDF files made with ebooklib and PyMuPDF."""

from __future__ import annotations

from pathlib import Path

import pymupdf
from ebooklib import epub


def make_epub(
    directory: Path,
    *,
    title: str | None = "Buku Contoh",
    authors: tuple[str, ...] = ("Siti Rahayu",),
    language: str = "id",
    chapters: tuple[str, ...] = ("Perpustakaan desa membaca bersama.",),
    isbn: str | None = None,
    name: str | None = None,
) -> Path:
    """An EPUB 3 with one XHTML document per chapter text."""
    book = epub.EpubBook()
    book.set_identifier(f"urn:uuid:test-{abs(hash((title, chapters))):x}")
    if title is not None:
        book.set_title(title)
    book.set_language(language)
    for author in authors:
        book.add_author(author)
    if isbn:
        book.add_metadata("DC", "identifier", f"urn:isbn:{isbn}")
    documents = []
    for number, text in enumerate(chapters, start=1):
        document = epub.EpubHtml(title=f"Bab {number}", file_name=f"bab{number}.xhtml", lang=language)
        document.content = f"<html><body><h1>Bab {number}</h1><p>{text}</p></body></html>"
        book.add_item(document)
        documents.append(document)
    book.toc = documents
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *documents]
    path = directory / (name or f"{(title or 'untitled').lower().replace(' ', '-')}.epub")
    epub.write_epub(str(path), book)
    return path


def make_pdf(
    directory: Path,
    *,
    title: str | None = "Laporan Desa",
    author: str | None = "Budi Santoso",
    pages: tuple[str, ...] = ("Halaman pertama tentang pertanian.",),
    name: str | None = None,
) -> Path:
    """A PDF with one page per text and the given document information."""
    document = pymupdf.open()
    for text in pages:
        page = document.new_page()
        page.insert_text((72, 72), text, fontsize=12)
    document.set_metadata({"title": title or "", "author": author or ""})
    path = directory / (name or f"{(title or 'untitled').lower().replace(' ', '-')}.pdf")
    document.save(path)
    document.close()
    return path

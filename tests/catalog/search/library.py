"""Small generated libraries for the search tests: books with controlled text and metadata."""

from __future__ import annotations

import contextlib
import dataclasses
import textwrap
from pathlib import Path

import pymupdf
from ebooklib import epub

from catalog import records, search
from catalog.datadir import DataDir
from catalog.extract import Limits
from catalog.ingest import Importer
from catalog.search.index import SearchIndex
from catalog.workers import PoolSettings


def book_epub(
    directory: Path,
    name: str,
    *,
    title: str,
    chapters: tuple[str, ...],
    authors: tuple[str, ...] = (),
    language: str | None = "id",
    isbn: str | None = None,
    subjects: tuple[str, ...] = (),
    publisher: str | None = None,
    date: str | None = None,
    description: str | None = None,
) -> Path:
    """An EPUB 3 with one XHTML document per chapter and whatever Dublin Core metadata is given.

    With `language=None` the package has no dc:language at all.
    """
    book = epub.EpubBook()
    book.set_identifier(f"urn:uuid:search-test-{name}")
    book.set_title(title)
    if language is not None:
        book.set_language(language)
    for author in authors:
        book.add_author(author)
    if isbn:
        book.add_metadata("DC", "identifier", f"urn:isbn:{isbn}")
    for subject in subjects:
        book.add_metadata("DC", "subject", subject)
    if publisher:
        book.add_metadata("DC", "publisher", publisher)
    if date:
        book.add_metadata("DC", "date", date)
    if description:
        book.add_metadata("DC", "description", description)
    documents = []
    for number, text in enumerate(chapters, start=1):
        document = epub.EpubHtml(title=f"Bab {number}", file_name=f"bab{number}.xhtml", lang=language or "und")
        document.content = f"<html><body><h1>Bab {number}</h1><p>{text}</p></body></html>"
        book.add_item(document)
        documents.append(document)
    book.toc = documents
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *documents]
    path = directory / f"{name}.epub"
    epub.write_epub(str(path), book)
    return path


def book_pdf(directory: Path, name: str, *, title: str, author: str | None, pages: tuple[str, ...]) -> Path:
    """A PDF (no language metadata: PDFs have none) with one page per text, wrapped to fit the page."""
    document = pymupdf.open()
    for text in pages:
        page = document.new_page()
        page.insert_text((50, 72), "\n".join(textwrap.wrap(text, 70)), fontsize=11)
    document.set_metadata({"title": title, "author": author or ""})
    path = directory / f"{name}.pdf"
    document.save(path)
    document.close()
    return path


@dataclasses.dataclass
class Library:
    datadir: DataDir
    index: SearchIndex
    ids: dict[str, int]  # record id by file stem

    def connect(self):
        return contextlib.closing(self.datadir.connect())

    def search(self, text: str, **options) -> dict:
        with self.connect() as connection:
            return search.search(self.index, connection, search.SearchRequest(text, **options))

    def units(self, name: str) -> dict[int, dict]:
        """The stored pages or chapters of a book, by number."""
        with self.connect() as connection:
            [file] = records.get_record(connection, self.ids[name])["files"]
            return {unit["seq"]: unit for unit in records.text_units(connection, file["id"])}

    def found(self, text: str, **options) -> set[str]:
        """The names of the books a query finds (all pages of results)."""
        names = {record_id: name for name, record_id in self.ids.items()}
        result = self.search(text, page_size=100, **options)
        assert result["total"] == len(result["hits"]), "more than 100 hits: the test library is small"
        return {names.get(hit["id"], f"#{hit['id']}") for hit in result["hits"]}


def importer(datadir: DataDir, index: SearchIndex | None) -> Importer:
    return Importer(datadir, Limits(), PoolSettings(processes=2, timeout_seconds=60), index)


def build_library(root: Path, books: list[Path]) -> Library:
    datadir = DataDir(root / "data")
    datadir.create()
    index = search.open_index(datadir)
    outcomes = importer(datadir, index).run(books)
    ids = {}
    for outcome in outcomes:
        assert outcome.status == "imported", f"{outcome.path}: {outcome.status} {outcome.error}"
        ids[outcome.path.stem] = outcome.record_id
    return Library(datadir, index, ids)

"""PDF with PyMuPDF: document information and XMP metadata, pages, text, first page as cover."""

from __future__ import annotations

import re
from pathlib import Path

import pymupdf
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree

from catalog.errors import CorruptEbook, PasswordProtected
from catalog.extract.clean import clean_long_text, clean_text, split_people
from catalog.extract.images import render_first_page
from catalog.extract.model import Contributor, Extraction, Limits, TextUnit, language_tag, year_from_date
from catalog.i18n import N_

_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_SUBJECT_AS_TERM_MAX = 80

# MuPDF's own exceptions (pymupdf.mupdf.FzErrorFormat and the like, raised by its lower-level
# calls such as the XMP stream's) derive from Exception, not RuntimeError: found by fuzzing.
_READ_ERRORS = (RuntimeError, ValueError, pymupdf.mupdf.FzErrorBase)

pymupdf.TOOLS.mupdf_display_errors(False)
pymupdf.TOOLS.mupdf_display_warnings(False)


def extract_pdf(path: Path, limits: Limits) -> Extraction:
    try:
        document = pymupdf.open(path, filetype="pdf")
    except _READ_ERRORS as error:
        raise CorruptEbook(detail=N_("the PDF structure cannot be read")) from error
    with document:
        if document.needs_pass:
            raise PasswordProtected()
        try:
            page_count = document.page_count
        except _READ_ERRORS as error:  # a page tree whose /Count is impossible (found by fuzzing)
            raise CorruptEbook(detail=N_("the PDF structure cannot be read")) from error
        if page_count < 1:
            raise CorruptEbook(detail=N_("the PDF has no readable pages"))
        extraction = Extraction(format="pdf", pages=page_count)
        _read_metadata(document, extraction)
        sections = _sections_by_page(document, page_count)
        for number in range(min(page_count, limits.max_text_units)):
            try:
                text = document.load_page(number).get_text("text", sort=False)
            except _READ_ERRORS:
                text = ""
            extraction.units.append(TextUnit(seq=number + 1, text=_tidy(text), label=sections.get(number + 1)))
        try:
            extraction.cover_jpeg, extraction.thumb_jpeg = render_first_page(document, limits)
        except _READ_ERRORS:
            extraction.skipped.append("cover")
    # MuPDF keeps fonts and images of past documents in a store of up to 256 MB; a worker
    # reads one book after another, so it empties the store after each.
    pymupdf.TOOLS.store_shrink(100)
    return extraction


def _read_metadata(document: pymupdf.Document, extraction: Extraction) -> None:
    info = document.metadata or {}
    xmp = _xmp(document)
    extraction.title = clean_text(info.get("title")) or xmp.get("title")
    authors = split_people(info.get("author")) or xmp.get("creators", [])
    extraction.creators = [Contributor(name=name) for name in authors]
    extraction.language = _catalog_language(document) or language_tag(xmp.get("language"))
    extraction.publisher = xmp.get("publisher")
    extraction.year = year_from_date(xmp.get("date"))
    extraction.description = xmp.get("description")
    subject = clean_text(info.get("subject"))
    subjects = [term for term in re.split(r"[;,]", info.get("keywords") or "") if clean_text(term)]
    if subject and len(subject) <= _SUBJECT_AS_TERM_MAX:
        subjects.insert(0, subject)
    elif subject and not extraction.description:
        extraction.description = clean_long_text(subject)
    subjects += xmp.get("subjects", [])
    extraction.subjects = list(dict.fromkeys(clean_text(term) for term in subjects if clean_text(term)))


def _sections_by_page(document: pymupdf.Document, page_count: int) -> dict[int, str]:
    """For each page, the title of the outline section it belongs to (from the PDF's bookmarks)."""
    try:
        outline = [(page, clean_text(title)) for _level, title, page, *_ in document.get_toc(simple=True) if page > 0]
    except _READ_ERRORS:
        return {}
    outline = sorted(((page, title) for page, title in outline if title), key=lambda entry: entry[0])
    sections: dict[int, str] = {}
    for index, (start, title) in enumerate(outline):
        end = outline[index + 1][0] if index + 1 < len(outline) else page_count + 1
        for page in range(start, max(end, start + 1)):
            sections.setdefault(page, title)  # where sections share a page, the first one names it
    return sections


def _catalog_language(document: pymupdf.Document) -> str | None:
    try:
        kind, value = document.xref_get_key(document.pdf_catalog(), "Lang")
    except _READ_ERRORS:
        return None
    if kind == "string":
        return language_tag(value)
    return None


def _xmp(document: pymupdf.Document) -> dict:
    """Dublin Core values from the XMP packet, parsed with entities refused."""
    try:
        packet = document.get_xml_metadata()
    except _READ_ERRORS:
        return {}
    if not packet or not packet.strip():
        return {}
    try:
        root = SafeElementTree.fromstring(packet.encode("utf-8"))
    except (DefusedXmlException, SafeElementTree.ParseError, ValueError):
        return {}
    found: dict = {}
    for description in root.iter(_RDF + "Description"):
        for name in ("title", "description", "publisher", "date", "language"):
            value = _xmp_values(description, name)
            if value and name not in found:
                found[name] = clean_long_text(value[0]) if name == "description" else clean_text(value[0])
        creators = _xmp_values(description, "creator")
        if creators and "creators" not in found:
            found["creators"] = creators
        subjects = _xmp_values(description, "subject")
        if subjects:
            found.setdefault("subjects", []).extend(subjects)
    return {key: value for key, value in found.items() if value}


def _xmp_values(description, name: str) -> list[str]:
    values = []
    attribute = description.get(_DC + name)
    if attribute:
        values.append(attribute)
    for element in description.findall(_DC + name):
        items = list(element.iter(_RDF + "li"))
        if items:
            values.extend(item.text or "" for item in items)
        elif element.text:
            values.append(element.text)
    return [cleaned for cleaned in (clean_text(value) for value in values) if cleaned]


def _tidy(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)

"""EPUB 2 and 3: metadata, spine text in reading order, table-of-contents labels, cover.

The archive is checked (`safezip`) and its package XML screened for entity declarations
(`defusedxml`) before ebooklib reads it; ebooklib itself parses with entity resolution
off. Resources the manifest names but the archive lacks are skipped, not fatal.
"""

from __future__ import annotations

import posixpath
import warnings
import zipfile
from pathlib import Path
from urllib.parse import unquote

import ebooklib
import lxml.etree
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree
from ebooklib import epub

from catalog.errors import CorruptEbook, UnsafeXml
from catalog.extract import identifiers as identifier_rules
from catalog.extract.clean import clean_long_text, clean_text
from catalog.extract.html_text import first_heading, html_text
from catalog.extract.images import normalise_cover
from catalog.extract.model import Contributor, Extraction, Limits, TextUnit, language_tag, year_from_date
from catalog.extract.safezip import READ_ERRORS, check_archive, read_entry
from catalog.i18n import N_

DC = epub.NAMESPACES["DC"]
OPF = epub.NAMESPACES["OPF"]
CONTAINER = epub.NAMESPACES["CONTAINERNS"]
_ROLE_ATTRIBUTE = "{%s}role" % OPF  # noqa: UP031
_FILE_AS_ATTRIBUTE = "{%s}file-as" % OPF  # noqa: UP031
_COVER_PAGE_MAX_TEXT = 40
_XML_PARTS_TO_SCREEN = ("application/oebps-package+xml", "application/x-dtbncx+xml")


def extract_epub(path: Path, limits: Limits) -> Extraction:
    check_archive(path, limits)
    _screen_package_xml(path)
    reader = _TolerantReader(str(path), {"ignore_ncx": True})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = reader.load()
    except (epub.EpubException, zipfile.BadZipFile) as error:
        raise CorruptEbook(detail=N_("the EPUB package cannot be read")) from error
    except (KeyError, AttributeError, TypeError, IndexError, ValueError, lxml.etree.LxmlError) as error:
        raise CorruptEbook(detail=N_("the EPUB package document is incomplete (no spine or manifest)")) from error

    extraction = Extraction(format="epub", skipped=sorted(reader.missing))
    _read_metadata(book, extraction)
    spine_items = _spine_documents(book)
    if not spine_items:
        raise CorruptEbook(detail=N_("the EPUB has no readable chapters in its spine"))
    labels = _toc_labels(book.toc)
    for seq, item in enumerate(spine_items[: limits.max_text_units], start=1):
        content = item.get_content() or b""
        href = item.get_name()
        label = labels.get(href) or first_heading(content)
        extraction.units.append(TextUnit(seq=seq, text=html_text(content), label=clean_text(label), href=href))
    extraction.pages = len(spine_items)
    cover = _cover_image(book, spine_items)
    if cover:
        extraction.cover_jpeg, extraction.thumb_jpeg = normalise_cover(cover, limits)
    return extraction


class _TolerantReader(epub.EpubReader):
    """ebooklib's reader, except that a resource missing from the archive is skipped."""

    def __init__(self, name: str, options: dict) -> None:
        super().__init__(name, options)
        self.missing: set[str] = set()

    def _load_container(self):
        """Use the first rootfile, the default rendition (ebooklib keeps the last one)."""
        super()._load_container()
        first = _rootfiles(_safe_parse(self.read_file("META-INF/container.xml"), "META-INF/container.xml"))
        if first:
            self.opf_file = first[0]
            self.opf_dir = posixpath.dirname(first[0])

    def read_file(self, name):
        try:
            return super().read_file(name)
        except READ_ERRORS as error:
            raise CorruptEbook(detail=N_("the ZIP archive is damaged")) from error
        except KeyError:
            normalised = posixpath.normpath(name)
            if normalised in ("META-INF/container.xml", posixpath.normpath(self.opf_file or "")):
                raise
            self.missing.add(normalised)
            return b""

    def _parse_ncx(self, data):
        try:
            super()._parse_ncx(data)
        except (lxml.etree.LxmlError, AttributeError, IndexError, TypeError, ValueError):
            self.book.toc = []

    def _parse_nav(self, data, base_path, navtype="toc"):
        try:
            super()._parse_nav(data, base_path, navtype)
        except (lxml.etree.LxmlError, AttributeError, IndexError, TypeError, ValueError):
            if navtype == "toc":
                self.book.toc = []


def _screen_package_xml(path: Path) -> None:
    """Refuse entity declarations in the container, package and NCX documents."""
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        if "META-INF/container.xml" not in names:
            raise CorruptEbook(detail=N_("the EPUB container (META-INF/container.xml) is missing"))
        container = _safe_parse(read_entry(archive, "META-INF/container.xml"), "META-INF/container.xml")
        rootfiles = _rootfiles(container)
        if not rootfiles or rootfiles[0] not in names:
            raise CorruptEbook(detail=N_("the EPUB package document (OPF) is missing"))
        package = _safe_parse(read_entry(archive, rootfiles[0]), rootfiles[0])
        base = posixpath.dirname(rootfiles[0])
        for item in package.iter("{%s}item" % OPF):  # noqa: UP031
            if item.get("media-type") in _XML_PARTS_TO_SCREEN and item.get("href"):
                name = posixpath.normpath(posixpath.join(base, unquote(item.get("href"))))
                if name in names:
                    _safe_parse(read_entry(archive, name), name)


def _rootfiles(container) -> list[str]:
    return [
        element.get("full-path")
        for element in container.iter("{%s}rootfile" % CONTAINER)  # noqa: UP031
        if element.get("media-type") == "application/oebps-package+xml" and element.get("full-path")
    ]


def _safe_parse(data: bytes, part: str):
    try:
        return SafeElementTree.fromstring(data)
    except DefusedXmlException as error:
        raise UnsafeXml(part=part) from error
    except SafeElementTree.ParseError as error:
        raise CorruptEbook(detail=N_("an XML document inside the EPUB is malformed")) from error


def _read_metadata(book: epub.EpubBook, extraction: Extraction) -> None:
    refinements = _refinements(book)

    titles = [(clean_text(value), attrs) for value, attrs in book.get_metadata("DC", "title")]
    titles = [(value, attrs) for value, attrs in titles if value]
    main = [value for value, attrs in titles if _refined(refinements, attrs, "title-type") == "main"]
    subtitles = [value for value, attrs in titles if _refined(refinements, attrs, "title-type") == "subtitle"]
    all_titles = [value for value, _ in titles]
    if all_titles:
        extraction.title = main[0] if main else all_titles[0]
        extraction.subtitle = subtitles[0] if subtitles else None
        extraction.other_titles = [t for t in all_titles if t not in (extraction.title, extraction.subtitle)]

    extraction.creators = _people(book.get_metadata("DC", "creator"), refinements, default_role="aut")
    extraction.contributors = _people(book.get_metadata("DC", "contributor"), refinements, default_role="ctb")
    for value, _ in book.get_metadata("DC", "language"):
        extraction.language = language_tag(value)
        if extraction.language:
            break
    for value, attrs in book.get_metadata("DC", "identifier"):
        scheme = attrs.get("{%s}scheme" % OPF) or _refined(refinements, attrs, "identifier-type")  # noqa: UP031
        found = identifier_rules.classify(clean_text(value), scheme)
        if found and found not in extraction.identifiers:
            extraction.identifiers.append(found)
    extraction.publisher = _first(book.get_metadata("DC", "publisher"))
    extraction.year = year_from_date(_first(book.get_metadata("DC", "date")))
    extraction.subjects = _unique(clean_text(value) for value, _ in book.get_metadata("DC", "subject"))
    descriptions = book.get_metadata("DC", "description")
    if descriptions:
        extraction.description = clean_long_text(_strip_markup(descriptions[0][0]))


def _refinements(book: epub.EpubBook) -> dict[str, dict[str, str]]:
    """EPUB 3 `<meta refines="#id" property="...">` values, keyed by id and property."""
    found: dict[str, dict[str, str]] = {}
    opf_meta = book.metadata.get(OPF, {})
    for value, attrs in opf_meta.get("meta", []) + opf_meta.get(None, []):
        refines, prop = attrs.get("refines", ""), attrs.get("property")
        if refines.startswith("#") and prop and value:
            found.setdefault(refines[1:], {}).setdefault(prop, value.strip())
    return found


def _refined(refinements: dict, attrs: dict, prop: str) -> str | None:
    return refinements.get(attrs.get("id", ""), {}).get(prop)


def _people(entries, refinements, default_role: str) -> list[Contributor]:
    people = []
    for position, (value, attrs) in enumerate(entries):
        name = clean_text(value)
        if not name:
            continue
        role = attrs.get(_ROLE_ATTRIBUTE) or _refined(refinements, attrs, "role") or default_role
        sort_name = attrs.get(_FILE_AS_ATTRIBUTE) or _refined(refinements, attrs, "file-as")
        display_seq = _refined(refinements, attrs, "display-seq")
        order = int(display_seq) if display_seq and display_seq.isdigit() else 10_000 + position
        people.append(
            (order, Contributor(name=name, role=clean_text(role) or default_role, sort_name=clean_text(sort_name)))
        )
    people.sort(key=lambda pair: pair[0])
    return [person for _, person in people]


def _first(entries) -> str | None:
    for value, _ in entries:
        cleaned = clean_text(value)
        if cleaned:
            return cleaned
    return None


def _unique(values) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value and value not in seen:
            seen.append(value)
    return seen


def _strip_markup(value: str | None) -> str | None:
    if value and "<" in value:
        return html_text(value.encode("utf-8"))
    return value


def _spine_documents(book: epub.EpubBook) -> list[epub.EpubItem]:
    documents = []
    for idref, _linear in book.spine:
        item = book.get_item_with_id(idref)
        if item is not None and item.get_type() in (ebooklib.ITEM_DOCUMENT, ebooklib.ITEM_NAVIGATION):
            documents.append(item)
    return documents


def _toc_labels(toc) -> dict[str, str]:
    labels: dict[str, str] = {}

    def walk(entries):
        for entry in entries or []:
            if isinstance(entry, tuple) and len(entry) == 2:
                section, children = entry
                _add(section)
                walk(children)
            elif isinstance(entry, list):
                walk(entry)
            else:
                _add(entry)

    def _add(entry):
        href = getattr(entry, "href", None)
        title = clean_text(getattr(entry, "title", None))
        if href and title:
            labels.setdefault(posixpath.normpath(unquote(href.split("#", 1)[0])), title)

    walk(toc)
    return labels


def _cover_image(book: epub.EpubBook, spine_items) -> bytes | None:
    for item in book.get_items_of_type(ebooklib.ITEM_COVER):
        if item.get_content():
            return item.get_content()
    for value, attrs in book.get_metadata("OPF", "cover"):
        item = book.get_item_with_id(attrs.get("content", "") or value or "")
        if item is not None and item.get_type() in (ebooklib.ITEM_IMAGE, ebooklib.ITEM_COVER) and item.get_content():
            return item.get_content()
    # Failing those, the first page's image is the cover only when that page is a cover
    # page: an image with at most a caption, not a title page with a publisher's logo.
    first = spine_items[0]
    if len(html_text(first.get_content() or b"")) > _COVER_PAGE_MAX_TEXT:
        return None
    for source in _image_sources(first.get_content() or b""):
        href = posixpath.normpath(posixpath.join(posixpath.dirname(first.get_name()), unquote(source)))
        item = book.get_item_with_href(href)
        if item is not None and item.get_content():
            return item.get_content()
    return None


def _image_sources(content: bytes) -> list[str]:
    from catalog.extract.html_text import parse_html

    root = parse_html(content)
    if root is None:
        return []
    sources = []
    for element in root.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        local = tag.rsplit("}", 1)[-1].lower()
        if local == "img" and element.get("src"):
            sources.append(element.get("src"))
        elif local == "image":
            href = element.get("{http://www.w3.org/1999/xlink}href") or element.get("href") or element.get("xlink:href")
            if href:
                sources.append(href)
    return [source for source in sources if not source.startswith(("data:", "http:", "https:"))]

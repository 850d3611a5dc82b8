"""An EPUB chapter as safe HTML for the reader, and the pictures it shows.

The archive is checked (`safezip`) and its container and package documents are parsed
with entity declarations refused (`defusedxml`), as at import. The chapter is parsed by
lxml's HTML parser (no DTDs, no network, no entity expansion), its references are
rewritten — pictures the manifest lists as JPEG/PNG/GIF/WebP to the reader's picture
route, links to other chapters to the reader's chapter URLs — and the result passes
through nh3 (Ammonia), an allow-list sanitizer: only the structure of a text survives
(headings, paragraphs, emphasis, lists, tables, figures, pictures, in-book links), never a
script, a style, an event handler, a frame, a form, an SVG or a link to another host.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import lxml.etree
import lxml.html
import nh3
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree

from catalog.errors import CorruptEbook, UnsafeXml
from catalog.extract.html_text import parse_html
from catalog.extract.model import Limits
from catalog.extract.safezip import READ_ERRORS, check_archive, read_entry
from catalog.i18n import N_

CONTAINER = "urn:oasis:names:tc:opendocument:xmlns:container"
OPF = "http://www.idpf.org/2007/opf"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}  # never image/svg+xml: SVG can script
MAX_CHAPTER_BYTES = 4 * 1024 * 1024
MAX_IMAGE_BYTES = 10 * 1024 * 1024
ID_PREFIX = "epub-"  # the book's ids never clash with the page's own (main, q, …)

_SIGNATURES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}
_DROPPED = {
    "script", "style", "head", "title", "noscript", "template", "iframe", "frame", "frameset", "object",
    "embed", "applet", "form", "input", "button", "select", "textarea", "audio", "video", "canvas", "math",
    "link", "meta", "base",
}  # fmt: skip
_TO_DIV = {"body", "html", "nav", "aside", "article", "header", "footer", "main", "section", "center"}
_HEADINGS = {f"h{level}" for level in range(1, 7)}
# Control characters lxml's HTML parser keeps in texts and attributes but refuses to set
# back (found by fuzzing; a vertical tab from a word processor is enough).
_NOT_XML_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_PLAIN_NAME = re.compile(r"[A-Za-z_][-A-Za-z0-9_.:]*")
ALLOWED_TAGS = {
    *_HEADINGS, "p", "div", "span", "br", "hr", "em", "strong", "i", "b", "u", "s", "small", "sub", "sup",
    "mark", "abbr", "cite", "q", "code", "kbd", "samp", "var", "pre", "del", "ins", "bdi", "bdo", "wbr",
    "ruby", "rt", "rp", "ul", "ol", "li", "dl", "dt", "dd", "blockquote", "figure", "figcaption", "img", "a",
    "table", "caption", "colgroup", "col", "thead", "tbody", "tfoot", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "*": {"lang", "dir", "id"},
    "a": {"href"},
    "img": {"src", "alt"},
    "ol": {"start", "reversed"},
    "li": {"value"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "col": {"span"},
    "colgroup": {"span"},
}


@dataclasses.dataclass(frozen=True)
class Package:
    """Where the package document is, and the manifest: media type by archive name."""

    opf_dir: str
    media_types: dict[str, str]

    def href(self, name: str) -> str:
        """An archive name as the package's own href (relative to the package document)."""
        return posixpath.relpath(name, self.opf_dir) if self.opf_dir else name

    def name(self, href: str) -> str:
        return posixpath.normpath(posixpath.join(self.opf_dir, unquote(href)))


def read_package(archive: zipfile.ZipFile) -> Package:
    """The package's manifest, read with entity declarations refused."""
    names = set(archive.namelist())
    if "META-INF/container.xml" not in names:
        raise CorruptEbook(detail=N_("the EPUB container (META-INF/container.xml) is missing"))
    container = _parse_xml(read_entry(archive, "META-INF/container.xml"), "META-INF/container.xml")
    rootfiles = [
        element.get("full-path")
        for element in container.iter(f"{{{CONTAINER}}}rootfile")
        if element.get("media-type") == "application/oebps-package+xml" and element.get("full-path")
    ]
    if not rootfiles or rootfiles[0] not in names:
        raise CorruptEbook(detail=N_("the EPUB package document (OPF) is missing"))
    package = _parse_xml(read_entry(archive, rootfiles[0]), rootfiles[0])
    opf_dir = posixpath.dirname(rootfiles[0])
    media_types = {}
    for item in package.iter(f"{{{OPF}}}item"):
        if item.get("href"):
            name = posixpath.normpath(posixpath.join(opf_dir, unquote(item.get("href"))))
            media_types.setdefault(name, (item.get("media-type") or "").strip().lower())
    return Package(opf_dir, media_types)


def chapter_html(
    path: Path,
    href: str,
    limits: Limits,
    *,
    chapter_url: Callable[[str, str], str | None],
    image_url: Callable[[str], str],
    highlight: Callable[[str], list[tuple[int, int]]] | None = None,
) -> str:
    """The spine document *href* (relative to the package document, as stored) as safe HTML.

    `chapter_url(href, fragment)` gives the reader's URL of another document of the book
    (None when it is not a chapter); `image_url(name)` the URL of a picture by its name in
    the archive; `highlight(text)` the (start, end) spans of a text to mark. Raises
    `CorruptEbook`, `UnsafeArchive` or `UnsafeXml` when the chapter cannot be read safely.
    """
    check_archive(path, limits)
    with _open(path) as archive:
        package = read_package(archive)
        name = package.name(href)
        content = _read_entry(archive, name, MAX_CHAPTER_BYTES)
    root = parse_html(content)
    if root is None:
        raise CorruptEbook(detail=N_("a chapter of the EPUB cannot be read"))
    body = root if root.tag == "body" else root.find(".//body")
    body = root if body is None else body
    _remove_control_characters(body)
    allowed_urls: set[str] = set()
    _rewrite(body, package, name, chapter_url, image_url, allowed_urls)
    if highlight is not None:
        _mark(body, highlight)
    body.tag = "div"
    body.attrib.clear()
    markup = lxml.html.tostring(body, encoding="unicode", method="html", with_tail=False)
    return _sanitize(markup, allowed_urls)


def chapter_image(path: Path, name: str, limits: Limits) -> tuple[bytes, str] | None:
    """The bytes and media type of the picture *name* (its name in the archive), or None
    unless the manifest lists it as a JPEG, PNG, GIF or WebP of a bounded size whose bytes
    are what its media type says."""
    check_archive(path, limits)
    with _open(path) as archive:
        media_type = read_package(archive).media_types.get(name)
        if media_type not in IMAGE_TYPES or name not in set(archive.namelist()):
            return None
        if archive.getinfo(name).file_size > MAX_IMAGE_BYTES:
            return None
        data = read_entry(archive, name)
    if not data.startswith(_SIGNATURES[media_type]) or (media_type == "image/webp" and data[8:12] != b"WEBP"):
        return None
    return data, media_type


def _open(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except READ_ERRORS as error:
        raise CorruptEbook(detail=N_("the ZIP archive is damaged")) from error


def _read_entry(archive: zipfile.ZipFile, name: str, max_bytes: int) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError as error:
        raise CorruptEbook(detail=N_("a chapter of the EPUB cannot be read")) from error
    if info.file_size > max_bytes:
        raise CorruptEbook(detail=N_("a chapter of the EPUB cannot be read"))
    try:
        return archive.read(info)
    except READ_ERRORS as error:
        raise CorruptEbook(detail=N_("a chapter of the EPUB cannot be read")) from error


def _parse_xml(data: bytes, part: str):
    try:
        return SafeElementTree.fromstring(data)
    except DefusedXmlException as error:
        raise UnsafeXml(part=part) from error
    except SafeElementTree.ParseError as error:
        raise CorruptEbook(detail=N_("an XML document inside the EPUB is malformed")) from error


def _local(element) -> str:
    tag = element.tag if isinstance(element.tag, str) else ""
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1].lower()


def _resolve(base: str, reference: str) -> tuple[str, str] | None:
    """(archive name, fragment) of a reference inside the book, or None for anything else
    (another host, a scheme such as `javascript:` or `data:`, a path out of the archive)."""
    reference = reference.strip()
    parts = urlsplit(reference)
    if parts.scheme or parts.netloc or reference.startswith(("/", "\\")) or "\\" in reference:
        return None
    if not parts.path:
        return "", parts.fragment
    name = posixpath.normpath(posixpath.join(posixpath.dirname(base), unquote(parts.path)))
    if name == ".." or name.startswith(("../", "/")):
        return None
    return name, parts.fragment


def _rewrite(body, package: Package, chapter: str, chapter_url, image_url, allowed_urls: set[str]) -> None:
    levels = [int(_local(element)[1]) for element in body.iter() if _local(element) in _HEADINGS]
    shift = 2 - min(levels, default=2)  # the chapter's top heading sits under the page's h1
    for element in list(body.iter()):
        if element is not body and not _inside(element, body):
            continue  # in a subtree already dropped
        if not isinstance(element.tag, str):  # processing instructions and the like
            _drop(element)
            continue
        local = _local(element)
        if local == "svg":
            _replace_svg(element, package, chapter, image_url, allowed_urls)
        elif local in _DROPPED:
            _drop(element)
        elif local == "img":
            _rewrite_image(element, package, chapter, image_url, allowed_urls)
        elif local == "a":
            _rewrite_link(element, package, chapter, chapter_url, allowed_urls)
        elif local == "mark":  # only the search's words are marked
            element.drop_tag()
        else:
            _keep(element, local, shift)


def _remove_control_characters(body) -> None:
    """Control characters out of texts and attributes, so that moving them cannot fail."""
    for element in body.iter():
        for side in ("text", "tail"):
            value = getattr(element, side)
            if value and _NOT_XML_TEXT.search(value):
                setattr(element, side, _NOT_XML_TEXT.sub("", value))
        attributes = element.attrib.items()
        if any(_NOT_XML_TEXT.search(name + value) for name, value in attributes):
            element.attrib.clear()
            for name, value in attributes:
                if _PLAIN_NAME.fullmatch(name):  # an attribute otherwise named is none we keep
                    element.set(name, _NOT_XML_TEXT.sub("", value))


def _inside(element, body) -> bool:
    while element is not None:
        if element is body:
            return True
        element = element.getparent()
    return False


def _keep(element, local: str, shift: int) -> None:
    """Plain structure: containers become divs, the book's headings moved so that its top one
    is an h2 (the page's own h1 is the book's title), and ids prefixed."""
    if local in _TO_DIV:
        element.tag = "div"
    elif local in _HEADINGS:
        element.tag = f"h{min(max(int(local[1]) + shift, 2), 6)}"
    else:
        try:
            element.tag = local
        except ValueError:  # a name the parser took from damaged markup, invalid in HTML (fuzzing)
            element.drop_tag()
            return
    language = element.get("{http://www.w3.org/XML/1998/namespace}lang") or element.get("xml:lang")
    if language and not element.get("lang"):
        element.set("lang", language)
    if element.get("id"):
        element.set("id", ID_PREFIX + element.get("id"))


def _drop(element) -> None:
    if element.getparent() is not None:
        element.drop_tree()


def _picture(package: Package, chapter: str, reference: str | None, image_url, allowed_urls) -> str | None:
    resolved = _resolve(chapter, reference or "")
    if not resolved or package.media_types.get(resolved[0]) not in IMAGE_TYPES:
        return None
    url = image_url(resolved[0])
    allowed_urls.add(url)
    return url


def _rewrite_image(element, package, chapter, image_url, allowed_urls) -> None:
    url = _picture(package, chapter, element.get("src"), image_url, allowed_urls)
    alt = " ".join((element.get("alt") or "").split())
    if url is None:  # not a picture we serve: its description stays
        _replace_with_text(element, alt)
        return
    element.attrib.clear()
    element.tag = "img"
    element.set("src", url)
    element.set("alt", alt)


def _replace_svg(element, package, chapter, image_url, allowed_urls) -> None:
    """An SVG is never shown; a picture it wraps (a common cover page) is, as a plain img."""
    pictures = []
    for image in element.iter():
        if _local(image) == "image":
            reference = image.get(XLINK_HREF) or image.get("xlink:href") or image.get("href")
            url = _picture(package, chapter, reference, image_url, allowed_urls)
            if url:
                pictures.append(url)
    labels = [" ".join("".join(child.itertext()).split()) for child in element.iter() if _local(child) == "title"]
    parent = element.getparent()
    if parent is None:
        return
    for url in pictures:
        picture = lxml.html.Element("img", src=url, alt=labels[0] if labels else "")
        element.addprevious(picture)
    _drop(element)


def _replace_with_text(element, text: str) -> None:
    if element.getparent() is None:
        return
    tail = element.tail or ""
    element.tail = (f"[{text}]" if text else "") + tail
    _drop(element)


def _rewrite_link(element, package, chapter, chapter_url, allowed_urls) -> None:
    href = element.get("href")
    element.attrib.clear()
    element.tag = "a"
    resolved = _resolve(chapter, href) if href else None
    url = None
    if resolved:
        name, fragment = resolved
        if not name or name == chapter:
            url = f"#{ID_PREFIX}{fragment}" if fragment else None
        elif name in package.media_types:
            url = chapter_url(package.href(name), f"{ID_PREFIX}{fragment}" if fragment else "")
    if url:
        element.set("href", url)
        allowed_urls.add(url)
    else:
        element.drop_tag()  # the words stay, the link to elsewhere does not


def _mark(body, highlight: Callable[[str], list[tuple[int, int]]]) -> None:
    """Wrap the spans *highlight* finds in each text node in <mark>."""
    for element in list(body.iter()):
        if not isinstance(element.tag, str):
            continue
        if element.text and element.text.strip():
            pieces = _split(element.text, highlight(element.text))
            if len(pieces) > 1:
                element.text = pieces[0]
                for index, (marked, tail) in enumerate(_pairs(pieces)):
                    element.insert(index, marked)
                    marked.tail = tail
        if element.tail and element.tail.strip() and element is not body:
            pieces = _split(element.tail, highlight(element.tail))
            if len(pieces) > 1:
                element.tail = pieces[0]
                anchor = element
                for marked, tail in _pairs(pieces):
                    anchor.addnext(marked)
                    marked.tail = tail
                    anchor = marked


def _split(text: str, spans: list[tuple[int, int]]) -> list[str]:
    """Text, marked, text, marked, …, text."""
    pieces, cursor = [], 0
    for start, end in sorted(spans):
        if start < cursor or end <= start:
            continue
        pieces += [text[cursor:start], text[start:end]]
        cursor = end
    return [*pieces, text[cursor:]]


def _pairs(pieces: list[str]):
    for index in range(1, len(pieces), 2):
        marked = lxml.html.Element("mark")
        marked.text = pieces[index]
        yield marked, pieces[index + 1]


def _sanitize(markup: str, allowed_urls: set[str]) -> str:
    def only_ours(tag: str, attribute: str, value: str) -> str | None:
        if attribute in ("href", "src"):
            return value if value in allowed_urls else None
        return value

    return nh3.clean(
        markup,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style", "svg", "math", "template", "noscript", "iframe", "textarea", "title"},
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=only_ours,
        url_schemes=set(),
        link_rel=None,
        strip_comments=True,
    ).strip()

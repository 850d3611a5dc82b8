"""Plain text out of (X)HTML content documents, safely.

lxml's HTML parser never loads DTDs, never touches the network and does not expand
declared entities, which is what book content from strangers needs.
"""

from __future__ import annotations

import re

import lxml.etree
import lxml.html

_BLOCKS = {
    "p",
    "div",
    "br",
    "li",
    "tr",
    "td",
    "th",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "blockquote",
    "pre",
    "dt",
    "dd",
    "figcaption",
    "aside",
    "header",
    "footer",
    "hr",
}
_DROP = ("script", "style", "head", "title", "noscript", "template")
_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding=["']([A-Za-z0-9._-]+)["']""")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def parse_html(content: bytes):
    """The root element of an (X)HTML document, or None when nothing can be parsed."""
    if not content or not content.strip():
        return None
    match = _ENCODING.match(content[:200])
    encoding = match.group(1).decode("ascii") if match else "utf-8"
    try:
        parser = lxml.html.HTMLParser(encoding=encoding, no_network=True, remove_comments=True)
    except LookupError:
        parser = lxml.html.HTMLParser(encoding="utf-8", no_network=True, remove_comments=True)
    try:
        return lxml.html.fromstring(content, parser=parser)
    except (lxml.etree.LxmlError, ValueError, LookupError):
        return None


def html_text(content: bytes) -> str:
    """The readable text of a document: blocks on their own lines, scripts and styles dropped."""
    root = parse_html(content)
    if root is None:
        return ""
    lxml.etree.strip_elements(root, *_DROP, with_tail=False)
    for element in root.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag.rsplit("}", 1)[-1].lower() in _BLOCKS:
            element.tail = "\n" + (element.tail or "")
    text = "".join(root.itertext())
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n", "\n".join(line for line in lines if line)).strip()


def first_heading(content: bytes) -> str | None:
    root = parse_html(content)
    if root is None:
        return None
    for level in ("h1", "h2", "h3"):
        for element in root.iter(level, "{http://www.w3.org/1999/xhtml}" + level):
            text = " ".join(element.text_content().split())
            if text:
                return text[:200]
    return None

"""An EPUB chapter in the reader: its own structure and pictures, nothing of its scripts."""

from __future__ import annotations

import re
import urllib.parse
import urllib.request
from html.parser import HTMLParser

import pytest

from tests.catalog.extract.books import PICTURE_CHAPTER, picture_png
from tests.web.conftest import corpus_script_books
from tests.web.test_pages import Page, fetch

ACTIVE_TAGS = {"script", "svg", "iframe", "frame", "object", "embed", "applet", "base", "meta", "math"}


class Payloads(HTMLParser):
    """What in a page could run or fetch something: active elements, event handlers, script
    URLs (text that merely *says* `onerror=`, like an escaped hostile title, is no payload)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag in ACTIVE_TAGS - {"meta"} or (tag == "meta" and ("http-equiv", "refresh") in attrs):
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or "javascript:" in (value or "").lower().replace(" ", ""):
                self.found.append(f"<{tag} {name}={value!r}>")


def chapter_html(html: str) -> str:
    """The chapter's part of a reader page."""
    found = re.search(r'<div class="chapter-text chapter-html"[^>]*>(.*?)</div>\s*<nav class="turn"', html, re.S)
    assert found, "the reader shows no chapter HTML"
    return found.group(1)


def kebun(site, query: str = "") -> tuple[str, str]:
    record_id = site.library.ids["kebun"]
    status, html, headers = site.get(f"/baca/{record_id}/1{query}")
    assert status == 200, html[:500]
    return html, headers


def test_a_chapter_shows_its_headings_emphasis_lists_tables_and_pictures(site):
    html, _headers = kebun(site)
    chapter = chapter_html(html)
    assert '<h2 id="epub-awal">Kebun Sekolah</h2>' in chapter
    assert "<em>sayur</em>" in chapter and "<strong>bunga</strong>" in chapter
    assert "<li>Tomat</li><li>Cabai</li>" in chapter
    assert "<caption>Jadwal menyiram</caption>" in chapter and "<td>Senin</td>" in chapter
    page = Page(html)
    assert "Kebun sekolah yang hijau" in page.alts
    [picture] = [source for source in page.sources if "/gambar/" in source]
    assert re.fullmatch(rf"/baca/{site.library.ids['kebun']}/gambar/EPUB/images/kebun\.png\?file=\d+", picture)
    status, _body, headers = site.get(picture)
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in headers["Content-Security-Policy"]
    raw = urllib.request.urlopen(site.base + picture, timeout=20).read()  # noqa: S310 - our own server
    assert raw == picture_png()


@pytest.mark.parametrize(
    "name",
    [
        "EPUB/images/tidak-ada.png",
        "EPUB/images/logo.svg",  # SVG is never served: it can carry scripts
        "EPUB/images/palsu.png",  # HTML that calls itself a PNG
        "EPUB/bab1.xhtml",
        "EPUB/content.opf",
        "META-INF/container.xml",
        "../../../../etc/passwd",
        "EPUB/../../EPUB/images/kebun.png",
        "%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "EPUB/images/%2e%2e/%2e%2e/mimetype",
        "/etc/passwd",
    ],
)
def test_the_picture_route_serves_nothing_but_the_books_bitmaps(site, name):
    record_id = site.library.ids["kebun"]
    status, body, _headers = site.get(f"/baca/{record_id}/gambar/{name}")
    assert status == 404, name
    assert "Halaman tidak ditemukan" in Page(body).text


def test_the_picture_route_checks_the_record_and_its_format(site):
    assert site.get("/baca/999999/gambar/EPUB/images/kebun.png")[0] == 404
    assert site.get(f"/baca/{site.library.ids['laporan']}/gambar/EPUB/images/kebun.png")[0] == 404
    assert site.get(f"/baca/{site.library.ids['padi']}/gambar/EPUB/images/kebun.png")[0] == 404


def test_no_script_handler_svg_frame_or_other_host_reaches_the_page(site):
    assert len(Payloads(PICTURE_CHAPTER).found) >= 8  # the book has them; the page must not
    html, _headers = kebun(site)
    assert Payloads(html).found == []
    assert "contoh.invalid" not in html and "alert(" not in html and "document.cookie" not in html
    page = Page(html)
    for reference in page.sources + [href for href, _ in page.links]:
        assert not urllib.parse.urlsplit(reference).netloc, reference
    for words in ("klik", "situs luar", "[Logo sekolah]"):  # what the payloads said stays as text
        assert words in page.text


def test_the_reader_page_allows_no_script_at_all(site):
    _html, headers = kebun(site)
    policy = {
        directive.split()[0]: directive.split()[1:]
        for directive in headers["Content-Security-Policy"].split(";")
        if directive.strip()
    }
    assert policy["default-src"] == ["'none'"] and "script-src" not in policy  # so no script runs
    assert policy["img-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert not any("unsafe" in value or "*" in value or ":" in value for values in policy.values() for value in values)


def test_a_link_to_another_chapter_opens_it_in_the_reader(site):
    html, _headers = kebun(site, "?hl=kompos")
    link = Page(html).link("Lanjut ke bab kompos")
    assert re.fullmatch(rf"/baca/{site.library.ids['kebun']}/2\?file=\d+&hl=kompos#epub-lanjut", link), link
    second = fetch(site, link)
    assert "Kompos dibuat dari daun kering." in second.text
    assert Page(kebun(site)[0]).link("ke atas") == "#epub-awal"


def test_the_searched_words_are_marked_in_the_chapter_html(site):
    html, _headers = kebun(site, "?hl=kompos")
    assert Page(html).marks == ["kompos", "kompos"]
    assert "<mark>kompos</mark>" in chapter_html(html)


def test_a_damaged_book_falls_back_to_its_stored_text_with_the_words_marked(site):
    page = fetch(site, f"/baca/{site.library.ids['rusak']}/2?hl=sumur")
    assert "Teks cadangan tentang sumur tua." in page.text
    assert "hanya teksnya yang ditampilkan" in page.text
    assert page.marks == ["sumur"]
    assert "hanya teksnya" not in fetch(site, f"/baca/{site.library.ids['padi']}/2").text


@pytest.mark.parametrize("name", corpus_script_books() or ["no-corpus"])
def test_no_payload_of_the_corpus_reaches_the_reader(corpus_site, name):
    stem = name.replace("/", "-").removesuffix(".epub")
    record_id = corpus_site.library.ids[stem]
    chapters = corpus_site.library.units(stem)
    assert chapters, f"{name} has no chapters"
    for seq in chapters:
        status, html, _headers = corpus_site.get(f"/baca/{record_id}/{seq}")
        assert status == 200, f"{name} chapter {seq}: {status}"
        assert Payloads(html).found == [], f"{name} chapter {seq}: a payload reached the page"
        for source in Page(html).sources:
            assert not urllib.parse.urlsplit(source).netloc, source

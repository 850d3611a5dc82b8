"""An EPUB chapter as safe HTML, and the pictures it may show."""

from __future__ import annotations

import re
import zipfile

import pytest

from catalog.errors import CorruptEbook, UnsafeXml
from catalog.extract import Limits
from catalog.extract.chapter import chapter_html, chapter_image
from catalog.search.snippets import marks
from tests.catalog.extract.books import HOSTILE_SVG, picture_epub, picture_png, replace_entry


def render(path, href="bab1.xhtml", words=()):
    return chapter_html(
        path,
        href,
        Limits(),
        chapter_url=lambda target, fragment: f"/baca/7/{target}" + (f"#{fragment}" if fragment else ""),
        image_url=lambda name: f"/gambar/{name}",
        highlight=(lambda text: marks(text, list(words), "id")) if words else None,
    )


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    return picture_epub(tmp_path_factory.mktemp("chapter"))


def test_the_chapter_keeps_its_structure_and_pictures(book):
    html = render(book)
    assert '<h2 id="epub-awal">Kebun Sekolah</h2>' in html  # the top heading sits under the page's h1
    assert "<em>sayur</em>" in html and "<strong>bunga</strong>" in html
    assert "<ul><li>Tomat</li><li>Cabai</li></ul>" in html
    assert "<caption>Jadwal menyiram</caption>" in html and "<th>Hari</th>" in html and "<td>4A</td>" in html
    assert '<figure><img src="/gambar/EPUB/images/kebun.png" alt="Kebun sekolah yang hijau">' in html
    assert "<figcaption>Kebun kami</figcaption>" in html


def test_links_inside_the_book_lead_to_the_reader_and_others_are_dropped(book):
    html = render(book)
    assert re.findall(r'href="([^"]*)"', html) == ["/baca/7/bab2.xhtml#epub-lanjut", "#epub-awal"]
    for words in ("klik", "situs luar", "rahasia"):  # the words stay, the links go
        assert words in html


def test_no_script_handler_svg_frame_form_or_other_host_survives(book):
    html = render(book)
    lowered = html.lower()
    for payload in ("<script", "<style", "<svg", "<iframe", "<form", "<input", "<object", "<embed", "<link"):
        assert payload not in lowered
    assert not re.search(r"\son\w+\s*=", lowered)
    assert "javascript:" not in lowered and "contoh.invalid" not in lowered and "style=" not in lowered
    assert "alert" not in lowered and "document.cookie" not in lowered
    # Pictures that are not served (an SVG, one from another host) leave their description.
    assert "[Logo sekolah]" in html and "[Pelacak]" in html


def test_the_searched_words_are_marked_in_the_text_and_the_books_own_marks_are_not(tmp_path):
    path = picture_epub(tmp_path)
    html = render(path, words=["kompos"])
    assert re.findall(r"<mark>(.*?)</mark>", html) == ["kompos", "kompos"]
    assert '<a href="/baca/7/bab2.xhtml#epub-lanjut">Lanjut ke bab <mark>kompos</mark></a>' in html
    replace_entry(path, "EPUB/bab2.xhtml", b"<html><body><p><mark>Kompos</mark> dari daun.</p></body></html>")
    assert "<mark>" not in render(path, "bab2.xhtml")


def test_entities_are_never_expanded(tmp_path):
    path = picture_epub(tmp_path)
    replace_entry(
        path,
        "EPUB/bab2.xhtml",
        b'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY xxe SYSTEM "file:///etc/passwd">'
        b'<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b"<html><body><p>x &xxe; &b; y</p></body></html>",
    )
    html = render(path, "bab2.xhtml")
    assert "root:" not in html and "aaaaaaaaaa" not in html


def test_pictures_are_served_only_when_the_manifest_lists_them_as_bitmaps(book):
    assert chapter_image(book, "EPUB/images/kebun.png", Limits()) == (picture_png(), "image/png")
    with zipfile.ZipFile(book) as archive:
        assert archive.read("EPUB/images/logo.svg") == HOSTILE_SVG
    for name in (
        "EPUB/images/logo.svg",  # SVG can carry scripts
        "EPUB/images/palsu.png",  # HTML calling itself a PNG
        "EPUB/bab1.xhtml",
        "EPUB/images/tidak-ada.png",
        "EPUB/../EPUB/images/kebun.png",
        "../EPUB/images/kebun.png",
        "/etc/passwd",
    ):
        assert chapter_image(book, name, Limits()) is None, name


def test_a_missing_chapter_or_a_damaged_file_is_a_named_error(book, tmp_path):
    with pytest.raises(CorruptEbook):
        render(book, "tidak-ada.xhtml")
    damaged = tmp_path / "rusak.epub"
    damaged.write_bytes(book.read_bytes()[:300])
    with pytest.raises(CorruptEbook):
        render(damaged)
    hostile = picture_epub(tmp_path, "xxe")
    opf = zipfile.ZipFile(hostile).read("EPUB/content.opf")
    declaration = b'<!DOCTYPE package [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    replace_entry(hostile, "EPUB/content.opf", opf.replace(b"<package", declaration + b"<package", 1))
    with pytest.raises(UnsafeXml):
        render(hostile)

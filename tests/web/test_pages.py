"""What a patron sees on each page, fetched from a real waitress server."""

from __future__ import annotations

import contextlib
import json
import re
import urllib.parse
from html.parser import HTMLParser

import pytest


class Page(HTMLParser):
    """Links, images, marks and text of a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.sources: list[str] = []
        self.marks: list[str] = []
        self.text_parts: list[str] = []
        self.lang = None
        self._link: list | None = None
        self._in_mark = False
        self.alts: list[str | None] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "html":
            self.lang = attributes.get("lang")
        if tag == "a" and "href" in attributes:
            self._link = [attributes["href"], ""]
        if tag in ("img", "script", "link", "iframe", "source") and (attributes.get("src") or attributes.get("href")):
            self.sources.append(attributes.get("src") or attributes.get("href"))
        if tag == "img":
            self.alts.append(attributes.get("alt"))
        if tag == "mark":
            self._in_mark = True
            self.marks.append("")

    def handle_endtag(self, tag):
        if tag == "a" and self._link is not None:
            self.links.append((self._link[0], " ".join(self._link[1].split())))
            self._link = None
        if tag == "mark":
            self._in_mark = False

    def handle_data(self, data):
        self.text_parts.append(data)
        if self._link is not None:
            self._link[1] += data
        if self._in_mark:
            self.marks[-1] += data

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())

    def link(self, text: str) -> str:
        for href, label in self.links:
            if text in label:
                return href
        raise AssertionError(f"no link {text!r} among {[label for _, label in self.links]}")


def fetch(site, path: str, status: int = 200) -> Page:
    got, body, _headers = site.get(path)
    assert got == status, f"{path}: {got}\n{body[:500]}"
    return Page(body)


def test_home_offers_search_new_arrivals_and_browsing_in_indonesian(site):
    page = fetch(site, "/")
    assert page.lang == "id"
    assert "Cari buku" in page.text
    assert "6 buku dalam koleksi" in page.text
    assert "Jam buka: Senin–Sabtu 08.00–15.00" in page.text
    assert "Buku baru" in page.text
    for title in ("Menanam Padi di Sawah", "Kisah Nelayan", "Laporan Perpustakaan", "The Village Garden"):
        assert title in page.text
    assert "Bahasa Indonesia (4)" in page.text  # by the books' own metadata (the PDF names none)
    assert fetch(site, page.link("Bahasa Inggris")).text.count("The Village Garden") == 1


def test_a_word_inside_a_book_leads_to_its_page_with_the_word_marked(site):
    results = fetch(site, "/cari?q=" + urllib.parse.quote("pengunjung"))
    assert "1 buku ditemukan untuk “pengunjung”" in results.text
    assert "Laporan Perpustakaan" in results.text
    assert results.marks == ["pengunjung"]
    reader_link = results.link("hal. 2")
    reader = fetch(site, reader_link)
    assert "Laporan Perpustakaan" in reader.text
    assert "pengunjung" in reader.marks
    assert any(re.search(r"/baca/\d+/2\.png", source) for source in reader.sources)
    status, _image, headers = site.get(re.search(r"/baca/\d+/2\.png[^\"']*", _raw(site, reader_link)).group())
    assert status == 200 and headers["Content-Type"] == "image/png"


def _raw(site, path: str) -> str:
    return site.get(path)[1]


def test_a_stemmed_word_finds_the_chapter_and_marks_the_form_in_the_text(site):
    results = fetch(site, "/cari?q=dibaca")
    assert "Menanam Padi di Sawah" in results.text
    [chapter] = [seq for seq, unit in site.library.units("padi").items() if "membaca" in unit["text"]]
    reader = fetch(site, results.link(f"Bab {chapter}"))
    assert reader.marks == ["membaca"]
    assert "Bab kedua bercerita tentang pupuk" in reader.text


def test_facets_filter_and_can_be_removed(site):
    results = fetch(site, "/cari?q=desa")
    assert "Bahasa Indonesia" in results.text
    narrowed = fetch(site, results.link("EPUB"))
    assert "Laporan Perpustakaan" not in narrowed.text
    assert "Menanam Padi di Sawah" in narrowed.text
    widened = fetch(site, narrowed.link("hapus"))
    assert "format=" not in dict(widened.links).get("", "")


def test_filtering_by_the_books_language_keeps_the_interface_language(site):
    results = fetch(site, "/cari?q=reading&lang=en")
    assert results.lang == "en"
    facet = results.link("English")  # the facet: books in English
    assert "bahasa=en" in facet and "lang=" not in facet
    status, body, _headers = site.get(facet, headers={"Cookie": "lang=en"})
    only_english = Page(body)
    assert status == 200 and only_english.lang == "en" and "The Village Garden" in only_english.text
    status, _body, headers = site.get("/cari?q=desa&bahasa=id")
    assert status == 200 and "lang=" not in " ".join(headers.get_all("Set-Cookie") or [])
    # In the JSON API `lang` is the books' language filter; it changes no one's interface.
    status, body, headers = site.get("/api/v1/search?q=reading&lang=en")
    assert status == 200 and [hit["title"] for hit in json.loads(body)["hits"]] == ["The Village Garden"]
    assert "lang=" not in " ".join(headers.get_all("Set-Cookie") or [])


def test_nothing_found_suggests_a_spelling_and_ways_on(site):
    page = fetch(site, "/cari?q=nelayen")
    assert "Tidak ada buku yang ditemukan" in page.text
    assert "Mungkin maksud Anda" in page.text
    assert fetch(site, page.link("nelayan")).text.count("Kisah Nelayan") >= 1
    assert page.link("Lihat buku baru")


def test_record_page_shows_the_fields_and_the_actions_its_licence_allows(site):
    record_id = site.library.ids["padi"]
    page = fetch(site, f"/buku/{record_id}")
    chapters = len(site.library.units("padi"))
    for text in (
        "Menanam Padi di Sawah",
        "Siti Rahayu",
        "Pertanian",
        "Penerbit Desa",
        "Panduan bertani",
        f"{chapters} bab",
    ):
        assert text in page.text
    by_author = fetch(site, page.link("Siti Rahayu"))
    assert "Kisah Nelayan" in by_author.text and "Menanam Padi di Sawah" in by_author.text
    assert "Baca sekarang" in page.text
    status, _body, headers = site.get(page.link("Unduh"))
    assert status == 200
    assert headers["Content-Disposition"].startswith("attachment")


def test_record_page_lists_printed_copies_with_shelf_and_status_and_the_date_in_the_library_zone(site):
    page = fetch(site, f"/buku/{site.library.ids['nelayan']}")
    _status, html, _headers = site.get(f"/buku/{site.library.ids['nelayan']}")
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td[^>]*>(.*?)</td></tr>", html)
    assert rows == [("899.221 RAH k", "Rak anak 2", "Di rak"), ("899.221 RAH k", "Rak anak 2", "Sedang dipinjam")]
    assert "Gudang" not in page.text  # the withdrawn copy is not offered
    # Added at 20:00 UTC on 16 August: 17 August in Jakarta (UTC+7), written the Indonesian way.
    assert "17 Agustus 2026" in page.text
    english = fetch(site, f"/buku/{site.library.ids['nelayan']}?lang=en")
    assert "August 17, 2026" in english.text and "On loan" in english.text


def test_the_reader_turns_pages_and_remembers_settings(site):
    record_id = site.library.ids["padi"]
    [first_chapter] = [seq for seq, unit in site.library.units("padi").items() if "Petani di desa" in unit["text"]]
    first = fetch(site, f"/baca/{record_id}/{first_chapter}")
    second = fetch(site, first.link("Bab berikutnya"))
    assert "Bab kedua bercerita" in second.text
    back = fetch(site, second.link("Bab sebelumnya"))
    assert "Petani di desa menanam padi" in back.text
    status, _body, headers = site.get(f"/baca/{record_id}/2?size=large")
    assert status == 200 and "reader-size=large" in " ".join(headers.get_all("Set-Cookie"))


def _reads(site, name: str) -> int:
    with contextlib.closing(site.library.datadir.connect()) as connection:
        return connection.execute(
            "SELECT count(*) FROM events WHERE kind = 'read' AND record_id = ?", (site.library.ids[name],)
        ).fetchone()[0]


def test_opening_a_book_counts_as_a_read_turning_its_pages_does_not_and_home_shows_the_most_read(site):
    record_id = site.library.ids["laporan"]
    before = _reads(site, "laporan")
    record_page = f"{site.base}/buku/{record_id}"
    for _ in range(2):
        status, _body, _headers = site.get(f"/baca/{record_id}/1", headers={"Referer": record_page})
        assert status == 200
        status, _body, _headers = site.get(
            f"/baca/{record_id}/2", headers={"Referer": f"{site.base}/baca/{record_id}/1"}
        )
        assert status == 200
    assert _reads(site, "laporan") == before + 2
    with contextlib.closing(site.library.datadir.connect()) as connection:
        counted = connection.execute(
            "SELECT r.title FROM events e JOIN records r ON r.id = e.record_id WHERE e.kind = 'read'"
            " GROUP BY r.id ORDER BY count(*) DESC, r.created_at DESC, r.id DESC"
        ).fetchall()
    home = fetch(site, "/")
    assert "Paling banyak dibaca" in home.text
    section = home.text.split("Paling banyak dibaca", 1)[1].split("Jelajahi", 1)[0]
    positions = [section.index(title) for (title,) in counted]
    assert positions == sorted(positions) and "Laporan Perpustakaan" in section


@pytest.mark.parametrize(
    "path",
    ["/buku/999999", "/buku/99999999999999999999999", "/baca/999999/1", "/jelajah/author/Tidak%20Ada", "/nope"],
)
def test_what_does_not_exist_is_a_404_page_in_indonesian(site, path):
    page = fetch(site, path, status=404)
    assert page.lang == "id"
    assert "Halaman tidak ditemukan" in page.text


def test_out_of_range_pages_and_hostile_queries_never_break(site):
    record_id = site.library.ids["padi"]
    fetch(site, f"/baca/{record_id}/99", status=404)
    fetch(site, f"/baca/{record_id}/0", status=404)
    for query in ['"unbalanced', "AND OR NOT", "<script>alert(1)</script>", "🙂" * 50, "a" * 5000]:
        status, body, _ = site.get("/cari?q=" + urllib.parse.quote(query))
        assert status == 200, query
        assert "<script>alert(1)</script>" not in body
    assert fetch(site, "/cari?q=desa&page=999").text.count("Tidak ada buku") <= 1
    fetch(site, "/cari?q=desa&page=-5")


def test_english_is_one_click_away_and_remembered(site):
    page = fetch(site, "/")
    english = page.link("English")
    status, body, headers = site.get(english)
    assert status == 200 and "lang=en" in " ".join(headers.get_all("Set-Cookie"))
    assert Page(body).lang == "en" and "Find a book" in Page(body).text
    again = Page(site.get("/cari?q=padi", headers={"Cookie": "lang=en"})[1])
    assert again.lang == "en" and "1 book found" in again.text


def test_pages_reference_no_other_host(site):
    record_id = site.library.ids["laporan"]
    for path in ("/", "/cari?q=desa", f"/buku/{record_id}", f"/baca/{record_id}/2?hl=pengunjung", "/jelajah/baru"):
        page = fetch(site, path)
        for reference in page.sources + [href for href, _ in page.links]:
            assert not urllib.parse.urlsplit(reference).netloc, f"{path} references {reference}"
        assert all(alt for alt in page.alts), f"{path} has an image without alt text"

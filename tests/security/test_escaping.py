"""Output escaping: the corpus book whose title is a script (and whose chapter carries script,
event-handler, javascript: and iframe payloads) comes out as text on every page that shows
it, for visitors, readers' apps, harvesters, the TV and the librarian; its content is served
under a policy that runs no script."""

from __future__ import annotations

import re

import pytest

RAW_PAYLOADS = ("<script>alert(", "<img src=x onerror", '<img src="x" onerror')
ESCAPED = "&lt;script&gt;alert("


def _hostile_id(hostile_site) -> int:
    return hostile_site.library.ids["xss"]


def assert_escaped(body: str, where: str) -> None:
    for payload in RAW_PAYLOADS:
        assert payload not in body, f"{where} carries the raw payload {payload!r}"
    assert ESCAPED in body, f"{where} does not show the hostile title at all (so nothing was checked)"


PUBLIC_PAGES = [
    "/buku/{id}",
    "/cari?q=alert",
    "/jelajah/baru",
    "/",
    "/kegiatan",
    "/kegiatan/{announcement}",
    "/opds/buku/{id}",
    "/opds/cari?q=alert",
    "/opds/baru",
    "/oai?verb=ListRecords&metadataPrefix=oai_dc",
    "/oai?verb=ListRecords&metadataPrefix=marc21",
    "/kiosk/buku/{id}",
    "/kiosk/rak/new",
    "/kiosk/rak/events",
]
STAFF_PAGES = [
    "/kelola/katalog/",
    "/kelola/katalog/{id}",
    "/kelola/katalog/{id}/hapus",
    "/kelola/anggota",
    "/kelola/anggota/{member}",
    "/kelola/anggota/{member}/kartu",
    "/kelola/kegiatan",
    "/kelola/kegiatan/{announcement}",
    "/kelola/cetak/buku/{id}/eksemplar",
]


def _path(template: str, hostile_site) -> str:
    return template.format(
        id=_hostile_id(hostile_site), announcement=hostile_site.announcement_id, member=hostile_site.member_id
    )


@pytest.mark.parametrize(
    ("who", "template"),
    [("anonymous", template) for template in PUBLIC_PAGES] + [("librarian", template) for template in STAFF_PAGES],
)
def test_the_script_title_is_text_on_every_page_feed_and_screen_that_shows_it(hostile_site, who, template):
    path = _path(template, hostile_site)
    response = hostile_site.client(who).get(path)
    assert response.status == 200, (path, response.status)
    assert_escaped(response.body, path)


def test_the_patrons_reading_history_shows_the_title_as_text(hostile_site):
    patron = hostile_site.client("patron")
    assert patron.post("/akun/riwayat", {"keep": "y"}, form_page="/akun").status == 302
    assert patron.get(f"/baca/{_hostile_id(hostile_site)}/1").status == 200
    assert_escaped(patron.get("/akun").body, "/akun")


def test_the_json_api_is_json_and_never_sniffed_as_html(hostile_site):
    response = hostile_site.client("anonymous").get(f"/api/v1/records/{_hostile_id(hostile_site)}")
    assert response.status == 200
    assert response.headers.get_content_type() == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("reader", ["/baca", "/kiosk/baca"])
@pytest.mark.parametrize("book", ["xss", "kebun"])
def test_hostile_chapters_are_served_without_any_script(hostile_site, book, reader):
    """The corpus book's chapter and a built one with script, event-handler, SVG, frame and form
    payloads: what the reader shows has none of them, under a policy that runs no script."""
    anonymous = hostile_site.client("anonymous")
    record_id = hostile_site.library.ids[book]
    chapters = [anonymous.get(f"{reader}/{record_id}/{seq}") for seq in range(1, 4)]
    shown = [chapter for chapter in chapters if chapter.status == 200]
    assert shown, [chapter.status for chapter in chapters]
    for chapter in shown:
        body = re.sub(r'<script src="/static/[a-z]+\.js" defer></script>', "", chapter.body)  # the kiosk's own
        assert not re.search(r"<script\b", body, re.IGNORECASE)
        assert not re.search(r"<i?frame\b", body, re.IGNORECASE)
        assert not re.search(r"<[^>]*\son[a-z]+\s*=", body, re.IGNORECASE), "an event handler got through"
        assert not re.search(r"<[^>]*javascript:", body, re.IGNORECASE), "a javascript: link got through"
        policy = chapter.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy or reader == "/kiosk/baca", policy
        assert "script-src" not in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'self'" in policy


def test_a_chapter_outside_the_reading_order_is_never_served_as_a_page_or_picture(hostile_site):
    """The corpus book's c2.xhtml (script stealing cookies) is in its manifest but not its spine."""
    anonymous = hostile_site.client("anonymous")
    record_id = _hostile_id(hostile_site)
    for path in ("c2.xhtml", "OEBPS/c2.xhtml", "../OEBPS/c2.xhtml"):
        response = anonymous.get(f"/baca/{record_id}/gambar/{path}")
        assert response.status == 404, path
        assert "document.cookie" not in response.body

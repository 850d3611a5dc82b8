"""A patron's journey in real headless Firefox (Debian's `firefox-esr`), the other browser a
village PC is likely to have: search from the home page with the keyboard, read the page where
the word is, read an EPUB chapter whose own scripts must not run, and sign in and out."""

from __future__ import annotations

import os
import time

import pytest

from tests.web import firefox as driver
from tests.web.test_lending import PIN, _library

SAME_HOST = "[...new Set(performance.getEntriesByType('resource').map(e => new URL(e.name).host))]"


@pytest.fixture(scope="module")
def firefox():
    if not os.path.exists(driver.FIREFOX):
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but firefox-esr is not installed (.ci/run installs it)")
        pytest.skip("firefox-esr is not installed (apt-get install firefox-esr)")
    opened = driver.Firefox()
    yield opened
    opened.close()


@pytest.fixture
def lending(tmp_path):
    """The e-lending library of test_lending.py: a PDF with one licensed copy, on a real server."""
    yield from _library(tmp_path)


def _click_link(firefox, text: str) -> None:
    firefox.evaluate(
        f"[...document.querySelectorAll('a')].find(a => a.textContent.trim() === {text!r}).click() || true"
    )


def test_search_with_the_keyboard_then_read_the_page_where_the_word_is(site, firefox):
    host = site.base.split("/")[2]
    firefox.goto(site.base + "/")
    assert firefox.evaluate("document.documentElement.lang") == "id"
    firefox.wait_for("document.activeElement && document.activeElement.id === 'q'")  # type at once
    firefox.type("pengunjung")
    firefox.type("Enter")
    firefox.wait_for("location.search === '?q=pengunjung'")
    status = firefox.evaluate("document.querySelector('[role=status]').textContent.trim()")
    assert status.startswith("1 buku ditemukan")
    _click_link(firefox, "hal. 2")
    firefox.wait_for("location.pathname.startsWith('/baca/') && document.readyState === 'complete'")
    firefox.wait_for("(() => { const i = document.querySelector(\"img[alt^='Halaman 2']\");"
                     " return i && i.complete && i.naturalWidth > 0; })()")  # fmt: skip
    assert firefox.evaluate("document.querySelectorAll('svg.hl-layer rect').length") >= 1
    assert "pengunjung" in firefox.evaluate("[...document.querySelectorAll('mark')].map(m => m.textContent)")
    assert firefox.evaluate(SAME_HOST) in ([host], [])  # nothing from another host
    assert firefox.page_errors() == []


def test_an_epub_chapter_shows_its_picture_and_runs_none_of_its_scripts(site, firefox):
    firefox.goto(site.base + f"/baca/{site.library.ids['kebun']}/1?hl=kompos")
    assert firefox.evaluate("document.querySelector('h2').textContent.trim()") == "Kebun Sekolah"
    firefox.wait_for("(() => { const i = document.querySelector(\"img[alt='Kebun sekolah yang hijau']\");"
                     " return i && i.complete && i.naturalWidth === 6; })()")  # fmt: skip
    assert firefox.evaluate("[...document.querySelectorAll('.chapter-html mark')].map(m => m.textContent)") == [
        "kompos",
        "kompos",
    ]
    time.sleep(0.5)  # a chapter script, had it run, would have opened its alert by now
    assert firefox.prompts() == [] and "dicuri" not in firefox.evaluate("document.title")
    assert firefox.page_errors() == []


def test_the_interface_switches_to_english_and_keeps_it(site, firefox):
    firefox.goto(site.base + "/")
    _click_link(firefox, "English")
    firefox.wait_for("document.documentElement.lang === 'en'")
    firefox.goto(site.base + "/cari?q=padi")
    assert firefox.evaluate("document.querySelector('h1').textContent.trim()") == "Search results"
    firefox.goto(site.base + "/")
    _click_link(firefox, "Bahasa Indonesia")
    firefox.wait_for("document.documentElement.lang === 'id'")


def test_a_patron_signs_in_borrows_reads_and_signs_out(lending, firefox):
    lending.patron("S-1", "Siti")
    firefox.goto(lending.base + "/masuk")
    firefox.wait_for("document.activeElement && document.activeElement.name === 'number'")
    firefox.type("S-1")
    firefox.type("Tab")
    firefox.type(PIN)
    firefox.type("Enter")
    firefox.wait_for("location.pathname !== '/masuk' && document.readyState === 'complete'")
    firefox.goto(lending.base + f"/buku/{lending.lent}")
    firefox.evaluate(f"document.querySelector('form[action=\"/pinjam/{lending.lent}\"] button').click() || true")
    firefox.wait_for(f"location.pathname.startsWith('/baca/{lending.lent}') && document.readyState === 'complete'")
    assert "Dipinjam" in firefox.evaluate("document.body.textContent")
    firefox.wait_for("(() => { const i = document.querySelector(\"img[alt^='Halaman']\");"
                     " return i && i.complete && i.naturalWidth > 0; })()")  # fmt: skip
    assert [row[0] for row in lending.sql("SELECT member_id FROM ebook_loans WHERE returned_at IS NULL")] != []
    firefox.evaluate("document.querySelector('button.sign-out').click() || true")
    firefox.wait_for("!document.querySelector('button.sign-out') && document.readyState === 'complete'")
    cookies = firefox.command("storage.getCookies", {})["cookies"]
    assert "patron_session" not in {cookie["name"] for cookie in cookies}  # nothing of hers stays behind
    firefox.goto(lending.base + "/akun")
    assert firefox.evaluate("location.pathname") == "/masuk"
    assert firefox.page_errors() == []

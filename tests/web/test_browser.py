"""A patron's journey in real headless Chromium (Debian's `chromium`, driven by Playwright)."""

from __future__ import annotations

import pytest


def test_search_from_home_then_read_the_page_where_the_word_is(site, page):
    page.goto(site.base + "/")
    page.get_by_label("Cari judul, pengarang, dan kata-kata di dalam setiap buku").fill("pengunjung")
    page.get_by_role("button", name="Cari").click()
    page.wait_for_url("**/cari?q=pengunjung")
    assert page.get_by_role("status").inner_text().startswith("1 buku ditemukan")
    page.get_by_role("link", name="hal. 2").click()
    page.wait_for_url("**/baca/**")
    assert page.locator("img[alt^='Halaman 2']").evaluate("image => image.complete && image.naturalWidth > 0")
    assert page.locator("svg.hl-layer rect").count() >= 1  # the word is marked on the page image
    assert "pengunjung" in page.locator("mark").all_inner_texts()
    page.get_by_role("link", name="Halaman berikutnya →").first.click()
    page.wait_for_url("**/baca/*/3?**")
    assert "Penutup laporan" in page.locator("details.page-text").text_content()
    assert page.requested_hosts == {site.base.split("/")[2]}, "a page loaded something from another host"


def test_an_epub_chapter_shows_its_structure_and_picture_and_runs_none_of_its_scripts(site, page):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(site.base + f"/baca/{site.library.ids['kebun']}/1?hl=kompos")
    assert page.get_by_role("heading", level=2, name="Kebun Sekolah").is_visible()
    picture = page.get_by_role("img", name="Kebun sekolah yang hijau")
    assert picture.evaluate("image => image.complete && image.naturalWidth === 6")
    assert page.locator(".chapter-html em").inner_text() == "sayur"
    assert page.locator(".chapter-html li").all_inner_texts() == ["Tomat", "Cabai"]
    assert page.locator(".chapter-html mark").all_inner_texts() == ["kompos", "kompos"]
    page.get_by_role("link", name="Lanjut ke bab kompos").click()
    page.wait_for_url("**/baca/*/2?**#epub-lanjut")
    assert "Kompos dibuat dari daun kering" in page.locator(".chapter-html").inner_text()
    assert dialogs == [] and "dicuri" not in page.title()
    assert page.requested_hosts == {site.base.split("/")[2]}, "a page loaded something from another host"


def test_switch_language_and_keep_it(site, page):
    page.goto(site.base + "/")
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto(site.base + "/cari?q=padi")
    assert page.get_by_role("heading", level=1).inner_text() == "Search results"


def test_keyboard_only_journey(site, page):
    page.goto(site.base + "/")
    # The home page's search box has the focus: a villager can type at once.
    page.wait_for_function("document.activeElement && document.activeElement.id === 'q'")
    page.keyboard.type("nelayan")
    page.keyboard.press("Enter")
    page.wait_for_url("**/cari?q=nelayan")
    # Elsewhere the first Tab reaches the skip link, which jumps past the header.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Langsung ke isi"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    for _ in range(40):  # Tab until the first result's title link has the focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Kisah Nelayan":
            break
    else:
        raise AssertionError("the result could not be reached with the keyboard")
    page.keyboard.press("Enter")
    page.wait_for_url("**/buku/**")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Kisah Nelayan")


def test_small_screen_has_no_sideways_scrolling(site, browser):
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="id-ID")
    small = context.new_page()
    try:
        for path in ("/", "/cari?q=desa", f"/buku/{site.library.ids['padi']}"):
            small.goto(site.base + path)
            assert small.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
    finally:
        context.close()


def _axe_page_paths(site) -> dict[str, str]:
    padi = site.library.ids["padi"]
    return {
        "home": "/",
        "results": "/cari?q=padi",
        "no results": "/cari?q=zzzqqq",
        "record": f"/buku/{site.library.ids['nelayan']}",
        "reader (EPUB chapter)": f"/baca/{padi}/2?hl=padi",
        "reader (EPUB chapter with a table and a picture)": f"/baca/{site.library.ids['kebun']}/1?hl=kompos",
        "reader (damaged EPUB, text only)": f"/baca/{site.library.ids['rusak']}/2",
        "reader (PDF page)": f"/baca/{site.library.ids['laporan']}/2?hl=pengunjung",
        "browse": "/jelajah/baru",
        "404": "/buku/999999",
    }


@pytest.mark.parametrize("theme", ["day", "night"])
def test_axe_finds_no_serious_or_critical_violations(site, page, theme):
    """axe-core (WCAG 2.1 A and AA rules) on every kind of page a patron sees."""
    axe_module = pytest.importorskip(
        "axe_playwright_python.sync_playwright", reason="axe-playwright-python is in the test extra"
    )
    axe = axe_module.Axe()
    options = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}
    found = {}
    for name, path in _axe_page_paths(site).items():
        separator = "&" if "?" in path else "?"
        page.goto(site.base + path + (f"{separator}theme={theme}" if path.startswith("/baca/") else ""))
        response = axe.run(page, options=options).response
        serious = [
            f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']][:3]}"
            for violation in response["violations"]
            if violation["impact"] in ("serious", "critical")
        ]
        if serious:
            found[name] = serious
    assert found == {}


def test_a_pin_can_be_shown_while_typing_it(site, page):
    page.goto(site.base + "/masuk")
    pin = page.get_by_label("PIN", exact=True)
    pin.fill("2468")
    assert pin.get_attribute("type") == "password"
    page.get_by_label("Tampilkan yang saya ketik").check()
    assert pin.get_attribute("type") == "text" and pin.input_value() == "2468"
    page.get_by_label("Tampilkan yang saya ketik").uncheck()
    assert pin.get_attribute("type") == "password"

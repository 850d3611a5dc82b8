"""The TV kiosk in a real headless Chromium at 1920x1080, driven like a remote control.

QR codes are decoded from screenshots of what the page drew, with zxing-cpp (a QR decoder
from a self-contained PyPI wheel, no system packages; PyMuPDF turns the PNG into grey pixels,
so no Pillow or numpy either): the test reads what a phone would read, not segno's own data.
Old TV engines cannot be emulated by a current Chromium, so the ES5 rule is checked by parsing
(test_kiosk.py); here the behaviour is checked.
"""

from __future__ import annotations

import contextlib
import re

import pymupdf
import pytest
import zxingcpp

from catalog import db
from tests.web.kiosk_site import PUBLIC_URL, kiosk_server

SAFE = {"left": 96, "top": 54, "right": 1920 - 96, "bottom": 1080 - 54}
BACKGROUND = (0x0B, 0x16, 0x22)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with kiosk_server(tmp_path_factory.mktemp("kiosk-browser")) as running:
        yield running


@pytest.fixture
def tv(browser):
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="id-ID")
    opened = context.new_page()
    yield opened
    context.close()


def open_screen(tv, url: str) -> None:
    tv.goto(url)
    tv.wait_for_function("() => document.body.getAttribute('data-screen') !== null")
    tv.wait_for_timeout(100)  # the deferred script has run


def press_remote(tv, key_code: int) -> None:
    """A TV remote's key as the TV's browser sends it: a keydown with only a keyCode."""
    tv.evaluate(
        """code => {
            const event = new Event('keydown', {bubbles: true, cancelable: true});
            Object.defineProperty(event, 'keyCode', {value: code});
            (document.activeElement || document.body).dispatchEvent(event);
        }""",
        key_code,
    )


def focused(tv) -> str:
    return tv.evaluate(
        "document.activeElement ? (document.activeElement.id || document.activeElement.getAttribute('href')) : ''"
    )


def navigable(tv) -> set[str]:
    return set(
        tv.evaluate(
            """() => Array.from(document.querySelectorAll('[data-nav]'))
                .filter(e => e.getBoundingClientRect().width > 0)
                .map(e => e.id || e.getAttribute('href'))"""
        )
    )


def test_arrows_reach_every_tile_ok_opens_and_back_returns(served, tv):
    server, library = served
    open_screen(tv, server.base + "/kiosk/rak/new")
    items = navigable(tv)
    tiles = {item for item in items if item.startswith("tile-new-")}
    assert len(tiles) == len(library.ids)
    start = focused(tv)
    assert start in tiles  # browse screens start on the first tile
    seen, queue = {start}, [start]
    while queue:
        item = queue.pop()
        for key in ("ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"):
            tv.evaluate(
                'item => (document.getElementById(item) || document.querySelector(`[href="${item}"]`)).focus()', item
            )
            tv.keyboard.press(key)
            reached = focused(tv)
            if reached not in seen:
                seen.add(reached)
                queue.append(reached)
    assert seen == items, f"not reachable with the arrows: {items - seen}"

    tile = f"tile-new-{library.ids['padi']}"
    tv.focus(f"#{tile}")
    tv.keyboard.press("Enter")
    tv.wait_for_url(f"**/kiosk/buku/{library.ids['padi']}")
    assert "Menanam Padi di Sawah" in tv.inner_text("h1")
    assert focused(tv) == "kiosk-read"
    press_remote(tv, 10009)  # Tizen's Back
    tv.wait_for_url("**/kiosk/rak/new")

    tv.wait_for_timeout(100)
    tv.focus(f"#{tile}")
    tv.keyboard.press("Enter")
    tv.wait_for_url(f"**/kiosk/buku/{library.ids['padi']}")
    tv.wait_for_timeout(100)
    press_remote(tv, 461)  # webOS's Back
    tv.wait_for_url("**/kiosk/rak/new")


def test_pointer_clicks_open_a_book_and_a_quiet_screen_returns_to_the_showcase(served, tv):
    server, library = served
    open_screen(tv, server.base + "/kiosk/rak/picks")
    tv.click(f"#tile-picks-{library.ids['nelayan']}")
    tv.wait_for_url(f"**/kiosk/buku/{library.ids['nelayan']}")
    open_screen(tv, server.base + f"/kiosk/buku/{library.ids['nelayan']}?diam=2")
    tv.wait_for_url(re.compile(r".*/kiosk$"), timeout=10_000)


def current_slide(tv) -> str:
    return tv.evaluate("document.querySelector('.slide.current').getAttribute('data-slide')")


def test_the_showcase_rotates_and_any_key_stops_it_until_back(served, tv):
    server, _library = served
    open_screen(tv, server.base + "/kiosk?putar=1")
    shown = {current_slide(tv)}
    for _ in range(3):
        tv.wait_for_timeout(1100)
        shown.add(current_slide(tv))
    assert len(shown) >= 3, f"the slides did not rotate: {shown}"

    tv.keyboard.press("ArrowDown")  # any key: browse mode
    assert tv.evaluate("document.body.classList.contains('browsing')")
    stopped = current_slide(tv)
    assert focused(tv).startswith(f"tile-{stopped}-") or stopped in ("events", "hours")
    tv.wait_for_timeout(2500)
    assert current_slide(tv) == stopped, "the rotation went on after a key"

    press_remote(tv, 461)  # Back: the showcase rotates again
    assert not tv.evaluate("document.body.classList.contains('browsing')")
    tv.wait_for_function(
        "stopped => document.querySelector('.slide.current').getAttribute('data-slide') !== stopped", arg=stopped
    )


def decode(png: bytes) -> list[str]:
    pixmap = pymupdf.Pixmap(png)
    if pixmap.n != 1 or pixmap.alpha:
        pixmap = pymupdf.Pixmap(pymupdf.csGRAY, pixmap)
    pixels = memoryview(pixmap.samples).cast("B", (pixmap.height, pixmap.width))
    return [found.text for found in zxingcpp.read_barcodes(pixels, formats=zxingcpp.BarcodeFormat.QRCode)]


def test_every_qr_code_decodes_to_its_record_page(served, tv):
    server, library = served
    open_screen(tv, server.base + "/kiosk/rak/new")
    tv.wait_for_function("() => Array.from(document.images).every(image => image.complete && image.naturalWidth > 0)")
    tiles = tv.query_selector_all(".slide.current .tile")
    assert len(tiles) == len(library.ids)
    for tile in tiles:
        record_id = tile.get_attribute("data-record")
        assert decode(tile.query_selector("img.qr").screenshot()) == [f"{PUBLIC_URL}/buku/{record_id}"]
    open_screen(tv, server.base + f"/kiosk/buku/{library.ids['laporan']}")
    tv.wait_for_function("() => document.querySelector('.qr-large').naturalWidth > 0")
    assert decode(tv.query_selector(".qr-large").screenshot()) == [f"{PUBLIC_URL}/buku/{library.ids['laporan']}"]


def drawn_outside_safe_area(png: bytes) -> list[tuple[int, int]]:
    """Pixels outside the safe area that are not the background (a few, as examples)."""
    pixmap = pymupdf.Pixmap(png)
    if pixmap.alpha:
        pixmap = pymupdf.Pixmap(pixmap, 0)
    assert (pixmap.width, pixmap.height) == (1920, 1080)
    samples, stride, n = pixmap.samples, pixmap.stride, pixmap.n
    wrong = []
    for y in range(pixmap.height):
        inside_rows = SAFE["top"] <= y < SAFE["bottom"]
        columns = (*range(0, SAFE["left"]), *range(SAFE["right"], 1920)) if inside_rows else range(1920)
        row = y * stride
        for x in columns:
            pixel = samples[row + x * n : row + x * n + 3]
            if any(abs(pixel[channel] - BACKGROUND[channel]) > 3 for channel in range(3)):
                wrong.append((x, y))
                if len(wrong) >= 5:
                    return wrong
    return wrong


def test_nothing_is_drawn_outside_the_safe_area(served, tv):
    server, library = served
    screens = [
        ("/kiosk", None),
        ("/kiosk/rak/new", "ArrowRight"),  # with the focus ring on a tile
        ("/kiosk/rak/events", None),
        ("/kiosk/rak/hours", None),
        (f"/kiosk/buku/{library.ids['padi']}", None),
        (f"/kiosk/baca/{library.ids['laporan']}/1", None),
        (f"/kiosk/baca/{library.ids['padi']}/2", None),
        ("/kiosk/buku/9999", None),
    ]
    for path, key in screens:
        open_screen(tv, server.base + path)
        tv.wait_for_function("() => Array.from(document.images).every(image => image.complete)")
        if key:
            tv.keyboard.press(key)
        tv.evaluate("document.getElementById('kiosk-status').hidden = false")  # the status line too
        assert not drawn_outside_safe_area(tv.screenshot()), f"{path} draws outside the safe area"


def test_the_showcase_lives_through_a_server_restart(served, tv):
    server, _library = served
    open_screen(tv, server.base + "/kiosk?segar=1&putar=2")
    generated = tv.get_attribute("#kiosk-showcase", "data-generated")
    tv.wait_for_function(
        "before => document.getElementById('kiosk-showcase').getAttribute('data-generated') !== before", arg=generated
    )

    server.stop()
    try:
        tv.wait_for_selector("#kiosk-status", state="visible", timeout=10_000)
        for _ in range(3):
            assert tv.evaluate("document.querySelectorAll('.slide.current').length") == 1
            assert len(tv.inner_text("#kiosk-content").strip()) > 20, "the screen went blank"
            tv.wait_for_timeout(500)
        # Opening a book while the server is away: the screen stays and tries again.
        tv.keyboard.press("ArrowDown")
        tv.evaluate(
            "(document.querySelector('.slide.current [data-nav]') || document.querySelector('[data-tab]')).focus()"
        )
        target = tv.evaluate("document.activeElement.getAttribute('href')")
        tv.keyboard.press("Enter")
        tv.wait_for_timeout(1500)
        assert tv.url.endswith("/kiosk?segar=1&putar=2")
        assert len(tv.inner_text("#kiosk-content").strip()) > 20
    finally:
        server.start()
    tv.wait_for_url(f"**{target}", timeout=30_000)
    assert tv.evaluate("document.getElementById('kiosk-status').hidden")
    assert tv.inner_text("h1")


def test_the_tv_reader_turns_pdf_and_epub_pages_with_left_and_right(served, tv):
    server, library = served
    pdf = library.ids["laporan"]
    open_screen(tv, server.base + f"/kiosk/baca/{pdf}/1")
    tv.wait_for_function("() => document.getElementById('kiosk-page-image').naturalWidth > 0")
    tv.keyboard.press("ArrowRight")
    tv.wait_for_url(re.compile(rf".*/kiosk/baca/{pdf}/2\?"))
    tv.wait_for_function("() => document.getElementById('kiosk-page-image').naturalHeight > 700")
    tv.keyboard.press("ArrowLeft")
    tv.wait_for_url(re.compile(rf".*/kiosk/baca/{pdf}/1\?"))
    press_remote(tv, 10009)
    tv.wait_for_url(f"**/kiosk/buku/{pdf}")

    epub = library.ids["padi"]
    open_screen(tv, server.base + f"/kiosk/baca/{epub}/2")  # a long chapter: several pages on the TV
    assert tv.get_attribute("body", "data-page") == "1"
    pages = tv.evaluate("Math.round((document.getElementById('kiosk-pages').scrollWidth + 128) / 1728)")
    assert pages >= 2
    left_before = tv.evaluate("document.getElementById('kiosk-pages').scrollLeft")
    tv.keyboard.press("ArrowRight")
    assert tv.get_attribute("body", "data-page") == "2"
    assert tv.evaluate("document.getElementById('kiosk-pages').scrollLeft") > left_before
    assert re.search(r"/kiosk/baca/\d+/2$", tv.url)
    tv.keyboard.press("ArrowLeft")
    assert tv.get_attribute("body", "data-page") == "1"
    tv.keyboard.press("ArrowLeft")  # before the chapter's first page: the previous chapter's last
    tv.wait_for_url(re.compile(rf".*/kiosk/baca/{epub}/1\?.*akhir=1"))
    open_screen(tv, server.base + f"/kiosk/baca/{epub}/2?akhir=1")
    assert tv.get_attribute("body", "data-page") == str(pages)
    tv.keyboard.press("ArrowRight")
    tv.wait_for_url(re.compile(rf".*/kiosk/baca/{epub}/3\?"))
    assert "Bab kedua." in tv.inner_text("#kiosk-pages")


def test_refreshing_the_showcase_does_not_pile_up_elements(served, tv):
    """Unattended for days: each refresh replaces the slides, so the page does not grow."""
    server, _library = served
    open_screen(tv, server.base + "/kiosk?segar=1")
    count = "() => document.getElementsByTagName('*').length"
    before = tv.evaluate(count)
    generated = tv.get_attribute("#kiosk-showcase", "data-generated")
    for _ in range(3):
        tv.wait_for_function(
            "before => document.getElementById('kiosk-showcase').getAttribute('data-generated') !== before",
            arg=generated,
        )
        generated = tv.get_attribute("#kiosk-showcase", "data-generated")
    assert tv.evaluate(count) == before


def test_axe_finds_no_serious_or_critical_violations_on_the_kiosk(served, tv):
    axe_module = pytest.importorskip(
        "axe_playwright_python.sync_playwright", reason="axe-playwright-python is in the test extra"
    )
    server, library = served
    axe = axe_module.Axe()
    options = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
    found = {}
    for path in (
        "/kiosk/rak/new",
        f"/kiosk/buku/{library.ids['padi']}",
        f"/kiosk/baca/{library.ids['laporan']}/1",
        f"/kiosk/baca/{library.ids['padi']}/3",
    ):
        open_screen(tv, server.base + path)
        response = axe.run(tv, options=options).response
        serious = [
            f"{violation['id']}: {[node['target'] for node in violation['nodes']][:3]}"
            for violation in response["violations"]
            if violation["impact"] in ("serious", "critical")
        ]
        if serious:
            found[path] = serious
    assert found == {}


def test_outside_opening_hours_the_tv_dims_until_a_key_is_pressed(served, tv):
    server, library = served
    with contextlib.closing(library.datadir.connect()) as connection, db.transaction(connection):
        connection.execute(
            "UPDATE kiosk_settings SET open_days = '1,2,3,4,5,6,7', opens_at = '00:00', closes_at = '00:00'"
        )
    try:
        open_screen(tv, server.base + "/kiosk")
        assert tv.is_visible("#kiosk-night") and not tv.is_visible(".slide.current")
        assert "Perpustakaan sedang tutup." in tv.inner_text("#kiosk-night")
        assert not drawn_outside_safe_area(tv.screenshot())
        tv.keyboard.press("Enter")  # someone wants to look anyway
        assert tv.is_visible(".slide.current") and not tv.is_visible("#kiosk-night")
    finally:
        with contextlib.closing(library.datadir.connect()) as connection, db.transaction(connection):
            connection.execute("UPDATE kiosk_settings SET opens_at = NULL, closes_at = NULL")

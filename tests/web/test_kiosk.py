"""The TV kiosk over HTTP: its screens, QR codes, reading for open-access titles only, the
night screen, the librarian's controls; and the old-engine rules for its script and styles."""

from __future__ import annotations

import contextlib
import datetime
import re
from pathlib import Path

import pyjsparser
import pytest

from catalog import db, kiosk
from tests.web.client import Client
from tests.web.kiosk_site import PUBLIC_URL, kiosk_server

STATIC = Path(__file__).resolve().parents[2] / "ebookserver" / "static"
KIOSK_SCRIPTS = sorted(STATIC.glob("kiosk*.js"))
TIZEN_2018 = (
    "Mozilla/5.0 (SMART-TV; LINUX; Tizen 4.0) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/2.1 Chrome/56.0.2924.0 TV Safari/537.36"
)
WEBOS_2019 = (
    "Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/53.0.2785.34 Safari/537.36"
)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with kiosk_server(tmp_path_factory.mktemp("kiosk")) as running:
        yield running


# --- old engines ------------------------------------------------------------------------------


def test_there_is_a_kiosk_script_to_check():
    assert [path.name for path in KIOSK_SCRIPTS] == ["kiosk.js"]


class NotES5(Exception):
    pass


def parse_es5(source: str) -> dict:
    """The program's syntax tree, or an error for anything newer than ES5.1. pyjsparser is an
    ES5.1 parser that refuses arrow functions, classes, template literals, `?.`, `??`,
    async/await, modules, destructuring, spread, for-of and generators; the few ES2015 forms
    its parser lets through (let/const, default parameters, shorthand and computed properties,
    method shorthand) are refused by walking the tree."""
    tree = pyjsparser.parse(source)
    pending = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        kind = node.get("type")
        if kind == "VariableDeclaration" and node.get("kind") != "var":
            raise NotES5(f"`{node['kind']}` declaration")
        if kind in ("FunctionDeclaration", "FunctionExpression") and (node.get("defaults") or node.get("generator")):
            raise NotES5("default parameters or a generator")
        if kind == "Property" and (node.get("shorthand") or node.get("method") or node.get("computed")):
            raise NotES5("shorthand, method or computed property")
        pending.extend(value for value in node.values() if isinstance(value, (dict, list)))
    return tree


@pytest.mark.parametrize("script", KIOSK_SCRIPTS, ids=lambda path: path.name)
def test_every_kiosk_script_parses_as_es5(script):
    parse_es5(script.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "newer",
    [
        "var f = (a) => a;",
        "let a = 1;",
        "const a = 1;",
        "var s = `x${1}`;",
        "class A {}",
        "var a = b?.c;",
        "var a = b ?? c;",
        "async function f() { await g(); }",
        "import x from 'y';",
        "function f(a = 1) {}",
        "for (var x of y) {}",
        "var {a} = b;",
        "var a = [...b];",
        "var o = {a, b};",
        "var o = {f() {}};",
        "var o = {[k]: 1};",
        "function* g() {}",
    ],
)
def test_the_es5_check_refuses_newer_syntax(newer):
    with pytest.raises((pyjsparser.JsSyntaxError, NotES5)):
        parse_es5(newer)


def test_the_es5_check_accepts_es5():
    parse_es5("var o = {a: 1, get b() { return 2; }}; function f(x) { return x ? o.a : o['b']; }")


def test_kiosk_styles_use_no_grid_and_no_flex_gap():
    css = (STATIC / "kiosk.css").read_text(encoding="utf-8")
    rules = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    assert not re.search(
        r"display\s*:\s*(inline-)?grid|grid-template|(?<![-\w])(row-|column-)?gap\s*:", rules.replace("column-gap", "")
    ), "kiosk.css must work in Chromium 53: no CSS grid, no flexbox gap"
    for size in re.findall(r"font-size:\s*(\d+)px", rules):
        assert int(size) >= 28, f"text of {size}px on the TV: at least 28px"


# --- the domain -------------------------------------------------------------------------------


def test_opening_hours_decide_the_night_screen():
    chosen = kiosk.KioskSettings(
        slides=kiosk.SLIDES, interval_seconds=10, show_events=True, open_days=(1, 2, 3, 4, 5, 6),
        opens_at="08:00", closes_at="15:00",
    )  # fmt: skip
    monday = datetime.datetime(2026, 11, 23, 9, 30)
    assert kiosk.is_open(chosen, monday)
    assert not kiosk.is_open(chosen, monday.replace(hour=7, minute=59))
    assert not kiosk.is_open(chosen, monday.replace(hour=15, minute=0))
    assert not kiosk.is_open(chosen, monday + datetime.timedelta(days=6))  # Sunday
    assert kiosk.is_open(chosen.__class__(**{**chosen.__dict__, "opens_at": None, "closes_at": None}), monday)
    night_owl = chosen.__class__(**{**chosen.__dict__, "opens_at": "18:00", "closes_at": "01:00"})
    assert kiosk.is_open(night_owl, monday.replace(hour=23)) and not kiosk.is_open(night_owl, monday.replace(hour=2))


@pytest.mark.parametrize(
    ("agent", "engine"),
    [(TIZEN_2018, "Tizen 4.0, Chromium 56"), (WEBOS_2019, "webOS, Chromium 53"), ("", "unknown")],
)
def test_the_tv_engine_is_named_from_its_user_agent(agent, engine):
    assert kiosk.engine_of(agent) == engine


# --- the screens --------------------------------------------------------------------------------


def test_the_showcase_shows_every_slide_with_a_qr_code_per_book(served):
    server, library = served
    page = Client(server.base).get("/kiosk", headers={"User-Agent": TIZEN_2018}).body
    assert 'src="/static/kiosk.js"' in page and 'href="/static/kiosk.css"' in page
    assert "<script>" not in page and " style=" not in page  # nothing inline: the CSP allows none
    for name in ("Buku baru", "Paling banyak dibaca minggu ini", "Pilihan pustakawan", "Jam buka"):
        assert name in page
    assert "Jam Dongeng Anak" in page and "Senin–Sabtu 08.00–15.00" in page
    new = re.search(r'id="slide-new".*?</section>', page, re.DOTALL).group(0)
    assert set(re.findall(r'data-record="(\d+)"', new)) == {str(record_id) for record_id in library.ids.values()}
    popular = re.search(r'id="slide-popular".*?</section>', page, re.DOTALL).group(0)
    assert re.findall(r'data-record="(\d+)"', popular) == [str(library.ids["laporan"]), str(library.ids["padi"])]
    picks = re.search(r'id="slide-picks".*?</section>', page, re.DOTALL).group(0)
    assert re.findall(r'data-record="(\d+)"', picks) == [str(library.ids["nelayan"]), str(library.ids["kebun"])]
    for record_id in re.findall(r'data-record="(\d+)"', page):
        assert f'src="/kiosk/qr/{record_id}.svg"' in page


def test_a_qr_code_is_an_svg_of_the_record_page_on_the_library_network(served):
    server, library = served
    response = Client(server.base).get(f"/kiosk/qr/{library.ids['padi']}.svg")
    assert response.status == 200 and response.headers["Content-Type"].startswith("image/svg+xml")
    assert response.body.startswith("<svg")
    assert Client(server.base).get("/kiosk/qr/9999.svg").status == 404


def test_the_public_url_is_detected_from_the_address_the_tv_used(tmp_path):
    from ebookserver.app import create_app
    from ebookserver.views.kiosk import public_url
    from tests.web.kiosk_site import kiosk_library, kiosk_settings

    library = kiosk_library(tmp_path)
    app = create_app(kiosk_settings(library, public_url=""), check_index=False)
    try:
        with app.test_request_context("/kiosk", base_url="http://192.168.5.20:8080"):
            assert public_url() == "http://192.168.5.20:8080"
        with app.test_request_context("/kiosk", base_url="http://127.0.0.1:8080"):
            detected = public_url()
            assert detected.startswith("http://") and detected.endswith(":8080")
    finally:
        app.config["SEARCH_INDEX"].close()


def test_the_book_screen_offers_reading_only_for_open_access_titles(served):
    server, library = served
    client = Client(server.base)
    open_page = client.get(f"/kiosk/buku/{library.ids['padi']}").body
    assert "Menanam Padi di Sawah" in open_page and "Baca di TV" in open_page
    assert f'href="/kiosk/baca/{library.ids["padi"]}"' in open_page
    lending = client.get(f"/kiosk/buku/{library.ids['pinjam']}").body
    assert "Buku Pinjaman" in lending and "Baca di TV" not in lending
    assert client.get(f"/kiosk/baca/{library.ids['pinjam']}/1").status == 404
    assert client.get(f"/kiosk/baca/{library.ids['pinjam']}/1.png").status == 404
    missing = client.get("/kiosk/buku/9999")
    assert missing.status == 404 and 'data-screen="missing"' in missing.body  # the kiosk's own page


def test_the_tv_reads_pdf_pages_as_images_and_epub_chapters_as_html(served):
    server, library = served
    client = Client(server.base)
    pdf = client.get(f"/kiosk/baca/{library.ids['laporan']}/2").body
    assert f'src="/kiosk/baca/{library.ids["laporan"]}/2.png?file=' in pdf
    assert 'id="kiosk-previous"' in pdf and 'id="kiosk-next"' in pdf
    image = client.get(f"/kiosk/baca/{library.ids['laporan']}/2.png")
    assert image.status == 200 and image.headers["Content-Type"] == "image/png"
    epub = client.get(f"/kiosk/baca/{library.ids['padi']}/3").body
    assert "Bab kedua." in epub and 'id="kiosk-pages"' in epub
    assert client.get(f"/kiosk/baca/{library.ids['padi']}/9").status == 404


def test_the_tv_engine_is_logged_once(tmp_path, caplog):
    from ebookserver.app import create_app
    from tests.web.kiosk_site import kiosk_library, kiosk_settings

    library = kiosk_library(tmp_path)
    app = create_app(kiosk_settings(library), check_index=False)
    try:
        client = app.test_client()
        with caplog.at_level("INFO"):
            for _ in range(3):
                assert client.get("/kiosk", headers={"User-Agent": TIZEN_2018}).status_code == 200
        logged = [record.getMessage() for record in caplog.records if "kiosk engine" in record.getMessage()]
        assert len(logged) == 1 and "Tizen 4.0, Chromium 56" in logged[0]
    finally:
        app.config["SEARCH_INDEX"].close()


# --- the librarian's controls --------------------------------------------------------------------


def test_kiosk_controls_refuse_visitors_and_save_the_librarians_choices(workspace):
    assert Client(workspace.base).get("/kelola/kiosk").status == 302
    admin = workspace.set_up()
    page = admin.get("/kelola/kiosk").body
    assert "Kios TV" in page and "Detik per slide" in page
    saved = admin.post(
        "/kelola/kiosk",
        {
            "slides": ["new", "hours"],
            "interval_seconds": "5",
            "picks": "",
            "open_days": ["1", "2", "3", "4", "5", "6", "7"],
            "opens_at": "00:00",
            "closes_at": "00:01",
        },
    )
    assert saved.status == 302, saved.text[:2000]
    showcase = Client(workspace.base).get("/kiosk").body
    assert 'data-interval="5"' in showcase
    assert 'data-tab="hours"' in showcase and 'data-tab="events"' not in showcase
    assert 'data-night="1"' in showcase and "Perpustakaan sedang tutup." in showcase
    refused = admin.post(
        "/kelola/kiosk", {"slides": ["new"], "interval_seconds": "1", "picks": "12 abc", "opens_at": "08:00"}
    )
    assert refused.status == 200
    assert "Tulis nomor buku saja" in refused.body
    unknown = admin.post("/kelola/kiosk", {"slides": ["new"], "interval_seconds": "10", "picks": "4242"})
    assert unknown.status == 200 and "4242" in unknown.body


def test_the_qr_address_comes_from_the_public_url_setting(served):
    server, library = served
    assert PUBLIC_URL.startswith("http://192.168.")
    page = Client(server.base).get(f"/kiosk/buku/{library.ids['padi']}").body
    assert 'class="qr-large"' in page


def test_an_in_library_title_is_not_read_on_the_tv_even_inside_the_library(served):
    server, library = served
    kebun = library.ids["kebun"]
    with contextlib.closing(library.datadir.connect()) as connection, db.transaction(connection):
        connection.execute("UPDATE records SET licence = 'in-library' WHERE id = ?", (kebun,))
    try:
        client = Client(server.base)  # 127.0.0.1: one of the library's own addresses
        assert "Baca di TV" not in client.get(f"/kiosk/buku/{kebun}").body
        assert client.get(f"/kiosk/baca/{kebun}/1").status == 404
    finally:
        with contextlib.closing(library.datadir.connect()) as connection, db.transaction(connection):
            connection.execute("UPDATE records SET licence = 'open-access' WHERE id = ?", (kebun,))

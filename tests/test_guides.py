"""The guides stay true: the handbook, the poster and the sysadmin guide against the product.

The screenshot script is run on a fresh demo library in real headless Chromium and must make
every picture the guides show; the committed pictures must exist; the PDFs must build on A4 with
the pictures in them and the poster's QR code must open the address printed on it. The
sysadmin guide names every command in both languages, and the handbook's error messages are
the ones the product really shows.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pymupdf
import pytest
from babel.messages.pofile import read_po

from docs import build
from ebookserver.app import create_app
from ebookserver.cli import main
from ebookserver.settings import SETTINGS, load_settings

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
HANDBOOK = DOCS / "panduan-pustakawan.md"
POSTER = DOCS / "panduan-pemustaka.md"
SYSADMIN = ROOT / "deploy" / "README.md"
MESSAGES_ID = ROOT / "ebookserver" / "translations" / "id" / "LC_MESSAGES" / "messages.po"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
URL = "http://192.168.1.10/"


def guide_pictures() -> set[str]:
    return {Path(name).name for guide in (HANDBOOK, POSTER) for name in build.referenced_images(guide.read_text())}


def test_every_picture_the_guides_show_is_in_docs_img():
    missing = sorted(name for name in guide_pictures() if not (DOCS / "img" / name).is_file())
    assert not missing, f"docs/img lacks {missing}: run `python docs/screenshots.py docs/img`"


def test_docs_img_holds_no_picture_the_guides_do_not_show_and_stays_small():
    committed = {path.name for path in (DOCS / "img").glob("*.png")}
    assert committed - guide_pictures() == set(), "unused pictures in docs/img: delete them"
    total = sum(path.stat().st_size for path in (DOCS / "img").glob("*.png"))
    assert total < 4 * 1024 * 1024, f"docs/img is {total / 1e6:.1f} MB; keep the pictures small"


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    """docs/screenshots.py run as CI runs it, into a temporary folder."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but chromium is not installed (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    outdir = tmp_path_factory.mktemp("img")
    done = subprocess.run(
        [sys.executable, str(DOCS / "screenshots.py"), str(outdir)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    return outdir


@pytest.mark.slow
def test_the_screenshot_script_makes_every_picture_the_guides_show(screenshots):
    made = {path.name for path in screenshots.glob("*.png")}
    assert guide_pictures() - made == set(), "the screenshot script no longer makes these pictures"
    for path in screenshots.glob("*.png"):
        picture = pymupdf.Pixmap(str(path))
        assert picture.width in (1024, 1280) and 100 < picture.height <= 900, (path.name, picture.width)


def decoded(picture: pymupdf.Pixmap) -> dict[str, str]:
    """Every barcode and QR code zxing-cpp finds in *picture*, by format name."""
    zxingcpp = pytest.importorskip("zxingcpp", reason="in the test extra")
    gray = pymupdf.Pixmap(pymupdf.csGRAY, picture) if picture.n != 1 or picture.alpha else picture
    pixels = memoryview(gray.samples).cast("B", (gray.height, gray.width))
    return {code.format.name: code.text for code in zxingcpp.read_barcodes(pixels)}


@pytest.mark.slow
def test_the_member_card_the_handbook_shows_can_be_scanned_at_the_desk(screenshots):
    codes = decoded(pymupdf.Pixmap(str(screenshots / "pustakawan-18-kartu.png")))
    assert re.fullmatch(r"A\d{4}-\d{4}-\d", codes.get("Code128", "")), codes
    # and a full QR code (a Micro QR, which segno picks for short data, many scanners cannot read)
    assert codes.get("QRCode") == codes["Code128"], codes


@pytest.fixture(scope="module")
def pdfs(screenshots, tmp_path_factory) -> Path:
    outdir = tmp_path_factory.mktemp("pdf")
    assert build.main([str(outdir), "--url", URL, "--images", str(screenshots)]) == 0
    return outdir


def _a4(document: pymupdf.Document) -> bool:
    return all(abs(page.rect.width - 595) < 1 and abs(page.rect.height - 842) < 1 for page in document)


@pytest.mark.slow
def test_the_handbook_pdf_is_a4_with_every_screenshot(pdfs):
    with pymupdf.open(pdfs / "panduan-pustakawan.pdf") as document:
        assert _a4(document)
        images = sum(len(page.get_images()) for page in document)
        text = "".join(page.get_text() for page in document)
    assert images == len(build.referenced_images(HANDBOOK.read_text()))
    assert "Pesan kesalahan dan apa yang harus dilakukan" in text
    assert "Meja sirkulasi" in text


@pytest.mark.slow
def test_the_poster_is_one_a4_page_whose_qr_code_opens_the_printed_address(pdfs):
    with pymupdf.open(pdfs / "panduan-pemustaka.pdf") as document:
        assert document.page_count == 1 and _a4(document)
        page = document[0]
        assert URL in page.get_text()
        pixmap = page.get_pixmap(dpi=150, colorspace=pymupdf.csGRAY)
    assert decoded(pixmap) == {"QRCode": URL}


def test_the_poster_takes_the_address_from_public_url(tmp_path, monkeypatch):
    monkeypatch.setenv("EBOOKSERVER_PUBLIC_URL", "http://10.0.0.7")
    monkeypatch.delenv("EBOOKSERVER_CONFIG", raising=False)
    assert build.configured_url() == "http://10.0.0.7"


def test_the_build_refuses_a_guide_whose_pictures_are_missing(tmp_path):
    with pytest.raises(SystemExit, match="lacks"):
        build.build_handbook(tmp_path, tmp_path)


# --- the sysadmin guide ------------------------------------------------------------------


def halves(text: str) -> dict[str, str]:
    indonesian, english = re.split(r"^## English$", text.split("## Bahasa Indonesia\n", 1)[1], flags=re.M)
    return {"Bahasa Indonesia": indonesian, "English": english}


@pytest.mark.parametrize("language", ["Bahasa Indonesia", "English"])
def test_the_sysadmin_guide_names_every_command_in_both_languages(language):
    text = halves(SYSADMIN.read_text(encoding="utf-8"))[language]
    missing = [name for name in sorted(main.commands) if f"`ebookserver {name}" not in text]
    assert not missing, f"deploy/README.md ({language}, table under Perintah/Commands) lacks: {missing}"


@pytest.mark.parametrize("guide", [SYSADMIN, HANDBOOK], ids=lambda path: path.name)
def test_the_guides_name_only_commands_and_settings_that_exist(guide):
    text = guide.read_text(encoding="utf-8")
    code = "\n".join(block or span for block, span in re.findall(r"^```\w*\n(.*?)^```|`([^`\n]+)`", text, re.M | re.S))
    named = set(re.findall(r"\bebookserver ([a-z][a-z-]+)", code))
    unknown = sorted(name for name in named if name not in main.commands)
    assert not unknown, f"{guide.name} names commands that do not exist: {unknown}"
    settings = {setting.name for setting in SETTINGS}
    mentioned = set(re.findall(r"(?:setting|pengaturan) `([a-z_]+)`", text))
    mentioned |= set(re.findall(r"^([a-z_]+) = ", text, re.M))  # keys in the TOML examples
    assert mentioned - settings == set(), f"{guide.name} names settings that do not exist"


def test_the_handbook_gives_only_addresses_the_server_answers(tmp_path):
    app = create_app(load_settings(environ={}, overrides={"data_dir": tmp_path / "data"}), check_index=False)
    try:
        urls = app.url_map.bind("localhost")
        paths = set(re.findall(r"`http://ALAMAT-SERVER(/[^`]*)`", HANDBOOK.read_text()))
        paths |= set(re.findall(r"`(/(?:kelola|kiosk)[^`]*)`", HANDBOOK.read_text()))
        assert paths, "the handbook gives no addresses"
        unknown = sorted(path for path in paths if not urls.test(path, method="GET"))
        assert not unknown, f"the handbook gives addresses the server does not answer: {unknown}"
    finally:
        app.config["SEARCH_INDEX"].close()


def _messages() -> list[str]:
    with MESSAGES_ID.open("rb") as po:
        catalog = read_po(po)
    texts = []
    for message in catalog:
        for text in message.string if isinstance(message.string, tuple) else (message.string,):
            texts.append(re.sub(r"%\(\w+\)[sd]|%[sd]", "\x00", text or ""))
    return texts


def test_every_error_message_in_the_handbook_is_one_the_product_shows():
    section = HANDBOOK.read_text(encoding="utf-8").split("## Pesan kesalahan dan apa yang harus dilakukan", 1)[1]
    quoted = [
        line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| ") and "---" not in line
    ]
    quoted = [cell for cell in quoted if cell != "Pesan"]
    assert len(quoted) > 40
    messages = _messages()
    unknown = []
    for cell in quoted:
        for piece in cell.split(" / "):
            piece = re.sub(r"^\(.*?\)\s*", "", piece)
            pattern = re.escape(piece).replace(re.escape("*…*"), ".+?").replace(re.escape("…"), ".*?")
            if not any(re.search(pattern, message) for message in messages):
                unknown.append(piece)
    assert not unknown, f"the handbook quotes messages the product does not have: {unknown}"

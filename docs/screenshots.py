"""Screenshots for the guides, taken from the running product: `python docs/screenshots.py OUTDIR`.

A fresh demo library is served by the real `ebookserver serve` (a child process, as on the
library's server), and headless Chromium (Debian's, through Playwright) walks the librarian's
and the patron's journeys, saving one picture per step of the handbook. When the pages change,
running this again keeps the guides true; tests/test_guides.py checks that it still runs and
makes every picture the guides show.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from docs import demo_library  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"]
VIEWPORT = {"width": 1024, "height": 680}
TV = {"width": 1280, "height": 720}
PASSWORD = "sawah hijau pagi"  # noqa: S105 - the demo library's, printed in the handbook
MEMBER_PIN = "2468"
SERVER_URL = "http://192.168.1.10"  # what the demo library calls itself (public_url)
NAV = "Pengelolaan perpustakaan"
UNREACHABLE_RECEIVER = "http://127.0.0.1:9/api/v1/reports"  # port 9 (discard) is closed here


@contextlib.contextmanager
def running_server(data_dir: Path) -> Iterator[str]:
    """`ebookserver init`, then `ebookserver serve` on a free loopback port until the block ends."""
    environ = demo_environ(data_dir)
    command = [sys.executable, "-m", "ebookserver"]
    ebookserver(data_dir, "init")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(data_dir.parent / "serve.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [*command, "serve", "--host", "127.0.0.1", "--port", str(port)], env=environ, stdout=log, stderr=log, cwd=ROOT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, server)
        yield base
    except BaseException:  # say what the server said, then fail as before
        log.flush()
        sys.stderr.write((data_dir.parent / "serve.log").read_text(errors="replace")[-4000:])
        raise
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def demo_environ(data_dir: Path) -> dict[str, str]:
    """The demo library's settings. Its regional receiver is a closed port, so the statistics
    page shows what a librarian sees while the modem is off."""
    environ = {
        **os.environ,
        "EBOOKSERVER_DATA_DIR": str(data_dir),
        "EBOOKSERVER_PUBLIC_URL": SERVER_URL,
        "EBOOKSERVER_UPSTREAM_URL": UNREACHABLE_RECEIVER,
        "EBOOKSERVER_UPSTREAM_TOKEN": "demo",
    }
    environ.pop("EBOOKSERVER_CONFIG", None)
    return environ


def ebookserver(data_dir: Path, *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run an `ebookserver` command on the demo library, as the sysadmin would."""
    return subprocess.run(
        [sys.executable, "-m", "ebookserver", *arguments],
        env=demo_environ(data_dir),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=check,
    )


def _wait_until_up(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"ebookserver serve exited with status {server.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(base + "/healthz", timeout=2):  # noqa: S310
            return
        time.sleep(0.3)
    raise RuntimeError("ebookserver serve did not answer within 60 seconds")


def setup_code(data_dir: Path) -> str:
    return re.search(r"\d{8}", ebookserver(data_dir, "setup-code").stdout)[0]


class Camera:
    """Takes the named pictures into *outdir*: the page from its heading down (the menu and the
    header are the same on every page), or from the message at the top after an action, making
    sure the part the step is about is in the picture."""

    def __init__(self, outdir: Path) -> None:
        self.outdir = outdir
        self.taken: list[Path] = []

    def shot(self, page, name: str, focus=None, *, start: str = "h1", height: int = VIEWPORT["height"]) -> None:
        path = self.outdir / f"{name}.png"
        if start not in ("top", "h1"):
            page.locator(start).first.wait_for()  # the message after an action: wait for its page
        found = [selector for selector in (start, "h1") if selector != "top" and page.locator(selector).count()]
        if not found:
            page.screenshot(path=path, animations="disabled", caret="initial")
        else:
            page.evaluate("window.scrollTo(0, 0)")
            anchor = page.locator(found[0]).first.bounding_box()
            top = max(0, anchor["y"] - 12)
            if focus is not None:
                box = focus.first.bounding_box()
                top = max(top, box["y"] + box["height"] + 40 - height)
            bottom = min(top + height, page.evaluate("document.documentElement.scrollHeight"))
            clip = {"x": 0, "y": top, "width": page.viewport_size["width"], "height": bottom - top}
            page.screenshot(path=path, clip=clip, full_page=True, animations="disabled", caret="initial")
        self.taken.append(path)


def librarian_journey(page, base: str, data_dir: Path, demo: Path, camera: Camera) -> dict:
    """The handbook's chapters in order; returns what the patron's journey needs."""
    shot = camera.shot
    nav = page.get_by_role("navigation", name=NAV)

    def go(link: str) -> None:
        nav.get_by_role("link", name=link, exact=True).click()
        page.wait_for_load_state()

    # 1. First-run setup
    page.goto(base + "/kelola/")
    page.wait_for_url("**/kelola/siapkan")
    page.get_by_label("Kode penyiapan").fill(setup_code(data_dir))
    page.get_by_label("Nama perpustakaan").fill("Perpustakaan Desa Sukamaju")
    page.get_by_label("NPP (Nomor Pokok Perpustakaan)").fill("3204012345")
    page.get_by_label("Nama lengkap").fill("Ibu Sari")
    page.get_by_label("Nama pengguna").fill("sari")
    page.get_by_label("Kata sandi", exact=True).fill(PASSWORD)
    page.get_by_label("Ulangi kata sandi").fill(PASSWORD)
    shot(page, "pustakawan-01-siapkan")
    page.get_by_role("button", name="Siapkan").click()
    page.wait_for_url("**/kelola/")
    shot(page, "pustakawan-02-dasbor", start="top")

    # 2. E-books: upload, then fix the details and the licence
    go("Unggah e-book")
    shot(page, "pustakawan-03-unggah")
    page.set_input_files("#files", [str(path) for path in demo_library.make_ebooks(demo / "ebook")])
    page.get_by_role("button", name="Unggah", exact=True).click()
    page.locator("#upload-results li").nth(2).wait_for(timeout=60_000)
    shot(page, "pustakawan-04-hasil-unggah", page.locator("#upload-results li").first)
    go("Katalog")
    shot(page, "pustakawan-05-katalog")
    page.get_by_role("link", name="Si Kancil dan Buaya").first.click()
    page.wait_for_load_state()
    kancil = int(re.search(r"/(\d+)", page.url.rsplit("/kelola/", 1)[1])[1])
    page.get_by_label("Judul", exact=True).fill("Si Kancil dan Buaya Sungai")
    shot(page, "pustakawan-06-ubah-data", page.get_by_label("Judul", exact=True))
    page.get_by_role("button", name="Simpan data").click()
    page.wait_for_load_state()
    page.goto(f"{base}/kelola/katalog/{kancil}#licence")
    page.get_by_label("Peminjaman: sejumlah eksemplar", exact=False).check()
    page.locator("input[name=licence_copies]").fill("1")
    page.locator("input[name=loan_days]").fill("7")
    shot(page, "pustakawan-07-lisensi", page.locator("#licence"))
    page.get_by_role("button", name="Simpan lisensi").click()
    page.wait_for_load_state()

    # 3. Printed books: by hand, copies, import from SLiMS, labels
    go("Buku cetak")
    shot(page, "pustakawan-08-buku-cetak")
    page.get_by_role("link", name="Buku cetak baru").click()
    page.get_by_label("Judul", exact=True).fill("Bertani Sayur di Pekarangan")
    page.get_by_label("Pengarang").fill("Dewi Kartika")
    page.get_by_label("Penerbit").fill("Penerbit Desa")
    page.get_by_label("Tahun").fill("2021")
    page.get_by_label("Nomor DDC").fill("635")
    page.get_by_label("Kode batang eksemplar pertama").fill("B0001")
    page.get_by_label("Nomor panggil").fill("635 KAR b")
    page.get_by_label("Rak atau tempat").fill("Rak 3")
    shot(page, "pustakawan-09-buku-cetak-baru", page.get_by_label("Kode batang eksemplar pertama"))
    page.get_by_role("button", name="Simpan buku").click()
    page.wait_for_load_state()
    shot(page, "pustakawan-10-eksemplar", start=".flashes")
    go("Impor MARC / CSV")
    page.set_input_files("input[name=file]", str(demo_library.make_slims_export(demo)))
    page.locator("select[name=format]").select_option("slims")
    shot(page, "pustakawan-11-impor")
    page.get_by_role("button", name="Periksa berkas").click()
    page.get_by_role("button", name="Impor sekarang").wait_for()
    shot(page, "pustakawan-12-impor-periksa")
    page.get_by_role("button", name="Impor sekarang").click()
    page.get_by_role("heading", name="Impor selesai").wait_for()
    shot(page, "pustakawan-13-impor-selesai")
    go("Label")
    shot(page, "pustakawan-14-label")

    # 4. Members: register, PIN, card
    go("Anggota")
    page.get_by_role("link", name="Daftarkan anggota").click()
    page.get_by_label("Nama", exact=True).fill("Dewi Lestari")
    page.get_by_label("Tahun lahir").fill("2012")
    page.get_by_label("Jenis kelamin").select_option("P")
    page.get_by_label("Alamat").fill("RT 02 RW 01, Sukamaju")
    shot(page, "pustakawan-15-anggota-baru")
    page.get_by_role("button", name="Simpan").click()
    page.wait_for_url("**/kelola/anggota/*")
    number = page.locator("h1 .subtitle").inner_text().strip()
    member_page = page.url
    shot(page, "pustakawan-16-anggota", start=".flashes")
    page.get_by_role("link", name="Atur PIN").click()
    page.locator("input[name=pin]").fill(MEMBER_PIN)
    page.locator("input[name=confirm]").fill(MEMBER_PIN)
    shot(page, "pustakawan-17-pin")
    page.get_by_role("button", name="Simpan PIN").click()
    page.wait_for_load_state()
    card_page(page, member_page + "/kartu", camera)
    second = _register(page, base, "Rudi Hartono", "2010")

    # 5. The circulation desk: lend, return, overdue
    go("Meja sirkulasi")
    shot(page, "pustakawan-19-sirkulasi")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'anggota'")
    page.keyboard.type(number)  # the member number field has the focus: a scanner types and presses Enter
    page.keyboard.press("Enter")
    page.wait_for_url("**/kelola/sirkulasi?anggota=*")
    for barcode, title in (("S0001", "Laskar pelangi"), ("B0001", "Bertani Sayur")):
        # the barcode field has the focus once the page is there (a scanner types into it)
        page.wait_for_function("document.activeElement && document.activeElement.name === 'barcode'")
        page.keyboard.type(barcode)
        page.keyboard.press("Enter")
        page.locator(".flashes", has_text=title).wait_for()
    shot(page, "pustakawan-20-pinjam", start=".flashes", height=900)
    go("Meja sirkulasi")
    page.locator("input[name='in-barcode']").fill("S0001")
    shot(page, "pustakawan-21-kembali", page.locator("input[name='in-barcode']"))
    page.get_by_role("button", name="Kembalikan").click()
    page.wait_for_load_state()
    lent_weeks_ago(data_dir, "S0003", second, weeks=3)
    page.goto(base + "/kelola/sirkulasi/terlambat")
    shot(page, "pustakawan-22-terlambat")

    # 6. Events, the TV kiosk
    go("Kegiatan")
    page.get_by_label("Judul").fill("Dongeng Sore untuk Anak")
    page.get_by_label("Tanggal").fill((datetime.date.today() + datetime.timedelta(days=2)).isoformat())
    page.get_by_label("Jam mulai").fill("15:00")
    page.get_by_label("Tempat").fill("Ruang baca")
    page.get_by_label("Deskripsi").fill("Kakak relawan membacakan dongeng Si Kancil.")
    shot(page, "pustakawan-23-kegiatan")
    page.get_by_role("button", name="Simpan").first.click()
    page.wait_for_load_state()
    go("Kios TV")
    shot(page, "pustakawan-24-kios-atur")
    return {"number": number, "second": second, "kancil": kancil}


def card_page(page, url: str, camera: Camera) -> None:
    """The member card at twice the pixels (as the printer sees it): at one pixel per CSS pixel
    its barcode's thin bars blur into a black block."""
    card = open_page(
        page.context.browser,
        storage_state=page.context.storage_state(),
        viewport={"width": VIEWPORT["width"] // 2, "height": VIEWPORT["height"] // 2},
        device_scale_factor=2,
    )
    card.goto(url)
    camera.shot(card, "pustakawan-18-kartu", start="top")
    card.context.close()


def lent_weeks_ago(data_dir: Path, barcode: str, member_number: str, weeks: int) -> None:
    """A loan made before the demo library existed, so the overdue list has something to show."""
    from catalog import circulation, db
    from catalog.datadir import DataDir

    connection = DataDir(data_dir).connect()
    try:
        with db.transaction(connection):
            then = datetime.datetime.now(datetime.UTC) - datetime.timedelta(weeks=weeks)
            circulation.check_out(connection, barcode, member_number, now=then)
    finally:
        connection.close()


def _register(page, base: str, name: str, birth_year: str) -> str:
    page.goto(base + "/kelola/anggota/baru")
    page.get_by_label("Nama", exact=True).fill(name)
    page.get_by_label("Tahun lahir").fill(birth_year)
    page.get_by_role("button", name="Simpan").click()
    page.wait_for_url("**/kelola/anggota/*")
    number = page.locator("h1 .subtitle").inner_text().strip()
    page.goto(page.url + "/pin")
    page.locator("input[name=pin]").fill(MEMBER_PIN)
    page.locator("input[name=confirm]").fill(MEMBER_PIN)
    page.get_by_role("button", name="Simpan PIN").click()
    page.wait_for_load_state()
    return number


def reports_journey(page, base: str, data_dir: Path, camera: Camera) -> None:
    """Statistics, the monthly report (when this version has it), what was sent, accounts."""
    page.goto(base + "/kelola/statistik")
    camera.shot(page, "pustakawan-27-statistik")
    monthly = page.get_by_role("link", name="Laporan bulanan", exact=False)
    if monthly.count():  # the monthly report came with this version
        monthly.first.click()
        page.wait_for_load_state()
        camera.shot(page, "pustakawan-28-laporan-bulanan")
    ebookserver(data_dir, "push-stats", "--include-today", check=False)  # fails: the modem is "off"
    page.goto(base + "/kelola/statistik/kirim")
    camera.shot(page, "pustakawan-29-kirim-statistik")
    page.goto(base + "/kelola/pengguna")
    camera.shot(page, "pustakawan-30-akun")


def patron_journey(browser, base: str, people: dict, camera: Camera) -> None:
    """On a library PC: search, read, sign in and borrow; a second patron joins the queue."""
    for number, pictures in ((people["number"], True), (people["second"], False)):
        page = open_page(browser)
        page.goto(base + "/")
        if pictures:
            camera.shot(page, "pemustaka-beranda", start="top")
            page.locator("input[name=q]:visible").first.fill("padi")
            page.locator("input[name=q]:visible").first.press("Enter")
            page.wait_for_load_state()
            camera.shot(page, "pemustaka-cari")
            page.get_by_role("link", name="Menanam Padi di Sawah").first.click()
            page.wait_for_load_state()
            camera.shot(page, "pemustaka-buku")
            page.goto(page.url.replace("/buku/", "/baca/") + "/2")
            camera.shot(page, "pemustaka-baca", start="top")
        page.goto(f"{base}/buku/{people['kancil']}")
        page.get_by_role("link", name="Masuk untuk meminjam").first.click()
        page.locator("input[name=number]").fill(number)
        page.locator("input[name=pin]").fill(MEMBER_PIN)
        if pictures:
            camera.shot(page, "pemustaka-masuk")
        page.get_by_role("button", name="Masuk").last.click()
        page.wait_for_load_state()
        button = page.get_by_role("button", name="Pinjam", exact=True)
        (button if pictures else page.get_by_role("button", name="Antre")).first.click()
        page.wait_for_load_state()
        camera.shot(page, "pemustaka-pinjam" if pictures else "pustakawan-26-antrean", start=".flashes")
        page.context.close()


def kiosk_journey(browser, base: str, camera: Camera) -> None:
    page = open_page(browser, viewport=TV)
    page.goto(base + "/kiosk")
    page.wait_for_timeout(1500)  # the first slide fades in
    camera.shot(page, "pustakawan-25-kios-tv", start="top")
    page.context.close()


def open_page(browser, **options):
    """A page in a new browser context (its own cookies), in Indonesian; generous timeouts
    because the machine running this may be busy."""
    context = browser.new_context(**{"locale": "id-ID", "viewport": VIEWPORT, **options})
    context.set_default_timeout(60_000)
    return context.new_page()


def take(outdir: Path, work: Path | None = None) -> list[Path]:
    """Serve a new demo library, walk every journey, and return the pictures taken."""
    from playwright.sync_api import sync_playwright

    outdir.mkdir(parents=True, exist_ok=True)
    camera = Camera(outdir)
    with contextlib.ExitStack() as stack:
        work = work or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="panduan-")))
        data_dir = work / "data"
        base = stack.enter_context(running_server(data_dir))
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        stack.callback(browser.close)
        page = open_page(browser)
        people = librarian_journey(page, base, data_dir, work, camera)
        kiosk_journey(browser, base, camera)
        patron_journey(browser, base, people, camera)
        reports_journey(page, base, data_dir, camera)
    return camera.taken


def main(argv: list[str] | None = None, run: Callable[[Path], list[Path]] = take) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path, help="folder for the PNG pictures (e.g. docs/img)")
    arguments = parser.parse_args(argv)
    started = time.monotonic()
    taken = run(arguments.outdir)
    print(f"{len(taken)} screenshots in {arguments.outdir} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A small library served by a real waitress server, for the page and browser tests."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message

import pytest
from waitress.server import create_server

from catalog import accounts, db, records
from catalog.datadir import SETUP_CODE, DataDir
from ebookserver.app import create_app
from ebookserver.settings import load_settings
from tests.catalog.extract.books import picture_epub
from tests.catalog.search.library import Library, book_epub, book_pdf, build_library
from tests.conftest import CORPUS, manifest_rows
from tests.web.client import Client

DAMAGED_TEXT = ("Teks cadangan tentang sumur tua.",)
PADI = (
    "Petani di desa menanam padi di sawah pada musim hujan.",
    "Bab kedua bercerita tentang pupuk dan cara membaca tanda-tanda cuaca.",
    "Panen raya: warga desa memotong padi bersama-sama lalu menjemurnya.",
)


@dataclasses.dataclass
class Site:
    library: Library
    base: str

    def get(self, path: str, headers: dict | None = None) -> tuple[int, str, Message]:
        request = urllib.request.Request(self.base + path, headers=headers or {})  # noqa: S310 - our own server
        try:
            with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
                return response.status, response.read().decode("utf-8", "replace"), response.headers
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read().decode("utf-8", "replace"), error.headers


@pytest.fixture(scope="package")
def site(tmp_path_factory) -> Site:
    folder = tmp_path_factory.mktemp("site")
    books = [
        book_epub(
            folder,
            "padi",
            title="Menanam Padi di Sawah",
            chapters=PADI,
            authors=("Siti Rahayu",),
            subjects=("Pertanian",),
            publisher="Penerbit Desa",
            description="Panduan bertani untuk warga desa.",
        ),
        book_epub(
            folder,
            "nelayan",
            title="Kisah Nelayan",
            chapters=("Nelayan berangkat ke laut sebelum subuh.", "Ikan dijual di pasar pagi."),
            authors=("Siti Rahayu",),
        ),
        book_pdf(
            folder,
            "laporan",
            title="Laporan Perpustakaan",
            author="Budi Santoso",
            pages=("Halaman pertama laporan.", "Jumlah pengunjung perpustakaan naik.", "Penutup laporan."),
        ),
        book_epub(
            folder,
            "garden",
            title="The Village Garden",
            chapters=("Reading about libraries and gardens.",),
            language="en",
        ),
        # A chapter with structure, a picture and hostile payloads (the reader's own HTML).
        picture_epub(folder, "kebun"),
        # Imported whole, then damaged on disk: the reader falls back to its stored text.
        book_epub(folder, "rusak", title="Buku Rusak", chapters=DAMAGED_TEXT),
    ]
    library = build_library(folder, books)
    library.index.close()
    with library.connect() as connection:
        [damaged] = records.get_record(connection, library.ids["rusak"])["files"]
    stored = library.datadir.book_path(damaged["sha256"], "epub")
    stored.chmod(0o644)
    stored.write_bytes(stored.read_bytes()[:200])
    # Kisah Nelayan is also on the shelves: two printed copies and one withdrawn.
    with contextlib.closing(library.datadir.connect()) as connection, db.transaction(connection):
        for barcode, location, status in (
            ("B0001", "Rak anak 2", "available"),
            ("B0002", "Rak anak 2", "on-loan"),
            ("B0003", "Gudang", "withdrawn"),
        ):
            records.add_item(
                connection,
                library.ids["nelayan"],
                barcode=barcode,
                call_number="899.221 RAH k",
                location=location,
                status=status,
            )
        connection.execute(
            "UPDATE records SET created_at = '2026-08-16T20:00:00Z' WHERE id = ?", (library.ids["nelayan"],)
        )
    settings = load_settings(
        environ={}, overrides={"data_dir": library.datadir.root, "opening_hours": "Senin–Sabtu 08.00–15.00"}
    )
    with _served(library, settings) as running:
        yield running


# EPUBs of the shared corpus whose chapters carry scripts: the rows whose manifest entry
# mentions a script or an SVG, and two books whose chapters have scripts the manifest does
# not mention.
CORPUS_SCRIPT_BOOKS = ("epub/idpf-trees.epub", "epub/idpf-childrens-literature.epub")


def corpus_script_books() -> list[str]:
    if not (CORPUS / "MANIFEST.tsv").is_file():
        return []
    mentioned = [
        row["file"]
        for row in manifest_rows(CORPUS)
        if row["file"].endswith(".epub")
        and not row["kind"].endswith("-broken")
        and re.search(r"script|svg", row["file"] + " " + row["expected"], re.IGNORECASE)
    ]
    return sorted({*mentioned, *CORPUS_SCRIPT_BOOKS})


@pytest.fixture(scope="package")
def corpus_site(tmp_path_factory) -> Site:
    """The corpus EPUBs with script or SVG payloads, served: skipped with a reason without
    ../shared, failed under CI=true."""
    if not (CORPUS / "MANIFEST.tsv").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the shared corpus is missing at {CORPUS}")
        pytest.skip(f"the shared corpus is not at {CORPUS}, so its hostile EPUBs cannot be served")
    folder = tmp_path_factory.mktemp("corpus-site")
    books = []
    for name in corpus_script_books():
        books.append(folder / name.replace("/", "-"))
        shutil.copyfile(CORPUS / name, books[-1])
    library = build_library(folder, books)
    library.index.close()
    settings = load_settings(environ={}, overrides={"data_dir": library.datadir.root})
    with _served(library, settings) as running:
        yield running


@contextlib.contextmanager
def _served(library: Library, settings) -> Iterator[Site]:
    app = create_app(settings, check_index=False)
    try:
        with serving(app) as base:
            yield Site(library, base)
    finally:
        app.config["SEARCH_INDEX"].close()


@contextlib.contextmanager
def serving(app, threads: int = 4) -> Iterator[str]:
    """Serve *app* with waitress on a free loopback port; stop cleanly (the loop thread closes
    its own sockets, so no poll ever sees a closed descriptor)."""
    server = create_server(app, host="127.0.0.1", port=0, threads=threads)
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            server.asyncore.loop(timeout=0.1, map=server._map, count=1)
        for channel in list(server._map.values()):
            channel.close()
        server.task_dispatcher.shutdown()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stop.set()
        thread.join(timeout=10)


STAFF_PASSWORD = "sawah hijau pagi"


@dataclasses.dataclass
class Workspace:
    """A fresh library on a real waitress server, for the librarian's journeys."""

    base: str
    datadir: DataDir
    app: object

    def setup_data(self, **changes) -> dict:
        return {
            "setup_code": self.datadir.secret(SETUP_CODE, lambda: "unused"),
            "name": "Perpustakaan Desa Sukamaju",
            "npp": "3204012345",
            "village": "Sukamaju",
            "district": "Cibeunying",
            "regency": "Kabupaten Bandung",
            "province": "Jawa Barat",
            "opening_hours": "Senin–Sabtu 08.00–15.00",
            "full_name": "Ibu Sari",
            "username": "sari",
            "password": STAFF_PASSWORD,
            "confirm": STAFF_PASSWORD,
            **changes,
        }

    def set_up(self) -> Client:
        """First-run setup through the browser; returns the admin's signed-in client."""
        client = Client(self.base)
        response = client.post("/kelola/siapkan", self.setup_data())
        assert response.status == 302 and response.location == "/kelola/", response.text[:500]
        return client

    def add_user(self, username: str, role: str) -> None:
        with contextlib.closing(self.datadir.connect()) as connection, db.transaction(connection):
            accounts.create_user(connection, username, username.title(), role, STAFF_PASSWORD)

    def sign_in(self, username: str, password: str = STAFF_PASSWORD) -> Client:
        client = Client(self.base)
        response = client.post("/kelola/masuk", {"username": username, "password": password})
        assert response.status == 302, response.text[:300]
        return client


@pytest.fixture
def workspace(tmp_path) -> Iterator[Workspace]:
    settings = load_settings(environ={}, overrides={"data_dir": tmp_path / "data"})
    app = create_app(settings, check_index=False)
    with serving(app) as base:
        yield Workspace(base, DataDir(tmp_path / "data"), app)
    app.config["SEARCH_INDEX"].close()


# --- real headless Chromium (Debian's `chromium`, driven by Playwright) -----------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but chromium is not installed (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="id-ID")
    opened = context.new_page()
    requested_hosts = set()
    opened.on("request", lambda request: requested_hosts.add(request.url.split("/")[2]))
    opened.requested_hosts = requested_hosts
    yield opened
    context.close()

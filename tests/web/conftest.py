"""A small library served by a real waitress server, for the page and browser tests."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message

import pytest
from waitress.server import create_server

from catalog import db, records
from ebookserver.app import create_app
from ebookserver.settings import load_settings
from tests.catalog.search.library import Library, book_epub, book_pdf, build_library

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
    ]
    library = build_library(folder, books)
    library.index.close()
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
    app = create_app(settings, check_index=False)
    with serving(app) as base:
        yield Site(library, base)
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

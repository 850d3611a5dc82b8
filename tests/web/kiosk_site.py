"""A small library for the TV kiosk's tests, on a waitress server that can be stopped and
started again on the same port (the TV must live through a server restart)."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from pathlib import Path

from waitress.server import create_server

from catalog import announcements, db, events, kiosk
from ebookserver.app import create_app
from ebookserver.settings import load_settings
from tests.catalog.search.library import Library, book_epub, book_pdf, build_library

PUBLIC_URL = "http://192.168.1.10:8080"
LONG_CHAPTER = " ".join(["Warga desa membaca buku bersama di perpustakaan setiap sore hari."] * 90)


def kiosk_library(folder: Path) -> Library:
    books = [
        book_epub(folder, "padi", title="Menanam Padi di Sawah", chapters=(LONG_CHAPTER, "Bab kedua.", "Bab ketiga."),
                  authors=("Siti Rahayu",), description="Panduan bertani untuk warga desa."),
        book_pdf(folder, "laporan", title="Laporan Perpustakaan", author="Budi Santoso",
                 pages=("Halaman pertama laporan.", "Halaman kedua laporan.", "Penutup laporan.")),
        book_epub(folder, "nelayan", title="Kisah Nelayan", chapters=("Nelayan berangkat ke laut.",),
                  authors=("Ahmad",)),
        book_epub(folder, "pinjam", title="Buku Pinjaman", chapters=("Hanya untuk anggota.",)),
        book_epub(folder, "kebun", title="Kebun Sekolah", chapters=("Menanam sayur di sekolah.",)),
    ]  # fmt: skip
    library = build_library(folder, books)
    library.index.close()
    with contextlib.closing(library.datadir.connect()) as connection, db.transaction(connection):
        connection.execute("UPDATE records SET licence = 'lending', licence_copies = 1 WHERE id = ?",
                           (library.ids["pinjam"],))  # fmt: skip
        for _ in range(3):
            connection.execute(
                "INSERT INTO events (kind, record_id) VALUES (?, ?)", (events.READ, library.ids["laporan"])
            )
        connection.execute("INSERT INTO events (kind, record_id) VALUES (?, ?)", (events.READ, library.ids["padi"]))
        kiosk.set_picks(connection, [library.ids["nelayan"], library.ids["kebun"]])
        announcements.add(
            connection, {"title": "Jam Dongeng Anak", "starts_at": "2099-01-10T09:00", "place": "Ruang baca"}
        )
    return library


def kiosk_settings(library: Library, **overrides):
    return load_settings(
        environ={},
        overrides={
            "data_dir": library.datadir.root,
            "opening_hours": "Senin–Sabtu 08.00–15.00",
            "public_url": PUBLIC_URL,
            **overrides,
        },
    )


@dataclasses.dataclass
class RestartableServer:
    """The app on waitress at 127.0.0.1:port; `stop()` closes every socket, `start()` listens again."""

    app: object
    port: int = 0
    _stop: threading.Event | None = None
    _thread: threading.Thread | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        server = create_server(self.app, host="127.0.0.1", port=self.port, threads=4)
        self.port = server.effective_port
        stop = threading.Event()

        def run() -> None:
            while not stop.is_set():
                server.asyncore.loop(timeout=0.05, map=server._map, count=1)
            for channel in list(server._map.values()):
                channel.close()
            server.task_dispatcher.shutdown()

        self._stop, self._thread = stop, threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
            self._thread.join(timeout=10)
            self._stop = None


@contextlib.contextmanager
def kiosk_server(folder: Path):
    library = kiosk_library(folder)
    app = create_app(kiosk_settings(library), check_index=False)
    server = RestartableServer(app)
    server.start()
    try:
        yield server, library
    finally:
        server.stop()
        app.config["SEARCH_INDEX"].close()

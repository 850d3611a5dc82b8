"""Drawing PDF pages keeps the server's memory flat, on a real waitress server.

MuPDF caches every image it decodes in a store shared by all documents of the process (256 MB
by default), so a server drawing pages of scanned books all day grew by that much in each
worker process: bench/load.py measured +26% after warm-up in ten minutes. The reader and the
kiosk empty that cache after each page they draw.
"""

from __future__ import annotations

import shutil
import urllib.request

import psutil

from ebookserver.app import create_app
from ebookserver.settings import load_settings
from tests.catalog.search.library import build_library
from tests.web.conftest import serving

ROUNDS = 10
PAGES = 4  # of the scanned PDF: each is one large image to decode
ALLOWED_GROWTH = 30 * 1024 * 1024  # without emptying the cache: about 1 MB more per page drawn


def test_drawing_scanned_pages_again_and_again_keeps_memory_flat(tmp_path, corpus):
    folder = tmp_path / "books"
    folder.mkdir()
    shutil.copyfile(corpus / "pdf" / "id-pp-05-2021-scanned.pdf", folder / "scan.pdf")
    library = build_library(tmp_path, [folder / "scan.pdf"])
    library.index.close()
    record = library.ids["scan"]
    app = create_app(load_settings(environ={}, overrides={"data_dir": library.datadir.root}), check_index=False)
    process = psutil.Process()
    try:
        with serving(app) as base:

            def draw(rounds: int) -> None:
                for _round in range(rounds):
                    for seq in range(1, PAGES + 1):
                        for path in (f"/baca/{record}/{seq}.png", f"/kiosk/baca/{record}/{seq}.png"):
                            with urllib.request.urlopen(base + path, timeout=60) as response:  # noqa: S310
                                assert response.status == 200
                                assert response.read(8) == b"\x89PNG\r\n\x1a\n"

            draw(1)  # the first pages: fonts, code paths and buffers that stay
            before = process.memory_info().rss
            draw(ROUNDS)
            growth = process.memory_info().rss - before
    finally:
        app.config["SEARCH_INDEX"].close()
    assert growth < ALLOWED_GROWTH, f"{growth / 2**20:.0f} MB more after {ROUNDS * PAGES * 2} page images"

"""A library that holds hostile books, served by a real waitress server, with one account of
each kind signed in: the attack tests share it (they only read, or change what they undo)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
from collections.abc import Iterator

import pytest

from catalog import accounts, announcements, db, members, pins
from ebookserver.app import create_app
from ebookserver.settings import load_settings
from tests.catalog.extract.books import picture_epub
from tests.catalog.search.library import Library, book_epub, build_library
from tests.conftest import CORPUS
from tests.web.client import Client
from tests.web.conftest import STAFF_PASSWORD, browser, page, serving, workspace  # noqa: F401 - fixtures used here

XSS_BOOK = "hostile/xss-script-in-content-and-title.epub"
# What the corpus book's dc:title says once its XML escaping is undone.
XSS_TITLE = '<script>alert("opac")</script><img src=x onerror=alert(2)>'
PATRON_NUMBER, PATRON_PIN = "S-1", "2468"


@dataclasses.dataclass
class HostileSite:
    base: str
    library: Library
    app: object
    users: dict[str, int]
    member_id: int
    announcement_id: int

    def client(self, who: str) -> Client:
        """A fresh browser: `anonymous`, `patron`, `librarian` or `admin`, signed in."""
        client = Client(self.base)
        if who == "patron":
            response = client.post("/masuk", {"number": PATRON_NUMBER, "pin": PATRON_PIN})
            assert response.status == 302 and client.cookie("patron_session"), response.text[:300]
        elif who in ("librarian", "admin"):
            response = client.post("/kelola/masuk", {"username": who, "password": STAFF_PASSWORD})
            assert response.status == 302 and client.cookie("staff_session"), response.text[:300]
        return client


def hostile_corpus_book() -> str:
    if not (CORPUS / XSS_BOOK).is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the shared corpus is missing at {CORPUS}")
        pytest.skip(f"the shared corpus is not at {CORPUS}, so its XSS book cannot be served")
    return str(CORPUS / XSS_BOOK)


@pytest.fixture(scope="package")
def hostile_site(tmp_path_factory) -> Iterator[HostileSite]:
    """The corpus's XSS book, a book with hostile chapter payloads and an ordinary one, an
    announcement titled with the same payload, an admin, a librarian and a patron."""
    folder = tmp_path_factory.mktemp("hostile-site")
    xss = folder / "xss.epub"
    shutil.copyfile(hostile_corpus_book(), xss)
    books = [
        xss,
        picture_epub(folder, "kebun"),
        book_epub(folder, "padi", title="Menanam Padi", chapters=("Petani menanam padi di sawah.",)),
    ]
    library = build_library(folder, books)
    library.index.close()
    with contextlib.closing(library.datadir.connect()) as connection:
        with db.transaction(connection):
            users = {
                role: accounts.create_user(connection, role, role.title(), role, STAFF_PASSWORD)
                for role in ("admin", "librarian")
            }
            announcement_id = announcements.add(
                connection, {"title": XSS_TITLE, "description": XSS_TITLE, "place": XSS_TITLE}
            )
        member = members.register_member(connection, XSS_TITLE, number=PATRON_NUMBER)
        pins.set_pin(connection, PATRON_NUMBER, PATRON_PIN)
    settings = load_settings(environ={}, overrides={"data_dir": library.datadir.root})
    app = create_app(settings, check_index=False)
    try:
        with serving(app) as base:
            yield HostileSite(base, library, app, users, member["id"], announcement_id)
    finally:
        app.config["SEARCH_INDEX"].close()

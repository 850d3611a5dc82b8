"""E-lending on a real waitress server, as a patron meets it: signing in with member number and
PIN, borrowing, reading under loan, another patron shut out, a loan that ended, returning early
to the next in the queue, reading on from the same place on another device, signing out (by
hand and by idling), in-library titles, the opt-in history, the stamped PDF download, and
two patrons racing for the last copy."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import urllib.request
from collections.abc import Iterator

import pymupdf
import pytest

from catalog import accounts, db, members, pins
from catalog.datadir import DataDir
from ebookserver.app import create_app
from ebookserver.settings import load_settings
from tests.catalog.search.library import book_epub, book_pdf, build_library
from tests.web.client import Client
from tests.web.conftest import serving

PIN = "2468"


@dataclasses.dataclass
class Lending:
    base: str
    datadir: DataDir
    lent: int  # a PDF of three pages, one licensed copy, lent for 3 days
    free: int  # an open-access EPUB

    def connect(self):
        return contextlib.closing(self.datadir.connect())

    def patron(self, number: str, name: str) -> int:
        with self.connect() as connection:
            member = members.register_member(connection, name, number=number)
            pins.set_pin(connection, number, PIN)
        return member["id"]

    def sign_in(self, number: str, pin: str = PIN) -> Client:
        client = Client(self.base)
        response = client.post("/masuk", {"number": number, "pin": pin})
        assert response.status == 302, response.text[:400]
        return client

    def sql(self, statement: str, *parameters) -> list:
        with self.connect() as connection:
            return connection.execute(statement, parameters).fetchall()


def _library(tmp_path, **settings) -> Iterator[Lending]:
    folder = tmp_path / "books"
    folder.mkdir(parents=True)
    books = [
        book_pdf(
            folder,
            "laporan",
            title="Laporan Perpustakaan",
            author="Budi Santoso",
            pages=("Halaman pertama laporan.", "Jumlah pengunjung naik.", "Penutup laporan."),
        ),
        book_epub(folder, "padi", title="Menanam Padi", chapters=("Petani menanam padi.", "Panen raya.")),
    ]
    library = build_library(folder, books)
    library.index.close()
    lent, free = library.ids["laporan"], library.ids["padi"]
    with contextlib.closing(library.datadir.connect()) as connection, db.transaction(connection):
        connection.execute(
            "UPDATE records SET licence = 'lending', licence_copies = 1, loan_days = 3 WHERE id = ?", (lent,)
        )
    app = create_app(
        load_settings(environ={}, overrides={"data_dir": library.datadir.root, **settings}), check_index=False
    )
    try:
        with serving(app) as base:
            yield Lending(base, library.datadir, lent, free)
    finally:
        app.config["SEARCH_INDEX"].close()


@pytest.fixture
def lending(tmp_path) -> Iterator[Lending]:
    yield from _library(tmp_path)


def _borrow(client: Client, record_id: int):
    return client.post(f"/pinjam/{record_id}", {}, form_page=f"/buku/{record_id}")


def test_sign_in_with_member_number_and_pin_refusals_in_indonesian_and_lockout(lending):
    lending.patron("S-1", "Siti Aminah")
    visitor = Client(lending.base)
    page = visitor.get("/masuk")
    assert "Nomor anggota" in page.text and "PIN" in page.text and 'autocomplete="off"' in page.body
    assert page.headers["Cache-Control"] == "no-store"
    wrong = visitor.post("/masuk", {"number": "S-1", "pin": "1111"})
    assert wrong.status == 401 and "Nomor anggota atau PIN salah." in wrong.text
    unknown = visitor.post("/masuk", {"number": "NOBODY", "pin": PIN})
    assert "Nomor anggota atau PIN salah." in unknown.text  # the same words: no hint which was wrong
    for _ in range(4):
        last = visitor.post("/masuk", {"number": "S-1", "pin": "1111"})
    assert "masuk dikunci" in last.text
    locked = visitor.post("/masuk", {"number": "S-1", "pin": PIN})
    assert locked.status == 401 and "masuk dikunci" in locked.text and visitor.cookie("patron_session") is None


def test_sign_in_is_rate_limited_per_address(lending):
    visitor = Client(lending.base)
    token = visitor.get("/masuk").csrf_token()
    for attempt in range(accounts.CLIENT_FAILURES_LIMIT):
        visitor.request("/masuk", data={"number": f"X{attempt}", "pin": "1111", "csrf_token": token})
    lending.patron("S-1", "Siti Aminah")
    held = visitor.request("/masuk", data={"number": "S-1", "pin": PIN, "csrf_token": token})
    assert held.status == 429 and "Terlalu banyak" in held.text and visitor.cookie("patron_session") is None


def test_borrow_and_read_under_loan_while_others_cannot(lending):
    lending.patron("S-1", "Siti Aminah")
    lending.patron("B-2", "Budi")
    siti = lending.sign_in("S-1")
    record = siti.get(f"/buku/{lending.lent}")
    assert "1 dari 1 eksemplar tersedia" in record.text and "Pinjam" in record.text and "Keluar" in record.text
    borrowed = _borrow(siti, lending.lent)
    assert borrowed.status == 302 and borrowed.location == f"/baca/{lending.lent}"
    page = siti.get(f"/baca/{lending.lent}/2")
    assert page.status == 200 and "Jumlah pengunjung naik." in page.text and "Dipinjam sampai" in page.text
    image = siti.get(f"/baca/{lending.lent}/2.png")
    assert image.status == 200 and image.headers["Cache-Control"] == "no-store"
    assert siti.get(f"/unduh/{lending.lent}").status == 403  # a licensed title is never handed out whole
    account = siti.get("/akun")
    assert "Laporan Perpustakaan" in account.text and "Kembalikan sekarang" in account.text
    assert account.headers["Cache-Control"] == "no-store"

    budi = lending.sign_in("B-2")
    refused = budi.get(f"/baca/{lending.lent}/2")
    assert refused.status == 403 and "Jumlah pengunjung" not in refused.text
    assert "Antre" in refused.text and "0 dari 1 eksemplar tersedia" in refused.text
    assert budi.get(f"/baca/{lending.lent}/2.png").status == 403
    # A forged URL: the lent book's file asked for under an open-access record.
    [(lent_file,)] = lending.sql("SELECT id FROM ebook_files WHERE record_id = ?", lending.lent)
    assert budi.get(f"/baca/{lending.free}/1?file={lent_file}").status == 404
    assert budi.get(f"/baca/{lending.free}/gambar/x.png?file={lent_file}").status == 404
    assert "Laporan Perpustakaan" not in budi.get("/akun").text  # nobody sees another's loans
    visitor = Client(lending.base)
    shut = visitor.get(f"/baca/{lending.lent}/1")
    assert shut.status == 403 and "Masuk untuk meminjam" in shut.text
    assert visitor.get(f"/baca/{lending.lent}/1.png").status == 403
    # Open-access titles need nobody to sign in.
    assert visitor.get(f"/baca/{lending.free}/1").status == 200


def test_borrowing_over_the_limit_is_refused_in_indonesian(lending):
    lending.patron("S-1", "Siti Aminah")
    lending.sql("UPDATE member_categories SET max_ebook_loans = 0")
    siti = lending.sign_in("S-1")
    refused = _borrow(siti, lending.lent)
    assert refused.location == f"/buku/{lending.lent}"
    assert "paling banyak" in siti.get(refused.location).text
    assert lending.sql("SELECT count(*) FROM ebook_loans")[0][0] == 0
    free = _borrow(siti, lending.free)
    assert "tidak dipinjamkan" in siti.get(free.location).text


def test_an_ended_loan_makes_the_reader_say_so_and_offer_to_borrow_again(lending):
    lending.patron("S-1", "Siti Aminah")
    siti = lending.sign_in("S-1")
    _borrow(siti, lending.lent)
    assert siti.get(f"/baca/{lending.lent}/1").status == 200
    lending.sql("UPDATE ebook_loans SET due_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 minute')")
    ended = siti.get(f"/baca/{lending.lent}/1")
    assert ended.status == 403 and "Masa pinjam Anda untuk e-book ini berakhir" in ended.text
    assert "Halaman pertama" not in ended.text and "Pinjam" in ended.text
    # The same URL, remembered or copied, opens nothing now.
    assert siti.get(f"/baca/{lending.lent}/1.png").status == 403
    again = siti.post(f"/pinjam/{lending.lent}", {}, form_page=f"/baca/{lending.lent}/1")
    assert again.location == f"/baca/{lending.lent}"


def test_returning_early_passes_the_copy_to_the_next_in_the_queue(lending):
    lending.patron("S-1", "Siti Aminah")
    lending.patron("B-2", "Budi")
    siti, budi = lending.sign_in("S-1"), lending.sign_in("B-2")
    _borrow(siti, lending.lent)
    queued = _borrow(budi, lending.lent)
    assert queued.location == "/akun#holds"
    waiting = budi.get("/akun")
    assert "Anda nomor 1 dalam antrean." in waiting.text and "Perkiraan" in waiting.text
    returned = siti.post(f"/kembalikan/{lending.lent}", {}, form_page="/akun")
    assert "Dikembalikan: “Laporan Perpustakaan”" in siti.get(returned.location).text
    assert siti.get(f"/baca/{lending.lent}/1").status == 403
    ready = budi.get("/akun")
    assert "Satu eksemplar siap untuk Anda sampai" in ready.text
    assert _borrow(budi, lending.lent).location == f"/baca/{lending.lent}"
    assert budi.get(f"/baca/{lending.lent}/1").status == 200


def test_a_patron_reads_on_from_the_same_place_on_another_device(lending):
    lending.patron("S-1", "Siti Aminah")
    pc = lending.sign_in("S-1")
    _borrow(pc, lending.lent)
    pc.get(f"/baca/{lending.lent}/3")
    assert not any(cookie.name.startswith("pos-") for cookie in pc.cookies)  # nothing left on the PC
    pc.post("/keluar", {}, form_page="/akun")
    phone = lending.sign_in("S-1")
    assert phone.get(f"/baca/{lending.lent}").location.startswith(f"/baca/{lending.lent}/3")


def test_signing_out_ends_the_session_and_clears_the_browser(lending):
    lending.patron("S-1", "Siti Aminah")
    siti = Client(lending.base)
    signed_in = siti.post("/masuk", {"number": "S-1", "pin": PIN})
    cookie = next(value for value in signed_in.headers.get_all("Set-Cookie") if value.startswith("patron_session="))
    assert "HttpOnly" in cookie and "Expires" not in cookie and "Max-Age" not in cookie  # gone with the browser
    assert "remember" not in Client(lending.base).get("/masuk").body.lower()  # no "remember me"
    out = siti.post("/keluar", {}, form_page="/akun")
    assert out.status == 302 and out.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert siti.cookie("patron_session") is None
    assert lending.sql("SELECT count(*) FROM sessions WHERE kind = 'member'")[0][0] == 0
    after = siti.get(out.location)
    assert "Anda sudah keluar" in after.text and 'action="/keluar"' not in after.body
    assert siti.get("/akun").location.startswith("/masuk")


def test_an_idle_patron_is_signed_out(lending):
    lending.patron("S-1", "Siti Aminah")
    siti = lending.sign_in("S-1")
    assert siti.get("/akun").status == 200
    lending.sql("UPDATE sessions SET last_seen_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-16 minutes')")
    assert siti.get("/akun").location == "/masuk?next=/akun"
    assert siti.cookie("patron_session") is None
    page = siti.get("/masuk?next=/akun")
    assert "Anda otomatis keluar" in page.text
    assert 'href="/masuk"' in page.body and "/keluar" not in page.body


def test_the_reading_history_is_off_until_asked_and_deleted_on_request(lending):
    lending.patron("S-1", "Siti Aminah")
    siti = lending.sign_in("S-1")
    siti.get(f"/baca/{lending.free}/1")
    assert "Nonaktif" in siti.get("/akun").text and lending.sql("SELECT count(*) FROM reading_history")[0][0] == 0
    siti.post("/akun/riwayat", {"keep": "y"}, form_page="/akun")
    siti.get(f"/baca/{lending.free}/1")
    assert "Menanam Padi" in siti.get("/akun").text
    siti.post("/akun/riwayat/hapus", {}, form_page="/akun")
    assert lending.sql("SELECT count(*) FROM reading_history")[0][0] == 0


def test_in_library_titles_open_only_from_the_library_networks(tmp_path):
    for networks, readable in (("10.9.0.0/16", False), ("127.0.0.0/8", True)):
        with contextlib.ExitStack() as stack:
            site = stack.enter_context(contextlib.closing(_library(tmp_path / networks[:2], library_networks=networks)))
            lending = next(site)
            lending.sql("UPDATE records SET licence = 'in-library', licence_copies = NULL WHERE id = ?", lending.free)
            page = Client(lending.base).get(f"/baca/{lending.free}/1")
            if readable:
                assert page.status == 200
            else:
                assert page.status == 403 and "hanya dapat dibaca di komputer perpustakaan" in page.text
                assert Client(lending.base).get(f"/unduh/{lending.free}").status == 403


def test_two_patrons_borrowing_the_last_copy_at_once_get_one_loan_and_one_hold(lending):
    lending.patron("S-1", "Siti Aminah")
    lending.patron("B-2", "Budi")
    clients = [lending.sign_in("S-1"), lending.sign_in("B-2")]
    tokens = [client.get(f"/buku/{lending.lent}").csrf_token() for client in clients]
    barrier, answers = threading.Barrier(2), []

    def borrow(client, token):
        barrier.wait()
        answers.append(client.request(f"/pinjam/{lending.lent}", data={"csrf_token": token}).location)

    threads = [threading.Thread(target=borrow, args=pair) for pair in zip(clients, tokens, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(answers) == ["/akun#holds", f"/baca/{lending.lent}"]
    assert lending.sql("SELECT count(*) FROM ebook_loans")[0][0] == 1
    assert lending.sql("SELECT count(*) FROM ebook_holds WHERE ended_at IS NULL")[0][0] == 1


def test_a_borrower_downloads_the_pdf_stamped_with_their_number_where_allowed(lending):
    lending.patron("S-1", "Siti Aminah")
    lending.patron("B-2", "Budi")
    siti, budi = lending.sign_in("S-1"), lending.sign_in("B-2")
    _borrow(siti, lending.lent)
    assert siti.get(f"/unduh/{lending.lent}/bertanda").status == 403  # not allowed for this title yet
    assert "bertanda" not in siti.get(f"/buku/{lending.lent}").body
    lending.sql("UPDATE records SET stamped_download = 1 WHERE id = ?", lending.lent)
    assert f"/unduh/{lending.lent}/bertanda" in siti.get(f"/buku/{lending.lent}").body
    request = urllib.request.Request(f"{lending.base}/unduh/{lending.lent}/bertanda")  # noqa: S310 - ours
    with siti.opener.open(request, timeout=30) as response:
        assert response.headers["Content-Type"] == "application/pdf"
        assert response.headers["Cache-Control"] == "no-store"
        data = response.read()
    with pymupdf.open(stream=data, filetype="pdf") as document:
        assert document.page_count == 3
        assert all("Dipinjamkan kepada anggota S-1" in page.get_text() for page in document)
    assert budi.get(f"/unduh/{lending.lent}/bertanda").status == 403  # no loan, no file
    assert Client(lending.base).get(f"/unduh/{lending.lent}/bertanda").status == 403

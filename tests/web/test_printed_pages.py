"""The print catalogue in the librarian's workspace, on a real waitress server: importing a
MARCXML and a SLiMS file (dry-run report in Indonesian, then commit), a malformed file that
imports nothing, the MARCXML export, label sheets, and printed books with their copies by hand."""

from __future__ import annotations

import contextlib
import re
import urllib.error
import urllib.parse
import urllib.request

import pymupdf
import xmlschema

from catalog import circulation, db, members
from catalog import search as search_engine
from tests.catalog.test_printed import (
    BUMI,
    MARC_SCHEMA,
    add_ebook,
    indonesian_book,
    marcxml,
    slims_csv,
    slims_line,
)
from tests.web.client import Client
from tests.web.test_events import _multipart


def _upload(client, data: bytes, filename: str, format: str = "auto") -> tuple[int, str]:
    """POST a file to the import page with the page's CSRF token, as the browser's form does."""
    token = client.get("/kelola/cetak/impor").csrf_token()
    body, content_type = _multipart(
        {"csrf_token": token, "format": format}, {"file": (filename, data, "application/octet-stream")}
    )
    return _send(client, "/kelola/cetak/impor", body, {"Content-Type": content_type})[:2]


def _send(client, path: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, str, object, bytes]:
    """(status, text, headers, raw bytes) of a request, for the downloads (PDF, XML)."""
    request = urllib.request.Request(client.base + path, data=body, headers=headers or {})  # noqa: S310 - ours
    try:
        with client.opener.open(request, timeout=60) as response:
            raw = response.read()
            return response.status, raw.decode("utf-8", "replace"), response.headers, raw
    except urllib.error.HTTPError as error:
        with error:
            raw = error.read()
            return error.code, raw.decode("utf-8", "replace"), error.headers, raw


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _with_an_ebook(workspace) -> int:
    """One e-book, indexed: search in a catalogue of printed books only is a known bug (catalog.search)."""
    with contextlib.closing(workspace.datadir.connect()) as connection:
        record_id = add_ebook(connection)
        search_engine.index_records(workspace.app.config["SEARCH_INDEX"], connection, [record_id])
    return record_id


def _count(workspace, table: str) -> int:
    with contextlib.closing(workspace.datadir.connect()) as connection:
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 (test table names)


def _pending_files(workspace) -> list:
    return list(workspace.datadir.tmp_dir.glob("print-import-*"))


def _commit(client):
    return client.post("/kelola/cetak/impor/simpan", {}, form_page="/kelola/cetak/impor")


def test_a_marcxml_file_is_checked_then_imported_and_found_in_search_with_its_copies(workspace):
    admin = workspace.set_up()
    _with_an_ebook(workspace)
    assert "Impor MARC / CSV" in admin.get("/kelola/").text  # in the workspace's menu
    data = marcxml(
        indonesian_book(),
        indonesian_book(title="Anak semua bangsa", isbn=None, copies=(("B0003", "TOE a", "Rak 2"),)),
    )
    status, page = _upload(admin, data, "ekspor-inlislite.xml")
    text = _text(page)
    assert status == 200
    assert "Inilah yang akan terjadi bila “ekspor-inlislite.xml” diimpor" in text
    assert "Cantuman baru 2" in text and "Eksemplar baru 3" in text
    assert "cantuman 1 (baris 3)" in text and "cantuman baru" in text
    assert "Impor sekarang" in text
    assert _count(workspace, "items") == 0 and len(_pending_files(workspace)) == 1  # nothing yet

    done = _commit(admin)
    assert done.status == 200 and "Impor selesai" in done.text, done.text[:400]
    assert "2 cantuman baru" in done.text and "3 eksemplar baru" in done.text
    assert _pending_files(workspace) == []  # the upload is deleted after the import
    [bumi_copies] = re.findall(r'href="(/kelola/cetak/buku/\d+/eksemplar)">Bumi manusia', done.body)
    record_id = int(bumi_copies.split("/")[-2])

    results = admin.get("/cari?q=minke")
    assert results.status == 200 and f"/buku/{record_id}" in results.body
    record = admin.get(f"/buku/{record_id}")
    assert "Bumi manusia" in record.text and "Rak Sastra 2" in record.text and "899.221 TOE b c.2" in record.text
    copies = admin.get(bumi_copies)
    assert "B0001" in copies.text and "B0002" in copies.text and "Di rak" in copies.text

    # The same file again: the book with an ISBN is merged, its copies are not added twice
    # (the one without an ISBN cannot be matched, so it is a new record, without copies).
    _upload(admin, data, "ekspor-inlislite.xml")
    again = _commit(admin)
    assert "1 cantuman baru, 1 digabung, 0 eksemplar baru" in again.text
    assert "Kode batang B0001 sudah ada di katalog" in again.text
    assert _count(workspace, "records") == 4 and _count(workspace, "items") == 3
    with contextlib.closing(workspace.datadir.connect()) as connection:
        entries = connection.execute("SELECT * FROM audit_log WHERE action = 'print.import' ORDER BY id").fetchall()
        assert [entry["username"] for entry in entries] == ["sari", "sari"]
        assert '"new_items": 3' in entries[0]["detail"]


def test_a_slims_csv_is_imported_and_merges_by_isbn(workspace):
    admin = workspace.set_up()
    _with_an_ebook(workspace)
    data = slims_csv(slims_line(), slims_line(title="Sang pemimpi", isbn_issn="", item_code="<S0003>"))
    status, page = _upload(admin, data, "slims.csv", "slims")
    assert status == 200 and "Cantuman baru 2" in _text(page) and "baris 2" in _text(page)
    assert "Impor selesai" in _commit(admin).text
    found = admin.get("/cari?q=laskar")
    assert "Laskar pelangi" in found.text
    listing = admin.get("/kelola/cetak/?q=S0003")
    assert "Sang pemimpi" in listing.text and "Laskar pelangi" not in listing.text

    # The same ISBN again, with one more copy: merged into the record.
    _upload(admin, slims_csv(slims_line(item_code="<S0001><S0009>")), "slims-2.csv")
    done = _commit(admin)
    assert "1 digabung" in done.text and "1 eksemplar baru" in done.text
    assert _count(workspace, "records") == 3


def test_a_malformed_file_shows_its_problems_by_line_and_imports_nothing(workspace):
    admin = workspace.set_up()
    data = slims_csv(slims_line(), slims_line(publish_year="dua ribu delapan", item_code="<S9>"), '"Buku rusak","Text"')
    status, page = _upload(admin, data, "rusak.csv")
    text = _text(page)
    assert status == 200
    assert "“rusak.csv” tidak dapat diimpor" in text and "Tidak ada yang diimpor" in text
    assert "baris 3: Tahun terbit “dua ribu delapan” bukan tahun" in text, text
    assert "baris 4:" in text
    assert "Impor sekarang" not in text
    assert _pending_files(workspace) == []
    # Even a forged commit finds nothing to import.
    refused = _commit(admin)
    assert refused.status == 302 and refused.location == "/kelola/cetak/impor"
    assert "tidak ada lagi di server" in admin.get("/kelola/cetak/impor").text
    assert _count(workspace, "records") == _count(workspace, "items") == 0

    not_a_catalogue = _text(_upload(admin, b"nama,alamat\nSiti,Desa\n", "anggota.csv")[1])
    assert "bukan MARC" in not_a_catalogue and "Impor sekarang" not in not_a_catalogue
    status, page = _upload(admin, b"", "")
    assert status == 400 and "Pilih berkas yang akan diimpor" in _text(page)


def test_the_export_downloads_valid_marcxml(workspace):
    admin = workspace.set_up()
    _upload(admin, marcxml(indonesian_book()), "bumi.xml")
    _commit(admin)
    assert "Unduh MARCXML" in admin.get("/kelola/cetak/ekspor").text
    status, _text_body, headers, raw = _send(admin, "/kelola/cetak/ekspor/marcxml?cakupan=semua")
    assert status == 200 and headers["Content-Type"].startswith("application/marcxml+xml")
    assert re.fullmatch(
        r'attachment; filename="katalog-perpustakaan-desa-sukamaju-\d{4}-\d\d-\d\d\.xml"',
        headers["Content-Disposition"],
    )
    schema = xmlschema.XMLSchema(str(MARC_SCHEMA))
    schema.validate(raw.decode())
    assert BUMI.encode() in raw and b"B0002" in raw
    status, _text_body, headers, raw = _send(admin, "/kelola/cetak/ekspor/marcxml?cakupan=cetak")
    schema.validate(raw.decode())
    assert raw.count(b"<record>") == 1
    missing = admin.get("/kelola/cetak/ekspor/marcxml?cakupan=nomor&nomor=99")
    assert missing.status == 302
    assert "99" in admin.get(missing.location).text


def test_labels_download_as_a_pdf_with_the_barcodes(workspace):
    admin = workspace.set_up()
    _upload(admin, marcxml(indonesian_book()), "bumi.xml")
    _commit(admin)
    page = admin.get("/kelola/cetak/label?dari=impor")
    assert "Impor terakhir menambahkan 2 eksemplar" in page.text
    token = page.csrf_token()
    for fields in ({"which": "import"}, {"which": "barcodes", "barcodes": "B0001\r\nB0002\r\n"}):
        body = urllib.parse.urlencode({"csrf_token": token, **fields}).encode()
        status, _body, headers, raw = _send(admin, "/kelola/cetak/label", body)
        assert status == 200 and headers["Content-Type"] == "application/pdf"
        assert headers["Content-Disposition"].startswith('attachment; filename="label-')
        text = "".join(page.get_text() for page in pymupdf.open(stream=raw, filetype="pdf"))
        assert "B0001" in text and "B0002" in text and "Perpustakaan Desa Sukamaju" in text
    unknown = admin.post("/kelola/cetak/label", {"which": "barcodes", "barcodes": "B0001\nX999"})
    assert unknown.status == 400 and "Tidak ada di katalog: X999" in unknown.text


def test_a_printed_book_by_hand_with_its_copies(workspace):
    admin = workspace.set_up()
    with contextlib.closing(workspace.datadir.connect()) as connection, db.transaction(connection):
        members.register_member(connection, "Rina", number="A1")
    form = admin.get("/kelola/cetak/buku/baru")
    assert "Buku cetak baru" in form.text and 'name="csrf_token"' in form.body
    bad = admin.post(
        "/kelola/cetak/buku/baru",
        {"title": "Ronggeng Dukuh Paruk", "isbn": "978-979-222-111-5", "language": "id"},
    )
    assert bad.status == 200 and "bukan ISBN yang sah" in bad.text
    created = admin.post(
        "/kelola/cetak/buku/baru",
        {
            "title": "Ronggeng Dukuh Paruk",
            "authors": "Ahmad Tohari",
            "publisher": "Gramedia",
            "year": "2003",
            "isbn": "978-979-222-111-4",
            "language": "id",
            "ddc": "899.221",
            "barcode": "P0001",
            "location": "Rak Sastra",
        },
    )
    assert created.status == 302, created.text[:500]
    copies_path = created.location
    assert re.fullmatch(r"/kelola/cetak/buku/\d+/eksemplar", copies_path)
    record_id = int(copies_path.split("/")[-2])
    page = admin.get(copies_path)
    assert "Ronggeng Dukuh Paruk" in page.text and "P0001" in page.text and "Rak Sastra" in page.text
    assert 'value="899.221 TOH r"' in page.body  # the call number suggested for the next copy
    with contextlib.closing(workspace.datadir.connect()) as connection:
        row = connection.execute("SELECT source FROM records WHERE id = ?", (record_id,)).fetchone()
        assert row["source"] == "librarian"
        assert connection.execute("SELECT count(*) FROM ebook_files").fetchone()[0] == 0

    added = admin.post(
        copies_path,
        {"barcode": "P0002", "call_number": "899.221 TOH r c.2", "location": "Rak 3", "status": "reference"},
    )
    assert added.status == 302
    page = admin.get(copies_path)
    assert "Eksemplar P0002 ditambahkan" in page.text and "Hanya dibaca di perpustakaan" in page.text
    duplicate = admin.post(copies_path, {"barcode": "P0001", "status": "available"})
    assert duplicate.status == 200
    assert "Kode batang P0001 sudah dipakai eksemplar “Ronggeng Dukuh Paruk”" in duplicate.text
    assert _count(workspace, "items") == 2

    [first, second] = re.findall(rf'href="({copies_path}/(\d+))"', page.body)[:2]
    changed = admin.post(first[0], {"status": "in-repair", "location": "Meja perbaikan", "call_number": ""})
    assert changed.status == 302
    assert "Sedang diperbaiki" in admin.get(copies_path).text and "Meja perbaikan" in admin.get(copies_path).text
    assert admin.post(first[0], {"status": "available", "location": "Rak Sastra"}).status == 302

    with contextlib.closing(workspace.datadir.connect()) as connection:
        circulation.check_out(connection, "P0001", "A1")
    on_loan = admin.get(first[0] + "/hapus")
    assert "sedang dipinjam" in on_loan.text and "Ya, hapus eksemplar" not in on_loan.text
    refused = admin.post(first[0] + "/hapus", {})
    assert refused.status == 200 and "sedang dipinjam" in refused.text
    status_change = admin.post(first[0], {"status": "lost"})
    assert status_change.status == 200 and "sedang dipinjam" in status_change.text
    assert _count(workspace, "items") == 2

    removed = admin.post(second[0] + "/hapus", {})
    assert removed.status == 302 and removed.location == copies_path
    assert "P0002 dihapus" in admin.get(copies_path).text
    assert _count(workspace, "items") == 1
    patrons_page = admin.get(f"/buku/{record_id}").text  # shows the copy left, lent
    assert "Rak Sastra Sedang dipinjam" in patrons_page and "Rak 3" not in patrons_page
    listing = admin.get("/kelola/cetak/?q=Ronggeng")
    assert copies_path in listing.body
    with contextlib.closing(workspace.datadir.connect()) as connection:
        actions = [row["action"] for row in connection.execute("SELECT action FROM audit_log ORDER BY id")]
    assert actions[-6:] == [
        "print.book.add", "print.copy.add", "print.copy.add", "print.copy.edit", "print.copy.edit", "print.copy.delete",
    ]  # fmt: skip


def test_the_print_pages_refuse_visitors(workspace):
    workspace.set_up()
    visitor = Client(workspace.base)
    for path in ("/kelola/cetak/", "/kelola/cetak/impor", "/kelola/cetak/ekspor/marcxml", "/kelola/cetak/label"):
        response = visitor.get(path)
        assert response.status == 302 and response.location.startswith("/kelola/masuk"), path
    body, content_type = _multipart({}, {"file": ("x.xml", marcxml(indonesian_book()), "text/xml")})
    status, *_ = _send(visitor, "/kelola/cetak/impor", body, {"Content-Type": content_type})
    assert status in (302, 400)
    assert _count(workspace, "records") == 0

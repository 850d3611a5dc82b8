"""The catalogue in the librarian's workspace on a real waitress server: uploading e-books
(previews, duplicates, refusals, the size limit, a full disk, streaming to disk), importing a
server folder with progress, editing a record, its cover and licence, withdrawing and
deleting — each change seen at once on the public pages and in search."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import tempfile
import time
import tracemalloc
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pymupdf
import pytest

from catalog import accounts, db, lending, records
from catalog.datadir import DataDir
from ebookserver import uploads
from ebookserver.app import create_app
from ebookserver.settings import load_settings
from tests.catalog.search.library import book_epub, book_pdf
from tests.conftest import CORPUS
from tests.web.client import Client, Response
from tests.web.conftest import serving

PASSWORD = "sawah hijau pagi"


@contextlib.contextmanager
def _server(tmp_path: Path, **overrides):
    settings = load_settings(
        environ={},
        overrides={"data_dir": tmp_path / "data", "ingest_workers": 1, "ingest_timeout_seconds": 60, **overrides},
    )
    app = create_app(settings, check_index=False)
    datadir = DataDir(tmp_path / "data")
    with contextlib.closing(datadir.connect()) as connection, db.transaction(connection):
        accounts.create_user(connection, "sari", "Ibu Sari", "librarian", PASSWORD)
    try:
        with serving(app) as base:
            yield base, datadir, app
    finally:
        app.config["SEARCH_INDEX"].close()


@pytest.fixture
def server(tmp_path):
    with _server(tmp_path) as running:
        yield running


@pytest.fixture
def corpus_files() -> Path:
    if not (CORPUS / "MANIFEST.tsv").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the shared corpus is missing at {CORPUS}")
        pytest.skip(f"the shared corpus is not at {CORPUS}, so its real e-books cannot be uploaded")
    return CORPUS


def _sign_in(base: str) -> Client:
    client = Client(base)
    response = client.post("/kelola/masuk", {"username": "sari", "password": PASSWORD})
    assert response.status == 302, response.text[:300]
    return client


def _multipart(fields: dict[str, str], files: list[tuple[str, Path]], target) -> str:
    """Write a multipart/form-data body to *target* (a binary file); returns its boundary."""
    boundary = "----ebookserver" + uuid.uuid4().hex
    for name, value in fields.items():
        target.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, path in files:
        target.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{path.name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
        )
        with path.open("rb") as source:
            shutil.copyfileobj(source, target)
        target.write(b"\r\n")
    target.write(f"--{boundary}--\r\n".encode())
    return boundary


def _upload(
    client: Client,
    files: list[Path],
    *,
    token: str | None = None,
    xhr: bool = False,
    path: str = "/kelola/katalog/unggah",
    form_page: str | None = None,
    field: str = "files",
) -> Response:
    """Send *files* like the page's form does (all at once), or like its script (`xhr`: the
    token in a header, one file per request, JSON back). The body is streamed from disk."""
    token = token if token is not None else client.get(form_page or path).csrf_token()
    headers = {}
    fields = {}
    if xhr:
        headers = {"X-CSRFToken": token, "X-Upload-Single": "1", "Accept": "application/json"}
        headers["X-Upload-Name"] = urllib.parse.quote(files[0].name)
    else:
        fields["csrf_token"] = token
    with tempfile.TemporaryFile() as body:
        boundary = _multipart(fields, [(field, file) for file in files], body)
        length = body.tell()
        body.seek(0)
        headers.update({"Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": str(length)})
        request = urllib.request.Request(client.base + path, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with client.opener.open(request, timeout=120) as response:
                return Response(response.status, response.read().decode("utf-8", "replace"), response.headers)
        except urllib.error.HTTPError as error:
            with error:
                return Response(error.code, error.read().decode("utf-8", "replace"), error.headers)


def _record_ids(datadir: DataDir) -> list[int]:
    with contextlib.closing(datadir.connect()) as connection:
        return [row[0] for row in connection.execute("SELECT id FROM records ORDER BY id")]


def _tmp_files(datadir: DataDir) -> list[Path]:
    return sorted(datadir.tmp_dir.iterdir())


def _import(app, datadir: DataDir, books: list[Path]) -> list[int]:
    from catalog.ingest import Importer

    settings = app.config["EBOOKSERVER"]
    outcomes = Importer(datadir, settings.limits(), settings.pool(), app.config["SEARCH_INDEX"]).run(books)
    assert [outcome.status for outcome in outcomes] == ["imported"] * len(books)
    return [outcome.record_id for outcome in outcomes]


# --- uploads ------------------------------------------------------------------------------


def test_uploaded_corpus_files_are_previewed_and_duplicates_and_refusals_say_why(server, corpus_files):
    base, datadir, _app = server
    librarian = _sign_in(base)
    page = librarian.get("/kelola/katalog/unggah")
    assert page.status == 200 and "Unggah e-book" in page.text
    assert 'type="file"' in page.body and "multiple" in page.body and "upload.js" in page.body
    epub = corpus_files / "epub" / "id-uud-1945.epub"
    pdf = corpus_files / "pdf" / "id-uu-39-1999-ham.pdf"
    hostile = corpus_files / "hostile" / "html-disguised-as.pdf"

    response = _upload(librarian, [epub, pdf, hostile])
    assert response.status == 200, response.text[:500]
    outcomes = re.findall(r'<li class="outcome (\w+)">', response.body)
    assert outcomes == ["imported", "imported", "refused"]
    assert "Ditambahkan ke katalog" in response.text and "Ditolak" in response.text
    assert "html-disguised-as.pdf" in response.text
    assert "Nama berkas ini berakhiran .pdf, tetapi isinya" in response.text  # the reason, in Indonesian
    assert "Periksa dan perbaiki datanya" in response.text
    ids = _record_ids(datadir)
    assert len(ids) == 2
    for record_id in ids:
        assert f"/kelola/katalog/{record_id}" in response.body
    with contextlib.closing(datadir.connect()) as connection:
        pdf_record = records.get_record(connection, ids[1])
        assert [entry["action"] for entry in accounts.audit_entries(connection)].count("record.upload") == 2
    assert pdf_record["has_cover"] and "/covers/" in response.body  # the cover thumbnail is shown
    assert pdf_record["files"][0]["original_name"] == "id-uu-39-1999-ham.pdf"
    assert _tmp_files(datadir) == []

    # The same file again, as the page's script sends it: a duplicate, in JSON with its HTML.
    again = _upload(librarian, [epub], xhr=True)
    assert again.status == 200 and again.headers["Content-Type"].startswith("application/json")
    reply = json.loads(again.body)
    assert reply["files"] == [{"name": "id-uud-1945.epub", "status": "duplicate"}]
    assert "Sudah ada di katalog" in reply["html"] and f"/kelola/katalog/{ids[0]}" in reply["html"]
    assert _record_ids(datadir) == ids and _tmp_files(datadir) == []

    # The new titles are in search at once.
    title = pdf_record["title"]
    assert title in Client(base).get("/cari?q=" + urllib.parse.quote(title.split()[0])).text


def test_an_upload_without_its_csrf_token_is_refused(server, tmp_path):
    base, datadir, _app = server
    librarian = _sign_in(base)
    book = book_epub(tmp_path, "tanpa", title="Tanpa Token", chapters=("Isi.",))
    assert _upload(librarian, [book], token="palsu").status == 400
    assert _upload(librarian, [book], token="palsu", xhr=True).status == 400
    assert _record_ids(datadir) == [] and _tmp_files(datadir) == []
    # A visitor is sent to sign in; nothing is imported.
    visitor = _upload(Client(base), [book], token="palsu")
    assert visitor.status == 302 and visitor.location.startswith("/kelola/masuk")
    assert _record_ids(datadir) == []


def test_an_oversized_upload_is_refused_with_413_and_leaves_nothing(tmp_path):
    big = tmp_path / "besar.pdf"
    with big.open("wb") as handle:
        handle.write(b"%PDF-1.4\n" + os.urandom(2 * 1024 * 1024))
    small = book_epub(tmp_path, "kecil", title="Buku Kecil", chapters=("Isi kecil.",))
    with _server(tmp_path / "site", max_file_mb=1) as (base, datadir, _app):
        librarian = _sign_in(base)
        refused = _upload(librarian, [big], xhr=True)
        assert refused.status == 413
        assert json.loads(refused.body)["error"].startswith("“besar.pdf” lebih besar dari 1 MB")
        # Without the script, in one request with a file that fits: the page says which one.
        form = _upload(librarian, [small, big])
        assert form.status == 413 and "“besar.pdf” lebih besar dari 1 MB" in form.text
        assert "Unggah e-book" in form.text
        assert _record_ids(datadir) == [] and _tmp_files(datadir) == []


def test_a_full_disk_while_receiving_says_so_and_keeps_nothing(server, tmp_path, monkeypatch):
    base, datadir, _app = server
    librarian = _sign_in(base)
    book = book_epub(tmp_path, "penuh", title="Disk Penuh", chapters=("Isi.",))
    real = uploads.open_unnamed

    class FullDisk:
        def __init__(self, file):
            self.file = file

        def write(self, chunk):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.file, name)

    monkeypatch.setattr(uploads, "open_unnamed", lambda folder: FullDisk(real(folder)))
    response = _upload(librarian, [book])
    assert response.status == 507 and "Disk server penuh" in response.text
    reply = _upload(librarian, [book], xhr=True)
    assert reply.status == 507 and "Disk server penuh" in json.loads(reply.body)["error"]
    assert _record_ids(datadir) == [] and _tmp_files(datadir) == []


def test_uploads_are_streamed_into_the_data_directory_not_memory(server, tmp_path, monkeypatch):
    base, datadir, _app = server
    librarian = _sign_in(base)
    folders = []
    real = uploads.open_unnamed

    def spying(folder):
        folders.append(Path(folder))
        return real(folder)

    monkeypatch.setattr(uploads, "open_unnamed", spying)
    large = tmp_path / "besar.pdf"
    with large.open("wb") as handle:  # 40 MB that are not a PDF: received in full, then refused
        handle.write(b"%PDF-1.4\n")
        for _ in range(40):
            handle.write(os.urandom(1024 * 1024))
    tracemalloc.start()
    try:
        response = _upload(librarian, [large], xhr=True)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status == 200, response.body[:300]
    assert json.loads(response.body)["files"][0]["status"] == "refused"
    assert folders == [datadir.tmp_dir]
    assert peak < 16 * 1024 * 1024, f"the upload took {peak / 1024 / 1024:.0f} MB of memory"
    assert _tmp_files(datadir) == []


# --- a folder on the server ---------------------------------------------------------------


def test_a_server_folder_is_imported_in_the_background_with_progress(server, tmp_path, corpus_files):
    base, datadir, _app = server
    librarian = _sign_in(base)
    drive = tmp_path / "media" / "FLASHDISK"
    (drive / "sekolah").mkdir(parents=True)
    shutil.copy(corpus_files / "epub" / "id-uud-1945.epub", drive)
    shutil.copy(corpus_files / "pdf" / "id-uu-39-1999-ham.pdf", drive / "sekolah")
    shutil.copy(corpus_files / "epub" / "id-uud-1945.epub", drive / "sekolah" / "salinan.epub")
    shutil.copy(corpus_files / "hostile" / "zero-byte.pdf", drive)

    form = librarian.get("/kelola/katalog/impor-folder")
    assert form.status == 200 and "Folder di server" in form.text
    missing = librarian.post("/kelola/katalog/impor-folder", {"folder": str(tmp_path / "tidak-ada")})
    assert "tidak dapat diimpor: folder itu tidak ada" in missing.text
    a_file = librarian.post("/kelola/katalog/impor-folder", {"folder": str(drive / "id-uud-1945.epub")})
    assert "itu sebuah berkas, bukan folder" in a_file.text
    relative = librarian.post("/kelola/katalog/impor-folder", {"folder": "media/FLASHDISK"})
    assert "diawali dengan /" in relative.text

    started = librarian.post("/kelola/katalog/impor-folder", {"folder": str(drive)})
    assert started.status == 302 and started.location.startswith("/kelola/katalog/impor-folder/")
    progress = librarian.get(started.location)
    assert (progress.status == 200 and "dari 4 berkas selesai" in progress.text) or "Impor selesai" in progress.text
    if "Impor selesai" not in progress.text:
        assert progress.headers["Refresh"] == "3"  # the page refreshes itself without JavaScript
    deadline = time.monotonic() + 120
    while "Impor selesai" not in progress.text:
        assert time.monotonic() < deadline, progress.text[:500]
        time.sleep(0.3)
        progress = librarian.get(started.location)
    assert "Refresh" not in progress.headers
    assert re.search(r"4 dari 4 berkas selesai 2 ditambahkan 1 sudah ada di katalog 1 ditolak", progress.text)
    assert "zero-byte.pdf" in progress.text and "Ditolak" in progress.text
    assert len(_record_ids(datadir)) == 2
    with contextlib.closing(datadir.connect()) as connection:
        assert "catalogue.import_folder" in [entry["action"] for entry in accounts.audit_entries(connection)]
    assert librarian.get("/kelola/katalog/impor-folder/bukan-ini").status == 404


# --- editing ------------------------------------------------------------------------------


def _edit_data(page: Response, **changes) -> dict:
    """Every field of the edit form as the page filled it, with *changes*."""
    data = {}
    for name, value in re.findall(r'<input[^>]*\bname="([^"]+)"[^>]*\bvalue="([^"]*)"', page.body):
        data[name] = value
    for name in re.findall(r'<input[^>]*\bname="([^"]+)"', page.body):
        data.setdefault(name, "")
    for name, body in re.findall(r'<select[^>]*\bname="([^"]+)"[^>]*>(.*?)</select>', page.body, re.S):
        selected = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', body)
        first = re.search(r'<option[^>]*value="([^"]*)"', body)
        if selected:
            data[name] = selected.group(1) if selected.group(1) is not None else selected.group(2)
        else:
            data[name] = first.group(1)
    for name, text in re.findall(r'<textarea[^>]*\bname="([^"]+)"[^>]*>(.*?)</textarea>', page.body, re.S):
        data[name] = text.strip()
    for key in [key for key in data if key in ("files", "image", "page", "licence_copies", "loan_days", "licence")]:
        del data[key]
    data.update(changes)
    return data


def _edit(librarian: Client, record_id: int, **changes) -> Response:
    page = librarian.get(f"/kelola/katalog/{record_id}")
    form = page.body.split('class="record-form"', 1)[1].split("</form>", 1)[0]
    return librarian.post(f"/kelola/katalog/{record_id}", _edit_data(Response(200, form, page.headers), **changes))


def test_edited_fields_show_on_the_record_page_and_in_search_at_once(server, tmp_path):
    base, datadir, app = server
    [record_id] = _import(
        app,
        datadir,
        [
            book_epub(
                tmp_path, "kerbau", title="Kisah Kerbau", chapters=("Petani bekerja di sawah.",), authors=("Siti",)
            )
        ],
    )
    librarian = _sign_in(base)
    page = librarian.get(f"/kelola/katalog/{record_id}")
    assert page.status == 200 and 'value="Kisah Kerbau"' in page.body
    assert '<datalist id="author-suggestions"><option value="Siti">' in page.body
    assert "300 · Ilmu sosial" in page.text  # the DDC classes, named in Indonesian

    saved = _edit(
        librarian,
        record_id,
        title="Bertanam Jagung",
        subtitle="Panduan untuk Warga",
        **{"authors-0": "Siti Rahayu", "authors-1": "Budi Santoso"},
        **{"subjects-0": "Pertanian", "isbns-0": "978-602-8519-93-9"},
        **{"contributors-0-name": "Ani", "contributors-0-role": "ill"},
        publisher="Penerbit Desa",
        place="Bandung",
        year="2021",
        edition="Cetakan ke-2",
        series="Seri Tani",
        extent="48 hlm.",
        language="id",
        ddc_class="6",
        ddc="633.15",
        classification="TAN",
        description="Cara menanam jagung di pekarangan.",
    )
    assert saved.status == 302, saved.text[:800]
    after = librarian.get(saved.location)
    assert "Tersimpan" in after.text and 'value="Bertanam Jagung"' in after.body
    public = Client(base).get(f"/buku/{record_id}")
    assert "Bertanam Jagung" in public.text and "Siti Rahayu" in public.text and "Budi Santoso" in public.text
    assert "Pertanian" in public.text and "633.15" in public.text and "9786028519939" in public.text
    visitor = Client(base)
    assert f"/buku/{record_id}" in visitor.get("/cari?q=jagung").body
    assert f"/buku/{record_id}" in visitor.get("/cari?q=Rahayu").body
    assert f"/buku/{record_id}" not in visitor.get("/cari?q=gramedia").body  # the old publisher is gone
    with contextlib.closing(datadir.connect()) as connection:
        record = records.get_record(connection, record_id)
        [entry] = [entry for entry in accounts.audit_entries(connection) if entry["action"] == "record.edit"]
    assert (record["place"], record["edition"], record["series"], record["extent"]) == (
        "Bandung",
        "Cetakan ke-2",
        "Seri Tani",
        "48 hlm.",
    )
    assert record["year"] == 2021 and record["classification"] == "TAN" and record["title_source"] == "librarian"
    assert {"name": "Ani", "role": "ill", "sort_name": None} in record["contributors"]
    assert entry["target"] == f"record:{record_id}" and "title" in entry["detail"]


def test_an_invalid_isbn_or_ddc_is_refused_in_indonesian_and_nothing_is_saved(server, tmp_path):
    base, datadir, app = server
    [record_id] = _import(app, datadir, [book_epub(tmp_path, "isbn", title="Buku ISBN", chapters=("Isi.",))])
    librarian = _sign_in(base)
    wrong = _edit(librarian, record_id, title="Judul Baru", **{"isbns-0": "978-602-8519-93-8"})
    assert wrong.status == 200
    assert "978-602-8519-93-8 bukan ISBN yang sah" in wrong.text and "Cantuman tidak disimpan" in wrong.text
    mismatch = _edit(librarian, record_id, ddc_class="3", ddc="633.15")
    assert "tidak termasuk kelas yang dipilih (300)" in mismatch.text
    year = _edit(librarian, record_id, year="20211")
    assert "Tahun harus antara 1000 dan" in year.text
    no_title = _edit(librarian, record_id, title=" ")
    assert "Harap diisi" in no_title.text or "Sebuah cantuman harus memiliki judul" in no_title.text
    with contextlib.closing(datadir.connect()) as connection:
        assert records.get_record(connection, record_id)["title"] == "Buku ISBN"


def test_the_cover_is_replaced_by_a_picture_or_a_page_of_the_pdf(server, tmp_path):
    base, datadir, app = server
    [record_id] = _import(
        app, datadir, [book_pdf(tmp_path, "laporan", title="Laporan", author="Budi", pages=("Satu.", "Dua.", "Tiga."))]
    )
    librarian = _sign_in(base)
    with contextlib.closing(datadir.connect()) as connection:
        sha256 = records.get_record(connection, record_id)["sha256"]
    before = datadir.thumb_path(sha256).read_bytes()

    picture = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 300, 400), False)
    picture.set_rect(picture.irect, (200, 30, 30))
    png = tmp_path / "sampul.png"
    png.write_bytes(picture.tobytes("png"))
    edit_page = f"/kelola/katalog/{record_id}"
    cover_path = f"/kelola/katalog/{record_id}/sampul"
    sent = _upload(librarian, [png], path=cover_path, form_page=edit_page, field="image")
    assert sent.status == 302, sent.text[:500]
    assert "Sampul diganti" in librarian.get(sent.location).text
    replaced = datadir.thumb_path(sha256).read_bytes()
    assert replaced != before and replaced[:3] == b"\xff\xd8\xff"  # re-encoded as JPEG
    assert f"/covers/{sha256}.jpg?v=" in librarian.get(edit_page).body  # a new address: no stale cache

    script = tmp_path / "bukan-gambar.png"
    script.write_text("<svg onload=alert(1)>")
    refused = _upload(librarian, [script], path=cover_path, form_page=edit_page, field="image")
    assert refused.status == 400 and "Ini bukan gambar yang dapat dipakai" in refused.text
    assert datadir.thumb_path(sha256).read_bytes() == replaced

    page_token = librarian.get(f"/kelola/katalog/{record_id}").csrf_token()
    beyond = librarian.post(f"/kelola/katalog/{record_id}/sampul-halaman", {"page": "9", "csrf_token": page_token})
    assert beyond.status == 400 and "halaman 9 tidak ada" in beyond.text
    chosen = librarian.post(f"/kelola/katalog/{record_id}/sampul-halaman", {"page": "3", "csrf_token": page_token})
    assert chosen.status == 302
    assert datadir.thumb_path(sha256).read_bytes() not in (before, replaced)
    with contextlib.closing(datadir.connect()) as connection:
        actions = [entry["action"] for entry in accounts.audit_entries(connection)]
    assert actions.count("record.cover") == 2


def test_the_licence_is_set_and_checked(server, tmp_path):
    base, datadir, app = server
    [record_id] = _import(app, datadir, [book_epub(tmp_path, "lisensi", title="Buku Lisensi", chapters=("Isi.",))])
    librarian = _sign_in(base)
    path = f"/kelola/katalog/{record_id}/lisensi"
    token = librarian.get(f"/kelola/katalog/{record_id}").csrf_token()
    missing = librarian.post(path, {"licence": "lending", "licence_copies": "", "loan_days": "", "csrf_token": token})
    assert missing.status == 400 and "paling sedikit satu eksemplar" in missing.text
    saved = librarian.post(path, {"licence": "lending", "licence_copies": "2", "loan_days": "7", "csrf_token": token})
    assert saved.status == 302
    with contextlib.closing(datadir.connect()) as connection:
        record = records.get_record(connection, record_id)
    assert (record["licence"], record["licence_copies"], record["loan_days"]) == ("lending", 2, 7)
    assert "Baca sekarang" not in Client(base).get(f"/buku/{record_id}").text


def test_a_withdrawn_title_is_hidden_from_patrons_and_can_be_put_back(server, tmp_path):
    base, datadir, app = server
    [record_id] = _import(
        app,
        datadir,
        [book_epub(tmp_path, "tarik", title="Kisah Nelayan", chapters=("Nelayan melaut.",), language="id")],
    )
    librarian = _sign_in(base)
    visitor = Client(base)
    assert f"/buku/{record_id}" in visitor.get("/cari?q=nelayan").body
    assert f"/buku/{record_id}" in visitor.get("/jelajah/baru").body
    token = librarian.get(f"/kelola/katalog/{record_id}").csrf_token()
    response = librarian.post(f"/kelola/katalog/{record_id}/tarik", {"csrf_token": token})
    assert response.status == 302
    assert "Judul ini ditarik" in librarian.get(f"/kelola/katalog/{record_id}").text
    assert f"/buku/{record_id}" not in visitor.get("/cari?q=nelayan").body
    assert f"/buku/{record_id}" not in visitor.get("/jelajah/baru").body
    assert visitor.get("/jelajah/language/id").status == 404  # its only book is withdrawn
    assert visitor.get(f"/buku/{record_id}").status == 404
    assert "(ditarik)" in librarian.get("/kelola/katalog/?tampil=ditarik").text

    librarian.post(f"/kelola/katalog/{record_id}/tarik", {"csrf_token": token})
    assert f"/buku/{record_id}" in visitor.get("/cari?q=nelayan").body
    assert visitor.get(f"/buku/{record_id}").status == 200
    with contextlib.closing(datadir.connect()) as connection:
        actions = [entry["action"] for entry in accounts.audit_entries(connection)]
    assert actions[:2] == ["record.restore", "record.withdraw"]


def test_deleting_asks_first_then_removes_the_record_its_files_and_its_index_entry(server, tmp_path):
    base, datadir, app = server
    keep, gone = _import(
        app,
        datadir,
        [
            book_epub(tmp_path, "tetap", title="Buku Tetap", chapters=("Sumur tua di desa.",)),
            book_pdf(tmp_path, "hapus", title="Buku Dihapus", author="Budi", pages=("Sumur baru di kota.",)),
        ],
    )
    with contextlib.closing(datadir.connect()) as connection:
        sha256 = records.get_record(connection, gone)["sha256"]
    stored = [datadir.book_path(sha256, "pdf"), datadir.cover_path(sha256), datadir.thumb_path(sha256)]
    assert all(path.is_file() for path in stored)
    librarian = _sign_in(base)
    confirm = librarian.get(f"/kelola/katalog/{gone}/hapus")
    assert (
        confirm.status == 200 and "Hapus “Buku Dihapus”?" in confirm.text and "tidak dapat dibatalkan" in confirm.text
    )
    deleted = librarian.post(f"/kelola/katalog/{gone}/hapus", {})
    assert deleted.status == 302 and deleted.location == "/kelola/katalog/"
    assert "“Buku Dihapus” was deleted" not in librarian.get("/kelola/katalog/").text
    assert not any(path.exists() for path in stored)
    assert _record_ids(datadir) == [keep]
    visitor = Client(base)
    assert visitor.get(f"/buku/{gone}").status == 404
    results = visitor.get("/cari?q=sumur").body
    assert f"/buku/{keep}" in results and f"/buku/{gone}" not in results
    assert librarian.get(f"/kelola/katalog/{gone}").status == 404


def test_the_staff_catalogue_lists_searches_and_shows_recent_imports(server, tmp_path):
    base, datadir, app = server
    _import(
        app,
        datadir,
        [
            book_epub(tmp_path, "satu", title="Kebun Sayur", chapters=("Isi.",), authors=("Dewi Lestari",)),
            book_epub(tmp_path, "dua", title="Laut Biru", chapters=("Isi.",)),
        ],
    )
    librarian = _sign_in(base)
    listing = librarian.get("/kelola/katalog/")
    assert listing.status == 200 and "Kebun Sayur" in listing.text and "Laut Biru" in listing.text
    assert "2 judul" in listing.text and "Impor terakhir" in listing.text and "satu.epub" in listing.text
    assert 'href="/kelola/katalog/unggah"' in listing.body
    found = librarian.get("/kelola/katalog/?q=lestari").text.split("Impor terakhir", 1)[0]
    assert "Kebun Sayur" in found and "Laut Biru" not in found
    dashboard = librarian.get("/kelola/")
    for label in ("Katalog", "Unggah e-book", "Impor folder"):
        assert label in dashboard.text
    assert Client(base).get("/kelola/katalog/").location.startswith("/kelola/masuk")


def test_in_a_browser_the_script_sends_each_file_with_its_own_progress_bar(server, tmp_path, page):
    base, datadir, _app = server
    books = [
        book_epub(tmp_path, "sawah", title="Sawah Kami", chapters=("Padi menguning.",)),
        book_pdf(tmp_path, "sungai", title="Sungai Kecil", author="Ani", pages=("Air mengalir.",)),
    ]
    page.goto(base + "/kelola/masuk")
    page.get_by_label("Nama pengguna").fill("sari")
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url("**/kelola/")
    page.goto(base + "/kelola/katalog/unggah")
    page.get_by_label("Berkas e-book (EPUB atau PDF)").set_input_files([str(book) for book in books])
    page.get_by_role("button", name="Unggah").click()
    page.locator("#upload-results .outcome").nth(1).wait_for(timeout=60_000)
    assert page.locator("#upload-progress progress").evaluate_all("bars => bars.map(bar => bar.value)") == [100, 100]
    assert page.locator("#upload-progress .state").all_inner_texts() == ["Selesai", "Selesai"]
    assert page.locator("#upload-results .status").all_inner_texts() == ["Ditambahkan ke katalog"] * 2
    assert "Sawah Kami" in page.locator("#upload-results").inner_text()
    assert page.url.endswith("/kelola/katalog/unggah")  # no page load: the script did the work
    assert len(_record_ids(datadir)) == 2
    # A session that ended while the page stood open: the script says so, nothing is imported.
    with contextlib.closing(datadir.connect()) as connection:
        connection.execute("UPDATE sessions SET last_seen_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-31 minutes')")
    page.get_by_label("Berkas e-book (EPUB atau PDF)").set_input_files(
        str(book_epub(tmp_path, "telat", title="Terlambat", chapters=("Isi.",)))
    )
    page.get_by_role("button", name="Unggah").click()
    late = page.locator("#upload-progress .state").nth(2)
    late.filter(has_text="Sesi Anda sudah berakhir").wait_for(timeout=30_000)
    assert len(_record_ids(datadir)) == 2
    assert page.requested_hosts == {base.split("/")[2]}, "a page loaded something from another host"


def test_a_librarian_lets_borrowers_download_a_stamped_pdf(server, tmp_path):
    base, datadir, app = server
    [record_id] = _import(
        app, datadir, [book_pdf(tmp_path, "cap", title="Buku Bercap", author="Rina", pages=("Satu.", "Dua."))]
    )
    librarian = _sign_in(base)
    page = librarian.get(f"/kelola/katalog/{record_id}")
    assert "dengan cap nomor anggota" in page.text  # the choice is offered for a PDF
    path = f"/kelola/katalog/{record_id}/lisensi"
    fields = {"licence": "lending", "licence_copies": "1", "loan_days": "7", "stamped_download": "y"}
    assert librarian.post(path, {**fields, "csrf_token": page.csrf_token()}).status == 302
    with contextlib.closing(datadir.connect()) as connection:
        assert lending.allows_stamped_download(connection, record_id)
    edited = librarian.get(f"/kelola/katalog/{record_id}").body
    assert re.search(r'<input checked[^>]*name="stamped_download"', edited)
    # Open access has no stamped download: the choice is dropped with the loan.
    fields = {"licence": "open-access", "stamped_download": "y"}
    assert librarian.post(path, {**fields, "csrf_token": page.csrf_token()}).status == 302
    with contextlib.closing(datadir.connect()) as connection:
        assert not lending.allows_stamped_download(connection, record_id)

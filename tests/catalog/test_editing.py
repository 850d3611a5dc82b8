"""A librarian's changes to records (catalog.editing) and folder imports in the background
(catalog.import_jobs), without a web server."""

from __future__ import annotations

import contextlib
import time

import pymupdf
import pytest

from catalog import browse, covers, db, editing, import_jobs, listing, records
from catalog import search as search_engine
from catalog.errors import NotAnImage
from catalog.extract import Limits
from catalog.ingest import Importer
from catalog.workers import PoolSettings
from tests.catalog.search.library import book_epub, book_pdf

LATEST = 2027


@pytest.fixture
def index(datadir):
    opened = search_engine.open_index(datadir)
    yield opened
    opened.close()


@pytest.fixture
def catalogue(tmp_path, datadir, index):
    """Two records, imported for real: an EPUB and a three-page PDF (with a cover)."""
    books = [
        book_epub(
            tmp_path,
            "padi",
            title="Menanam Padi",
            chapters=("Petani di desa menanam padi.",),
            authors=("Siti Rahayu",),
            subjects=("Pertanian",),
            publisher="Gramedia",
            isbn="9786028519939",
        ),
        book_pdf(tmp_path, "laporan", title="Laporan Tahunan", author="Budi", pages=("Satu.", "Dua.", "Tiga.")),
    ]
    outcomes = Importer(datadir, Limits(), PoolSettings(processes=1, timeout_seconds=60), index).run(books)
    assert [outcome.status for outcome in outcomes] == ["imported", "imported"]
    with contextlib.closing(datadir.connect()) as connection:
        yield connection, outcomes[0].record_id, outcomes[1].record_id


def _form(record: dict, **changes) -> dict:
    """Every field as the edit page sends it back, with *changes*."""
    values = {name: record.get(name) for name in editing.TEXT_FIELDS}
    values.update(
        year=record["year"],
        language=record["language"],
        ddc_class="",
        ddc=record["ddc"],
        authors=record["authors"],
        subjects=record["subjects"],
        contributors=record["other_contributors"],
        isbns=[value for scheme, value in record["all_identifiers"] if scheme == "isbn"],
        identifiers=[(scheme, value) for scheme, value in record["all_identifiers"] if scheme != "isbn"],
    )
    values.update(changes)
    return values


def _found(index, connection, text: str) -> list[int]:
    return [hit["id"] for hit in search_engine.search(index, connection, search_engine.SearchRequest(text))["hits"]]


def test_fields_are_updated_and_only_what_changed_is_reported(catalogue, index):
    connection, epub_id, _pdf_id = catalogue
    record = editing.editable(connection, epub_id)
    assert editing.update_record(connection, epub_id, _form(record), latest_year=LATEST) == {}
    with db.transaction(connection):
        changed = editing.update_record(
            connection,
            epub_id,
            _form(
                record,
                title="  Bertanam   Jagung ",
                authors=["Siti Rahayu", "", "Budi Santoso", "Siti Rahayu"],
                contributors=[("Ani", "ill"), ("", "edt")],
                subjects=["Pertanian", "Jagung"],
                isbns=["978-602-8519-93-9", "0-306-40615-2"],
                identifiers=[("doi", "10.1000/182"), ("nonsense", "x")],
                year="2021",
                ddc_class="6",
                ddc="",
                place="Bandung",
                publisher="Penerbit Desa",
                description="Baris satu.\n  Baris   dua.",
            ),
            latest_year=LATEST,
        )
    assert sorted(changed) == [
        "authors",
        "contributors",
        "ddc",
        "description",
        "identifiers",
        "isbns",
        "place",
        "publisher",
        "subjects",
        "title",
        "year",
    ]
    after = editing.editable(connection, epub_id)
    assert after["title"] == "Bertanam Jagung" and after["title_source"] == "librarian"
    assert after["authors"] == ["Siti Rahayu", "Budi Santoso"]
    assert after["other_contributors"] == [("Ani", "ill")]
    assert after["ddc"] == "600" and after["year"] == 2021 and after["place"] == "Bandung"
    assert after["description"] == "Baris satu.\nBaris dua."
    assert ("isbn", "0306406152") in after["all_identifiers"] and ("other", "x") in after["all_identifiers"]
    editing.refresh_index(index, connection, epub_id)
    assert _found(index, connection, "jagung") == [epub_id]
    assert _found(index, connection, "gramedia") == []  # the old publisher is gone from the index


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        ({"title": "   "}, editing.TitleRequired, "title"),
        ({"isbns": ["978-602-8519-93-8"]}, editing.InvalidIsbn, "isbns"),
        ({"isbns": ["ISBN 978-602-8519-93-9"]}, editing.InvalidIsbn, "isbns"),
        ({"year": "tahun lalu"}, editing.InvalidYear, "year"),
        ({"year": LATEST + 1}, editing.InvalidYear, "year"),
        ({"ddc": "89"}, editing.InvalidDdc, "ddc"),
        ({"ddc_class": "3", "ddc": "633.15"}, editing.DdcClassMismatch, "ddc"),
        ({"language": "Bahasa Indonesia"}, editing.InvalidLanguage, "language"),
        ({"series": "x" * 301}, editing.ValueTooLong, "series"),
    ],
)
def test_a_bad_value_is_refused_with_its_field_and_nothing_changes(catalogue, changes, error, field):
    connection, epub_id, _pdf_id = catalogue
    record = editing.editable(connection, epub_id)
    with pytest.raises(error) as raised, db.transaction(connection):
        editing.update_record(connection, epub_id, _form(record, **{"title": "Baru", **changes}), latest_year=LATEST)
    assert raised.value.field == field
    assert records.get_record(connection, epub_id)["title"] == "Menanam Padi"


def test_the_isbn_message_is_translatable_and_names_the_value():
    error = editing.InvalidIsbn(field="isbns", value="978-602-8519-93-8")
    assert str(error).startswith("978-602-8519-93-8 is not a valid ISBN")


def test_the_licence_is_set_and_a_lending_licence_needs_copies_and_days(catalogue):
    connection, epub_id, _pdf_id = catalogue
    with db.transaction(connection):
        editing.set_licence(connection, epub_id, "lending", 2, 7)
    record = records.get_record(connection, epub_id)
    assert (record["licence"], record["licence_copies"], record["loan_days"]) == ("lending", 2, 7)
    for copies, days in ((0, 7), (2, None), (None, None)):
        with pytest.raises(editing.InvalidLicence):
            editing.set_licence(connection, epub_id, "lending", copies, days)
    with pytest.raises(editing.InvalidLicence):
        editing.set_licence(connection, epub_id, "everyone", None, None)
    editing.set_licence(connection, epub_id, "in-library", 5, 5)
    record = records.get_record(connection, epub_id)
    assert (record["licence"], record["licence_copies"], record["loan_days"]) == ("in-library", None, None)


def test_a_withdrawn_record_leaves_search_and_browsing_and_comes_back(catalogue, index):
    connection, epub_id, _pdf_id = catalogue
    assert epub_id in [record["id"] for record in browse.records_in(connection, "new")[1]]
    editing.set_withdrawn(connection, epub_id, True)
    editing.refresh_index(index, connection, epub_id)
    assert _found(index, connection, "padi") == []
    assert browse.records_in(connection, "new")[0] == 1
    assert browse.records_in(connection, "subject", "Pertanian") == (0, [])
    assert browse.records_in(connection, "author", "Siti Rahayu") == (0, [])
    assert [tuple(row) for row in browse.counts(connection)["format"]] == [("pdf", 1)]
    assert listing.staff_list(connection, withdrawn_only=True)[0] == 1
    editing.set_withdrawn(connection, epub_id, False)
    editing.refresh_index(index, connection, epub_id)
    assert _found(index, connection, "padi") == [epub_id]
    assert browse.records_in(connection, "new")[0] == 2


def test_deleting_a_record_returns_its_unused_files_and_refuses_while_a_copy_is_on_loan(catalogue, datadir, index):
    connection, epub_id, pdf_id = catalogue
    pdf = records.get_record(connection, pdf_id)
    with db.transaction(connection):
        records.add_item(connection, pdf_id, barcode="B0001", status="on-loan")
    with pytest.raises(editing.RecordHasLoans) as refused, db.transaction(connection):
        editing.delete_record(connection, datadir, pdf_id)
    assert "B0001" in str(refused.value)
    connection.execute("UPDATE items SET status = 'available' WHERE barcode = 'B0001'")
    with db.transaction(connection):
        unused = editing.delete_record(connection, datadir, pdf_id)
    assert sorted(unused) == sorted(
        [datadir.book_path(pdf["sha256"], "pdf"), datadir.cover_path(pdf["sha256"]), datadir.thumb_path(pdf["sha256"])]
    )
    editing.remove_stored_files(unused)
    editing.remove_stored_files(unused)  # twice is harmless
    editing.refresh_index(index, connection, pdf_id)
    assert not any(path.exists() for path in unused)
    assert [row[0] for row in connection.execute("SELECT id FROM records")] == [epub_id]
    assert connection.execute("SELECT count(*) FROM items").fetchone()[0] == 0
    assert _found(index, connection, "Laporan") == []


def test_covers_are_re_encoded_from_a_picture_or_a_pdf_page(catalogue, datadir):
    connection, epub_id, pdf_id = catalogue
    sha256 = records.get_record(connection, pdf_id)["sha256"]
    first_page = datadir.cover_path(sha256).read_bytes()
    picture = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 900, 1200), False)
    picture.set_rect(picture.irect, (20, 120, 40))
    covers.replace_cover(connection, datadir, pdf_id, picture.tobytes("png"), Limits())
    cover = pymupdf.Pixmap(datadir.cover_path(sha256).read_bytes())
    assert max(cover.width, cover.height) <= Limits().cover_max_px  # shrunk, as JPEG
    assert datadir.cover_path(sha256).read_bytes()[:3] == b"\xff\xd8\xff"
    for hostile in (b"", b"<svg onload='alert(1)'/>", b"GIF89a" + b"\x00" * 10):
        with pytest.raises(NotAnImage):
            covers.replace_cover(connection, datadir, pdf_id, hostile, Limits())
    with pytest.raises(covers.PageOutOfRange):
        covers.cover_from_page(connection, datadir, pdf_id, 4, Limits())
    with pytest.raises(covers.NoFileForCover):
        covers.cover_from_page(connection, datadir, epub_id, 1, Limits())  # an EPUB has no pages to choose
    covers.cover_from_page(connection, datadir, pdf_id, 3, Limits())
    third_page = datadir.cover_path(sha256).read_bytes()
    assert third_page != first_page and records.get_record(connection, pdf_id)["has_cover"]


def test_the_staff_list_finds_by_title_author_isbn_and_file_name(catalogue):
    connection, epub_id, pdf_id = catalogue
    assert listing.staff_list(connection)[0] == 2
    assert [r["id"] for r in listing.staff_list(connection, "rahayu")[1]] == [epub_id]
    assert [r["id"] for r in listing.staff_list(connection, "9786028519939")[1]] == [epub_id]
    assert [r["id"] for r in listing.staff_list(connection, "laporan.pdf")[1]] == [pdf_id]
    assert listing.staff_list(connection, "100%_")[0] == 0  # LIKE's wildcards are taken literally
    assert [entry["status"] for entry in listing.recent_imports(connection)] == ["imported", "imported"]
    assert "Siti Rahayu" in listing.suggestions(connection)["authors"]


def test_a_folder_is_checked_before_it_is_imported(tmp_path):
    (tmp_path / "buku.epub").write_bytes(b"x")
    for text, reason in (
        ("relatif/folder", import_jobs.FOLDER_NOT_ABSOLUTE),
        (str(tmp_path / "tidak-ada"), import_jobs.FOLDER_MISSING),
        (str(tmp_path / "buku.epub"), import_jobs.FOLDER_NOT_A_FOLDER),
    ):
        with pytest.raises(import_jobs.FolderUnusable) as refused:
            import_jobs.check_folder(text)
        assert refused.value.params["reason"] == reason
    assert import_jobs.check_folder(f"  {tmp_path}  ") == tmp_path


def test_one_folder_import_runs_at_a_time_and_reports_its_progress(tmp_path, datadir):
    folder = tmp_path / "flashdisk"
    (folder / "sub").mkdir(parents=True)
    book_epub(folder, "satu", title="Satu", chapters=("Isi satu.",))
    book_epub(folder / "sub", "dua", title="Dua", chapters=("Isi dua.",))
    (folder / "kosong.pdf").write_bytes(b"")
    importer = Importer(datadir, Limits(), PoolSettings(processes=1, timeout_seconds=60))
    jobs = import_jobs.ImportJobs(tmp_path / "imports")
    job = jobs.start(importer, folder, "sari")
    with pytest.raises(import_jobs.ImportRunning):
        jobs.start(importer, folder, "sari")
    deadline = time.monotonic() + 60
    while not job.finished:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert job.failure is None and jobs.running() is None
    # Another server process reads the same state from the data directory.
    seen = import_jobs.ImportJobs(tmp_path / "imports").get(job.id)
    assert (seen.total, seen.done, seen.percent, seen.finished) == (3, 3, 100, True)
    assert (seen.count("imported"), seen.count("duplicate"), seen.count("refused")) == (2, 0, 1)
    outcomes = jobs.outcomes(seen)
    assert sorted(outcome.path.name for outcome in outcomes) == ["dua.epub", "kosong.pdf", "satu.epub"]
    [refused] = [outcome for outcome in outcomes if outcome.status == "refused"]
    assert refused.reason_code == "empty-file" and str(refused.error) == "The file is empty (0 bytes)."
    again = jobs.start(importer, folder, "sari")  # the first has finished: a second may start
    while not again.finished:
        time.sleep(0.05)
    assert again.count("duplicate") == 2
    assert jobs.get("../../etc/passwd") is None and jobs.get("0" * 32) is None


def test_a_job_whose_process_died_is_shown_as_stopped(tmp_path):
    jobs = import_jobs.ImportJobs(tmp_path / "imports")
    job = import_jobs.ImportJob("a" * 32, "/media/usb", "sari", pid=2**22 + 12345, total=10, done=4)
    jobs.folder.mkdir()
    jobs._save(job)
    seen = jobs.get(job.id)
    assert seen.finished and seen.failure == import_jobs.JOB_STOPPED and seen.done == 4


def test_a_value_an_old_import_left_is_kept_when_other_fields_are_corrected(catalogue):
    connection, epub_id, _pdf_id = catalogue
    with db.transaction(connection):
        connection.execute("UPDATE records SET ddc = '899.221 RAH', language = 'Indonesian' WHERE id = ?", (epub_id,))
        connection.execute("UPDATE contributors SET creator = 0, role = 'nrt' WHERE record_id = ?", (epub_id,))
    record = editing.editable(connection, epub_id)
    with db.transaction(connection):
        changed = editing.update_record(
            connection, epub_id, _form(record, title="Judul Benar", ddc_class="8"), latest_year=LATEST
        )
    assert sorted(changed) == ["title"]
    after = editing.editable(connection, epub_id)
    assert (after["ddc"], after["language"], after["other_contributors"]) == (
        "899.221 RAH",
        "Indonesian",
        [("Siti Rahayu", "nrt")],
    )


def test_a_rebuild_of_the_index_keeps_withdrawn_records_out_of_search(catalogue, index):
    connection, epub_id, _pdf_id = catalogue
    editing.set_withdrawn(connection, epub_id, True)
    editing.refresh_index(index, connection, epub_id)
    assert search_engine.ensure_index(index, connection, processes=1) == "ok"  # no rebuild needed
    search_engine.rebuild_index(index, connection, processes=1)
    assert _found(index, connection, "padi") == []

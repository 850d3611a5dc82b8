"""Importing files: what is stored, what is refused, and that nothing is left half-done."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest

from catalog import db, ingest, records
from catalog.extract import Limits
from catalog.ingest import Importer
from catalog.workers import PoolSettings
from tests.builders import make_epub, make_pdf


def _stored(datadir):
    """Every file under the data directory's storage folders (book files, covers, thumbs, tmp)."""
    folders = (datadir.files_dir, datadir.covers_dir, datadir.thumbs_dir, datadir.tmp_dir)
    return sorted(path for folder in folders for path in folder.rglob("*") if path.is_file())


def test_epub_is_catalogued_with_its_metadata_text_and_file(tmp_path, datadir, importer):
    book = make_epub(
        tmp_path,
        title="Cerita Rakyat Nusantara",
        authors=("Siti Rahayu", "Budi Santoso"),
        chapters=("Malin Kundang durhaka kepada ibunya.", "Sangkuriang dan Dayang Sumbi."),
        isbn="978-602-8519-93-9",
    )
    [outcome] = importer.run([book])
    assert outcome.status == "imported", outcome.error
    with contextlib.closing(datadir.connect()) as connection:
        record = records.get_record(connection, outcome.record_id)
        units = records.text_units(connection, record["files"][0]["id"])
    assert record["title"] == "Cerita Rakyat Nusantara"
    assert record["authors"] == ["Siti Rahayu", "Budi Santoso"]
    assert record["language"] == "id"
    assert record["identifiers"]["isbn"] == "9786028519939"
    assert record["format"] == "epub"
    assert record["has_text"] is True
    sha256 = hashlib.sha256(book.read_bytes()).hexdigest()
    assert record["sha256"] == sha256
    assert datadir.book_path(sha256, "epub").read_bytes() == book.read_bytes()
    texts = [unit["text"] for unit in units]
    assert any("Malin Kundang durhaka" in text for text in texts)
    chapter = next(unit for unit in units if "Sangkuriang" in unit["text"])
    assert chapter["label"] == "Bab 2"
    assert chapter["href"].endswith("bab2.xhtml")


def test_pdf_text_is_kept_page_by_page_with_a_rendered_cover(tmp_path, datadir, importer):
    pdf = make_pdf(tmp_path, title="Laporan Panen", author="Budi; Ani", pages=("padi", "jagung", "kedelai"))
    [outcome] = importer.run([pdf])
    assert outcome.status == "imported", outcome.error
    with contextlib.closing(datadir.connect()) as connection:
        record = records.get_record(connection, outcome.record_id)
        units = records.text_units(connection, record["files"][0]["id"])
    assert record["title"] == "Laporan Panen"
    assert record["authors"] == ["Budi", "Ani"]
    assert record["pages"] == 3
    assert [(unit["seq"], unit["text"]) for unit in units] == [(1, "padi"), (2, "jagung"), (3, "kedelai")]
    assert record["has_cover"] is True
    cover = datadir.cover_path(record["sha256"]).read_bytes()
    assert cover.startswith(b"\xff\xd8\xff")  # a JPEG
    assert datadir.thumb_path(record["sha256"]).is_file()


def test_missing_title_comes_from_the_file_name_and_is_marked_so(tmp_path, datadir, importer):
    pdf = make_pdf(tmp_path, title=None, author=None, name="sejarah_desa-sukamaju.pdf")
    [outcome] = importer.run([pdf])
    with contextlib.closing(datadir.connect()) as connection:
        record = records.get_record(connection, outcome.record_id)
    assert record["title"] == "Sejarah desa sukamaju"
    assert record["title_source"] == "filename"
    assert record["authors"] == []


def test_folders_are_walked_recursively_and_hidden_files_skipped(tmp_path, importer):
    nested = tmp_path / "koleksi" / "sekolah" / "kelas-4"
    nested.mkdir(parents=True)
    make_epub(nested, title="Matematika Kelas 4")
    make_pdf(tmp_path / "koleksi", title="Profil Desa")
    (tmp_path / "koleksi" / ".DS_Store").write_bytes(b"junk")
    outcomes = importer.run([tmp_path / "koleksi"])
    assert sorted(outcome.path.name for outcome in outcomes) == ["matematika-kelas-4.epub", "profil-desa.pdf"]
    assert {outcome.status for outcome in outcomes} == {"imported"}


def test_the_same_file_twice_is_stored_once(tmp_path, datadir, importer):
    book = make_epub(tmp_path, title="Kamus Kecil")
    copy = tmp_path / "salinan" / "kamus.epub"
    copy.parent.mkdir()
    copy.write_bytes(book.read_bytes())
    outcomes = importer.run([book, copy])
    assert sorted(outcome.status for outcome in outcomes) == ["duplicate", "imported"]
    assert outcomes[0].record_id == outcomes[1].record_id is not None
    again = importer.run([copy])
    assert [outcome.status for outcome in again] == ["duplicate"]
    assert again[0].record_id == next(o.record_id for o in outcomes if o.status == "imported")
    with contextlib.closing(datadir.connect()) as connection:
        assert records.count_records(connection) == 1
    assert len(list(datadir.files_dir.rglob("*.epub"))) == 1


def test_copies_of_a_refused_file_are_all_refused_not_called_present(tmp_path, importer):
    first = tmp_path / "a" / "terkunci.pdf"
    second = tmp_path / "b" / "terkunci.pdf"
    for path in (first, second):
        path.parent.mkdir()
        path.write_text("<html>bukan pdf</html>")
    outcomes = importer.run([first, second])
    assert [(outcome.status, outcome.reason_code) for outcome in outcomes] == [("refused", "disguised-file")] * 2


def test_a_file_over_the_size_limit_is_refused_and_nothing_is_written(tmp_path, datadir):
    pdf = make_pdf(tmp_path, pages=("x" * 50,) * 3)
    importer = Importer(datadir, Limits(max_file_bytes=100), PoolSettings(processes=1))
    [outcome] = importer.run([pdf])
    assert outcome.status == "refused"
    assert outcome.reason_code == "file-too-large"
    assert _stored(datadir) == []


def test_a_file_over_its_time_budget_is_refused_and_its_worker_replaced(tmp_path, datadir):
    books = [make_pdf(tmp_path, title=f"Buku {n}", pages=("teks",) * 30) for n in range(3)]
    importer = Importer(datadir, Limits(), PoolSettings(processes=1, timeout_seconds=0.001))
    outcomes = importer.run(books)
    assert [outcome.reason_code for outcome in outcomes] == ["timeout"] * 3
    assert _stored(datadir) == []
    # the same importer settings with a real budget import them all
    ok = Importer(datadir, Limits(), PoolSettings(processes=1, timeout_seconds=60)).run(books)
    assert [outcome.status for outcome in ok] == ["imported"] * 3


def test_disk_full_while_storing_refuses_the_file_and_leaves_nothing(tmp_path, datadir, importer, monkeypatch):
    book = make_pdf(tmp_path, title="Buku Bergambar")  # a PDF always gets a cover written

    def full_disk(path, content):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ingest, "write_atomically", full_disk)
    [outcome] = importer.run([book])
    assert outcome.status == "refused"
    assert outcome.reason_code == "disk-full"
    assert _stored(datadir) == []
    with contextlib.closing(datadir.connect()) as connection:
        assert records.count_records(connection) == 0


def test_each_import_is_logged_with_its_reason(tmp_path, datadir, importer):
    empty = tmp_path / "kosong.pdf"
    empty.write_bytes(b"")
    importer.run([empty, make_pdf(tmp_path)])
    with contextlib.closing(datadir.connect()) as connection:
        rows = connection.execute("SELECT path, status, reason_code FROM import_log ORDER BY id").fetchall()
    assert [(row["status"], row["reason_code"]) for row in rows] == [("refused", "empty-file"), ("imported", None)]


@pytest.mark.slow
def test_killing_an_import_midway_leaves_no_half_record_and_no_orphan(tmp_path):
    """SIGKILL an import at several moments; afterwards the catalogue and the disk agree."""
    source = tmp_path / "buku"
    source.mkdir()
    for n in range(16):
        make_pdf(source, title=f"Buku {n}", pages=tuple(f"halaman {p} buku {n}" for p in range(40)))
        make_epub(source, title=f"Cerita {n}", chapters=tuple(f"bab {c} cerita {n}" for c in range(8)))
    data = tmp_path / "data"
    command = [sys.executable, "-m", "ebookserver", "--data-dir", str(data), "import", str(source)]
    from catalog.datadir import DataDir

    datadir = DataDir(data)
    for delay in (0.6, 1.0, 1.4, 1.9):
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        time.sleep(delay)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        if not datadir.database_path.exists():
            continue
        with contextlib.closing(datadir.connect()) as connection:
            if db.schema_version(connection) == 0:
                continue  # killed before the first migration committed: an empty, consistent file
            # no half record: every record has its file and every file all its text units
            assert (
                connection.execute(
                    "SELECT count(*) FROM records WHERE id NOT IN (SELECT record_id FROM ebook_files)"
                ).fetchone()[0]
                == 0
            )
            for file in connection.execute("SELECT id, pages FROM ebook_files"):
                units = connection.execute("SELECT count(*) FROM text_units WHERE file_id = ?", (file["id"],))
                assert units.fetchone()[0] == file["pages"]
            # every file a record names is on disk
            for file in connection.execute("SELECT sha256, format FROM ebook_files"):
                assert datadir.book_path(file["sha256"], file["format"]).is_file()
    # the next import sweeps whatever the kills left and finishes the job
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    assert finished.returncode == 0, finished.stderr
    with contextlib.closing(datadir.connect()) as connection:
        known = {row["sha256"] for row in connection.execute("SELECT sha256 FROM ebook_files")}
        assert records.count_records(connection) == 32
    on_disk = {sha for sha, _ in datadir.stored_files()}
    assert on_disk <= known  # no orphans
    assert list(datadir.tmp_dir.iterdir()) == []


def test_pdf_pages_are_labelled_with_their_outline_section(tmp_path, datadir, importer):
    import pymupdf

    document = pymupdf.open()
    for text in ("sampul", "pendahuluan", "lanjutan", "bab dua"):
        document.new_page().insert_text((72, 72), text)
    document.set_toc([[1, "Pendahuluan", 2], [1, "Bab Dua", 4]])
    path = tmp_path / "berbab.pdf"
    document.save(path)
    [outcome] = importer.run([path])
    with contextlib.closing(datadir.connect()) as connection:
        file_id = records.get_record(connection, outcome.record_id)["files"][0]["id"]
        labels = [(unit["seq"], unit["label"]) for unit in records.text_units(connection, file_id)]
    assert labels == [(1, None), (2, "Pendahuluan"), (3, "Pendahuluan"), (4, "Bab Dua")]

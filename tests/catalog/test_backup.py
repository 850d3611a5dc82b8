"""Backups and restores of a real library: a drill, consistency under writes, rotation, refusals."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from catalog import backup as backups
from catalog import circulation, db, members
from catalog.datadir import DataDir
from catalog.records import add_item
from tests.builders import make_epub, make_pdf


def _hashes(datadir: DataDir) -> dict[str, str]:
    """Every backed-up file of a data directory (not the index or tmp) by path, with its sha256."""
    found = {}
    for folder in backups.FOLDERS:
        for path in sorted((datadir.root / folder).rglob("*")):
            if path.is_file():
                found[path.relative_to(datadir.root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _rows(datadir: DataDir, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(datadir.database_path)) as connection:
        return [tuple(row) for row in connection.execute(sql)]


RECORDS = "SELECT id, title FROM records ORDER BY id"
FILES = "SELECT sha256, format, size FROM ebook_files ORDER BY sha256"
LOANS = "SELECT item_id, member_id, loaned_at, due_at, returned_at FROM print_loans ORDER BY id"


@pytest.fixture
def library(tmp_path, datadir, importer) -> DataDir:
    """A library made by importing real files, with a printed copy lent to a member."""
    books = tmp_path / "books"
    books.mkdir()
    make_epub(books, title="Cerita Rakyat Nusantara", chapters=("Malin Kundang durhaka.", "Sangkuriang."))
    make_pdf(books, title="Panduan Bertani Padi", pages=("Menanam padi di sawah.", "Panen raya."))
    make_pdf(books, title="Sejarah Desa", pages=("Desa ini berdiri lama.",))
    outcomes = importer.run([books])
    assert [outcome.status for outcome in outcomes] == ["imported"] * 3
    with contextlib.closing(datadir.connect()) as connection:
        with db.transaction(connection):
            record_id = connection.execute("SELECT min(id) FROM records").fetchone()[0]
            add_item(connection, record_id, barcode="B0001", call_number="398.2 CER")
        member = members.register_member(connection, "Siti Aminah", number="M-001")
        circulation.check_out(connection, "B0001", member["number"])
    datadir.secret("secret_key", lambda: "kunci-rahasia")
    return datadir


def test_restore_drill_gives_back_the_same_records_files_and_loans(library, tmp_path):
    report = backups.backup(library, tmp_path / "cadangan")
    assert report.records == 3
    assert report.files == len(_hashes(library))
    assert report.copied == report.files  # the first backup copies everything
    before = {query: _rows(library, query) for query in (RECORDS, FILES, LOANS)}
    assert before[LOANS] and before[LOANS][0][4] is None  # one open loan
    hashes = _hashes(library)

    shutil.rmtree(library.root)  # the disk died
    restored = DataDir(tmp_path / "baru")
    result = backups.restore(tmp_path / "cadangan", restored)

    assert result.records == 3
    assert {query: _rows(restored, query) for query in (RECORDS, FILES, LOANS)} == before
    assert _hashes(restored) == hashes
    assert (restored.root / "secret_key").read_text().strip() == "kunci-rahasia"
    for sha256, file_format, _size in before[FILES]:
        assert restored.book_path(sha256, file_format).is_file()
    assert restored.index_dir.is_dir() and restored.tmp_dir.is_dir()


def test_a_second_backup_copies_only_what_changed(library, tmp_path, importer):
    first = backups.backup(library, tmp_path / "cadangan")
    second = backups.backup(library, tmp_path / "cadangan")
    assert second.copied == 0
    assert second.files == first.files
    make_pdf(tmp_path, title="Buku Baru", pages=("Isi baru.",))
    importer.run([tmp_path / "buku-baru.pdf"])
    third = backups.backup(library, tmp_path / "cadangan")
    assert 1 <= third.copied <= 3  # the book file, and its cover and thumbnail if any
    assert third.records == 4


def test_rotation_keeps_the_newest_snapshots_and_the_objects_they_need(library, tmp_path, importer):
    destination = tmp_path / "cadangan"
    start = datetime.datetime(2026, 11, 1, 2, 30, tzinfo=datetime.UTC)
    backups.backup(library, destination, keep=3, now=start)
    make_pdf(tmp_path, title="Sementara", pages=("Buku ini akan dihapus.",))
    importer.run([tmp_path / "sementara.pdf"])
    with contextlib.closing(library.connect()) as connection:
        sha256, file_format = connection.execute(
            "SELECT f.sha256, f.format FROM ebook_files f JOIN records r ON r.id = f.record_id WHERE r.title = ?",
            ("Sementara",),
        ).fetchone()
        with db.transaction(connection):
            connection.execute("DELETE FROM records WHERE title = 'Sementara'")
    backups.backup(library, destination, keep=3, now=start + datetime.timedelta(days=1))
    library.book_path(sha256, file_format).unlink()
    for day in range(2, 6):
        report = backups.backup(library, destination, keep=3, now=start + datetime.timedelta(days=day))
    assert report.removed == ["20261103T023000Z"]
    names = [snapshot["name"] for snapshot in backups.snapshots(destination)]
    assert names == ["20261104T023000Z", "20261105T023000Z", "20261106T023000Z"]
    assert not (destination / "objects" / sha256[:2] / sha256).exists()  # no snapshot needs it now
    kept = backups.find_snapshot(destination)
    for entry in json.loads((kept / "manifest.json").read_text())["files"]:
        assert (destination / "objects" / entry["sha256"][:2] / entry["sha256"]).is_file()


def test_backup_while_another_connection_writes_is_consistent(library, tmp_path):
    """A writer inserts rows in pairs inside transactions; every copy holds whole pairs only."""
    with contextlib.closing(library.connect()) as connection:
        connection.execute("CREATE TABLE drill (pair INTEGER NOT NULL, half INTEGER NOT NULL)")
    stop = threading.Event()

    def write() -> None:
        with contextlib.closing(library.connect()) as connection:
            pair = 0
            while not stop.is_set():
                pair += 1
                with db.transaction(connection):
                    connection.execute("INSERT INTO drill VALUES (?, 1)", (pair,))
                    connection.execute("INSERT INTO drill VALUES (?, 2)", (pair,))

    writer = threading.Thread(target=write)
    writer.start()
    try:
        reports = [backups.backup(library, tmp_path / "cadangan", keep=10) for _ in range(4)]
    finally:
        stop.set()
        writer.join()
    counts = []
    for report in reports:
        with contextlib.closing(sqlite3.connect(report.snapshot / "catalogue.sqlite3")) as copy:
            assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            count, pairs = copy.execute("SELECT count(*), count(DISTINCT pair) FROM drill").fetchone()
            assert count == 2 * pairs
            counts.append(count)
    assert counts[-1] > 0


def test_restore_refuses_a_data_directory_that_is_not_empty(library, tmp_path):
    backups.backup(library, tmp_path / "cadangan")
    with pytest.raises(backups.RestoreTargetNotEmpty, match="not empty"):
        backups.restore(tmp_path / "cadangan", library)
    assert _rows(library, RECORDS)  # untouched


def test_restore_refuses_a_corrupted_backup_and_leaves_nothing_behind(library, tmp_path):
    report = backups.backup(library, tmp_path / "cadangan")
    manifest = json.loads((report.snapshot / "manifest.json").read_text())
    damaged = next(entry for entry in manifest["files"] if entry["path"].startswith("files/"))
    stored = tmp_path / "cadangan" / "objects" / damaged["sha256"][:2] / damaged["sha256"]
    content = bytearray(stored.read_bytes())
    content[len(content) // 2] ^= 0xFF  # one flipped byte
    stored.write_bytes(bytes(content))
    target = DataDir(tmp_path / "baru")
    with pytest.raises(backups.BackupCorrupt) as refused:
        backups.restore(tmp_path / "cadangan", target)
    message = refused.value.render()
    assert damaged["path"] in message and "checksum" in message
    assert not target.root.exists()

    target.root.mkdir()  # an empty folder made for the restore stays, and stays empty
    stored.unlink()
    with pytest.raises(backups.BackupCorrupt, match="is missing"):
        backups.restore(tmp_path / "cadangan", target)
    assert target.root.is_dir() and not any(target.root.iterdir())


def test_restore_refuses_a_manifest_pointing_outside_the_data_directory(library, tmp_path):
    report = backups.backup(library, tmp_path / "cadangan")
    manifest_path = report.snapshot / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"][0]["path"] = "../../etc/passwd"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(backups.BackupCorrupt, match="outside"):
        backups.restore(report.snapshot, DataDir(tmp_path / "baru"))


def test_restore_of_a_folder_without_backups_says_so(tmp_path):
    (tmp_path / "kosong").mkdir()
    with pytest.raises(backups.BackupNotFound):
        backups.restore(tmp_path / "kosong", DataDir(tmp_path / "baru"))


def test_an_interrupted_backup_is_not_a_snapshot_and_is_cleaned_up(library, tmp_path):
    destination = tmp_path / "cadangan"
    backups.backup(library, destination)
    partial = destination / "snapshots" / ".partial-20261126T000000Z"
    partial.mkdir()
    (partial / "catalogue.sqlite3").write_bytes(b"half")
    assert backups.find_snapshot(destination).name != partial.name
    backups.backup(library, destination)
    assert not partial.exists()


def test_backup_of_a_missing_catalogue_is_a_clear_error(tmp_path):
    with pytest.raises(backups.NoCatalogue, match="no catalogue database"):
        backups.backup(DataDir(tmp_path / "tidak-ada"), tmp_path / "cadangan")


def test_backup_warns_about_a_damaged_book_file(library, tmp_path):
    with contextlib.closing(library.connect()) as connection:
        sha256, file_format = connection.execute("SELECT sha256, format FROM ebook_files LIMIT 1").fetchone()
    path: Path = library.book_path(sha256, file_format)
    path.write_bytes(path.read_bytes() + b"rusak")
    report = backups.backup(library, tmp_path / "cadangan")
    assert [warning.code for warning in report.warnings] == ["damaged-data-file"]


@pytest.mark.skipif(os.geteuid() != 0, reason="giving files to another user needs root")
def test_a_restore_run_as_root_gives_the_files_to_the_given_owner(library, tmp_path):
    backups.backup(library, tmp_path / "cadangan")
    target = DataDir(tmp_path / "baru")
    backups.restore(tmp_path / "cadangan", target, owner=(65534, 65534))
    owners = {path.stat().st_uid for path in target.root.rglob("*")} | {target.root.stat().st_uid}
    assert owners == {65534}

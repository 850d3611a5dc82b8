"""The catalogue database: pragmas, numbered migrations that upgrade in place."""

from __future__ import annotations

import contextlib
import datetime
import sqlite3

import pytest

from catalog import db


def test_connection_uses_wal_foreign_keys_and_a_busy_timeout(tmp_path):
    with contextlib.closing(db.connect(tmp_path / "c.sqlite3")) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert connection.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_migrations_are_numbered_without_gaps():
    numbers = [number for number, _, _ in db.migrations()]
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) >= 2


def test_upgrade_from_migration_1_keeps_existing_data(tmp_path):
    path = tmp_path / "old.sqlite3"
    with contextlib.closing(db.connect(path)) as connection:
        assert db.migrate(connection, target=1) == ["0001_catalogue.sql"]
        assert db.schema_version(connection) == 1
        with db.transaction(connection):
            record_id = connection.execute(
                "INSERT INTO records (title, language) VALUES (?, ?)", ("Sejarah Desa", "id")
            ).lastrowid
            connection.execute(
                "INSERT INTO contributors (record_id, position, name) VALUES (?, 1, ?)", (record_id, "Siti")
            )
    # A later program opens the same file and upgrades it in place.
    with contextlib.closing(db.connect(path)) as connection:
        applied = db.migrate(connection)
        assert applied and applied[0] == "0002_import_log.sql"
        assert db.schema_version(connection) == db.latest_version()
        row = connection.execute("SELECT title, language FROM records WHERE id = ?", (record_id,)).fetchone()
        assert tuple(row) == ("Sejarah Desa", "id")
        assert (
            connection.execute("SELECT name FROM contributors WHERE record_id = ?", (record_id,)).fetchone()[0]
            == "Siti"
        )
        # the new table from migration 2 works
        connection.execute("INSERT INTO import_log (path, status) VALUES ('x.pdf', 'refused')")
        # migrating again does nothing
        assert db.migrate(connection) == []


def test_a_failed_transaction_leaves_nothing(tmp_path):
    with contextlib.closing(db.connect(tmp_path / "c.sqlite3")) as connection:
        db.migrate(connection)
        with pytest.raises(sqlite3.IntegrityError), db.transaction(connection):
            connection.execute("INSERT INTO records (title) VALUES ('Buku')")
            connection.execute("INSERT INTO records (title) VALUES (NULL)")
        assert connection.execute("SELECT count(*) FROM records").fetchone()[0] == 0


def test_deleting_a_record_removes_its_parts(tmp_path):
    with contextlib.closing(db.connect(tmp_path / "c.sqlite3")) as connection:
        db.migrate(connection)
        with db.transaction(connection):
            record_id = connection.execute("INSERT INTO records (title) VALUES ('Buku')").lastrowid
            connection.execute("INSERT INTO subjects (record_id, position, term) VALUES (?, 1, 'Hukum')", (record_id,))
            connection.execute("DELETE FROM records WHERE id = ?", (record_id,))
        assert connection.execute("SELECT count(*) FROM subjects").fetchone()[0] == 0


def test_a_database_newer_than_the_program_is_not_touched(tmp_path):
    with contextlib.closing(db.connect(tmp_path / "c.sqlite3")) as connection:
        db.migrate(connection)
        connection.execute(f"PRAGMA user_version = {db.latest_version() + 1}")
        with pytest.raises(RuntimeError, match="newer"):
            db.migrate(connection)


def test_commits_wait_for_the_disk_except_usage_counts(tmp_path):
    """A loan or an import the librarian was told about must survive a power cut: every commit
    is flushed (synchronous FULL, 2), except usage events, which may lose their last few."""
    from catalog import events

    with contextlib.closing(db.connect(tmp_path / "c.sqlite3")) as connection:
        db.migrate(connection)
        assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2
        seen = []
        with db.relaxed(connection):
            seen.append(connection.execute("PRAGMA synchronous").fetchone()[0])
        assert seen == [1] and connection.execute("PRAGMA synchronous").fetchone()[0] == 2
        events.log(connection, events.VISIT)
        events.log_search(connection, "kapal selam", 0, day=datetime.date(2026, 11, 26))
        assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # back to FULL after counting
        assert connection.execute("SELECT count(*) FROM events").fetchone()[0] == 3

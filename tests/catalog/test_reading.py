"""Where a patron is in each book, and the reading history kept only when they ask."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest

from catalog import members, reading

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def connection(datadir):
    with contextlib.closing(datadir.connect()) as connection:
        yield connection


def patron(connection, name: str) -> int:
    return members.register_member(connection, name, number=name.upper(), now=NOW)["id"]


def test_positions_and_the_history_that_is_kept_only_when_asked(connection):
    book = connection.execute("INSERT INTO records (title) VALUES ('Laskar Pelangi')").lastrowid
    file_id = connection.execute(
        "INSERT INTO ebook_files (record_id, format, sha256, size, pages, has_text, original_name)"
        " VALUES (?, 'pdf', ?, 1, 9, 1, 'laskar.pdf')",
        (book, "a" * 64),
    ).lastrowid
    siti, budi = patron(connection, "siti"), patron(connection, "budi")
    assert reading.position(connection, siti, file_id) is None
    reading.save_position(connection, siti, file_id, 4)
    reading.save_position(connection, siti, file_id, 6)
    assert reading.position(connection, siti, file_id) == 6 and reading.position(connection, budi, file_id) is None
    assert reading.note_reading(connection, siti, book, now=NOW) is False
    assert reading.reading_history(connection, siti) == []
    reading.set_keep_history(connection, siti, True)
    assert reading.note_reading(connection, siti, book, now=NOW) is True
    reading.note_reading(connection, siti, book, now=NOW + HOUR)
    assert [(entry["title"], entry["read_at"]) for entry in reading.reading_history(connection, siti)] == [
        ("Laskar Pelangi", NOW + HOUR)
    ]
    assert reading.clear_history(connection, siti) == 2
    reading.note_reading(connection, siti, book, now=NOW)
    reading.set_keep_history(connection, siti, False)
    assert reading.reading_history(connection, siti) == [] and not reading.keeps_history(connection, siti)

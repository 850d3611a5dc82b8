"""The daily usage report: what it counts, in which day, and what it never says."""

from __future__ import annotations

import contextlib
import datetime
import json
from pathlib import Path

import pytest

from catalog import db, stats
from catalog.datadir import DataDir

ROOT = Path(__file__).resolve().parents[2]
DAY = datetime.date(2026, 11, 24)  # in Asia/Jakarta: 2026-11-23T17:00Z to 2026-11-24T17:00Z
NOW = datetime.datetime(2026, 11, 25, 3, tzinfo=datetime.UTC)


@pytest.fixture
def connection(tmp_path):
    datadir = DataDir(tmp_path / "data")
    datadir.create()
    with contextlib.closing(datadir.connect()) as opened:
        with db.transaction(opened):
            opened.execute(
                "INSERT INTO library (id, name, npp, village, regency) VALUES"
                " (1, 'Perpustakaan Desa Sukamaju', '3204012345', 'Sukamaju', 'Kabupaten Bandung')"
            )
        yield opened


def add(connection, sql: str, *parameters) -> int:
    with db.transaction(connection):
        return connection.execute(sql, parameters).lastrowid


def report(connection, **options) -> dict:
    return stats.daily_report(
        connection, DAY, revision=options.pop("revision", 1), timezone="Asia/Jakarta", now=NOW, **options
    )


def test_counts_fall_in_the_librarys_local_day(connection):
    padi = add(connection, "INSERT INTO records (title, created_at) VALUES ('Menanam Padi', '2026-11-01T00:00:00Z')")
    for at in ("2026-11-23T16:59:59Z", "2026-11-23T17:00:00Z", "2026-11-24T16:59:59Z", "2026-11-24T17:00:00Z"):
        add(connection, "INSERT INTO events (kind, record_id, at) VALUES ('read', ?, ?)", padi, at)
    add(connection, "INSERT INTO events (kind, record_id, at) VALUES ('download', ?, '2026-11-24T01:00:00Z')", padi)
    item = add(connection, "INSERT INTO items (record_id, barcode) VALUES (?, 'B1')", padi)
    add(
        connection,
        "INSERT INTO print_loans (item_id, loaned_at, due_at, returned_at) VALUES (?, ?, ?, ?)",
        item, "2026-11-24T02:00:00Z", "2026-12-01T02:00:00Z", "2026-11-24T09:00:00Z",
    )  # fmt: skip
    counts = report(connection)["counts"]
    assert (counts["reads"], counts["downloads"]) == (2, 1)
    assert (counts["print_loans"], counts["print_returns"]) == (1, 1)
    assert counts["collection"] == {"titles": 1, "ebook_titles": 0, "print_titles": 1, "print_copies": 1}
    assert counts["ebook_loans"] == 0  # e-lending is in this version (migration 0009)


def test_new_members_are_counted_by_gender_and_age_band_and_never_named(connection):
    insert = "INSERT INTO members (number, name, birth_year, gender, created_at) VALUES (?, ?, ?, ?, ?)"
    add(connection, insert, "A1", "Siti Aminah", 2016, "P", "2026-11-24T02:00:00Z")
    add(connection, insert, "A2", "Budi Santoso", 1980, "L", "2026-11-24T03:00:00Z")
    add(connection, insert, "A3", "Tanpa Data", None, None, "2026-11-22T03:00:00Z")
    document = report(connection)
    new = document["counts"]["new_members"]
    assert new["total"] == 2
    assert new["by_gender"] == {"L": 1, "P": 1, "unknown": 0}
    assert new["by_age_band"]["7-12"] == 1 and new["by_age_band"]["19-59"] == 1
    text = json.dumps(document)
    assert "Siti" not in text and "Budi" not in text and "A1" not in text


def test_small_title_counts_are_suppressed(connection):
    popular = add(connection, "INSERT INTO records (title) VALUES ('Buku Populer')")
    rare = add(connection, "INSERT INTO records (title) VALUES ('Buku Langka')")
    for _ in range(5):
        add(connection, "INSERT INTO events (kind, record_id, at) VALUES ('read', ?, '2026-11-24T01:00:00Z')", popular)
    for _ in range(2):
        add(connection, "INSERT INTO events (kind, record_id, at) VALUES ('read', ?, '2026-11-24T01:00:00Z')", rare)
    add(connection, "INSERT INTO events (kind, record_id, at) VALUES ('download', ?, '2026-11-24T01:00:00Z')", popular)
    titles = report(connection, min_count=5)["counts"]["titles"]
    assert titles["shown"] == [{"record_id": popular, "title": "Buku Populer", "reads": 5}]
    assert titles["suppressed"] == 3 and titles["min_count"] == 5
    assert report(connection)["counts"]["reads"] == 7  # the totals keep everything


def test_report_id_is_deterministic_from_library_day_and_revision(connection):
    first, again, revised = report(connection), report(connection), report(connection, revision=2)
    assert first["report_id"] == again["report_id"] != revised["report_id"]
    assert first["report_id"] == stats.report_id("npp:3204012345", DAY, 1)
    assert stats.report_id("npp:1", DAY, 1) != first["report_id"]
    assert first["library"]["key"] == "npp:3204012345" and first["period"]["start"] == "2026-11-23T17:00:00Z"
    assert first["not_counted"] == [] and first["counts"]["visits"] == 0


def test_the_published_example_and_schema_agree():
    example = json.loads((ROOT / "docs" / "schemas" / "daily-report-v1.example.json").read_text(encoding="utf-8"))
    stats.validate(example)
    published = json.loads((ROOT / "docs" / "schemas" / "daily-report-v1.schema.json").read_text(encoding="utf-8"))
    assert published == stats.schema() and published["$id"] == stats.SCHEMA_ID


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.pop("counts"),
        lambda d: d["counts"].update(reads=-1),
        lambda d: d["counts"].update(patron="A1"),
        lambda d: d.update(report_id="1"),
        lambda d: d["period"].update(date="24-11-2026"),
    ],
)
def test_the_sender_refuses_a_document_outside_the_schema(connection, damage):
    document = report(connection)
    damage(document)
    with pytest.raises(stats.ReportInvalid):
        stats.validate(document)


def test_the_events_of_item_1_are_counted_and_nothing_is_left_uncounted(connection):
    for kind, times in [
        ("visit", 3),
        ("search", 4),
        ("zero_result_search", 1),
        ("record_view", 5),
        ("hold_fulfilled", 1),
        ("hold_expired", 1),
        ("refusal_no_licence", 1),
        ("refusal_limit", 2),
        ("kiosk_session", 2),
    ]:
        for _ in range(times):
            add(connection, "INSERT INTO events (kind, at) VALUES (?, '2026-11-24T01:00:00Z')", kind)
    add(connection, "INSERT INTO events (kind, at) VALUES ('visit', '2026-11-24T17:00:00Z')")  # the next day
    counts = report(connection)["counts"]
    assert {name: counts[name] for name in stats.EVENT_COUNTERS} == {
        "visits": 3,
        "searches": 4,
        "zero_result_searches": 1,
        "record_views": 5,
        "holds_fulfilled": 1,
        "holds_expired": 1,
        "borrow_refusals_no_licence": 1,
        "borrow_refusals_limit": 2,
        "kiosk_sessions": 2,
    }

"""What must hold after any power cut, checked on the data directory once the server is back.

Each check returns the problems it found, as sentences (empty: all is well). "Acknowledged"
means a client was told the work was done: a command printed the outcome, the server answered.
"""

from __future__ import annotations

import dataclasses
import datetime
import sqlite3
from collections import Counter

from catalog import lending, outbox
from catalog.search.documents import indexable_count
from catalog.search.index import SearchIndex
from ebookserver.settings import load_settings
from tests.robustness.rig import Rig

TIMEZONE = load_settings(environ={}).timezone


@dataclasses.dataclass
class Acknowledged:
    """What clients were told, to check against what survived."""

    books: dict[str, str] = dataclasses.field(default_factory=dict)  # sha256 -> how it came
    loans: dict[tuple[int, int], bool] = dataclasses.field(default_factory=dict)  # (member, record) -> on loan
    in_flight: set[tuple[int, int]] = dataclasses.field(default_factory=set)  # asked, no answer yet
    answers: Counter = dataclasses.field(default_factory=Counter)  # acknowledgements by kind


def check_all(rig: Rig, acknowledged: Acknowledged) -> list[str]:
    connection = sqlite3.connect(rig.datadir.database_path, timeout=30)
    connection.row_factory = sqlite3.Row
    try:
        return [
            *database_intact(connection),
            *books_kept(connection, acknowledged),
            *files_present(rig, connection),
            *loans_kept(connection, acknowledged),
            *index_consistent(rig, connection),
            *outbox_complete(rig, connection),
        ]
    finally:
        connection.close()


def database_intact(connection: sqlite3.Connection) -> list[str]:
    result = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    problems = [] if result == ["ok"] else [f"integrity_check: {'; '.join(result[:3])}"]
    if connection.execute("PRAGMA foreign_key_check").fetchone() is not None:
        problems.append("foreign_key_check found rows pointing nowhere")
    return problems


def books_kept(connection: sqlite3.Connection, acknowledged: Acknowledged) -> list[str]:
    stored = {row[0] for row in connection.execute("SELECT sha256 FROM ebook_files")}
    return [
        f"acknowledged book lost ({how}): {sha256[:12]}"
        for sha256, how in acknowledged.books.items()
        if sha256 not in stored
    ]


def files_present(rig: Rig, connection: sqlite3.Connection) -> list[str]:
    problems = []
    rows = connection.execute(
        "SELECT f.sha256, f.format, f.size, r.cover FROM ebook_files f JOIN records r ON r.id = f.record_id"
    )
    for row in rows:
        book = rig.datadir.book_path(row["sha256"], row["format"])
        if not book.is_file():
            problems.append(f"book file missing: {book.name}")
        elif book.stat().st_size != row["size"]:
            problems.append(f"book file of the wrong size: {book.name}")
        if row["cover"] and not (rig.datadir.covers_dir / row["cover"]).is_file():
            problems.append(f"cover missing: {row['cover']}")
    return problems


def loans_kept(connection: sqlite3.Connection, acknowledged: Acknowledged) -> list[str]:
    problems = []
    for (member_id, record_id), on_loan in acknowledged.loans.items():
        if (member_id, record_id) in acknowledged.in_flight:
            continue  # the answer never came: either state is right
        found = lending.active_loan(connection, record_id, member_id) is not None
        if found != on_loan:
            state = "borrowed" if on_loan else "returned"
            problems.append(f"acknowledged {state} loan lost: member {member_id}, record {record_id}")
    return problems


def index_consistent(rig: Rig, connection: sqlite3.Connection | None = None) -> list[str]:
    """The index the server uses holds exactly the records the database says it should."""
    if connection is None:
        with rig.connect() as opened:
            return index_consistent(rig, opened)
    index = SearchIndex(rig.datadir.index_dir)
    try:
        state = index.state(indexable_count(connection))
        if state != "ok":
            return [f"search index {state} after the server's start-up check"]
        with index.searchers() as (record_searcher, _units, _vocabulary):
            indexed = {int(fields["id"]) for fields in record_searcher.all_stored_fields()}
    finally:
        index.close()
    expected = {row[0] for row in connection.execute("SELECT id FROM records WHERE withdrawn = 0")}
    if indexed != expected:
        return [f"index records differ: {len(expected - indexed)} missing, {len(indexed - expected)} extra"]
    return []


def outbox_complete(rig: Rig, connection: sqlite3.Connection) -> list[str]:
    """No report counted as sent that the receiver lacks, and no completed day skipped."""
    problems = []
    received = rig.receiver_reports()
    for (report_id,) in connection.execute("SELECT report_id FROM stats_outbox WHERE sent_at IS NOT NULL"):
        if report_id not in received:
            problems.append(f"report {report_id[:12]} marked sent but never received")
    days = {row[0] for row in connection.execute("SELECT day FROM stats_outbox WHERE provisional = 0")}
    first = outbox._first_day(connection, TIMEZONE)
    if days and first is not None:
        last = datetime.date.fromisoformat(max(days))
        expected = {(first + datetime.timedelta(days=n)).isoformat() for n in range((last - first).days + 1)}
        missing = sorted(expected - days)
        if missing:
            problems.append(f"days never queued: {', '.join(missing[:5])}")
    return problems

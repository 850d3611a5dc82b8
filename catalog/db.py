"""The one way into the SQLite catalogue.

Connections are opened here with WAL, foreign keys and a busy timeout; writes run in
short `BEGIN IMMEDIATE` transactions through `transaction()`; the schema is upgraded in
place by the numbered SQL files in `catalog/migrations/`, tracked with `PRAGMA user_version`.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

BUSY_TIMEOUT_MS = 10_000
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def connect(path: Path | str) -> sqlite3.Connection:
    """Open the catalogue database at *path* (created if missing), ready for use."""
    connection = sqlite3.connect(
        str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
    )
    connection.row_factory = sqlite3.Row
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA journal_mode = WAL")
    # FULL: a commit is on the disk before it returns. With WAL, NORMAL keeps the database whole
    # after a power cut but may roll back its last commits: a loan or an import the librarian
    # was told about could vanish. Usage counts, which may lose a few, use `relaxed`.
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("PRAGMA foreign_keys = ON")
    return connection


@contextlib.contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A short write transaction: BEGIN IMMEDIATE, then COMMIT, or ROLLBACK on any error."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


@contextlib.contextmanager
def relaxed(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Commits in this block (outside any transaction) skip the wait for the disk: for what a
    power cut may lose the last few of (usage events), so that counting a page view costs no
    disk flush."""
    connection.execute("PRAGMA synchronous = NORMAL")
    try:
        yield connection
    finally:
        connection.execute("PRAGMA synchronous = FULL")


def migrations() -> list[tuple[int, str, str]]:
    """Every migration shipped with the package as (number, name, sql), in order."""
    found = []
    for entry in resources.files("catalog.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [number for number, _, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"migrations are not numbered 1..n without gaps: {numbers}")
    return found


def schema_version(connection: sqlite3.Connection) -> int:
    return connection.execute("PRAGMA user_version").fetchone()[0]


def latest_version() -> int:
    return len(migrations())


def migrate(connection: sqlite3.Connection, target: int | None = None) -> list[str]:
    """Apply every migration above the database's version up to *target* (default: all).

    Each migration runs in its own transaction together with the version bump, so an
    interrupted upgrade leaves the database at the last complete version. Returns the
    names of the migrations applied.
    """
    applied = []
    current = schema_version(connection)
    if target is None:
        target = latest_version()
    if current > latest_version():
        raise RuntimeError(
            f"the database is at schema version {current}, newer than this program knows "
            f"({latest_version()}); upgrade ebookserver first"
        )
    for number, name, sql in migrations():
        if current < number <= target:
            with transaction(connection):
                for statement in _statements(sql):
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {number:d}")
            applied.append(name)
    return applied


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (migrations hold no triggers or quoted semicolons)."""
    without_comments = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return [statement.strip() for statement in without_comments.split(";") if statement.strip()]

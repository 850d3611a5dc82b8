"""The collection's own words, unstemmed, with how many books use each.

It serves prefixes (`perpus*` -> `perpustakaan`, `perpustakaannya`) and spelling
suggestions (`perpustakan` -> `perpustakaan`). A small SQLite table beside the Whoosh index
costs a fraction of a Whoosh field: words are only added (a word left behind by a deleted
book can only make a suggestion that finds nothing), and a rebuild starts it afresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from catalog import db


class Vocabulary:
    FILENAME = "vocabulary.sqlite3"

    def __init__(self, folder: Path) -> None:
        self.connection = db.connect(folder / self.FILENAME)
        self.connection.execute(
            "CREATE TABLE IF NOT EXISTS words (word TEXT PRIMARY KEY, books INTEGER NOT NULL) WITHOUT ROWID"
        )

    def add_books(self, books: Iterable[Iterable[str]]) -> None:
        """Count each book's distinct words once; the caller serialises writers."""
        with db.transaction(self.connection):
            for words in books:
                self.connection.executemany(
                    "INSERT INTO words (word, books) VALUES (?, 1) ON CONFLICT(word) DO UPDATE SET books = books + 1",
                    ((word,) for word in set(words)),
                )

    def add_counts(self, counts: Iterable[Mapping[str, int]]) -> None:
        """Add word -> number-of-books counts (from a rebuild's shards)."""
        with db.transaction(self.connection):
            for part in counts:
                self.connection.executemany(
                    "INSERT INTO words (word, books) VALUES (?, ?)"
                    " ON CONFLICT(word) DO UPDATE SET books = books + excluded.books",
                    part.items(),
                )

    def books_with(self, word: str) -> int:
        row = self.connection.execute("SELECT books FROM words WHERE word = ?", (word,)).fetchone()
        return row[0] if row else 0

    def most_common_of(self, candidates: Iterable[str]) -> tuple[str, int] | None:
        """The candidate used by the most books, or None when none is a known word."""
        best = None
        candidates = list(candidates)
        for start in range(0, len(candidates), 500):
            chunk = candidates[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for word, books in self.connection.execute(
                f"SELECT word, books FROM words WHERE word IN ({marks})",  # noqa: S608 - only placeholders
                chunk,
            ):
                if best is None or (books, word) > (best[1], best[0]):
                    best = (word, books)
        return best

    def starting_with(self, prefix: str, limit: int) -> list[str]:
        """Words beginning with *prefix*, the most used first."""
        if not prefix:
            return []
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        rows = self.connection.execute(
            "SELECT word FROM (SELECT word, books FROM words WHERE word >= ? AND word < ?)"
            " ORDER BY books DESC, word LIMIT ?",
            (prefix, upper, limit),
        )
        return [word for (word,) in rows]

    def close(self) -> None:
        self.connection.close()

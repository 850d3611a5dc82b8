"""The data directory: database, book files by sha256, covers, thumbnails, search index.

DATA/
  catalogue.sqlite3     the database, the source of truth
  files/ab/<sha256>.epub  each book file, stored once
  covers/<sha256>.jpg   cover images;  thumbs/<sha256>.jpg  thumbnails
  index/                the search index (rebuilt from the database when needed)
  tmp/                  files being imported; emptied whenever an import starts
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from catalog import db


class DataDir:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().absolute()
        self.database_path = self.root / "catalogue.sqlite3"
        self.files_dir = self.root / "files"
        self.covers_dir = self.root / "covers"
        self.thumbs_dir = self.root / "thumbs"
        self.index_dir = self.root / "index"
        self.tmp_dir = self.root / "tmp"

    def create(self) -> list[str]:
        """Create whatever is missing and upgrade the database; returns the migrations applied."""
        for folder in (self.root, self.files_dir, self.covers_dir, self.thumbs_dir, self.index_dir, self.tmp_dir):
            folder.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(db.connect(self.database_path)) as connection:
            return db.migrate(connection)

    def connect(self) -> sqlite3.Connection:
        """A connection to an existing, up-to-date catalogue (call `create()` first)."""
        return db.connect(self.database_path)

    # --- stored files ---------------------------------------------------------------------

    def book_path(self, sha256: str, file_format: str) -> Path:
        return self.files_dir / sha256[:2] / f"{sha256}.{file_format}"

    def cover_path(self, sha256: str) -> Path:
        return self.covers_dir / f"{sha256}.jpg"

    def thumb_path(self, sha256: str) -> Path:
        return self.thumbs_dir / f"{sha256}.jpg"

    def stored_files(self) -> Iterator[tuple[str, Path]]:
        """(sha256, path) of every book file, cover and thumbnail on disk."""
        for folder in (self.files_dir, self.covers_dir, self.thumbs_dir):
            for path in folder.rglob("*"):
                if path.is_file():
                    yield path.name.split(".", 1)[0], path

    @contextlib.contextmanager
    def ingest_lock(self) -> Iterator[None]:
        """Only one import at a time writes files; a second one waits for the first."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "ingest.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def write_atomically(path: Path, content: bytes) -> None:
    """Write *content* to *path* so that readers see either nothing or all of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.part")
    with open(temporary, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)

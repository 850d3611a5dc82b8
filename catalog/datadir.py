"""The data directory: database, book files by sha256, covers, thumbnails, search index.

DATA/
  catalogue.sqlite3     the database, the source of truth
  files/ab/<sha256>.epub  each book file, stored once
  covers/<sha256>.jpg   cover images;  thumbs/<sha256>.jpg  thumbnails
  index/                the search index (rebuilt from the database when needed)
  tmp/                  files being imported; emptied whenever an import starts
  images/<sha256>.jpg   pictures of events and announcements (and -small.jpg)
  secret_key            the key that signs cookies, made on first use (mode 0600)
  setup_code            the one-time code first-run setup asks for, while there is no account
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from catalog import db

SETUP_CODE = "setup_code"


def new_setup_code() -> str:
    """Eight digits, for first-run setup in the browser."""
    return f"{secrets.randbelow(10**8):08d}"


class DataDir:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().absolute()
        self.database_path = self.root / "catalogue.sqlite3"
        self.files_dir = self.root / "files"
        self.covers_dir = self.root / "covers"
        self.thumbs_dir = self.root / "thumbs"
        self.index_dir = self.root / "index"
        self.tmp_dir = self.root / "tmp"
        self.images_dir = self.root / "images"

    def create(self) -> list[str]:
        """Create whatever is missing and upgrade the database; returns the migrations applied."""
        folders = (self.root, self.files_dir, self.covers_dir, self.thumbs_dir, self.index_dir, self.tmp_dir)
        # The database holds password hashes and members' details: not for other users (0750).
        self.root.mkdir(mode=0o750, parents=True, exist_ok=True)
        for folder in (*folders, self.images_dir):
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

    def secret(self, name: str, make) -> str:
        """A secret kept in a file of its own (mode 0600), made with *make()* on first use. Two
        processes starting at once agree on one value: the first to link its file wins."""
        path = self.root / name
        with contextlib.suppress(FileNotFoundError):
            return path.read_text().strip()
        self.root.mkdir(parents=True, exist_ok=True)
        temporary = self.root / f".{name}.{secrets.token_hex(4)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(make() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
        return path.read_text().strip()

    def forget_secret(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.root / name).unlink()

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
    try:
        with open(temporary, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)  # a full disk leaves no half-written file behind
        raise


def is_disk_full(error: BaseException) -> bool:
    """Whether *error* says the disk (or the user's quota) is full, from the OS or from SQLite."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    return isinstance(error, sqlite3.Error) and getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL

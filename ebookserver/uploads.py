"""Receiving e-book files from a browser without holding them in memory.

Werkzeug parses the multipart body with our stream factory, which writes each file straight
into the data directory's tmp/ (the filesystem the books are stored on) as a file without a
name: whatever happens to the request, nothing is left behind, and the import's sweep of
tmp/ cannot take a file from under an upload in flight. The importer then reads it through a
link named like the librarian's file (the name is the title when a file has no metadata).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.formparser import FormDataParser

MAX_NAME_LENGTH = 200
FORM_FIELDS_MEMORY = 512 * 1024  # also the parser's read-ahead: keep above its 64 KB chunks


class UploadTooLarge(Exception):
    """A file in the upload is larger than the limit (HTTP 413)."""

    def __init__(self, name: str | None) -> None:
        super().__init__(name)
        self.name = name or ""


class UploadDiskFull(Exception):
    """The disk filled up while a file was being received; nothing of it is kept."""


def open_unnamed(folder: Path) -> IO[bytes]:
    """A new file in *folder* that has no name there (O_TMPFILE, or created and unlinked)."""
    return tempfile.TemporaryFile("w+b", dir=folder)


class _TmpFile:
    """An unnamed file in tmp/ that refuses to grow beyond *limit* bytes."""

    def __init__(self, folder: Path, limit: int, name: str | None) -> None:
        self.file: IO[bytes] = open_unnamed(folder)
        self.limit = limit
        self.name = name
        self.size = 0

    def write(self, chunk: bytes) -> int:
        self.size += len(chunk)
        if self.size > self.limit:
            raise UploadTooLarge(self.name)
        try:
            return self.file.write(chunk)
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                raise UploadDiskFull() from error
            raise

    def __getattr__(self, name: str):
        return getattr(self.file, name)


class Upload:
    """The files and form fields of one multipart request, parsed into tmp/."""

    def __init__(self, folder: Path, limit: int) -> None:
        self.folder = folder
        self.limit = limit
        self.form: MultiDict = MultiDict()
        self.files: MultiDict = MultiDict()
        self._opened: list[_TmpFile] = []

    def _stream_factory(self, total_content_length, content_type, filename, content_length=None) -> _TmpFile:
        opened = _TmpFile(self.folder, self.limit, filename)
        self._opened.append(opened)
        return opened

    def parse(self, stream: IO[bytes], mimetype: str, content_length: int | None, options: dict) -> None:
        parser = FormDataParser(self._stream_factory, max_form_memory_size=FORM_FIELDS_MEMORY)
        try:
            _, self.form, self.files = parser.parse(stream, mimetype, content_length, options)
            for opened in self._opened:
                opened.file.flush()
        except BaseException:
            self.close()
            raise

    def chosen(self, field: str) -> list[FileStorage]:
        return [storage for storage in self.files.getlist(field) if storage.filename]

    def close(self) -> None:
        for opened in self._opened:
            with contextlib.suppress(OSError):
                opened.file.close()
        self._opened.clear()


def safe_name(filename: str | None, fallback: str = "unggahan") -> str:
    """The last part of a browser's file name, without control characters or path separators."""
    name = re.split(r"[/\\]", filename or "")[-1]
    name = "".join(character for character in name if character.isprintable()).strip().lstrip(".")
    return name[-MAX_NAME_LENGTH:] or fallback


@contextlib.contextmanager
def readable_paths(storages: list[FileStorage]) -> Iterator[list[Path]]:
    """Paths the importer can open for received files, named as the librarian's files were.

    Each is a link in a private folder to the open, unnamed file (Linux `/proc/self/fd`), so
    no byte is copied twice and nothing remains once the block ends.
    """
    with tempfile.TemporaryDirectory(prefix="ebookserver-upload-") as folder:
        paths = []
        for number, storage in enumerate(storages, start=1):
            handle = storage.stream
            descriptor = handle.fileno()
            place = Path(folder) / str(number)
            place.mkdir()
            link = place / safe_name(storage.filename)
            os.symlink(f"/proc/self/fd/{descriptor}", link)
            paths.append(link)
        yield paths

"""Checks on an EPUB's ZIP archive made from its directory, before any entry is read.

A zip bomb is refused by the sizes and compression ratios its central directory declares
(Python's zipfile never inflates an entry past its declared size, so those figures bound
what reading can cost); entry names that climb out of the archive or are absolute, and
symbolic links, are refused because a file that carries them is hostile.
"""

from __future__ import annotations

import lzma
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from catalog.errors import CorruptEbook, UnsafeArchive
from catalog.extract.model import Limits
from catalog.i18n import N_

_RATIO_FLOOR_BYTES = 1024 * 1024  # small entries may compress very well legitimately

# What opening a damaged archive or reading an entry raises: a bad local header or CRC
# (BadZipFile), corrupt or truncated compressed data (zlib.error, lzma.LZMAError, OSError
# from bz2, EOFError), an unknown "version needed" or compression method
# (NotImplementedError), an encrypted entry (RuntimeError). Found by fuzzing: each used
# to escape extraction and the reader as a crash.
READ_ERRORS = (
    zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, ValueError, NotImplementedError, RuntimeError,
)  # fmt: skip


def check_archive(path: Path, limits: Limits) -> None:
    """Raise `UnsafeArchive` or `CorruptEbook` unless the archive is safe to read."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except READ_ERRORS as error:
        raise CorruptEbook(detail=N_("the ZIP archive is damaged")) from error
    if len(entries) > limits.zip_max_entries:
        raise UnsafeArchive(detail=N_("it has too many files inside"))
    total = 0
    for entry in entries:
        _check_name(entry.filename)
        if stat.S_ISLNK(entry.external_attr >> 16):
            raise UnsafeArchive(detail=N_("it contains a symbolic link"))
        if entry.file_size > limits.zip_max_entry_bytes:
            raise UnsafeArchive(detail=N_("a file inside unpacks to more than the size limit"))
        if entry.file_size > _RATIO_FLOOR_BYTES and entry.file_size > limits.zip_max_ratio * max(
            entry.compress_size, 1
        ):
            raise UnsafeArchive(detail=N_("a file inside is compressed suspiciously much (a zip bomb)"))
        total += entry.file_size
        if total > limits.zip_max_uncompressed_bytes:
            raise UnsafeArchive(detail=N_("its contents unpack to more than the size limit"))


def _check_name(name: str) -> None:
    normalised = name.replace("\\", "/")
    pure = PurePosixPath(normalised)
    if normalised.startswith("/") or ".." in pure.parts or (len(normalised) > 1 and normalised[1] == ":"):
        raise UnsafeArchive(detail=N_("a file name inside points outside the book (path traversal)"))
    if "\x00" in name:
        raise UnsafeArchive(detail=N_("a file name inside contains a NUL character"))


def read_entry(archive: zipfile.ZipFile, name: str | zipfile.ZipInfo) -> bytes:
    """The bytes of one entry of an archive `check_archive` passed; `CorruptEbook` when damaged."""
    try:
        return archive.read(name)
    except READ_ERRORS as error:
        raise CorruptEbook(detail=N_("the ZIP archive is damaged")) from error

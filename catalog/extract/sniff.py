"""Identifying a file by its bytes, never by its name."""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path

from catalog.errors import CorruptEbook, UnsupportedFormat
from catalog.extract.safezip import READ_ERRORS
from catalog.i18n import N_

_SIGNATURES: list[tuple[bytes, str, str]] = [
    (b"\x89PNG\r\n\x1a\n", "png", N_("a PNG image")),
    (b"\xff\xd8\xff", "jpeg", N_("a JPEG image")),
    (b"GIF8", "gif", N_("a GIF image")),
    (b"\x1f\x8b", "gzip", N_("a gzip archive")),
    (b"Rar!", "rar", N_("a RAR archive")),
    (b"7z\xbc\xaf\x27\x1c", "7z", N_("a 7-Zip archive")),
    (b"\xd0\xcf\x11\xe0", "ole", N_("an old Microsoft Office document")),
    (b"MZ", "exe", N_("a Windows program")),
    (b"\x7fELF", "elf", N_("a Linux program")),
]
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script")


@dataclasses.dataclass(frozen=True)
class Detected:
    kind: str  # epub, pdf, zip, html, text, unknown, or a _SIGNATURES kind
    description: str

    def require_supported(self) -> None:
        if self.kind == "zip":
            raise CorruptEbook(detail=N_("it is a ZIP archive without an EPUB container (META-INF/container.xml)"))
        if self.kind not in ("epub", "pdf"):
            raise UnsupportedFormat(detected=self.description)


def detect_format(path: Path) -> Detected:
    """What the file really is, judged from its first bytes (and for ZIPs, its entry names)."""
    with path.open("rb") as handle:
        head = handle.read(2048)
    # PDF readers accept the header anywhere in the first 1024 bytes.
    if b"%PDF-" in head[:1024]:
        return Detected("pdf", N_("a PDF document"))
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _detect_zip(path)
    for signature, kind, description in _SIGNATURES:
        if head.startswith(signature):
            return Detected(kind, description)
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if any(marker in lowered[:512] for marker in _HTML_MARKERS):
        return Detected("html", N_("an HTML web page"))
    if _looks_like_text(head):
        return Detected("text", N_("plain text"))
    return Detected("unknown", N_("an unknown kind of file"))


def _detect_zip(path: Path) -> Detected:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except READ_ERRORS as error:  # NotImplementedError for a bogus "version needed" (fuzzing)
        raise CorruptEbook(detail=N_("the ZIP archive is damaged")) from error
    if "META-INF/container.xml" in names:
        return Detected("epub", N_("an EPUB book"))
    if "[Content_Types].xml" in names:
        return Detected("office", N_("a Microsoft Office document"))
    if "mimetype" in names and "content.xml" in names:
        return Detected("office", N_("an OpenDocument file"))
    return Detected("zip", N_("a ZIP archive"))


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in head

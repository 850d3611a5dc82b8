"""Reading an e-book file: what it is, its metadata, its text, its cover.

`extract_file()` is the single entry point; it runs inside an ingest worker process and
returns an `Extraction` or raises a `RefusedFile` subclass saying why the file is refused.
"""

from __future__ import annotations

from pathlib import Path

from catalog.errors import DisguisedFile, EmptyFile, FileTooLarge
from catalog.extract.model import Extraction, Limits
from catalog.extract.sniff import detect_format

__all__ = ["Extraction", "Limits", "check_size", "extract_file"]

_EXPECTED_BY_EXTENSION = {".epub": "epub", ".pdf": "pdf"}


def extract_file(path: Path, limits: Limits, original_name: str | None = None) -> Extraction:
    """Identify *path* by its bytes and extract it; `original_name` gives the title fallback."""
    name = original_name or path.name
    check_size(path.stat().st_size, limits)
    detected = detect_format(path)
    expected = _EXPECTED_BY_EXTENSION.get(Path(name).suffix.lower())
    if detected.kind == "zip":
        detected.require_supported()  # a ZIP without a container: a damaged EPUB, say so
    if expected and detected.kind != expected:
        raise DisguisedFile(extension=expected, detected=detected.description, expected=expected.upper())
    detected.require_supported()
    if detected.kind == "epub":
        from catalog.extract.epub import extract_epub

        extraction = extract_epub(path, limits)
    else:
        from catalog.extract.pdf import extract_pdf

        extraction = extract_pdf(path, limits)
    extraction.fill_title_from_filename(name)
    return extraction


def check_size(size: int, limits: Limits) -> None:
    """Refuse an empty file, or one larger than the limit, before anything reads it."""
    if size == 0:
        raise EmptyFile()
    if size > limits.max_file_bytes:
        raise FileTooLarge(size_mb=_mb(size), limit_mb=_mb(limits.max_file_bytes))


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f}".rstrip("0").rstrip(".")

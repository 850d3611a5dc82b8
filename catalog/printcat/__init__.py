"""The print catalogue: importing printed books from library systems, exporting, labelling.

For a web page or a command, in three steps:

    parsed = read_print_file(data, "auto")                 # MARC, MARCXML, SLiMS or INLISLite CSV
    report = import_records(connection, parsed)            # dry run: counts and numbered problems
    report = import_records(connection, parsed, dry_run=False)   # all or nothing
    index_records(index, connection, report.record_ids)    # keep search in step (catalog.search)

and `export_marcxml(connection, ids)` for a MARCXML collection, `label_sheet(connection,
item_ids)` for A4 sheets of barcode and spine labels (PDF bytes). Readers: `marc` (ISO 2709
and MARCXML via pymarc, entities refused) and `tabular` (SLiMS and INLISLite CSV, whose
column layouts and sources are described there). The field mapping is in README.md, "The
print catalogue".
"""

from __future__ import annotations

import re

from catalog.printcat import marc, tabular
from catalog.printcat.export import export_marcxml
from catalog.printcat.importer import ImportReport, RecordOutcome, import_records
from catalog.printcat.labels import label_sheet
from catalog.printcat.model import (
    ImportHasErrors,
    ItemNotFound,
    ParsedFile,
    PrintImportError,
    PrintItem,
    PrintRecord,
    Problem,
    UnknownLayout,
    Where,
)

FORMATS = ("auto", "marc", "marcxml", "slims", "inlislite")

__all__ = [
    "FORMATS",
    "ImportHasErrors",
    "ImportReport",
    "ItemNotFound",
    "ParsedFile",
    "PrintImportError",
    "PrintItem",
    "PrintRecord",
    "Problem",
    "RecordOutcome",
    "Where",
    "detect_format",
    "export_marcxml",
    "import_records",
    "label_sheet",
    "read_print_file",
]

_ISO2709_START = re.compile(rb"^\d{5}[a-z ][a-z][a-z ]{2}[a-z ]?")


def detect_format(data: bytes) -> str | None:
    """`marc`, `marcxml`, `slims` or `inlislite` from the file's first bytes or header row; None if none fits."""
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith(b"<"):
        return "marcxml"
    if _ISO2709_START.match(start[:10]):
        return "marc"
    text = tabular.decode(data[:65536])
    if text is None:
        return None
    table = tabular.rows(text)
    return tabular.detect(table[0][1]) if table else None


def read_print_file(data: bytes, format: str = "auto") -> ParsedFile:
    """Read a whole file (bytes) in the given layout, or the detected one for `auto`.

    Never raises for bad input: what is wrong is in the result's `problems`, each with the
    line or record number it concerns.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown print catalogue format {format!r}")
    layout = detect_format(data) if format == "auto" else format
    if layout is None:
        parsed = ParsedFile(format)
        first_line = data[:80].split(b"\n", 1)[0].decode("utf-8", "replace").strip()
        parsed.error(Where(), UnknownLayout(start=repr(first_line)))
        return parsed
    if layout == "marc":
        return marc.read_iso2709(data)
    if layout == "marcxml":
        return marc.read_marcxml(data)
    return tabular.read_csv(data, layout)

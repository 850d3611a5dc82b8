"""What the readers of MARC and CSV files produce, and the problems they meet.

Each reader turns a file into `PrintRecord`s, each with the place in the file it came from
(a CSV line or a MARC record number), and a list of `Problem`s. A problem is an error (the
file cannot be imported until it is fixed) or a warning (the import goes on without that
detail, e.g. a copy whose barcode the catalogue already has). Every message is a named
`CatalogError` with an English message id marked for translation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from catalog.errors import CatalogError
from catalog.extract.model import Contributor
from catalog.i18n import N_

SOURCES = ("marc", "marcxml", "slims", "inlislite")
SOURCE_OF_FORMAT = {"marc": "marc", "marcxml": "marc", "slims": "slims", "inlislite": "inlislite"}


@dataclasses.dataclass(frozen=True)
class Where:
    """A place in an imported file: a CSV line (1-based, as a spreadsheet shows it) or a MARC record."""

    line: int | None = None
    record: int | None = None

    def render(self, gettext: Callable[[str], str] | None = None) -> str:
        translate = gettext or (lambda message: message)
        if self.line is not None and self.record is not None:
            return translate(N_("record %(number)s (line %(line)s)")) % {"number": self.record, "line": self.line}
        if self.line is not None:
            return translate(N_("line %(line)s")) % {"line": self.line}
        if self.record is not None:
            return translate(N_("record %(number)s")) % {"number": self.record}
        return translate(N_("the whole file"))

    def as_dict(self) -> dict[str, int | None]:
        return {"line": self.line, "record": self.record}


@dataclasses.dataclass
class PrintItem:
    barcode: str
    call_number: str | None = None
    location: str | None = None
    status: str = "available"
    where: Where = dataclasses.field(default_factory=Where)


@dataclasses.dataclass
class PrintRecord:
    """One title as a library system exported it, ready to become or fill a catalogue record."""

    where: Where
    source: str
    title: str | None = None
    subtitle: str | None = None
    creators: list[Contributor] = dataclasses.field(default_factory=list)
    contributors: list[Contributor] = dataclasses.field(default_factory=list)
    edition: str | None = None
    place: str | None = None
    publisher: str | None = None
    year: int | None = None
    extent: str | None = None
    series: str | None = None
    language: str | None = None
    description: str | None = None
    ddc: str | None = None
    classification: str | None = None
    isbns: list[str] = dataclasses.field(default_factory=list)
    identifiers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    subjects: list[str] = dataclasses.field(default_factory=list)
    items: list[PrintItem] = dataclasses.field(default_factory=list)

    # The fields a merge may fill in an existing record (its column names in `records`).
    FILLABLE = (
        "subtitle", "publisher", "year", "language", "description", "ddc", "edition", "extent", "series",
        "classification", "place",
    )  # fmt: skip


@dataclasses.dataclass
class Problem:
    where: Where
    error: CatalogError
    severity: str = "error"  # "error": nothing is imported until it is fixed; "warning": imported without it

    def render(self, gettext: Callable[[str], str] | None = None) -> str:
        return f"{self.where.render(gettext)}: {self.error.render(gettext)}"


@dataclasses.dataclass
class ParsedFile:
    """A file read by one of the readers: its layout, its records and what was wrong with it."""

    format: str
    records: list[PrintRecord] = dataclasses.field(default_factory=list)
    problems: list[Problem] = dataclasses.field(default_factory=list)

    def error(self, where: Where, error: CatalogError) -> None:
        self.problems.append(Problem(where, error, "error"))

    def warning(self, where: Where, error: CatalogError) -> None:
        self.problems.append(Problem(where, error, "warning"))

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "error"]


# --- the problems, each a named error with a translatable message -----------------------


class PrintImportError(CatalogError):
    code = "print-import"
    message = N_("The file cannot be imported.")


class UnknownLayout(PrintImportError):
    code = "unknown-layout"
    message = N_("The file is neither MARC (ISO 2709 or MARCXML) nor a SLiMS or INLISLite CSV; it begins: %(start)s")


class UnsafeMarcXml(PrintImportError):
    code = "unsafe-xml"
    message = N_("The XML file declares a DOCTYPE or entities (%(detail)s), which are refused for safety.")


class MalformedXml(PrintImportError):
    code = "malformed-xml"
    message = N_("The XML is not well formed: %(detail)s.")


class NotMarcXml(PrintImportError):
    code = "not-marcxml"
    message = N_("The XML file holds no MARC21 records (MARCXML collection or record).")


class DamagedMarcRecord(PrintImportError):
    code = "damaged-marc"
    message = N_("The MARC record is damaged and cannot be read (%(detail)s); a truncated file looks like this.")


class UnreadableText(PrintImportError):
    code = "unreadable-text"
    message = N_("The file is not text in UTF-8 or Windows-1252.")


class MissingColumns(PrintImportError):
    code = "missing-columns"
    message = N_("The %(layout)s file lacks the columns: %(columns)s.")


class WrongColumnCount(PrintImportError):
    code = "wrong-column-count"
    message = N_("This line has %(found)s columns where the header has %(expected)s.")


class MissingTitle(PrintImportError):
    code = "missing-title"
    message = N_("The record has no title.")


class BadYear(PrintImportError):
    code = "bad-year"
    message = N_("The year of publication “%(value)s” is not a year.")


class NoRecords(PrintImportError):
    code = "no-records"
    message = N_("The file holds no records.")


class BadIsbn(PrintImportError):
    code = "bad-isbn"
    message = N_("The ISBN “%(value)s” has a wrong check digit or length; it was kept as another identifier.")


class UnrecognisedLanguage(PrintImportError):
    code = "unknown-language"
    message = N_("The language “%(value)s” is not recognised; the record was imported without a language.")


class BarcodeInCatalogue(PrintImportError):
    code = "barcode-exists"
    message = N_("The barcode %(barcode)s is already in the catalogue (record %(record_id)s); the copy was not added.")


class BarcodeRepeated(PrintImportError):
    code = "barcode-repeated"
    message = N_("The barcode %(barcode)s appears earlier in this file; the copy was added only once.")


class MissingBarcode(PrintImportError):
    code = "missing-barcode"
    message = N_("The copy has neither a barcode nor an accession number; it was not added.")


class ImportHasErrors(PrintImportError):
    code = "import-has-errors"
    message = N_("The file has %(count)s errors; nothing was imported. Fix them and import the file again.")


class ItemNotFound(CatalogError):
    code = "item-not-found"
    message = N_("There is no printed copy with number %(item_id)s.")

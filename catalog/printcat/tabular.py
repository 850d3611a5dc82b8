"""CSV exports of SLiMS and INLISLite, recognised by their header row.

SLiMS (slims/slims9_bulian, `admin/modules/bibliography/export.php`; the same 18 columns are
what `import.php` reads back and offers as its sample): one line per title, columns
`title, gmd_name, edition, isbn_issn, publisher_name, publish_year, collation, series_title,
call_number, language_name, place_name, classification, notes, image, sor, authors, topics,
item_code`. The header row is optional in SLiMS (a checkbox) and ends with a stray separator;
SLiMS does not double the quotes inside values, so a title with `"` breaks its line (reported
as a line with the wrong number of columns);
`authors`, `topics` and `item_code` hold several values each as `<one><two>`; the copies'
barcodes are `item_code`, their call number is the title's `call_number`.

INLISLite v3 (Perpusnas; `backend/models/ImportAkuisisiForm.php::import_aacr` in the public
INLISLite v3 sources reads this sheet): the collection sheet, saved as CSV, has one line per
copy and is read by column position, A to AP, after two header rows. The columns used here:
C no. induk (accession number), D barcode, J library location, K location, O status,
P the copy's call number, R title (245 $a), S subtitle (245 $b), U author (100),
V corporate author (110), W added authors (700, `;`-separated), X added corporate authors,
Y edition, Z place, AA publisher, AB year, AC pages, AD dimensions, AE ISBN (`;`-separated),
AF ISSN, AH DDC (082), AI call number (084), AJ abstract (520), AK language (a MARC code such
as `ind`), AL subjects (650, `;`-separated). Lines of the same title (same ISBN, or same title,
author, edition, publisher, place and year, as INLISLite itself matches) become one record
with several copies. The header text is not fixed by the source, so the layout is recognised
by position: a first row with at least 42 columns whose column C names the *induk* and whose
column R names the *judul*.

Either file may be UTF-8 (with or without BOM) or Windows-1252 (a spreadsheet's "CSV"), with
`,`, `;` or tab between fields.
"""

from __future__ import annotations

import csv
import io
import re

from catalog.extract.identifiers import normalise_isbn
from catalog.extract.model import Contributor
from catalog.printcat import values
from catalog.printcat.model import (
    BadIsbn,
    BadYear,
    MissingBarcode,
    MissingColumns,
    MissingTitle,
    NoRecords,
    ParsedFile,
    PrintItem,
    PrintRecord,
    UnreadableText,
    UnrecognisedLanguage,
    Where,
    WrongColumnCount,
)

SLIMS_COLUMNS = (
    "title", "gmd_name", "edition", "isbn_issn", "publisher_name", "publish_year", "collation", "series_title",
    "call_number", "language_name", "place_name", "classification", "notes", "image", "sor", "authors", "topics",
    "item_code",
)  # fmt: skip
INLISLITE_WIDTH = 42  # columns A..AP


def _column(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + (ord(letter) - ord("A") + 1)
    return number - 1


def _letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def decode(data: bytes) -> str | None:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return None if "\x00" in text else text
    return None


def rows(text: str) -> list[tuple[int, list[str]]]:
    """(first line number, cells) of every non-blank row, with the separator sniffed from the first line."""
    first_line = text.split("\n", 1)[0]
    counts = {separator: first_line.count(separator) for separator in (",", ";", "\t")}
    separator = max(counts, key=counts.get) if any(counts.values()) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, quotechar='"')
    found = []
    line = 1
    for cells in reader:
        if any(cell.strip() for cell in cells):
            found.append((line, [cell.strip() for cell in cells]))
        line = reader.line_num + 1
    return found


def detect(header: list[str]) -> str | None:
    """`slims` or `inlislite` when the first row is one of their headers, else None."""
    names = [cell.strip().lower() for cell in header]
    if "title" in names and len(set(names) & set(SLIMS_COLUMNS)) >= 4:
        return "slims"
    if len(header) > _column("R") and "induk" in names[_column("C")] and "judul" in names[_column("R")]:
        return "inlislite"
    return None


def read_csv(data: bytes, layout: str) -> ParsedFile:
    parsed = ParsedFile(layout)
    text = decode(data)
    if text is None:
        parsed.error(Where(), UnreadableText())
        return parsed
    table = rows(text)
    if not table:
        parsed.error(Where(), NoRecords())
        return parsed
    if layout == "slims":
        _read_slims(parsed, table)
    else:
        _read_inlislite(parsed, table)
    if not parsed.records and not parsed.errors:
        parsed.error(Where(), NoRecords())
    return parsed


# --- SLiMS ------------------------------------------------------------------------------


def _read_slims(parsed: ParsedFile, table: list[tuple[int, list[str]]]) -> None:
    header_line, header = table[0]
    if detect(header) == "slims":
        names = [cell.strip().lower() for cell in header]
        while names and not names[-1]:
            names.pop()  # SLiMS ends its header with a separator
        missing = [name for name in SLIMS_COLUMNS if name not in names]
        if missing:
            parsed.error(Where(line=header_line), MissingColumns(layout="SLiMS", columns=", ".join(missing)))
            return
        body = table[1:]
    else:  # exported without the header row: SLiMS's own column order
        names, body = list(SLIMS_COLUMNS), table
    for line, cells in body:
        while len(cells) > len(names) and not cells[-1]:
            cells = cells[:-1]
        if len(cells) != len(names):
            parsed.error(Where(line=line), WrongColumnCount(found=len(cells), expected=len(names)))
            continue
        _slims_record(parsed, dict(zip(names, cells, strict=True)), Where(line=line))


def _many(text: str) -> list[str]:
    """SLiMS's `<one><two>` lists; a plain value is one item."""
    found = re.findall(r"<([^<>]*)>", text or "")
    if not found and (text or "").strip():
        found = [text]
    return [value.strip() for value in found if value.strip()]


def _slims_record(parsed: ParsedFile, row: dict[str, str], where: Where) -> None:
    title, _, subtitle = (row["title"] or "").partition(" : ")
    found = PrintRecord(where=where, source="slims", title=values.clean(title), subtitle=values.clean(subtitle))
    if not found.title:
        parsed.error(where, MissingTitle())
        return
    _year(parsed, found, row["publish_year"], where)
    found.edition = values.clean(row["edition"])
    found.publisher = values.clean(row["publisher_name"])
    found.place = values.clean(row["place_name"])
    found.extent = values.clean(row["collation"])
    found.series = values.clean(row["series_title"])
    found.description = values.clean(row["notes"])
    classification = values.clean(row["classification"])
    if values.ddc_number(classification) == classification:
        found.ddc = classification
    else:
        found.classification = classification
    _language(parsed, found, row["language_name"], where)
    _identifier(parsed, found, row["isbn_issn"], where)
    for name in _many(row["authors"]):
        if names := values.personal_name(name):
            found.creators.append(Contributor(name=names[0], sort_name=names[1]))
    found.subjects = list(dict.fromkeys(_many(row["topics"])))
    call_number = values.clean(row["call_number"])
    found.items = [PrintItem(barcode=code, call_number=call_number, where=where) for code in _many(row["item_code"])]
    parsed.records.append(found)


# --- INLISLite --------------------------------------------------------------------------

_STATUSES = {
    "tersedia": "available", "dipinjam": "on-loan", "sedang dipinjam": "on-loan", "rusak": "in-repair",
    "dalam perbaikan": "in-repair", "hilang": "lost", "dihapus": "withdrawn", "ditarik": "withdrawn",
    "referensi": "reference", "tandon": "reference",
}  # fmt: skip


def _read_inlislite(parsed: ParsedFile, table: list[tuple[int, list[str]]]) -> None:
    header_line, header = table[0]
    if len(header) < INLISLITE_WIDTH:
        missing = ", ".join(_letters(index) for index in range(len(header), INLISLITE_WIDTH))
        parsed.error(Where(line=header_line), MissingColumns(layout="INLISLite", columns=missing))
        return
    body = table[1:]
    # INLISLite's sheet has a second header row (sub-headings); it has no title in column R.
    if body and (not body[0][1][_column("R") : _column("R") + 1] or _looks_like_heading(body[0][1])):
        body = body[1:]
    by_title: dict[tuple, PrintRecord] = {}
    for line, cells in body:
        where = Where(line=line)
        while len(cells) > INLISLITE_WIDTH and not cells[-1]:
            cells = cells[:-1]
        if len(cells) < INLISLITE_WIDTH:
            parsed.error(where, WrongColumnCount(found=len(cells), expected=INLISLITE_WIDTH))
            continue
        cell = {_letters(index): value for index, value in enumerate(cells)}
        found = _inlislite_record(parsed, cell, where)
        if found is None:
            continue
        key = tuple(values.isbn13(isbn) for isbn in found.isbns) or (
            found.title,
            found.subtitle,
            cell["U"],
            found.edition,
            found.publisher,
            found.place,
            found.year,
        )
        item = _inlislite_item(parsed, cell, where)
        if key in by_title:
            by_title[key].items.extend([item] if item else [])
            continue
        found.items = [item] if item else []
        by_title[key] = found
        parsed.records.append(found)


def _looks_like_heading(cells: list[str]) -> bool:
    title = cells[_column("R")].strip().lower()
    return title in ("judul", "245", "$a", "a", "judul utama", "r")


def _inlislite_record(parsed: ParsedFile, cell: dict[str, str], where: Where) -> PrintRecord | None:
    found = PrintRecord(
        where=where, source="inlislite", title=values.clean(cell["R"]), subtitle=values.clean(cell["S"])
    )
    if not found.title:
        parsed.error(where, MissingTitle())
        return None
    if names := values.personal_name(cell["U"]):
        found.creators.append(Contributor(name=names[0], sort_name=names[1]))
    if corporate := values.clean(cell["V"]):
        found.creators.append(Contributor(name=corporate, sort_name=corporate))
    for name in cell["W"].split(";"):
        if names := values.personal_name(name):
            found.creators.append(Contributor(name=names[0], sort_name=names[1]))
    for name in cell["X"].split(";"):
        if corporate := values.clean(name):
            found.contributors.append(Contributor(name=corporate, sort_name=corporate, role="ctb"))
    found.edition = values.clean(cell["Y"])
    found.place = values.clean(cell["Z"])
    found.publisher = values.clean(cell["AA"])
    _year(parsed, found, cell["AB"], where)
    pages, size = values.clean(cell["AC"]), values.clean(cell["AD"])
    found.extent = " ; ".join(part for part in (pages, size) if part) or None
    for isbn in cell["AE"].split(";"):
        _identifier(parsed, found, isbn, where)
    for issn in cell["AF"].split(";"):
        if issn := values.clean(issn):
            found.identifiers.append(("issn", issn))
    found.ddc = values.ddc_number(cell["AH"]) or None
    found.classification = values.clean(cell["AI"])
    found.description = values.clean(cell["AJ"])
    _language(parsed, found, cell["AK"], where)
    found.subjects = list(
        dict.fromkeys(term for term in (values.clean(part) for part in cell["AL"].split(";")) if term)
    )
    return found


def _inlislite_item(parsed: ParsedFile, cell: dict[str, str], where: Where) -> PrintItem | None:
    barcode = values.clean(cell["D"]) or values.clean(cell["C"])
    if not barcode:
        parsed.warning(where, MissingBarcode())
        return None
    return PrintItem(
        barcode=barcode,
        call_number=values.clean(cell["P"]) or values.clean(cell["AI"]),
        location=values.clean(cell["K"]) or values.clean(cell["J"]),
        status=_STATUSES.get((values.clean(cell["O"]) or "").lower(), "available"),
        where=where,
    )


# --- shared -----------------------------------------------------------------------------


def _year(parsed: ParsedFile, found: PrintRecord, text: str, where: Where) -> None:
    try:
        found.year = values.year(text)
    except values.NotAYear:
        parsed.error(where, BadYear(value=text))


def _language(parsed: ParsedFile, found: PrintRecord, text: str, where: Where) -> None:
    try:
        found.language = values.language(text)
    except values.UnknownLanguage:
        parsed.warning(where, UnrecognisedLanguage(value=text))


def _identifier(parsed: ParsedFile, found: PrintRecord, text: str, where: Where) -> None:
    value = values.clean(text)
    if not value:
        return
    if re.fullmatch(r"\d{4}-?\d{3}[\dXx]", value):
        found.identifiers.append(("issn", value))
        return
    isbn = normalise_isbn(value)
    if isbn is None:
        parsed.warning(where, BadIsbn(value=value))
        found.identifiers.append(("other", value))
    elif isbn not in found.isbns:
        found.isbns.append(isbn)

"""MARC21 records in, from ISO 2709 (`.mrc`) and MARCXML, read with pymarc.

MARCXML is parsed by pymarc's SAX handler driven by defusedxml's expat reader with DOCTYPEs,
entities and external references all forbidden, so a billion-laughs or XXE file is refused
before anything is expanded or fetched. ISO 2709 is read record by record; a record that
cannot be read (a truncated file, a wrong length or directory) is an error at its number.
Text is taken as UTF-8 when the whole file decodes as UTF-8 (Indonesian systems write UTF-8
even when the leader says MARC-8), otherwise as the leader says. The field mapping is in
README.md, "The print catalogue".
"""

from __future__ import annotations

import io
import warnings
import xml.sax
from xml.sax.handler import feature_namespaces

import pymarc
from defusedxml import DefusedXmlException
from defusedxml.expatreader import DefusedExpatParser
from pymarc.exceptions import EndOfRecordNotFound, RecordLengthInvalid, TruncatedRecord
from pymarc.marcxml import MARC_XML_NS, XmlHandler

from catalog.extract.identifiers import normalise_isbn
from catalog.extract.model import Contributor
from catalog.printcat import values
from catalog.printcat.model import (
    BadIsbn,
    BadYear,
    DamagedMarcRecord,
    MalformedXml,
    MissingTitle,
    NoRecords,
    NotMarcXml,
    ParsedFile,
    PrintItem,
    PrintRecord,
    UnrecognisedLanguage,
    UnsafeMarcXml,
    Where,
)

_LOST_FRAMING = (RecordLengthInvalid, TruncatedRecord, EndOfRecordNotFound)


def read_iso2709(data: bytes) -> ParsedFile:
    parsed = ParsedFile("marc")
    try:
        data.decode("utf-8")
        force_utf8 = True
    except UnicodeDecodeError:
        force_utf8 = False
    reader = pymarc.MARCReader(io.BytesIO(data), to_unicode=True, force_utf8=force_utf8, permissive=True)
    number = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymarc warns about odd subfield codes; the mapping ignores them
        for record in reader:
            number += 1
            where = Where(record=number)
            if record is None:
                problem = reader.current_exception
                detail = type(problem).__name__ if problem is not None else "unknown"
                parsed.error(where, DamagedMarcRecord(detail=f"{detail}: {problem}" if str(problem) else detail))
                if isinstance(problem, _LOST_FRAMING):
                    break  # the records' lengths can no longer be trusted: what follows would be noise
                continue
            _add(parsed, record, where)
    if number == 0:
        parsed.error(Where(), NoRecords())
    return parsed


class _Handler(XmlHandler):
    """pymarc's handler, noting the line where each record starts."""

    def __init__(self) -> None:
        super().__init__(strict=False)
        self.lines: list[int] = []
        self._locator = None
        self.root: str | None = None

    def setDocumentLocator(self, locator) -> None:
        self._locator = locator

    def startElementNS(self, name, qname, attrs) -> None:
        if self.root is None:
            self.root = name[1]
        if name[1] == "record" and name[0] in (MARC_XML_NS, None):
            self.lines.append(self._locator.getLineNumber() if self._locator else 0)
        super().startElementNS(name, qname, attrs)


def read_marcxml(data: bytes) -> ParsedFile:
    parsed = ParsedFile("marcxml")
    handler = _Handler()
    parser = DefusedExpatParser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    parser.setFeature(feature_namespaces, 1)
    parser.setContentHandler(handler)
    try:
        parser.parse(io.BytesIO(data))
    except DefusedXmlException as error:
        parsed.error(Where(line=getattr(error, "line", None) or None), UnsafeMarcXml(detail=type(error).__name__))
        return parsed
    except xml.sax.SAXParseException as error:
        parsed.error(Where(line=error.getLineNumber()), MalformedXml(detail=error.getMessage()))
        return parsed
    except (KeyError, ValueError) as error:  # a field without its tag or code attribute
        line = handler._locator.getLineNumber() if handler._locator else None
        parsed.error(Where(line=line), MalformedXml(detail=f"missing attribute {error}"))
        return parsed
    if not handler.records:  # records may also come wrapped, e.g. in an OAI-PMH response
        parsed.error(Where(), NoRecords() if handler.root in ("collection", "record") else NotMarcXml())
    for number, record in enumerate(handler.records, start=1):
        line = handler.lines[number - 1] if number <= len(handler.lines) else None
        _add(parsed, record, Where(record=number, line=line))
    return parsed


def _subfield(field: pymarc.Field, *codes: str) -> str | None:
    for code in codes:
        for value in field.get_subfields(code):
            if value and value.strip():
                return value
    return None


def _joined(field: pymarc.Field, codes: str, separator: str = " ") -> str | None:
    parts = [values.clean(value) for code in codes for value in field.get_subfields(code)]
    return values.clean(separator.join(part for part in parts if part)) if any(parts) else None


def _add(parsed: ParsedFile, record: pymarc.Record, where: Where) -> None:
    """Map one MARC record (see README's table) and add it, or note why it cannot be."""
    found = PrintRecord(where=where, source="marc")
    for field in record.get_fields("245")[:1]:
        found.title = values.clean(_subfield(field, "a"))
        found.subtitle = _joined(field, "b")
    if not found.title:
        parsed.error(where, MissingTitle())
        return
    for field in record.get_fields("020"):
        for candidate in field.get_subfields("a"):
            _add_isbn(parsed, found, candidate, where)
    for field in record.get_fields("022"):
        if issn := values.clean(_subfield(field, "a")):
            found.identifiers.append(("issn", issn))
    language_codes = [code for field in record.get_fields("041") for code in field.get_subfields("a")]
    fixed = record.get_fields("008")
    if not language_codes and fixed and len(fixed[0].data or "") >= 38:
        language_codes = [fixed[0].data[35:38]]
    for code in language_codes[:1]:
        if code.strip() not in ("", "|||", "und", "zxx", "mul"):
            _set_language(parsed, found, code, where)
    for field in record.get_fields("082")[:1]:
        found.ddc = values.ddc_number(_subfield(field, "a"))
    for field in record.get_fields("084")[:1]:
        found.classification = values.clean(_subfield(field, "a"))
    for field in record.get_fields("100", "110"):
        person = _person(field, personal=field.tag == "100")
        if person:
            found.creators.append(person)
    for field in record.get_fields("700", "710"):
        person = _person(field, personal=field.tag == "700")
        if person is None:
            continue
        (found.creators if person.role == "aut" else found.contributors).append(person)
    for field in record.get_fields("250")[:1]:
        found.edition = _joined(field, "ab")
    publication = [field for field in record.get_fields("264") if field.indicator2 in ("1", " ")]
    for field in (record.get_fields("260") or publication)[:1]:
        found.place = values.clean(_subfield(field, "a"))
        found.publisher = values.clean(_subfield(field, "b"))
        date = _subfield(field, "c")
        try:
            found.year = values.year(date)
        except values.NotAYear:
            parsed.error(where, BadYear(value=date))
    for field in record.get_fields("300")[:1]:
        parts = [_joined(field, "a"), _joined(field, "b"), _joined(field, "c"), _joined(field, "e")]
        found.extent = " ; ".join(part for part in (" : ".join(filter(None, parts[:2])), *parts[2:]) if part) or None
    for field in record.get_fields("490")[:1]:
        name, volume = values.clean(_subfield(field, "a")), values.clean(_subfield(field, "v"))
        found.series = f"{name} ; {volume}" if name and volume else name
    descriptions = [values.clean(_subfield(field, "a")) for field in record.get_fields("520")]
    found.description = "\n\n".join(text for text in descriptions if text) or None
    for field in record.get_fields("650"):
        term = _joined(field, "axyz", " -- ")
        if term and term not in found.subjects:
            found.subjects.append(term)
    for field in record.get_fields("852"):
        barcode = values.clean(_subfield(field, "p"))
        if not barcode:
            continue
        found.items.append(
            PrintItem(
                barcode=barcode,
                call_number=_joined(field, "hi") or _joined(field, "khim"),
                location=_joined(field, "bc", " "),
                where=where,
            )
        )
    parsed.records.append(found)


def _add_isbn(parsed: ParsedFile, found: PrintRecord, text: str, where: Where) -> None:
    for candidate in values.isbn_candidates(text)[:1]:
        normalised = normalise_isbn(candidate)
        if normalised is None:
            parsed.warning(where, BadIsbn(value=candidate.strip()))
            found.identifiers.append(("other", candidate.strip()))
        elif normalised not in found.isbns:
            found.isbns.append(normalised)


def _set_language(parsed: ParsedFile, found: PrintRecord, text: str, where: Where) -> None:
    try:
        found.language = values.language(text)
    except values.UnknownLanguage:
        parsed.warning(where, UnrecognisedLanguage(value=text))


def _person(field: pymarc.Field, *, personal: bool) -> Contributor | None:
    """A 100/700 person (an inverted name when the first indicator is 1) or a 110/710 body."""
    text = _joined(field, "a") if personal else _joined(field, "ab", ". ")
    names = values.personal_name(text, inverted=personal and field.indicator1 in ("1", " "))
    if names is None:
        return None
    role = values.relator(_subfield(field, "e"), _subfield(field, "4"))
    return Contributor(name=names[0], sort_name=names[1], role=role)

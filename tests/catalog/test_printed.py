"""The print catalogue: MARC, MARCXML, SLiMS and INLISLite imports, merging, export, labels.

MARC records are built with pymarc as Indonesian libraries catalogue them; the CSV files have
the column layouts SLiMS and INLISLite really write (see catalog/printcat/tabular.py).
"""

from __future__ import annotations

import io
from pathlib import Path

import pymarc
import pymupdf
import pytest
import xmlschema
from pymarc import Field, Indicators, Subfield

from catalog import db, printcat, records
from catalog import search as search_engine
from catalog.extract.model import Extraction, TextUnit
from catalog.printcat import tabular
from catalog.printcat.model import ImportHasErrors, ItemNotFound
from ebookserver.i18n import gettext_for

SCHEMAS = Path(__file__).resolve().parents[3] / "shared" / "schemas"
MARC_SCHEMA = SCHEMAS / "marc21" / "MARC21slim.xsd"

BUMI = "9786020312347"
LASKAR = "9789792234565"
RONGGENG_10 = "979-222-111-5"  # ISBN-10 of 9789792221114


def indonesian_book(
    *,
    title: str = "Bumi manusia",
    subtitle: str | None = "sebuah novel",
    isbn: str | None = "978-602-03-1234-7",
    author: str = "Toer, Pramoedya Ananta",
    year: str = "2019.",
    copies: tuple[tuple[str, str, str], ...] = (("B0001", "TOE b", "Rak Sastra 2"), ("B0002", "TOE b c.2", "Rak 3")),
) -> pymarc.Record:
    """A MARC 21 record shaped like a Perpusnas/INLISLite record of a printed Indonesian book."""
    record = pymarc.Record(force_utf8=True, leader="00000nam a2200000 i 4500")
    record.add_field(Field("001", data="INLIS000000000001234"))
    record.add_field(Field("008", data="190301s2019    io a          000 1 ind d"))

    def add(tag: str, indicators: str, *subfields: tuple[str, str]) -> None:
        record.add_field(Field(tag, Indicators(*indicators), [Subfield(code, value) for code, value in subfields]))

    if isbn:
        add("020", "  ", ("a", f"{isbn} (sampul lunak)"))
    add("041", "0 ", ("a", "ind"))
    add("082", "04", ("a", "899.2213"), ("2", "23"))
    add("084", "  ", ("a", "899.221 TOE b"))
    add("100", "1 ", ("a", f"{author},"), ("e", "pengarang."))
    add("245", "10", ("a", f"{title} :"), *([("b", f"{subtitle} /")] if subtitle else []), ("c", "Pramoedya"))
    add("250", "  ", ("a", "Cetakan ke-12."))
    add("264", " 1", ("a", "Jakarta Timur :"), ("b", "Lentera Dipantara,"), ("c", year))
    add("300", "  ", ("a", "535 halaman ;"), ("c", "20 cm."))
    add("490", "0 ", ("a", "Tetralogi Buru ;"), ("v", "1"))
    add("520", "  ", ("a", "Kisah Minke, pemuda pribumi di akhir abad ke-19."))
    add("650", " 4", ("a", "Fiksi Indonesia"))
    add("650", " 4", ("a", "Sejarah"), ("z", "Indonesia"), ("y", "1898-1918"))
    add("700", "1 ", ("a", "Lane, Max,"), ("e", "penerjemah."))
    add("700", "1 ", ("a", "Hakim, Nurul,"), ("4", "edt"))
    for barcode, call_number, location in copies:
        add("852", "  ", ("b", location), ("h", "899.221"), ("i", call_number), ("p", barcode))
    return record


def iso2709(*marc_records: pymarc.Record) -> bytes:
    return b"".join(record.as_marc() for record in marc_records)


def marcxml(*marc_records: pymarc.Record) -> bytes:
    body = b"".join(pymarc.record_to_xml(record, namespace=False) + b"\n" for record in marc_records)
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<collection xmlns="http://www.loc.gov/MARC21/slim">\n'
        + body
        + b"</collection>\n"
    )


def count(connection, table: str) -> int:
    return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 (test table names)


@pytest.fixture
def connection(datadir):
    connection = datadir.connect()
    yield connection
    connection.close()


def imported(connection, data: bytes, format: str = "auto") -> printcat.ImportReport:
    parsed = printcat.read_print_file(data, format)
    assert not parsed.errors, [problem.render() for problem in parsed.errors]
    return printcat.import_records(connection, parsed, dry_run=False)


# --- MARC ---------------------------------------------------------------------------------


def check_bumi_manusia(record: dict) -> None:
    assert record["title"] == "Bumi manusia"
    assert record["subtitle"] == "sebuah novel"
    assert record["authors"] == ["Pramoedya Ananta Toer"]
    people = {person["name"]: person for person in record["contributors"]}
    assert people["Pramoedya Ananta Toer"]["sort_name"] == "Toer, Pramoedya Ananta"
    assert people["Max Lane"]["role"] == "trl"
    assert people["Nurul Hakim"]["role"] == "edt"
    assert record["identifiers"]["isbn"] == BUMI
    assert record["language"] == "id"
    assert record["ddc"] == "899.2213"
    assert record["classification"] == "899.221 TOE b"
    assert record["edition"] == "Cetakan ke-12"
    assert (record["place"], record["publisher"], record["year"]) == ("Jakarta Timur", "Lentera Dipantara", 2019)
    assert record["extent"] == "535 halaman ; 20 cm"
    assert record["series"] == "Tetralogi Buru ; 1"
    assert record["description"].startswith("Kisah Minke")
    assert record["subjects"] == ["Fiksi Indonesia", "Sejarah -- 1898-1918 -- Indonesia"]
    assert record["files"] == [] and record["format"] is None
    assert [(item["barcode"], item["call_number"], item["location"]) for item in record["items"]] == [
        ("B0001", "899.221 TOE b", "Rak Sastra 2"),
        ("B0002", "899.221 TOE b c.2", "Rak 3"),
    ]


@pytest.mark.parametrize("encode", [iso2709, marcxml], ids=["iso2709", "marcxml"])
def test_marc_fields_land_in_the_record(connection, encode):
    data = encode(
        indonesian_book(), indonesian_book(title="Anak semua bangsa", isbn=None, copies=(("B0003", "TOE a", "Rak 2"),))
    )
    report = imported(connection, data)
    assert report.committed
    assert (report.new_records, report.merged_records, report.new_items) == (2, 0, 3)
    first = records.get_record(connection, report.record_ids[0])
    check_bumi_manusia(first)
    assert first["source"] == "marc"
    assert records.get_record(connection, report.record_ids[1])["title"] == "Anak semua bangsa"


def test_detects_each_layout_from_its_first_bytes():
    assert printcat.detect_format(iso2709(indonesian_book())) == "marc"
    assert printcat.detect_format(marcxml(indonesian_book())) == "marcxml"
    assert printcat.detect_format(slims_csv()) == "slims"
    assert printcat.detect_format(inlislite_csv()) == "inlislite"
    assert printcat.detect_format(b"nama,alamat\nSiti,Desa\n") is None
    parsed = printcat.read_print_file(b"nama,alamat\nSiti,Desa\n")
    assert [problem.error.code for problem in parsed.errors] == ["unknown-layout"]


def test_dry_run_reports_and_writes_nothing(connection):
    parsed = printcat.read_print_file(iso2709(indonesian_book()))
    report = printcat.import_records(connection, parsed)
    assert report.dry_run and not report.committed
    assert (report.new_records, report.new_items, report.skipped_items) == (1, 2, 0)
    assert report.as_dict()["records"][0]["action"] == "new"
    assert count(connection, "records") == count(connection, "items") == 0
    again = printcat.import_records(connection, parsed, dry_run=False)
    assert again.committed and count(connection, "items") == 2


def test_isbn_match_merges_without_overwriting_what_the_librarian_typed(connection):
    connection.execute(
        "INSERT INTO records (id, title, title_source, publisher, source) VALUES (7, 'Ronggeng Dukuh Paruk',"
        " 'librarian', 'Gramedia (diketik pustakawan)', 'librarian')"
    )
    connection.execute("INSERT INTO identifiers (record_id, scheme, value) VALUES (7, 'isbn', '9792221115')")
    book = indonesian_book(
        title="Ronggeng dukuh paruk", isbn=RONGGENG_10.replace("-", ""), copies=(("R1", "TOH r", "Rak 1"),)
    )
    # the same ISBN as ISBN-13 with hyphens, in a second record of the same file
    twin = indonesian_book(title="Ronggeng", isbn="978-979-222-111-4", copies=(("R2", "TOH r c.2", "Rak 1"),))
    report = imported(connection, iso2709(book, twin))
    assert (report.new_records, report.merged_records, report.new_items) == (0, 1, 2)
    assert count(connection, "records") == 1
    record = records.get_record(connection, 7)
    assert record["title"] == "Ronggeng Dukuh Paruk"
    assert record["publisher"] == "Gramedia (diketik pustakawan)"
    assert record["source"] == "librarian"
    assert record["edition"] == "Cetakan ke-12" and record["year"] == 2019
    assert record["authors"] == ["Pramoedya Ananta Toer"]
    assert [item["barcode"] for item in record["items"]] == ["R1", "R2"]
    assert "edition" in report.outcomes[0].filled and "publisher" not in report.outcomes[0].filled


def test_barcodes_already_in_the_catalogue_or_repeated_are_reported_not_duplicated(connection):
    imported(connection, iso2709(indonesian_book(isbn=None, copies=(("B0001", "A", "Rak 1"),))))
    again = indonesian_book(
        title="Laskar pelangi",
        isbn=LASKAR,
        copies=(("B0001", "HIR l", "Rak 4"), ("L1", "HIR l", "Rak 4"), ("L1", "HIR l", "Rak 4")),
    )
    report = imported(connection, iso2709(again))
    assert report.committed and report.new_records == 1 and report.new_items == 1 and report.skipped_items == 2
    codes = [(problem.where.record, problem.error.code) for problem in report.problems]
    assert codes == [(1, "barcode-exists"), (1, "barcode-repeated")]
    assert count(connection, "items") == 2
    assert "B0001" in report.problems[0].render() and "1" in report.problems[0].render()


def test_a_truncated_iso2709_file_is_reported_by_record_number_and_nothing_is_written(connection):
    data = iso2709(indonesian_book(), indonesian_book(title="Jejak langkah", isbn=None))[:-40]
    parsed = printcat.read_print_file(data)
    assert [(problem.where.record, problem.error.code) for problem in parsed.errors] == [(2, "damaged-marc")]
    report = printcat.import_records(connection, parsed)
    assert report.errors and report.new_records == 1
    with pytest.raises(ImportHasErrors):
        printcat.import_records(connection, parsed, dry_run=False)
    assert count(connection, "records") == count(connection, "items") == 0


def test_malformed_marcxml_gives_the_line(connection):
    data = marcxml(indonesian_book()).replace(b"</collection>", b"<record><leader>x</collection>")
    parsed = printcat.read_print_file(data)
    [problem] = parsed.errors
    assert problem.error.code == "malformed-xml" and problem.where.line == 4
    assert problem.render().startswith("line 4: The XML is not well formed")


@pytest.mark.parametrize(
    "payload",
    [
        b'<?xml version="1.0"?>\n<!DOCTYPE lol [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>\n'
        b'<collection xmlns="http://www.loc.gov/MARC21/slim"><record><datafield tag="245" ind1="0" ind2="0">'
        b'<subfield code="a">&lol2;</subfield></datafield></record></collection>',
        b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        b'<collection><record><datafield tag="245" ind1="0" ind2="0"><subfield code="a">&xxe;</subfield>'
        b"</datafield></record></collection>",
        b'<?xml version="1.0"?>\n<!DOCTYPE collection SYSTEM "http://example.invalid/marc.dtd">\n<collection/>',
    ],
    ids=["billion-laughs", "xxe", "external-dtd"],
)
def test_doctype_and_entities_in_marcxml_are_refused(connection, payload):
    parsed = printcat.read_print_file(payload)
    [problem] = parsed.errors
    assert problem.error.code == "unsafe-xml"
    assert "refused for safety" in problem.render()
    assert "root:" not in problem.render()
    assert not parsed.records


def test_marcxml_without_records_is_refused():
    parsed = printcat.read_print_file(b"<?xml version='1.0'?><rss><channel/></rss>")
    assert [problem.error.code for problem in parsed.errors] == ["not-marcxml"]


# --- SLiMS and INLISLite ------------------------------------------------------------------

SLIMS_HEADER = ",".join(f'"{name}"' for name in tabular.SLIMS_COLUMNS) + ","


def slims_line(**cells: str) -> str:
    row = {
        "title": "Laskar pelangi : sebuah novel",
        "gmd_name": "Text",
        "edition": "Cet. 5",
        "isbn_issn": "978-979-22-3456-5",
        "publisher_name": "Bentang Pustaka",
        "publish_year": "2008",
        "collation": "xiv, 529 hlm. ; 20 cm",
        "series_title": "",
        "call_number": "899.221 HIR l",
        "language_name": "Indonesia",
        "place_name": "Yogyakarta",
        "classification": "899.221",
        "notes": "Novel tentang sepuluh anak Belitong.",
        "image": "laskar.jpg",
        "sor": "Andrea Hirata",
        "authors": "<Hirata, Andrea><Ikranagara>",
        "topics": "<Fiksi Indonesia><Pendidikan>",
        "item_code": "<S0001><S0002>",
    }
    row.update(cells)
    return ",".join(f'"{row[name]}"' for name in tabular.SLIMS_COLUMNS)


def slims_csv(*lines: str, header: str = SLIMS_HEADER) -> bytes:
    return ("\n".join([header, *(lines or [slims_line()])]) + "\n").encode()


def test_slims_export_with_its_real_columns(connection):
    data = slims_csv(
        slims_line(),
        slims_line(
            title="Ensiklopedia Islam",
            classification="2X4.1",
            isbn_issn="0216-1234",
            item_code="<S0010>",
            language_name="Arab",
        ),
    )
    report = imported(connection, data)
    assert (report.format, report.new_records, report.new_items) == ("slims", 2, 3)
    laskar = records.get_record(connection, report.record_ids[0])
    assert (laskar["title"], laskar["subtitle"]) == ("Laskar pelangi", "sebuah novel")
    assert laskar["authors"] == ["Andrea Hirata", "Ikranagara"]
    assert laskar["subjects"] == ["Fiksi Indonesia", "Pendidikan"]
    assert laskar["identifiers"] == {"isbn": LASKAR}
    assert (laskar["ddc"], laskar["language"], laskar["place"], laskar["year"]) == ("899.221", "id", "Yogyakarta", 2008)
    assert laskar["extent"] == "xiv, 529 hlm. ; 20 cm" and laskar["source"] == "slims"
    assert [(item["barcode"], item["call_number"]) for item in laskar["items"]] == [
        ("S0001", "899.221 HIR l"),
        ("S0002", "899.221 HIR l"),
    ]
    islam = records.get_record(connection, report.record_ids[1])
    assert (islam["ddc"], islam["classification"], islam["language"]) == (None, "2X4.1", "ar")
    assert islam["identifiers"] == {"issn": "0216-1234"}


def test_slims_export_without_its_header_row_when_the_format_is_given(connection):
    data = (slims_line(item_code="<H1>") + "\n").encode()
    report = imported(connection, data, "slims")
    assert report.new_records == 1 and report.new_items == 1


def test_slims_file_lacking_a_column_is_refused_at_its_header(connection):
    header = SLIMS_HEADER.replace('"publish_year",', "")
    line = slims_line().replace('"2008",', "", 1)
    parsed = printcat.read_print_file(slims_csv(line, header=header))
    [problem] = parsed.errors
    assert problem.error.code == "missing-columns" and problem.where.line == 1
    assert "publish_year" in problem.render()
    with pytest.raises(ImportHasErrors):
        printcat.import_records(connection, parsed, dry_run=False)
    assert count(connection, "records") == 0


def test_bad_year_and_short_line_are_reported_by_line_and_nothing_is_written(connection):
    data = slims_csv(slims_line(), slims_line(publish_year="dua ribu delapan", item_code="<S9>"), '"Buku rusak","Text"')
    parsed = printcat.read_print_file(data)
    assert [(problem.where.line, problem.error.code) for problem in parsed.errors] == [
        (3, "bad-year"),
        (4, "wrong-column-count"),
    ]
    assert "dua ribu delapan" in parsed.errors[0].render()
    report = printcat.import_records(connection, parsed)
    assert report.errors and report.skipped_records == 2
    with pytest.raises(ImportHasErrors):
        printcat.import_records(connection, parsed, dry_run=False)
    assert count(connection, "records") == count(connection, "items") == 0


def test_years_the_way_catalogues_write_them():
    from catalog.printcat.values import NotAYear, year

    assert [year(text) for text in ("2019", "[2019]", "c2019.", "cet. 3, 2019", "t.t.", "", "[s.a.]")] == [
        2019, 2019, 2019, 2019, None, None, None,
    ]  # fmt: skip
    with pytest.raises(NotAYear):
        year("dua ribu")


INLISLITE_HEADINGS = {
    "A": "No", "B": "Tanggal Pengadaan", "C": "No. Induk", "D": "No. Barcode", "E": "No. RFID", "F": "Sumber",
    "G": "Rekanan", "H": "Mata Uang", "I": "Harga", "J": "Lokasi Perpustakaan", "K": "Lokasi", "L": "Akses",
    "M": "Kategori", "N": "Media", "O": "Status", "P": "No. Panggil Eksemplar", "Q": "Jenis Bahan", "R": "Judul",
    "S": "Anak Judul", "T": "Penanggung Jawab", "U": "Pengarang", "V": "Badan Korporasi", "W": "Pengarang Tambahan",
    "X": "Badan Tambahan", "Y": "Edisi", "Z": "Tempat Terbit", "AA": "Penerbit", "AB": "Tahun Terbit",
    "AC": "Jumlah Halaman", "AD": "Dimensi", "AE": "ISBN", "AF": "ISSN", "AG": "ISMN", "AH": "No. DDC",
    "AI": "No. Panggil", "AJ": "Abstrak", "AK": "Bahasa", "AL": "Subjek", "AM": "Edisi Serial",
    "AN": "Tgl Terbit Edisi Serial", "AO": "Bahan Sertaan", "AP": "Keterangan Lain",
}  # fmt: skip


def inlislite_row(**cells: str) -> list[str]:
    row = {letter: "" for letter in INLISLITE_HEADINGS}
    row.update({
        "A": "1", "B": "05-01-2024", "C": "0001/PD/2024", "D": "00000000001", "F": "Hibah", "J": "Perpustakaan Desa",
        "K": "Rak Anak 2", "L": "Dapat dipinjam", "M": "Anak", "N": "Buku", "O": "Tersedia", "P": "398.2 SAS b",
        "Q": "Monograf", "R": "Bawang merah bawang putih", "S": "cerita rakyat Riau", "U": "Sastrawan, Budi",
        "W": "Putri, Intan; Rahman, Abdul", "Y": "Cet. 1", "Z": "Bandung", "AA": "Pustaka Anak", "AB": "2020",
        "AC": "32 hlm.", "AD": "24 cm", "AE": "978-623-00-0111-6", "AH": "398.209 598", "AI": "398.2 SAS b",
        "AJ": "Cerita rakyat tentang dua saudara.", "AK": "ind", "AL": "Cerita rakyat; Dongeng",
    })  # fmt: skip
    row.update(cells)
    return [row[letter] for letter in INLISLITE_HEADINGS]


def inlislite_csv(*rows: list[str]) -> bytes:
    out = io.StringIO()
    import csv

    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(INLISLITE_HEADINGS.values())
    writer.writerow(INLISLITE_HEADINGS.keys())  # the sheet's second header row
    writer.writerows(rows or [inlislite_row()])
    return out.getvalue().encode("cp1252")


def test_inlislite_sheet_one_line_per_copy_becomes_one_record_with_copies(connection):
    data = inlislite_csv(
        inlislite_row(),
        inlislite_row(A="2", C="0002/PD/2024", D="", O="Dipinjam"),
        inlislite_row(A="3", C="0003/PD/2024", D="00000000003", R="Malin Kundang", S="", AE="", AB="2018"),
    )
    report = imported(connection, data)
    assert (report.format, report.new_records, report.new_items) == ("inlislite", 2, 3)
    assert [outcome.where.line for outcome in report.outcomes] == [3, 5]
    bawang = records.get_record(connection, report.record_ids[0])
    assert (bawang["title"], bawang["subtitle"], bawang["source"]) == (
        "Bawang merah bawang putih",
        "cerita rakyat Riau",
        "inlislite",
    )
    assert bawang["authors"] == ["Budi Sastrawan", "Intan Putri", "Abdul Rahman"]
    assert (bawang["ddc"], bawang["classification"], bawang["language"]) == ("398.209", "398.2 SAS b", "id")
    assert bawang["extent"] == "32 hlm ; 24 cm" and bawang["subjects"] == ["Cerita rakyat", "Dongeng"]
    assert [(item["barcode"], item["location"], item["status"]) for item in bawang["items"]] == [
        ("00000000001", "Rak Anak 2", "available"),
        ("0002/PD/2024", "Rak Anak 2", "on-loan"),  # no barcode: the accession number stands in
    ]


def test_inlislite_sheet_with_columns_missing_is_refused():
    short = inlislite_csv().replace(b";Keterangan Lain", b"")
    parsed = printcat.read_print_file(short, "inlislite")
    [problem] = parsed.errors
    assert problem.error.code == "missing-columns" and "AP" in problem.render()


# --- what the records are used for --------------------------------------------------------


def add_ebook(connection, title: str = "Panduan bertani padi") -> int:
    extraction = Extraction(format="pdf", title=title, language="id", pages=1)
    extraction.units = [TextUnit(1, "Menanam padi di sawah desa bersama kelompok tani.")]
    with db.transaction(connection):
        return records.add_record(
            connection, extraction, sha256="a" * 64, size=10, original_name="padi.pdf", cover=None
        )


def test_print_records_are_indexed_and_found_beside_ebooks(connection, datadir):
    ebook = add_ebook(connection)
    report = imported(connection, iso2709(indonesian_book()))
    index = search_engine.open_index(datadir)
    try:
        search_engine.index_records(index, connection, [ebook, *report.record_ids])
        for query in ("minke", "bumi manusia", f"isbn:{BUMI}", "pengarang:pramoedya", "subjek:sejarah"):
            result = search_engine.search(index, connection, search_engine.SearchRequest(query))
            assert [hit["id"] for hit in result["hits"]] == report.record_ids, query
        result = search_engine.search(index, connection, search_engine.SearchRequest("minke"))
        assert {facet["value"]: facet["count"] for facet in result["facets"]["format"]} == {"print": 1}
    finally:
        index.close()


def test_a_catalogue_of_printed_books_only_can_be_searched(connection, datadir):
    report = imported(connection, iso2709(indonesian_book()))
    index = search_engine.open_index(datadir)
    try:
        search_engine.index_records(index, connection, report.record_ids)
        result = search_engine.search(index, connection, search_engine.SearchRequest("minke"))
        assert [hit["id"] for hit in result["hits"]] == report.record_ids
    finally:
        index.close()


def test_record_page_shows_a_printed_book(connection, client):
    report = imported(connection, iso2709(indonesian_book()))
    page = client.get(f"/buku/{report.record_ids[0]}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Bumi manusia" in html and "899.221 TOE b" in html and "Rak Sastra 2" in html


def test_export_is_valid_marc21_slim_and_reads_back(connection):
    report = imported(connection, iso2709(indonesian_book()))
    connection.execute("INSERT INTO records (title, language, year) VALUES ('Buku tanpa apa-apa', NULL, NULL)")
    document = printcat.export_marcxml(connection)
    schema = xmlschema.XMLSchema(str(MARC_SCHEMA))
    schema.validate(document.decode())
    parsed = printcat.read_print_file(document)
    assert parsed.format == "marcxml" and not parsed.errors and len(parsed.records) == 2
    again = parsed.records[0]
    assert (again.title, again.subtitle, again.edition, again.series) == (
        "Bumi manusia", "sebuah novel", "Cetakan ke-12", "Tetralogi Buru ; 1",
    )  # fmt: skip
    assert again.isbns == [BUMI] and [item.barcode for item in again.items] == ["B0001", "B0002"]
    only_one = printcat.export_marcxml(connection, report.record_ids)
    schema.validate(only_one.decode())
    assert only_one.count(b"<record>") == 1


def test_export_of_a_missing_record_is_a_clear_error(connection):
    with pytest.raises(records.RecordNotFound):
        printcat.export_marcxml(connection, [99])


def test_label_sheet_has_one_label_per_copy(connection):
    copies = tuple((f"LBL{number:04d}", f"TOE b c.{number}", "Rak 1") for number in range(1, 19))
    report = imported(connection, iso2709(indonesian_book(copies=copies)))
    pdf = printcat.label_sheet(connection, report.item_ids, library_name="Perpustakaan Desa Sukamaju")
    document = pymupdf.open(stream=pdf, filetype="pdf")
    assert document.page_count == 2  # sixteen to an A4 sheet
    assert document[0].rect.width == pytest.approx(595, abs=1)
    text = "".join(page.get_text() for page in document)
    for barcode, *_ in copies:
        assert text.count(barcode) == 1, barcode
    assert text.count("Bumi manusia") == 18
    assert text.count("Perpustakaan Desa Sukamaju") == 36  # on the spine label and the barcode label
    assert text.count("899.221") == 18
    drawings = document[0].get_drawings()
    assert len([path for path in drawings if path.get("fill") == (0.0, 0.0, 0.0)]) >= 16  # the bars
    with pytest.raises(ItemNotFound):
        printcat.label_sheet(connection, [999])


def test_problems_read_in_indonesian():
    parsed = printcat.read_print_file(slims_csv(slims_line(publish_year="entah")))
    indonesian = parsed.errors[0].render(gettext_for("id"))
    assert indonesian.startswith("baris 2:")
    assert "entah" in indonesian and indonesian != parsed.errors[0].render()


def test_a_csv_read_as_iso2709_is_one_error_not_thousands():
    parsed = printcat.read_print_file(slims_csv(*[slims_line()] * 50), "marc")
    assert [(problem.where.record, problem.error.code) for problem in parsed.errors] == [(1, "damaged-marc")]


def test_marc_records_wrapped_in_an_oai_pmh_response_are_read():
    record = pymarc.record_to_xml(indonesian_book(), namespace=True).decode()
    harvest = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
        f"<ListRecords><record><header><identifier>oai:x:1</identifier></header><metadata>{record}</metadata>"
        "</record></ListRecords></OAI-PMH>"
    ).encode()
    parsed = printcat.read_print_file(harvest)
    assert not parsed.errors and [found.title for found in parsed.records] == ["Bumi manusia"]

"""OAI-PMH 2.0 at /oai on a real waitress server: every verb and every error code, each response
valid against the protocol's XSD (with oai_dc and MARC 21 slim for the metadata)."""

from __future__ import annotations

import contextlib
import re
import urllib.parse
import urllib.request

import pytest
from lxml import etree

from catalog import db, editing, records
from catalog.datadir import DataDir
from ebookserver.app import create_app
from ebookserver.settings import load_settings
from tests.oai_schemas import validate, validate_when_possible
from tests.web.conftest import serving

OAI = "{http://www.openarchives.org/OAI/2.0/}"
DC = "{http://purl.org/dc/elements/1.1/}"
MARC = "{http://www.loc.gov/MARC21/slim}"
PREFIX = "oai:perpustakaan.npp3204012345:"


def add_record(connection, title: str, **columns) -> int:
    names = ["title", *columns]
    record_id = connection.execute(
        f"INSERT INTO records ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",  # noqa: S608
        [title, *columns.values()],
    ).lastrowid
    return record_id


@pytest.fixture(scope="module")
def harvest(tmp_path_factory):
    folder = tmp_path_factory.mktemp("oai")
    datadir = DataDir(folder / "data")
    datadir.create()
    ids = {}
    with contextlib.closing(datadir.connect()) as connection, db.transaction(connection):
        connection.execute(
            "INSERT INTO library (id, name, npp, village) VALUES (1, 'Perpustakaan Desa Sukamaju', '3204012345', 'X')"
        )
        ids["padi"] = add_record(
            connection,
            "Menanam Padi",
            subtitle="di sawah",
            ddc="633.18",
            language="id",
            publisher="Penerbit Desa",
            year=2021,
            description="Panduan bertani.",
            updated_at="2026-01-10T08:00:00Z",
        )
        connection.execute(
            "INSERT INTO contributors (record_id, position, name) VALUES (?, 1, 'Siti Rahayu')", (ids["padi"],)
        )
        connection.execute(
            "INSERT INTO subjects (record_id, position, term) VALUES (?, 1, 'Pertanian')", (ids["padi"],)
        )
        connection.execute("INSERT INTO identifiers VALUES (?, 'isbn', '9786020000001')", (ids["padi"],))
        connection.execute(
            "INSERT INTO ebook_files (record_id, format, sha256, size, pages, has_text, original_name)"
            " VALUES (?, 'epub', 'a1', 10, 3, 1, 'padi.epub')",
            (ids["padi"],),
        )
        ids["nelayan"] = add_record(
            connection, "Kisah Nelayan", ddc="899.221", language="id", updated_at="2026-02-01T08:00:00Z"
        )
        records.add_item(connection, ids["nelayan"], barcode="B0001", call_number="899.221 RAH k")
        ids["garden"] = add_record(connection, "The Village Garden", language="en", updated_at="2026-03-01T08:00:00Z")
        connection.execute(
            "INSERT INTO ebook_files (record_id, format, sha256, size, pages, has_text, original_name)"
            " VALUES (?, 'pdf', 'b2', 10, 3, 1, 'garden.pdf')",
            (ids["garden"],),
        )
        ids["hidden"] = add_record(
            connection, "Ditarik", ddc="100", withdrawn=1, language="id", updated_at="2026-03-05T08:00:00Z"
        )
        ids["gone"] = add_record(connection, "Dihapus", ddc="200", language="id")
        ids["last"] = add_record(
            connection, "Buku Terakhir", ddc="900", language="id", updated_at="2026-04-01T08:00:00Z"
        )
        editing.delete_record(connection, datadir, ids["gone"])
    settings = load_settings(environ={}, overrides={"data_dir": datadir.root})
    app = create_app(settings, check_index=False)
    app.config["OAI_PAGE_SIZE"] = 2
    with serving(app) as base:
        yield Harvest(base, ids)
    app.config["SEARCH_INDEX"].close()


class Harvest:
    def __init__(self, base: str, ids: dict[str, int]) -> None:
        self.base, self.ids = base, ids

    def get(self, query: str, method: str = "GET") -> etree._Element:
        if method == "POST":
            request = urllib.request.Request(self.base + "/oai", data=query.encode(), method="POST")  # noqa: S310
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        else:
            request = urllib.request.Request(f"{self.base}/oai?{query}")  # noqa: S310 - our own server
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 - our own server
            assert response.status == 200 and response.headers["Content-Type"].startswith("text/xml")
            body = response.read()
        validate_when_possible(body)
        return etree.fromstring(body)

    def error(self, query: str) -> str:
        root = self.get(query)
        [error] = root.findall(f"{OAI}error")
        return error.get("code")


def test_identify_gives_its_children_in_schema_order(harvest):
    root = harvest.get("verb=Identify")
    identify = root.find(f"{OAI}Identify")
    names = [child.tag.removeprefix(OAI) for child in identify]
    assert names == [
        "repositoryName", "baseURL", "protocolVersion", "adminEmail",
        "earliestDatestamp", "deletedRecord", "granularity",
    ]  # fmt: skip
    assert identify.findtext(f"{OAI}repositoryName") == "Perpustakaan Desa Sukamaju"
    assert identify.findtext(f"{OAI}baseURL") == harvest.base + "/oai"
    assert identify.findtext(f"{OAI}deletedRecord") == "persistent"
    assert identify.findtext(f"{OAI}earliestDatestamp") == "2026-01-10T08:00:00Z"
    assert root.find(f"{OAI}request").get("verb") == "Identify"


def test_list_metadata_formats_names_oai_dc_and_marc21(harvest):
    root = harvest.get("verb=ListMetadataFormats")
    assert [element.text for element in root.iter(f"{OAI}metadataPrefix")] == ["oai_dc", "marc21"]
    one = harvest.get(f"verb=ListMetadataFormats&identifier={PREFIX}{harvest.ids['padi']}")
    assert len(one.findall(f".//{OAI}metadataFormat")) == 2


def test_list_sets_names_the_ddc_classes_formats_and_languages(harvest):
    root = harvest.get("verb=ListSets")
    specs = [element.text for element in root.iter(f"{OAI}setSpec")]
    assert specs == [
        "dewey", "dewey:100", "dewey:200", "dewey:600", "dewey:800", "dewey:900",
        "format", "format:epub", "format:pdf", "format:print",
        "language", "language:en", "language:id",
    ]  # fmt: skip
    names = dict(zip(specs, [element.text for element in root.iter(f"{OAI}setName")], strict=True))
    assert names["dewey:800"] == "800 Kesusastraan"


def test_list_records_walks_the_resumption_tokens_to_the_end(harvest):
    seen, query, cursors = [], "verb=ListRecords&metadataPrefix=oai_dc", []
    while True:
        root = harvest.get(query)
        listing = root.find(f"{OAI}ListRecords")
        seen += [header.findtext(f"{OAI}identifier") for header in listing.iter(f"{OAI}header")]
        token = listing.find(f"{OAI}resumptionToken")
        cursors.append(token.get("cursor"))
        assert token.get("completeListSize") == "6"
        if not token.text:
            break
        query = "verb=ListRecords&resumptionToken=" + urllib.parse.quote(token.text)
    ids = harvest.ids
    expected = ["padi", "nelayan", "garden", "hidden", "gone", "last"]
    assert seen == [f"{PREFIX}{ids[name]}" for name in expected]
    assert cursors == ["0", "2", "4"]


def test_deleted_and_withdrawn_records_are_tombstones_with_their_sets(harvest):
    root = harvest.get("verb=ListIdentifiers&metadataPrefix=oai_dc&set=dewey:200")
    [header] = root.iter(f"{OAI}header")
    assert header.get("status") == "deleted"
    assert header.findtext(f"{OAI}identifier") == f"{PREFIX}{harvest.ids['gone']}"
    assert [spec.text for spec in header.iter(f"{OAI}setSpec")] == ["dewey:200", "language:id"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", header.findtext(f"{OAI}datestamp"))
    withdrawn = harvest.get(f"verb=GetRecord&metadataPrefix=oai_dc&identifier={PREFIX}{harvest.ids['hidden']}")
    record = withdrawn.find(f".//{OAI}record")
    assert record.find(f"{OAI}header").get("status") == "deleted" and record.find(f"{OAI}metadata") is None


def test_get_record_in_oai_dc_has_only_dublin_core_elements(harvest):
    root = harvest.get(f"verb=GetRecord&metadataPrefix=oai_dc&identifier={PREFIX}{harvest.ids['padi']}")
    dc = root.find(f".//{OAI}metadata")[0]
    names = {child.tag for child in dc}
    assert all(name.startswith(DC) for name in names)
    assert dc.findtext(f"{DC}title") == "Menanam Padi: di sawah"
    assert dc.findtext(f"{DC}creator") == "Siti Rahayu"
    assert "urn:isbn:9786020000001" in [element.text for element in dc.iter(f"{DC}identifier")]
    assert f"{harvest.base}/buku/{harvest.ids['padi']}" in [element.text for element in dc.iter(f"{DC}identifier")]
    assert dc.findtext(f"{DC}format") == "application/epub+zip"
    header = root.find(f".//{OAI}header")
    assert header.findtext(f"{OAI}datestamp") == "2026-01-10T08:00:00Z"


def test_get_record_in_marc21(harvest):
    root = harvest.get(f"verb=GetRecord&metadataPrefix=marc21&identifier={PREFIX}{harvest.ids['nelayan']}")
    marc = root.find(f".//{MARC}record")
    fields = {field.get("tag") for field in marc.iter(f"{MARC}datafield")}
    assert {"245", "082", "852"} <= fields


def test_selective_harvesting_by_date_and_set(harvest):
    root = harvest.get("verb=ListIdentifiers&metadataPrefix=oai_dc&from=2026-02-01&until=2026-03-01")
    ids = [header.findtext(f"{OAI}identifier") for header in root.iter(f"{OAI}header")]
    assert ids == [f"{PREFIX}{harvest.ids['nelayan']}", f"{PREFIX}{harvest.ids['garden']}"]
    root = harvest.get("verb=ListIdentifiers&metadataPrefix=marc21&set=format:print")
    assert [h.findtext(f"{OAI}identifier") for h in root.iter(f"{OAI}header")] == [f"{PREFIX}{harvest.ids['nelayan']}"]
    root = harvest.get("verb=ListIdentifiers&metadataPrefix=oai_dc&set=language", method="POST")
    assert root.find(f"{OAI}ListIdentifiers") is not None


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("", "badVerb"),
        ("verb=Harvest", "badVerb"),
        ("verb=Identify&verb=Identify", "badVerb"),
        ("verb=Identify&extra=1", "badArgument"),
        ("verb=ListRecords", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=oai_dc", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=kemarin", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2026-02-30", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2026-03-01&until=2026-01-01", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2026-01-01&until=2026-03-01T00:00:00Z", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&set=genre:novel", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&resumptionToken=abc", "badArgument"),
        ("verb=GetRecord&identifier=oai:x:1", "badArgument"),
        ("verb=ListRecords&resumptionToken=bm90LWEtdG9rZW4", "badResumptionToken"),
        ("verb=ListSets&resumptionToken=abc", "badResumptionToken"),
        ("verb=ListRecords&metadataPrefix=mods", "cannotDisseminateFormat"),
        (f"verb=GetRecord&metadataPrefix=mods&identifier={PREFIX}1", "cannotDisseminateFormat"),
        ("verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:elsewhere:1", "idDoesNotExist"),
        (f"verb=GetRecord&metadataPrefix=oai_dc&identifier={PREFIX}999", "idDoesNotExist"),
        ("verb=ListMetadataFormats&identifier=oai:elsewhere:1", "idDoesNotExist"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2030-01-01", "noRecordsMatch"),
        ("verb=ListIdentifiers&metadataPrefix=oai_dc&set=dewey:300", "noRecordsMatch"),
    ],
)
def test_protocol_errors(harvest, query, code):
    assert harvest.error(query) == code


def test_a_bad_verb_or_argument_is_not_echoed_in_the_request(harvest):
    root = harvest.get("verb=ListRecords&metadataPrefix=oai_dc&from=kemarin")
    assert root.find(f"{OAI}request").attrib == {}
    root = harvest.get("verb=ListRecords&metadataPrefix=oai_dc&from=2030-01-01")
    assert root.find(f"{OAI}request").get("from") == "2030-01-01"


def test_a_token_of_another_verb_is_refused(harvest):
    listing = harvest.get("verb=ListIdentifiers&metadataPrefix=oai_dc").find(f"{OAI}ListIdentifiers")
    token = listing.find(f"{OAI}resumptionToken").text
    assert harvest.error("verb=ListRecords&resumptionToken=" + urllib.parse.quote(token)) == "badResumptionToken"


def test_a_deleted_item_has_no_metadata_formats(harvest):
    assert harvest.error(f"verb=ListMetadataFormats&identifier={PREFIX}{harvest.ids['gone']}") == "noMetadataFormats"


def test_an_empty_catalogue_has_no_set_hierarchy(tmp_path):
    settings = load_settings(environ={}, overrides={"data_dir": tmp_path / "data"})
    app = create_app(settings, check_index=False)
    with serving(app) as base:
        empty = Harvest(base, {})
        assert empty.error("verb=ListSets") == "noSetHierarchy"
        assert empty.error("verb=ListRecords&metadataPrefix=oai_dc&set=dewey:100") == "noSetHierarchy"
        assert empty.error("verb=ListRecords&metadataPrefix=oai_dc") == "noRecordsMatch"
        assert empty.get("verb=Identify").find(f".//{OAI}earliestDatestamp").text
    app.config["SEARCH_INDEX"].close()


def test_export_oai_writes_valid_files(harvest, tmp_path):
    from click.testing import CliRunner

    from ebookserver.cli import main

    # The module's library, exported from a copy so the served one is untouched.
    out = tmp_path / "oai"
    runner = CliRunner()
    data = tmp_path / "data"
    assert runner.invoke(main, ["--data-dir", str(data), "init"]).exit_code == 0
    with contextlib.closing(DataDir(data).connect()) as connection, db.transaction(connection):
        connection.execute("INSERT INTO library (id, name, npp) VALUES (1, 'Perpustakaan Uji', '3204012345')")
        for number in range(1, 106):
            add_record(connection, f"Buku {number}", ddc="300", language="id")
    result = runner.invoke(
        main, ["--data-dir", str(data), "export-oai", str(out), "--base-url", "http://perpus.example/oai"]
    )
    assert result.exit_code == 0, result.output
    names = sorted(path.name for path in out.iterdir())
    assert names == [
        "Identify.xml", "ListMetadataFormats.xml", "ListRecords-marc21-0001.xml", "ListRecords-marc21-0002.xml",
        "ListRecords-oai_dc-0001.xml", "ListRecords-oai_dc-0002.xml", "ListSets.xml",
    ]  # fmt: skip
    for path in out.iterdir():
        validate_when_possible(path.read_bytes())
    last = etree.parse(str(out / "ListRecords-oai_dc-0002.xml")).getroot()
    assert len(last.findall(f".//{OAI}record")) == 5
    assert last.find(f".//{OAI}resumptionToken").get("cursor") == "100"
    assert etree.parse(str(out / "Identify.xml")).getroot().findtext(f".//{OAI}baseURL") == "http://perpus.example/oai"


def test_every_response_kind_is_schema_valid(harvest):
    """Each verb, an error, a tombstone and both metadata formats against OAI-PMH.xsd, oai_dc.xsd
    and MARC21slim.xsd (skipped with the reason when ../shared/schemas is absent)."""
    padi, gone = f"{PREFIX}{harvest.ids['padi']}", f"{PREFIX}{harvest.ids['gone']}"
    for query in (
        "verb=Identify",
        "verb=ListMetadataFormats",
        "verb=ListSets",
        "verb=ListIdentifiers&metadataPrefix=oai_dc",
        "verb=ListRecords&metadataPrefix=oai_dc",
        "verb=ListRecords&metadataPrefix=marc21",
        f"verb=GetRecord&metadataPrefix=oai_dc&identifier={padi}",
        f"verb=GetRecord&metadataPrefix=marc21&identifier={padi}",
        f"verb=GetRecord&metadataPrefix=oai_dc&identifier={gone}",
        "verb=Nothing",
    ):
        with urllib.request.urlopen(f"{harvest.base}/oai?{query}", timeout=20) as response:  # noqa: S310
            validate(response.read())

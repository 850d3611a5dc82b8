"""Borrowing through a reading app: OPDS borrow links with copies, holds and availability, HTTP
Basic with member number and PIN, the patron's shelf, returning early; the Authentication for
OPDS document validates against its JSON Schema."""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request

import pytest
from lxml import etree

from tests.conftest import SHARED
from tests.web.test_lending import PIN, lending  # noqa: F401 - the fixture
from tests.web.test_opds import ATOM, _links

OPDS = "{http://opds-spec.org/2010/catalog}"
BORROW = "http://opds-spec.org/acquisition/borrow"
REVOKE = "http://librarysimplified.org/terms/rel/revoke"
# These three lending elements are not in the OPDS 1.2 RelaxNG (which admits no foreign opds:*
# element inside a link), so feeds are checked against it without them, and they are checked here.
LENDING_ELEMENTS = ("availability", "holds", "copies")


@pytest.fixture(scope="module")
def schemas():
    rng = SHARED / "schemas" / "opds1.2" / "opds-urifix.rng"
    if not rng.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the OPDS schemas are missing at {rng.parent}")
        pytest.skip(f"the OPDS schemas are not at {rng.parent}")
    return etree.RelaxNG(etree.parse(str(rng))), etree.RelaxNG(etree.parse(str(rng.parent / "atom.rng")))


def _call(base: str, path: str, number: str | None = None, pin: str = PIN, method: str = "GET"):
    request = urllib.request.Request(base + path, method=method, data=b"" if method == "POST" else None)  # noqa: S310
    if number:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{number}:{pin}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 - our own server
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read(), error.headers


def _valid(document: bytes, schemas) -> etree._Element:
    opds, atom = schemas
    root = etree.fromstring(document)
    assert atom.validate(root), atom.error_log.last_error
    stripped = etree.fromstring(document)
    for name in LENDING_ELEMENTS:
        for element in stripped.iter(f"{OPDS}{name}"):
            element.getparent().remove(element)
    assert opds.validate(stripped), opds.error_log.last_error
    return root


def _entry_of(feed: etree._Element, record_id: int) -> etree._Element:
    for entry in feed.iter(f"{ATOM}entry"):
        if entry.findtext(f"{ATOM}id") == f"urn:ebookserver:record:{record_id}":
            return entry
    raise AssertionError(f"no entry for record {record_id}")


def _borrow_link(entry) -> etree._Element:
    [link] = [link for link in entry.findall(f"{ATOM}link") if link.get("rel") == BORROW]
    return link


def test_a_reading_app_borrows_with_http_basic_and_the_next_one_queues(lending, schemas):  # noqa: F811
    lending.patron("S-1", "Siti")
    lending.patron("B-2", "Budi")
    status, body, _headers = _call(lending.base, "/opds/baru")
    entry = _entry_of(_valid(body, schemas), lending.lent)
    link = _borrow_link(entry)
    assert link.find(f"{OPDS}availability").get("status") == "available"
    assert (link.find(f"{OPDS}copies").get("total"), link.find(f"{OPDS}copies").get("available")) == ("1", "1")
    assert link.find(f"{OPDS}holds").get("total") == "0"
    assert not _links(entry, "http://opds-spec.org/acquisition/open-access")  # a licensed file is never offered whole
    borrow_path = link.get("href")[len(lending.base) :]

    status, body, headers = _call(lending.base, borrow_path)
    assert status == 401 and "Basic" in headers["WWW-Authenticate"]
    assert "http://opds-spec.org/auth/document" in headers["Link"]
    status, body, _headers = _call(lending.base, borrow_path, "S-1", "9999")
    assert status == 401 and json.loads(body)["detail"]

    status, body, _headers = _call(lending.base, borrow_path, "S-1", method="POST")
    assert status == 201
    mine = _valid(body, schemas)
    [reading] = [link for link in mine.findall(f"{ATOM}link") if link.get("rel") == "http://opds-spec.org/acquisition"]
    assert reading.get("type") == "text/html" and reading.find(f"{OPDS}availability").get("until")
    assert _links(mine, REVOKE)

    status, body, _headers = _call(lending.base, borrow_path, "B-2")
    assert status == 202  # no copy free: Budi joins the queue
    queued = _borrow_link(_valid(body, schemas))
    assert queued.find(f"{OPDS}availability").get("status") == "unavailable"
    assert queued.find(f"{OPDS}holds").get("total") == "1"
    assert queued.find(f"{OPDS}copies").get("available") == "0"

    status, body, _headers = _call(lending.base, "/opds/rak", "S-1")
    shelf = _valid(body, schemas)
    assert [entry.findtext(f"{ATOM}title") for entry in shelf.findall(f"{ATOM}entry")] == ["Laporan Perpustakaan"]
    [revoke] = _links(_entry_of(shelf, lending.lent), REVOKE)
    status, body, _headers = _call(lending.base, revoke[len(lending.base) :], "S-1", method="POST")
    assert status == 200 and _borrow_link(_valid(body, schemas)) is not None
    # Budi was first in the queue: the copy is now reserved for him.
    status, body, _headers = _call(lending.base, "/opds/rak", "B-2")
    assert "Laporan Perpustakaan" in body.decode()
    status, body, _headers = _call(lending.base, "/opds/rak", "S-1")
    assert _valid(body, schemas).find(f"{ATOM}entry") is None


def test_borrowing_refusals_come_as_problem_documents_in_indonesian(lending, schemas):  # noqa: F811
    lending.patron("S-1", "Siti")
    status, body, headers = _call(lending.base, f"/opds/pinjam/{lending.free}", "S-1")
    assert status == 403 and headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["title"] == "Tidak dapat dilakukan"
    status, _body, _headers = _call(lending.base, "/opds/pinjam/999999", "S-1")
    assert status == 404


def test_the_authentication_document_validates_against_its_schema(lending):  # noqa: F811
    jsonschema = pytest.importorskip("jsonschema")
    schema_path = SHARED / "schemas" / "opds2" / "authentication.schema.json"
    if not schema_path.exists():
        pytest.skip(f"the schema is not at {schema_path}")
    status, body, headers = _call(lending.base, "/opds/auth")
    assert status == 200 and headers["Content-Type"].startswith("application/opds-authentication+json")
    document = json.loads(body)
    referencing = pytest.importorskip("referencing")
    # Offline, as the schemas' README says: every schema registered under its $id.
    resources = []
    for path in [
        *(SHARED / "schemas" / "opds2").glob("*.json"),
        *(SHARED / "schemas" / "readium-webpub-manifest").rglob("*.json"),
    ]:
        contents = json.loads(path.read_text())
        if isinstance(contents, dict) and "$id" in contents:
            contents.pop("$schema", None)
            resources.append(
                (
                    contents["$id"],
                    referencing.Resource.from_contents(contents, default_specification=referencing.jsonschema.DRAFT7),
                )
            )
    registry = referencing.Registry().with_resources(resources)
    schema = json.loads(schema_path.read_text())
    schema.pop("$schema", None)
    jsonschema.Draft7Validator(schema, registry=registry).validate(document)
    assert document["authentication"][0]["type"] == "http://opds-spec.org/auth/basic"
    assert document["authentication"][0]["labels"] == {"login": "Nomor anggota", "password": "PIN"}

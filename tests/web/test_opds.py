"""The OPDS 1.2 catalogue for reading apps: every feed validates against the OPDS RelaxNG schema,
links are absolute, acquisition feeds page, search finds words inside the books."""

from __future__ import annotations

import os
import urllib.parse

import pytest
from lxml import etree

from tests.conftest import SHARED

ATOM = "{http://www.w3.org/2005/Atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
SCHEMA = SHARED / "schemas" / "opds1.2" / "opds-urifix.rng"


@pytest.fixture(scope="module")
def opds_schema():
    if not SCHEMA.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the OPDS schema is missing at {SCHEMA}")
        pytest.skip(f"the OPDS schema is not at {SCHEMA}")
    return etree.RelaxNG(etree.parse(str(SCHEMA)))


def _feed(site, path: str, schema) -> etree._Element:
    status, body, headers = site.get(path)
    assert status == 200, (path, body[:300])
    assert headers["Content-Type"].startswith("application/atom+xml;profile=opds-catalog"), headers["Content-Type"]
    root = etree.fromstring(body.encode())
    assert schema.validate(root), (path, schema.error_log.last_error)
    for link in root.iter(f"{ATOM}link"):
        assert link.get("href").startswith(site.base), f"{path}: relative link {link.get('href')}"
    return root


def _links(element, rel: str) -> list[str]:
    return [link.get("href") for link in element.findall(f"{ATOM}link") if link.get("rel") == rel]


def _titles(feed) -> list[str]:
    return [entry.findtext(f"{ATOM}title") for entry in feed.findall(f"{ATOM}entry")]


def _path(site, url: str) -> str:
    assert url.startswith(site.base)
    return url[len(site.base) :]


def test_the_root_leads_to_new_popular_subjects_and_languages(site, opds_schema):
    root = _feed(site, "/opds", opds_schema)
    assert _titles(root) == ["Buku baru", "Paling banyak dibaca", "Menurut bidang ilmu", "Menurut bahasa"]
    for entry in root.findall(f"{ATOM}entry"):
        [href] = [link.get("href") for link in entry.findall(f"{ATOM}link")]
        _feed(site, _path(site, href), opds_schema)
    languages = _feed(site, "/opds/bahasa", opds_schema)
    assert "Bahasa Indonesia" in _titles(languages)


def test_new_arrivals_carry_open_access_links_that_download_the_book(site, opds_schema):
    feed = _feed(site, "/opds/baru", opds_schema)
    titles = _titles(feed)
    assert "Menanam Padi di Sawah" in titles and "Laporan Perpustakaan" in titles
    assert feed.findtext(f"{OPENSEARCH}totalResults") == str(len(titles))
    padi = next(
        entry for entry in feed.findall(f"{ATOM}entry") if entry.findtext(f"{ATOM}title") == "Menanam Padi di Sawah"
    )
    assert padi.find(f"{ATOM}author/{ATOM}name").text == "Siti Rahayu"
    [download] = _links(padi, "http://opds-spec.org/acquisition/open-access")
    status, _body, headers = site.get(_path(site, download))
    assert status == 200 and headers["Content-Type"] == "application/epub+zip"
    [complete] = [
        link.get("href")
        for link in padi.findall(f"{ATOM}link")
        if link.get("type", "").startswith("application/atom+xml;type=entry")
    ]
    status, body, _headers = site.get(_path(site, complete))
    entry = etree.fromstring(body.encode())
    assert status == 200 and entry.tag == f"{ATOM}entry" and opds_schema.validate(entry), opds_schema.error_log


def test_search_finds_words_inside_books_and_pages(site, opds_schema, monkeypatch):
    feed = _feed(site, "/opds/cari?q=" + urllib.parse.quote("pengunjung"), opds_schema)
    assert _titles(feed) == ["Laporan Perpustakaan"]
    from ebookserver.views import opds

    monkeypatch.setattr(opds, "PAGE_SIZE", 2)
    first = _feed(site, "/opds/baru", opds_schema)
    assert len(_titles(first)) == 2
    [next_page] = _links(first, "next")
    second = _feed(site, _path(site, next_page), opds_schema)
    assert set(_titles(first)).isdisjoint(_titles(second)) and _links(second, "previous")
    status, body, _headers = site.get("/opds/opensearch.xml")
    assert status == 200 and "/opds/cari?q={searchTerms}" in body


def test_hostile_and_empty_queries_give_valid_feeds(site, opds_schema):
    for query in ("", '"unbalanced', "<script>alert(1)</script>", "🙂" * 30):
        feed = _feed(site, "/opds/cari?q=" + urllib.parse.quote(query), opds_schema)
        assert feed.findtext(f"{OPENSEARCH}totalResults") is not None
    status, _body, _headers = site.get("/opds/subjek/x")
    assert status == 404

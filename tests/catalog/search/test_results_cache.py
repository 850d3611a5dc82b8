"""Ranked results are kept per searcher, so turning pages or searching again costs only the
page's snippets; a change to the index must show at once, and the cache stays bounded."""

from __future__ import annotations

import pytest

from catalog import search
from catalog.search import service
from tests.catalog.search.library import book_epub, build_library


@pytest.fixture
def library(tmp_path):
    folder = tmp_path / "books"
    folder.mkdir()
    books = [
        book_epub(folder, f"padi{number}", title=f"Menanam Padi {number}", chapters=(f"Petani menanam padi {number}.",))
        for number in range(12)
    ]
    built = build_library(folder, books)
    yield built
    built.index.close()


def _pages(library, text: str, **options) -> list[list[int]]:
    first = library.search(text, page_size=5, **options)
    pages = [[hit["id"] for hit in first["hits"]]]
    for page in range(2, first["pages"] + 1):
        pages.append([hit["id"] for hit in library.search(text, page=page, page_size=5, **options)["hits"]])
    return pages


def test_cached_pages_are_the_pages_an_uncached_search_gives(library):
    cached = _pages(library, "padi"), _pages(library, "padi", sort="title")
    library.index.results_cached = 0
    assert (_pages(library, "padi"), _pages(library, "padi", sort="title")) == cached
    assert len(cached[0]) == 3 and sorted(found for page in cached[0] for found in page) == sorted(library.ids.values())


def test_pages_beyond_the_cached_ranks_are_worked_out_again(library, monkeypatch):
    monkeypatch.setattr(service, "RANKS_CACHED", 2)
    everything = library.search("padi", page_size=100)["hits"]
    assert [hit["id"] for hit in library.search("padi", page=3, page_size=5)["hits"]] == [
        hit["id"] for hit in everything[10:]
    ]


def test_a_change_to_the_index_shows_at_once(library):
    gone = library.ids["padi3"]
    assert gone in {hit["id"] for hit in library.search("padi", page_size=100)["hits"]}
    with library.connect() as connection:
        search.index_records(library.index, connection, [], removed=[gone])
    result = library.search("padi", page_size=100)
    assert gone not in {hit["id"] for hit in result["hits"]} and result["total"] == 11
    facets = {item["value"]: item["count"] for item in result["facets"]["format"]}
    assert facets == {"epub": 11}


def test_the_cache_is_bounded_and_its_facets_are_not_the_callers(library):
    library.index.results_cached = 3
    for number in range(6):
        library.search(f"padi {number}")
    with library.index.searchers() as (record_searcher, _units, _vocabulary):
        assert len(record_searcher.__dict__["_ranked"]) == 3
    first = library.search("padi")
    first["facets"]["format"][0]["count"] = -1  # a caller that changes what it got
    assert library.search("padi")["facets"]["format"][0]["count"] == 12

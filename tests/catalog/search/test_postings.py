"""The block-at-a-time evaluation (catalog.search.postings) finds, scores, places and cuts
snippets exactly as Whoosh's own matchers do: every query is run both ways and compared,
on an index with several segments and deleted documents."""

from __future__ import annotations

import pytest

from catalog import db, search
from catalog.search import postings, service, within
from tests.catalog.search.library import build_library
from tests.catalog.search.test_queries import _books

QUERIES = [
    '"sawah di belakang"',
    '"membaca buku cerita"',
    '"anak-anak desa"',
    '"the library"',
    "desa",
    "membaca",
    "baca buku",
    "desa -jagung",
    "kebun NOT sawah",
    '"buku cerita"',
    '"membaca buku"',
    '"anak desa"',
    '"balai desa" petani',
    '"buku" OR sawah',
    "perpus*",
    "tan* desa",
    "judul:desa",
    "pengarang:siti OR desa",
    "desa tahun:2000-2020",
    "desa bahasa:id format:pdf",
    "libraries",
    "village library",
    "membca",
    "perpustakan",
    "isbn:978-602-8519-93-9",
]


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    folder = tmp_path_factory.mktemp("books")
    built = build_library(folder, _books(folder))
    # Index a book again and take another out: segments with deleted documents.
    names = sorted(built.ids)
    with built.connect() as connection:
        with db.transaction(connection):
            connection.execute("UPDATE records SET title = title || ' desa' WHERE id = ?", (built.ids[names[0]],))
        search.index_records(built.index, connection, [built.ids[names[0]]])
        search.index_records(built.index, connection, [], removed=[built.ids[names[-1]]])
    built.index.results_cached = 0  # each search below is worked out, by one way or the other
    yield built
    built.index.close()


def _whoosh_only(monkeypatch):
    monkeypatch.setattr(postings, "evaluate", lambda *arguments: None)
    monkeypatch.setattr(within, "evaluate_in", lambda *arguments, **options: None)
    monkeypatch.setattr(service, "_phrase_steps", lambda *arguments: None)


def _comparable(result: dict) -> dict:
    hits = [{**hit, "score": round(hit["score"], 3)} for hit in result["hits"]]
    return {**result, "hits": hits}


@pytest.mark.parametrize("options", [{}, {"page_size": 2, "page": 2}, {"filters": (("language", "id"),)}])
def test_the_fast_evaluation_gives_what_whoosh_gives(library, monkeypatch, options):
    with library.connect() as connection:
        requests = [search.SearchRequest(text, **options) for text in QUERIES]
        fast = [search.search(library.index, connection, request) for request in requests]
        with monkeypatch.context() as patched:
            _whoosh_only(patched)
            slow = [search.search(library.index, connection, request) for request in requests]
    assert any(result["total"] for result in fast)
    for text, mine, theirs in zip(QUERIES, fast, slow, strict=True):
        assert _comparable(mine) == _comparable(theirs), text


def test_the_index_has_deleted_documents(library):
    with library.index.searchers() as (_records, units, _vocabulary):
        assert any(leaf.reader().has_deletions() for leaf, _offset in units.leaf_searchers())
        assert len(units.leaf_searchers()) > 1


def test_phrase_chain_follows_whoosh_slop():
    assert postings.phrase_chain([[3], [4]], 1)
    assert not postings.phrase_chain([[3], [5]], 1)
    assert postings.phrase_chain([[3], [5]], 2)
    assert not postings.phrase_chain([[4], [3]], 2)  # ordered
    assert postings.phrase_chain([[1, 7], [8], [9]], 1)
    assert not postings.phrase_chain([[1, 7], [2], [9]], 1)


def test_after_a_change_the_fast_evaluation_sees_what_whoosh_sees(tmp_path, monkeypatch):
    """Caches kept with segment readers (which Whoosh reuses across refreshes) do not hide
    a book taken out or changed after the first searches."""
    built = build_library(tmp_path, _books(tmp_path))
    try:
        name = "gemar-membaca"
        before = built.found("desa")
        assert name in before
        with built.connect() as connection:
            search.index_records(built.index, connection, [], removed=[built.ids[name]])
        after = built.found("desa")
        assert after == before - {name}
        assert name not in built.found('"balai desa"') | built.found("perpus*")
        with built.connect() as connection:
            requests = [search.SearchRequest(text) for text in QUERIES]
            fast = [search.search(built.index, connection, request) for request in requests]
            with monkeypatch.context() as patched:
                _whoosh_only(patched)
                slow = [search.search(built.index, connection, request) for request in requests]
        for text, mine, theirs in zip(QUERIES, fast, slow, strict=True):
            assert _comparable(mine) == _comparable(theirs), text
    finally:
        built.index.close()

"""Whatever is typed into the search box gives results or a helpful message: never an
exception, never a long wait."""

from __future__ import annotations

import time

import pytest

from tests.catalog.search.library import book_epub, book_pdf, build_library

HOSTILE = {
    "10000 characters": "perpustakaan " * 769 + "x" * 3,
    "10000 letters in one word": "a" * 10_000,
    "unbalanced quote": '"sawah hijau',
    "unbalanced quote at the end": 'sawah hijau"',
    "three quotes": '"""',
    "one quote": '"',
    "empty phrase": '""',
    "field with empty phrase": 'judul:""',
    "parentheses": "((((",
    "closing parentheses": "))))",
    "operators only": "OR OR NOT",
    "operators in Indonesian only": "ATAU BUKAN DAN",
    "trailing OR": "sawah OR",
    "leading OR": "OR sawah",
    "NOT at the end": "sawah NOT",
    "double negation": "NOT NOT sawah",
    "minus": "-",
    "double minus": "--",
    "minus minus word": "--sawah",
    "star": "*",
    "stars": "** * ***",
    "star prefix": "*wah",
    "question marks": "?? sa?ah",
    "empty field": "judul:",
    "empty fields": "judul: pengarang: isbn: tahun: bahasa: format:",
    "field of a field": "judul:judul:sawah",
    "unknown field": "warna:merah",
    "bad year": "tahun:abc",
    "reversed year range": "tahun:9999-1",
    "huge year": "tahun:99999999999999999999",
    "negative year": "tahun:-5",
    "year range of nothing": "tahun:-",
    "year dots": "tahun:...",
    "year with letters": "year:20x0-2x10",
    "isbn nonsense": "isbn:----",
    "emoji only": "📚🙂👍🏽",
    "emoji with a word": "📚 sawah",
    "zero-width joiner emoji": "👩\u200d👩\u200d👧",
    "right-to-left text": "كتاب جديد عن الزراعة",
    "hebrew with RTL marks": "\u202eספר\u202c",
    "NUL bytes": "saw\x00ah\x00",
    "only NUL": "\x00\x00\x00",
    "SQL-ish": "' OR 1=1 --",
    "SQL comment": "sawah'; DROP TABLE records; --",
    "Lucene-ish": "title:(a OR b)^3~2",
    "Lucene range": "year:[1990 TO 2000]",
    "Lucene fuzzy": 'sawah~ hijau~0.8 "sawah hijau"~5',
    "regex": ".*(a+)+$",
    "control characters": "\x01\x02\x03\x07\x08\x1b[31msawah\x7f",
    "newlines and tabs": "sawah\n\thijau\r\n",
    "lone surrogate": "\ud800sawah",
    "combining characters": "s\u0301\u0301\u0301awah",
    "200 words": " ".join(f"kata{n}" for n in range(200)),
    "200 real words": " ".join(["sawah", "hijau", "desa", "padi"] * 50),
    "200 ORs": " OR ".join(["sawah"] * 200),
    "200 prefixes": " ".join(f"{chr(97 + n % 26)}{chr(97 + n // 26 % 26)}*" for n in range(200)),
    "200 NOTs": " ".join(f"-kata{n}" for n in range(200)) + " sawah",
    "long phrase": '"' + " ".join(["sawah"] * 300) + '"',
    "html": "<script>alert(1)</script>",
    "percent encoding": "%00%27%22",
    "backslashes": "\\\\\\ sawah\\",
    "just spaces": "     ",
    "empty": "",
    "only stopwords": "yang dan di the of",
    "japanese": "草枕夏目漱石",
    "mixed scripts": "sawah草كتاب",
    "colons": ":::",
    "field colon only": ":sawah",
    "hyphens": "- - - sawah-",
    "format nonsense": "format:exe",
    "ddc nonsense": "ddc:../../etc",
}


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    folder = tmp_path_factory.mktemp("books")
    built = build_library(
        folder,
        [
            book_epub(
                folder,
                "sawah",
                title="Sawah Hijau",
                authors=("Siti Rahayu",),
                chapters=("Hamparan sawah hijau di desa.", "Petani menanam padi.", "kata1 kata2 OR 1=1"),
            ),
            book_pdf(folder, "kebun", title="Kebun", author="Budi", pages=("Kebun sayur di desa.", "Pupuk kompos.")),
            book_epub(folder, "arab", title="كتاب", language="ar", chapters=("كتاب جديد عن الزراعة",)),
        ],
    )
    yield built
    built.index.close()


def _check(result: dict) -> None:
    assert isinstance(result, dict)
    assert isinstance(result["total"], int) and result["total"] >= 0
    assert isinstance(result["hits"], list)
    assert len(result["hits"]) <= result["total"]
    past_the_end = result["page"] > max(result["pages"], 1)  # an empty page past the last says enough
    assert result["hits"] or result["message"] or past_the_end, "no hits and no message"
    assert set(result["facets"]) == {"language", "format", "ddc_class", "year", "availability"}


@pytest.mark.parametrize("query", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_query_gives_results_or_a_message_quickly(library, query):
    started = time.monotonic()
    result = library.search(query)
    elapsed = time.monotonic() - started
    _check(result)
    assert elapsed < 2.0, f"took {elapsed:.2f} s"


@pytest.mark.parametrize("query", ["title:(a OR b)^3~2", "' OR 1=1 --", "tahun:9999-1", "((((", '"""'])
@pytest.mark.parametrize("sort", ["relevance", "title", "newest", "year", "'; DROP"])
def test_hostile_queries_with_every_sort_and_odd_pages(library, query, sort):
    for page, page_size in ((1, 10), (2, 1), (10**9, 10**9), (-5, -5), (0, 0)):
        _check(library.search(query, sort=sort, page=page, page_size=page_size))


@pytest.mark.parametrize(
    "filters",
    [
        (("year", "abc"),),
        (("year", "99999999999999999999999"),),
        (("language", ""),),
        (("language", "\x00"),),
        (("nonsense", "x"),),
        (("format", "' OR 1=1 --"),),
        (("ddc_class", "📚"),),
        (("availability", None),),
    ],
)
def test_hostile_filters(library, filters):
    _check(library.search("sawah", filters=filters))


def test_a_search_still_works_after_the_hostile_ones(library):
    for query in HOSTILE.values():
        library.search(query)
    result = library.search("sawah")
    assert [hit["title"] for hit in result["hits"]] == ["Sawah Hijau"]


def test_the_query_is_echoed_not_interpreted(library):
    result = library.search("<script>alert(1)</script>")
    assert result["query"] == "<script>alert(1)</script>"


def test_a_very_long_query_still_finds_what_its_start_asks_for(library):
    result = library.search("sawah " + "x" * 10_000)
    assert result["total"] >= 0
    result = library.search("sawah " * 2_000)
    assert [hit["title"] for hit in result["hits"]] == ["Sawah Hijau"]

"""The query syntax, stemming, filters, facets, sorting, pages and suggestions, on a small
library of generated books whose every word is known."""

from __future__ import annotations

import pytest

from catalog import db, search
from tests.catalog.search.library import book_epub, book_pdf, build_library, importer

HIT_KEYS = {"id", "title", "subtitle", "authors", "language", "year", "format", "score", "snippets", "more_matches"}
FACETS = ("language", "format", "ddc_class", "year", "availability")


def _books(folder):
    return [
        book_epub(
            folder,
            "gemar-membaca",
            title="Gemar Membaca di Desa",
            authors=("Siti Rahayu",),
            isbn="978-602-8519-93-9",
            subjects=("Literasi", "Perpustakaan"),
            publisher="Penerbit Nusantara",
            date="2019-05-01",
            description="Kisah taman bacaan warga yang tumbuh dari sebuah lemari kecil.",
            chapters=(
                "Setiap sore anak-anak desa membaca buku cerita di perpustakaan kampung.",
                "Sawah di belakang balai desa luas sekali dan petani bekerja sejak subuh.",
                "Daun padi yang hijau bergoyang ditiup angin dari arah gunung.",
            ),
        ),
        book_epub(
            folder,
            "bentuk-baca",
            title="Dongeng Sebelum Tidur",
            chapters=("Ayo baca buku dongeng kancil bersama adik sebelum tidur.",),
        ),
        book_epub(
            folder,
            "bentuk-dibaca",
            title="Kabar Pagi",
            chapters=("Koran pagi sudah dibaca kakek di beranda rumah panggung.",),
        ),
        book_epub(
            folder,
            "bentuk-pembacaan",
            title="Malam Puisi",
            chapters=("Pembacaan puisi diadakan setiap bulan oleh karang taruna.",),
        ),
        book_epub(
            folder,
            "kebun-sayur",
            title="Kebun Sayur Keluarga",
            authors=("Budi Santoso",),
            isbn="978-0-306-40615-7",
            subjects=("Pertanian",),
            publisher="Pustaka Tani",
            date="2012",
            chapters=(
                "Menanam cabai dan tomat di pekarangan rumah tidak sulit bagi warga desa.",
                "Pupuk kompos dibuat dari sisa dapur.",
            ),
        ),
        book_epub(
            folder,
            "catatan-nelayan",
            title="Catatan Nelayan",
            authors=("Wayan Sudarta",),
            subjects=("Perikanan",),
            date="2015-08-17",
            chapters=(
                "Bu Rahayu bercerita tentang kebun kecil di tepi pantai.",
                "Hasil tangkapan ikan dijual di pasar pagi.",
            ),
        ),
        book_epub(
            folder,
            "village-library",
            title="The Village Library",
            authors=("Mary Collins",),
            language="en",
            date="2001-03-04",
            chapters=(
                "The library opens every morning and lends books to farmers.",
                "Children borrow picture books on Saturdays.",
            ),
        ),
        book_epub(
            folder,
            "city-libraries",
            title="Reading Rooms of Old Towns",
            authors=("John Harper",),
            language="en",
            date="1998",
            chapters=(
                "Public libraries in harbour cities kept ledgers of every loan, as did the desa reading rooms.",
                "After closing time the clerks met at the Café Merdeka near the harbour.",
            ),
        ),
        book_epub(
            folder,
            "lima-bab",
            title="Pohon Serba Guna",
            chapters=tuple(
                f"Bagian {n}: pohon kelapa memberi {n} manfaat." for n in ("satu", "dua", "tiga", "empat", "lima")
            ),
        ),
        book_epub(
            folder,
            "kasih-ibu",
            title="Kasih Ibu",
            chapters=("Mata ibu berbinar melihat tetangga datang membawa hasil panen.",),
        ),
        book_epub(
            folder,
            "ibrani",
            title="ספר הכפר",
            language="he",
            chapters=("ספר חדש על חקלאות בכפר",),
        ),
        book_epub(
            folder,
            "jerman",
            title="Einführung in die Geometrie",
            language="de",
            chapters=("Die Einführung in die Geometrie beginnt mit Punkten und Geraden in der Ebene.",),
        ),
        book_pdf(
            folder,
            "panduan-tani",
            title="Panduan Bertani",
            author="Dinas Pertanian",
            pages=(
                "Di desa ini para petani menanam padi dan jagung dengan cara yang ramah lingkungan. Hamparan sawah"
                " hijau terlihat dari jalan desa. Mereka bekerja sama dengan dinas perikanan untuk kolam ikan"
                " yang ada di pinggir sawah, dan hasilnya dijual ke pasar.",
                "Pada musim hujan penanaman dilakukan bersama oleh kelompok tani. Air dari sungai dialirkan ke"
                " petak-petak sawah oleh warga desa yang bergotong royong, dan tidak ada yang dibiarkan kering"
                " karena semua ikut menjaga saluran itu.",
            ),
        ),
    ]


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    folder = tmp_path_factory.mktemp("books")
    built = build_library(folder, _books(folder))
    ids = built.ids
    # What only a librarian (the database) can say: DDC numbers, a licence, when each was added.
    with built.connect() as connection:
        with db.transaction(connection):
            for name, ddc in (("gemar-membaca", "027.8"), ("kebun-sayur", "635.0"), ("catatan-nelayan", "639.2")):
                connection.execute("UPDATE records SET ddc = ? WHERE id = ?", (ddc, ids[name]))
            connection.execute("UPDATE records SET licence = 'lending' WHERE id = ?", (ids["city-libraries"],))
            for name, added in (
                ("panduan-tani", "2023-01-01T00:00:00Z"),
                ("gemar-membaca", "2024-01-01T00:00:00Z"),
                ("kebun-sayur", "2025-06-01T00:00:00Z"),
                ("city-libraries", "2026-01-01T00:00:00Z"),
            ):
                connection.execute("UPDATE records SET created_at = ? WHERE id = ?", (added, ids[name]))
        search.index_records(built.index, connection, ids.values())
    yield built
    built.index.close()


# --- words, phrases, prefixes ------------------------------------------------------------------


def test_result_shape(library):
    result = library.search("kelapa")
    assert result["total"] == 1
    assert (result["page"], result["pages"]) == (1, 1)
    assert result["message"] is None
    [hit] = result["hits"]
    assert set(hit) >= HIT_KEYS
    assert hit["id"] == library.ids["lima-bab"]
    assert hit["title"] == "Pohon Serba Guna"
    assert hit["format"] == "epub"
    assert set(result["facets"]) == set(FACETS)


def test_a_book_with_many_matching_chapters_shows_three_and_counts_the_rest(library):
    [hit] = library.search("kelapa")["hits"]
    units = library.units("lima-bab")
    assert len(hit["snippets"]) == 3
    assert hit["more_matches"] == 2
    assert len({snippet["chapter"] for snippet in hit["snippets"]}) == 3
    for snippet in hit["snippets"]:
        assert {"text", "highlights", "chapter", "label"} <= set(snippet)
        unit = units[snippet["chapter"]]
        assert snippet["label"] == unit["label"]
        assert snippet["text"].strip(" …") in " ".join(unit["text"].split())
        assert [snippet["text"][a:b] for a, b in snippet["highlights"]] == ["kelapa"]


def test_words_are_anded_across_the_whole_book(library):
    assert library.found("sawah hijau") == {"gemar-membaca", "panduan-tani"}  # chapters 2 and 3 of gemar-membaca
    assert library.found("kancil koran") == set()
    assert library.found("kancil AND buku") == {"bentuk-baca"}
    assert library.found("kancil DAN buku") == {"bentuk-baca"}


def test_a_phrase_needs_its_words_together(library):
    assert library.found('"sawah hijau"') == {"panduan-tani"}
    [hit] = library.search('"sawah hijau"')["hits"]
    [snippet] = hit["snippets"]
    assert snippet["page"] == 1
    highlighted = [snippet["text"][a:b].lower() for a, b in snippet["highlights"]]
    assert "sawah" in highlighted and "hijau" in highlighted


def test_curly_quotes_make_a_phrase_too(library):
    assert library.found("\u201csawah hijau\u201d") == {"panduan-tani"}


def test_prefix_finds_longer_words_and_highlights_them(library):
    # (`perpustakaan` also finds `Pustaka`, its root, in kebun-sayur's publisher: as the whole word does)
    assert "gemar-membaca" in library.found("perpus*")
    assert library.found("perpus*") == library.found("perpustakaan")
    [hit] = [hit for hit in library.search("perpus*")["hits"] if hit["id"] == library.ids["gemar-membaca"]]
    assert any(snippet["text"][a:b] == "perpustakaan" for snippet in hit["snippets"] for a, b in snippet["highlights"])
    assert library.found("kelap*") == {"lima-bab"}


@pytest.mark.parametrize(("partial", "book"), [("perpus", "gemar-membaca"), ("nelay", "catatan-nelayan")])
def test_a_partial_word_of_five_letters_or_more_finds_the_words_it_begins(library, partial, book):
    assert book in library.found(partial)
    assert library.found(partial) == library.found(partial + "*")


# --- fields ------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["judul", "title", "JUDUL"])
def test_title_field(library, field):
    assert library.found("kebun") == {"kebun-sayur", "catatan-nelayan"}
    assert library.found(f"{field}:kebun") == {"kebun-sayur"}
    assert library.found(f'{field}:"sayur keluarga"') == {"kebun-sayur"}


def test_title_matches_rank_first(library):
    hits = library.search("kebun")["hits"]
    assert [hit["id"] for hit in hits] == [library.ids["kebun-sayur"], library.ids["catatan-nelayan"]]


@pytest.mark.parametrize("field", ["pengarang", "penulis", "author"])
def test_author_field(library, field):
    assert library.found("rahayu") == {"gemar-membaca", "catatan-nelayan"}
    assert library.found(f"{field}:rahayu") == {"gemar-membaca"}
    assert library.found(f'{field}:"siti rahayu"') == {"gemar-membaca"}


@pytest.mark.parametrize("field", ["subjek", "subject", "topik"])
def test_subject_field(library, field):
    assert "panduan-tani" in library.found("perikanan")  # in its text
    assert library.found(f"{field}:perikanan") == {"catatan-nelayan"}


@pytest.mark.parametrize("field", ["penerbit", "publisher"])
def test_publisher_field(library, field):
    assert "gemar-membaca" in library.found("pustaka")  # perpustakaan -> pustaka
    assert library.found(f"{field}:pustaka") == {"kebun-sayur"}


def test_plain_words_search_every_metadata_field(library):
    assert library.found("nusantara") == {"gemar-membaca"}  # publisher
    assert library.found("lemari") == {"gemar-membaca"}  # description
    assert library.found("literasi") == {"gemar-membaca"}  # subject
    assert library.found("sudarta") == {"catatan-nelayan"}  # author


@pytest.mark.parametrize(
    "query",
    [
        "isbn:978-602-8519-93-9",
        "isbn:9786028519939",
        "ISBN:978-602-8519-93-9",
        "9786028519939",
        "978-602-8519-93-9",
    ],
)
def test_isbn_is_found_exactly_with_or_without_hyphens(library, query):
    assert library.found(query) == {"gemar-membaca"}


def test_isbn_is_exact_not_a_prefix(library):
    assert library.found("isbn:978602851993") == set()
    assert library.found("isbn:9780306406157") == {"kebun-sayur"}


@pytest.mark.parametrize("field", ["bahasa", "lang", "language"])
def test_language_field(library, field):
    assert library.found(f"{field}:en") == {"village-library", "city-libraries"}
    assert library.found(f"{field}:en-US") == {"village-library", "city-libraries"}
    indonesian = library.found(f"{field}:id")
    assert "panduan-tani" in indonesian  # no language metadata: detected from its text
    assert indonesian == set(library.ids) - {"village-library", "city-libraries", "ibrani", "jerman"}
    assert library.found(f"{field}:he") == {"ibrani"}


def test_format_field(library):
    assert library.found("format:pdf") == {"panduan-tani"}
    assert library.found("format:PDF") == {"panduan-tani"}
    assert library.found("format:epub") == set(library.ids) - {"panduan-tani"}
    assert library.found("desa format:epub") == {"gemar-membaca", "kebun-sayur", "city-libraries"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tahun:2012", {"kebun-sayur"}),
        ("year:2019", {"gemar-membaca"}),
        ("tahun:2010-2016", {"kebun-sayur", "catatan-nelayan"}),
        ("year:2010..2016", {"kebun-sayur", "catatan-nelayan"}),
        ("tahun:1990–2005", {"village-library", "city-libraries"}),
        ("tahun:2016-2010", {"kebun-sayur", "catatan-nelayan"}),
        ("tahun:2016-", {"gemar-membaca"}),
        ("tahun:..2000", {"city-libraries"}),
        ("tahun:2000-2001 library", {"village-library"}),
        ("tahun:1800", set()),
    ],
)
def test_year_and_year_ranges(library, query, expected):
    assert library.found(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ddc:635", {"kebun-sayur"}),
        ("kelas:635.0", {"kebun-sayur"}),
        ("ddc:63", {"kebun-sayur", "catatan-nelayan"}),
        ("ddc:027.8", {"gemar-membaca"}),
        ("ddc:5", set()),
    ],
)
def test_ddc_field_matches_a_number_and_its_subdivisions(library, query, expected):
    assert library.found(query) == expected


# --- OR and NOT --------------------------------------------------------------------------------


@pytest.mark.parametrize("operator", ["OR", "ATAU", "|"])
def test_or(library, operator):
    assert library.found(f"kancil {operator} koran") == {"bentuk-baca", "bentuk-dibaca"}


def test_or_binds_tighter_than_and(library):
    assert library.found("buku kancil OR koran") == {"bentuk-baca"}
    assert library.found("desa kebun OR nelayan") == {"kebun-sayur"}


@pytest.mark.parametrize("query", ["buku -kancil", "buku NOT kancil", "buku BUKAN kancil"])
def test_not(library, query):
    assert library.found("buku") == {"gemar-membaca", "bentuk-baca"}
    assert library.found(query) == {"gemar-membaca"}


@pytest.mark.parametrize("query", ['desa NOT "sawah hijau"', 'desa BUKAN "sawah hijau"', 'desa -"sawah hijau"'])
def test_not_a_phrase(library, query):
    # only panduan-tani has the phrase; gemar-membaca has both words, apart
    assert library.found(query) == {"gemar-membaca", "kebun-sayur", "city-libraries"}


def test_not_a_field(library):
    assert library.found("desa -format:pdf") == {"gemar-membaca", "kebun-sayur", "city-libraries"}
    assert library.found("desa NOT judul:kebun") == {"gemar-membaca", "panduan-tani", "city-libraries"}
    assert library.found("desa -judul:kebun") == {"gemar-membaca", "panduan-tani", "city-libraries"}
    assert library.found("desa -tahun:2010-2020") == {"panduan-tani", "city-libraries"}


def test_only_negative_words_is_an_empty_query_not_an_error(library):
    result = library.search("-kancil")
    assert (result["total"], result["hits"], result["message"]) == (0, [], "empty-query")


# --- filters, facets, sorting, pages -----------------------------------------------------------


def _facet(result, name):
    return {item["value"]: item["count"] for item in result["facets"][name]}


def test_facets_count_books_not_pages(library):
    result = library.search("desa")  # twice in gemar-membaca and in panduan-tani
    assert result["total"] == 4
    assert _facet(result, "language") == {"id": 3, "en": 1}
    assert _facet(result, "format") == {"epub": 3, "pdf": 1}
    assert _facet(result, "year") == {2019: 1, 2012: 1, 1998: 1, None: 1}
    assert _facet(result, "ddc_class") == {"000": 1, "600": 1, "none": 2}
    assert _facet(result, "availability") == {"open": 3, "licensed": 1}


def test_facets_cover_every_match_not_only_the_page(library):
    result = library.search("desa", page_size=1)
    assert len(result["hits"]) == 1
    assert sum(item["count"] for item in result["facets"]["format"]) == 4


def test_facet_values_are_sorted_by_count(library):
    for name in FACETS:
        counts = [item["count"] for item in library.search("desa")["facets"][name]]
        assert counts == sorted(counts, reverse=True)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ((("language", "id"),), {"gemar-membaca", "kebun-sayur", "panduan-tani"}),
        ((("language", "en"),), {"city-libraries"}),
        ((("format", "pdf"),), {"panduan-tani"}),
        ((("year", "2019"),), {"gemar-membaca"}),
        ((("ddc_class", "600"),), {"kebun-sayur"}),
        ((("availability", "licensed"),), {"city-libraries"}),
        ((("availability", "open"),), {"gemar-membaca", "kebun-sayur", "panduan-tani"}),
        ((("language", "id"), ("format", "epub")), {"gemar-membaca", "kebun-sayur"}),
        ((("language", "fr"),), set()),
    ],
)
def test_filters(library, filters, expected):
    assert library.found("desa", filters=filters) == expected
    result = library.search("desa", filters=filters)
    assert result["total"] == len(expected)
    assert result["pages"] == (1 if expected else 0)
    assert sum(item["count"] for item in result["facets"]["language"]) == len(expected)
    if not expected:
        assert result["message"] == "no-results"


def test_sort_by_title(library):
    hits = library.search("desa", sort="title")["hits"]
    assert [hit["title"] for hit in hits] == [
        "Gemar Membaca di Desa",
        "Kebun Sayur Keluarga",
        "Panduan Bertani",
        "Reading Rooms of Old Towns",
    ]


def test_sort_newest_added_first(library):
    hits = library.search("desa", sort="newest")["hits"]
    names = {record_id: name for name, record_id in library.ids.items()}
    assert [names[hit["id"]] for hit in hits] == ["city-libraries", "kebun-sayur", "gemar-membaca", "panduan-tani"]


def test_unknown_sort_falls_back_to_relevance(library):
    assert library.search("kebun", sort="nonsense")["hits"] == library.search("kebun")["hits"]


def test_pagination(library):
    everything = [hit["id"] for hit in library.search("desa")["hits"]]
    first = library.search("desa", page_size=3)
    second = library.search("desa", page_size=3, page=2)
    assert (first["total"], first["pages"], first["page"]) == (4, 2, 1)
    assert (second["total"], second["pages"], second["page"]) == (4, 2, 2)
    assert [hit["id"] for hit in first["hits"]] + [hit["id"] for hit in second["hits"]] == everything
    assert len(second["hits"]) == 1


def test_a_page_past_the_last_is_empty(library):
    result = library.search("desa", page_size=3, page=5)
    assert result["total"] == 4
    assert result["hits"] == []


def test_page_size_is_bounded(library):
    result = library.search("desa", page_size=0, page=0)
    assert result["page"] >= 1 and result["page_size"] >= 1
    assert len(library.search("desa", page_size=10_000)["hits"]) == 4


# --- "did you mean" ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("perpustakan", "perpustakaan"),
        ("nelayn", "nelayan"),
        ("pantai nelyan", "pantai nelayan"),
        ("libary", "library"),
    ],
)
def test_suggestion_for_a_misspelled_word(library, typed, meant):
    result = library.search(typed)
    assert result["suggestion"] == meant
    assert library.search(result["suggestion"])["total"] >= 1


@pytest.mark.parametrize("word", ["nelayan", "perpustakaan", "kelapa", "sawah hijau"])
def test_no_suggestion_for_a_correct_word(library, word):
    result = library.search(word)
    assert result["total"] >= 1
    assert result["suggestion"] is None


def test_no_suggestion_from_outside_the_collection(library):
    result = library.search("qwertyuiop")
    assert (result["total"], result["suggestion"], result["message"]) == (0, None, "no-results")


# --- languages ---------------------------------------------------------------------------------

BACA_BOOKS = {"gemar-membaca", "bentuk-baca", "bentuk-dibaca", "bentuk-pembacaan"}


@pytest.mark.parametrize("word", ["membaca", "baca", "dibaca", "pembacaan", "Membaca", "MEMBACA"])
def test_indonesian_words_find_every_form_of_their_root(library, word):
    assert library.found(word) == BACA_BOOKS


def test_the_snippet_highlights_the_form_in_the_text(library):
    hits = {hit["id"]: hit for hit in library.search("membaca")["hits"]}
    [snippet] = hits[library.ids["bentuk-pembacaan"]]["snippets"]
    assert [snippet["text"][a:b] for a, b in snippet["highlights"]] == ["Pembacaan"]
    [snippet] = hits[library.ids["bentuk-dibaca"]]["snippets"]
    assert [snippet["text"][a:b] for a, b in snippet["highlights"]] == ["dibaca"]


@pytest.mark.parametrize("word", ["libraries", "library", "Library"])
def test_english_words_find_their_other_forms(library, word):
    assert library.found(word) == {"village-library", "city-libraries"}


@pytest.mark.parametrize("word", ["cafe", "Café", "CAFÉ", "café"])
def test_accents_and_case_fold(library, word):
    assert library.found(word) == {"city-libraries"}


@pytest.mark.parametrize("query", ["ספר", "חקלאות", '"ספר חדש"', "ספר חדש"])
def test_words_of_other_scripts_are_found_as_written(library, query):
    assert library.found(query) == {"ibrani"}


@pytest.mark.parametrize("query", ["Einführung", "einfuhrung", "EINFÜHRUNG", '"Punkten und Geraden"'])
def test_a_book_in_a_language_without_a_stemmer_is_found_by_its_words(library, query):
    assert library.found(query) == {"jerman"}


@pytest.mark.parametrize("query", ['"Einführung in die Geometrie"', '"Punkten und Geraden in der"'])
def test_a_phrase_with_an_english_function_word_in_a_book_of_another_language(library, query):
    # `in` is an English stopword, but this is a German book whose words are all indexed
    hits = library.found(query)
    assert hits == {"jerman"}


def test_an_indonesian_book_without_language_metadata_is_stemmed_as_indonesian(library):
    # page 1 says `menanam`, page 2 `penanaman`: only an Indonesian stemmer takes them to `tanam`
    assert library.found("ditanam") == {"panduan-tani", "kebun-sayur"}  # kebun-sayur: `Menanam`
    assert library.found("tanam") == {"panduan-tani", "kebun-sayur"}
    assert library.found("gotong") == {"panduan-tani"}  # `bergotong`
    assert _facet(library.search("format:pdf"), "language") == {"id": 1}


@pytest.mark.parametrize(("query", "book"), [("ditanam", "panduan-tani"), ("tanam", "kebun-sayur")])
def test_every_place_a_stemmed_word_matches_gets_a_snippet(library, query, book):
    # `menanam` and `penanaman` (meN-/peN- turn the t of `tanam` into n) are found by `tanam`;
    # each page that matched must be shown with the word highlighted, not only counted
    [hit] = [hit for hit in library.search(query)["hits"] if hit["id"] == library.ids[book]]
    highlighted = {snippet["text"][a:b].lower() for snippet in hit["snippets"] for a, b in snippet["highlights"]}
    if book == "panduan-tani":
        assert {snippet["page"] for snippet in hit["snippets"]} == {1, 2}
        assert highlighted == {"menanam", "penanaman"}
    else:
        assert highlighted == {"menanam"}
    assert hit["more_matches"] == 0


@pytest.mark.parametrize("query", ["ibu", "Ibu", "judul:ibu", "mata", '"kasih ibu"'])
def test_indonesian_content_words_are_searchable(library, query):
    # `ibu` (mother) and `mata` (eye) are in Sastrawi's function-word list, but they are the
    # words of titles like this one and what readers type
    assert library.found(query) == {"kasih-ibu"}


def test_stopwords_alone_are_an_empty_query(library):
    for query in ("yang", "dan di", "the of"):
        result = library.search(query)
        assert (result["total"], result["message"]) == (0, "empty-query"), query


# --- the index keeps in step with imports ------------------------------------------------------


def test_an_imported_book_is_found_at_once(library, tmp_path):
    new = book_epub(
        tmp_path, "buku-baru", title="Zamrud Khatulistiwa", chapters=("Pulau-pulau zamrud berjajar di khatulistiwa.",)
    )
    assert library.found("zamrud") == set()
    [outcome] = importer(library.datadir, library.index).run([new])
    assert outcome.status == "imported"
    library.ids["buku-baru"] = outcome.record_id
    assert library.found("zamrud") == {"buku-baru"}
    assert library.found("khatulistiwa") == {"buku-baru"}
    with library.connect() as connection:
        assert search.ensure_index(library.index, connection) == "ok"

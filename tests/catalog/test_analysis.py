"""Search analysis: a query word finds its other forms, in Indonesian and English."""

from __future__ import annotations

import pytest

from catalog.search.analysis import detect_language, query_variants, terms


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("membaca", "baca"),
        ("membaca", "dibaca"),
        ("membaca", "pembacaan"),
        ("perpustakaan", "pustaka"),
        ("kebudayaan", "berbudaya"),
        ("menulis", "tulisan"),
        ("anak-anak", "anak"),
    ],
)
def test_indonesian_words_meet_at_their_root(query, text):
    assert terms(query, "id") == terms(text, "id")


@pytest.mark.parametrize(("query", "text"), [("libraries", "library"), ("reading", "reads"), ("Café", "cafe")])
def test_english_words_meet_at_their_stem(query, text):
    assert terms(query, "en") == terms(text, "en")


def test_an_english_stemmer_never_touches_indonesian_text():
    assert terms("menulis", "id") == ["tulis"]
    assert terms("menulis", "en") != ["tulis"]  # why the chain is chosen per book


def test_function_words_are_dropped_but_content_words_kept():
    assert terms("yang dan di akhir tahun", "id") == ["akhir", "tahun"]
    assert terms("the history of the library", "en") == ["histori", "librari"]


def test_case_and_accents_fold_in_every_language():
    for language in ("id", "en", "fr", None):
        assert terms("CAFÉ Régime", language) == terms("cafe regime", language)


def test_scripts_without_spaces_are_split_into_characters():
    assert terms("草枕", "ja") == ["草", "枕"]
    assert terms("كتاب جديد", "ar") == ["كتاب", "جديد"]
    assert terms("ספר", "he") == ["ספר"]


def test_language_tags_choose_the_chain():
    assert terms("membaca", "id-ID") == ["baca"]
    assert terms("membaca", "in") == ["baca"]  # the old code for Indonesian
    assert terms("membaca", "fr") == ["membaca"]


def test_a_query_word_covers_the_terms_of_every_chain():
    assert {"membaca", "baca"} <= query_variants("Membaca")
    assert "librari" in query_variants("libraries")
    assert set(terms("Pembacaan", "id")) <= query_variants("membaca")
    assert set(terms("Libraries", "en")) <= query_variants("library")
    assert set(terms("Café", "fr")) <= query_variants("cafe")


def test_language_is_detected_from_text_when_metadata_lacks_it():
    indonesian = (
        "Setiap orang berhak atas perlindungan diri pribadi, keluarga, kehormatan, dan martabat yang dimiliki. " * 3
    )
    english = "The whale is the largest of the animals that live in the sea, and it is hunted by the sailors. " * 3
    assert detect_language(indonesian) == "id"
    assert detect_language(english) == "en"
    assert detect_language("草枕 " * 50) is None
    assert detect_language("kurang") is None

"""Search analysis: a query word finds its other forms, in Indonesian and English."""

from __future__ import annotations

import pickle

import pytest

from catalog.search.analysis import analyzer_for, indonesian_analyzer, terms


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


def test_case_and_accents_fold_in_every_language():
    for language in ("id", "en", "fr", None):
        assert terms("CAFÉ", language) == terms("cafe", language)


def test_scripts_without_spaces_are_split_into_characters():
    assert terms("草枕", "ja") == ["草", "枕"]
    assert terms("草枕", None) == ["草", "枕"]
    assert terms("كتاب جديد", "ar") == ["كتاب", "جديد"]
    assert terms("ספר", "he") == ["ספר"]


def test_language_tags_choose_the_chain():
    assert terms("membaca", "id-ID") == ["baca"]
    assert terms("membaca", "in") == ["baca"]  # the old code for Indonesian
    assert terms("membaca", "fr") == ["membaca"]


def test_analyzers_survive_pickling_into_an_index():
    restored = pickle.loads(pickle.dumps(indonesian_analyzer()))  # noqa: S301 - our own bytes, as Whoosh does
    assert [token.text for token in restored("membaca buku")] == ["baca", "buku"]
    assert len(pickle.dumps(analyzer_for("id"))) < 20_000  # no stemmer dictionary inside

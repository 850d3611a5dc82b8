"""Snippets are cut around the words the index found, by their positions on the page."""

from __future__ import annotations

from catalog.search.analysis import terms
from catalog.search.snippets import snippet, snippet_at


def _highlighted(found: dict) -> list[str]:
    return [found["text"][start:end] for start, end in found["highlights"]]


def test_positions_count_the_words_the_index_kept():
    text = "Dia membaca buku yang dibaca oleh Ibu."
    indexed = terms(text, "id")  # stopwords (dia, yang, oleh) have no position in the index
    positions = {position: term for position, term in enumerate(indexed) if term == "baca"}
    assert sorted(positions) == [0, 2]
    found = snippet_at(text, positions, "id")
    assert _highlighted(found) == ["membaca", "dibaca"]
    assert found["text"] == text


def test_a_book_in_another_language_keeps_every_word_position():
    text = "Le chat et le chien"
    found = snippet_at(text, {4: "chien"}, None)
    assert _highlighted(found) == ["chien"]


def test_a_long_page_is_cut_to_a_window_around_the_match():
    words = [f"kata{number}" for number in range(200)]
    words[120] = "sawah"
    text = " ".join(words)
    found = snippet_at(text, {120: "sawah"}, "id")
    assert found["text"].startswith("… ") and found["text"].endswith(" …")
    assert _highlighted(found) == ["sawah"]
    assert len(found["text"].split()) < 40


def test_text_whose_folded_form_is_longer_falls_back_to_analysing_words():
    text = "İstanbul: anak-anak membaca di perpustakaan."
    assert snippet_at(text, {2: "baca"}, "id") is None  # `İ` folds to two characters
    found = snippet(text, {"baca"}, "id")
    assert _highlighted(found) == ["membaca"]

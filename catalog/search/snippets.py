"""Snippets: a short window of a page's original text around the words that matched."""

from __future__ import annotations

from catalog.search.analysis import TOKEN_PATTERN, fold, terms

WINDOW_WORDS = 28


def snippet(text: str, wanted: set[str], language: str | None) -> dict | None:
    """`{"text", "highlights"}` for the best window of *text*, or None if no word matches.

    `highlights` are `[start, end]` character offsets within the snippet's text.
    """
    tokens = list(TOKEN_PATTERN.finditer(text))
    if not tokens:
        return None
    hits = [index for index, match in enumerate(tokens) if _matches(match.group(), wanted, language)]
    if not hits:
        return None
    best_start, best_count = hits[0], 0
    for first in hits:
        count = sum(1 for index in hits if first <= index < first + WINDOW_WORDS)
        if count > best_count:
            best_start, best_count = first, count
    start_token = max(0, best_start - 6)
    end_token = min(len(tokens), start_token + WINDOW_WORDS) - 1
    start, end = tokens[start_token].start(), tokens[end_token].end()
    excerpt = text[start:end]
    highlights = [
        [tokens[index].start() - start, tokens[index].end() - start]
        for index in hits
        if start_token <= index <= end_token
    ]
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    shift = len(prefix)
    return {
        "text": prefix + " ".join(excerpt.split("\n")) + suffix,
        "highlights": [[a + shift, b + shift] for a, b in highlights],
    }


def _matches(word: str, wanted: set[str], language: str | None) -> bool:
    folded = fold(word)
    if folded in wanted:
        return True
    # A stem is (nearly always) inside the word it comes from (`dibaca` -> `baca`,
    # `libraries` -> `librari`), so only such words are worth the cost of stemming.
    if not any(term in folded for term in wanted if len(term) > 1):
        return False
    analysed = terms(word, language)
    return bool(analysed) and analysed[0] in wanted

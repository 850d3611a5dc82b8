"""Snippets: a short window of a page's original text around the words that matched.

The index knows where each term is on a page (its position among the page's words, less
stopwords), so `snippet_at` finds the matched words by counting words, with no stemming.
`snippet` matches by analysing the words instead: for the rare page whose folded text is
not as long as the text itself, where offsets in one do not fit the other.
"""

from __future__ import annotations

from itertools import islice

from catalog.search.analysis import (
    ENGLISH_STOPWORDS,
    TOKEN_PATTERN,
    fold,
    indonesian_stopwords,
    language_of,
    query_variants,
    terms,
)

WINDOW_WORDS = 28
_CLOSING = frozenset(".,;:!?)]}\"'”’»")
LEAD_WORDS = 6


def snippet_at(text: str, positions: dict[int, str], language: str | None) -> dict | None:
    """The snippet around the words at *positions* (index position -> the term found there),
    or None when the positions cannot be placed in this text."""
    folded = fold(text)
    if len(folded) != len(text) or not positions:
        return None
    chain = language_of(language)
    stops = indonesian_stopwords() if chain == "id" else ENGLISH_STOPWORDS if chain == "en" else frozenset()
    # The words are counted in C (findall); match objects, with their offsets, are made
    # only for the words of the window.
    found = TOKEN_PATTERN.findall(folded)
    indexed = [number for number, word in enumerate(found) if word not in stops]
    matched = [(indexed[position], term) for position, term in sorted(positions.items()) if position < len(indexed)]
    return _window(text, len(found), lambda first, last: _tokens(folded, first, last), matched)


def snippet(text: str, wanted: set[str], language: str | None) -> dict | None:
    """`{"text", "highlights"}` for the best window of *text*, or None if no word matches.

    `highlights` are `[start, end]` character offsets within the snippet's text.
    """
    tokens = list(TOKEN_PATTERN.finditer(text))
    matched = [(index, _match(match.group(), wanted, language)) for index, match in enumerate(tokens)]
    return _window(
        text,
        len(tokens),
        lambda first, last: tokens[first : last + 1],
        [(index, key) for index, key in matched if key is not None],
    )


def _tokens(text: str, first: int, last: int) -> list:
    """The match objects of the words numbered *first* to *last* of *text*."""
    return list(islice(TOKEN_PATTERN.finditer(text), first, last + 1))


def _window(text: str, count: int, tokens_between, matched: list[tuple[int, str]]) -> dict | None:
    """The best window of *count* words; `tokens_between(first, last)` gives the match
    objects of words *first* to *last*."""
    if not matched:
        return None
    # The best window holds the most different query words, then the most matches; it
    # starts a few words before a match so the match reads in context.
    best_start, best_score = 0, (0, 0)
    for index, _key in matched:
        first = max(0, index - LEAD_WORDS)
        inside = [key for position, key in matched if first <= position < first + WINDOW_WORDS]
        score = (len(set(inside)), len(inside))
        if score > best_score:
            best_start, best_score = first, score
    start_token = best_start
    end_token = min(count, start_token + WINDOW_WORDS) - 1
    window = tokens_between(start_token, end_token)
    hits = [index for index, _ in matched]
    start, end = window[0].start(), window[-1].end()
    while end < len(text) and text[end] in _CLOSING:  # keep the full stop or quote after the last word
        end += 1
    excerpt = text[start:end]
    highlights = [
        [window[index - start_token].start() - start, window[index - start_token].end() - start]
        for index in hits
        if start_token <= index <= end_token
    ]
    prefix = "… " if start > 0 else ""
    suffix = " …" if text[end:].strip() else ""
    shift = len(prefix)
    return {
        "text": prefix + " ".join(excerpt.split("\n")) + suffix,
        "highlights": [[a + shift, b + shift] for a, b in highlights],
    }


def _match(word: str, wanted: set[str], language: str | None) -> str | None:
    """The query term this word of the text matches, or None."""
    folded = fold(word)
    if folded in wanted:
        return folded
    # A word shares at least the end of its stem (`dibaca` -> `baca`, `menanam` -> `tanam`,
    # `libraries` -> `librari`), so only such words are worth the cost of stemming.
    if not any(term[-3:] in folded for term in wanted if len(term) > 1):
        return None
    analysed = terms(word, language)
    return analysed[0] if analysed and analysed[0] in wanted else None


def marks(text: str, words: list[str], language: str | None) -> list[tuple[int, int]]:
    """Where in *text* the forms of *words* are (`membaca` marks `dibaca` too), as
    (start, end) character offsets: the reader highlights what a search found."""
    wanted = set()
    for word in words:
        wanted |= query_variants(word)
    wanted = {term for term in wanted if term and term not in indonesian_stopwords() and term not in ENGLISH_STOPWORDS}
    if not wanted:
        return []
    return [
        (token.start(), token.end())
        for token in TOKEN_PATTERN.finditer(text)
        if _match(token.group(), wanted, language) is not None
    ]

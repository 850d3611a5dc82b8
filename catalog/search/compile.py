"""The query tree (`query.py`) as Whoosh queries: one for records, one for pages/chapters."""

from __future__ import annotations

from whoosh import query as wq

from catalog.search.analysis import ENGLISH_STOPWORDS, fold, indonesian_stopwords, query_variants
from catalog.search.query import Any_, Not, Phrase, Query, Word, YearRange

GENERAL_FIELDS = ("meta", "content")
FIELD_TARGETS = {
    "title": ("title",),
    "author": ("authors",),
    "subject": ("subjects",),
    "publisher": ("publisher",),
}
PARTIAL_WORD_MIN = 5  # a word this long also finds longer words it begins (`perpus` -> `perpustakaan`)
MAX_PREFIX_EXPANSION = 24  # the most used words with the prefix; more cost time, rarely help


def is_stopword(word: str) -> bool:
    folded = fold(word)
    return folded in indonesian_stopwords() or folded in ENGLISH_STOPWORDS


def record_query(parsed: Query, vocabulary, partial: bool = False, books_with=None) -> wq.Query | None:
    """The query over record documents, or None when nothing searchable is left.

    With *partial*, words of five letters or more also find longer words they begin: the
    fallback for a query that found nothing as typed. The record documents hold a book's
    text without positions, so a phrase in the text is looked for in its pages/chapters:
    *books_with* turns that page query into a query for the books that have such a page.
    """
    context = _Context(vocabulary, partial, books_with)
    return _combine([_record_clause(clause, context) for clause in parsed.clauses])


def unit_query(parsed: Query, vocabulary, partial: bool = False) -> wq.Query | None:
    """The text-only part of the query, over page/chapter documents (for where the hits are)."""
    context = _Context(vocabulary, partial)
    parts = []
    for clause in parsed.clauses:
        items = clause.clauses if isinstance(clause, Any_) else (clause,)
        subqueries = [
            q for q in (_text_clause(item, "text", context) for item in items if _is_content(item)) if q is not None
        ]
        if subqueries:
            parts.append(wq.Or(subqueries))
    return wq.Or(parts) if parts else None


class _Context:
    def __init__(self, vocabulary, partial: bool, books_with=None) -> None:
        self.vocabulary = vocabulary
        self.partial = partial
        self.books_with = books_with
        self._prefixes: dict[str, list[str]] = {}

    def words_starting_with(self, text: str) -> list[str]:
        if self.vocabulary is None:
            return []
        if text not in self._prefixes:
            self._prefixes[text] = self.vocabulary.starting_with(fold(text), MAX_PREFIX_EXPANSION)
        return self._prefixes[text]


def has_partial_words(parsed: Query) -> bool:
    return any(len(word.text) >= PARTIAL_WORD_MIN and word.text.isalpha() for word in parsed.positive_words())


def _is_content(item) -> bool:
    return isinstance(item, Word | Phrase) and item.field is None


def _combine(parts: list) -> wq.Query | None:
    positives = [part for part in parts if part is not None and not isinstance(part, wq.Not)]
    negatives = [part for part in parts if isinstance(part, wq.Not)]
    if not positives:
        return None
    return wq.And(positives + negatives) if len(positives) + len(negatives) > 1 else positives[0]


def _record_clause(clause, context):
    if isinstance(clause, Not):
        inner = _record_clause(clause.clause, context)
        return wq.Not(inner) if inner is not None else None
    if isinstance(clause, Any_):
        options = [q for q in (_record_clause(item, context) for item in clause.clauses) if q is not None]
        return wq.Or(options) if options else None
    if isinstance(clause, YearRange):
        return wq.NumericRange("year", clause.start, clause.end)
    if isinstance(clause, Word) and clause.field in ("isbn", "language", "format", "ddc"):
        return _exact(clause)
    if clause.field in FIELD_TARGETS:
        options = [_text_clause(clause, field, context) for field in FIELD_TARGETS[clause.field]]
        options = [q for q in options if q is not None]
        return wq.Or(options) if options else None
    options = [q for q in (_text_clause(clause, field, context) for field in GENERAL_FIELDS) if q is not None]
    if isinstance(clause, Word) and any(character.isdigit() for character in clause.text):
        options.append(wq.Term("identifiers", fold(clause.text).replace("-", "")))  # an ISBN typed as a word
    return wq.Or(options) if options else None


def _exact(word: Word):
    value = fold(word.text)
    if word.field == "isbn":
        return wq.Term("identifiers", value.replace("-", "").replace(" ", ""))
    if word.field == "language":
        return wq.Term("language", value.split("-", 1)[0])
    if word.field == "format":
        return wq.Term("format", value)
    return wq.Or([wq.Term("ddc", value), wq.Prefix("ddc", value)])


def _text_clause(clause, field: str, context):
    if isinstance(clause, Phrase):
        # Function words are not in the index of Indonesian and English books; a book in
        # another language keeps them, so a phrase that drops some allows a word between.
        kept = [word for word in clause.words if not is_stopword(word)]
        steps = [_variants(field, word) for word in kept]
        if not steps:
            return None
        if len(steps) == 1:
            return steps[0]
        if field == "content":
            return context.books_with(_text_clause(clause, "text", context)) if context.books_with else None
        slop = 1 if len(kept) == len(clause.words) else 2
        return wq.Sequence(steps, slop=slop)
    if clause.prefix:
        return _expanded_prefix(field, clause.text, context)
    if is_stopword(clause.text):
        return None
    options = [_variants(field, clause.text)]
    if context.partial and len(clause.text) >= PARTIAL_WORD_MIN and clause.text.isalpha():
        options.append(_expanded_prefix(field, clause.text, context))
    return wq.Or([option for option in options if option is not None])


def _variants(field: str, word: str):
    terms = sorted(query_variants(word))
    return wq.Or([wq.Term(field, term) for term in terms]) if len(terms) > 1 else wq.Term(field, terms[0])


def _expanded_prefix(field: str, text: str, context: _Context):
    """Words of the collection that begin with *text*, as the terms they were indexed under."""
    matches = context.words_starting_with(text)
    terms = sorted({term for word in matches for term in query_variants(word)})
    if not terms:
        return None
    return wq.Or([wq.Term(field, term) for term in terms])

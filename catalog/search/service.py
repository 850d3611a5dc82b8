"""A search from end to end: parse, match records, count facets, find where in each book,
suggest a spelling. Returns the plain dictionary that `ebookserver search --json` and
`GET /api/v1/search` print."""

from __future__ import annotations

import dataclasses
import logging
import operator
import pickle
import sqlite3
import struct
import zlib
from collections import Counter

from whoosh import index as whoosh_index
from whoosh import query as wq

from catalog.search import columns, phrases, postings, within
from catalog.search import compile as compiler
from catalog.search.analysis import fold
from catalog.search.index import SearchIndex
from catalog.search.query import parse
from catalog.search.snippets import snippet, snippet_at

FACETS = ("language", "format", "ddc_class", "year", "availability")
SORTS = {"relevance": None, "title": ("title_sort", False), "newest": ("added", True), "year": ("year", True)}
MAX_PAGE_SIZE = 100
SNIPPETS_PER_HIT = 3
# What a damaged index raises: Whoosh's own errors, truncated or unpicklable files, SQLite.
INDEX_ERRORS = (
    whoosh_index.IndexError,
    OSError,
    EOFError,
    ValueError,
    KeyError,
    zlib.error,
    pickle.UnpicklingError,
    struct.error,
    sqlite3.DatabaseError,
)
log = logging.getLogger("ebookserver.search")
MIN_YEAR, MAX_YEAR = 0, 9999
SUGGEST_BELOW = 3  # offer "did you mean" when a query finds fewer books than this


@dataclasses.dataclass(frozen=True)
class SearchRequest:
    text: str
    page: int = 1
    page_size: int = 10
    sort: str = "relevance"
    filters: tuple[tuple[str, str], ...] = ()  # (facet, value), e.g. ("language", "id")


def search(index: SearchIndex, connection: sqlite3.Connection, request: SearchRequest) -> dict:
    """Run a search; a damaged index gives the message `index-unavailable`, never an exception."""
    try:
        return _search(index, connection, request)
    except INDEX_ERRORS:
        log.exception("search failed on a damaged index; `ebookserver reindex` rebuilds it")
        return {**_empty(request), "message": "index-unavailable"}


def _empty(request: SearchRequest) -> dict:
    return {
        "query": request.text,
        "total": 0,
        "page": max(request.page, 1),
        "page_size": min(max(request.page_size, 1), MAX_PAGE_SIZE),
        "pages": 0,
        "hits": [],
        "facets": {name: [] for name in FACETS},
        "suggestion": None,
        "partial_words": False,
        "message": None,
    }


def _search(index: SearchIndex, connection: sqlite3.Connection, request: SearchRequest) -> dict:
    empty = _empty(request)
    page, page_size = empty["page"], empty["page_size"]
    parsed = parse(request.text)
    with index.searchers() as searchers:
        if searchers is None:
            return {**empty, "message": "index-missing"}
        record_searcher, unit_searcher, vocabulary = searchers
        if record_searcher.doc_count() == 0:  # Whoosh cannot score in an empty index
            return {**empty, "message": "no-results"}
        size = getattr(index, "results_cached", RESULTS_CACHED)
        ranked = _ranked(searchers, parsed, request, page * page_size, size)
        if isinstance(ranked, str):
            return {**empty, "message": ranked}
        top_n, total, facets, partial = ranked
        wanted_units = compiler.unit_query(parsed, vocabulary, partial=partial)
        page_hits = [
            (record_searcher.stored_fields(docnum)["id"], _score(score))
            for score, docnum in top_n[(page - 1) * page_size : page * page_size]
        ]
        values: dict = {}
        places = _places(unit_searcher, [record_id for record_id, _ in page_hits], wanted_units, values)
        shown = [docnum for found in places.values() for _score, docnum, _stored in found[:SNIPPETS_PER_HIT]]
        positions = _positions(unit_searcher, shown, _unit_terms(wanted_units), values)
        hits = [
            {"id": int(record_id), "score": score, **_where(connection, places.get(record_id, []), positions)}
            for record_id, score in page_hits
        ]
        suggestion = _suggestion(vocabulary, parsed, request.text) if total < SUGGEST_BELOW else None
    _add_metadata(connection, hits)
    return {
        **empty,
        "total": total,
        "pages": (total + page_size - 1) // page_size,
        "hits": hits,
        "facets": {name: [dict(item) for item in items] for name, items in facets.items()},  # the cache's own
        "suggestion": suggestion,
        "partial_words": partial,
        "message": None if hits else ("no-results" if not total else "past-last-page"),
    }


# Ranked results kept per record searcher (a searcher sees one state of the index, so a commit
# or rebuild, which brings new searchers, also brings an empty cache): turning to page 2 of a
# search, going back to the results, or the same popular search again costs only the page's
# snippets. Bounded: RESULTS_CACHED searches (or the index's `results_cached`, from the setting
# `search_results_cached`), each with its first RANKS_CACHED books in order.
RESULTS_CACHED = 64
RANKS_CACHED = 1000


def _ranked(searchers, parsed, request: SearchRequest, needed: int, size: int):
    """(the best *needed* or more books as (score, docnum), the total, the facets, whether long
    words also found the longer words they begin), or a message when nothing can match. The
    last *size* searches are kept."""
    record_searcher, unit_searcher, vocabulary = searchers
    key = (request.text, tuple(request.filters), request.sort)
    cache = record_searcher.__dict__.setdefault("_ranked", {})
    found = cache.get(key)
    if found is not None and (len(found[0]) >= needed or len(found[0]) == found[1]):
        cache[key] = cache.pop(key)  # most recently used last
        return found
    filters = _filters(request.filters)
    partial = False
    books_with = _books_with(unit_searcher)
    compiled = compiler.record_query(parsed, vocabulary, books_with=books_with)
    if compiled is None:
        return "empty-query"
    if filters is not None and next(iter(record_searcher.docs_for_query(filters)), None) is None:
        # Whoosh ignores a filter that matches nothing; here it means no book can match.
        return "no-results"
    results = _matches(record_searcher, compiled, filters, request.sort)
    if not results.docs() and compiler.has_partial_words(parsed):
        # Nothing as typed: let long words also find the longer words they begin.
        partial = True
        compiled = compiler.record_query(parsed, vocabulary, partial=True, books_with=books_with)
        results = _matches(record_searcher, compiled, filters, request.sort)
    matched = results.docs()
    found = (list(results.top_n[: max(needed, RANKS_CACHED)]), len(matched), _facets(record_searcher, matched), partial)
    while cache and len(cache) >= size:
        del cache[next(iter(cache))]  # the least recently used
    if size:
        cache[key] = found
    return found


def _books_with(unit_searcher):
    """A function from a page/chapter query to a query for the books that have such pages."""

    def books_with(unit_query: wq.Query) -> wq.Query:
        steps = _phrase_steps(unit_query)
        if steps is not None:
            owners = phrases.phrase_owners(unit_searcher, steps, "text", unit_query.slop, "record_id")
            ids = {owner.decode("utf-8") if isinstance(owner, bytes) else owner for owner in owners}
            return postings.DocSetQuery("id", ids) if ids else wq.NullQuery
        documents = list(unit_searcher.docs_for_query(unit_query))
        if not documents:
            return wq.NullQuery
        owners = unit_searcher.reader().column_reader("record_id")
        record_ids = sorted({owners[document] for document in documents})
        ids = [record_id.decode("utf-8") if isinstance(record_id, bytes) else record_id for record_id in record_ids]
        return wq.ConstantScoreQuery(wq.Or([wq.Term("id", record_id) for record_id in ids]), 1.0)

    return books_with


def _phrase_steps(unit_query) -> list[list[str]] | None:
    """The terms each word of a phrase query may be, or None for another kind of query."""
    if type(unit_query) is not wq.Sequence or not unit_query.ordered or unit_query.boost != 1.0:
        return None
    steps = []
    for step in unit_query.subqueries:
        terms = [step] if isinstance(step, wq.Term) else step.subqueries if type(step) is wq.Or else None
        if terms is None or not all(type(term) is wq.Term and term.boost == 1.0 for term in terms):
            return None
        steps.append([term.text for term in terms])
    return steps


def _filters(filters) -> wq.Query | None:
    parts = []
    for name, value in filters:
        if name == "record":  # search inside one book
            parts.append(wq.Term("id", str(value)))
            continue
        if name not in FACETS or value in (None, ""):
            continue
        if name == "year":
            try:
                year = int(value)
            except ValueError:
                year = None
            if year is None or not MIN_YEAR <= year <= MAX_YEAR:
                parts.append(wq.NullQuery)  # no book has that year
                continue
            parts.append(wq.NumericRange("year", year, year))
        else:
            parts.append(wq.Term(name, str(value).lower()))
    return wq.And(parts) if parts else None


def _score(score) -> float:
    """Relevance; when sorted by another key Whoosh gives that key instead, so 0."""
    return round(score, 4) if isinstance(score, float) else 0.0


def _matches(searcher, compiled, filters, sort_name: str):
    """Every matching book in order, scored or sorted, in one pass of the query (its
    `docs()` are then counted for the total and the facets without matching again)."""
    sort = SORTS.get(sort_name)
    if sort is None:
        scores = postings.evaluate(searcher, compiled)
        if scores is not None:
            if filters is not None:
                allowed = _filter_docs(searcher, filters)
                scores = {docnum: score for docnum, score in scores.items() if docnum in allowed}
            return _Scored(scores)
    return searcher.search(
        compiled,
        limit=None,
        filter=filters,
        sortedby=sort[0] if sort else None,
        reverse=sort[1] if sort else False,
    )


class _Scored:
    """What `_search` uses of Whoosh's results: the matching documents, and all of them in
    order of score, best first (ties by document number, as Whoosh orders them)."""

    def __init__(self, scores: dict[int, float]) -> None:
        self.scores = scores
        self._docs = set(scores)
        ranked = sorted(zip(map(operator.neg, scores.values()), scores.keys(), strict=True))  # tuples compare in C
        self.top_n = [(-negated, docnum) for negated, docnum in ranked]

    def docs(self) -> set[int]:
        return self._docs


FILTER_CACHE_SIZE = 64


def _filter_docs(searcher, filters) -> set[int]:
    """The documents a filter allows, kept per searcher (filters are facet values: few)."""
    cache = searcher.__dict__.setdefault("_filter_docs", {})
    key = repr(filters)
    docs = cache.get(key)
    if docs is None:
        if len(cache) >= FILTER_CACHE_SIZE:
            cache.clear()
        docs = cache[key] = set(searcher.docs_for_query(filters))
    return docs


def _facets(searcher, documents) -> dict[str, list[dict]]:
    """Books per facet value among all matches."""
    if not documents:  # also spares an empty index's reader, which has no columns
        return {name: [] for name in FACETS}
    columns = _facet_columns(searcher)
    facets = {}
    for name in FACETS:
        counts = Counter(map(columns[name].__getitem__, documents))
        items = [{"value": _facet_value(name, key), "count": count} for key, count in counts.items()]
        facets[name] = sorted(items, key=lambda item: (-item["count"], str(item["value"])))
    return facets


def _facet_columns(searcher) -> dict[str, list]:
    """Each facet's value for every book, read once per searcher (a searcher sees one
    state of the index; a commit brings a new one)."""
    columns = getattr(searcher, "_facet_columns", None)
    if columns is None:
        reader = searcher.reader()
        columns = {name: list(reader.column_reader(name)) for name in FACETS}
        searcher._facet_columns = columns
    return columns


def _facet_value(name: str, key):
    if isinstance(key, bytes):
        key = key.decode("utf-8")
    if name == "year" and key in (-1, None):
        return None
    return key


def _unit_terms(wanted_units) -> list[str]:
    """The page/chapter terms a query looks for (its words' forms and prefix expansions)."""
    if wanted_units is None:
        return []
    found = {text for field, text in wanted_units.iter_all_terms() if field == "text"}
    return sorted(text.decode("utf-8") if isinstance(text, bytes) else text for text in found)


def _positions(
    unit_searcher, docnums: list[int], unit_terms: list[str], values: dict | None = None
) -> dict[int, dict[int, str]]:
    """Where on each of *docnums* the terms are: docnum -> {position: term}, from the
    postings: those `_places` read already (*values*), else only the blocks that hold the
    pages wanted."""
    found: dict[int, dict[int, str]] = {docnum: {} for docnum in docnums}
    ordered = sorted(found)
    for leaf, offset, local in within.leaf_parts(unit_searcher, ordered):
        if not local:
            continue
        decode = postings.decoder(leaf.schema["text"].format)
        for term in unit_terms:
            read = values.get(("text", term, offset)) if values else None
            if read is None:
                read = postings.term_postings_in(leaf.reader(), "text", term, local)
            for docnum in local:
                posting = read.get(docnum)
                if posting is None:
                    continue
                places = found[docnum + offset]
                for position in decode(posting[1]):
                    places[position] = term
    return found


def _places(
    unit_searcher, record_ids: list[str], wanted_units, values: dict | None = None
) -> dict[str, list[tuple[float, int, dict | None]]]:
    """For each book on the page, its pages/chapters that match the text query, best first
    (with the stored fields of the first `SNIPPETS_PER_HIT`, the ones shown).

    Each book's pages come from its id (a short posting list); the text query is then
    evaluated on those pages alone, reading only the blocks of its postings that hold
    them. The postings read are left in *values* for `_positions`.
    """
    if wanted_units is None or not record_ids:
        return {}
    owner = {}
    for offset, by_record in columns.documents_by_value(unit_searcher, "record_id"):
        for record_id in record_ids:
            for docnum in by_record.get(record_id, ()):
                owner[docnum + offset] = record_id
    found: dict[str, list[tuple[float, int]]] = {}
    scores = within.evaluate_in(unit_searcher, wanted_units, sorted(owner), values)
    if scores is not None:
        for docnum, score in sorted(scores.items()):
            found.setdefault(owner[docnum], []).append((score, docnum))
    else:
        matcher = wanted_units.matcher(unit_searcher, unit_searcher.context())
        for docnum in _matching(matcher, sorted(owner)):
            found.setdefault(owner[docnum], []).append((matcher.score(), docnum))
    return {
        record_id: [
            (score, docnum, unit_searcher.stored_fields(docnum) if number < SNIPPETS_PER_HIT else None)
            for number, (score, docnum) in enumerate(sorted(pairs, key=_best_first))
        ]
        for record_id, pairs in found.items()
    }


def _matching(matcher, docnums: list[int]):
    """The ones of *docnums* (ascending) the matcher matches, each yielded while the matcher
    is on it: one pass along its postings, skipping to the documents wanted."""
    for docnum in docnums:
        if not matcher.is_active():
            return
        if matcher.id() < docnum:
            matcher.skip_to(docnum)
        if matcher.is_active() and matcher.id() == docnum:
            yield docnum


def _best_first(pair: tuple[float, int]) -> tuple[float, int]:
    return -pair[0], pair[1]


def _where(connection, places: list[tuple[float, int, dict | None]], positions: dict[int, dict[int, str]]) -> dict:
    """Snippets from a book's best places, and how many more places match."""
    snippets = []
    for _score, docnum, stored in places[:SNIPPETS_PER_HIT]:
        row = connection.execute(
            "SELECT t.seq, t.label, t.text_z, f.format FROM text_units t JOIN ebook_files f ON f.id = t.file_id"
            " WHERE t.file_id = ? AND t.seq = ?",
            (stored["file_id"], stored["seq"]),
        ).fetchone()
        if row is None:
            continue
        text = zlib.decompress(row["text_z"]).decode("utf-8")
        language = stored.get("language")  # as the page was analysed
        found_here = positions.get(docnum, {})
        found = snippet_at(text, found_here, language) or snippet(text, set(found_here.values()), language)
        if found is None:
            continue
        location = {"page": row["seq"]} if row["format"] == "pdf" else {"chapter": row["seq"]}
        snippets.append({**found, **location, "label": row["label"]})
    return {"snippets": snippets, "more_matches": max(len(places) - len(snippets), 0)}


def _suggestion(vocabulary, parsed, text: str) -> str | None:
    """`did you mean …?`: the query with unknown words replaced by known words one edit away.

    Candidates (a letter deleted, swapped, replaced or inserted) are looked up in the
    collection's own vocabulary; the most common wins. A few hundred dictionary lookups
    cost milliseconds, where a scan of the whole vocabulary costs seconds.
    """
    replacements = {}
    for word in parsed.positive_words():
        folded = fold(word.text)
        if len(folded) < 4 or not folded.isalpha() or compiler.is_stopword(folded):
            continue
        if vocabulary.books_with(folded):
            continue
        best = vocabulary.most_common_of(_edits(folded))
        if best:
            replacements[word.text] = best[0]
    if not replacements:
        return None
    corrected = text
    for original, replacement in replacements.items():
        corrected = corrected.replace(original, replacement)
    return corrected if corrected != text else None


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _edits(word: str) -> set[str]:
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {left + right[1:] for left, right in splits if right}
    swaps = {left + right[1] + right[0] + right[2:] for left, right in splits if len(right) > 1}
    replaces = {left + letter + right[1:] for left, right in splits if right for letter in _LETTERS}
    inserts = {left + letter + right for left, right in splits for letter in _LETTERS}
    return (deletes | swaps | replaces | inserts) - {word}


def _add_metadata(connection: sqlite3.Connection, hits: list[dict]) -> None:
    for hit in hits:
        row = connection.execute("SELECT title, subtitle, language, year FROM records WHERE id = ?", (hit["id"],))
        record = row.fetchone()
        if record is None:
            continue
        authors = [
            r["name"]
            for r in connection.execute(
                "SELECT name FROM contributors WHERE record_id = ? AND creator = 1 ORDER BY position", (hit["id"],)
            )
        ]
        files = connection.execute(
            "SELECT format, pages FROM ebook_files WHERE record_id = ? ORDER BY id LIMIT 1", (hit["id"],)
        ).fetchone()
        hit.update(
            title=record["title"],
            subtitle=record["subtitle"],
            authors=authors,
            language=record["language"],
            year=record["year"],
            format=files["format"] if files else None,
        )

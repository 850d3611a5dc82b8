"""Whoosh's postings read a block at a time, and the few query shapes this project builds
evaluated over them with plain Python sets and dictionaries.

Whoosh answers a query by walking a tree of matcher objects one document at a time, with
several method calls per posting; on the long posting lists of a collection of books that
is most of the time a search takes. Here each term's postings are read block by block
(ids, weights and encoded positions come out of one unpickled tuple per block), and the
query is evaluated term by term. Scores are Whoosh's own: the BM25F parameters are taken
from Whoosh's scorer for each term and applied to the same weights and field lengths, and
compound queries add their parts' scores as Whoosh's union and intersection matchers do.

Anything else (ranges, prefixes, wildcards...) is not evaluated here: `evaluate` returns
None and the caller lets Whoosh run the query. The same shapes evaluated on a few wanted
documents (a book's pages) are in `within.py`, the books that have a phrase in `phrases.py`,
and the per-segment columns in `columns.py`.
"""

from __future__ import annotations

import io
from bisect import bisect_left
from itertools import accumulate
from pickle import Unpickler, UnpicklingError, loads

from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, W3LeafMatcher, _lenfield
from whoosh.filedb.structfile import StructFile
from whoosh.formats import Positions
from whoosh.reading import TermNotFound
from whoosh.scoring import BM25F
from whoosh.system import _INT_SIZE, unpack_int
from whoosh.util.numeric import byte_to_length

from catalog.search.columns import LENGTHS, column_values, deleted_in, segment_cache


class Unsupported(Exception):
    """A query shape this module does not evaluate (Whoosh does)."""


class DocSetQuery(wq.ConstantScoreQuery):
    """Books given by their ids, each scoring *score*: Whoosh runs it as the constant-score
    union of their id terms; `evaluate` looks the ids up in one dictionary instead."""

    def __init__(self, field: str, values, score: float = 1.0) -> None:
        self.values = frozenset(values)
        self.field = field
        super().__init__(None, score)

    @property
    def child(self):
        """The union of id terms, made only if Whoosh runs the query (thousands of books
        cost milliseconds of Term objects)."""
        if self._child is None:
            self._child = wq.Or([wq.Term(self.field, value) for value in sorted(self.values)])
        return self._child

    @child.setter
    def child(self, child) -> None:
        self._child = child

    def _rewrap(self, child):
        return wq.ConstantScoreQuery(child, self.score)


# --- reading postings ---------------------------------------------------------------------


TERM_INFOS_KEPT = 20_000  # per segment: a few MB at most
_UNKNOWN = object()


def _raw_matcher(reader, field: str, text: str):
    """The segment's own postings matcher for a term (no deletion filter), or None."""
    try:
        field_type = reader.schema[field]
        btext = field_type.to_bytes(text)
        terms = reader._terms
    except (KeyError, ValueError):
        return None
    # A segment's terms never change: what its term dictionary said is kept with the reader.
    known = reader.__dict__.setdefault("_term_infos", {})
    terminfo = known.get((field, btext), _UNKNOWN)
    if terminfo is _UNKNOWN:
        try:
            terminfo = terms.term_info(field, btext)
        except (KeyError, TermNotFound):
            terminfo = None
        if len(known) >= TERM_INFOS_KEPT:
            known.clear()
        known[(field, btext)] = terminfo
    if terminfo is None:
        return None
    if terminfo.is_inlined() or type(terms._postfile) is not StructFile:
        return terms._codec.postings_reader(terms._postfile, terminfo, field_type.format, term=(field, btext))
    offset, length = terminfo.extent()
    return _LeafMatcher(terms._postfile, offset, length, field_type.format, term=(field, btext))


class _LeafMatcher(W3LeafMatcher):
    """Whoosh's block reader, reading each block's header with one read of the file (Whoosh
    unpickles it from the file, a few bytes per read call: most of the cost of skipping)."""

    HEADER_BYTES = 96  # a block's length and its pickled info tuple take about 40

    def _read_header(self) -> None:
        self._baseoffset = self._startoffset + len(WHOOSH3_HEADER_MAGIC)
        self._magic_checked = False

    def _goto(self, position: int) -> None:
        start = position if self._magic_checked else position - len(WHOOSH3_HEADER_MAGIC)
        head = self._postfile.get(start, self.HEADER_BYTES + position - start)
        if not self._magic_checked:
            if head[: len(WHOOSH3_HEADER_MAGIC)] != WHOOSH3_HEADER_MAGIC:
                raise ValueError(f"Block tag error {head[:4]!r}")
            self._magic_checked = True
            head = head[len(WHOOSH3_HEADER_MAGIC) :]
        buffer = io.BytesIO(head)
        buffer.seek(_INT_SIZE)
        try:
            info = Unpickler(buffer).load()  # noqa: S301 - the index's own block header
        except (EOFError, UnpicklingError):
            super()._goto(position)  # a header longer than read: Whoosh's way
            return
        length = unpack_int(head[:_INT_SIZE])[0]
        self._data = self._ids = self._weights = self._values = None
        self._i = 0
        if length < 0:
            self._lastblock = True
            length = -length
        self._nextoffset = position + _INT_SIZE + length
        self._dataoffset = position + buffer.tell()
        (self._blocklength, self._maxid, self._maxweight, self._compression, shortest, longest) = info
        self._minlength = byte_to_length(shortest)
        self._maxlength = byte_to_length(longest)


def term_postings(reader, field: str, text: str, values: bool = False):
    """Every posting of a term in one segment: (ids, weights, values or None), deleted
    documents left out."""
    matcher = _raw_matcher(reader, field, text)
    if matcher is None:
        return [], [], [] if values else None
    ids: list[int] = []
    weights: list[float] = []
    found_values: list | None = [] if values else None
    if isinstance(matcher, W3LeafMatcher):
        while matcher.is_active():
            block_ids, block_weights, block_values = _block(matcher, values)
            ids.extend(block_ids)
            weights.extend(block_weights)
            if values:
                found_values.extend(block_values)
            if matcher._lastblock:
                break
            matcher._goto(matcher._nextoffset)
    else:
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            if values:
                found_values.append(matcher.value())
            matcher.next()
    deleted = deleted_in(reader)
    if deleted:
        keep = [number for number, docnum in enumerate(ids) if docnum not in deleted]
        ids = [ids[number] for number in keep]
        weights = [weights[number] for number in keep]
        if values:
            found_values = [found_values[number] for number in keep]
    return ids, weights, found_values


def _block(matcher: W3LeafMatcher, values: bool):
    """The current block's (ids, weights, values or None), as W3LeafMatcher's `_read_*`
    methods decode them (ids summed with `accumulate` rather than a generator)."""
    if matcher._data is None:
        matcher._read_data()
    data = matcher._data
    ids = data[0]
    if not matcher._byteids:
        ids = list(accumulate(ids))
    count = matcher._blocklength
    weights = data[1]
    if weights is None:
        weights = [1.0] * count
    elif isinstance(weights, float):
        weights = [weights] * count
    if not values:
        return ids, weights, None
    matcher._values = None
    matcher._read_values()
    return ids, weights, matcher._values


def decoder(format_):
    """A function from a posting's encoded value to its positions."""
    if type(format_) is Positions:
        return positions_of
    return format_.decoder("positions")


def positions_of(value: bytes) -> list[int]:
    """whoosh.formats.Positions.decode_positions, with the running sum in C."""
    if not value.endswith(b"."):
        value += b"."
    return list(accumulate(loads(value[_INT_SIZE:])))  # noqa: S301 - the index's own postings, as Whoosh reads them


def term_postings_in(reader, field: str, text: str, wanted: list[int]) -> dict[int, tuple[float, bytes]]:
    """The postings of a term for the *wanted* documents (ascending) of one segment:
    docnum -> (weight, encoded value). Only the blocks that may hold them are read."""
    found: dict[int, tuple[float, bytes]] = {}
    if not wanted:
        return found
    matcher = _raw_matcher(reader, field, text)
    if matcher is None:
        return found
    deleted = deleted_in(reader)
    if isinstance(matcher, W3LeafMatcher):
        position = 0
        while matcher.is_active() and position < len(wanted):
            if matcher._maxid < wanted[position]:
                if matcher._lastblock:
                    break
                matcher._goto(matcher._nextoffset)  # reads only the block's header
                continue
            ids, block_weights, block_values = _block(matcher, True)
            while position < len(wanted) and wanted[position] <= matcher._maxid:
                docnum = wanted[position]
                index = bisect_left(ids, docnum)
                if index < len(ids) and ids[index] == docnum:
                    found[docnum] = (block_weights[index], block_values[index])
                position += 1
            if matcher._lastblock:
                break
            matcher._goto(matcher._nextoffset)
    else:
        wanted_set = set(wanted)
        while matcher.is_active():
            docnum = matcher.id()
            if docnum in wanted_set:
                found[docnum] = (matcher.weight(), matcher.value())
            matcher.next()
    if deleted:
        for docnum in [docnum for docnum in found if docnum in deleted]:
            del found[docnum]
    return found


# --- scoring --------------------------------------------------------------------------------


class Scoring:
    """How one leaf searcher scores a term: Whoosh's scorer, unpacked."""

    def __init__(self, leaf_searcher) -> None:
        self.searcher = leaf_searcher
        self.reader = leaf_searcher.reader()
        self.lengths_cache = segment_cache(self.reader)
        self.read: dict | None = None
        self.offset = 0

    def lengths(self, field: str) -> list:
        """Each document's length in *field*, as `doc_field_length` gives it (read once
        per searcher from the segment's column of lengths)."""
        key = ("lengths", field)
        lengths = self.lengths_cache.get(key)
        if lengths is None:
            column_reader = self.reader._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
            if column_reader is None:
                lengths = [1] * self.reader.doc_count_all()
            else:
                lengths = [LENGTHS[byte] for byte in column_values(column_reader)]
            self.lengths_cache[key] = lengths
        return lengths

    def scorer(self, field: str, text: str):
        """How to score this term's postings (as Whoosh's scorer for it); only asked for
        terms the segment has."""
        searcher = self.searcher
        field_type = searcher.schema[field]
        btext = field_type.to_bytes(text)
        weighting = searcher.weighting
        if not field_type.scorable:
            return ("weight",)
        if type(weighting) is not BM25F:
            raise Unsupported(type(weighting).__name__)
        parent = searcher.get_parent()
        b = weighting._field_B.get(field, weighting.B)
        # BM25FScorer's own statistics: global, from the top searcher (idf is cached there).
        return ("bm25", parent.idf(field, btext), parent.avg_field_length(field) or 1, b, weighting.K1)


def score_all(kind, field, ids, weights, scoring: Scoring):
    if kind[0] == "weight":
        return list(weights)
    _, idf, avgfl, b, k1 = kind
    length_of = scoring.lengths(field).__getitem__
    k1_plus = k1 + 1
    one_minus_b = 1 - b
    # whoosh.scoring.bm25, term for term (the same floating-point operations)
    return [
        idf * ((tf * k1_plus) / (tf + k1 * (one_minus_b + b * length_of(docnum) / avgfl)))
        for docnum, tf in zip(ids, weights, strict=True)
    ]


# --- evaluating a query over a whole index --------------------------------------------------


def evaluate(searcher, query: wq.Query) -> dict[int, float] | None:
    """docnum -> score for every document matching *query*, as Whoosh would score it, or
    None when the query has a shape evaluated only by Whoosh."""
    try:
        result: dict[int, float] = {}
        for leaf, offset in searcher.leaf_searchers():
            scores = _evaluate(query, Scoring(leaf), searcher)
            if offset:
                result.update((docnum + offset, score) for docnum, score in scores.items())
            else:
                result.update(scores)
        return result
    except Unsupported:
        return None


def _evaluate(query, scoring: Scoring, top_searcher) -> dict[int, float]:
    if query is wq.NullQuery or isinstance(query, type(wq.NullQuery)):
        return {}
    if isinstance(query, DocSetQuery):
        return _docset(query, scoring, top_searcher)
    if isinstance(query, wq.Term):
        return _term(query, scoring)
    if isinstance(query, wq.ConstantScoreQuery):
        return dict.fromkeys(_evaluate(query.child, scoring, top_searcher), query.score)
    if type(query) is wq.Or:
        if query.minmatch or query.scale or query.boost != 1.0:
            raise Unsupported("Or options")
        parts = [_evaluate(sub, scoring, top_searcher) for sub in query.subqueries]
        return union(parts)
    if type(query) is wq.And:
        if query.boost != 1.0:
            raise Unsupported("And boost")
        positives = [sub for sub in query.subqueries if not isinstance(sub, wq.Not)]
        negatives = [sub.query for sub in query.subqueries if isinstance(sub, wq.Not)]
        if not positives:
            raise Unsupported("only negatives")
        parts = sorted((_evaluate(sub, scoring, top_searcher) for sub in positives), key=len)
        result = dict(parts[0])
        for part in parts[1:]:
            result = {docnum: score + part[docnum] for docnum, score in result.items() if docnum in part}
            if not result:
                return {}
        for negative in negatives:
            # Whoosh intersects with an InverseMatcher, which scores every document it
            # matches 1.0: so does this.
            excluded = _evaluate(negative, scoring, top_searcher)
            result = {docnum: score + 1.0 for docnum, score in result.items() if docnum not in excluded}
        return result
    if type(query) is wq.Sequence:
        return _sequence(query, scoring)
    raise Unsupported(type(query).__name__)


def _sequence(query: wq.Sequence, scoring: Scoring) -> dict[int, float]:
    """A phrase over a whole segment: the documents where one term of each step follows
    the last, scored as the sum of the steps' scores (as Whoosh's SpanNear does)."""
    if query.boost != 1.0 or not query.ordered:
        raise Unsupported("Sequence options")
    steps = []
    for step in query.subqueries:
        terms = [step] if isinstance(step, wq.Term) else step.subqueries if type(step) is wq.Or else None
        if terms is None or not all(type(term) is wq.Term and term.boost == 1.0 for term in terms):
            raise Unsupported("Sequence step")
        steps.append(terms)
    step_scores: list[dict[int, float]] = []
    step_values: list[list[tuple]] = []
    common: set[int] | None = None
    for terms in steps:
        parts, values = [], []
        for term in terms:
            field = term.fieldname
            text = term.text.decode("utf-8") if isinstance(term.text, bytes) else term.text
            ids, weights, encoded = term_postings(scoring.reader, field, text, values=True)
            if not ids:
                continue
            kind = scoring.scorer(field, text)
            parts.append(dict(zip(ids, score_all(kind, field, ids, weights, scoring), strict=True)))
            values.append((decoder(scoring.searcher.schema[field].format), dict(zip(ids, encoded, strict=True))))
        scores = union(parts)
        step_scores.append(scores)
        step_values.append(values)
        common = set(scores) if common is None else common.intersection(scores)
        if not common:
            return {}
    result: dict[int, float] = {}
    for docnum in sorted(common or ()):
        lists = []
        for values in step_values:
            positions: list[int] = []
            for decode, encoded in values:
                value = encoded.get(docnum)
                if value is not None:
                    positions.extend(decode(value))
            lists.append(positions)
        if phrase_chain(lists, query.slop):
            result[docnum] = sum(scores[docnum] for scores in step_scores)
    return result


def union(parts: list[dict[int, float]]) -> dict[int, float]:
    parts = sorted(parts, key=len, reverse=True)
    if not parts:
        return {}
    result = dict(parts[0])
    for part in parts[1:]:
        get = result.get
        for docnum, score in part.items():
            previous = get(docnum)
            result[docnum] = score if previous is None else previous + score
    return result


def _term(query: wq.Term, scoring: Scoring) -> dict[int, float]:
    if query.boost != 1.0 or query.minquality:
        raise Unsupported("Term options")
    field = query.fieldname
    text = query.text.decode("utf-8") if isinstance(query.text, bytes) else query.text
    ids, weights, _ = term_postings(scoring.reader, field, text)
    if not ids:
        return {}
    kind = scoring.scorer(field, text)
    return dict(zip(ids, score_all(kind, field, ids, weights, scoring), strict=True))


def _docset(query: DocSetQuery, scoring: Scoring, top_searcher) -> dict[int, float]:
    """The documents of one segment whose *field* holds one of the query's values."""
    key = ("docset", query.field)
    by_value = scoring.lengths_cache.get(key)
    if by_value is None:
        by_value = {}
        deleted = deleted_in(scoring.reader)
        for docnum, fields in scoring.reader.iter_docs():
            if deleted and docnum in deleted:
                continue
            value = fields.get(query.field)
            if value is not None:
                by_value.setdefault(value, []).append(docnum)
        scoring.lengths_cache[key] = by_value
    result: dict[int, float] = {}
    for value in query.values:
        for docnum in by_value.get(value, ()):
            result[docnum] = query.score
    return result


# --- phrases (positions that follow each other) ----------------------------------------------


def phrase_chain(position_lists: list[list[int]], slop: int) -> bool:
    """Whether positions p1 < p2 < ... follow each other with gaps of 1 to *slop*, one from
    each list: what Whoosh's ordered SpanNear tree of a Sequence(slop) accepts."""
    current = set(position_lists[0])
    for positions in position_lists[1:]:
        if slop == 1:
            current = {position + 1 for position in current}.intersection(positions)
        else:
            reach = {position + gap for position in current for gap in range(1, slop + 1)}
            current = reach.intersection(positions)
        if not current:
            return False
    return True

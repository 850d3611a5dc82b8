"""A page/chapter query evaluated on a few wanted documents only (a book's pages on the results
page), reading only the blocks of each term's postings that hold them; scores as Whoosh's."""

from __future__ import annotations

from bisect import bisect_left

from whoosh import query as wq

from catalog.search.postings import Scoring, Unsupported, decoder, phrase_chain, score_all, term_postings_in, union


def leaf_parts(searcher, wanted: list[int]):
    """(leaf searcher, offset, its wanted docnums as local numbers) for each segment."""
    parts = []
    for leaf, offset in searcher.leaf_searchers():
        end = offset + leaf.reader().doc_count_all()
        low, high = bisect_left(wanted, offset), bisect_left(wanted, end)
        parts.append((leaf, offset, [docnum - offset for docnum in wanted[low:high]]))
    return parts


def evaluate_in(searcher, query: wq.Query, wanted: list[int], read: dict | None = None) -> dict[int, float] | None:
    """docnum -> score for the *wanted* documents (ascending) that match *query*, as Whoosh
    scores them; for the page/chapter queries (words, their forms, phrases). None when
    the query has another shape. The postings read are put in *read*:
    (field, term, segment offset) -> {local docnum: (weight, encoded value)}."""
    result: dict[int, float] = {}
    try:
        for leaf, offset, local in leaf_parts(searcher, wanted):
            if not local:
                continue
            scoring = Scoring(leaf)
            scoring.read, scoring.offset = read, offset
            scores, _ = _evaluate_in(query, scoring, local)
            result.update((docnum + offset, score) for docnum, score in scores.items())
    except Unsupported:
        return None
    return result


def _evaluate_in(query, scoring: Scoring, wanted: list[int]):
    """(docnum -> score, docnum -> positions or None) for the wanted documents of a segment;
    the positions are those of the query's terms, merged (for phrases)."""
    if query is wq.NullQuery or isinstance(query, type(wq.NullQuery)):
        return {}, _NO_VALUES
    if isinstance(query, wq.Term):
        if query.boost != 1.0 or query.minquality:
            raise Unsupported("Term options")
        field = query.fieldname
        text = query.text.decode("utf-8") if isinstance(query.text, bytes) else query.text
        found = term_postings_in(scoring.reader, field, text, wanted)
        if scoring.read is not None:
            scoring.read[(field, text, scoring.offset)] = found
        if not found:
            return {}, _NO_VALUES
        kind = scoring.scorer(field, text)
        ids = sorted(found)
        weights = [found[docnum][0] for docnum in ids]
        scores = dict(zip(ids, score_all(kind, field, ids, weights, scoring), strict=True))
        return scores, _Values(scoring.searcher.schema[field].format, {docnum: found[docnum][1] for docnum in ids})
    if type(query) is wq.Or:
        if query.minmatch or query.scale or query.boost != 1.0:
            raise Unsupported("Or options")
        parts = [_evaluate_in(sub, scoring, wanted) for sub in query.subqueries]
        return union([scores for scores, _ in parts]), _MergedValues([values for _, values in parts])
    if type(query) is wq.Sequence:
        if query.boost != 1.0 or not query.ordered:
            raise Unsupported("Sequence options")
        parts = [_evaluate_in(sub, scoring, wanted) for sub in query.subqueries]
        common = set(parts[0][0])
        for scores, _ in parts[1:]:
            common.intersection_update(scores)
        scores: dict[int, float] = {}
        for docnum in sorted(common):
            if phrase_chain([values.positions(docnum) for _, values in parts], query.slop):
                scores[docnum] = sum(part[docnum] for part, _ in parts)
        return scores, _MergedValues([values for _, values in parts])
    raise Unsupported(type(query).__name__)


class _Values:
    def __init__(self, format_, encoded: dict[int, bytes]) -> None:
        self.format = format_
        self.encoded = encoded

    def positions(self, docnum: int) -> list[int]:
        value = self.encoded.get(docnum)
        return decoder(self.format)(value) if value is not None else []


_NO_VALUES = _Values(None, {})


class _MergedValues:
    def __init__(self, parts) -> None:
        self.parts = parts

    def positions(self, docnum: int) -> list[int]:
        found: list[int] = []
        for part in self.parts:
            found.extend(part.positions(docnum))
        return found

"""The books that have a phrase: its words followed on the pages, rarest word first, each book
settled at its first page with the phrase (catalog/search/service.py turns them into a query)."""

from __future__ import annotations

from itertools import accumulate
from pickle import loads

from whoosh.system import _INT_SIZE

from catalog.search.columns import column
from catalog.search.postings import decoder, positions_of, term_postings, term_postings_in


def phrase_owners(searcher, steps: list[list[str]], field: str, slop: int, owner_field: str) -> set:
    """The values of *owner_field* (a column: the book of each page) of the documents where
    the words of a phrase follow each other: each step is the terms one word may have
    become. The rarest word's postings are read whole, the others' only in the blocks
    that hold its documents; a book is settled at its first page with the phrase."""
    owners_found: set = set()
    parent = searcher.get_parent()
    btext = searcher.schema[field].to_bytes
    # Rarest first: fewest postings in the whole index.
    order = sorted(range(len(steps)), key=lambda n: sum(parent.doc_frequency(field, btext(text)) for text in steps[n]))
    for leaf, _offset in searcher.leaf_searchers():
        reader = leaf.reader()
        owners = column(reader, owner_field)
        decode = decoder(leaf.schema[field].format)
        step_values: list[list[dict]] = [[] for _ in steps]
        candidates: list[int] | None = None
        for number in order:
            variants = step_values[number]
            ids_of_step: set[int] = set()
            for text in steps[number]:
                if candidates is None:
                    ids, _weights, values = term_postings(reader, field, text, values=True)
                    found = dict(zip(ids, values, strict=True))
                else:
                    found = {docnum: value for docnum, (_weight, value) in term_postings_in(
                        reader, field, text, candidates).items()}  # fmt: skip
                if found:
                    variants.append(found)
                    ids_of_step.update(found)
            candidates = sorted(ids_of_step if candidates is None else ids_of_step.intersection(candidates))
            if not candidates:
                break
        if not candidates:
            continue
        first, rest = step_values[0], step_values[1:]
        gaps = range(1, slop + 1)
        fast = decode is positions_of
        for docnum in candidates:
            owner = owners[docnum]
            if owner in owners_found:
                continue
            current: set[int] = set()
            for encoded in first:
                value = encoded.get(docnum)
                if value is not None:
                    current.update(accumulate(loads(value[_INT_SIZE:] + b".")) if fast else decode(value))  # noqa: S301
            for variants in rest:
                following: set[int] = set()
                for encoded in variants:
                    value = encoded.get(docnum)
                    if value is not None:
                        following.update(accumulate(loads(value[_INT_SIZE:] + b".")) if fast else decode(value))  # noqa: S301
                # Whoosh's ordered SpanNear: each word 1 to *slop* positions after the last.
                if slop == 1:
                    current = following.intersection([position + 1 for position in current])
                else:
                    current = following.intersection([position + gap for position in current for gap in gaps])
                if not current:
                    break
            else:
                owners_found.add(owner)
    return owners_found

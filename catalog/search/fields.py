"""A Whoosh text field for text this project has already analysed.

The index stores terms separated by spaces (see `analysis`). Whoosh's own path turns each
term into a Token object and back; for whole books that is a fifth of the time it takes to
build the index, so this field counts the terms itself. Postings are encoded by Whoosh's
own formats, so searching is unchanged. (Whoosh pickles the schema into its table of
contents by class name: renaming this class needs a new `SCHEMA_VERSION`.)
"""

from __future__ import annotations

from collections import Counter

from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.fields import TEXT
from whoosh.formats import Frequency, Positions
from whoosh.system import pack_uint


class Terms(TEXT):
    def __init__(self, **kwargs) -> None:
        super().__init__(analyzer=SpaceSeparatedTokenizer(), **kwargs)

    def index(self, value, **kwargs):
        terms = value.split()
        boost = self.format.field_boost
        if isinstance(self.format, Positions):
            positions: dict[str, list[int]] = {}
            for position, term in enumerate(terms):
                positions.setdefault(term, []).append(position)
            encode = self.format.encode
            return [
                (term.encode("utf-8"), len(places), len(places) * boost, encode(places))
                for term, places in positions.items()
            ]
        if type(self.format) is Frequency:
            return [
                (term.encode("utf-8"), count, count * boost, pack_uint(count)) for term, count in Counter(terms).items()
            ]
        return super().index(value, **kwargs)

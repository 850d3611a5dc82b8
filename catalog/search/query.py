"""What a person types into the search box, turned into a small query tree.

The syntax is forgiving: words are ANDed; `"a phrase"`; `perpus*`; `-word` or `NOT word`
(`BUKAN`); `a OR b` (`ATAU`), binding tighter than the implicit AND; fields in Indonesian
or English (`judul:`/`title:`, `pengarang:`/`author:`, `subjek:`/`subject:`, `penerbit:`/
`publisher:`, `isbn:`, `bahasa:`/`lang:`, `format:`, `ddc:`/`kelas:`, `tahun:`/`year:` with
`2001`, `1990-2000` or `1990..2000`). Anything else — unbalanced quotes, stray operators,
unknown fields, emoji — is read as plain words or dropped; parsing never fails.
"""

from __future__ import annotations

import dataclasses
import re

MAX_QUERY_CHARS = 500
MAX_CLAUSES = 24
MIN_PREFIX_CHARS = 2

FIELD_ALIASES = {
    "judul": "title", "title": "title",
    "pengarang": "author", "penulis": "author", "author": "author", "oleh": "author",
    "subjek": "subject", "subject": "subject", "topik": "subject",
    "penerbit": "publisher", "publisher": "publisher",
    "isbn": "isbn",
    "bahasa": "language", "lang": "language", "language": "language",
    "format": "format",
    "ddc": "ddc", "kelas": "ddc",
    "tahun": "year", "year": "year",
}  # fmt: skip
TEXT_FIELDS = ("title", "author", "subject", "publisher")
_YEAR_RANGE = re.compile(r"^(\d{1,4})?\s*(?:-|\.\.|–)\s*(\d{1,4})?$")
_TOKEN = re.compile(r'-?(?:[^\s"]+:)?"[^"]*"?|\S+')
_OR_WORDS = {"OR", "ATAU", "|", "||"}
_NOT_WORDS = {"NOT", "BUKAN"}
_AND_WORDS = {"AND", "DAN", "&", "&&", "+"}


@dataclasses.dataclass(frozen=True)
class Word:
    text: str
    field: str | None = None
    prefix: bool = False


@dataclasses.dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]
    field: str | None = None


@dataclasses.dataclass(frozen=True)
class YearRange:
    start: int | None
    end: int | None


@dataclasses.dataclass(frozen=True)
class Any_:
    """Any of its clauses (OR)."""

    clauses: tuple


@dataclasses.dataclass(frozen=True)
class Not:
    clause: object


@dataclasses.dataclass(frozen=True)
class Query:
    """All of `clauses` must match (AND); `text` is the query as understood."""

    clauses: tuple
    truncated: bool = False

    @property
    def empty(self) -> bool:
        return not any(not isinstance(clause, Not) for clause in self.clauses)

    def positive_words(self) -> list[Word]:
        """Every non-negated plain word, for spelling suggestions."""
        found: list[Word] = []
        for clause in self.clauses:
            for item in clause.clauses if isinstance(clause, Any_) else (clause,):
                if isinstance(item, Word) and not item.prefix and item.field in (None, *TEXT_FIELDS):
                    found.append(item)
        return found


def parse(text: str) -> Query:
    """Parse a search-box string; never raises."""
    text = (text or "")[:MAX_QUERY_CHARS]
    truncated = len(text) == MAX_QUERY_CHARS
    clauses: list = []
    pending_or = False
    negate = False
    for raw in _TOKEN.findall(text.replace("\u201c", '"').replace("\u201d", '"')):
        if raw in _OR_WORDS:
            pending_or = bool(clauses)
            continue
        if raw in _NOT_WORDS:
            negate = True
            continue
        if raw in _AND_WORDS:
            continue
        if raw.startswith("-") and len(raw) > 1 and not raw[1:2].isdigit():
            negate, raw = True, raw[1:]
        clause = _clause(raw)
        if clause is None:
            continue
        if negate:
            clause, negate = Not(clause), False
        if pending_or and clauses and not isinstance(clause, Not) and not isinstance(clauses[-1], Not):
            previous = clauses.pop()
            options = previous.clauses if isinstance(previous, Any_) else (previous,)
            clause = Any_((*options, clause))
        pending_or = False
        clauses.append(clause)
        if len(clauses) >= MAX_CLAUSES:
            truncated = True
            break
    return Query(tuple(clauses), truncated)


def _clause(raw: str):
    field = None
    if ":" in raw and not raw.startswith('"'):
        name, _, rest = raw.partition(":")
        if name.lower() in FIELD_ALIASES and rest:
            field, raw = FIELD_ALIASES[name.lower()], rest
    if field == "year":
        return _year(raw)
    if raw.startswith('"'):
        words = tuple(_words(raw.strip('"')))
        if not words:
            return None
        return Phrase(words, field) if len(words) > 1 else Word(words[0], field)
    if field in ("isbn", "language", "format", "ddc"):
        value = raw.strip().strip("\"'")
        return Word(value, field) if value else None
    prefix = raw.endswith("*")
    words = _words(raw)
    if not words:
        return None
    if len(words) > 1:  # `e-book`, `anak2`, `R&D`: the pieces must follow each other
        return Phrase(tuple(words), field)
    word = words[0]
    return Word(word, field, prefix=prefix and len(word) >= MIN_PREFIX_CHARS)


def _words(text: str) -> list[str]:
    from catalog.search.analysis import TOKEN_PATTERN

    return TOKEN_PATTERN.findall(text)


def _year(raw: str):
    raw = raw.strip().strip("\"'")
    if raw.isdigit() and len(raw) <= 4:
        return YearRange(int(raw), int(raw))
    match = _YEAR_RANGE.match(raw)
    if match and (match.group(1) or match.group(2)):
        start = int(match.group(1)) if match.group(1) else None
        end = int(match.group(2)) if match.group(2) else None
        start = 0 if start is None else start  # unknown years are stored as -1 and never match
        if end is not None and start > end:
            start, end = end, start
        return YearRange(start, end)
    return None

"""Text analysis for the search index: Indonesian, English, and every other script.

Each chain folds case and accents (`Café` = `cafe`). Indonesian words are reduced to their
root with Sastrawi (`membaca`, `dibaca`, `pembacaan` -> `baca`) behind a cache, since
stemming is the slow part; English words with the Porter stemmer (`libraries` ->
`librari` = `library`). Han, Hiragana, Katakana and Hangul characters become one token
each, so words in scripts written without spaces are still found by their characters
(as a phrase). The analyzers are pickled into the index, so they hold no stemmer object:
the stemmer lives in this module and is created on first use.
"""

from __future__ import annotations

import functools
import re

from whoosh.analysis import (
    CharsetFilter,
    Filter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.analysis.analyzers import Analyzer
from whoosh.lang.porter import stem as porter_stem
from whoosh.support.charset import accent_map

# A word: letters and digits (with inner apostrophes or hyphens), or a single character
# of a script written without spaces between words.
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
TOKEN_PATTERN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+(?:['’\-][^\W_{_CJK}]+)*")
STEM_CACHE_SIZE = 200_000

_ENGLISH_STOPWORDS_TEXT = """a an and are as at be but by for if in into is it no not of on or such that the their
then there these they this to was will with"""
ENGLISH_STOPWORDS = frozenset(_ENGLISH_STOPWORDS_TEXT.split())


@functools.lru_cache(maxsize=1)
def _sastrawi():
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    return StemmerFactory().create_stemmer()


@functools.lru_cache(maxsize=1)
def indonesian_stopwords() -> frozenset[str]:
    """Sastrawi's function words, less content words people search for (`akhir`, `baru`...)."""
    from Sastrawi.StopWordRemover.StopWordRemoverFactory import StopWordRemoverFactory

    keep = {"akhir", "awal", "baru", "bulan", "hari", "tahun", "tanya", "jawab", "kerja", "lama", "masa", "minta"}
    return frozenset(StopWordRemoverFactory().get_stop_words()) - keep


@functools.lru_cache(maxsize=STEM_CACHE_SIZE)
def stem_indonesian(word: str) -> str:
    """The root of an Indonesian word; words with digits or non-Latin letters are kept as they are."""
    if not word.isascii() or not word.replace("-", "").isalpha() or len(word) < 4:
        return word
    return _sastrawi().stem(word) or word


@functools.lru_cache(maxsize=STEM_CACHE_SIZE)
def stem_english(word: str) -> str:
    if not word.isascii() or not word.isalpha():
        return word
    return porter_stem(word)


class IndonesianStemFilter(Filter):
    """Replaces each token's text with its Sastrawi root (cached)."""

    def __eq__(self, other):
        return other is not None and type(other) is type(self)

    def __call__(self, tokens):
        for token in tokens:
            if not token.stopped:
                token.text = stem_indonesian(token.text)
            yield token


class IndonesianStopFilter(StopFilter):
    """Whoosh's StopFilter with Sastrawi's list, loaded when first used (not pickled)."""

    def __init__(self) -> None:
        super().__init__(stoplist=(), minsize=1)

    def __getstate__(self):
        return {}

    def __setstate__(self, state):
        self.__init__()

    def __call__(self, tokens):
        self.stops = indonesian_stopwords()
        return super().__call__(tokens)


def _tokenizer() -> RegexTokenizer:
    return RegexTokenizer(TOKEN_PATTERN)


def indonesian_analyzer() -> Analyzer:
    folded = _tokenizer() | LowercaseFilter() | CharsetFilter(accent_map)
    return folded | IndonesianStopFilter() | IndonesianStemFilter()


def english_analyzer() -> Analyzer:
    return (
        _tokenizer()
        | LowercaseFilter()
        | CharsetFilter(accent_map)
        | StopFilter(stoplist=ENGLISH_STOPWORDS, minsize=1)
        | StemFilter(stemfn=stem_english, cachesize=0)
    )


def plain_analyzer() -> Analyzer:
    """For other languages and exact-ish fields: words folded, nothing removed or stemmed."""
    return _tokenizer() | LowercaseFilter() | CharsetFilter(accent_map)


ANALYZERS = {"id": indonesian_analyzer, "en": english_analyzer}


def analyzer_for(language: str | None) -> Analyzer:
    """The chain for a BCP 47 tag: `id`/`in`/`ms`-like Indonesian, `en`, else plain."""
    primary = (language or "").split("-", 1)[0].lower()
    if primary == "in":
        primary = "id"
    return ANALYZERS.get(primary, plain_analyzer)()


def terms(text: str, language: str | None) -> list[str]:
    """The index terms a text yields in *language* (for tests and query analysis)."""
    return [token.text for token in analyzer_for(language)(text) if not getattr(token, "stopped", False)]

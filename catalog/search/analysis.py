"""Text analysis for the search index: Indonesian, English, and every other script.

Every chain folds case and accents (`Café` = `cafe`). Indonesian words are reduced to their
root with Sastrawi (`membaca`, `dibaca`, `pembacaan` -> `baca`), English words with the
Porter stemmer (`libraries` -> `librari` = `library`), each behind a cache because stemming
is the slow part. Han, Hiragana, Katakana and Hangul characters become one token each, so
words of scripts written without spaces are found by their characters (as a phrase).

Analysis happens here, in plain Python, before Whoosh sees the text: the index stores the
resulting terms separated by spaces and splits them with Whoosh's own space tokenizer.
So the analysis runs once per text (it can run in worker processes), nothing of ours is
pickled into the index, and the query side applies exactly the same functions.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from whoosh.lang.porter import stem as porter_stem
from whoosh.support.charset import accent_map

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
# A word: letters and digits (Indonesian reduplication `anak-anak` kept whole), or a single
# character of a script written without spaces.
TOKEN_PATTERN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+(?:-[^\W_{_CJK}]+)*")
STEM_CACHE_SIZE = 200_000
LANGUAGES = ("id", "en")

_ENGLISH_STOPWORDS_TEXT = """a an and are as at be but by for if in into is it no not of on or such that the their
then there these they this to was will with"""
ENGLISH_STOPWORDS = frozenset(_ENGLISH_STOPWORDS_TEXT.split())
# Words people do search for, although Sastrawi lists them as function words.
_INDONESIAN_KEEP = {
    "akhir",
    "awal",
    "baru",
    "bulan",
    "hari",
    "tahun",
    "tanya",
    "jawab",
    "kerja",
    "lama",
    "masa",
    "minta",
}


@functools.lru_cache(maxsize=1)
def _sastrawi():
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    return StemmerFactory().create_stemmer()


# Indonesian function words: conjunctions, prepositions, pronouns, particles, auxiliaries.
# Sastrawi's own list (800 words) also holds content words people search for (`ibu`,
# `mata`, `anak`, `rumah`...), so the list is kept short and explicit here.
_INDONESIAN_STOPWORDS_TEXT = """ada adalah adanya agar akan aku anda apa apakah atas atau bagai bagaimana bagi bahkan
bahwa banyak beberapa begitu belum berupa bila bisa boleh bukan dalam dan dapat dari daripada demikian dengan di dia
ia ialah ini itu jadi jika juga justru kalau kami kamu karena ke kemudian kepada ketika kita lagi lain lalu maka masih
mereka meski namun nya oleh pada para pun saat saja sambil sang sangat saya se sebagai sebelum sedang sehingga
sejak selain semua sementara seperti serta sesudah setelah si sudah supaya tanpa tapi telah tentang tersebut tetapi
tiap untuk walau yaitu yakni yang"""
_INDONESIAN_STOPWORDS = frozenset(_INDONESIAN_STOPWORDS_TEXT.split())


def indonesian_stopwords() -> frozenset[str]:
    return _INDONESIAN_STOPWORDS


@functools.lru_cache(maxsize=STEM_CACHE_SIZE)
def stem_indonesian(word: str) -> str:
    """The root of an Indonesian word; words with digits or other scripts are kept as they are."""
    if len(word) < 4 or not word.isascii() or not word.replace("-", "").isalpha():
        return word
    return _sastrawi().stem(word) or word


@functools.lru_cache(maxsize=STEM_CACHE_SIZE)
def stem_english(word: str) -> str:
    if not word.isascii() or not word.isalpha():
        return word
    return porter_stem(word)


def fold(text: str) -> str:
    """Lower case without accents or ligatures: `Café` -> `cafe`, `efﬁcient` -> `efficient`."""
    lowered = text.lower()
    if lowered.isascii():
        return lowered
    return unicodedata.normalize("NFKC", lowered).translate(accent_map)


def words(text: str) -> list[str]:
    """The folded words of a text, unstemmed, stopwords kept (for phrases and spelling)."""
    return TOKEN_PATTERN.findall(fold(text))


def language_of(tag: str | None) -> str | None:
    """`id`, `in`, `id-ID` -> `id`; `en-US` -> `en`; others -> None (no stemming)."""
    primary = (tag or "").split("-", 1)[0].lower()
    if primary == "in":
        primary = "id"
    return primary if primary in LANGUAGES else None


def terms(text: str, language: str | None) -> list[str]:
    """The index terms of a text in *language* (a BCP 47 tag), in order."""
    chain = language_of(language)
    tokens = words(text)
    if chain == "id":
        stops = indonesian_stopwords()
        return [stem_indonesian(token) for token in tokens if token not in stops]
    if chain == "en":
        return [stem_english(token) for token in tokens if token not in ENGLISH_STOPWORDS]
    return tokens


def query_variants(word: str) -> set[str]:
    """Every term a query word may have become in a book of any language."""
    folded = fold(word)
    variants = {folded}
    if folded not in indonesian_stopwords():
        variants.add(stem_indonesian(folded))
    if folded not in ENGLISH_STOPWORDS:
        variants.add(stem_english(folded))
    return variants


_INDONESIAN_MARKERS = frozenset(
    "yang dan di ini itu dengan untuk tidak dari dalam akan pada juga ke karena oleh".split()
)
_ENGLISH_MARKERS = frozenset("the and of to in is that for it with as was on are by this be from".split())


def detect_language(text: str, sample_chars: int = 20_000) -> str | None:
    """`id` or `en` from the share of common function words in a sample, else None."""
    sample = words(text[:sample_chars])
    if len(sample) < 20:
        return None
    indonesian = sum(token in _INDONESIAN_MARKERS for token in sample)
    english = sum(token in _ENGLISH_MARKERS for token in sample)
    best, count = ("id", indonesian) if indonesian >= english else ("en", english)
    return best if count >= max(3, len(sample) // 50) else None

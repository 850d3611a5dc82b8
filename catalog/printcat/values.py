"""Reading single values the way library systems write them: years, ISBNs, languages, names.

Library exports carry ISBD punctuation (`Jakarta :`, `Gramedia,`), bracketed or guessed
years (`[2019]`, `c2019`, `t.t.` for *tanpa tahun*), ISBNs with hyphens, language names in
Indonesian (`Indonesia`, `Inggris`) or MARC codes (`ind`), and inverted names
(`Toer, Pramoedya Ananta`). These helpers turn them into what the catalogue stores.
"""

from __future__ import annotations

import re

from catalog.extract.identifiers import normalise_isbn

# "no date" in Indonesian (tanpa tahun), Latin (sine anno) and English cataloguing.
_NO_YEAR = {"", "-", "--", "t.t", "t.t.", "tt", "s.a", "s.a.", "n.d", "n.d.", "[t.t.]", "[s.a.]", "[n.d.]", "0", "0000"}
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?!\d)")
_TRAILING_PUNCTUATION = " \t:;/,=+"


class NotAYear(ValueError):
    """The text names no year of publication."""


def year(value: str | None) -> int | None:
    """`2019`, `[2019]`, `c2019`, `cet. 3, 2019` -> 2019; empty or `t.t.` -> None; else NotAYear."""
    text = (value or "").strip().strip(".").strip()
    if text.lower() in _NO_YEAR or (value or "").strip().lower() in _NO_YEAR:
        return None
    match = _YEAR.search(text)
    if match is None:
        raise NotAYear(value)
    return int(match.group(1))


def clean(value: str | None) -> str | None:
    """A field's text without surrounding space and ISBD punctuation; None when nothing is left."""
    if value is None:
        return None
    text = " ".join(value.split()).strip(_TRAILING_PUNCTUATION)
    if text.endswith(".") and not re.search(r"\b\w\.$", text) and not text.endswith("..."):
        text = text[:-1]
    return text.strip(_TRAILING_PUNCTUATION) or None


def isbn13(value: str | None) -> str | None:
    """The ISBN-13 form of a valid ISBN-10 or ISBN-13 (hyphens and spaces ignored), else None."""
    digits = normalise_isbn(value or "")
    if digits is None:
        return None
    if len(digits) == 13:
        return digits
    body = "978" + digits[:9]
    check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body)) % 10) % 10
    return body + str(check)


def isbn_candidates(value: str | None) -> list[str]:
    """The ISBN-looking parts of a field: `978-602-... (pbk.) ; 602-...` -> both numbers as written."""
    return [part for part in re.findall(r"[0-9][0-9Xx\- ]{8,16}[0-9Xx]", value or "")]


# MARC language codes (ISO 639-2/B, as 008/35-37 and 041 carry them) and the names Indonesian
# library systems use, to the language tags the catalogue stores.
_MARC_LANGUAGES = {
    "ind": "id", "eng": "en", "jav": "jv", "sun": "su", "may": "ms", "msa": "ms", "ara": "ar",
    "chi": "zh", "zho": "zh", "jpn": "ja", "dut": "nl", "nld": "nl", "ger": "de", "deu": "de",
    "fre": "fr", "fra": "fr", "kor": "ko", "spa": "es", "por": "pt", "rus": "ru", "hin": "hi",
    "tha": "th", "vie": "vi", "tgl": "tl", "lat": "la", "san": "sa", "heb": "he", "ban": "ban",
    "bug": "bug", "mad": "mad", "ace": "ace", "min": "min", "bjn": "bjn", "mak": "mak",
}  # fmt: skip
_LANGUAGE_NAMES = {
    "indonesia": "id", "bahasa indonesia": "id", "indonesian": "id", "inggris": "en", "bahasa inggris": "en",
    "english": "en", "jawa": "jv", "bahasa jawa": "jv", "javanese": "jv", "sunda": "su", "bahasa sunda": "su",
    "sundanese": "su", "melayu": "ms", "malay": "ms", "arab": "ar", "bahasa arab": "ar", "arabic": "ar",
    "belanda": "nl", "dutch": "nl", "mandarin": "zh", "cina": "zh", "china": "zh", "chinese": "zh",
    "jepang": "ja", "japanese": "ja", "jerman": "de", "german": "de", "perancis": "fr", "prancis": "fr",
    "french": "fr", "korea": "ko", "korean": "ko", "bali": "ban", "bugis": "bug", "madura": "mad",
    "aceh": "ace", "minangkabau": "min", "banjar": "bjn", "makassar": "mak",
}  # fmt: skip
_TAG_TO_MARC = {tag: code for code, tag in reversed(list(_MARC_LANGUAGES.items()))}


class UnknownLanguage(ValueError):
    """A language named in a way this catalogue does not recognise."""


def language(value: str | None) -> str | None:
    """`ind`, `id`, `Indonesia`, `Bahasa Inggris` -> `id`, `en`; empty -> None; else UnknownLanguage."""
    text = clean(value)
    if not text:
        return None
    lowered = text.lower()
    if lowered in _MARC_LANGUAGES:
        return _MARC_LANGUAGES[lowered]
    if lowered in _LANGUAGE_NAMES:
        return _LANGUAGE_NAMES[lowered]
    if re.fullmatch(r"[a-z]{2}(-[a-z0-9]{2,8})*", lowered):
        return lowered
    raise UnknownLanguage(value)


def marc_language(tag: str | None) -> str | None:
    """The MARC code of a language tag: `id` -> `ind`; None when there is none."""
    if not tag:
        return None
    primary = tag.split("-", 1)[0].lower()
    return _TAG_TO_MARC.get(primary)


def personal_name(value: str | None, inverted: bool = True) -> tuple[str, str] | None:
    """(display name, sort name) of a name such as `Toer, Pramoedya Ananta`.

    A name with one comma is read as inverted (surname first) when *inverted*; a name
    without a comma (many Indonesian names are one word, or given in direct order) is kept.
    """
    text = clean(value)
    if not text:
        return None
    if inverted and text.count(",") == 1:
        surname, given = (part.strip() for part in text.split(","))
        if surname and given and not any(char.isdigit() for char in given):
            return f"{given} {surname}", f"{surname}, {given}"
    return text, text


_RELATORS = {
    "aut": "aut", "author": "aut", "pengarang": "aut", "penulis": "aut",
    "edt": "edt", "editor": "edt", "ed": "edt", "penyunting": "edt",
    "trl": "trl", "translator": "trl", "penerjemah": "trl", "alih bahasa": "trl", "penterjemah": "trl",
    "ill": "ill", "illustrator": "ill", "ilustrator": "ill", "pengilustrasi": "ill",
    "com": "com", "compiler": "com", "penyusun": "com",
    "ctb": "ctb", "contributor": "ctb", "kontributor": "ctb",
}  # fmt: skip


def relator(term: str | None, code: str | None = None) -> str:
    """A MARC relator code from 700 $4 or $e (`penyunting` -> `edt`); `aut` when none is given."""
    for value in (code, term):
        key = (clean(value) or "").lower().rstrip(".")
        if key in _RELATORS:
            return _RELATORS[key]
        if re.fullmatch(r"[a-z]{3}", key):
            return key
    return "aut"


def ddc_number(value: str | None) -> str | None:
    """A Dewey number as shelves show it (`899.221`), from `899/.221` or `899.221 23`; else None."""
    text = (clean(value) or "").replace("/", "").replace("'", "")
    match = re.match(r"\d{3}(\.\d+)?", text)
    return match.group(0) if match else None

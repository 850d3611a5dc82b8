"""Search quality on the shared corpus: every book with text is found by a phrase from its
own text, and the hit says on which page or in which chapter the phrase is."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import re

import pytest

from catalog import records, search
from catalog.datadir import DataDir
from catalog.extract import Limits
from catalog.ingest import Importer
from catalog.search.analysis import ENGLISH_STOPWORDS, TOKEN_PATTERN, fold, indonesian_stopwords
from catalog.workers import PoolSettings
from tests.conftest import CORPUS, manifest_rows

BOOK_FILES = (
    [row["file"] for row in manifest_rows(CORPUS) if row["file"].endswith((".epub", ".pdf"))]
    if (CORPUS / "MANIFEST.tsv").is_file()
    else ["(corpus missing)"]
)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
PHRASE_WORDS = 4
PHRASE_CHARACTERS = 4  # in scripts written without spaces, a word is a character


@dataclasses.dataclass
class Corpus:
    datadir: DataDir
    index: search.SearchIndex
    record_ids: dict[str, int]  # by path inside the corpus, for every imported file
    books: dict[str, tuple] = dataclasses.field(default_factory=dict)  # what _book found, by path

    def search(self, text: str) -> dict:
        with contextlib.closing(self.datadir.connect()) as connection:
            return search.search(self.index, connection, search.SearchRequest(text))


@pytest.fixture(scope="module")
def corpus_index(tmp_path_factory) -> Corpus:
    if not (CORPUS / "MANIFEST.tsv").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the shared corpus is missing at {CORPUS}")
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    datadir = DataDir(tmp_path_factory.mktemp("corpus") / "data")
    datadir.create()
    index = search.open_index(datadir)
    importer = Importer(datadir, Limits(), PoolSettings(processes=2, timeout_seconds=60), index)
    record_ids = {
        outcome.path.relative_to(CORPUS).as_posix(): outcome.record_id
        for outcome in importer.run([CORPUS])
        if outcome.status == "imported"
    }
    yield Corpus(datadir, index, record_ids)
    index.close()


@dataclasses.dataclass
class Phrase:
    words: list[str]  # as they are in the text
    spaced: bool  # words separated by spaces (not characters of a script written without them)
    seqs: frozenset[int] = frozenset()  # the pages or chapters that have it

    @property
    def query(self) -> str:
        return '"' + (" " if self.spaced else "").join(self.words) + '"'


def _is_cjk(word: str) -> bool:
    return bool(_CJK.fullmatch(word))


def _is_content(word: str) -> bool:
    folded = fold(word)
    stopword = folded in ENGLISH_STOPWORDS or folded in indonesian_stopwords()
    return _is_cjk(word) or (len(word) >= 4 and not stopword)


def _windows(text: str):
    """Runs of consecutive words of letters separated by nothing but spaces (characters of a
    script written without spaces may have line breaks between them: vertical text)."""
    tokens = list(TOKEN_PATTERN.finditer(text))
    for start in range(len(tokens)):
        cjk = _is_cjk(tokens[start].group())
        size = PHRASE_CHARACTERS if cjk else PHRASE_WORDS
        window = tokens[start : start + size]
        if len(window) < size:
            return
        words = [match.group() for match in window]
        if not all(word.isalpha() and _is_cjk(word) == cjk for word in words):
            continue
        gaps = [text[a.end() : b.start()] for a, b in itertools.pairwise(window)]
        if not all(gap.isspace() or (cjk and not gap) for gap in gaps) or any("\n\n" in gap for gap in gaps):
            continue
        if sum(_is_content(word) for word in words) < 3:
            continue
        yield Phrase(words, not cjk)


def _line(words) -> str:
    return " " + " ".join(fold(word) for word in words) + " "


def _seqs_with(words: list[str], units: list[dict]) -> frozenset[int]:
    wanted = _line(words)
    return frozenset(unit["seq"] for unit in units if wanted in _line(TOKEN_PATTERN.findall(unit["text"])))


def choose_phrase(units: list[dict]) -> Phrase | None:
    """A phrase from a unit in the middle of the book, from the middle of that unit; one that
    no other page or chapter has when there is such a phrase."""
    usable = [unit for unit in units if any(True for _ in _windows(unit["text"]))]
    lines = {unit["seq"]: _line(TOKEN_PATTERN.findall(unit["text"])) for unit in units}
    fallback = None
    for unit in _middle_first(usable):
        for phrase in _middle_first(list(_windows(unit["text"]))):
            wanted = _line(phrase.words)
            phrase.seqs = frozenset(seq for seq, line in lines.items() if wanted in line)
            if len(phrase.seqs) == 1:
                return phrase
            fallback = fallback or phrase
    return fallback


def _middle_first(items: list) -> list:
    centre = len(items) // 2
    return [items[n] for n in sorted(range(len(items)), key=lambda n: (abs(n - centre), n))]


def _book(corpus: Corpus, file: str) -> tuple[int, str, list[dict], Phrase | None]:
    """The record id, format, pages or chapters, and chosen phrase of a catalogued corpus file."""
    if file not in corpus.record_ids:
        pytest.skip(f"{file} is not catalogued (refused at import)")
    if file not in corpus.books:
        record_id = corpus.record_ids[file]
        with contextlib.closing(corpus.datadir.connect()) as connection:
            record = records.get_record(connection, record_id)
            units = records.text_units(connection, record["files"][0]["id"])
        corpus.books[file] = (record_id, record["format"], units, choose_phrase(units))
    return corpus.books[file]


def _check_found(corpus: Corpus, record_id: int, file_format: str, phrase: Phrase, query: str) -> None:
    where = "page" if file_format == "pdf" else "chapter"
    result = corpus.search(query)
    hits = {hit["id"]: hit for hit in result["hits"]}
    assert record_id in hits, (
        f"{query} (from {where} {sorted(phrase.seqs)}) does not find the book: total {result['total']},"
        f" message {result['message']}, first page {[hit['title'] for hit in result['hits']]}"
    )
    snippets = hits[record_id]["snippets"]
    located = [snippet for snippet in snippets if snippet.get(where) in phrase.seqs]
    assert located, (
        f"{query}: no snippet on {where} {sorted(phrase.seqs)}; snippets at {[s.get(where) for s in snippets]}"
    )
    wanted = {fold(word) for word in phrase.words if _is_content(word)}
    for snippet in located:
        highlighted = {fold(snippet["text"][a:b]) for a, b in snippet["highlights"]}
        if wanted <= highlighted:
            return
    raise AssertionError(
        f"{query}: the snippet on {where} {sorted(phrase.seqs)} does not highlight {sorted(wanted)}:"
        f" {[(s['text'], [s['text'][a:b] for a, b in s['highlights']]) for s in located]}"
    )


@pytest.mark.parametrize("file", BOOK_FILES)
def test_each_book_is_found_by_a_phrase_from_its_own_text(corpus_index, file):
    record_id, file_format, _units, phrase = _book(corpus_index, file)
    if phrase is None:
        pytest.skip(f"{file} has no text with a phrase of words to search for")
    _check_found(corpus_index, record_id, file_format, phrase, phrase.query)


# Books in scripts other than Latin, and one word of each as a reader would type it.
OTHER_SCRIPTS = {
    "epub/idpf-kusamakura-japanese-vertical-writing.epub": "草枕",
    "epub/idpf-internallinks.epub": "数式",
    "pdf/pdfjs-vertical.pdf": "日本語",
    "epub/idpf-regime-anticancer-arabic.epub": None,  # an Arabic word from the middle of the text
    "pdf/pdfjs-ArabicCIDTrueType.pdf": None,
    "pdf/pypdf-habibi.pdf": "حَبيبي",
}


def _non_latin_word(units: list[dict]) -> str:
    words = [
        word
        for unit in units
        for word in TOKEN_PATTERN.findall(unit["text"])
        if len(word) >= 4 and word.isalpha() and not any(character.isascii() for character in word)
    ]
    assert words, "no word of another script in the text"
    return words[len(words) // 2]


@pytest.mark.parametrize("file", list(OTHER_SCRIPTS))
@pytest.mark.parametrize("quoted", [False, True], ids=["as typed", "in quotes"])
def test_books_in_other_scripts_are_found_by_their_words_or_characters(corpus_index, file, quoted):
    record_id, file_format, units, _phrase = _book(corpus_index, file)
    text = OTHER_SCRIPTS[file] or _non_latin_word(units)
    words = TOKEN_PATTERN.findall(text)
    phrase = Phrase(words, spaced=not _is_cjk(words[0]), seqs=_seqs_with(words, units))
    assert phrase.seqs, f"{text!r} is not in the text of {file}"
    _check_found(corpus_index, record_id, file_format, phrase, f'"{text}"' if quoted else text)


def test_phrases_are_chosen_for_most_of_the_corpus(corpus_index):
    """Guard against a phrase chooser that skips too much."""
    chosen = [file for file in corpus_index.record_ids if _book(corpus_index, file)[3] is not None]
    assert len(chosen) >= 30, chosen


@pytest.mark.parametrize(
    ("file", "typed"),
    [
        ("pdf/pypdf-crazyones-pdfa.pdf", "misfits"),  # the text layer has `misﬁts`, with the ﬁ ligature
        ("pdf/pdfjs-tracemonkey.pdf", "efficient"),  # `efﬁcient`
        ("pdf/pypdf-GeoTopo-komprimiert.pdf", "Oberfläche"),  # `Oberﬂäche`
    ],
)
def test_words_printed_with_ligatures_are_found_as_typed(corpus_index, file, typed):
    record_id, _format, _units, _phrase = _book(corpus_index, file)
    hits = {hit["id"]: hit for hit in corpus_index.search(typed)["hits"]}
    assert record_id in hits, f"{typed!r} does not find {file}"
    assert hits[record_id]["snippets"], f"{typed!r} finds {file} but shows no snippet"

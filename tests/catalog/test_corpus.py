"""The shared corpus, imported for real: each valid file catalogued with its own metadata,
each broken or hostile file refused with a clear reason (or accepted safely), nothing
written for a refusal.

MANIFEST.tsv records what every file's own metadata says (or, for hostile files, what a
safe server must do); the tests below compare the catalogue with it row by row, with the
file name as the test id, so a failure names the file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
import threading
import time
import unicodedata
import zipfile
import zlib
from pathlib import Path, PurePosixPath

import psutil
import pytest
from click.testing import CliRunner, Result

import ebookserver
from catalog import errors, records
from catalog.datadir import DataDir
from catalog.extract import Limits
from catalog.ingest import Importer, ImportOutcome
from catalog.workers import PoolSettings
from ebookserver.cli import main
from tests.conftest import CORPUS, manifest_rows

# --- the manifest, read at collection time so every row becomes a named test -------------

ROWS: list[dict] = manifest_rows(CORPUS) if (CORPUS / "MANIFEST.tsv").is_file() else []


def _is_broken(row: dict) -> bool:
    return row["kind"].endswith("-broken")


def _needs_password(row: dict) -> bool:
    return bool((row["facts"] or {}).get("needs_pass"))


CATALOGUED = [
    row
    for row in ROWS
    if row["file"].startswith(("epub/", "pdf/")) and not _is_broken(row) and not _needs_password(row)
]
CATALOGUED_PDFS = [row for row in CATALOGUED if row["file"].endswith(".pdf")]
BROKEN = [row for row in ROWS if _is_broken(row)]
HOSTILE = [row for row in ROWS if row["file"].startswith("hostile/")]


def _params(rows: list[dict]) -> list:
    """One parameter per row, named by its file; without a corpus, one placeholder whose test
    then skips (or fails under CI=true) through the `corpus_dir` fixture with its reason."""
    if not ROWS:
        return [pytest.param(None, id="no-corpus")]
    return [pytest.param(row, id=Path(row["file"]).name) for row in rows]


# What each hostile file must get: a reason_code, "imported" (accepted safely), or
# "refused-or-repaired". A hostile file added to the corpus without an entry here fails
# `test_every_hostile_row_has_an_expected_handling` instead of going unchecked.
HOSTILE_HANDLING = {
    "zero-byte.epub": "empty-file",
    "zero-byte.pdf": "empty-file",
    "html-disguised-as.pdf": "disguised-file",
    "billion-laughs-opf.epub": "unsafe-xml",
    "xxe-opf.epub": "unsafe-xml",
    "path-traversal.epub": "unsafe-archive",
    "zipbomb-1GiB-zeros.epub": "unsafe-archive",
    "truncated-tracemonkey.pdf": "refused-or-repaired",
    "xss-script-in-content-and-title.epub": "imported",
}
XSS_TITLE = '<script>alert("opac")</script><img src=x onerror=alert(2)>'

# The one PDF whose manifest title/author are null but whose XMP packet names them.
XMP_METADATA = {
    "pypdf-output_with_metadata_pymupdf.pdf": {"title": "Sample PDF with XMP Metadata", "creators": ["John Doe"]},
}

REFUSAL_CODES = {
    value.code for value in vars(errors).values() if isinstance(value, type) and issubclass(value, errors.RefusedFile)
}
# Codes that say "something broke" rather than why the file is refused: a crash or a hang.
UNCLEAR_CODES = {errors.RefusedFile.code, errors.ExtractionFailed.code, errors.ExtractionTimeout.code}
REQUIRED_RECORD_KEYS = {
    "id",
    "title",
    "authors",
    "language",
    "identifiers",
    "publisher",
    "year",
    "subjects",
    "format",
    "pages",
    "has_cover",
    "has_text",
    "sha256",
}
JSON_LINE_KEYS = {"path", "status", "id", "sha256", "reason", "reason_en", "reason_code"}
INDONESIAN_PO = Path(ebookserver.__file__).parent / "translations" / "id" / "LC_MESSAGES" / "messages.po"
MEMORY_LIMIT_BYTES = 500 * 1024 * 1024
QUICK_SECONDS = 5.0


# --- helpers ----------------------------------------------------------------------------------


def norm(text: str | None) -> str | None:
    """Whitespace collapsed (as the product promises), NFC, and control characters dropped.

    Dropping control characters only matters for pypdf-imagemagick-CCITTFaxDecode.pdf, whose
    Info title ends in a NUL byte that the manifest copies verbatim; a catalogue title should
    not carry a NUL, so the manifest is stricter than reasonable there.
    """
    if text is None:
        return None
    visible = "".join(char for char in text if char.isspace() or unicodedata.category(char) != "Cc")
    return unicodedata.normalize("NFC", " ".join(visible.split()))


def manifest_title(row: dict) -> str | None:
    title = row["facts"].get("title")
    if isinstance(title, list):
        title = title[0] if title else None
    return norm(title) or None


def manifest_authors(row: dict) -> list[str]:
    facts = row["facts"]
    if "creators" in facts:
        return [norm(name) for name in facts["creators"] if norm(name)]
    names = [norm(part) for part in (facts.get("author") or "").split(";")]
    names = [name for name in names if name]
    return names or XMP_METADATA.get(Path(row["file"]).name, {}).get("creators", [])


def manifest_language(row: dict) -> str | None:
    languages = row["facts"].get("language") or []
    first = (languages[0] or "").strip() if languages else ""
    return first or None


def filename_words(name: str) -> str:
    """The words of a file name without its extension, lower case: `pdfjs-scan-bad.pdf` -> `pdfjs scan bad`."""
    return " ".join(word for word in re.split(r"[\s_.+\-]+", Path(name).stem) if word).lower()


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_clear_refusal(code: str | None, reason: str | None, reason_en: str | None, what: str) -> None:
    assert code in REFUSAL_CODES, f"{what}: reason_code {code!r} is not a code in catalog/errors.py"
    assert code not in UNCLEAR_CODES, f"{what}: refused without a clear reason ({code}: {reason_en})"
    for label, text in (("reason", reason), ("reason_en", reason_en)):
        assert isinstance(text, str) and text.strip(), f"{what}: {label} is empty"
        assert "\n" not in text and "\r" not in text, f"{what}: {label} is not one line: {text!r}"


def assert_nothing_written(datadir: DataDir, sha256: str, name: str) -> None:
    """No record, no book file, cover, thumbnail or tmp/ leftover for a refused file."""
    folders = (datadir.files_dir, datadir.covers_dir, datadir.thumbs_dir, datadir.tmp_dir)
    leftovers = [path for folder in folders for path in folder.rglob("*") if sha256 in path.name]
    assert leftovers == [], f"{name}: files written for a refused file"
    assert list(datadir.tmp_dir.iterdir()) == [], "tmp/ is not empty after the import"
    with contextlib.closing(datadir.connect()) as connection:
        assert records.find_file(connection, sha256) is None, f"{name}: a file row exists for a refused file"
        rows = connection.execute("SELECT record_id FROM ebook_files WHERE original_name = ?", (name,)).fetchall()
        assert rows == [], f"{name}: catalogued although refused"


def stored_files(datadir: DataDir) -> list[Path]:
    """Every book file, cover and thumbnail in the data directory."""
    folders = (datadir.files_dir, datadir.covers_dir, datadir.thumbs_dir)
    return sorted(path for folder in folders for path in folder.rglob("*") if path.is_file())


def catalogue_texts(datadir: DataDir) -> list[str]:
    """Every text value in the database (text units decompressed), for scanning."""
    texts = []
    with contextlib.closing(datadir.connect()) as connection:
        tables = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in connection.execute(f"SELECT * FROM {table}"):  # noqa: S608 - names come from sqlite_master
                for value in row:
                    if isinstance(value, bytes):
                        with contextlib.suppress(zlib.error):
                            value = zlib.decompress(value)
                        value = value.decode("utf-8", "replace")
                    if isinstance(value, str):
                        texts.append(value)
    return texts


class PeakMemory:
    """Samples the summed RSS of this process and all its descendants in a background thread."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        root = psutil.Process()
        try:
            processes = [root, *root.children(recursive=True)]
        except psutil.Error:
            processes = [root]
        total = 0
        for process in processes:
            with contextlib.suppress(psutil.Error):
                total += process.memory_info().rss
        self.peak = max(self.peak, total)
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


# --- the corpus imported once, with a real importer -------------------------------------------


@pytest.fixture(scope="module")
def corpus_dir() -> Path:
    """The shared corpus for module-scoped fixtures (conftest's `corpus` is per test)."""
    if not (CORPUS / "MANIFEST.tsv").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the shared corpus is missing at {CORPUS}")
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    return CORPUS


@dataclasses.dataclass
class CorpusImport:
    datadir: DataDir
    importer: Importer
    outcomes: dict[str, ImportOutcome]  # by path inside the corpus, e.g. "epub/idpf-trees.epub"
    records: dict[str, dict]  # the catalogued records, by the same key

    def record(self, row: dict) -> dict:
        outcome = self.outcomes[row["file"]]
        assert outcome.status == "imported", f"{row['file']} was {outcome.status}: {outcome.error}"
        return self.records[row["file"]]


@pytest.fixture(scope="module")
def imported(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> CorpusImport:
    datadir = DataDir(tmp_path_factory.mktemp("corpus") / "data")
    datadir.create()
    importer = Importer(datadir, Limits(), PoolSettings(processes=2, timeout_seconds=60))
    outcomes: dict[str, ImportOutcome] = {}
    for outcome in importer.run([corpus_dir]):
        key = outcome.path.relative_to(corpus_dir).as_posix()
        assert key not in outcomes, f"{key} was reported twice"
        outcomes[key] = outcome
    with contextlib.closing(datadir.connect()) as connection:
        found = {
            key: records.get_record(connection, outcome.record_id)
            for key, outcome in outcomes.items()
            if outcome.status == "imported"
        }
    return CorpusImport(datadir, importer, outcomes, found)


def test_the_corpus_files_are_what_the_manifest_says(corpus_dir):
    """Sanity: the sha256 and size checks below mean something only if the corpus is intact."""
    wrong = []
    for row in ROWS:
        path = corpus_dir / row["file"]
        if sha256_of(path) != row["sha256"] or path.stat().st_size != int(row["bytes"]):
            wrong.append(row["file"])
    assert wrong == []


def test_every_corpus_file_gets_exactly_one_outcome(imported):
    assert set(imported.outcomes) == {row["file"] for row in ROWS} | {"MANIFEST.tsv"}
    manifest_file = imported.outcomes["MANIFEST.tsv"]
    assert (manifest_file.status, manifest_file.reason_code) == ("refused", "unsupported-format")
    for row in ROWS:
        outcome = imported.outcomes[row["file"]]
        assert outcome.status in ("imported", "refused"), f"{row['file']}: {outcome.status}"
        if outcome.sha256 is not None:
            assert outcome.sha256 == row["sha256"], row["file"]


@pytest.mark.parametrize("row", _params(CATALOGUED))
def test_valid_file_is_catalogued(imported, row):
    record = imported.record(row)
    name = Path(row["file"]).name
    assert record["format"] == Path(name).suffix[1:]
    assert record["sha256"] == row["sha256"]
    assert [file["original_name"] for file in record["files"]] == [name]
    assert record["files"][0]["size"] == int(row["bytes"])


@pytest.mark.parametrize("row", _params(CATALOGUED))
def test_title_is_the_files_own(imported, row):
    record = imported.record(row)
    name = Path(row["file"]).name
    expected = manifest_title(row) or XMP_METADATA.get(name, {}).get("title")
    if expected is not None:
        assert norm(record["title"]) == expected
        assert record["title_source"] == "metadata"
    else:
        assert record["title_source"] == "filename"
        # Exactly the file name's words: no extension, no `-`/`_` separators left.
        assert norm(record["title"]).lower() == filename_words(name)


@pytest.mark.parametrize("row", _params(CATALOGUED))
def test_authors_are_the_files_creators_in_order(imported, row):
    record = imported.record(row)
    assert [norm(name) for name in record["authors"]] == manifest_authors(row)


@pytest.mark.parametrize("row", _params(CATALOGUED))
def test_language_is_the_files_first_language(imported, row):
    assert imported.record(row)["language"] == manifest_language(row)


@pytest.mark.parametrize("row", _params(CATALOGUED))
def test_pages_are_spine_documents_or_pdf_pages(imported, row):
    facts = row["facts"]
    expected = facts["spine_items"] if row["file"].endswith(".epub") else facts["page_count"]
    assert imported.record(row)["pages"] == expected


@pytest.mark.parametrize("row", _params(CATALOGUED))
def test_has_cover_matches_the_file(imported, row):
    """EPUB: the manifest's has_cover. PDF: always, the first page is rendered as the cover."""
    record = imported.record(row)
    expected = row["facts"]["has_cover"] if row["file"].endswith(".epub") else True
    assert record["has_cover"] is expected
    datadir = imported.datadir
    assert datadir.cover_path(record["sha256"]).is_file() is expected
    assert datadir.thumb_path(record["sha256"]).is_file() is expected


@pytest.mark.parametrize("row", _params(CATALOGUED_PDFS))
def test_pdf_has_text_matches_the_file(imported, row):
    assert imported.record(row)["has_text"] is row["facts"]["has_text"]


def test_epub_with_missing_resources_is_catalogued_with_its_text(imported):
    row = next(row for row in ROWS if row["file"] == "epub/idpf-kusamakura-japanese-vertical-writing.epub")
    assert "absent" in row["note"]  # the manifest says audio files are missing from the archive
    record = imported.record(row)
    assert record["has_text"] is True
    with contextlib.closing(imported.datadir.connect()) as connection:
        units = records.text_units(connection, record["files"][0]["id"])
    assert [unit["seq"] for unit in units] == list(range(1, row["facts"]["spine_items"] + 1))
    assert sum(len(unit["text"]) for unit in units) > 10_000
    assert "草枕" in units[0]["text"]


@pytest.mark.parametrize("row", _params(BROKEN))
def test_broken_file_is_refused_clearly_or_accepted_safely(imported, row):
    outcome = imported.outcomes[row["file"]]
    name = Path(row["file"]).name
    if outcome.status == "refused":
        error = outcome.error
        assert_clear_refusal(error.code, error.render(), error.render(), name)
        assert_nothing_written(imported.datadir, row["sha256"], name)
    else:
        assert outcome.status == "imported", outcome.status
        record = imported.records[row["file"]]
        assert record["sha256"] == row["sha256"]
        title = manifest_title(row) if row["facts"] and "title" in row["facts"] else None
        if title:
            assert norm(record["title"]) == title


def test_readable_epub_without_mimetype_entry_is_accepted(imported):
    row = next(row for row in ROWS if row["file"] == "epub/epubcheck-ocf-mimetype-file-missing-error.epub")
    record = imported.record(row)
    assert norm(record["title"]) == manifest_title(row)
    assert record["language"] == manifest_language(row)
    assert record["pages"] == row["facts"]["spine_items"]
    assert record["has_text"] is True


def test_pdf_that_needs_a_password_is_refused(imported):
    row = next(row for row in ROWS if row["file"] == "pdf/pypdf-libreoffice-writer-password.pdf")
    assert row["facts"]["needs_pass"] is True
    outcome = imported.outcomes[row["file"]]
    assert (outcome.status, outcome.reason_code) == ("refused", "password-protected")
    assert_clear_refusal(outcome.reason_code, outcome.error.render(), outcome.error.render(), row["file"])
    assert_nothing_written(imported.datadir, row["sha256"], Path(row["file"]).name)


def test_encrypted_pdf_that_opens_without_a_password_is_accepted(imported):
    row = next(row for row in ROWS if row["file"] == "pdf/pdfjs-empty_protected.pdf")
    assert row["facts"]["encrypted"] is True and row["facts"]["needs_pass"] is False
    record = imported.record(row)
    assert record["pages"] == row["facts"]["page_count"]


def test_every_refusal_in_the_corpus_leaves_nothing_behind(imported):
    refused = {key: outcome for key, outcome in imported.outcomes.items() if outcome.status == "refused"}
    assert refused, "the corpus has files that must be refused"
    by_file = {row["file"]: row for row in ROWS}
    for key, outcome in refused.items():
        assert outcome.error is not None and outcome.reason_code in REFUSAL_CODES, key
        if key in by_file:
            assert_nothing_written(imported.datadir, by_file[key]["sha256"], Path(key).name)


def test_stored_files_hash_to_their_names_and_the_manifest(imported):
    datadir = imported.datadir
    stored = sorted(path for path in datadir.files_dir.rglob("*") if path.is_file())
    expected = {record["sha256"]: record for record in imported.records.values()}
    assert sorted(path.name.split(".", 1)[0] for path in stored) == sorted(expected), "one stored file per record"
    manifest_sha = {row["sha256"] for row in ROWS}
    for path in stored:
        digest = sha256_of(path)
        assert path.name.split(".", 1)[0] == digest, f"{path.name} does not hash to its name"
        assert digest in manifest_sha, f"{path.name} is in no manifest row"
        assert path == datadir.book_path(digest, expected[digest]["format"])
    for key, record in imported.records.items():
        row = next(row for row in ROWS if row["file"] == key)
        assert record["sha256"] == row["sha256"], key


def test_importing_the_corpus_again_reports_duplicates_and_adds_nothing(imported, corpus_dir):
    datadir = imported.datadir
    with contextlib.closing(datadir.connect()) as connection:
        count = records.count_records(connection)
    stored_before = stored_files(datadir)

    outcomes = imported.importer.run([corpus_dir])

    again = {outcome.path.relative_to(corpus_dir).as_posix(): outcome for outcome in outcomes}

    assert set(again) == set(imported.outcomes)
    for key, first in imported.outcomes.items():
        second = again[key]
        if first.status == "imported":
            assert (second.status, second.record_id) == ("duplicate", first.record_id), key
        else:
            assert (second.status, second.reason_code) == ("refused", first.reason_code), key
    with contextlib.closing(datadir.connect()) as connection:
        assert records.count_records(connection) == count
    assert stored_files(datadir) == stored_before


# --- one file in two folders -----------------------------------------------------------------


def _two_copies(source: Path, base: Path) -> list[Path]:
    copies = []
    for folder in ("rak-a", "rak-b"):
        (base / folder).mkdir()
        copies.append(Path(shutil.copy(source, base / folder / source.name)))
    return copies


def test_one_file_in_two_folders_is_stored_once(corpus, tmp_path, datadir, importer):
    copies = _two_copies(corpus / "epub" / "idpf-hefty-water.epub", tmp_path)
    outcomes = importer.run([copy.parent for copy in copies])
    assert sorted(outcome.status for outcome in outcomes) == ["duplicate", "imported"]
    assert {outcome.path for outcome in outcomes} == set(copies)
    with contextlib.closing(datadir.connect()) as connection:
        assert records.count_records(connection) == 1
    assert len([path for path in datadir.files_dir.rglob("*") if path.is_file()]) == 1


def test_two_copies_of_a_refused_file_are_both_refused(corpus, tmp_path, datadir, importer):
    """The second copy must not be called a duplicate of a record that is never created."""
    copies = _two_copies(corpus / "pdf" / "pypdf-libreoffice-writer-password.pdf", tmp_path)
    outcomes = importer.run([copy.parent for copy in copies])
    assert sorted((str(outcome.path), outcome.status, outcome.reason_code) for outcome in outcomes) == [
        (str(copy), "refused", "password-protected") for copy in copies
    ]
    with contextlib.closing(datadir.connect()) as connection:
        assert records.count_records(connection) == 0


# --- hostile files, quickly and within memory ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("zipbomb-1GiB-zeros.epub", "unsafe-archive"),
        ("billion-laughs-opf.epub", "unsafe-xml"),
        ("xxe-opf.epub", "unsafe-xml"),
    ],
)
def test_hostile_archive_is_refused_quickly_with_bounded_memory(corpus, datadir, importer, name, code):
    with PeakMemory() as memory:
        started = time.monotonic()
        [outcome] = importer.run([corpus / "hostile" / name])
        elapsed = time.monotonic() - started
    assert (outcome.status, outcome.reason_code) == ("refused", code)
    assert elapsed < QUICK_SECONDS, f"{name} took {elapsed:.1f} s"
    assert memory.samples > 2
    assert memory.peak < MEMORY_LIMIT_BYTES, f"{name}: the import used {memory.peak / 1e6:.0f} MB"


# --- the command line over corpus/hostile ----------------------------------------------------


@dataclasses.dataclass
class HostileRun:
    datadir: DataDir
    result: Result
    lines: list[dict]
    by_name: dict[str, dict]
    escaped: list[Path]  # files that appeared outside the data directory during the import
    cli: object

    def line(self, name: str) -> dict:
        return self.by_name[name]


def _outside_listing(roots: list[Path], exclude: Path) -> set[Path]:
    found = set()
    for root in roots:
        for path in root.rglob("*"):
            if exclude != path and exclude not in path.parents:
                found.add(path)
    return found


def _traversal_targets(archive: Path, roots: list[Path]) -> set[Path]:
    """Where the archive's climbing or absolute entry names would land if extracted anywhere."""
    targets = set()
    with zipfile.ZipFile(archive) as opened:
        names = opened.namelist()
    for name in names:
        if not (name.startswith("/") or ".." in PurePosixPath(name).parts):
            continue
        if name.startswith("/"):
            targets.add(Path(name))
        for root in roots:
            targets.add(Path(os.path.normpath(root / name.lstrip("/"))))
    return targets


@pytest.fixture(scope="module")
def hostile(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> HostileRun:
    base = tmp_path_factory.mktemp("hostile")
    data = base / "data"
    env: dict[str, str | None] = {name: None for name in os.environ if name.startswith("EBOOKSERVER_")}
    env["EBOOKSERVER_DATA_DIR"] = str(data)
    runner = CliRunner()

    def cli(*args: object) -> Result:
        return runner.invoke(main, [str(arg) for arg in args], env=env, catch_exceptions=False)

    watched = [tmp_path_factory.getbasetemp()]
    roots = [data, data / "tmp", data / "files", base, Path.cwd()]
    targets = _traversal_targets(corpus_dir / "hostile" / "path-traversal.epub", roots)
    existed = {target for target in targets if target.exists()}
    before = _outside_listing(watched, data)

    result = cli("import", corpus_dir / "hostile", "--json")

    escaped = sorted(_outside_listing(watched, data) - before)
    escaped += sorted(target for target in targets if target.exists() and target not in existed)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    by_name = {Path(line["path"]).name: line for line in lines}
    return HostileRun(DataDir(data), result, lines, by_name, escaped, cli)


def test_every_hostile_row_has_an_expected_handling(corpus_dir):
    assert {Path(row["file"]).name for row in HOSTILE} == set(HOSTILE_HANDLING)


def test_hostile_import_prints_one_json_line_per_file_and_fails(hostile, corpus_dir):
    files = sorted(path for path in (corpus_dir / "hostile").iterdir() if path.is_file())
    assert sorted(Path(line["path"]) for line in hostile.lines) == files
    for line in hostile.lines:
        assert set(line) == JSON_LINE_KEYS, line
        assert line["status"] in ("imported", "duplicate", "refused"), line
    assert any(line["status"] == "refused" for line in hostile.lines)
    assert hostile.result.exit_code != 0


@pytest.mark.parametrize("row", _params(HOSTILE))
def test_hostile_file_gets_the_handling_its_row_asks_for(hostile, row):
    name = Path(row["file"]).name
    expected = HOSTILE_HANDLING[name]
    line = hostile.line(name)
    if line["status"] == "refused":
        assert expected != "imported", f"{name} must be accepted: {line['reason_en']}"
        if expected != "refused-or-repaired":
            assert line["reason_code"] == expected, line
        assert line["id"] is None
        assert line["sha256"] in (None, row["sha256"])
        assert_clear_refusal(line["reason_code"], line["reason"], line["reason_en"], name)
        assert_nothing_written(hostile.datadir, row["sha256"], name)
    else:
        assert expected in ("imported", "refused-or-repaired"), f"{name} must be refused ({expected}): {line}"
        assert line["status"] == "imported", line
        assert isinstance(line["id"], int)
        assert line["sha256"] == row["sha256"]
        assert line["reason"] is None and line["reason_en"] is None and line["reason_code"] is None
        with contextlib.closing(hostile.datadir.connect()) as connection:
            record = records.get_record(connection, line["id"])
        assert record["pages"] >= 1
        assert hostile.datadir.book_path(row["sha256"], record["format"]).is_file()


def test_path_traversal_writes_nothing_outside_the_data_dir(hostile):
    assert hostile.line("path-traversal.epub")["reason_code"] == "unsafe-archive"
    assert hostile.escaped == []
    stray = [path for path in hostile.datadir.root.rglob("*") if "evil" in path.name or path.name == "outside.xhtml"]
    assert stray == []


def test_entities_are_never_expanded_anywhere(hostile):
    for name in ("billion-laughs-opf.epub", "xxe-opf.epub"):
        assert hostile.line(name)["reason_code"] == "unsafe-xml"
    listing = hostile.cli("list", "--json")
    texts = [
        hostile.result.stdout,
        hostile.result.stderr,
        listing.output,
        *catalogue_texts(hostile.datadir),
        *(str(path) for path in hostile.datadir.root.rglob("*")),
    ]
    for text in texts:
        assert "root:" not in text
        assert "lol" not in text.lower()


def test_script_in_a_title_is_stored_literally(hostile):
    line = hostile.line("xss-script-in-content-and-title.epub")
    assert line["status"] == "imported"
    shown = hostile.cli("show", line["id"], "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["title"] == XSS_TITLE


def test_list_and_show_print_the_required_keys(hostile):
    listing = hostile.cli("list", "--json")
    assert listing.exit_code == 0, listing.output
    listed = json.loads(listing.stdout)
    imported_ids = sorted(line["id"] for line in hostile.lines if line["status"] == "imported")
    assert sorted(record["id"] for record in listed) == imported_ids
    for record in listed:
        assert REQUIRED_RECORD_KEYS - set(record) == set(), "keys missing from list --json"
        shown = hostile.cli("show", record["id"], "--json")
        assert shown.exit_code == 0, shown.output
        one = json.loads(shown.stdout)
        assert REQUIRED_RECORD_KEYS - set(one) == set(), "keys missing from show --json"
        assert {key: one[key] for key in REQUIRED_RECORD_KEYS} == {key: record[key] for key in REQUIRED_RECORD_KEYS}


@pytest.mark.skipif(not INDONESIAN_PO.is_file(), reason=f"the Indonesian catalog {INDONESIAN_PO} is not written yet")
def test_refusal_reasons_are_in_indonesian(hostile):
    refused = [line for line in hostile.lines if line["status"] == "refused"]
    assert refused
    untranslated = [line["reason_en"] for line in refused if line["reason"] == line["reason_en"]]
    assert untranslated == []

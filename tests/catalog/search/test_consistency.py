"""The database is the truth: the index is rebuilt while searches go on, and a missing,
stale or damaged index is noticed and rebuilt."""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import shutil
import threading
import time
import warnings
from pathlib import Path

import pytest

from catalog import records, search
from catalog.datadir import DataDir
from catalog.search import documents as search_documents
from ebookserver.app import create_app
from tests.catalog.search.library import Library, book_epub, book_pdf, build_library, importer

WORDS = ("sawah", "kebun", "nelayan", "pantai", "gunung", "sungai", "pasar", "sekolah")


def _books(folder: Path) -> list[Path]:
    books = []
    for number, word in enumerate(WORDS):
        chapters = tuple(
            f"Cerita {word} bagian {part}: warga desa pergi ke {word} bersama anak-anak pada pagi hari."
            for part in range(1, 6)
        )
        books.append(book_epub(folder, f"buku-{word}", title=f"Buku {word.title()} {number}", chapters=chapters))
    books.append(book_pdf(folder, "laporan", title="Laporan Desa", author="Budi", pages=("Laporan panen padi.",)))
    return books


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Library:
    folder = tmp_path_factory.mktemp("template")
    built = build_library(folder, _books(folder))
    built.index.close()
    return built


@pytest.fixture
def library(template, tmp_path):
    """A copy of the template library (database, files and index) for one test to damage."""
    root = tmp_path / "data"
    shutil.copytree(template.datadir.root, root, symlinks=True)
    datadir = DataDir(root)
    copy = Library(datadir, search.open_index(datadir), dict(template.ids))
    yield copy
    copy.index.close()


def _names(library: Library, result: dict) -> set[str]:
    names = {record_id: name for name, record_id in library.ids.items()}
    return {names[hit["id"]] for hit in result["hits"]}


def _search_works(library: Library) -> None:
    assert _names(library, library.search("sawah")) == {"buku-sawah"}
    assert _names(library, library.search("panen")) == {"laporan"}
    assert _names(library, library.search("sawa*")) == {"buku-sawah"}


def _state(library: Library) -> str:
    with library.connect() as connection, _damaged_files_left_open():
        return library.index.state(records.count_records(connection))


def _ensure(library: Library) -> str:
    with library.connect() as connection, _damaged_files_left_open():
        return search.ensure_index(library.index, connection, processes=1)


@contextlib.contextmanager
def _damaged_files_left_open():
    """Opening a damaged Whoosh index leaves its files for the garbage collector to close
    (a ResourceWarning, an error under this project's pytest settings): tolerated here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            yield
        finally:
            gc.collect()


# --- rebuilding while searches go on -----------------------------------------------------------


class Searchers:
    """Threads that search in a loop, each with its own database connection, until stopped."""

    def __init__(self, library: Library, count: int = 8) -> None:
        self.library = library
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.wrong: list[tuple[str, set[str], str | None]] = []  # (word, books found, message)
        self.finished: list[float] = []  # when each search returned
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(count)]

    def _run(self, number: int) -> None:
        word = WORDS[number % len(WORDS)]
        try:
            with self.library.connect() as connection:
                while not self.stop.is_set():
                    result = search.search(self.library.index, connection, search.SearchRequest(word))
                    found = _names(self.library, result)
                    if found != {f"buku-{word}"}:
                        self.wrong.append((word, found, result["message"]))
                    self.finished.append(time.monotonic())
        except BaseException as error:  # noqa: BLE001 - collected and reported by the test
            self.errors.append(error)

    def __enter__(self) -> Searchers:
        for thread in self.threads:
            thread.start()
        time.sleep(0.05)
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in self.threads), "a search never returned"


def test_rebuild_during_concurrent_searches(library):
    with Searchers(library) as searchers, library.connect() as connection:
        before = len(searchers.finished)
        for _ in range(2):
            assert search.rebuild_index(library.index, connection, processes=1) == len(library.ids)
        time.sleep(0.1)
    assert searchers.errors == []
    assert searchers.wrong == []
    assert len(searchers.finished) > before
    _search_works(library)
    generations = list(library.datadir.index_dir.glob("gen-*"))
    assert len(generations) <= 2, f"old generations pile up: {generations}"


def test_many_rebuilds_during_concurrent_searches(library):
    """The same as above, often enough to meet the moment of the swap."""
    with Searchers(library) as searchers, library.connect() as connection:
        for _ in range(8):
            search.rebuild_index(library.index, connection, processes=1)
    assert searchers.errors == []
    assert searchers.wrong == []


def test_a_search_that_found_the_current_generation_just_before_a_swap_still_answers(library, monkeypatch):
    """The moment the tests above meet by chance, made certain: a search has looked up the
    current generation and is paused there (as a thread can be) while a rebuild swaps in a
    new one; then it goes on."""
    library.index.close()
    looked_up, go_on = threading.Event(), threading.Event()
    searcher_thread: list[threading.Thread] = []
    original = type(library.index).current

    def current(self):
        found = original(self)
        if searcher_thread and threading.current_thread() is searcher_thread[0] and not go_on.is_set():
            looked_up.set()
            go_on.wait(10)
        return found

    monkeypatch.setattr(type(library.index), "current", current)
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = library.search("sawah")
        except BaseException as error:  # noqa: BLE001 - reported below
            outcome["error"] = error

    searcher_thread.append(threading.Thread(target=run))
    searcher_thread[0].start()
    assert looked_up.wait(10)
    with library.connect() as connection:
        search.rebuild_index(search.open_index(library.datadir), connection, processes=1)
    go_on.set()
    searcher_thread[0].join(10)
    assert "error" not in outcome, repr(outcome.get("error"))
    assert _names(library, outcome["result"]) == {"buku-sawah"}


def test_reindex_from_another_process_during_concurrent_searches(library):
    """`ebookserver reindex` has its own SearchIndex; the server's searches must carry on."""
    other = search.open_index(library.datadir)
    with Searchers(library) as searchers, library.connect() as connection:
        for _ in range(2):
            search.rebuild_index(other, connection, processes=1)
            time.sleep(0.1)
    other.close()
    assert searchers.errors == []
    assert searchers.wrong == []
    _search_works(library)


def test_a_rebuild_in_several_processes_finds_what_one_process_finds(library):
    """Shards written by worker processes, one segment each, make one index."""
    queries = [*WORDS, "panen", "sawa*", '"pergi ke pasar"', "judul:gunung", "desa NOT pantai"]
    with library.connect() as connection:
        search.rebuild_index(library.index, connection, processes=1)
        alone = {query: library.search(query) for query in queries}
        shards = search_documents.shards(connection, processes=3, batch=1)
        assert len(shards) == 3
        assert library.index.rebuild(shards) == len(library.ids)
    for query in queries:
        together = library.search(query)
        assert _names(library, together) == _names(library, alone[query]), query
        assert together["total"] == alone[query]["total"], query
        assert together["facets"] == alone[query]["facets"], query
    assert library.search('"pergi ke pasar"')["total"] == 1
    # `desa` is in every story and in the report's title; one story is about the beach.
    assert library.search("desa NOT pantai")["total"] == len(WORDS)
    with library.connect() as connection:
        assert library.index.state(records.count_records(connection)) == "ok"


def test_searches_are_not_blocked_by_a_long_rebuild(library):
    """While a rebuild writes a new generation, searches answer from the old one."""
    with library.connect() as connection:
        [shard] = search_documents.shards(connection, processes=1)
    writing = threading.Event()

    class SlowShard(search_documents.Shard):
        def documents(self):
            for document in super().documents():
                writing.set()
                time.sleep(0.1)
                yield document

    slow = SlowShard(shard.database, shard.record_ids)
    rebuild = threading.Thread(target=library.index.rebuild, args=([slow],))
    with Searchers(library, count=4) as searchers:
        rebuild.start()
        assert writing.wait(10)
        started = time.monotonic()
        rebuild.join(timeout=60)
        ended = time.monotonic()
    assert searchers.errors == []
    assert searchers.wrong == []
    during = [moment for moment in searchers.finished if started < moment < ended - 0.2]
    assert len(during) > 10, f"only {len(during)} searches returned during a {ended - started:.1f} s rebuild"


def test_searches_are_not_blocked_by_an_import(library, tmp_path):
    new = book_epub(tmp_path, "buku-baru", title="Zamrud", chapters=("Pulau zamrud di khatulistiwa.",))
    with Searchers(library, count=4) as searchers:
        [outcome] = importer(library.datadir, library.index).run([new])
    assert outcome.status == "imported"
    library.ids["buku-baru"] = outcome.record_id
    assert searchers.errors == []
    assert searchers.wrong == []
    assert _names(library, library.search("zamrud")) == {"buku-baru"}


# --- missing, damaged, stale -------------------------------------------------------------------


def test_a_deleted_index_is_missing_and_rebuilt(library):
    _search_works(library)
    shutil.rmtree(library.datadir.index_dir)
    assert _state(library) == "missing"
    result = library.search("sawah")
    assert (result["total"], result["hits"], result["message"]) == (0, [], "index-missing")
    assert _ensure(library) == "missing"
    assert _state(library) == "ok"
    _search_works(library)


def test_a_dangling_current_link_is_missing_and_rebuilt(library):
    for generation in library.datadir.index_dir.glob("gen-*"):
        shutil.rmtree(generation)
    assert _state(library) == "missing"
    assert _ensure(library) == "missing"
    _search_works(library)


def _truncate(path: Path, size: int | None = None) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2 if size is None else size)


def _files(library: Library, pattern: str) -> list[Path]:
    current = library.datadir.index_dir / "current"
    return sorted(path for path in current.rglob(pattern) if path.is_file())


@pytest.mark.parametrize(
    "damage",
    [
        "every file to half",
        "every file to nothing",
        "whoosh segments to half",
        "whoosh tables of contents to half",
        "meta.json",
        "vocabulary",
    ],
)
def test_a_damaged_index_is_detected_and_rebuilt(library, damage):
    _search_works(library)
    library.index.close()  # as at a server's start: nothing of the old index is open
    if damage == "every file to half":
        targets = [(path, None) for path in _files(library, "*")]
    elif damage == "every file to nothing":
        targets = [(path, 0) for path in _files(library, "*")]
    elif damage == "whoosh segments to half":
        targets = [(path, None) for path in _files(library, "*.seg")]
    elif damage == "whoosh tables of contents to half":
        targets = [(path, None) for path in _files(library, "*.toc")]
    elif damage == "meta.json":
        targets = [(path, 3) for path in _files(library, "meta.json")]
    else:
        targets = [(path, None) for path in _files(library, "vocabulary.sqlite3")]
    assert targets, f"nothing to damage for {damage}: {list(_files(library, '*'))}"
    for path, size in targets:
        _truncate(path, size)
    assert _state(library) in ("corrupt", "stale")
    assert _ensure(library) in ("corrupt", "stale")
    assert _state(library) == "ok"
    _search_works(library)


@pytest.mark.parametrize("pattern", ["*.seg", "*.toc", "vocabulary.sqlite3"])
def test_a_search_on_an_index_damaged_while_the_server_runs_gives_a_message_not_an_exception(
    library, pattern, monkeypatch
):
    # A logged traceback would keep the damaged index's open files alive past this test.
    monkeypatch.setattr(logging.getLogger("ebookserver.search"), "disabled", True)
    library.index.close()
    for path in _files(library, pattern):
        _truncate(path)
    with _damaged_files_left_open():
        for query in ("sawah", "sawa*", "sawwah"):
            result = library.search(query)
            assert result["hits"] or result["message"], query


def test_a_new_record_behind_the_index_makes_it_stale(library, tmp_path):
    new = book_epub(tmp_path, "buku-baru", title="Zamrud", chapters=("Pulau zamrud di khatulistiwa.",))
    [outcome] = importer(library.datadir, None).run([new])  # an importer that does not index
    assert outcome.status == "imported"
    library.ids["buku-baru"] = outcome.record_id
    assert library.search("zamrud")["total"] == 0
    assert _state(library) == "stale"
    assert _ensure(library) == "stale"
    assert _state(library) == "ok"
    assert _names(library, library.search("zamrud")) == {"buku-baru"}
    _search_works(library)


def test_an_index_of_another_schema_version_is_stale(library):
    meta_path = library.datadir.index_dir / "current" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["schema_version"] = -1
    meta_path.write_text(json.dumps(meta))
    assert _state(library) == "stale"
    assert _ensure(library) == "stale"
    _search_works(library)


def test_an_index_in_step_is_left_alone(library):
    generation = (library.datadir.index_dir / "current").resolve()
    assert _ensure(library) == "ok"
    assert (library.datadir.index_dir / "current").resolve() == generation


# --- the check at server start -----------------------------------------------------------------


def _wait_for_index(client, seconds: float = 20.0) -> dict:
    """/healthz once the index is in step and the check at start has finished (or 20 s passed)."""
    deadline = time.monotonic() + seconds
    while True:
        report = client.get("/healthz").get_json()
        done = report["index"]["ok"] and report["index"]["check_at_start"] != "checking"
        if done or time.monotonic() > deadline:
            return report
        time.sleep(0.1)


@pytest.mark.parametrize("damage", ["no index", "corrupt index"])
def test_the_server_rebuilds_a_missing_or_corrupt_index_at_start(settings, tmp_path, damage):
    datadir = DataDir(settings.data_dir)
    datadir.create()
    books = [
        book_epub(tmp_path, "sawah", title="Sawah Hijau", chapters=("Hamparan sawah hijau di desa.",)),
        book_pdf(tmp_path, "panen", title="Laporan Panen", author="Budi", pages=("Panen padi melimpah.",)),
    ]
    if damage == "no index":
        outcomes = importer(datadir, None).run(books)
        assert not (datadir.index_dir / "current").exists()
    else:
        index = search.open_index(datadir)
        outcomes = importer(datadir, index).run(books)
        index.close()
        for path in (datadir.index_dir / "current").rglob("*"):
            if path.is_file():
                _truncate(path)
    assert [outcome.status for outcome in outcomes] == ["imported", "imported"]

    app = create_app(settings)  # check_index=True: the check runs in the background
    app.config["TESTING"] = True
    client = app.test_client()
    with _damaged_files_left_open():
        report = _wait_for_index(client)
    assert report["index"]["ok"], report
    assert report["index"]["records"] == 2
    assert report["index"]["check_at_start"] in ("missing", "corrupt", "stale")
    response = client.get("/api/v1/search?q=sawah")
    assert response.status_code == 200
    assert [hit["title"] for hit in response.get_json()["hits"]] == ["Sawah Hijau"]
    app.config["SEARCH_INDEX"].close()


def test_a_check_at_start_that_fails_says_so_on_healthz(settings, monkeypatch, caplog):
    """A rebuild at start that cannot finish (a full disk) must not leave /healthz saying
    "checking" for ever: the sysadmin's monitoring would never learn of it."""

    def disk_full(*_arguments, **_options):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(search, "ensure_index", disk_full)
    app = create_app(settings)
    app.config["TESTING"] = True
    client = app.test_client()
    deadline = time.monotonic() + 20
    while client.get("/healthz").get_json()["index"]["check_at_start"] == "checking":
        assert time.monotonic() < deadline, "still checking after 20 s"
        time.sleep(0.05)
    assert client.get("/healthz").get_json()["index"]["check_at_start"] == "failed"
    assert "could not be checked or rebuilt" in caplog.text
    app.config["SEARCH_INDEX"].close()

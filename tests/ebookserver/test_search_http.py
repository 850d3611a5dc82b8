"""/api/v1/search on a real waitress server, against `ebookserver search --json` on the same data."""

from __future__ import annotations

import gc
import json
import os
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import warnings
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner

from ebookserver.cli import main
from tests.catalog.search.library import book_epub, book_pdf


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("EBOOKSERVER_")}


class Server:
    def __init__(self, data: Path, port: int) -> None:
        self.data = data
        self.base = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None

    def get(self, path: str, **parameters) -> tuple[int, str, object]:
        url = self.base + path + ("?" + urllib.parse.urlencode(parameters) if parameters else "")
        try:
            with urllib.request.urlopen(url, timeout=20) as response:  # noqa: S310 - our own local server
                return response.status, response.headers.get_content_type(), json.loads(response.read())
        except urllib.error.HTTPError as error:
            with error:
                body = error.read()
                content_type = error.headers.get_content_type()
            return error.code, content_type, json.loads(body) if content_type == "application/json" else body

    def search(self, **parameters) -> dict:
        status, content_type, body = self.get("/api/v1/search", **parameters)
        assert (status, content_type) == (200, "application/json"), body
        return body

    def cli(self, *arguments: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "ebookserver", "--data-dir", str(self.data), *arguments]
        return subprocess.run(command, capture_output=True, text=True, env=_environment(), timeout=60, check=False)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("books")
    data = folder / "data"
    books = [
        book_epub(
            folder,
            "gemar-membaca",
            title="Gemar Membaca di Desa",
            authors=("Siti Rahayu",),
            isbn="978-602-8519-93-9",
            date="2019",
            chapters=(
                "Setiap sore anak-anak desa membaca buku cerita di perpustakaan kampung.",
                "Buku yang sudah dibaca dikembalikan ke rak dekat jendela balai desa.",
            ),
        ),
        book_epub(
            folder,
            "village-library",
            title="The Village Library",
            authors=("Mary Collins",),
            language="en",
            date="2001",
            chapters=("The desa library opens every morning and lends books to farmers.",),
        ),
        book_pdf(
            folder,
            "panduan-tani",
            title="Panduan Bertani",
            author="Dinas Pertanian",
            pages=(
                "Di desa ini para petani menanam padi dan jagung dengan cara yang ramah lingkungan, dan mereka"
                " membaca buku panduan bersama di balai desa setiap minggu.",
                "Pada musim hujan penanaman dilakukan bersama oleh kelompok tani dari desa.",
            ),
        ),
    ]
    port = _free_port()
    server = Server(data, port)
    imported = server.cli("import", *map(str, books))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    command = [sys.executable, "-m", "ebookserver", "--data-dir", str(data), "serve", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_environment())
    server.process = process
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                status, _type, report = server.get("/healthz")
                if status == 200 and report["index"]["ok"]:
                    break
            except OSError:
                pass
            assert process.poll() is None, "the server stopped"
            assert time.monotonic() < deadline, "the server did not answer /healthz with a ready index in 20 s"
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# The same search through the API (query parameters) and the command (arguments).
SAME = {
    "words": ({"q": "desa"}, ("desa",)),
    "stemmed word": ({"q": "membaca"}, ("membaca",)),
    "phrase": ({"q": '"buku cerita"'}, ('"buku cerita"',)),
    "not": ({"q": "desa -jagung"}, ("desa -jagung",)),
    "second page": ({"q": "desa", "limit": "1", "page": "2"}, ("desa", "--limit", "1", "--page", "2")),
    "prefix": ({"q": "perpus*"}, ("perpus*",)),
    "fields": ({"q": "desa bahasa:id format:pdf isbn:"}, ("desa bahasa:id format:pdf isbn:",)),
    "misspelled": ({"q": "membca"}, ("membca",)),
    "year range": ({"q": "tahun:2000-2020 desa"}, ("tahun:2000-2020 desa",)),
    "by title": ({"q": "desa", "sort": "title"}, ("desa", "--sort", "title")),
    "newest first": ({"q": "desa", "sort": "newest"}, ("desa", "--sort", "newest")),
    "hostile": ({"q": '((( "'}, ('((( "',)),
}


def _command_search(server: Server, arguments: tuple[str, ...]) -> dict:
    """`ebookserver --data-dir D search ... --json`, run in this process (a new Python for each
    of these would cost a second apiece)."""
    with warnings.catch_warnings():
        # `search` leaves its index's files for the garbage collector to close (a ResourceWarning,
        # an error under this project's pytest settings); harmless in a process that then exits
        warnings.simplefilter("ignore", ResourceWarning)
        result = CliRunner().invoke(main, ["--data-dir", str(server.data), "search", *arguments, "--json"])
        gc.collect()
    assert result.exit_code == 0, "".join(traceback.format_exception(*result.exc_info)) if result.exc_info else ""
    return json.loads(result.stdout)


@pytest.mark.parametrize("case", list(SAME))
def test_the_api_and_the_command_give_the_same_json(server, case):
    parameters, arguments = SAME[case]
    assert server.search(**parameters) == _command_search(server, arguments)


def test_the_command_in_its_own_process_prints_the_same_json(server):
    finished = server.cli("search", "desa -jagung", "--limit", "2", "--json")
    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout) == server.search(q="desa -jagung", limit="2")


def test_the_results_are_what_was_asked_for(server):
    result = server.search(q="membaca")
    titles = {hit["title"] for hit in result["hits"]}
    assert titles == {"Gemar Membaca di Desa", "Panduan Bertani"}
    [pdf] = [hit for hit in result["hits"] if hit["format"] == "pdf"]
    assert [snippet["page"] for snippet in pdf["snippets"]] == [1]


@pytest.mark.parametrize(
    ("filters", "query", "titles"),
    [
        ({"lang": "id"}, "bahasa:id", {"Gemar Membaca di Desa", "Panduan Bertani"}),
        ({"language": "en"}, "bahasa:en", {"The Village Library"}),
        ({"format": "pdf"}, "format:pdf", {"Panduan Bertani"}),
        ({"year": "2019"}, "tahun:2019", {"Gemar Membaca di Desa"}),
        ({"lang": "id", "format": "epub"}, "bahasa:id format:epub", {"Gemar Membaca di Desa"}),
        ({"availability": "open"}, "", {"Gemar Membaca di Desa", "Panduan Bertani", "The Village Library"}),
        ({"ddc": "000"}, None, set()),
        ({"lang": "fr", "limit": "2"}, None, set()),
    ],
)
def test_filters_find_what_the_query_syntax_finds(server, filters, query, titles):
    filtered = server.search(q="desa", **filters)
    assert {hit["title"] for hit in filtered["hits"]} == titles
    assert filtered["total"] == len(titles)
    if query is not None:
        typed = server.search(q=f"desa {query}".strip())
        assert [hit["id"] for hit in typed["hits"]] == [hit["id"] for hit in filtered["hits"]]
        assert typed["total"] == filtered["total"]


def test_facets_are_counted_over_all_matches(server):
    facets = server.search(q="desa", limit="1")["facets"]
    assert {item["value"]: item["count"] for item in facets["language"]} == {"id": 2, "en": 1}
    assert {item["value"]: item["count"] for item in facets["format"]} == {"epub": 2, "pdf": 1}


def test_a_missing_record_is_a_json_404(server):
    status, content_type, body = server.get("/api/v1/records/999999")
    assert (status, content_type) == (404, "application/json")
    assert body["error"]["status"] == 404


def test_a_record_found_by_search_can_be_fetched(server):
    [hit] = server.search(q="isbn:9786028519939")["hits"]
    status, _type, record = server.get(f"/api/v1/records/{hit['id']}")
    assert status == 200
    assert record["title"] == hit["title"] == "Gemar Membaca di Desa"


@pytest.mark.parametrize(
    "parameters",
    [
        {"q": "x" * 10_000},
        {"q": '"unbalanced'},
        {"q": "' OR 1=1 --"},
        {"q": "title:(a OR b)^3~2"},
        {"q": "saw\x00ah"},
        {"q": "📚🙂"},
        {"q": "كتاب"},
        {"q": "tahun:9999-1"},
        {"q": ""},
        {},
        {"q": "desa", "page": "abc", "limit": "xyz"},
        {"q": "desa", "page": "-3", "limit": "-1"},
        {"q": "desa", "page": "999999999", "limit": "999999999"},
        {"q": "desa", "sort": "' DROP"},
        {"q": "desa", "sort": "title"},
        {"q": "desa", "year": "abc"},
        {"q": "desa", "year": "99999999999"},
        {"q": "desa", "lang": "\x00", "format": "", "ddc": "../..", "availability": "📚"},
    ],
)
def test_hostile_requests_get_json_200_never_500(server, parameters):
    status, content_type, body = server.get("/api/v1/search", **parameters)
    assert (status, content_type) == (200, "application/json"), body
    assert body["total"] >= 0
    assert body["hits"] or body["message"] or body["page"] > max(body["pages"], 1)


def test_reindex_while_the_server_answers_searches(server):
    """`ebookserver reindex` builds a new generation and swaps it in; the server's searches
    go on, every one answered in full."""
    before = (server.data / "index" / "current").resolve()
    answers: list[tuple[int, int | None]] = []
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            status, _type, body = server.get("/api/v1/search", q="desa")
            answers.append((status, body.get("total") if isinstance(body, dict) else None))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(2):
            finished = server.cli("reindex")
            assert finished.returncode == 0, finished.stderr
            assert "3" in finished.stdout
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert (server.data / "index" / "current").resolve() != before
    assert answers, "no search was answered"
    assert set(answers) == {(200, 3)}
    assert server.search(q="desa")["total"] == 3


def test_the_server_still_answers_after_the_hostile_requests(server):
    assert server.search(q="desa")["total"] == 3


def _workers(server) -> list:
    return psutil.Process(server.process.pid).children()


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: `serve` runs one process")
def test_the_server_runs_a_worker_process_per_core_and_restarts_one_that_dies(server):
    """`workers = 0` (the default): one process per core, all on the same port; a worker
    killed is started again and the others answer meanwhile."""
    workers = _workers(server)
    assert len(workers) == os.cpu_count()
    workers[0].kill()
    deadline = time.monotonic() + 20
    while True:
        alive = [worker for worker in _workers(server) if worker.is_running() and worker.status() != "zombie"]
        if len(alive) == os.cpu_count() and workers[0].pid not in {worker.pid for worker in alive}:
            break
        assert time.monotonic() < deadline, "the killed worker was not started again"
        time.sleep(0.1)
    for _ in range(4 * len(workers)):  # connections land on every worker
        assert server.search(q="desa")["total"] == 3


def test_stopping_the_server_stops_its_workers(tmp_path):
    data = tmp_path / "data"
    port = _free_port()
    command = [sys.executable, "-m", "ebookserver", "--data-dir", str(data), "serve", "--port", str(port)]
    environment = {**_environment(), "EBOOKSERVER_WORKERS": "2"}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment)
    try:
        deadline = time.monotonic() + 20
        while len(psutil.Process(process.pid).children()) < 2:
            assert process.poll() is None, "the server stopped"
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.1)
        workers = psutil.Process(process.pid).children()
        status, _type, _body = Server(data, port).get("/healthz")
        assert status == 200
    finally:
        process.terminate()
        process.wait(timeout=15)
    _gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, "workers outlived the server"

"""OPAC benchmark: page weight and results-page latency through waitress, on the generated
collection of bench/search.py (10,000 books by default).

    python bench/opac.py [--books 10000] [--workdir /tmp/bench-search] [--seed 1]
                         [--clients 20] [--seconds 30] [--queries 140]

What it does, in order:

1. Prints the machine's facts. Reuses (or makes) the catalogue bench/search.py generates for
   the same books and seed in the same workdir, so the two benchmarks share one cache.
2. Starts `python -m ebookserver serve` on 127.0.0.1 with that data directory and waits for
   /healthz to report the index (a missing index is built at start; that time is printed).
3. Page weight: fetches the home page, results pages for a few queries, record pages and a
   reader page, each with every stylesheet, script and image it references except covers
   and thumbnails, and reports the bytes transferred (headers included; waitress sends no
   compression). Goal: under 100 KB each.
4. Latency: --clients threads (keep-alive) request results pages (`/cari?q=…`, the query
   kinds of bench/search.py in turn, also page 2 and a filtered page) for --seconds, then
   the same number of clients request record pages for --seconds. The record pages are the
   reference measured in the same run: they cost a few SQLite reads and a template, no
   search, so the ratio results/record says what searching adds. Goal: results p95 <= 150 ms.

Human-readable lines first, then one JSON line with every figure. Not a test: nothing here is
asserted, and it is not collected by pytest.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import search as search_bench  # noqa: E402  (bench/search.py: the generated collection)

PAGE_WEIGHT_GOAL = 100 * 1000
RESULTS_P95_GOAL_MS = 150.0
TIMEOUT = 120


class _Resources(HTMLParser):
    """The same-site resources a page makes the browser fetch."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in ("img", "script") and attributes.get("src"):
            self.urls.append(attributes["src"])
        if tag == "link" and attributes.get("rel") in ("stylesheet", "icon") and attributes.get("href"):
            self.urls.append(attributes["href"])


def _fetch(connection: http.client.HTTPConnection, path: str) -> tuple[int, bytes, int]:
    """Status, body and bytes on the wire (status line and headers included)."""
    connection.request("GET", path, headers={"Accept-Language": "id"})
    response = connection.getresponse()
    body = response.read()
    head = len(f"HTTP/1.1 {response.status} {response.reason}\r\n")
    head += sum(len(f"{name}: {value}\r\n") for name, value in response.getheaders()) + 2
    return response.status, body, head + len(body)


def page_weight(port: int, path: str) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        status, body, transferred = _fetch(connection, path)
        parser = _Resources()
        parser.feed(body.decode("utf-8", "replace"))
        resources = {}
        for url in dict.fromkeys(parser.urls):
            if url.startswith("/covers/") or "://" in url:
                continue  # covers are excluded by the issue; other hosts never appear (tested)
            _status, _body, size = _fetch(connection, url)
            resources[url] = size
        return {
            "path": path,
            "status": status,
            "html_bytes": transferred,
            "resources": resources,
            "total_bytes": transferred + sum(resources.values()),
        }
    finally:
        connection.close()


def load(port: int, paths: list[str], clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client(number: int, deadline: float) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        position = number * len(paths) // clients
        own, own_errors = [], []
        while time.perf_counter() < deadline:
            path = paths[position % len(paths)]
            position += 1
            begun = time.perf_counter()
            try:
                status, _body, _size = _fetch(connection, path)
                if status != 200:
                    own_errors.append(f"{status} {path}")
                own.append((time.perf_counter() - begun) * 1000)
            except (OSError, http.client.HTTPException) as error:
                own_errors.append(f"{type(error).__name__}: {error} {path}")
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        connection.close()
        with lock:
            latencies.extend(own)
            errors.extend(own_errors)

    deadline = time.perf_counter() + seconds
    threads = [threading.Thread(target=client, args=(n, deadline), daemon=True) for n in range(clients)]
    begun = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - begun
    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 2),
        "latency_ms": search_bench.summary(latencies),
        "errors": len(errors),
        "error_samples": errors[:5],
    }


def results_paths(datadir, seed: int, books: int, count: int) -> list[str]:
    """Results pages for the query kinds of bench/search.py, with some page 2 and filtered pages."""
    rng = random.Random(f"{seed}:{books}:opac")
    paths = []
    for query in search_bench.make_queries(datadir, seed, books, count, "opac"):
        params = {"q": query["q"]}
        for facet, value in query["filters"]:
            if facet == "language":
                params["bahasa"] = value
        roll = rng.random()
        if roll < 0.15:
            params["page"] = "2"
        elif roll < 0.25:
            params["format"] = rng.choice(("pdf", "epub"))
        paths.append("/cari?" + urllib.parse.urlencode(params))
    return paths


def start_server(datadir, workdir: Path) -> tuple[subprocess.Popen, int, float]:
    port = search_bench.free_port()
    command = [sys.executable, "-m", "ebookserver", "--data-dir", str(datadir.root), "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    log = (workdir / "opac-server.log").open("wb")
    server = subprocess.Popen(command, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    started = time.perf_counter()
    while time.perf_counter() - started < 1800:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}; see {log.name}")
        with contextlib.suppress(OSError, http.client.HTTPException, ValueError):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            status, body, _ = _fetch(connection, "/healthz")
            connection.close()
            index = json.loads(body).get("index", {})
            if status == 200 and index.get("ok") and index.get("check_at_start") not in (None, "checking"):
                return server, port, time.perf_counter() - started
        time.sleep(0.5)
    server.kill()
    raise SystemExit("the server did not report its index within 30 minutes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--books", type=int, default=10_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench-search"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--queries", type=int, default=140, help="Distinct results pages in the load (kinds in turn).")
    parser.add_argument(
        "--results-cache",
        type=int,
        default=0,
        help="The server's search_results_cached (default 0: every request searches; the product keeps 64).",
    )
    arguments = parser.parse_args()
    # the servers started below inherit it: results are worked out for every request unless asked
    os.environ["EBOOKSERVER_SEARCH_RESULTS_CACHED"] = str(arguments.results_cache)
    arguments.workdir.mkdir(parents=True, exist_ok=True)

    machine = search_bench.machine_facts()
    print(f"machine: {machine}")
    datadir, manifest = search_bench.catalogue(arguments.workdir, arguments.books, arguments.seed)
    megabytes = manifest["text_bytes"] / 1e6
    print(f"catalogue: {manifest['books']} books, {megabytes:.0f} MB of text (cached: {manifest['cached']})")
    paths = results_paths(datadir, arguments.seed, arguments.books, arguments.queries)
    with contextlib.closing(datadir.connect()) as connection:
        record_ids = [row[0] for row in connection.execute("SELECT id FROM records ORDER BY random() LIMIT 200")]
        reader = connection.execute(
            "SELECT f.record_id, t.seq FROM ebook_files f JOIN text_units t ON t.file_id = f.id"
            " WHERE f.format = 'epub' AND t.seq = 2 LIMIT 1"
        ).fetchone()

    server, port, ready = start_server(datadir, arguments.workdir)
    print(f"server ready in {ready:.1f} s (includes building a missing index)")
    try:
        pages = {"home": "/", "record": f"/buku/{record_ids[0]}", "reader": f"/baca/{reader[0]}/{reader[1]}"}
        for number, path in enumerate(paths[:7]):  # one of each query kind
            pages[f"results {number + 1}"] = path
        weights = {name: page_weight(port, path) for name, path in pages.items()}
        for name, weight in weights.items():
            print(
                f"  {name:<11} {weight['total_bytes'] / 1000:6.1f} KB"
                f" (HTML {weight['html_bytes'] / 1000:.1f} KB; {weight['path'][:60]})"
            )
        # Warm-up: one of each, not measured.
        for path in paths[:7] + [f"/buku/{record_id}" for record_id in record_ids[:5]]:
            page_weight(port, path)
        results_load = load(port, paths, arguments.clients, arguments.seconds)
        record_paths = [f"/buku/{record_id}" for record_id in record_ids]
        record_load = load(port, record_paths, arguments.clients, arguments.seconds)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
    for name, figures in (("results pages", results_load), ("record pages", record_load)):
        latency = figures["latency_ms"]
        print(
            f"{name}: {figures['requests_per_s']} req/s,"
            f" p50/p95/p99 {latency['p50']}/{latency['p95']}/{latency['p99']} ms,"
            f" {figures['errors']} errors ({figures['clients']} clients, {figures['seconds']} s)"
        )
    heaviest = max(weight["total_bytes"] for weight in weights.values())
    results_p95 = results_load["latency_ms"]["p95"]
    report = {
        "machine": machine,
        "catalogue": manifest,
        "page_weight": weights,
        "results_load": results_load,
        "record_load": record_load,
        "ratio_results_to_record_p95": search_bench._ratio(results_p95, record_load["latency_ms"]["p95"]),
        "goals": {
            "page_weight_under_100kb": heaviest < PAGE_WEIGHT_GOAL,
            "results_p95_le_150ms": results_p95 is not None and results_p95 <= RESULTS_P95_GOAL_MS,
            "zero_errors": results_load["errors"] == 0 and record_load["errors"] == 0,
        },
    }
    print(f"goals: {report['goals']}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()

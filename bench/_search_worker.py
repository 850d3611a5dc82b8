"""Helper for bench/search.py: each measured step runs in a fresh process of its own.

    python bench/_search_worker.py build-ours  --datadir D --out result.json [--profile F]
    python bench/_search_worker.py build-fts5  --datadir D --fts PATH --out result.json [--profile F]
    python bench/_search_worker.py query-ours  --datadir D --queries Q.json --out result.json [--profile F]
    python bench/_search_worker.py query-fts5  --fts PATH --queries Q.json --out result.json [--profile F]

A fresh process per step means the peak RSS that bench/search.py samples (and the VmHWM
reported here) belongs to that step alone, not to the generator. Results are
written as JSON to --out; per-query details go to a `.jsonl` file beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import resource
import sqlite3
import sys
import time
import zlib
from pathlib import Path

# The FTS5 reference keys each page/chapter row by record_id * ROWID_STRIDE + seq, so the rows of
# one book are a rowid range (FTS5 pushes rowid ranges down into the full-text index) and the
# record id is rowid / ROWID_STRIDE without reading the content table.
ROWID_STRIDE = 100_000
SNIPPET_TOKENS = 28  # catalog.search.snippets.WINDOW_WORDS
SNIPPETS_PER_HIT = 3  # catalog.search.service.SNIPPETS_PER_HIT
PAGE_SIZE = 10
FTS5_TOKENIZER = "unicode61 remove_diacritics 2"


def _usage() -> dict:
    """CPU time of this process (and of children it has waited for), and its peak RSS.

    The peak is VmHWM from /proc: getrusage's maxrss survives exec, so a fresh process
    started by bench/search.py would report the parent's size whenever that is larger.
    """
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "cpu_seconds": own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
        "own_cpu_seconds": own.ru_utime + own.ru_stime,
        "vm_hwm_mib": _vm_hwm_mib(),
    }


def _vm_hwm_mib() -> float | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return None


def _tree_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


# --------------------------------------------------------------------------------------
# Our side
# --------------------------------------------------------------------------------------


def build_ours(args: argparse.Namespace, profiler: cProfile.Profile | None) -> dict:
    from catalog.datadir import DataDir
    from catalog.search import open_index, rebuild_index

    datadir = DataDir(args.datadir)
    connection = datadir.connect()
    index = open_index(datadir)
    before = _usage()
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    count = rebuild_index(index, connection)
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - started
    after = _usage()
    generation = index.current()
    sizes = {}
    if generation is not None:
        for name in ("records", "units", "vocabulary"):
            sizes[name] = sum(item.stat().st_size for item in generation.glob(f"*{name}*") if item.is_file())
    return {
        "records": count,
        "seconds": seconds,
        "cpu_seconds": after["cpu_seconds"] - before["cpu_seconds"],
        "own_cpu_seconds": after["own_cpu_seconds"] - before["own_cpu_seconds"],
        "vm_hwm_mib": after["vm_hwm_mib"],
        "index_bytes": _tree_bytes(generation) if generation else 0,
        "index_bytes_by_index": sizes,
        "segments": sorted(item.name for item in generation.iterdir()) if generation else [],
    }


def query_ours(args: argparse.Namespace, profiler: cProfile.Profile | None) -> dict:
    from catalog.datadir import DataDir
    from catalog.search import SearchRequest, open_index, search

    plan = json.loads(Path(args.queries).read_text())
    datadir = DataDir(args.datadir)
    connection = datadir.connect()
    index = open_index(datadir)
    index.results_cached = 0  # every query is worked out, as FTS5's are

    def run(query: dict) -> tuple[float, dict]:
        request = SearchRequest(query["q"], page_size=PAGE_SIZE, filters=tuple(tuple(f) for f in query["filters"]))
        started = time.perf_counter()
        result = search(index, connection, request)
        return (time.perf_counter() - started) * 1000, result

    started = time.perf_counter()
    cold_ms, _ = run(plan["warmup"][0])
    for query in plan["warmup"][1:]:
        run(query)
    warmup_seconds = time.perf_counter() - started
    rss_after_warmup = _usage()["vm_hwm_mib"]
    details = []
    if profiler:
        profiler.enable()
    for query in plan["queries"]:
        ms, result = run(query)
        details.append(
            {
                "kind": query["kind"],
                "q": query["q"],
                "filters": query["filters"],
                "ms": ms,
                "total": result["total"],
                "hits": len(result["hits"]),
                "snippets": sum(len(hit.get("snippets", [])) for hit in result["hits"]),
                "suggestion": result["suggestion"],
            }
        )
    if profiler:
        profiler.disable()
    _write_details(args.out, details)
    return {
        "cold_first_query_ms": cold_ms,
        "warmup_seconds": warmup_seconds,
        "vm_hwm_after_warmup_mib": rss_after_warmup,
        "details": details,
        **_usage(),
    }


# --------------------------------------------------------------------------------------
# FTS5 reference
# --------------------------------------------------------------------------------------


FTS5_SCHEMA = f"""
CREATE VIRTUAL TABLE units_fts USING fts5(text, record_id UNINDEXED, seq UNINDEXED, tokenize='{FTS5_TOKENIZER}');
CREATE VIRTUAL TABLE meta_fts USING fts5(title, authors, subjects, isbn, tokenize='{FTS5_TOKENIZER}');
CREATE TABLE meta (id INTEGER PRIMARY KEY, title TEXT, language TEXT, year INTEGER);
"""


def build_fts5(args: argparse.Namespace, profiler: cProfile.Profile | None) -> dict:
    from catalog.datadir import DataDir

    target = Path(args.fts)
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{target}{suffix}")
    source = DataDir(args.datadir).connect()
    before = _usage()
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    fts = sqlite3.connect(str(target), isolation_level=None)
    fts.execute("PRAGMA journal_mode = WAL")
    fts.execute("PRAGMA synchronous = NORMAL")
    fts.executescript(FTS5_SCHEMA)
    fts.execute("BEGIN")
    records = source.execute(
        "SELECT r.id, r.title, r.language, r.year,"
        " (SELECT group_concat(name, '; ') FROM contributors c WHERE c.record_id = r.id) AS authors,"
        " (SELECT group_concat(term, '; ') FROM subjects s WHERE s.record_id = r.id) AS subjects,"
        " (SELECT group_concat(value, ' ') FROM identifiers i WHERE i.record_id = r.id AND scheme = 'isbn') AS isbn"
        " FROM records r ORDER BY r.id"
    ).fetchall()
    fts.executemany(
        "INSERT INTO meta (id, title, language, year) VALUES (?, ?, ?, ?)",
        [(r["id"], r["title"], (r["language"] or "und").split("-")[0].lower(), r["year"]) for r in records],
    )
    fts.executemany(
        "INSERT INTO meta_fts (rowid, title, authors, subjects, isbn) VALUES (?, ?, ?, ?, ?)",
        [(r["id"], r["title"], r["authors"], r["subjects"], r["isbn"]) for r in records],
    )
    units = source.execute(
        "SELECT f.record_id, t.seq, t.text_z FROM text_units t JOIN ebook_files f ON f.id = t.file_id"
        " ORDER BY f.record_id, t.seq"
    )
    text_bytes = 0
    rows = 0
    while True:
        batch = units.fetchmany(2000)
        if not batch:
            break
        texts = []
        for record_id, seq, text_z in batch:
            text = zlib.decompress(text_z).decode("utf-8")
            text_bytes += len(text.encode("utf-8"))
            texts.append((record_id * ROWID_STRIDE + seq, text, record_id, seq))
        fts.executemany("INSERT INTO units_fts (rowid, text, record_id, seq) VALUES (?, ?, ?, ?)", texts)
        rows += len(texts)
    fts.execute("INSERT INTO units_fts (units_fts) VALUES ('optimize')")
    fts.execute("INSERT INTO meta_fts (meta_fts) VALUES ('optimize')")
    fts.execute("COMMIT")
    fts.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - started
    after = _usage()
    by_table = dict(fts.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
    fts.close()
    index_only = sum(size for name, size in by_table.items() if name.endswith(("_data", "_idx", "_docsize")))
    return {
        "rows": rows,
        "text_bytes": text_bytes,
        "seconds": seconds,
        "cpu_seconds": after["cpu_seconds"] - before["cpu_seconds"],
        "own_cpu_seconds": after["own_cpu_seconds"] - before["own_cpu_seconds"],
        "vm_hwm_mib": after["vm_hwm_mib"],
        "db_bytes": sum(_tree_bytes(path) for path in (target, Path(f"{target}-wal")) if path.exists()),
        "index_only_bytes": index_only,
        "bytes_by_table": by_table,
    }


UNITS_TOP = (
    "SELECT rowid / {stride} AS rid, min(rank) AS score, count(*) OVER () AS total"
    " FROM units_fts WHERE units_fts MATCH ? GROUP BY rid ORDER BY score LIMIT {limit}"
)
UNITS_TOP_FILTERED = (
    "SELECT units_fts.rowid / {stride} AS rid, min(units_fts.rank) AS score, count(*) OVER () AS total"
    " FROM units_fts JOIN meta ON meta.id = units_fts.rowid / {stride}"
    " WHERE units_fts MATCH ? AND meta.language = ? GROUP BY rid ORDER BY score LIMIT {limit}"
)
UNIT_SNIPPETS = (
    "SELECT rowid % {stride}, snippet(units_fts, 0, '<b>', '</b>', '…', {tokens}) FROM units_fts"
    " WHERE units_fts MATCH ? AND rowid BETWEEN ? AND ? ORDER BY rank LIMIT {snippets}"
)
META_TOP = (
    "SELECT rowid, rank, snippet(meta_fts, -1, '<b>', '</b>', '…', {tokens}) FROM meta_fts"
    " WHERE meta_fts MATCH ? ORDER BY rank LIMIT {limit}"
)
# FTS5's auxiliary functions (bm25, snippet) cannot run where a window function is, so the
# metadata search counts its matches in a second statement.
META_COUNT = "SELECT count(*) FROM meta_fts WHERE meta_fts MATCH ?"


def fts5_search(connection: sqlite3.Connection, query: dict) -> dict:
    """The FTS5 counterpart of catalog.search.search: the top records, each with up to three
    snippets from its best pages/chapters, its title, and the number of matching records."""
    fmt = {"stride": ROWID_STRIDE, "limit": PAGE_SIZE, "tokens": SNIPPET_TOKENS, "snippets": SNIPPETS_PER_HIT}
    match = query["fts"]["match"]
    hits = []
    if query["fts"]["table"] == "meta":
        rows = connection.execute(META_TOP.format(**fmt), (match,)).fetchall()
        for record_id, score, text in rows:
            hits.append({"id": record_id, "score": score, "snippets": [text]})
        total = connection.execute(META_COUNT, (match,)).fetchone()[0]
    else:
        language = query["fts"].get("language")
        if language:
            rows = connection.execute(UNITS_TOP_FILTERED.format(**fmt), (match, language)).fetchall()
        else:
            rows = connection.execute(UNITS_TOP.format(**fmt), (match,)).fetchall()
        for record_id, score, _ in rows:
            low = record_id * ROWID_STRIDE
            snippets = connection.execute(UNIT_SNIPPETS.format(**fmt), (match, low, low + ROWID_STRIDE - 1)).fetchall()
            hits.append({"id": record_id, "score": score, "snippets": [text for _, text in snippets]})
        total = rows[0][-1] if rows else 0
    for hit in hits:
        row = connection.execute("SELECT title, language, year FROM meta WHERE id = ?", (hit["id"],)).fetchone()
        hit["title"], hit["language"], hit["year"] = row if row else (None, None, None)
    return {"total": total, "hits": hits}


def query_fts5(args: argparse.Namespace, profiler: cProfile.Profile | None) -> dict:
    plan = json.loads(Path(args.queries).read_text())
    connection = sqlite3.connect(str(args.fts), isolation_level=None)

    def run(query: dict) -> tuple[float, dict]:
        started = time.perf_counter()
        result = fts5_search(connection, query)
        return (time.perf_counter() - started) * 1000, result

    started = time.perf_counter()
    cold_ms, _ = run(plan["warmup"][0])
    for query in plan["warmup"][1:]:
        run(query)
    warmup_seconds = time.perf_counter() - started
    rss_after_warmup = _usage()["vm_hwm_mib"]
    details = []
    if profiler:
        profiler.enable()
    for query in plan["queries"]:
        ms, result = run(query)
        details.append(
            {
                "kind": query["kind"],
                "q": query["fts"]["match"],
                "language": query["fts"].get("language"),
                "ms": ms,
                "total": result["total"],
                "hits": len(result["hits"]),
                "snippets": sum(len(hit["snippets"]) for hit in result["hits"]),
            }
        )
    if profiler:
        profiler.disable()
    _write_details(args.out, details)
    return {
        "cold_first_query_ms": cold_ms,
        "warmup_seconds": warmup_seconds,
        "vm_hwm_after_warmup_mib": rss_after_warmup,
        "details": details,
        **_usage(),
    }


def _write_details(out: str, details: list[dict]) -> None:
    with open(Path(out).with_suffix(".jsonl"), "w") as handle:
        for item in details:
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")


def _code_digest() -> str:
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((Path(__file__).resolve().parent.parent / "catalog" / "search").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


STEPS = {"build-ours": build_ours, "build-fts5": build_fts5, "query-ours": query_ours, "query-fts5": query_fts5}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=sorted(STEPS))
    parser.add_argument("--datadir")
    parser.add_argument("--fts")
    parser.add_argument("--queries")
    parser.add_argument("--out", required=True)
    parser.add_argument("--profile", help="Write cProfile statistics of the measured part to this file.")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    profiler = cProfile.Profile() if args.profile else None
    code_digest = _code_digest()  # the search code this step ran (it may change while a benchmark runs)
    result = STEPS[args.step](args, profiler)
    result["code_digest"] = code_digest
    if profiler:
        profiler.dump_stats(args.profile)
    result["pid"] = os.getpid()
    Path(args.out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()

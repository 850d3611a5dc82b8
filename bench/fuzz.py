"""Fuzzing benchmark: mutated corpus EPUBs and PDFs through ingest and the reader, for minutes.

    python bench/fuzz.py [--minutes 10] [--seed N] [--processes 2] [--out /tmp/fuzz-failures]

The long-running companion of tests/robustness/test_fuzz_ingest.py, with the same mutations
(tests/robustness/fuzz_mutations.py) and the same measured child (fuzz_runner.py): each
input is read in a forked child under the ingest worker's memory limit and killed past
its time budget (both from `PoolSettings`, overridable). Where the test's examples are
fixed, the seed here is random unless given, and it is printed so a run can be repeated.

It first reads every unmutated corpus file the same way (the reference: how long and how
much memory real books take here), then fuzzes in `--processes` processes until the time
is up, and prints: examples per second, outcomes by kind and reason, the slowest input and
the largest peak RSS against the budget, the limit and the reference. Any input that
crashed, timed out or died is saved to `--out` with its traceback, for a regression test.
Human-readable lines, then one JSON line with every figure. Not a test; nothing asserted.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalog.extract import Limits
from catalog.workers import PoolSettings
from tests.robustness.fuzz_mutations import mutate
from tests.robustness.fuzz_runner import baseline_rss_mb, read_like_the_server, run_isolated

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=None, help="random when not given (printed)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "fuzz-failures")
    parser.add_argument("--budget", type=float, default=PoolSettings().timeout_seconds, help="seconds per file")
    parser.add_argument("--memory-mb", type=int, default=PoolSettings().memory_limit_mb)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    seeds = load_seeds(args.corpus)
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; seed {seed}; {len(seeds)} corpus files")
    print(f"budget per file {args.budget:.0f} s, memory limit {args.memory_mb} MB (address space)")
    baseline = baseline_rss_mb()
    print(f"baseline RSS of an idle forked child: {baseline:.0f} MB (included in every RSS below)")

    reference = [measure(name, path, args) for name, path in sorted(seeds.items())]
    report("reference: the corpus files unmutated", reference, None)

    deadline = time.monotonic() + args.minutes * 60
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = [(seed + index, seeds, deadline, args) for index in range(args.processes)]
    started = time.monotonic()
    with multiprocessing.get_context("fork").Pool(args.processes) as pool:
        results = [row for rows in pool.starmap(fuzz, jobs) for row in rows]
    elapsed = time.monotonic() - started
    figures = report(f"fuzzing: {len(results)} mutated files in {elapsed:.0f} s", results, reference)
    figures.update(
        seed=seed,
        minutes=args.minutes,
        processes=args.processes,
        examples_per_second=round(len(results) / elapsed, 2),
        budget_seconds=args.budget,
        memory_limit_mb=args.memory_mb,
        baseline_rss_mb=round(baseline, 1),
        failures_saved_to=str(args.out),
    )
    print(f"examples/s: {figures['examples_per_second']} ({args.processes} processes)")
    print(json.dumps(figures, sort_keys=True))


def load_seeds(corpus: Path) -> dict[str, Path]:
    """Every non-empty EPUB and PDF of the corpus, hostile ones included."""
    return {
        f"{path.parent.name}/{path.name}": path
        for path in sorted(corpus.glob("*/*"))
        if path.suffix in (".epub", ".pdf") and path.stat().st_size > 0
    }


def measure(name: str, path: Path, args) -> dict:
    outcome = run_isolated(lambda: read_like_the_server(path, Limits()), args.budget, args.memory_mb)
    return {"input": name, **outcome.__dict__}


def fuzz(process_seed: int, seeds: dict[str, Path], deadline: float, args) -> list[dict]:
    rng = random.Random(process_seed)
    originals = {name: path.read_bytes() for name, path in seeds.items()}
    rows = []
    with tempfile.TemporaryDirectory(prefix="fuzz-") as folder:
        while time.monotonic() < deadline:
            name = rng.choice(sorted(originals))
            suffix = Path(name).suffix
            data = mutate(originals[name], suffix[1:], rng)
            target = Path(folder) / f"mutated{suffix}"
            target.write_bytes(data)
            row = measure(name, target, args)
            if row["kind"] not in ("accepted", "refused"):
                row["saved_as"] = save_failure(args.out, data, suffix, row)
            row["detail"] = row["detail"][:200]
            rows.append(row)
    return rows


def save_failure(out: Path, data: bytes, suffix: str, row: dict) -> str:
    digest = hashlib.sha256(data).hexdigest()[:12]
    path = out / f"{row['kind']}-{row['reason'].replace(' ', '_')}-{digest}{suffix}"
    path.write_bytes(data)
    path.with_suffix(".txt").write_text(f"{row['kind']} {row['reason']} {row['seconds']:.2f}s\n{row['detail']}\n")
    return str(path)


def report(title: str, rows: list[dict], reference: list[dict] | None) -> dict:
    print(f"\n{title}")
    kinds = collections.Counter(row["kind"] for row in rows)
    reasons = collections.Counter(f"{row['kind']}: {row['reason'] or '-'}" for row in rows)
    for reason, count in sorted(reasons.items(), key=lambda pair: -pair[1]):
        print(f"  {count:7d}  {reason}")
    slowest = max(rows, key=lambda row: row["seconds"])
    largest = max(rows, key=lambda row: row["max_rss_mb"])
    chapters = max(rows, key=lambda row: row["chapter_seconds"])
    print(f"  slowest file: {slowest['seconds']:.2f} s ({slowest['input']}, {slowest['kind']} {slowest['reason']})")
    print(f"  largest peak RSS: {largest['max_rss_mb']:.0f} MB ({largest['input']})")
    print(f"  slowest reader rendering of one book: {chapters['chapter_seconds']:.2f} s ({chapters['input']})")
    figures = {
        "files": len(rows),
        "kinds": dict(kinds),
        "reasons": dict(reasons),
        "max_seconds": round(slowest["seconds"], 3),
        "max_rss_mb": round(largest["max_rss_mb"], 1),
        "max_chapter_seconds": round(chapters["chapter_seconds"], 3),
        "failures": [row.get("saved_as") for row in rows if row.get("saved_as")],
    }
    if reference:
        ref_seconds = max(row["seconds"] for row in reference)
        ref_rss = max(row["max_rss_mb"] for row in reference)
        figures["max_seconds_vs_reference"] = round(slowest["seconds"] / ref_seconds, 2)
        figures["max_rss_vs_reference"] = round(largest["max_rss_mb"] / ref_rss, 2)
        print(
            f"  vs the unmutated corpus: slowest x{figures['max_seconds_vs_reference']}, "
            f"largest RSS x{figures['max_rss_vs_reference']}"
        )
    return figures


if __name__ == "__main__":
    main()

"""Load benchmark: many patrons at once against `ebookserver serve` (waitress) on loopback.

    python bench/load.py [--books 10000] [--workdir /tmp/bench-load-10k] [--seed 1]
                         [--clients 50] [--minutes 10] [--max-requests 1000000] [--think 0]
                         [--threads 8] [--workers 0] [--warmup 60] [--baseline-seconds 20]
    python bench/load.py --sweep [--sweep-clients 5,10,20,50,80] [--sweep-threads 4,8,16]
                         [--step-seconds 45] ...

What it does, in order:

1. Prints the machine's facts and load average (other work on the machine skews every figure,
   so the references below are measured in the same run). Reuses (or makes) the catalogue of
   bench/search.py in --workdir, adds a few real e-books, loan licences and members to it once
   (bench/_load_data.py), and starts the server on 127.0.0.1 with --threads and --workers.
2. Reference, unloaded: one client runs the mix for --baseline-seconds.
3. Load: --clients clients in a separate process (bench/_load_clients.py; its CPU time is
   reported) run the weighted mix of searches, browse pages, record pages, reading pages,
   borrow-read-return and kiosk screens, plus /healthz and a stylesheet as the loaded
   reference, for --minutes or --max-requests, whichever ends first. The server's memory
   (every worker process) is sampled every --rss-every seconds; its growth is measured from
   the end of --warmup to the end of the run.
4. Prints per kind count, errors and p50/p95/p99; then one JSON line with every figure.

--sweep instead runs short steps at each number of clients for each thread count (a server
started for each thread count), for the knee of the curve: where throughput stops rising and
latency starts climbing. Loopback only: the server is started here, on 127.0.0.1. Not a
test: nothing here is asserted, and it is not collected by pytest.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _load_data as load_data  # noqa: E402
import search as search_bench  # noqa: E402

WEIGHTS = {"search": 25, "browse": 15, "record": 20, "reading": 15, "lending": 6, "kiosk": 12, "reference": 3}
P95_GOAL_MS = 300.0
RSS_GROWTH_GOAL = 0.10
LOOPBACK = "127.0.0.1"


class Memory(threading.Thread):
    """RSS of the server and all its worker processes, sampled every *interval* seconds."""

    def __init__(self, pid: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int]] = []
        self.cpu: dict[int, float] = {}
        self.started = time.perf_counter()
        self._stop_event = threading.Event()

    def run(self) -> None:
        with contextlib.suppress(psutil.NoSuchProcess):
            process = psutil.Process(self.pid)
            while not self._stop_event.is_set():
                total = 0
                for member in [process, *process.children(recursive=True)]:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        total += member.memory_info().rss
                        times = member.cpu_times()
                        self.cpu[member.pid] = times.user + times.system
                self.samples.append((time.perf_counter() - self.started, total))
                self._stop_event.wait(self.interval)

    def stop(self) -> dict:
        self._stop_event.set()
        self.join(timeout=10)
        # Per process: workers sharing one socket may not share the connections evenly.
        per_process = [round(seconds, 1) for seconds in self.cpu.values()]
        return {"cpu_s": round(sum(per_process), 1), "processes": len(per_process), "per_process": per_process}

    def between(self, start: float, end: float) -> list[int]:
        return [rss for at, rss in self.samples if start <= at <= end]


def tree_cpu(pid: int) -> float:
    """CPU seconds of the server and its workers so far."""
    total = 0.0
    with contextlib.suppress(psutil.NoSuchProcess):
        process = psutil.Process(pid)
        for member in [process, *process.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = member.cpu_times()
                total += times.user + times.system
    return total


def start_server(datadir, workdir: Path, threads: int, workers: int):
    environment = {**os.environ, "EBOOKSERVER_THREADS": str(threads), "EBOOKSERVER_WORKERS": str(workers)}
    port = search_bench.free_port()
    command = [sys.executable, "-m", "ebookserver", "--data-dir", str(datadir.root), "serve"]
    command += ["--host", LOOPBACK, "--port", str(port)]
    log = (workdir / f"load-server-t{threads}.log").open("wb")
    server = subprocess.Popen(command, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, env=environment)
    started = time.perf_counter()
    while time.perf_counter() - started < 1800:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}; see {log.name}")
        with contextlib.suppress(OSError, ValueError, Exception):
            status, body = search_bench._get(port, "/healthz")
            index = json.loads(body).get("index", {})
            if status == 200 and index.get("ok") and index.get("check_at_start") not in (None, "checking"):
                return server, port, time.perf_counter() - started
        time.sleep(0.5)
    server.kill()
    raise SystemExit("the server did not report its index within 30 minutes")


def server_log(workdir: Path, threads: int) -> dict:
    """What the server said: waitress's queue-depth warnings (requests waiting for a thread),
    tracebacks and errors."""
    text = (workdir / f"load-server-t{threads}.log").read_text(errors="replace")
    depths = [int(depth) for depth in re.findall(r"Task queue depth is (\d+)", text)]
    return {
        "queue_depth_warnings": len(depths),
        "max_queue_depth": max(depths, default=0),
        "tracebacks": text.count("Traceback"),
        "error_lines": sum(1 for line in text.splitlines() if line.startswith(("ERROR", "CRITICAL"))),
    }


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


def run_clients(workdir: Path, port: int, clients: int, seconds: float, max_requests: int, think: float) -> dict:
    """The clients in their own process; returns their figures (bench/_load_clients.py)."""
    out = workdir / f"load-clients-{clients}.json"
    command = [sys.executable, str(HERE / "_load_clients.py"), str(workdir / "load-plan.json"), str(port)]
    command += [str(clients), str(seconds), str(max_requests), str(think), json.dumps(WEIGHTS), str(out)]
    subprocess.run(command, check=True)
    return json.loads(out.read_text())


def print_figures(title: str, figures: dict, reference: dict | None = None) -> None:
    print(
        f"{title}: {figures['clients']} clients, {figures['seconds']} s, {figures['requests']} requests,"
        f" {figures['requests_per_s']} req/s, errors {figures['all']['errors']}, client CPU {figures['client_cpu_s']} s"
    )
    print(f"  {'kind':<10} {'n':>7} {'errors':>6} {'p50':>8} {'p95':>8} {'p99':>8}   p50/unloaded")
    for kind, row in {**figures["kinds"], "ALL": figures["all"]}.items():
        base = (reference or {}).get("kinds", {}).get(kind, {}).get("p50") if kind != "ALL" else None
        ratio = f"{row['p50'] / base:8.1f}x" if base and row["p50"] is not None else ""
        print(f"  {kind:<10} {row['n']:>7} {row['errors']:>6} {row['p50']:>8} {row['p95']:>8} {row['p99']:>8} {ratio}")
    if figures["lending"]:
        print(f"  lending outcomes: {figures['lending']}")
    for sample in figures["error_samples"][:8]:
        print(f"  error: {sample}")


def memory_report(memory: Memory, run_started: float, warmup: float, run_seconds: float) -> dict:
    begin = run_started - memory.started
    warm = memory.between(begin + warmup - 10, begin + warmup + 10)
    end = memory.between(begin + run_seconds - 20, begin + run_seconds + 5)
    every = memory.between(begin, begin + run_seconds + 5)
    if not (warm and end):
        return {"note": "too few samples (run shorter than the warm-up?)"}
    after_warmup, at_end = max(warm), max(end)
    return {
        "after_warmup_mb": round(after_warmup / 1e6, 1),
        "at_end_mb": round(at_end / 1e6, 1),
        "peak_mb": round(max(every) / 1e6, 1),
        "growth": round((at_end - after_warmup) / after_warmup, 3),
    }


def single_run(arguments, datadir, machine: dict) -> dict:
    server, port, ready = start_server(datadir, arguments.workdir, arguments.threads, arguments.workers)
    print(f"server ready in {ready:.1f} s (threads {arguments.threads}, workers {arguments.workers or 'one per core'})")
    memory = Memory(server.pid, arguments.rss_every)
    memory.start()
    try:
        baseline = run_clients(arguments.workdir, port, 1, arguments.baseline_seconds, 10**9, 0.0)
        print_figures("unloaded reference (1 client)", baseline)
        run_started, cpu_before = time.perf_counter(), tree_cpu(server.pid)
        loaded = run_clients(
            arguments.workdir, port, arguments.clients, arguments.minutes * 60, arguments.max_requests, arguments.think
        )
        load_cpu = tree_cpu(server.pid) - cpu_before
        server_cpu = memory.stop()
    finally:
        memory.stop()
        stop_server(server)
    print_figures("load", loaded, baseline)
    print("  p95 by 30-second window: " + " ".join(str(window["p95"]) for window in loaded["windows"]))
    rss = memory_report(memory, run_started, arguments.warmup, loaded["seconds"])
    said = server_log(arguments.workdir, arguments.threads)
    print(f"server log: {said}")
    print(f"server memory: {rss}; server CPU {server_cpu['cpu_s']} s {server_cpu['per_process']}")
    cpu_per_request = load_cpu * 1000 / max(loaded["requests"], 1)
    print(
        f"server CPU per request {cpu_per_request:.1f} ms: {2000 / cpu_per_request:.0f} req/s would fill two"
        f" cores of this machine; the server used {load_cpu / loaded['seconds']:.2f} cores on average"
    )
    load_after = [round(value, 2) for value in os.getloadavg()]
    print(f"load average before {machine['load_average']}, after {load_after}")
    goals = {
        "zero_errors": loaded["all"]["errors"] == 0,
        "p95_le_300ms": loaded["all"]["p95"] is not None and loaded["all"]["p95"] <= P95_GOAL_MS,
        "memory_growth_under_10pct": rss.get("growth") is not None and rss["growth"] < RSS_GROWTH_GOAL,
    }
    print(f"goals: {goals}")
    return {
        "baseline": baseline,
        "load": loaded,
        "memory": rss,
        "server_cpu": server_cpu,
        "server_log": said,
        "server_cpu_ms_per_request": round(cpu_per_request, 1),
        "load_average_after": load_after,
        "goals": goals,
    }


def sweep(arguments, datadir) -> dict:
    rows = []
    print(
        f"{'threads':>7} {'clients':>7} {'req/s':>7} {'errors':>6} {'p50':>8} {'p95':>8} {'p99':>8}"
        f" {'search95':>8} {'record95':>8} {'ref95':>7} {'load1':>5} {'cores':>6}"
    )
    for threads in arguments.sweep_threads:
        server, port, _ready = start_server(datadir, arguments.workdir, threads, arguments.workers)
        try:
            run_clients(arguments.workdir, port, 5, 10, 10**9, 0.0)  # warm-up, not measured
            for clients in arguments.sweep_clients:
                cpu_before = tree_cpu(server.pid)
                step = run_clients(
                    arguments.workdir, port, clients, arguments.step_seconds, arguments.max_requests, arguments.think
                )
                kinds = step["kinds"]
                server_cpu = tree_cpu(server.pid) - cpu_before
                row = {
                    "threads": threads,
                    "clients": clients,
                    "requests_per_s": step["requests_per_s"],
                    "errors": step["all"]["errors"],
                    "p50": step["all"]["p50"],
                    "p95": step["all"]["p95"],
                    "p99": step["all"]["p99"],
                    "search_p95": kinds.get("search", {}).get("p95"),
                    "record_p95": kinds.get("record", {}).get("p95"),
                    "reference_p95": kinds.get("reference", {}).get("p95"),
                    "client_cpu_s": step["client_cpu_s"],
                    "server_cpu_s": round(server_cpu, 1),
                    "server_cores": round(server_cpu / step["seconds"], 2),
                    "server_cpu_ms_per_request": round(server_cpu * 1000 / max(step["requests"], 1), 1),
                    "load_average": round(os.getloadavg()[0], 2),
                    "error_samples": step["error_samples"][:3],
                }
                rows.append(row)
                print(
                    f"{threads:>7} {clients:>7} {row['requests_per_s']:>7} {row['errors']:>6} {row['p50']:>8}"
                    f" {row['p95']:>8} {row['p99']:>8} {row['search_p95']!s:>8} {row['record_p95']!s:>8}"
                    f" {row['reference_p95']!s:>7} {row['load_average']:>5} {row['server_cores']:>6}",
                    flush=True,
                )
        finally:
            stop_server(server)
    return {"steps": rows}


def _numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--books", type=int, default=10_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench-load-10k"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--max-requests", type=int, default=1_000_000, help="Stop after this many requests.")
    parser.add_argument("--think", type=float, default=0.0, help="Mean pause of a client between scenarios (s).")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads per server process.")
    parser.add_argument("--workers", type=int, default=0, help="Server processes (0: one per core).")
    parser.add_argument("--warmup", type=float, default=60.0, help="Seconds before memory growth is measured from.")
    parser.add_argument("--baseline-seconds", type=float, default=20.0)
    parser.add_argument("--rss-every", type=float, default=3.0)
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--sweep-clients", type=_numbers, default=[5, 10, 20, 50, 80])
    parser.add_argument("--sweep-threads", type=_numbers, default=[4, 8, 16])
    parser.add_argument("--step-seconds", type=float, default=45.0)
    arguments = parser.parse_args()
    if arguments.minutes <= 0 or arguments.max_requests <= 0 or arguments.clients <= 0:
        parser.error("--minutes, --max-requests and --clients must be positive")
    arguments.workdir.mkdir(parents=True, exist_ok=True)

    machine = search_bench.machine_facts()
    print(f"machine: {machine}")
    datadir, manifest = search_bench.catalogue(arguments.workdir, arguments.books, arguments.seed)
    print(f"catalogue: {manifest['books']} books (cached: {manifest['cached']})")
    load_data.prepare(datadir)
    plan = load_data.plan(datadir, arguments.seed, arguments.books)
    (arguments.workdir / "load-plan.json").write_text(json.dumps(plan))
    print("plan: " + ", ".join(f"{kind} {len(paths)}" for kind, paths in plan.items() if isinstance(paths, list)))
    print(f"mix weights: {WEIGHTS}")
    report = {"machine": machine, "catalogue": manifest, "weights": WEIGHTS, "think_s": arguments.think}
    if arguments.sweep:
        report["sweep"] = sweep(arguments, datadir)
    else:
        report.update(single_run(arguments, datadir, machine))
    print(json.dumps(report))


if __name__ == "__main__":
    main()

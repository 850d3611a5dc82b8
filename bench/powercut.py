"""Power-cut benchmark: SIGKILL the server and the importer at random moments, many times, and
check after each restart that nothing acknowledged was lost.

    python bench/powercut.py [--kills 100] [--seed 1] [--workdir /tmp/bench-powercut] [--server-workers 1]

Each cut starts one kind of work, in turn: a command-line import of a few new EPUBs, uploads
through the librarian's page, a full `ebookserver reindex`, patrons borrowing and returning,
a `push-stats` of ten days to a real `ebookserver receiver`. After a random delay every process
of the library is killed with SIGKILL (the receiver, upstream's machine, keeps running), the
server is started again, and `tests/robustness/invariants.py` checks: `PRAGMA integrity_check`,
every acknowledged import/upload and loan/return still there, every file a record names on
disk, the index holding exactly the database's records after the server's own start-up check,
no report counted as sent that the receiver lacks and no day left out of the outbox.

Figures: cuts per phase (and how many landed while the work still ran), problems found,
seconds until the restarted server answered and until its start-up index check (with any
rebuild) was done, against the same figures for the first, clean start (the reference).
Human-readable lines, a table, then one JSON line. Not a test: nothing is asserted here;
`tests/robustness/test_powercuts.py` runs a short version of the same loop.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.robustness.powercut import run_powercuts, summary_rows

HEADER = ("phase", "cuts", "mid-work", "problems", "restart p50", "restart max", "ready p50", "ready max", "rebuilt")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench-powercut"))
    parser.add_argument("--server-workers", type=int, default=1, help="`workers` setting of the server")
    arguments = parser.parse_args()
    # SIGTERM ends the run through `finally`, so no server is left behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    shutil.rmtree(arguments.workdir, ignore_errors=True)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; python {sys.version.split()[0]}")
    began = time.monotonic()
    report = run_powercuts(
        arguments.workdir, arguments.kills, seed=arguments.seed, server_workers=arguments.server_workers
    )
    elapsed = time.monotonic() - began
    rows = summary_rows(report)
    print()
    print(" | ".join(f"{title:>11}" for title in HEADER))
    for row in rows:
        print(" | ".join(f"{value:>11.2f}" if isinstance(value, float) else f"{value!s:>11}" for value in row))
    print()
    print(
        f"reference, the first clean start: answering {report.clean_start_seconds:.2f} s,"
        f" index checked {report.clean_ready_seconds:.2f} s"
    )
    overall = rows[-1]
    print(f"restart after a cut / clean start (medians): {overall[4] / report.clean_start_seconds:.2f}")
    print(f"acknowledged: {report.answers}; reports the receiver holds: {report.reports_received}")
    print(f"problems: {len(report.problems)}")
    for problem in report.problems:
        print(f"  {problem}")
    print(f"wall time {elapsed:.0f} s, load average at the end {os.getloadavg()[0]:.1f}")
    print(
        json.dumps(
            {
                "kills": arguments.kills,
                "seed": arguments.seed,
                "cores": os.cpu_count(),
                "wall_seconds": round(elapsed, 1),
                "clean_start_seconds": report.clean_start_seconds,
                "clean_ready_seconds": report.clean_ready_seconds,
                "table": [dict(zip(HEADER, row, strict=True)) for row in rows],
                "answers": report.answers,
                "reports_received": report.reports_received,
                "problems": report.problems,
                "cuts": [dataclasses.asdict(cut) for cut in report.cuts],
            }
        )
    )


if __name__ == "__main__":
    main()

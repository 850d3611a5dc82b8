"""Power cuts on purpose: start some work, SIGKILL every process of the library after a random
delay, start the server again, and check what must survive (`invariants`).

The work, one phase per cut, in turn: a command-line import, uploads through the librarian's
page, a full `ebookserver reindex` (index commits), patrons borrowing and returning, and a
statistics push to a real receiver. `run_powercuts` returns the figures `bench/powercut.py`
prints and `test_powercuts.py` asserts on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import json
import random
import statistics
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from tests.robustness.invariants import Acknowledged, check_all
from tests.robustness.rig import Process, Rig
from tests.web.client import Client

PAST_DAYS = 20  # the library's first day was this many days ago
PHASES = ("import", "upload", "index", "loans", "stats")
# What a client meets when the server dies under its request.
CUT_OFF = (OSError, http.client.HTTPException)
LENDING_SECONDS = 2.0  # patrons borrow and return until the cut: cut within this time


@dataclasses.dataclass
class Cut:
    number: int
    phase: str
    delay: float
    mid_work: bool  # the work was still running when the power went
    restart_seconds: float  # until the server answered again
    recovery_seconds: float  # until its start-up check (and any index rebuild) was done
    index_found: str  # what that check found: ok, stale, missing, corrupt
    problems: list[str]


@dataclasses.dataclass
class Report:
    cuts: list[Cut]
    clean_start_seconds: float  # the reference: the server's first start, before any cut
    clean_ready_seconds: float
    answers: dict[str, int]  # acknowledgements received, by kind
    reports_received: int
    uncut_seconds: dict[str, float]  # each phase's work when nothing cuts it

    def by_phase(self) -> dict[str, list[Cut]]:
        return {phase: [cut for cut in self.cuts if cut.phase == phase] for phase in PHASES}

    @property
    def problems(self) -> list[str]:
        return [f"cut {cut.number} ({cut.phase}): {problem}" for cut in self.cuts for problem in cut.problems]


class Work:
    """One phase's work in flight: its processes (killed by the cut) and client threads."""

    def __init__(self) -> None:
        self.processes: list[Process] = []
        self.threads: list[threading.Thread] = []
        self.stop = threading.Event()

    def thread(self, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        self.threads.append(thread)

    def running(self) -> bool:
        return any(not process.finished() for process in self.processes) or any(
            thread.is_alive() for thread in self.threads
        )

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)
        for process in self.processes:
            if process.popen.stdout is not None:
                process.popen.stdout.close()


def run_powercuts(
    workdir: Path, kills: int, seed: int = 1, log: Callable[[str], None] = print, server_workers: int = 1
) -> Report:
    chance = random.Random(seed)
    rig = Rig(workdir, server_workers=server_workers)
    acknowledged = Acknowledged()
    cuts: list[Cut] = []
    try:
        rig.prepare(past_days=PAST_DAYS)
        rig.start_receiver()
        clean_start, clean_ready = rig.start_server()
        log(f"clean start: answering after {clean_start:.2f} s, index checked after {clean_ready:.2f} s")
        calibrated = calibrate(rig, acknowledged, chance)
        durations = dict(calibrated)
        log("each phase's work uncut: " + ", ".join(f"{phase} {seconds:.2f} s" for phase, seconds in durations.items()))
        for number in range(1, kills + 1):
            phase = PHASES[(number - 1) % len(PHASES)]
            work = START[phase](rig, acknowledged, chance)
            delay = chance.uniform(0.02, durations[phase] * 1.2)
            time.sleep(delay)
            mid_work = work.running()
            if not mid_work:  # the work is shorter than measured (a push of fewer days): cut sooner
                durations[phase] *= 0.8
            rig.cut()
            work.join()
            restart, ready = rig.start_server()
            found = rig.health()["index"]["check_at_start"]
            problems = check_all(rig, acknowledged)
            settle_loans(rig, acknowledged)
            cuts.append(Cut(number, phase, delay, mid_work, restart, ready, found, problems))
            log(
                f"cut {number:3d} {phase:6s} after {delay:5.2f} s {'mid-work' if mid_work else 'after it'}:"
                f" restart {restart:5.2f} s, ready {ready:5.2f} s, index {found}"
                + (f"; PROBLEMS {problems}" if problems else "")
            )
        received = len(rig.receiver_reports())
    finally:
        rig.stop()
    return Report(cuts, clean_start, clean_ready, dict(acknowledged.answers), received, calibrated)


def calibrate(rig: Rig, acknowledged: Acknowledged, chance: random.Random) -> dict[str, float]:
    """How long each phase's work lasts when nothing cuts it (lending goes on until stopped):
    the cuts come at random moments within that time."""
    durations = {}
    for phase in PHASES:
        began = time.monotonic()
        work = START[phase](rig, acknowledged, chance)
        if phase == "loans":
            time.sleep(LENDING_SECONDS)
        while phase != "loans" and work.running() and time.monotonic() - began < 300:
            time.sleep(0.02)
        durations[phase] = time.monotonic() - began
        work.join()
        for process in work.processes:
            process.kill()
    settle_loans(rig, acknowledged)
    return durations


# --- the work of each phase -----------------------------------------------------------------


def start_import(rig: Rig, acknowledged: Acknowledged, chance: random.Random) -> Work:
    work = Work()
    folder = rig.new_books(chance.randint(2, 5))
    process = rig.start("import", "import", "--json", str(folder), stdout=subprocess.PIPE)
    work.processes.append(process)

    def read() -> None:
        for line in process.popen.stdout:
            outcome = json.loads(line)
            if outcome["status"] in ("imported", "duplicate"):
                acknowledged.books[outcome["sha256"]] = "import"
                acknowledged.answers["import"] += 1

    work.thread(read)
    return work


def start_upload(rig: Rig, acknowledged: Acknowledged, chance: random.Random) -> Work:
    work = Work()
    client = rig.staff_client()
    token = client.get("/kelola/katalog/unggah").csrf_token()

    def upload() -> None:
        for book in sorted(rig.new_books(chance.randint(1, 3)).iterdir()):
            try:
                answer = upload_one(client, token, book)
            except CUT_OFF:
                return
            if answer.get("files", [{}])[0].get("status") in ("imported", "duplicate"):
                acknowledged.books[hashlib.sha256(book.read_bytes()).hexdigest()] = "upload"
                acknowledged.answers["upload"] += 1

    work.thread(upload)
    return work


def upload_one(client: Client, token: str, book: Path) -> dict:
    """One file the way the upload page's script sends it; the JSON answer."""
    boundary = "----uji" + hashlib.sha256(book.name.encode()).hexdigest()[:16]
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{book.name}"\r\n'
            "Content-Type: application/epub+zip\r\n\r\n"
        ).encode()
        + book.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "X-CSRFToken": token,
        "X-Upload-Single": "1",
        "Accept": "application/json",
    }
    request = urllib.request.Request(  # noqa: S310 - our own server
        client.base + "/kelola/katalog/unggah", data=body, headers=headers, method="POST"
    )
    with client.opener.open(request, timeout=60) as response:
        return json.loads(response.read())


def start_reindex(rig: Rig, acknowledged: Acknowledged, chance: random.Random) -> Work:
    work = Work()
    work.processes.append(rig.start("reindex", "reindex"))
    return work


def start_loans(rig: Rig, acknowledged: Acknowledged, chance: random.Random) -> Work:
    work = Work()
    titles = rig.lent_records()
    for number, member_id in sorted(rig.member_ids().items()):
        client = rig.patron_client(number)
        token = client.get("/akun").csrf_token()

        def lend(client: Client = client, token: str = token, member_id: int = member_id) -> None:
            while not work.stop.is_set():
                record_id = chance.choice(titles)
                key = (member_id, record_id)
                on_loan = acknowledged.loans.get(key, False)
                action, expected = (f"/kembalikan/{record_id}", "/akun") if on_loan else (f"/pinjam/{record_id}", None)
                acknowledged.in_flight.add(key)
                try:
                    answer = client.request(action, data={"csrf_token": token})
                except CUT_OFF:
                    return  # the power went: the answer never came
                if answer.status == 302 and answer.location == (expected or f"/baca/{record_id}"):
                    acknowledged.loans[key] = not on_loan
                    acknowledged.in_flight.discard(key)
                    acknowledged.answers["return" if on_loan else "borrow"] += 1

        work.thread(lend)
    return work


def start_push(rig: Rig, acknowledged: Acknowledged, chance: random.Random) -> Work:
    """`push-stats` sending new revisions of ten past days (one a second), plus any days due."""
    work = Work()
    today = time.gmtime()
    days = sorted({chance.randint(1, PAST_DAYS) for _ in range(10)})
    recounts = []
    for back in days:
        day = time.strftime("%Y-%m-%d", time.gmtime(time.mktime(today) - back * 86400))
        recounts += ["--recount", day]
    work.processes.append(rig.start("push", "push-stats", *recounts))
    return work


START = {
    "import": start_import,
    "upload": start_upload,
    "index": start_reindex,
    "loans": start_loans,
    "stats": start_push,
}


def settle_loans(rig: Rig, acknowledged: Acknowledged) -> None:
    """A request cut off without an answer: the patron now sees (and we now expect) what was kept."""
    from catalog import lending

    with rig.connect() as connection:
        for member_id, record_id in list(acknowledged.in_flight):
            found = lending.active_loan(connection, record_id, member_id) is not None
            acknowledged.loans[(member_id, record_id)] = found
    acknowledged.in_flight.clear()


def summary_rows(report: Report) -> list[tuple]:
    """(phase, cuts, mid-work, problems, restart median/max, ready median/max, index rebuilt)."""
    rows = []
    for phase, cuts in [*report.by_phase().items(), ("all", report.cuts)]:
        if not cuts:
            continue
        restarts = [cut.restart_seconds for cut in cuts]
        readies = [cut.recovery_seconds for cut in cuts]
        rows.append(
            (
                phase,
                len(cuts),
                sum(cut.mid_work for cut in cuts),
                sum(len(cut.problems) for cut in cuts),
                statistics.median(restarts),
                max(restarts),
                statistics.median(readies),
                max(readies),
                sum(cut.index_found != "ok" for cut in cuts),
            )
        )
    return rows

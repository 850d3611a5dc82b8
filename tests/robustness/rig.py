"""A library run as real processes, for power-cut and full-disk tests: `ebookserver serve` on a
free loopback port, command-line imports, `ebookserver reindex`, `ebookserver push-stats` to a
real `ebookserver receiver`. Every process starts in a session of its own, so a "power cut"
(`Rig.cut`) can SIGKILL it together with its worker processes, as pulling the plug would.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.cookiejar
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from catalog import accounts, db, members, pins
from catalog.datadir import DataDir
from tests.builders import make_epub
from tests.web.client import Client

REPO = Path(__file__).resolve().parents[2]
STAFF, STAFF_PASSWORD = "sari", "sawah hijau pagi"
PIN = "2468"
RECEIVER_TOKEN = "token-uji-daya"
WORDS = "padi sawah nelayan pasar sekolah sungai hutan kebun desa pustaka buku cerita".split()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclasses.dataclass
class Process:
    """A child in its own session: `kill()` takes it and every process it started."""

    name: str
    popen: subprocess.Popen
    started: float = dataclasses.field(default_factory=time.monotonic)

    def kill(self) -> None:
        if self.popen.poll() is not None:
            return  # ended and reaped: its number may belong to another process by now
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)

    def finished(self) -> bool:
        return self.popen.poll() is not None


class Rig:
    """One data directory and the processes that use it."""

    def __init__(self, workdir: Path, server_workers: int = 1) -> None:
        self.workdir = Path(workdir)
        self.datadir = DataDir(self.workdir / "data")
        self.books = self.workdir / "books"
        self.books.mkdir(parents=True, exist_ok=True)
        self.logs = self.workdir / "logs"
        self.logs.mkdir(exist_ok=True)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.receiver_port = free_port()
        self.receiver_database = self.workdir / "receiver.sqlite3"
        self.server_workers = server_workers
        self.server: Process | None = None
        self.receiver: Process | None = None
        self.running: list[Process] = []
        self._serial = 0

    # --- processes -------------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        environment = {key: value for key, value in os.environ.items() if not key.startswith("EBOOKSERVER_")}
        environment.update(
            EBOOKSERVER_DATA_DIR=str(self.datadir.root),
            EBOOKSERVER_LANGUAGE="id",
            EBOOKSERVER_WORKERS=str(self.server_workers),
            EBOOKSERVER_THREADS="4",
            EBOOKSERVER_INGEST_WORKERS="1",
            EBOOKSERVER_UPSTREAM_URL=f"http://127.0.0.1:{self.receiver_port}/api/v1/reports",
            EBOOKSERVER_UPSTREAM_TOKEN=RECEIVER_TOKEN,
            EBOOKSERVER_STATS_MIN_COUNT="1",
            PYTHONPATH=str(REPO),
        )
        return environment

    def start(self, name: str, *arguments: str, stdout=None) -> Process:
        """`ebookserver ARGUMENTS…` in a session of its own; output to logs/NAME.log unless piped."""
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it open
        popen = subprocess.Popen(
            [sys.executable, "-m", "ebookserver", *arguments],
            cwd=REPO,
            env=self.environment(),
            stdout=stdout if stdout is not None else log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        process = Process(name, popen)
        self.running.append(process)
        return process

    def run(self, *arguments: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """`ebookserver ARGUMENTS…` to the end, output captured."""
        return subprocess.run(
            [sys.executable, "-m", "ebookserver", *arguments],
            cwd=REPO,
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start_server(self, timeout: float = 120) -> tuple[float, float]:
        """Start the server; (seconds until it answers, seconds until its index check is done)."""
        began = time.monotonic()
        self.server = self.start("server", "serve", "--host", "127.0.0.1", "--port", str(self.port))
        answering = None
        while time.monotonic() - began < timeout:
            if self.server.finished():
                raise RuntimeError(f"the server ended with {self.server.popen.returncode}: see {self.logs}")
            health = self.health()
            if health is not None:
                answering = answering or time.monotonic() - began
                if health["index"]["check_at_start"] not in (None, "checking"):
                    return answering, time.monotonic() - began
            time.sleep(0.05)
        raise RuntimeError(f"the server did not finish starting within {timeout} s")

    def health(self) -> dict | None:
        try:
            with urllib.request.urlopen(self.base + "/healthz", timeout=5) as response:  # noqa: S310 - ours
                return json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def start_receiver(self) -> None:
        self.receiver = self.start(
            "receiver",
            "receiver",
            "--port",
            str(self.receiver_port),
            "--database",
            str(self.receiver_database),
            "--token",
            RECEIVER_TOKEN,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.receiver_port), 1):
                return
            time.sleep(0.05)
        raise RuntimeError("the receiver did not start")

    def cut(self) -> None:
        """The power cut: SIGKILL every process of the library (the receiver is upstream's)."""
        for process in [process for process in self.running if process is not self.receiver]:
            process.kill()
        self.running = [process for process in self.running if process is self.receiver]
        self.server = None

    def stop(self) -> None:
        for process in self.running:
            process.kill()
        self.running = []

    # --- the library -----------------------------------------------------------------------

    def connect(self):
        return contextlib.closing(self.datadir.connect())

    def prepare(self, books: int = 6, patrons: int = 3, past_days: int = 20) -> None:
        """Set the library up: identity, a librarian, patrons with a PIN, books (some lent), and
        activity on *past_days* earlier days so that there are daily reports to send."""
        self.datadir.create()
        with self.connect() as connection, db.transaction(connection):
            accounts.set_identity(
                connection,
                {"name": "Perpustakaan Desa Sukamaju", "npp": "3204012345", "village": "Sukamaju"},
            )
            accounts.create_user(connection, STAFF, "Ibu Sari", "librarian", STAFF_PASSWORD)
        with self.connect() as connection:
            for number in range(1, patrons + 1):
                members.register_member(connection, f"Anggota {number}", number=f"P-{number}")
                pins.set_pin(connection, f"P-{number}", PIN)
        folder = self.new_books(books)
        done = self.run("import", str(folder))
        if done.returncode != 0:
            raise RuntimeError(done.stdout + done.stderr)
        with self.connect() as connection, db.transaction(connection):
            connection.execute("UPDATE records SET licence = 'lending', licence_copies = 50, loan_days = 3")
            if past_days:  # the library's first day: every day since has a daily report to send
                connection.execute(
                    "UPDATE records SET created_at = strftime('%Y-%m-%dT12:00:00Z', 'now', ?) WHERE id = 1",
                    (f"-{past_days} days",),
                )

    def new_books(self, count: int) -> Path:
        """A folder of *count* EPUBs never seen before (each a few chapters, one unique word)."""
        folder = self.books / f"batch-{self._serial:05d}"
        folder.mkdir(parents=True)
        for _ in range(count):
            self._serial += 1
            serial = self._serial
            chapters = tuple(
                " ".join(WORDS[(serial + chapter + word) % len(WORDS)] for word in range(60)) + f" katauji{serial}"
                for chapter in range(4)
            )
            make_epub(folder, title=f"Buku Uji {serial}", chapters=chapters, name=f"buku-{serial}.epub")
        return folder

    def lent_records(self) -> list[int]:
        with self.connect() as connection:
            return [row[0] for row in connection.execute("SELECT id FROM records WHERE licence = 'lending'")]

    def member_ids(self) -> dict[str, int]:
        with self.connect() as connection:
            return {row["number"]: row["id"] for row in connection.execute("SELECT id, number FROM members")}

    def staff_client(self) -> Client:
        with self.connect() as connection:
            [user_id] = connection.execute("SELECT id FROM users WHERE username = ?", (STAFF,)).fetchone()
        return self._signed_in("staff", user_id, "staff_session")

    def patron_client(self, number: str) -> Client:
        return self._signed_in("member", self.member_ids()[number], "patron_session")

    def _signed_in(self, kind: str, subject_id: int, cookie: str) -> Client:
        """A client with a session made in the database, as signing in makes it: the power cuts
        are about the work that follows (sign-in has its own tests)."""
        with self.connect() as connection:
            token = accounts.start_session(connection, kind, subject_id)
        client = Client(self.base)
        client.cookies.set_cookie(
            http.cookiejar.Cookie(
                0, cookie, token, None, False, "127.0.0.1", False, False, "/", True, False, None, True, None, None, {}
            )
        )
        return client

    def receiver_reports(self) -> set[str]:
        if not self.receiver_database.exists():
            return set()
        connection = sqlite3.connect(self.receiver_database, timeout=10)
        try:
            return {row[0] for row in connection.execute("SELECT report_id FROM reports")}
        finally:
            connection.close()

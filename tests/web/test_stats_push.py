"""The daily push to a real receiver (`ebookserver receiver`'s app under waitress on loopback):
success, weeks offline, a timeout after the receiver stored a report, a wrong token, a revised day.
The clock is a test clock; nothing sleeps longer than a few hundred milliseconds."""

from __future__ import annotations

import contextlib
import datetime
import json
import socket
import time
import urllib.error
import urllib.request

import pytest
from click.testing import CliRunner

from catalog import db, outbox, stats
from catalog.datadir import DataDir
from ebookserver.cli import main
from ebookserver.receiver import create_receiver_app, open_database
from tests.web.conftest import serving

TOKEN = "rahasia-kabupaten"


def nobody_listens() -> str:
    """A loopback address where nothing listens (a port just freed): the receiver is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v1/reports"


START = datetime.datetime(2026, 11, 1, 3, tzinfo=datetime.UTC)  # 10:00 in Jakarta


class Clock:
    def __init__(self, moment: datetime.datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime.datetime:
        return self.moment

    def advance(self, **delta) -> None:
        self.moment += datetime.timedelta(**delta)


@pytest.fixture
def library(tmp_path):
    datadir = DataDir(tmp_path / "data")
    datadir.create()
    with contextlib.closing(datadir.connect()) as connection:
        with db.transaction(connection):
            connection.execute(
                "INSERT INTO library (id, name, npp, regency) VALUES (1, 'Perpustakaan Desa Sukamaju', '3204012345',"
                " 'Kabupaten Bandung')"
            )
            connection.execute(
                "INSERT INTO records (title, created_at) VALUES ('Menanam Padi', '2026-10-31T01:00:00Z')"
            )
        yield connection


@pytest.fixture
def receiver(tmp_path):
    database = tmp_path / "receiver.sqlite3"
    app = create_receiver_app(database, TOKEN)
    with serving(app) as base:
        yield Receiver(base, database, app)


class Receiver:
    def __init__(self, base: str, database, app) -> None:
        self.base, self.database, self.app = base, database, app
        self.url = base + "/api/v1/reports"

    def reports(self) -> list[tuple[str, int]]:
        with contextlib.closing(open_database(self.database)) as connection:
            return [tuple(row) for row in connection.execute("SELECT day, revision FROM reports ORDER BY rowid")]

    def current(self) -> dict[str, dict]:
        with contextlib.closing(open_database(self.database)) as connection:
            rows = connection.execute(
                "SELECT c.day, r.document FROM current_reports c JOIN reports r USING (report_id) ORDER BY c.day"
            )
            return {day: json.loads(document) for day, document in rows}

    def get(self, path: str) -> str:
        with urllib.request.urlopen(self.base + path, timeout=10) as response:  # noqa: S310 - our own server
            return response.read().decode()


def read_on(connection, day: str, times: int = 1) -> None:
    with db.transaction(connection):
        for _ in range(times):
            connection.execute("INSERT INTO events (kind, record_id, at) VALUES ('read', 1, ?)", (f"{day}T03:00:00Z",))


def queue(connection, clock: Clock, **options) -> list[dict]:
    return outbox.queue_days(connection, timezone="Asia/Jakarta", now=clock(), min_count=5, **options)


def send(connection, clock: Clock, url: str, token: str = TOKEN, **options) -> outbox.PushResult:
    return outbox.send(
        connection, url=url, token=token, now=clock, sleep=lambda _seconds: None, jitter=lambda: 0.5, **options
    )


def test_completed_days_reach_the_receiver(library, receiver):
    clock = Clock(START)
    read_on(library, "2026-10-31", times=3)
    queued = queue(library, clock)
    assert [document["period"]["date"] for document in queued] == ["2026-10-31"]
    result = send(library, clock, receiver.url)
    assert result.error is None and result.waiting == 0 and result.sent == [queued[0]["report_id"]]
    assert receiver.current()["2026-10-31"]["counts"]["reads"] == 3
    status = outbox.status(library)
    assert status["last_success_at"] == "2026-11-01T03:00:00Z" and status["backlog"] == 0
    page = receiver.get("/")
    assert "Perpustakaan Desa Sukamaju" in page and "2026-10-31" in page
    csv_text = receiver.get("/laporan.csv")
    assert csv_text.splitlines()[1].startswith("3204012345,Perpustakaan Desa Sukamaju,")


def test_weeks_offline_nothing_is_lost_and_the_days_arrive_in_order(library, receiver, tmp_path):
    clock = Clock(START)
    down = nobody_listens()
    for _ in range(21):
        clock.advance(days=1)
        queue(library, clock)
        result = send(library, clock, down, timeout=1)
        assert result.sent == [] and (result.error or result.not_before)
    waiting = outbox.waiting(library)
    assert len(waiting) == 22 and waiting[0]["day"] == "2026-10-31" and waiting[-1]["day"] == "2026-11-21"
    assert "No answer" in outbox.describe(outbox.status(library)["last_error"])
    posted_days = []

    def recording(url, token, body, timeout):
        posted_days.append(json.loads(body)["period"]["date"])
        return outbox.post(url, token, body, timeout)

    sleeps = []
    clock.advance(days=2)  # past any backoff
    result = outbox.send(
        library, url=receiver.url, token=TOKEN, now=clock, sleep=sleeps.append, poster=recording, max_per_run=10
    )
    assert len(result.sent) == 10 and result.waiting == 12  # a bounded number per run...
    assert sleeps == [outbox.SEND_INTERVAL_SECONDS] * 9  # ...at a bounded rate
    result = send(library, clock, receiver.url, poster=recording)
    assert result.waiting == 0
    assert posted_days == sorted(posted_days) and len(posted_days) == len(set(posted_days))
    assert [day for day, _revision in receiver.reports()] == posted_days
    assert len(receiver.current()) == 22  # 31 Oct to 21 Nov, each once


def test_backoff_grows_with_each_failure_and_waits(library):
    clock = Clock(START)
    queue(library, clock)
    down = nobody_listens()
    send(library, clock, down, timeout=1)
    first = outbox.waiting(library)[0]["next_try_at"]
    assert first == "2026-11-01T03:05:00Z"  # 300 s, times (0.5 + jitter 0.5)
    result = send(library, clock, down, timeout=1)
    assert result.not_before == first and result.error is None  # too early: nothing tried
    clock.advance(minutes=5)
    send(library, clock, down, timeout=1)
    assert outbox.waiting(library)[0]["next_try_at"] == "2026-11-01T03:15:00Z"  # then 600 s


def test_a_timeout_after_the_receiver_stored_a_report_does_not_count_it_twice(library, tmp_path):
    database = tmp_path / "slow.sqlite3"
    inner = create_receiver_app(database, TOKEN)
    slow_once = [True]

    def slow_app(environ, start_response):
        body = inner(environ, start_response)
        content = b"".join(body)
        if slow_once[0]:
            slow_once[0] = False
            time.sleep(0.4)  # the sender gave up after 0.1 s, after the report was stored
        return [content]

    clock = Clock(START)
    read_on(library, "2026-10-31", times=2)
    queue(library, clock)
    with serving(slow_app) as base:
        url = base + "/api/v1/reports"
        result = send(library, clock, url, timeout=0.1)
        assert result.error and "No answer" in outbox.describe(result.error) and result.waiting == 1
        clock.advance(hours=1)
        result = send(library, clock, url)
        assert result.error is None and result.waiting == 0
    receiver = Receiver("", database, inner)
    assert receiver.reports() == [("2026-10-31", 1)]
    assert receiver.current()["2026-10-31"]["counts"]["reads"] == 2


def test_a_wrong_token_is_a_clear_error_and_the_report_stays(library, receiver):
    clock = Clock(START)
    queue(library, clock)
    result = send(library, clock, receiver.url, token="salah")
    assert "refused the token (HTTP 401)" in outbox.describe(result.error)
    assert result.waiting == 1 and receiver.reports() == []
    assert outbox.status(library)["last_error"] == result.error


def test_a_revised_day_replaces_the_earlier_one(library, receiver):
    clock = Clock(START)
    read_on(library, "2026-10-31", times=1)
    queue(library, clock)
    send(library, clock, receiver.url)
    read_on(library, "2026-10-31", times=4)  # e.g. events restored from a backup
    [revised] = queue(library, clock, recount=(datetime.date(2026, 10, 31),))
    assert revised["revision"] == 2
    send(library, clock, receiver.url)
    assert receiver.reports() == [("2026-10-31", 1), ("2026-10-31", 2)]
    assert receiver.current()["2026-10-31"]["counts"]["reads"] == 5
    # An old revision arriving late does not replace the newer one.
    old = stats.daily_report(
        library, datetime.date(2026, 10, 31), revision=1, timezone="Asia/Jakarta", now=clock(), min_count=5
    )
    assert outbox.post(receiver.url, TOKEN, json.dumps(old).encode(), 5) == 200
    assert receiver.current()["2026-10-31"]["revision"] == 2


def test_today_goes_as_a_provisional_revision_that_the_final_one_supersedes(library, receiver):
    clock = Clock(START)
    read_on(library, "2026-11-01", times=1)
    queued = queue(library, clock, include_today=True)
    assert [(d["period"]["date"], d["provisional"]) for d in queued] == [("2026-10-31", False), ("2026-11-01", True)]
    send(library, clock, receiver.url)
    clock.advance(days=1)
    read_on(library, "2026-11-01", times=2)
    [final] = queue(library, clock)
    assert final["period"]["date"] == "2026-11-01" and final["revision"] == 2 and not final["provisional"]
    send(library, clock, receiver.url)
    assert receiver.current()["2026-11-01"]["counts"]["reads"] == 3


def test_the_receiver_checks_token_and_schema(receiver):
    def post(body: bytes, token: str = TOKEN) -> int:
        return outbox.post(receiver.url, token, body, 5)

    assert post(b"{}", token="") == 401
    assert post(b"not json") == 400
    assert post(json.dumps({"schema": stats.SCHEMA_ID, "report_id": "x"}).encode()) == 422
    assert receiver.reports() == []


def test_push_stats_and_export_stats_commands(tmp_path, receiver):
    data = tmp_path / "cli-data"
    runner = CliRunner()
    assert runner.invoke(main, ["--data-dir", str(data), "init"]).exit_code == 0
    result = runner.invoke(main, ["--data-dir", str(data), "push-stats"], env={"EBOOKSERVER_LANGUAGE": "en"})
    assert result.exit_code == 1 and "first-run setup" in result.output  # no identity: nothing counted
    datadir = DataDir(data)
    with contextlib.closing(datadir.connect()) as connection, db.transaction(connection):
        connection.execute("INSERT INTO library (id, name, npp) VALUES (1, 'Perpustakaan Uji', '111')")
        connection.execute("INSERT INTO records (title, created_at) VALUES ('Buku', '2026-01-01T00:00:00Z')")
    environment = {
        "EBOOKSERVER_UPSTREAM_URL": receiver.url,
        "EBOOKSERVER_UPSTREAM_TOKEN": "salah",
        "EBOOKSERVER_LANGUAGE": "en",
    }
    result = runner.invoke(main, ["--data-dir", str(data), "push-stats"], env=environment)
    assert result.exit_code == 1 and "refused the token" in result.output
    config = runner.invoke(main, ["--data-dir", str(data), "config"], env=environment)
    assert "salah" not in config.output and receiver.url in config.output
    out = tmp_path / "laporan.json"
    result = runner.invoke(
        main, ["--data-dir", str(data), "export-stats", "--from", "2026-01-01", "--to", "2026-01-31", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    documents = json.loads(out.read_text())
    assert [d["period"]["date"] for d in documents] == [f"2026-01-{day:02d}" for day in range(1, 32)]
    for document in documents:
        stats.validate(document)
    # The file, brought on a USB stick, goes into a receiver's database; twice counts once.
    database = tmp_path / "usb.sqlite3"
    for outcome in ("stored 31", "duplicate 31"):
        result = runner.invoke(main, ["receiver", "--database", str(database), "--load", str(out)])
        assert result.exit_code == 0 and outcome in result.output, result.output
    assert len(Receiver("", database, None).current()) == 31
    assert (
        runner.invoke(main, ["receiver", "--database", str(database)], env={"EBOOKSERVER_RECEIVER_TOKEN": ""}).exit_code
        == 2
    )
    result = runner.invoke(main, ["--data-dir", str(data), "push-stats", "--include-today"], env={
        "EBOOKSERVER_UPSTREAM_URL": "", "EBOOKSERVER_UPSTREAM_TOKEN": ""})  # fmt: skip
    assert result.exit_code == 0 and "upstream_url" in result.output
    # the daily run folds usage events older than events_keep_days into daily counts
    with contextlib.closing(datadir.connect()) as connection, db.transaction(connection):
        for at in ("2026-01-05T01:00:00Z", "2026-01-05T02:00:00Z", "2026-01-06T01:00:00Z"):
            connection.execute("INSERT INTO events (at, kind) VALUES (?, 'visit')", (at,))
        connection.execute("INSERT INTO events (kind) VALUES ('visit')")  # now: kept as it is
    keep_30_days = {"EBOOKSERVER_UPSTREAM_URL": "", "EBOOKSERVER_EVENTS_KEEP_DAYS": "30", "EBOOKSERVER_LANGUAGE": "en"}
    result = runner.invoke(main, ["--data-dir", str(data), "push-stats"], env=keep_30_days)
    assert result.exit_code == 0 and "folded into daily counts: 3" in result.output, result.output
    with contextlib.closing(datadir.connect()) as connection:
        assert connection.execute("SELECT count(*) FROM events").fetchone()[0] == 1
        assert [tuple(row) for row in connection.execute("SELECT at, kind, n FROM event_days ORDER BY at")] == [
            ("2026-01-04T17:00:00Z", "visit", 2),
            ("2026-01-05T17:00:00Z", "visit", 1),
        ]


def test_a_receiver_without_a_token_is_refused(tmp_path):
    with pytest.raises(ValueError, match="token"):
        create_receiver_app(tmp_path / "r.sqlite3", "")


def test_only_http_addresses_are_posted_to(library, tmp_path):
    clock = Clock(START)
    queue(library, clock)
    result = send(library, clock, f"file://{tmp_path}/upstream")
    assert "not an http(s) address" in outbox.describe(result.error) and result.waiting == 1

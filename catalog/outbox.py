"""The outbox of daily reports: kept in SQLite until the receiver answers 2xx.

`queue_days` puts every completed day that has no final report yet into the outbox (and,
when asked, today so far as a provisional revision); `send` posts what is waiting, oldest day
first, one at a time, at most `max_per_run` and no faster than one per `interval` seconds. A
failure stops the run (so no day overtakes another) and the next try waits an exponential
backoff with jitter. The report id is the receiver's idempotency key: sending one again after a
timeout cannot count a day twice. Only the CLI (`ebookserver push-stats`, the systemd timer)
calls this, never a web request, so the OPAC is never kept waiting by the network.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import random
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from catalog import accounts, db, stats
from catalog.i18n import N_

BACKOFF_BASE_SECONDS = 300
BACKOFF_CAP_SECONDS = 24 * 3600
SEND_INTERVAL_SECONDS = 1.0
MAX_PER_RUN = 500
TIMEOUT_SECONDS = 30.0


@dataclasses.dataclass
class PushResult:
    sent: list[str] = dataclasses.field(default_factory=list)  # report ids
    waiting: int = 0
    error: str | None = None  # a stored failure: `describe(error)` says it in words
    not_before: str | None = None  # the run did nothing: the head of the queue waits until then


class UpstreamError(Exception):
    pass


# Why a send failed, stored as JSON {"code": ..., parameters} and shown in the reader's language.
FAILURES = {
    "no-answer": N_("No answer from %(url)s: %(reason)s"),
    "token-refused": N_("The receiver refused the token (HTTP %(status)s): check upstream_token."),
    "document-refused": N_("The receiver refused the report (HTTP %(status)s)."),
    "http-error": N_("The receiver answered HTTP %(status)s."),
}


def describe(failure: str | None, gettext: Callable[[str], str] = lambda message: message) -> str:
    """A stored failure as a sentence (English unless a *gettext* is given)."""
    if not failure:
        return ""
    try:
        details = json.loads(failure)
        return gettext(FAILURES[details.pop("code")]) % details
    except (ValueError, KeyError, TypeError):
        return failure


def queue_days(
    connection: sqlite3.Connection,
    *,
    timezone: str,
    now: datetime.datetime,
    min_count: int,
    include_today: bool = False,
    recount: tuple[datetime.date, ...] = (),
) -> list[dict[str, Any]]:
    """Queue a final report of each completed day not yet queued (from the first day with any
    activity), a new revision of each day in *recount*, and with *include_today* today so far.
    Returns the queued documents; none before first-run setup has named the library."""
    if accounts.identity(connection) is None:
        return []
    today = now.astimezone(datetime.UTC).astimezone(ZoneInfo(timezone)).date()
    finals = {row[0] for row in connection.execute("SELECT day FROM stats_outbox WHERE provisional = 0")}
    last = connection.execute("SELECT max(day) FROM stats_outbox WHERE provisional = 0").fetchone()[0]
    first = datetime.date.fromisoformat(last) + datetime.timedelta(days=1) if last else _first_day(connection, timezone)
    days = []
    if first is not None:
        day = first
        while day < today:
            if day.isoformat() not in finals:
                days.append((day, False))
            day += datetime.timedelta(days=1)
    days += [(day, False) for day in recount if day < today and (day, False) not in days]
    if include_today:
        days.append((today, True))
    queued = []
    for day, provisional in days:
        with db.transaction(connection):
            revision = 1 + (
                connection.execute(
                    "SELECT max(revision) FROM stats_outbox WHERE day = ?", (day.isoformat(),)
                ).fetchone()[0]
                or 0
            )
            document = stats.daily_report(
                connection,
                day,
                revision=revision,
                timezone=timezone,
                now=now,
                min_count=min_count,
                provisional=provisional,
            )
            # An unsent older revision of the same day is superseded: no need to send it.
            connection.execute("DELETE FROM stats_outbox WHERE day = ? AND sent_at IS NULL", (day.isoformat(),))
            connection.execute(
                "INSERT INTO stats_outbox (report_id, day, revision, provisional, document, queued_at, next_try_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    document["report_id"],
                    day.isoformat(),
                    revision,
                    int(provisional),
                    json.dumps(document, ensure_ascii=False, sort_keys=True),
                    stats.stamp(now),
                    stats.stamp(now),
                ),
            )
        queued.append(document)
    return queued


def _first_day(connection: sqlite3.Connection, timezone: str) -> datetime.date | None:
    """The local day of the first thing the library did (a record, an event, a member, a loan)."""
    earliest = connection.execute(
        "SELECT min(at) FROM (SELECT min(created_at) AS at FROM records UNION ALL SELECT min(at) FROM event_counts"
        " UNION ALL SELECT min(created_at) FROM members UNION ALL SELECT min(loaned_at) FROM print_loans)"
    ).fetchone()[0]
    if earliest is None:
        return None
    moment = datetime.datetime.strptime(earliest, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    return moment.astimezone(ZoneInfo(timezone)).date()


def waiting(connection: sqlite3.Connection) -> list[sqlite3.Row]:
    """Reports not yet acknowledged, in the order they go."""
    return connection.execute("SELECT * FROM stats_outbox WHERE sent_at IS NULL ORDER BY day, revision").fetchall()


def status(connection: sqlite3.Connection) -> dict[str, Any]:
    """For the admin page: last attempt, last success, last error (see `describe`), and the backlog."""
    state = dict(connection.execute("SELECT * FROM stats_push_state WHERE id = 1").fetchone())
    rows = waiting(connection)
    state.update(
        backlog=len(rows),
        oldest_waiting=rows[0]["day"] if rows else None,
        next_try_at=rows[0]["next_try_at"] if rows else None,
        sent=connection.execute("SELECT count(*) FROM stats_outbox WHERE sent_at IS NOT NULL").fetchone()[0],
    )
    return state


def post(url: str, token: str, body: bytes, timeout: float) -> int:
    """POST one document; the HTTP status, or UpstreamError when there is no answer."""
    if not url.startswith(("http://", "https://")):
        raise UpstreamError(_failure("no-answer", url=url, reason="not an http(s) address"))
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 - the configured URL
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        with error:
            return error.code
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise UpstreamError(_failure("no-answer", url=url, reason=str(reason))) from None


def send(
    connection: sqlite3.Connection,
    *,
    url: str,
    token: str,
    now: Callable[[], datetime.datetime],
    sleep: Callable[[float], None] = time.sleep,
    interval: float = SEND_INTERVAL_SECONDS,
    max_per_run: int = MAX_PER_RUN,
    timeout: float = TIMEOUT_SECONDS,
    jitter: Callable[[], float] = random.random,
    poster: Callable[[str, str, bytes, float], int] = post,
) -> PushResult:
    """Send what is waiting, in order, until the outbox is empty, a send fails or the run's
    limit is reached."""
    result = PushResult()
    for position, row in enumerate(waiting(connection)[:max_per_run]):
        moment = now()
        if row["next_try_at"] > stats.stamp(moment):
            result.not_before = row["next_try_at"]
            break
        if position:
            sleep(interval)
        try:
            code = poster(url, token, row["document"].encode("utf-8"), timeout)
            error = None if 200 <= code < 300 else _explain(code)
        except UpstreamError as failure:
            error = str(failure)
        with db.transaction(connection):
            connection.execute("UPDATE stats_push_state SET last_attempt_at = ? WHERE id = 1", (stats.stamp(moment),))
            if error is None:
                connection.execute(
                    "UPDATE stats_outbox SET sent_at = ?, attempts = attempts + 1, last_error = NULL"
                    " WHERE report_id = ?",
                    (stats.stamp(moment), row["report_id"]),
                )
                connection.execute(
                    "UPDATE stats_push_state SET last_success_at = ? WHERE id = 1", (stats.stamp(moment),)
                )
            else:
                attempts = row["attempts"] + 1
                delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempts - 1))
                delay *= 0.5 + jitter()  # half to one and a half times, so libraries do not retry in step
                next_try = moment + datetime.timedelta(seconds=delay)
                connection.execute(
                    "UPDATE stats_outbox SET attempts = ?, last_error = ?, next_try_at = ? WHERE report_id = ?",
                    (attempts, error, stats.stamp(next_try), row["report_id"]),
                )
                connection.execute(
                    "UPDATE stats_push_state SET last_error = ?, last_error_at = ? WHERE id = 1",
                    (error, stats.stamp(moment)),
                )
        if error is not None:
            result.error = error
            break
        result.sent.append(row["report_id"])
    result.waiting = len(waiting(connection))
    return result


def _failure(code: str, **parameters: Any) -> str:
    return json.dumps({"code": code, **parameters}, ensure_ascii=False)


def _explain(status: int) -> str:
    if status in (401, 403):
        return _failure("token-refused", status=status)
    if status in (400, 413, 422):
        return _failure("document-refused", status=status)
    return _failure("http-error", status=status)


def documents(connection: sqlite3.Connection, first: datetime.date, last: datetime.date) -> list[dict[str, Any]]:
    """The latest revision of each day in [first, last] in the outbox, for `export-stats`."""
    rows = connection.execute(
        "SELECT document FROM stats_outbox o WHERE day BETWEEN ? AND ?"
        " AND revision = (SELECT max(revision) FROM stats_outbox WHERE day = o.day) ORDER BY day",
        (first.isoformat(), last.isoformat()),
    ).fetchall()
    return [json.loads(row[0]) for row in rows]

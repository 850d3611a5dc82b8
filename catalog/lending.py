"""E-lending: licensed copies, loans that end by themselves, and the hold queue. (Where each
patron is in each book, and the history they may choose to keep, are in `catalog.reading`.)

A title's licence (`records.licence`) decides whether it needs a loan: `lending` always, and
`in-library` when it has a number of copies (without one, anyone at the library's own PCs may
read it). Such a title has `licence_copies` copies; a loan lasts the title's `loan_days` (or
the policy's) and ends by itself at its exact due time. Nothing runs at that moment: every
question is answered by comparing times, and before each change the title's queue is worked out
from the moment it was last worked out to now (a copy that freed went to the first waiting
hold, and a reserved copy not claimed within the hold window passed to the next).

    copies_available = owned − active loans − copies reserved for ready holds

Every change runs in one `BEGIN IMMEDIATE` transaction (or the caller's), so two patrons
borrowing the last copy at once get exactly one loan and one hold. Every function takes
`now=` so the rules can be tested with a clock that the test moves. Nothing here knows about
HTTP: the web pages, the OPDS feed and scripts call the same functions.
"""

from __future__ import annotations

import dataclasses
import heapq
import sqlite3
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from catalog import events
from catalog.errors import (
    AlreadyInQueue,
    AlreadyOnLoan,
    EbookLoanLimitReached,
    HoldNotFound,
    InvalidLicenceChoice,
    LoanExpired,
    LoanNotFound,
    MemberBlocked,
    MemberNotFound,
    NotLendable,
    RecordNotFound,
    RenewalWanted,
)
from catalog.members import parse_stamp, stamp, utc_now, writing

MAX_COPIES = 1000
MAX_LOAN_DAYS = 365


@dataclasses.dataclass(frozen=True)
class LendingPolicy:
    """The library's e-lending rules beyond each title's licence and each member category.

    - `loan_days`: the loan period of a title that sets none (the `loan_days` setting).
    - `hold_ready_hours`: how long a copy freed for the first in the queue waits to be claimed.
    """

    loan_days: int = 7
    hold_ready_hours: int = 48

    def __post_init__(self) -> None:
        if not 1 <= self.loan_days <= MAX_LOAN_DAYS:
            raise ValueError(f"loan_days must be from 1 to {MAX_LOAN_DAYS}")
        if self.hold_ready_hours < 1:
            raise ValueError("hold_ready_hours must be at least 1")

    @property
    def hold_window(self) -> timedelta:
        return timedelta(hours=self.hold_ready_hours)


DEFAULT_POLICY = LendingPolicy()


# --- licences ---------------------------------------------------------------------------------


def needs_loan(record: Mapping[str, Any]) -> bool:
    """Whether reading *record* (a record dict or row with its licence columns) needs a loan."""
    return record["licence"] == "lending" or (record["licence"] == "in-library" and bool(record["licence_copies"]))


def in_library_only(record: Mapping[str, Any]) -> bool:
    """Whether *record* may be read only from the library's own network."""
    return record["licence"] == "in-library"


def set_licence(
    connection: sqlite3.Connection,
    record_id: int,
    *,
    open_access: bool = False,
    copies: int | None = None,
    loan_days: int | None = None,
    in_library_only: bool = False,
    stamped_download: bool = False,
) -> dict[str, Any]:
    """Open access; or *copies* concurrent copies lent for *loan_days* (None: the policy's),
    read anywhere or, with *in_library_only*, only at the library; or, with *in_library_only*
    and no copies, read freely at the library without a loan. With *stamped_download*, a
    borrower may also download the PDF stamped with their number and due date. Returns the
    licence."""
    if stamped_download and (open_access or copies is None):
        raise InvalidLicenceChoice()
    if open_access:
        licence, copies, loan_days = "open-access", None, None
    else:
        if copies is not None and not 1 <= copies <= MAX_COPIES:
            raise InvalidLicenceChoice()
        if loan_days is not None and (copies is None or not 1 <= loan_days <= MAX_LOAN_DAYS):
            raise InvalidLicenceChoice()
        if copies is None and not in_library_only:
            raise InvalidLicenceChoice()
        licence = "in-library" if in_library_only else "lending"
    with writing(connection):
        _title(connection, record_id)
        connection.execute(
            "UPDATE records SET licence = ?, licence_copies = ?, loan_days = ?, stamped_download = ?,"
            " updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?",
            (licence, copies, loan_days, int(stamped_download), record_id),
        )
    return {
        "record_id": record_id,
        "licence": licence,
        "copies": copies,
        "loan_days": loan_days,
        "stamped_download": stamped_download,
    }


def allows_stamped_download(connection: sqlite3.Connection, record_id: int) -> bool:
    """Whether borrowers of the title may download its PDF stamped for them."""
    row = connection.execute("SELECT stamped_download FROM records WHERE id = ?", (record_id,)).fetchone()
    return bool(row and row["stamped_download"])


# --- the queue, worked out from the last moment it was to now ----------------------------------


@dataclasses.dataclass
class _Hold:
    id: int
    member_id: int
    placed_at: datetime
    ready_at: datetime | None
    expired_at: datetime | None = None
    changed: bool = False

    def __post_init__(self) -> None:
        self.was_ready = self.ready_at is not None  # as stored, before this working-out


@dataclasses.dataclass
class _Queue:
    copies: int
    loans_due: list[datetime]  # due times of the loans active at `now`
    holds: list[_Hold]  # open holds in queue order (expired ones marked, not removed)
    now: datetime

    @property
    def open_holds(self) -> list[_Hold]:
        return [hold for hold in self.holds if hold.expired_at is None]

    @property
    def ready(self) -> list[_Hold]:
        return [hold for hold in self.open_holds if hold.ready_at is not None]

    @property
    def waiting(self) -> list[_Hold]:
        return [hold for hold in self.open_holds if hold.ready_at is None]

    @property
    def available(self) -> int:
        return max(0, self.copies - len(self.loans_due) - len(self.ready))


def _work_out(connection: sqlite3.Connection, title: Mapping[str, Any], now: datetime, policy: LendingPolicy) -> _Queue:
    """The title's queue as of *now*, without writing: what happened at each moment since it was
    last worked out (a loan ending, a reservation running out) in order of time."""
    record_id = title["id"]
    copies = title["licence_copies"] or 0
    row = connection.execute("SELECT settled_at FROM ebook_queue_settled WHERE record_id = ?", (record_id,)).fetchone()
    settled = parse_stamp(row["settled_at"]) if row else now
    loans_due = [
        parse_stamp(due)
        for (due,) in connection.execute(
            "SELECT due_at FROM ebook_loans WHERE record_id = ? AND returned_at IS NULL AND due_at > ?",
            (record_id, stamp(min(settled, now))),
        )
    ]
    holds = [
        _Hold(row["id"], row["member_id"], parse_stamp(row["placed_at"]), _maybe(row["ready_at"]))
        for row in connection.execute(
            "SELECT * FROM ebook_holds WHERE record_id = ? AND ended_at IS NULL ORDER BY placed_at, id", (record_id,)
        )
    ]
    window = policy.hold_window
    moments = [due for due in loans_due if due <= now]
    moments += [hold.ready_at + window for hold in holds if hold.ready_at and hold.ready_at + window <= now]
    moments.append(now)
    heapq.heapify(moments)
    while moments:
        moment = heapq.heappop(moments)
        for hold in holds:
            if hold.ready_at and hold.expired_at is None and hold.ready_at + window <= moment:
                hold.expired_at, hold.changed = hold.ready_at + window, True
        active = sum(1 for due in loans_due if due > moment)
        free = copies - active - sum(1 for hold in holds if hold.ready_at and hold.expired_at is None)
        for hold in holds:
            if free <= 0:
                break
            if hold.ready_at is None and hold.placed_at <= moment:
                hold.ready_at, hold.changed = moment, True
                free -= 1
                if moment + window <= now:
                    heapq.heappush(moments, moment + window)
    return _Queue(copies, [due for due in loans_due if due > now], holds, now)


def _settle(connection: sqlite3.Connection, title: Mapping[str, Any], now: datetime, policy: LendingPolicy) -> _Queue:
    """Work the queue out to *now* and write it down; the caller holds the transaction."""
    queue = _work_out(connection, title, now, policy)
    for hold in queue.holds:
        if hold.changed and not hold.was_ready:  # a copy was set aside at ready_at
            events.log(connection, events.HOLD_FULFILLED, title["id"], at=stamp(hold.ready_at))
        if hold.expired_at is not None:
            connection.execute(
                "UPDATE ebook_holds SET ready_at = ?, ended_at = ?, ended_how = 'expired' WHERE id = ?",
                (stamp(hold.ready_at), stamp(hold.expired_at), hold.id),
            )
            events.log(connection, events.HOLD_EXPIRED, title["id"], at=stamp(hold.expired_at))
        elif hold.changed:
            connection.execute("UPDATE ebook_holds SET ready_at = ? WHERE id = ?", (stamp(hold.ready_at), hold.id))
    connection.execute(
        "INSERT INTO ebook_queue_settled (record_id, settled_at) VALUES (?, ?)"
        " ON CONFLICT (record_id) DO UPDATE SET settled_at = excluded.settled_at",
        (title["id"], stamp(now)),
    )
    queue.holds = queue.open_holds
    return queue


# --- what a title offers ------------------------------------------------------------------------


def availability(
    connection: sqlite3.Connection,
    record_id: int,
    *,
    policy: LendingPolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> dict[str, Any]:
    """How a title may be had now, for its page and the OPDS feed.

    `needs_loan`; for titles that do: `copies` owned, `on_loan`, `reserved` (for ready holds),
    `available` (= copies − on_loan − reserved), `waiting` (holds not yet ready), `holds` (all
    open holds), `loan_days`, `next_free_at` (the earliest moment a loan ends) or None, and
    `wait_estimate`: when someone joining the queue now should get a copy (None while one is free).
    """
    now = _now(now)
    title = _title(connection, record_id)
    result: dict[str, Any] = {
        "record_id": record_id,
        "licence": title["licence"],
        "needs_loan": needs_loan(title),
        "in_library_only": in_library_only(title),
    }
    if not result["needs_loan"]:
        return result
    queue = _work_out(connection, title, now, policy)
    return {
        **result,
        "copies": queue.copies,
        "on_loan": len(queue.loans_due),
        "reserved": len(queue.ready),
        "available": queue.available,
        "waiting": len(queue.waiting),
        "holds": len(queue.open_holds),
        "loan_days": _loan_days(title, policy),
        "next_free_at": min(queue.loans_due, default=None),
        "wait_estimate": None
        if queue.available > 0 and not queue.waiting
        else _estimate(queue, len(queue.waiting) + 1, _loan_days(title, policy), now),
    }


# --- borrowing, returning, renewing, the queue -------------------------------------------------


def borrow(
    connection: sqlite3.Connection,
    record_id: int,
    member_id: int,
    *,
    policy: LendingPolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Borrow the title, or join its queue when no copy is free (or a copy is reserved for
    someone before). Returns `{"outcome": "loan", "loan": …}` or `{"outcome": "hold", "hold": …}`.

    Refusals (nothing is written): `RecordNotFound`, `NotLendable` (a title that needs no
    loan), `MemberNotFound`, `MemberBlocked`, `AlreadyOnLoan`, `EbookLoanLimitReached` (the
    category's `max_ebook_loans`, checked before joining a queue too) and `AlreadyInQueue`.
    """
    now = _now(now)
    with writing(connection):
        title = _lendable(connection, record_id)
        member = _borrower(connection, member_id)
        queue = _settle(connection, title, now, policy)
        if _active_loan_row(connection, record_id, member_id, now) is not None:
            raise AlreadyOnLoan()
        if _active_loan_count(connection, member_id, now) >= member["max_ebook_loans"]:
            raise EbookLoanLimitReached(limit=member["max_ebook_loans"])
        mine = next((hold for hold in queue.holds if hold.member_id == member_id), None)
        if mine is not None and mine.ready_at is None:
            raise AlreadyInQueue()
        if mine is None and (queue.available <= 0 or queue.waiting):
            # a turnaway: no licensed copy at all, or every copy out (COUNTER No_License / Limit_Exceeded)
            events.log(connection, events.REFUSAL_LIMIT if queue.copies else events.REFUSAL_NO_LICENCE, record_id)
            hold_id = connection.execute(
                "INSERT INTO ebook_holds (record_id, member_id, placed_at) VALUES (?, ?, ?)",
                (record_id, member_id, stamp(now)),
            ).lastrowid
            events.log(connection, events.HOLD, record_id)
            return {"outcome": "hold", "hold": _hold_view(connection, title, hold_id, policy, now)}
        if mine is not None:
            connection.execute(
                "UPDATE ebook_holds SET ended_at = ?, ended_how = 'borrowed' WHERE id = ?", (stamp(now), mine.id)
            )
        due = now + timedelta(days=_loan_days(title, policy))
        loan_id = connection.execute(
            "INSERT INTO ebook_loans (record_id, member_id, loaned_at, due_at) VALUES (?, ?, ?, ?)",
            (record_id, member_id, stamp(now), stamp(due)),
        ).lastrowid
        events.log(connection, events.LOAN, record_id)
        return {"outcome": "loan", "loan": _loan(connection, loan_id, now)}


def return_loan(
    connection: sqlite3.Connection,
    record_id: int,
    member_id: int,
    *,
    policy: LendingPolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Return the member's loan of the title before it ends: the copy frees at once and goes to
    the first in the queue. Returns the ended loan. `LoanExpired` when it had already ended,
    `LoanNotFound` when there was none."""
    now = _now(now)
    with writing(connection):
        title = _title(connection, record_id)
        _settle(connection, title, now, policy)
        loan = _active_loan_row(connection, record_id, member_id, now)
        if loan is None:
            raise _no_loan(connection, record_id, member_id)
        connection.execute("UPDATE ebook_loans SET returned_at = ? WHERE id = ?", (stamp(now), loan["id"]))
        _settle(connection, title, now, policy)
        events.log(connection, events.RETURN, record_id)
        return _loan(connection, loan["id"], now)


def renew(
    connection: sqlite3.Connection,
    record_id: int,
    member_id: int,
    *,
    policy: LendingPolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Extend the member's loan to a full loan period from now (never shortening it), when no
    one else is in the queue. `LoanExpired`, `LoanNotFound`, `MemberBlocked` or `RenewalWanted`."""
    now = _now(now)
    with writing(connection):
        title = _title(connection, record_id)
        queue = _settle(connection, title, now, policy)
        loan = _active_loan_row(connection, record_id, member_id, now)
        if loan is None:
            raise _no_loan(connection, record_id, member_id)
        _borrower(connection, member_id)  # raises MemberBlocked for a blocked card
        if any(hold.member_id != member_id for hold in queue.holds):
            raise RenewalWanted()
        due = max(parse_stamp(loan["due_at"]), now + timedelta(days=_loan_days(title, policy)))
        connection.execute(
            "UPDATE ebook_loans SET due_at = ?, renewals = renewals + 1 WHERE id = ?", (stamp(due), loan["id"])
        )
        events.log(connection, events.RENEW, record_id)
        return _loan(connection, loan["id"], now)


def cancel_hold(
    connection: sqlite3.Connection,
    record_id: int,
    member_id: int,
    *,
    policy: LendingPolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> None:
    """Leave the queue; a copy reserved for the member passes to the next at once."""
    now = _now(now)
    with writing(connection):
        title = _title(connection, record_id)
        queue = _settle(connection, title, now, policy)
        mine = next((hold for hold in queue.holds if hold.member_id == member_id), None)
        if mine is None:
            raise HoldNotFound()
        connection.execute(
            "UPDATE ebook_holds SET ended_at = ?, ended_how = 'cancelled' WHERE id = ?", (stamp(now), mine.id)
        )
        _settle(connection, title, now, policy)


# --- what a patron has --------------------------------------------------------------------------


def active_loan(
    connection: sqlite3.Connection, record_id: int, member_id: int, *, now: datetime | None = None
) -> dict[str, Any] | None:
    """The member's loan of the title while it runs, else None: the check before every page."""
    now = _now(now)
    row = _active_loan_row(connection, record_id, member_id, now)
    return _loan(connection, row["id"], now) if row else None


def latest_loan(
    connection: sqlite3.Connection, record_id: int, member_id: int, *, now: datetime | None = None
) -> dict[str, Any] | None:
    """The member's most recent loan of the title, running or ended (`active` says which)."""
    now = _now(now)
    row = connection.execute(
        "SELECT id FROM ebook_loans WHERE record_id = ? AND member_id = ? ORDER BY loaned_at DESC, id DESC LIMIT 1",
        (record_id, member_id),
    ).fetchone()
    return _loan(connection, row["id"], now) if row else None


def shelf(
    connection: sqlite3.Connection,
    member_id: int,
    *,
    policy: LendingPolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """The member's running loans (soonest due first) and open holds (ready ones first).

    A loan: `record_id`, `title`, `loaned_at`, `due_at` (datetimes), `seconds_left`,
    `renewals`, `renewable` (no one else in the queue). A hold: `record_id`, `title`,
    `status` (`ready` or `waiting`), `ready_until` for a ready one, `position` (1 = next) and
    `estimate` (when a copy should be free for them if everyone before keeps it for the whole
    loan; None when unknown) for a waiting one.
    """
    now = _now(now)
    loans = []
    for row in connection.execute(
        "SELECT id FROM ebook_loans WHERE member_id = ? AND returned_at IS NULL AND due_at > ? ORDER BY due_at",
        (member_id, stamp(now)),
    ):
        loan = _loan(connection, row["id"], now)
        queue = _work_out(connection, _title(connection, loan["record_id"]), now, policy)
        loan["renewable"] = not any(hold.member_id != member_id for hold in queue.open_holds)
        loans.append(loan)
    holds = []
    for row in connection.execute(
        "SELECT id, record_id FROM ebook_holds WHERE member_id = ? AND ended_at IS NULL ORDER BY placed_at",
        (member_id,),
    ):
        view = _hold_view(connection, _title(connection, row["record_id"]), row["id"], policy, now)
        if view is not None:
            holds.append(view)
    holds.sort(key=lambda hold: (hold["status"] != "ready", hold["position"] or 0))
    return {"loans": loans, "holds": holds}


# --- rows -----------------------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    return (now or utc_now()).replace(microsecond=0)


def _maybe(text: str | None) -> datetime | None:
    return parse_stamp(text) if text else None


def _title(connection: sqlite3.Connection, record_id: int) -> sqlite3.Row:
    row = connection.execute(
        "SELECT id, title, licence, licence_copies, loan_days, withdrawn FROM records WHERE id = ?", (record_id,)
    ).fetchone()
    if row is None:
        raise RecordNotFound(record_id=record_id)
    return row


def _lendable(connection: sqlite3.Connection, record_id: int) -> sqlite3.Row:
    title = _title(connection, record_id)
    if title["withdrawn"]:
        raise RecordNotFound(record_id=record_id)
    if not needs_loan(title):
        raise NotLendable()
    return title


def _loan_days(title: Mapping[str, Any], policy: LendingPolicy) -> int:
    return title["loan_days"] or policy.loan_days


def _borrower(connection: sqlite3.Connection, member_id: int) -> sqlite3.Row:
    member = connection.execute(
        "SELECT members.number, members.blocked, member_categories.max_ebook_loans FROM members"
        " JOIN member_categories ON member_categories.code = members.category WHERE members.id = ?",
        (member_id,),
    ).fetchone()
    if member is None:
        raise MemberNotFound(number=str(member_id))
    if member["blocked"]:
        raise MemberBlocked(number=member["number"])
    return member


def _active_loan_row(connection: sqlite3.Connection, record_id: int, member_id: int, now: datetime):
    return connection.execute(
        "SELECT * FROM ebook_loans WHERE record_id = ? AND member_id = ? AND returned_at IS NULL AND due_at > ?",
        (record_id, member_id, stamp(now)),
    ).fetchone()


def _active_loan_count(connection: sqlite3.Connection, member_id: int, now: datetime) -> int:
    return connection.execute(
        "SELECT count(*) FROM ebook_loans WHERE member_id = ? AND returned_at IS NULL AND due_at > ?",
        (member_id, stamp(now)),
    ).fetchone()[0]


def _no_loan(connection: sqlite3.Connection, record_id: int, member_id: int) -> LoanNotFound:
    had = connection.execute(
        "SELECT 1 FROM ebook_loans WHERE record_id = ? AND member_id = ? AND returned_at IS NULL",
        (record_id, member_id),
    ).fetchone()
    return LoanExpired() if had else LoanNotFound()


def _loan(connection: sqlite3.Connection, loan_id: int, now: datetime) -> dict[str, Any]:
    row = connection.execute(
        "SELECT ebook_loans.*, records.title FROM ebook_loans JOIN records ON records.id = ebook_loans.record_id"
        " WHERE ebook_loans.id = ?",
        (loan_id,),
    ).fetchone()
    due = parse_stamp(row["due_at"])
    returned = _maybe(row["returned_at"])
    ended_at = returned or (due if due <= now else None)
    return {
        "id": row["id"],
        "record_id": row["record_id"],
        "title": row["title"],
        "member_id": row["member_id"],
        "loaned_at": parse_stamp(row["loaned_at"]),
        "due_at": due,
        "returned_at": returned,
        "renewals": row["renewals"],
        "active": ended_at is None,
        "ended_at": ended_at,
        "seconds_left": max(0, int((due - now).total_seconds())) if ended_at is None else 0,
    }


def _hold_view(
    connection: sqlite3.Connection, title: Mapping[str, Any], hold_id: int, policy: LendingPolicy, now: datetime
) -> dict[str, Any] | None:
    """A hold as the patron sees it now; None when it has run out."""
    queue = _work_out(connection, title, now, policy)
    hold = next((hold for hold in queue.open_holds if hold.id == hold_id), None)
    if hold is None:
        return None
    view: dict[str, Any] = {
        "id": hold.id,
        "record_id": title["id"],
        "title": title["title"],
        "placed_at": hold.placed_at,
        "status": "ready" if hold.ready_at else "waiting",
        "ready_until": hold.ready_at + policy.hold_window if hold.ready_at else None,
        "position": None,
        "estimate": None,
        "queue_length": len(queue.open_holds),
    }
    if hold.ready_at is None:
        waiting = queue.waiting
        view["position"] = waiting.index(hold) + 1
        view["estimate"] = _estimate(queue, view["position"], _loan_days(title, policy), now)
    return view


def _estimate(queue: _Queue, position: int, loan_days: int, now: datetime) -> datetime | None:
    """When a copy should reach the *position*-th waiting hold if every loan runs its full
    time and everyone before borrows at once and keeps the book for the whole loan."""
    period = timedelta(days=loan_days)
    frees = [*queue.loans_due, *(now + period for _hold in queue.ready), *(now for _ in range(queue.available))]
    if not frees:
        return None
    heapq.heapify(frees)
    moment = now
    for _ahead in range(position):
        moment = max(now, heapq.heappop(frees))
        heapq.heappush(frees, moment + period)
    return moment

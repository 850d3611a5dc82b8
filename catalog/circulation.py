"""Circulation of printed copies: check-out, check-in, renewals, overdue loans.

Rules come from the member's category (`member_categories`: loan_days, max_loans,
max_renewals) and from a `CirculationPolicy` the caller builds from its settings. A loan is
due at the end of the day (23:59:59) in the library's time zone, `loan_days` after the day
it was made; it is overdue from the next day, and `days_late` counts calendar days in that
time zone. There are no fines.

Each change runs in one `BEGIN IMMEDIATE` transaction (or the caller's), so a copy's
`items.status` is `on-loan` exactly while it has an open loan, and two check-outs of the
same copy at once give one loan and one `CopyOnLoan`.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from catalog.errors import (
    CopyForReference,
    CopyInRepair,
    CopyLost,
    CopyNotAvailable,
    CopyNotOnLoan,
    CopyOnLoan,
    CopyWithdrawn,
    ItemNotFound,
    LoanLimitReached,
    MemberBlocked,
    MemberHasOverdueLoans,
    RenewalLimitReached,
    RenewalOverdue,
)
from catalog.members import parse_stamp, resolve_member_id, stamp, utc_now, writing

OVERDUE_CHECKOUT = ("refuse", "allow")
_UNAVAILABLE = {
    "on-loan": CopyOnLoan,
    "reference": CopyForReference,
    "lost": CopyLost,
    "in-repair": CopyInRepair,
    "withdrawn": CopyWithdrawn,
}
_LOAN_COLUMNS = (
    "SELECT print_loans.*, items.barcode, items.record_id, records.title, members.number AS member_number,"
    " members.name AS member_name FROM print_loans JOIN items ON items.id = print_loans.item_id"
    " JOIN records ON records.id = items.record_id LEFT JOIN members ON members.id = print_loans.member_id"
)


@dataclasses.dataclass(frozen=True)
class CirculationPolicy:
    """The library's lending rules beyond the member categories.

    - `timezone`: where the library's days begin and end (the `timezone` setting).
    - `overdue_checkout`: `refuse` (default) a new loan to a member with an overdue loan, or `allow` it.
    - `renew_grace_days`: a loan this many days late may still be renewed (default 0: none).
    """

    timezone: str = "Asia/Jakarta"
    overdue_checkout: str = "refuse"
    renew_grace_days: int = 0

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone)  # an unknown zone fails here, not at the desk
        if self.overdue_checkout not in OVERDUE_CHECKOUT:
            raise ValueError(f"overdue_checkout must be one of {OVERDUE_CHECKOUT}, not {self.overdue_checkout!r}")
        if self.renew_grace_days < 0:
            raise ValueError("renew_grace_days cannot be negative")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


DEFAULT_POLICY = CirculationPolicy()


def due_date(loaned: datetime, loan_days: int, timezone: str) -> datetime:
    """The end (23:59:59) of the day *loan_days* after *loaned*'s day in *timezone*, in UTC."""
    zone = ZoneInfo(timezone)
    last_day = loaned.astimezone(zone).date() + timedelta(days=loan_days)
    return _end_of_day(last_day, zone)


def days_late(due: datetime, moment: datetime, timezone: str) -> int:
    """Calendar days in *timezone* from the due day to *moment*'s day; 0 when not late."""
    if moment <= due:
        return 0
    zone = ZoneInfo(timezone)
    return max(1, (moment.astimezone(zone).date() - due.astimezone(zone).date()).days)


def check_out(
    connection: sqlite3.Connection,
    barcode: str,
    member_number: str,
    *,
    policy: CirculationPolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Lend the copy with *barcode* to the member; returns the new loan.

    Refusals (nothing is written): `ItemNotFound`, `MemberNotFound`, `MemberBlocked`,
    `CopyNotAvailable` (its subclasses `CopyOnLoan`, `CopyForReference`, `CopyLost`,
    `CopyInRepair`, `CopyWithdrawn`), `LoanLimitReached`, and `MemberHasOverdueLoans`
    unless the policy allows lending to members with overdue loans.
    """
    now = now or utc_now()
    barcode = barcode.strip()
    with writing(connection):
        item = _item(connection, barcode)
        member_id = resolve_member_id(connection, member_number)
        member = connection.execute(
            "SELECT members.number, members.blocked, member_categories.* FROM members JOIN member_categories"
            " ON member_categories.code = members.category WHERE members.id = ?",
            (member_id,),
        ).fetchone()
        if member["blocked"]:
            raise MemberBlocked(number=member["number"])
        if item["status"] != "available":
            raise _UNAVAILABLE.get(item["status"], CopyNotAvailable)(barcode=item["barcode"])
        open_loans = connection.execute(
            "SELECT count(*) AS loans, sum(due_at < ?) AS overdue FROM print_loans"
            " WHERE member_id = ? AND returned_at IS NULL",
            (stamp(now), member_id),
        ).fetchone()
        if open_loans["loans"] >= member["max_loans"]:
            raise LoanLimitReached(number=member["number"], limit=member["max_loans"])
        if open_loans["overdue"] and policy.overdue_checkout == "refuse":
            raise MemberHasOverdueLoans(number=member["number"], count=open_loans["overdue"])
        due = due_date(now, member["loan_days"], policy.timezone)
        try:
            loan_id = connection.execute(
                "INSERT INTO print_loans (item_id, member_id, loaned_at, due_at) VALUES (?, ?, ?, ?)",
                (item["id"], member_id, stamp(now), stamp(due)),
            ).lastrowid
        except sqlite3.IntegrityError as error:  # print_loans_open_item: the copy already has an open loan
            raise CopyOnLoan(barcode=item["barcode"]) from error
        connection.execute("UPDATE items SET status = 'on-loan' WHERE id = ?", (item["id"],))
        return _loan(connection, loan_id, policy, now)


def check_in(
    connection: sqlite3.Connection,
    barcode: str,
    *,
    policy: CirculationPolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Return the copy with *barcode*: its loan ends and it is back on the shelf.

    Returns the ended loan, with `overdue` and `days_late` as of the return. A copy marked
    `on-loan` without a loan (e.g. imported so) is put back on the shelf and a loan of `id`
    None is returned. `ItemNotFound`, or `CopyNotOnLoan` for a copy that is not lent.
    """
    now = now or utc_now()
    barcode = barcode.strip()
    with writing(connection):
        item = _item(connection, barcode)
        loan = connection.execute(
            "SELECT id FROM print_loans WHERE item_id = ? AND returned_at IS NULL", (item["id"],)
        ).fetchone()
        if loan is None and item["status"] != "on-loan":
            raise CopyNotOnLoan(barcode=item["barcode"])
        connection.execute("UPDATE items SET status = 'available' WHERE id = ?", (item["id"],))
        if loan is None:
            return _loan_without_record(connection, item)
        connection.execute("UPDATE print_loans SET returned_at = ? WHERE id = ?", (stamp(now), loan["id"]))
        return _loan(connection, loan["id"], policy, now)


def renew(
    connection: sqlite3.Connection,
    barcode: str,
    *,
    policy: CirculationPolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Extend the open loan of *barcode* by the category's loan_days from today (never shortening it).

    Refused with `CopyNotOnLoan`, `MemberBlocked`, `RenewalLimitReached` (the category's
    max_renewals) or `RenewalOverdue` (late by more than the policy's grace days).
    """
    now = now or utc_now()
    barcode = barcode.strip()
    with writing(connection):
        item = _item(connection, barcode)
        loan = connection.execute(
            "SELECT print_loans.*, members.number, members.blocked, member_categories.loan_days,"
            " member_categories.max_renewals FROM print_loans JOIN members ON members.id = print_loans.member_id"
            " JOIN member_categories ON member_categories.code = members.category"
            " WHERE print_loans.item_id = ? AND print_loans.returned_at IS NULL",
            (item["id"],),
        ).fetchone()
        if loan is None:
            raise CopyNotOnLoan(barcode=item["barcode"])
        if loan["blocked"]:
            raise MemberBlocked(number=loan["number"])
        if loan["renewals"] >= loan["max_renewals"]:
            raise RenewalLimitReached(limit=loan["max_renewals"])
        late = days_late(parse_stamp(loan["due_at"]), now, policy.timezone)
        if late > policy.renew_grace_days:
            raise RenewalOverdue(days=late)
        due = max(parse_stamp(loan["due_at"]), due_date(now, loan["loan_days"], policy.timezone))
        connection.execute(
            "UPDATE print_loans SET due_at = ?, renewals = renewals + 1 WHERE id = ?", (stamp(due), loan["id"])
        )
        return _loan(connection, loan["id"], policy, now)


def member_loans(
    connection: sqlite3.Connection,
    member_number: str,
    *,
    include_returned: bool = False,
    policy: CirculationPolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """A member's open loans by due date (and, with *include_returned*, their past ones after them)."""
    now = now or utc_now()
    member_id = resolve_member_id(connection, member_number)
    where = "print_loans.member_id = ?" + ("" if include_returned else " AND print_loans.returned_at IS NULL")
    rows = connection.execute(
        f"{_LOAN_COLUMNS} WHERE {where} ORDER BY print_loans.returned_at IS NOT NULL,"
        " print_loans.returned_at DESC, print_loans.due_at",
        (member_id,),
    ).fetchall()
    return [_loan_from_row(row, policy, now) for row in rows]


def overdue_loans(
    connection: sqlite3.Connection, *, policy: CirculationPolicy = DEFAULT_POLICY, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Open loans past their due time, the longest overdue first, each with `days_late`."""
    now = now or utc_now()
    rows = connection.execute(
        f"{_LOAN_COLUMNS} WHERE print_loans.returned_at IS NULL AND print_loans.due_at < ?"
        " ORDER BY print_loans.due_at, items.barcode",
        (stamp(now),),
    ).fetchall()
    return [_loan_from_row(row, policy, now) for row in rows]


def circulation_today(
    connection: sqlite3.Connection, *, policy: CirculationPolicy = DEFAULT_POLICY, now: datetime | None = None
) -> dict[str, int]:
    """Counts for the dashboard: `loans` made and `returns` today (in the library's time
    zone), `on_loan` (open loans) and `overdue`."""
    now = now or utc_now()
    zone = policy.zone
    today = now.astimezone(zone).date()
    start = stamp(datetime.combine(today, time.min, zone))
    end = stamp(datetime.combine(today + timedelta(days=1), time.min, zone))
    row = connection.execute(
        "SELECT sum(loaned_at >= ?1 AND loaned_at < ?2) AS loans,"
        " sum(returned_at >= ?1 AND returned_at < ?2) AS returns,"
        " sum(returned_at IS NULL) AS on_loan, sum(returned_at IS NULL AND due_at < ?3) AS overdue"
        " FROM print_loans",
        (start, end, stamp(now)),
    ).fetchone()
    return {key: row[key] or 0 for key in ("loans", "returns", "on_loan", "overdue")}


# --- rows -----------------------------------------------------------------------------------


def _end_of_day(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(23, 59, 59), zone)


def _item(connection: sqlite3.Connection, barcode: str) -> sqlite3.Row:
    item = connection.execute("SELECT * FROM items WHERE barcode = ?", (barcode,)).fetchone()
    if item is None:
        raise ItemNotFound(barcode=barcode)
    return item


def _loan(connection: sqlite3.Connection, loan_id: int, policy: CirculationPolicy, now: datetime) -> dict[str, Any]:
    row = connection.execute(f"{_LOAN_COLUMNS} WHERE print_loans.id = ?", (loan_id,)).fetchone()
    return _loan_from_row(row, policy, now)


def _loan_from_row(row: sqlite3.Row, policy: CirculationPolicy, now: datetime) -> dict[str, Any]:
    """A loan as a plain dictionary; `overdue` and `days_late` as of its return, or of *now* while open."""
    until = parse_stamp(row["returned_at"]) if row["returned_at"] else now
    late = days_late(parse_stamp(row["due_at"]), until, policy.timezone)
    return {
        "id": row["id"],
        "item_id": row["item_id"],
        "barcode": row["barcode"],
        "record_id": row["record_id"],
        "title": row["title"],
        "member_id": row["member_id"],
        "member_number": row["member_number"],
        "member_name": row["member_name"],
        "loaned_at": row["loaned_at"],
        "due_at": row["due_at"],
        "returned_at": row["returned_at"],
        "renewals": row["renewals"],
        "overdue": late > 0,
        "days_late": late,
    }


def _loan_without_record(connection: sqlite3.Connection, item: sqlite3.Row) -> dict[str, Any]:
    title = connection.execute("SELECT title FROM records WHERE id = ?", (item["record_id"],)).fetchone()[0]
    return {
        "id": None,
        "item_id": item["id"],
        "barcode": item["barcode"],
        "record_id": item["record_id"],
        "title": title,
        "member_id": None,
        "member_number": None,
        "member_name": None,
        "loaned_at": None,
        "due_at": None,
        "returned_at": None,
        "renewals": 0,
        "overdue": False,
        "days_late": 0,
    }

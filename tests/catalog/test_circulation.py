"""Circulation of printed copies: check-out refusals, due dates in the library's time zone,
check-in, renewals, overdue lists, and two desks lending the same copy at once."""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from catalog import circulation, db, members
from catalog.circulation import CirculationPolicy
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
    MemberNotFound,
    RenewalLimitReached,
    RenewalOverdue,
)
from catalog.records import add_item

WIB = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=WIB)


@pytest.fixture
def connection(datadir):
    with contextlib.closing(datadir.connect()) as connection:
        record_id = connection.execute("INSERT INTO records (title) VALUES ('Si Kancil')").lastrowid
        for barcode in ("B001", "B002", "B003", "B004"):
            add_item(connection, record_id, barcode=barcode, call_number="398.2 SIK")
        for barcode, status in [
            ("REF1", "reference"),
            ("LOST1", "lost"),
            ("FIX1", "in-repair"),
            ("OUT1", "withdrawn"),
        ]:
            add_item(connection, record_id, barcode=barcode, status=status)
        yield connection


@pytest.fixture
def siti(connection):
    return members.register_member(connection, "Siti", number="S-1", now=NOW)["number"]


def statuses(connection) -> dict[str, str]:
    return dict(connection.execute("SELECT barcode, status FROM items").fetchall())


def open_loans(connection) -> int:
    return connection.execute("SELECT count(*) FROM print_loans WHERE returned_at IS NULL").fetchone()[0]


def test_check_out_lends_the_copy_until_the_end_of_the_due_day(connection, siti):
    loan = circulation.check_out(connection, " B001 ", siti.lower(), now=NOW)
    assert loan["barcode"] == "B001"
    assert loan["title"] == "Si Kancil"
    assert loan["member_number"] == siti
    assert loan["loaned_at"] == "2026-11-26T03:00:00Z"
    assert loan["due_at"] == "2026-12-03T16:59:59Z"  # 3 December, 23:59:59 WIB
    assert (loan["overdue"], loan["days_late"], loan["renewals"]) == (False, 0, 0)
    assert statuses(connection)["B001"] == "on-loan"


@pytest.mark.parametrize(
    ("local_time", "due_local"),
    [
        (datetime(2026, 11, 26, 23, 30, tzinfo=WIB), datetime(2026, 12, 3, 23, 59, 59, tzinfo=WIB)),
        # 00:30 WIB is still the 26th in UTC; the loan belongs to the library's 27th
        (datetime(2026, 11, 27, 0, 30, tzinfo=WIB), datetime(2026, 12, 4, 23, 59, 59, tzinfo=WIB)),
    ],
)
def test_due_dates_follow_the_library_day_not_utc(connection, siti, local_time, due_local):
    loan = circulation.check_out(connection, "B001", siti, now=local_time.astimezone(UTC))
    assert members.parse_stamp(loan["due_at"]) == due_local


def test_due_dates_in_other_indonesian_time_zones():
    loaned = datetime(2026, 11, 26, 16, 30, tzinfo=UTC)  # 23:30 WIB, 00:30 WITA, 01:30 WIT
    assert circulation.due_date(loaned, 7, "Asia/Jakarta") == datetime(2026, 12, 3, 16, 59, 59, tzinfo=UTC)
    assert circulation.due_date(loaned, 7, "Asia/Makassar") == datetime(2026, 12, 4, 15, 59, 59, tzinfo=UTC)
    assert circulation.due_date(loaned, 7, "Asia/Jayapura") == datetime(2026, 12, 4, 14, 59, 59, tzinfo=UTC)


def test_loan_days_come_from_the_member_category(connection):
    connection.execute("UPDATE member_categories SET loan_days = 14 WHERE code = 'pelajar'")
    number = members.register_member(connection, "Pelajar", category="pelajar", now=NOW)["number"]
    loan = circulation.check_out(connection, "B001", number, now=NOW)
    assert loan["due_at"] == "2026-12-10T16:59:59Z"


@pytest.mark.parametrize(
    ("barcode", "error"),
    [
        ("TIDAK-ADA", ItemNotFound),
        ("REF1", CopyForReference),
        ("LOST1", CopyLost),
        ("FIX1", CopyInRepair),
        ("OUT1", CopyWithdrawn),
    ],
)
def test_check_out_refuses_copies_that_cannot_be_lent(connection, siti, barcode, error):
    before = statuses(connection)
    with pytest.raises(error) as raised:
        circulation.check_out(connection, barcode, siti, now=NOW)
    assert barcode in raised.value.render()
    assert statuses(connection) == before
    assert open_loans(connection) == 0


def test_check_out_refuses_a_copy_already_on_loan(connection, siti):
    other = members.register_member(connection, "Budi", now=NOW)["number"]
    circulation.check_out(connection, "B001", siti, now=NOW)
    with pytest.raises(CopyOnLoan) as raised:
        circulation.check_out(connection, "B001", other, now=NOW)
    assert isinstance(raised.value, CopyNotAvailable)
    assert raised.value.code == "copy-on-loan"
    assert open_loans(connection) == 1


def test_check_out_refuses_an_unknown_or_blocked_member(connection, siti):
    with pytest.raises(MemberNotFound):
        circulation.check_out(connection, "B001", "S-404", now=NOW)
    members.set_blocked(connection, siti, True)
    with pytest.raises(MemberBlocked) as raised:
        circulation.check_out(connection, "B001", siti, now=NOW)
    assert "S-1" in raised.value.render()
    assert statuses(connection)["B001"] == "available"


def test_check_out_refuses_past_the_category_loan_limit(connection):
    child = members.register_member(connection, "Anak", category="anak", now=NOW)["number"]  # max_loans 2
    circulation.check_out(connection, "B001", child, now=NOW)
    circulation.check_out(connection, "B002", child, now=NOW)
    with pytest.raises(LoanLimitReached) as raised:
        circulation.check_out(connection, "B003", child, now=NOW)
    assert raised.value.params["limit"] == 2
    assert statuses(connection)["B003"] == "available"
    circulation.check_in(connection, "B001", now=NOW)  # a return makes room
    assert circulation.check_out(connection, "B003", child, now=NOW)["barcode"] == "B003"


def test_overdue_loans_refuse_new_ones_unless_the_policy_allows(connection, siti):
    circulation.check_out(connection, "B001", siti, now=NOW)
    later = NOW + timedelta(days=8)
    with pytest.raises(MemberHasOverdueLoans) as raised:
        circulation.check_out(connection, "B002", siti, now=later)
    assert raised.value.params["count"] == 1
    lenient = CirculationPolicy(overdue_checkout="allow")
    assert circulation.check_out(connection, "B002", siti, policy=lenient, now=later)["barcode"] == "B002"


def test_check_in_of_an_overdue_copy_says_how_late_it_is(connection, siti):
    circulation.check_out(connection, "B001", siti, now=NOW)  # due 3 December, 23:59:59 WIB
    on_time = circulation.check_out(connection, "B002", siti, now=NOW)
    returned_at = datetime(2026, 12, 6, 8, 0, tzinfo=WIB)
    returned = circulation.check_in(connection, "B001", now=returned_at)
    assert returned["returned_at"] == "2026-12-06T01:00:00Z"
    assert (returned["overdue"], returned["days_late"]) == (True, 3)
    assert statuses(connection)["B001"] == "available"
    # the return is remembered as it was, whenever it is read again
    history = circulation.member_loans(connection, siti, include_returned=True, now=returned_at + timedelta(days=30))
    assert [(loan["barcode"], loan["returned_at"] is None) for loan in history] == [("B002", True), ("B001", False)]
    assert history[1]["days_late"] == 3
    just_in_time = circulation.check_in(connection, "B002", now=members.parse_stamp(on_time["due_at"]))
    assert (just_in_time["overdue"], just_in_time["days_late"]) == (False, 0)


def test_one_minute_after_midnight_is_one_day_late(connection, siti):
    loan = circulation.check_out(connection, "B001", siti, now=NOW)
    due = members.parse_stamp(loan["due_at"])
    returned = circulation.check_in(connection, "B001", now=due + timedelta(minutes=1))
    assert returned["days_late"] == 1


def test_check_in_refuses_a_copy_not_on_loan(connection):
    with pytest.raises(CopyNotOnLoan):
        circulation.check_in(connection, "B001", now=NOW)
    with pytest.raises(ItemNotFound):
        circulation.check_in(connection, "TIDAK-ADA", now=NOW)


def test_check_in_puts_back_a_copy_marked_on_loan_without_a_loan(connection):
    connection.execute("UPDATE items SET status = 'on-loan' WHERE barcode = 'B004'")  # e.g. an imported status
    returned = circulation.check_in(connection, "B004", now=NOW)
    assert returned["id"] is None
    assert returned["barcode"] == "B004"
    assert statuses(connection)["B004"] == "available"


def test_renewal_extends_from_today_and_counts(connection, siti):
    circulation.check_out(connection, "B001", siti, now=NOW)
    renewed = circulation.renew(connection, "B001", now=NOW + timedelta(days=5))
    assert renewed["renewals"] == 1
    assert renewed["due_at"] == "2026-12-08T16:59:59Z"  # 1 December + 7 days, end of day WIB
    with pytest.raises(RenewalLimitReached) as raised:  # the category allows one renewal
        circulation.renew(connection, "B001", now=NOW + timedelta(days=6))
    assert raised.value.params["limit"] == 1
    connection.execute("UPDATE member_categories SET max_renewals = 3")
    # renewing on the day of the loan never shortens it
    assert circulation.renew(connection, "B001", now=NOW)["due_at"] == "2026-12-08T16:59:59Z"


def test_renewal_of_an_overdue_loan_depends_on_the_grace_days(connection, siti):
    circulation.check_out(connection, "B001", siti, now=NOW)
    two_days_late = datetime(2026, 12, 5, 9, 0, tzinfo=WIB)
    with pytest.raises(RenewalOverdue) as raised:
        circulation.renew(connection, "B001", now=two_days_late)
    assert raised.value.params["days"] == 2
    lenient = CirculationPolicy(renew_grace_days=2)
    renewed = circulation.renew(connection, "B001", policy=lenient, now=two_days_late)
    assert renewed["due_at"] == "2026-12-12T16:59:59Z"
    assert renewed["overdue"] is False


def test_renewal_refusals_for_blocked_members_and_copies_not_on_loan(connection, siti):
    with pytest.raises(CopyNotOnLoan):
        circulation.renew(connection, "B001", now=NOW)
    circulation.check_out(connection, "B001", siti, now=NOW)
    members.set_blocked(connection, siti, True)
    with pytest.raises(MemberBlocked):
        circulation.renew(connection, "B001", now=NOW)
    assert circulation.member_loans(connection, siti)[0]["renewals"] == 0


def test_overdue_list_and_today_counts(connection, siti):
    budi = members.register_member(connection, "Budi", now=NOW)["number"]
    circulation.check_out(connection, "B001", siti, now=NOW - timedelta(days=10))  # due 23 Nov
    circulation.check_out(connection, "B003", budi, now=NOW)
    circulation.check_out(connection, "B002", budi, now=NOW - timedelta(days=8))  # due 25 Nov
    overdue = circulation.overdue_loans(connection, now=NOW)
    assert [(loan["barcode"], loan["member_name"], loan["days_late"]) for loan in overdue] == [
        ("B001", "Siti", 3),
        ("B002", "Budi", 1),
    ]
    circulation.check_in(connection, "B002", now=NOW)
    # 23:30 WIB the day before is yesterday in Jakarta, though it is the same UTC day
    circulation.check_out(connection, "B004", budi, now=datetime(2026, 11, 25, 23, 30, tzinfo=WIB))
    assert circulation.circulation_today(connection, now=NOW) == {"loans": 1, "returns": 1, "on_loan": 3, "overdue": 1}
    papua = CirculationPolicy(timezone="Asia/Jayapura")  # there, 23:30 WIB was already the 26th
    assert circulation.circulation_today(connection, policy=papua, now=NOW)["loans"] == 2


def test_policy_is_checked_when_built():
    with pytest.raises(ValueError):
        CirculationPolicy(overdue_checkout="kadang")
    with pytest.raises(ValueError):
        CirculationPolicy(renew_grace_days=-1)
    with pytest.raises(Exception):  # noqa: B017 - zoneinfo's own error for an unknown zone
        CirculationPolicy(timezone="Asia/Atlantis")


def test_two_desks_lending_the_same_copy_at_once_make_one_loan(datadir, connection):
    numbers = [members.register_member(connection, name, now=NOW)["number"] for name in ("Siti", "Budi")]
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def desk(number: str) -> None:
        with contextlib.closing(db.connect(datadir.database_path)) as own:
            barrier.wait()
            try:
                outcomes.append(circulation.check_out(own, "B001", number, now=NOW))
            except CopyOnLoan as error:
                outcomes.append(error)

    threads = [threading.Thread(target=desk, args=(number,)) for number in numbers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    loans = [outcome for outcome in outcomes if isinstance(outcome, dict)]
    refusals = [outcome for outcome in outcomes if isinstance(outcome, CopyOnLoan)]
    assert (len(loans), len(refusals)) == (1, 1)
    assert open_loans(connection) == 1
    assert statuses(connection)["B001"] == "on-loan"


def test_the_open_loan_index_stops_a_second_loan_even_past_the_status(connection, siti):
    circulation.check_out(connection, "B001", siti, now=NOW)
    connection.execute("UPDATE items SET status = 'available' WHERE barcode = 'B001'")  # a stale status
    other = members.register_member(connection, "Budi", now=NOW)["number"]
    with pytest.raises(CopyOnLoan):
        circulation.check_out(connection, "B001", other, now=NOW)
    assert open_loans(connection) == 1

"""E-lending rules with a clock the tests move: loans that end by themselves, the e-loan limit,
renewals, early returns passing the copy to the queue, reservations that run out, honest wait
estimates, and two borrowers racing for the last copy."""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime, timedelta

import pytest

from catalog import db, lending, members
from catalog.errors import (
    AlreadyInQueue,
    AlreadyOnLoan,
    EbookLoanLimitReached,
    HoldNotFound,
    InvalidLicenceChoice,
    LoanExpired,
    LoanNotFound,
    MemberBlocked,
    NotLendable,
    RecordNotFound,
    RenewalWanted,
)
from catalog.lending import LendingPolicy

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
POLICY = LendingPolicy(loan_days=7, hold_ready_hours=48)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture
def connection(datadir):
    with contextlib.closing(datadir.connect()) as connection:
        yield connection


def title(connection, name="Laskar Pelangi", *, copies=1, loan_days=None, licence="lending") -> int:
    record_id = connection.execute("INSERT INTO records (title) VALUES (?)", (name,)).lastrowid
    connection.execute(
        "UPDATE records SET licence = ?, licence_copies = ?, loan_days = ? WHERE id = ?",
        (licence, copies, loan_days, record_id),
    )
    return record_id


def patron(connection, name: str, category: str = "umum") -> int:
    return members.register_member(connection, name, number=name.upper(), category=category, now=NOW)["id"]


def borrow(connection, record_id, member_id, now=NOW):
    return lending.borrow(connection, record_id, member_id, policy=POLICY, now=now)


def test_a_loan_lasts_the_titles_days_and_ends_by_itself_at_its_exact_due_time(connection):
    book, default_book = title(connection, loan_days=3), title(connection, "Bumi")
    siti = patron(connection, "siti")
    loan = borrow(connection, book, siti)["loan"]
    assert loan["due_at"] == NOW + 3 * DAY and loan["seconds_left"] == 3 * 24 * 3600
    assert borrow(connection, default_book, siti)["loan"]["due_at"] == NOW + 7 * DAY
    assert lending.active_loan(connection, book, siti, now=NOW + 3 * DAY - timedelta(seconds=1))
    assert lending.active_loan(connection, book, siti, now=NOW + 3 * DAY) is None
    ended = lending.latest_loan(connection, book, siti, now=NOW + 3 * DAY)
    assert not ended["active"] and ended["ended_at"] == NOW + 3 * DAY
    # The copy is free again without anything having run.
    assert lending.availability(connection, book, policy=POLICY, now=NOW + 3 * DAY)["available"] == 1
    with pytest.raises(LoanExpired):
        lending.return_loan(connection, book, siti, policy=POLICY, now=NOW + 4 * DAY)


def test_availability_counts_owned_minus_loans_minus_reserved(connection):
    book = title(connection, copies=2)
    siti, budi, ani = (patron(connection, name) for name in ("siti", "budi", "ani"))
    assert lending.availability(connection, book, policy=POLICY, now=NOW)["available"] == 2
    borrow(connection, book, siti)
    borrow(connection, book, budi, NOW + HOUR)
    assert borrow(connection, book, ani, NOW + 2 * HOUR)["outcome"] == "hold"
    state = lending.availability(connection, book, policy=POLICY, now=NOW + 2 * HOUR)
    assert (state["copies"], state["on_loan"], state["reserved"], state["available"], state["waiting"]) == (
        2,
        2,
        0,
        0,
        1,
    )
    assert state["next_free_at"] == NOW + 7 * DAY
    # Siti's loan ends by itself: the copy is reserved for Ani, not free for anyone.
    later = lending.availability(connection, book, policy=POLICY, now=NOW + 7 * DAY)
    assert (later["on_loan"], later["reserved"], later["available"], later["waiting"]) == (1, 1, 0, 0)


def test_titles_that_need_no_loan_and_withdrawn_titles_are_not_lent(connection):
    open_book = title(connection, licence="open-access", copies=None)
    library_book = title(connection, licence="in-library", copies=None)
    library_lent = title(connection, licence="in-library", copies=1)
    withdrawn = title(connection)
    connection.execute("UPDATE records SET withdrawn = 1 WHERE id = ?", (withdrawn,))
    siti = patron(connection, "siti")
    for book in (open_book, library_book):
        with pytest.raises(NotLendable):
            borrow(connection, book, siti)
        assert lending.availability(connection, book, policy=POLICY, now=NOW)["needs_loan"] is False
    with pytest.raises(RecordNotFound):
        borrow(connection, withdrawn, siti)
    with pytest.raises(RecordNotFound):
        borrow(connection, 999, siti)
    assert borrow(connection, library_lent, siti)["outcome"] == "loan"
    assert connection.execute("SELECT count(*) FROM ebook_loans").fetchone()[0] == 1


def test_the_category_limit_of_concurrent_e_loans(connection):
    books = [title(connection, f"Buku {n}") for n in range(5)]
    siti, ani = patron(connection, "siti"), patron(connection, "ani", "anak")
    connection.execute("UPDATE member_categories SET max_ebook_loans = 2 WHERE code = 'anak'")
    for book in books[:3]:
        borrow(connection, book, siti)
    with pytest.raises(EbookLoanLimitReached) as refused:
        borrow(connection, books[3], siti)
    assert refused.value.params["limit"] == 3
    borrow(connection, books[3], ani)
    borrow(connection, books[4], ani)
    with pytest.raises(EbookLoanLimitReached):
        borrow(connection, books[0], ani)  # nor may she join a queue over the limit
    assert connection.execute("SELECT count(*) FROM ebook_holds").fetchone()[0] == 0
    # A loan that ended by itself no longer counts.
    assert borrow(connection, books[3], siti, NOW + 8 * DAY)["outcome"] == "loan"


def test_refusals_change_nothing(connection):
    book = title(connection)
    siti, budi = patron(connection, "siti"), patron(connection, "budi")
    borrow(connection, book, siti)
    with pytest.raises(AlreadyOnLoan):
        borrow(connection, book, siti)
    borrow(connection, book, budi)
    with pytest.raises(AlreadyInQueue):
        borrow(connection, book, budi)
    members.set_blocked(connection, "BUDI", True)
    with pytest.raises(MemberBlocked):
        borrow(connection, title(connection, "Lain"), budi)
    with pytest.raises(LoanNotFound):
        lending.return_loan(connection, book, budi, policy=POLICY, now=NOW)
    with pytest.raises(HoldNotFound):
        lending.cancel_hold(connection, book, siti, policy=POLICY, now=NOW)
    assert connection.execute("SELECT count(*) FROM ebook_loans").fetchone()[0] == 1
    assert connection.execute("SELECT count(*) FROM ebook_holds").fetchone()[0] == 1


def test_renew_only_while_no_one_else_waits(connection):
    book = title(connection, loan_days=5)
    siti, budi = patron(connection, "siti"), patron(connection, "budi")
    borrow(connection, book, siti)
    renewed = lending.renew(connection, book, siti, policy=POLICY, now=NOW + 4 * DAY)
    assert renewed["due_at"] == NOW + 9 * DAY and renewed["renewals"] == 1
    assert borrow(connection, book, budi, NOW + 5 * DAY)["outcome"] == "hold"
    assert lending.shelf(connection, siti, policy=POLICY, now=NOW + 5 * DAY)["loans"][0]["renewable"] is False
    with pytest.raises(RenewalWanted):
        lending.renew(connection, book, siti, policy=POLICY, now=NOW + 6 * DAY)
    with pytest.raises(LoanExpired):
        lending.renew(connection, book, siti, policy=POLICY, now=NOW + 10 * DAY)


def test_an_early_return_frees_the_copy_at_once_for_the_first_in_the_queue(connection):
    book = title(connection)
    siti, budi, ani = (patron(connection, name) for name in ("siti", "budi", "ani"))
    borrow(connection, book, siti)
    borrow(connection, book, budi, NOW + HOUR)
    borrow(connection, book, ani, NOW + 2 * HOUR)
    [budi_hold] = lending.shelf(connection, budi, policy=POLICY, now=NOW + 2 * HOUR)["holds"]
    [ani_hold] = lending.shelf(connection, ani, policy=POLICY, now=NOW + 2 * HOUR)["holds"]
    assert (budi_hold["status"], budi_hold["position"], ani_hold["position"]) == ("waiting", 1, 2)
    returned_at = NOW + DAY
    lending.return_loan(connection, book, siti, policy=POLICY, now=returned_at)
    [ready] = lending.shelf(connection, budi, policy=POLICY, now=returned_at)["holds"]
    assert ready["status"] == "ready" and ready["ready_until"] == returned_at + 48 * HOUR
    # Ani cannot take the copy reserved for Budi; Budi can.
    with pytest.raises(AlreadyInQueue):
        borrow(connection, book, ani, returned_at + HOUR)
    assert borrow(connection, book, budi, returned_at + 2 * HOUR)["outcome"] == "loan"
    assert lending.shelf(connection, budi, policy=POLICY, now=returned_at + 2 * HOUR)["holds"] == []
    assert lending.shelf(connection, ani, policy=POLICY, now=returned_at + 2 * HOUR)["holds"][0]["position"] == 1


def test_an_unclaimed_reservation_passes_to_the_next_after_the_window(connection):
    book = title(connection, loan_days=2)
    siti, budi, ani = (patron(connection, name) for name in ("siti", "budi", "ani"))
    borrow(connection, book, siti)
    borrow(connection, book, budi, NOW + HOUR)
    borrow(connection, book, ani, NOW + 2 * HOUR)
    # Nothing is called for days: Siti's loan ended at +2 days, Budi's reservation ran out
    # 48 hours later, so Ani's began then; all worked out when someone next looks.
    late = NOW + 4 * DAY + HOUR
    assert lending.shelf(connection, budi, policy=POLICY, now=late)["holds"] == []
    [ani_hold] = lending.shelf(connection, ani, policy=POLICY, now=late)["holds"]
    assert ani_hold["status"] == "ready" and ani_hold["ready_until"] == NOW + 2 * DAY + 96 * HOUR
    assert borrow(connection, book, budi, late)["outcome"] == "hold"  # Budi may queue again, behind
    assert connection.execute("SELECT ended_how FROM ebook_holds WHERE member_id = ?", (budi,)).fetchone()[0] == (
        "expired"
    )
    # Ani lets it run out too: Budi (again in the queue) gets it, then it runs out and the copy is free.
    assert lending.shelf(connection, budi, policy=POLICY, now=NOW + 6 * DAY + HOUR)["holds"][0]["status"] == "ready"
    state = lending.availability(connection, book, policy=POLICY, now=NOW + 9 * DAY)
    assert (state["available"], state["holds"]) == (1, 0)


def test_leaving_the_queue_passes_a_reserved_copy_on(connection):
    book = title(connection)
    siti, budi, ani = (patron(connection, name) for name in ("siti", "budi", "ani"))
    borrow(connection, book, siti)
    borrow(connection, book, budi)
    borrow(connection, book, ani)
    lending.return_loan(connection, book, siti, policy=POLICY, now=NOW + HOUR)
    lending.cancel_hold(connection, book, budi, policy=POLICY, now=NOW + 2 * HOUR)
    [ani_hold] = lending.shelf(connection, ani, policy=POLICY, now=NOW + 2 * HOUR)["holds"]
    assert ani_hold["status"] == "ready" and ani_hold["ready_until"] == NOW + 2 * HOUR + 48 * HOUR


def test_wait_estimate_assumes_every_loan_runs_its_full_time(connection):
    book = title(connection, copies=2, loan_days=7)
    siti, budi, ani, dewi, eko = (patron(connection, name) for name in ("siti", "budi", "ani", "dewi", "eko"))
    borrow(connection, book, siti)
    borrow(connection, book, budi, NOW + DAY)
    for member in (ani, dewi, eko):
        borrow(connection, book, member, NOW + 2 * DAY)
    holds = {
        member: lending.shelf(connection, member, policy=POLICY, now=NOW + 2 * DAY)["holds"][0]
        for member in (ani, dewi, eko)
    }
    assert holds[ani]["estimate"] == NOW + 7 * DAY  # Siti's loan ends
    assert holds[dewi]["estimate"] == NOW + 8 * DAY  # Budi's loan ends
    assert holds[eko]["estimate"] == NOW + 14 * DAY  # Ani's whole loan after Siti's
    assert holds[eko]["queue_length"] == 3


def test_set_licence_for_the_command_line(connection):
    book = title(connection, licence="open-access", copies=None)
    assert lending.set_licence(connection, book, copies=2, loan_days=5)["licence"] == "lending"
    assert lending.set_licence(connection, book, copies=1, in_library_only=True)["licence"] == "in-library"
    row = connection.execute("SELECT licence, licence_copies, loan_days FROM records WHERE id = ?", (book,)).fetchone()
    assert tuple(row) == ("in-library", 1, None)
    assert lending.set_licence(connection, book, copies=1, stamped_download=True)["stamped_download"] is True
    assert lending.allows_stamped_download(connection, book)
    assert lending.set_licence(connection, book, open_access=True)["copies"] is None
    assert not lending.allows_stamped_download(connection, book)
    for wrong in ({"copies": 0}, {"copies": 2, "loan_days": 0}, {}, {"loan_days": 3}, {"stamped_download": True}):
        with pytest.raises(InvalidLicenceChoice):
            lending.set_licence(connection, book, **wrong)
    with pytest.raises(RecordNotFound):
        lending.set_licence(connection, 999, copies=1)


def test_loans_and_holds_events_carry_no_patron(connection):
    book = title(connection)
    siti, budi = patron(connection, "siti"), patron(connection, "budi")
    borrow(connection, book, siti)
    lending.renew(connection, book, siti, policy=POLICY, now=NOW + HOUR)
    borrow(connection, book, budi)
    lending.return_loan(connection, book, siti, policy=POLICY, now=NOW + HOUR)
    rows = connection.execute("SELECT * FROM events ORDER BY id").fetchall()
    # budi is turned away (every copy out) and queued; siti's return sets the copy aside for him
    assert [row["kind"] for row in rows] == ["loan", "renew", "refusal_limit", "hold", "hold_fulfilled", "return"]
    assert set(rows[0].keys()) == {"id", "at", "kind", "record_id"}


def test_holds_fulfilled_and_expired_are_counted_when_they_happened(connection):
    book = title(connection)
    siti, budi = patron(connection, "siti"), patron(connection, "budi")
    borrow(connection, book, siti)
    borrow(connection, book, budi)
    lending.return_loan(connection, book, siti, policy=POLICY, now=NOW + HOUR)
    # budi never claims it; the queue is worked out long after the window ran out
    lending.availability(connection, book, policy=POLICY, now=NOW + 30 * 24 * HOUR)
    lending.borrow(connection, book, siti, policy=POLICY, now=NOW + 31 * 24 * HOUR)
    rows = connection.execute("SELECT kind, at FROM events WHERE kind LIKE 'hold_%' ORDER BY id").fetchall()
    assert [row["kind"] for row in rows] == ["hold_fulfilled", "hold_expired"]
    assert rows[1]["at"] > rows[0]["at"]


def test_deleting_a_member_ends_their_e_loans_and_holds(connection):
    book = title(connection)
    siti, budi = patron(connection, "siti"), patron(connection, "budi")
    borrow(connection, book, siti)
    borrow(connection, book, budi)
    members.delete_member(connection, "SITI", now=NOW + HOUR)
    [hold] = lending.shelf(connection, budi, policy=POLICY, now=NOW + 2 * HOUR)["holds"]
    assert hold["status"] == "ready"


def test_two_borrowers_at_once_for_the_last_copy_get_one_loan_and_one_hold(datadir):
    with contextlib.closing(datadir.connect()) as connection:
        book = title(connection)
        ids = [patron(connection, name) for name in ("siti", "budi")]
    barrier, outcomes = threading.Barrier(2), []

    def run(member_id):
        with contextlib.closing(datadir.connect()) as own:
            barrier.wait()
            outcomes.append(lending.borrow(own, book, member_id, policy=POLICY)["outcome"])

    threads = [threading.Thread(target=run, args=(member_id,)) for member_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["hold", "loan"]
    with contextlib.closing(datadir.connect()) as connection:
        assert connection.execute("SELECT count(*) FROM ebook_loans").fetchone()[0] == 1


def test_every_change_runs_in_its_own_immediate_transaction_or_the_callers(connection):
    book = title(connection)
    siti = patron(connection, "siti")
    with pytest.raises(RuntimeError), db.transaction(connection):
        borrow(connection, book, siti)
        raise RuntimeError("the caller's transaction fails")
    assert connection.execute("SELECT count(*) FROM ebook_loans").fetchone()[0] == 0

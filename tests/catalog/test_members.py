"""Members: registering, numbers, editing, PINs and lockout, blocking, deleting, statistics."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest

from catalog import circulation, members, pins
from catalog.errors import (
    DuplicateMemberNumber,
    InvalidAddress,
    InvalidBirthYear,
    InvalidGender,
    InvalidMemberName,
    InvalidMemberNumber,
    InvalidPhone,
    InvalidPin,
    MemberLocked,
    MemberNotFound,
    MemberNumberMistyped,
    UnknownMemberCategory,
    WrongPin,
)
from catalog.records import add_item

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


@pytest.fixture
def connection(datadir):
    with contextlib.closing(datadir.connect()) as connection:
        yield connection


def test_register_generates_numbers_with_year_sequence_and_check_digit(connection):
    first = members.register_member(connection, "Siti Rahayu", now=NOW)
    second = members.register_member(connection, "Budi Santoso", now=NOW)
    assert first["number"] == "A2026-0001-" + members.luhn_digit("20260001")
    assert second["number"] == "A2026-0002-" + members.luhn_digit("20260002")
    assert members.check_number(first["number"]) and members.check_number(second["number"])
    next_year = members.register_member(connection, "Dewi", now=NOW.replace(year=2027))
    assert next_year["number"].startswith("A2027-0001-")


def test_luhn_check_digit_catches_a_wrong_digit_and_swapped_neighbours():
    assert members.luhn_digit("7992739871") == "3"  # the textbook example
    number = members.format_number(2026, 42)
    assert members.check_number(number)
    year_and_sequence, check = number[1:-2], number[-1]
    assert not members.check_number(f"A{year_and_sequence}-{(int(check) + 1) % 10}")
    assert not members.check_number("A2026-0024-" + check)  # 42 typed as 24
    assert not members.check_number("Siti")


def test_generated_numbers_stay_unique_around_given_ones(connection):
    taken = members.format_number(2026, 2)
    members.register_member(connection, "Pertama", number=taken, now=NOW)
    numbers = {members.register_member(connection, f"Anggota {n}", now=NOW)["number"] for n in range(5)}
    assert len(numbers) == 5
    assert taken not in numbers
    assert members.format_number(2026, 3) in numbers  # it continues after the highest one


def test_numbers_are_unique_whatever_their_case(connection):
    members.register_member(connection, "Siti", number="slims-0042", now=NOW)
    with pytest.raises(DuplicateMemberNumber):
        members.register_member(connection, "Budi", number="SLIMS-0042", now=NOW)
    assert members.get_member(connection, "Slims-0042")["name"] == "Siti"


@pytest.mark.parametrize("number", ["", "   x y", "a" * 33, "-awal", "nomor;drop"])
def test_malformed_given_numbers_are_refused(connection, number):
    if not number.strip():
        # an empty number means "generate one"
        assert members.register_member(connection, "Siti", number=number, now=NOW)["number"].startswith("A2026")
        return
    with pytest.raises(InvalidMemberNumber):
        members.register_member(connection, "Siti", number=number, now=NOW)


def test_fields_are_cleaned_and_checked(connection):
    member = members.register_member(
        connection,
        "  Siti   Rahayu ",
        birth_year=1990,
        gender="p",
        address=" Jl. Melati 3 ",
        phone="+62 812-3456",
        category="pelajar",
        now=NOW,
    )
    assert member["name"] == "Siti Rahayu"
    assert member["gender"] == "P"
    assert member["address"] == "Jl. Melati 3"
    assert member["category"] == "pelajar"
    assert member["category_name"] == "Pelajar"
    assert member["has_pin"] is False
    assert member["blocked"] is False
    assert members.register_member(connection, "Tanpa Data", now=NOW)["gender"] is None


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"name": "  "}, InvalidMemberName),
        ({"name": "x" * 101}, InvalidMemberName),
        ({"birth_year": 1900}, InvalidBirthYear),
        ({"birth_year": 2027}, InvalidBirthYear),
        ({"birth_year": "tahun"}, InvalidBirthYear),
        ({"gender": "X"}, InvalidGender),
        ({"phone": "0812<script>"}, InvalidPhone),
        ({"address": "a" * 201}, InvalidAddress),
        ({"category": "dewasa"}, UnknownMemberCategory),
    ],
)
def test_bad_fields_are_refused_and_nothing_is_written(connection, fields, error):
    arguments = {"name": "Siti", **fields}
    with pytest.raises(error) as raised:
        members.register_member(connection, now=NOW, **arguments)
    assert raised.value.render()  # a message with its placeholders filled
    assert "%(" not in raised.value.render()
    assert members.count_members(connection) == 0


def test_update_changes_only_what_is_given(connection):
    number = members.register_member(connection, "Siti", birth_year=1990, phone="0812", now=NOW)["number"]
    updated = members.update_member(connection, number, name="Siti Aminah", phone=None, category="anak", now=NOW)
    assert (updated["name"], updated["birth_year"], updated["phone"], updated["category"]) == (
        "Siti Aminah",
        1990,
        None,
        "anak",
    )
    renumbered = members.update_member(connection, number, new_number="LAMA-7", now=NOW)
    assert members.get_member(connection, "lama-7")["id"] == renumbered["id"]
    other = members.register_member(connection, "Budi", now=NOW)["number"]
    with pytest.raises(DuplicateMemberNumber):
        members.update_member(connection, other, new_number="LAMA-7")
    with pytest.raises(UnknownMemberCategory):
        members.update_member(connection, other, category="tamu")


def test_unknown_and_mistyped_numbers(connection):
    number = members.register_member(connection, "Siti", now=NOW)["number"]
    with pytest.raises(MemberNotFound):
        members.get_member(connection, "A2026-0099-" + members.luhn_digit("20260099"))
    mistyped = number[:-1] + str((int(number[-1]) + 1) % 10)
    with pytest.raises(MemberNumberMistyped) as raised:
        members.get_member(connection, mistyped)
    assert isinstance(raised.value, MemberNotFound)
    assert "check digit" in raised.value.render()


def test_list_searches_by_number_prefix_or_name(connection):
    members.register_member(connection, "Siti Rahayu", number="K-001", now=NOW)
    members.register_member(connection, "Budi Santoso", number="K-002", now=NOW)
    members.register_member(connection, "Rahmat 100%_", number="L-001", now=NOW)
    assert [m["name"] for m in members.list_members(connection)] == ["Budi Santoso", "Rahmat 100%_", "Siti Rahayu"]
    assert [m["number"] for m in members.list_members(connection, "k-")] == ["K-002", "K-001"]
    assert [m["name"] for m in members.list_members(connection, "RAHAYU")] == ["Siti Rahayu"]
    assert [m["name"] for m in members.list_members(connection, "%_")] == ["Rahmat 100%_"]  # no wildcards
    assert [m["number"] for m in members.list_members(connection, limit=1, offset=1)] == ["L-001"]


def test_set_pin_stores_a_salted_scrypt_hash(connection):
    number = members.register_member(connection, "Siti", now=NOW)["number"]
    pins.set_pin(connection, number, "1234")
    other = members.register_member(connection, "Budi", now=NOW)["number"]
    pins.set_pin(connection, other, "1234")
    stored = [row[0] for row in connection.execute("SELECT pin_hash FROM members ORDER BY id")]
    assert all(value.startswith("scrypt$") for value in stored)
    assert "1234" not in stored[0]
    assert stored[0] != stored[1]  # a salt per PIN
    assert members.get_member(connection, number)["has_pin"] is True
    assert pins.verify_pin(connection, number.lower(), "1234", now=NOW)["number"] == number


@pytest.mark.parametrize("pin", ["123", "123456789", "12a4", "", " 1234", "١٢٣٤"])
def test_pins_are_four_to_eight_ascii_digits(connection, pin):
    number = members.register_member(connection, "Siti", now=NOW)["number"]
    with pytest.raises(InvalidPin):
        pins.set_pin(connection, number, pin)


def test_wrong_pin_unknown_number_and_no_pin_give_the_same_error(connection):
    number = members.register_member(connection, "Siti", now=NOW)["number"]
    with pytest.raises(WrongPin):
        pins.verify_pin(connection, number, "1234", now=NOW)  # no PIN yet
    pins.set_pin(connection, number, "1234")
    with pytest.raises(WrongPin):
        pins.verify_pin(connection, number, "4321", now=NOW)
    with pytest.raises(WrongPin):
        pins.verify_pin(connection, "TIDAK-ADA", "1234", now=NOW)


def test_pin_lockout_after_repeated_failures_and_its_end(connection):
    number = members.register_member(connection, "Siti", now=NOW)["number"]
    pins.set_pin(connection, number, "246810")
    for _attempt in range(pins.MAX_PIN_FAILURES - 1):
        with pytest.raises(WrongPin):
            pins.verify_pin(connection, number, "000000", now=NOW)
    with pytest.raises(MemberLocked) as locked:
        pins.verify_pin(connection, number, "000000", now=NOW)
    assert "15" in locked.value.render()
    # while locked, even the right PIN is refused
    later = NOW + timedelta(minutes=pins.PIN_LOCK_MINUTES - 1)
    with pytest.raises(MemberLocked) as still:
        pins.verify_pin(connection, number, "246810", now=later)
    assert still.value.params["minutes"] == 1
    assert members.get_member(connection, number, now=later)["locked_until"] is not None
    after = NOW + timedelta(minutes=pins.PIN_LOCK_MINUTES, seconds=1)
    assert pins.verify_pin(connection, number, "246810", now=after)["number"] == number
    row = connection.execute("SELECT failed_logins, locked_until FROM members").fetchone()
    assert tuple(row) == (0, None)


def test_a_right_pin_resets_the_count_and_a_reset_lifts_a_lock(connection):
    number = members.register_member(connection, "Siti", now=NOW)["number"]
    pins.set_pin(connection, number, "1357")
    for _attempt in range(pins.MAX_PIN_FAILURES - 1):
        with pytest.raises(WrongPin):
            pins.verify_pin(connection, number, "0000", now=NOW)
    pins.verify_pin(connection, number, "1357", now=NOW)
    with pytest.raises(WrongPin):  # counting starts again: one failure is not a lock
        pins.verify_pin(connection, number, "0000", now=NOW)
    for _attempt in range(pins.MAX_PIN_FAILURES):
        with contextlib.suppress(WrongPin, MemberLocked):
            pins.verify_pin(connection, number, "0000", now=NOW)
    with pytest.raises(MemberLocked):
        pins.verify_pin(connection, number, "1357", now=NOW)
    pins.set_pin(connection, number, "97531", now=NOW)  # the librarian resets it
    assert pins.verify_pin(connection, number, "97531", now=NOW)["name"] == "Siti"


def test_a_blocked_member_may_sign_in_and_sees_that_they_are_blocked(connection):
    number = members.register_member(connection, "Siti", now=NOW)["number"]
    pins.set_pin(connection, number, "1234")
    members.set_blocked(connection, number, True)
    assert pins.verify_pin(connection, number, "1234", now=NOW)["blocked"] is True
    assert members.set_blocked(connection, number, False)["blocked"] is False


def _record_with_items(connection, *barcodes):
    record_id = connection.execute("INSERT INTO records (title) VALUES ('Buku Cerita Rakyat')").lastrowid
    for barcode in barcodes:
        add_item(connection, record_id, barcode=barcode)
    return record_id


def test_deleting_a_member_ends_their_loans_and_keeps_them_anonymous(connection):
    _record_with_items(connection, "B001", "B002")
    member = members.register_member(connection, "Siti", now=NOW)
    keeper = members.register_member(connection, "Budi", now=NOW)
    circulation.check_out(connection, "B001", member["number"], now=NOW)
    circulation.check_out(connection, "B002", keeper["number"], now=NOW)
    connection.execute("INSERT INTO sessions (token_hash, kind, subject_id) VALUES ('x', 'member', ?)", (member["id"],))
    assert members.delete_member(connection, member["number"], now=NOW + timedelta(hours=1)) == 1
    with pytest.raises(MemberNotFound):
        members.get_member(connection, member["number"])
    statuses = dict(connection.execute("SELECT barcode, status FROM items").fetchall())
    assert statuses == {"B001": "available", "B002": "on-loan"}
    ended = connection.execute("SELECT member_id, returned_at FROM print_loans WHERE item_id = 1").fetchone()
    assert ended["member_id"] is None
    assert ended["returned_at"] == "2026-11-26T04:00:00Z"
    assert connection.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0
    assert len(circulation.member_loans(connection, keeper["number"])) == 1
    # the copy can be lent again at once
    assert circulation.check_out(connection, "B001", keeper["number"], now=NOW)["barcode"] == "B001"


def test_age_bands():
    bands = {age: members.age_band(2026 - age, 2026) for age in (0, 6, 7, 12, 13, 18, 19, 59, 60, 104)}
    assert bands == {
        0: "0-6",
        6: "0-6",
        7: "7-12",
        12: "7-12",
        13: "13-18",
        18: "13-18",
        19: "19-59",
        59: "19-59",
        60: "60+",
        104: "60+",
    }
    assert members.age_band(None, 2026) == "unknown"


def test_statistics_count_by_gender_and_age_band(connection):
    for name, year, gender in [
        ("Anak", 2020, "L"),
        ("Pelajar", 2012, "P"),
        ("Remaja", 2010, "P"),
        ("Dewasa", 1990, "L"),
        ("Lansia", 1950, None),
        ("Tanpa", None, "P"),
    ]:
        members.register_member(connection, name, birth_year=year, gender=gender, now=NOW)
    stats = members.member_statistics(connection, year=2026, registered_since=NOW - timedelta(days=1))
    assert stats["total"] == 6
    assert stats["new"] == 6
    assert stats["by_gender"] == {"L": 2, "P": 3, "unknown": 1}
    assert stats["by_age_band"] == {"0-6": 1, "7-12": 0, "13-18": 2, "19-59": 1, "60+": 1, "unknown": 1}
    assert stats["by_gender_and_age_band"]["13-18"] == {"L": 0, "P": 2, "unknown": 0}
    assert stats["by_gender_and_age_band"]["60+"]["unknown"] == 1


def test_writes_join_a_transaction_the_caller_holds(connection):
    from catalog import db

    with pytest.raises(RuntimeError), db.transaction(connection):
        members.register_member(connection, "Siti", now=NOW)
        raise RuntimeError("the caller's audit entry failed")
    assert members.count_members(connection) == 0

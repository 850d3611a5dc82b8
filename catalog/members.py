"""Members (patrons): registering, editing, blocking, deleting, statistics.

Member numbers are given by the librarian (any 1–32 letters, digits, `.`, `/`, `-`, `_`,
e.g. a number from an older system) or generated as `A2026-0042-5`: a prefix (letters,
default `A` for anggota), the year of registration, `-`, a sequence within that year (four
digits or more), `-`, and a Luhn check digit over the year and sequence digits, so that a
mistyped digit and most swapped neighbours are caught. Numbers are unique regardless of case.

Only what the library needs is kept: name, year of birth (not the full date), gender as the
programme counts it (L/P, optional), and an optional address and phone.

PINs and signing in are in `catalog.pins`; the circulation of printed copies in
`catalog.circulation`.

Write functions run in one `BEGIN IMMEDIATE` transaction of their own, or inside the
caller's when one is open (so that a view can write its audit entry in the same one).
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from catalog import db
from catalog.errors import (
    DuplicateMemberNumber,
    InvalidAddress,
    InvalidBirthYear,
    InvalidGender,
    InvalidMemberName,
    InvalidMemberNumber,
    InvalidPhone,
    MemberNotFound,
    MemberNumberMistyped,
    UnknownMemberCategory,
)

DEFAULT_PREFIX = "A"
NAME_LIMIT = 100
ADDRESS_LIMIT = 200
OLDEST_AGE = 120
GENDERS = ("L", "P")

# Age bands for statistics, by age reached in the year counted: (code, lowest, highest).
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-6", 0, 6),
    ("7-12", 7, 12),
    ("13-18", 13, 18),
    ("19-59", 19, 59),
    ("60+", 60, None),
)
UNKNOWN = "unknown"

_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9./_-]{0,31}$")
_GENERATED = re.compile(r"^([A-Za-z]{1,4})(\d{4})-(\d{4,})-(\d)$")
_PREFIX = re.compile(r"^[A-Za-z]{1,4}$")
_PHONE = re.compile(r"^[0-9+() -]{3,20}$")
_STAMP = "%Y-%m-%dT%H:%M:%SZ"
_UNCHANGED: Any = object()
_MEMBER_SELECT = (
    "SELECT members.*, member_categories.name AS category_name FROM members"
    " JOIN member_categories ON member_categories.code = members.category"
)


# --- time and transactions ----------------------------------------------------------------


def utc_now() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
    """A moment as the database stores it: UTC, `2026-11-26T01:17:00Z` (sorts as text)."""
    return moment.astimezone(UTC).strftime(_STAMP)


def parse_stamp(text: str) -> datetime:
    return datetime.strptime(text, _STAMP).replace(tzinfo=UTC)


@contextlib.contextmanager
def writing(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction of its own, or the caller's when one is already open."""
    if connection.in_transaction:
        yield connection
    else:
        with db.transaction(connection):
            yield connection


# --- member numbers -------------------------------------------------------------------------


def luhn_digit(digits: str) -> str:
    """The Luhn check digit for a string of digits."""
    total = 0
    for position, character in enumerate(reversed(digits)):
        value = int(character)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def format_number(year: int, sequence: int, prefix: str = DEFAULT_PREFIX) -> str:
    """`format_number(2026, 42)` -> `A2026-0042-5`."""
    digits = f"{year:04d}{sequence:04d}"
    return f"{prefix.upper()}{year:04d}-{sequence:04d}-{luhn_digit(digits)}"


def is_generated_number(number: str) -> bool:
    """Whether *number* has the shape of a generated number (whatever its check digit)."""
    return _GENERATED.match(number.strip()) is not None


def check_number(number: str) -> bool:
    """Whether a number in the generated scheme has the right check digit."""
    match = _GENERATED.match(number.strip())
    return bool(match) and luhn_digit(match[2] + match[3]) == match[4]


def next_number(connection: sqlite3.Connection, year: int, prefix: str = DEFAULT_PREFIX) -> str:
    """The next free generated number of *year*; call it inside the registering transaction."""
    if not _PREFIX.match(prefix):
        raise InvalidMemberNumber(number=prefix)
    highest = 0
    for (number,) in connection.execute("SELECT number FROM members WHERE number LIKE ?", (f"{prefix}{year:04d}-%",)):
        match = _GENERATED.match(number)
        if match and match[1].upper() == prefix.upper() and int(match[2]) == year:
            highest = max(highest, int(match[3]))
    sequence = highest + 1
    while _number_taken(connection, format_number(year, sequence, prefix)):
        sequence += 1
    return format_number(year, sequence, prefix)


def _number_taken(connection: sqlite3.Connection, number: str) -> bool:
    return connection.execute("SELECT 1 FROM members WHERE number = ?", (number,)).fetchone() is not None


# --- registering and editing ------------------------------------------------------------------


def register_member(
    connection: sqlite3.Connection,
    name: str,
    *,
    number: str | None = None,
    birth_year: int | None = None,
    gender: str | None = None,
    address: str | None = None,
    phone: str | None = None,
    category: str = "umum",
    prefix: str = DEFAULT_PREFIX,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Register a member; without *number* one is generated. Returns the member."""
    now = now or utc_now()
    fields = {
        "name": _clean_name(name),
        "birth_year": _clean_birth_year(birth_year, now),
        "gender": _clean_gender(gender),
        "address": _clean_address(address),
        "phone": _clean_phone(phone),
    }
    given = _clean_number(number) if number is not None and number.strip() else None
    with writing(connection):
        _check_category(connection, category)
        if given is not None and _number_taken(connection, given):
            raise DuplicateMemberNumber(number=given)
        chosen = given or next_number(connection, now.year, prefix)
        try:
            member_id = connection.execute(
                "INSERT INTO members (number, name, birth_year, gender, address, phone, category,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (chosen, *fields.values(), category, stamp(now), stamp(now)),
            ).lastrowid
        except sqlite3.IntegrityError as error:
            raise DuplicateMemberNumber(number=chosen) from error
        return _member(connection, "id", member_id, now)


def update_member(
    connection: sqlite3.Connection,
    number: str,
    *,
    name: str = _UNCHANGED,
    birth_year: int | None = _UNCHANGED,
    gender: str | None = _UNCHANGED,
    address: str | None = _UNCHANGED,
    phone: str | None = _UNCHANGED,
    category: str = _UNCHANGED,
    new_number: str = _UNCHANGED,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Change the fields given (None clears an optional one); returns the member."""
    now = now or utc_now()
    changes: dict[str, Any] = {}
    if name is not _UNCHANGED:
        changes["name"] = _clean_name(name)
    if birth_year is not _UNCHANGED:
        changes["birth_year"] = _clean_birth_year(birth_year, now)
    if gender is not _UNCHANGED:
        changes["gender"] = _clean_gender(gender)
    if address is not _UNCHANGED:
        changes["address"] = _clean_address(address)
    if phone is not _UNCHANGED:
        changes["phone"] = _clean_phone(phone)
    if new_number is not _UNCHANGED:
        changes["number"] = _clean_number(new_number)
    with writing(connection):
        member_id = resolve_member_id(connection, number)
        if category is not _UNCHANGED:
            _check_category(connection, category)
            changes["category"] = category
        if "number" in changes:
            other = connection.execute("SELECT id FROM members WHERE number = ?", (changes["number"],)).fetchone()
            if other is not None and other["id"] != member_id:
                raise DuplicateMemberNumber(number=changes["number"])
        if changes:
            assignments = ", ".join(f"{column} = ?" for column in changes)  # column names are ours, not input
            connection.execute(
                f"UPDATE members SET {assignments}, updated_at = ? WHERE id = ?",  # noqa: S608
                (*changes.values(), stamp(now), member_id),
            )
        return _member(connection, "id", member_id, now)


def set_blocked(
    connection: sqlite3.Connection, number: str, blocked: bool, *, now: datetime | None = None
) -> dict[str, Any]:
    """Block (no borrowing, no renewing) or unblock a member; returns the member."""
    now = now or utc_now()
    with writing(connection):
        member_id = resolve_member_id(connection, number)
        connection.execute(
            "UPDATE members SET blocked = ?, updated_at = ? WHERE id = ?", (int(blocked), stamp(now), member_id)
        )
        return _member(connection, "id", member_id, now)


def delete_member(connection: sqlite3.Connection, number: str, *, now: datetime | None = None) -> int:
    """Delete a member; their open print loans end now (the copies go back on the shelf) and
    are kept without the member. Their sign-in sessions end. Returns the loans ended."""
    now = now or utc_now()
    with writing(connection):
        member_id = resolve_member_id(connection, number)
        open_items = [
            row["item_id"]
            for row in connection.execute(
                "SELECT item_id FROM print_loans WHERE member_id = ? AND returned_at IS NULL", (member_id,)
            )
        ]
        connection.execute(
            "UPDATE print_loans SET returned_at = ? WHERE member_id = ? AND returned_at IS NULL",
            (stamp(now), member_id),
        )
        connection.executemany(
            "UPDATE items SET status = 'available' WHERE id = ? AND status = 'on-loan'",
            [(item_id,) for item_id in open_items],
        )
        connection.execute("DELETE FROM sessions WHERE kind = 'member' AND subject_id = ?", (member_id,))
        connection.execute("DELETE FROM members WHERE id = ?", (member_id,))  # loans keep member_id NULL
    return len(open_items)


# --- reading --------------------------------------------------------------------------------


def get_member(connection: sqlite3.Connection, number: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The member with *number* (any case); `MemberNotFound` (or `MemberNumberMistyped`) if none."""
    return _member(connection, "number", number.strip(), now or utc_now())


def get_member_by_id(connection: sqlite3.Connection, member_id: int, *, now: datetime | None = None) -> dict[str, Any]:
    return _member(connection, "id", member_id, now or utc_now())


def list_members(
    connection: sqlite3.Connection,
    query: str | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Members by name; with *query*, those whose number starts with it or whose name contains it."""
    now = now or utc_now()
    sql = _MEMBER_SELECT
    parameters: list[Any] = []
    if query and query.strip():
        pattern = query.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        sql += " WHERE members.number LIKE ? ESCAPE '\\' OR members.name LIKE ? ESCAPE '\\'"
        parameters += [pattern + "%", "%" + pattern + "%"]
    sql += " ORDER BY members.name COLLATE NOCASE, members.number LIMIT ? OFFSET ?"
    parameters += [-1 if limit is None else limit, offset]
    return [_member_from_row(row, now) for row in connection.execute(sql, parameters)]


def count_members(connection: sqlite3.Connection) -> int:
    return connection.execute("SELECT count(*) FROM members").fetchone()[0]


def list_categories(connection: sqlite3.Connection) -> list[dict[str, Any]]:
    """Member categories with their lending rules."""
    return [dict(row) for row in connection.execute("SELECT * FROM member_categories ORDER BY code")]


def age_band(birth_year: int | None, year: int) -> str:
    """The age band (see `AGE_BANDS`) of someone born in *birth_year*, in *year*; `unknown` without one."""
    if birth_year is None:
        return UNKNOWN
    age = max(0, year - birth_year)
    for code, lowest, highest in AGE_BANDS:
        if age >= lowest and (highest is None or age <= highest):
            return code
    return UNKNOWN


def member_statistics(
    connection: sqlite3.Connection,
    *,
    year: int | None = None,
    registered_since: datetime | None = None,
    registered_before: datetime | None = None,
) -> dict[str, Any]:
    """Counts of members by gender and age band (ages in *year*, default this year), of all
    members or of those registered before *registered_before* (a month's end).

    `by_gender_and_age_band[band][gender]` crosses both, as the programme's reports do;
    `new` counts members registered since *registered_since* (when given).
    """
    year = year or utc_now().year
    genders = (*GENDERS, UNKNOWN)
    bands = (*(code for code, _low, _high in AGE_BANDS), UNKNOWN)
    crossed = {band: dict.fromkeys(genders, 0) for band in bands}
    before = stamp(registered_before) if registered_before is not None else "9999"
    rows = connection.execute(
        "SELECT birth_year, gender, count(*) AS n FROM members WHERE created_at < ? GROUP BY birth_year, gender",
        (before,),
    )
    for row in rows:
        crossed[age_band(row["birth_year"], year)][row["gender"] or UNKNOWN] += row["n"]
    result: dict[str, Any] = {
        "total": sum(sum(counts.values()) for counts in crossed.values()),
        "blocked": connection.execute("SELECT count(*) FROM members WHERE blocked = 1").fetchone()[0],
        "by_gender": {gender: sum(crossed[band][gender] for band in bands) for gender in genders},
        "by_age_band": {band: sum(crossed[band].values()) for band in bands},
        "by_gender_and_age_band": crossed,
    }
    if registered_since is not None:
        result["new"] = connection.execute(
            "SELECT count(*) FROM members WHERE created_at >= ?", (stamp(registered_since),)
        ).fetchone()[0]
    return result


# --- validation and rows ----------------------------------------------------------------------


def _clean_number(number: str) -> str:
    cleaned = (number or "").strip()
    if not _NUMBER.match(cleaned):
        raise InvalidMemberNumber(number=cleaned)
    return cleaned


def _clean_name(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned or len(cleaned) > NAME_LIMIT:
        raise InvalidMemberName(limit=NAME_LIMIT)
    return cleaned


def _clean_birth_year(birth_year: int | str | None, now: datetime) -> int | None:
    if birth_year is None or (isinstance(birth_year, str) and not birth_year.strip()):
        return None
    earliest, latest = now.year - OLDEST_AGE, now.year
    try:
        year = int(birth_year)
    except (TypeError, ValueError):
        raise InvalidBirthYear(year=str(birth_year), earliest=earliest, latest=latest) from None
    if not earliest <= year <= latest:
        raise InvalidBirthYear(year=year, earliest=earliest, latest=latest)
    return year


def _clean_gender(gender: str | None) -> str | None:
    cleaned = (gender or "").strip().upper()
    if not cleaned:
        return None
    if cleaned not in GENDERS:
        raise InvalidGender(gender=gender)
    return cleaned


def _clean_address(address: str | None) -> str | None:
    cleaned = " ".join((address or "").split())
    if len(cleaned) > ADDRESS_LIMIT:
        raise InvalidAddress(limit=ADDRESS_LIMIT)
    return cleaned or None


def _clean_phone(phone: str | None) -> str | None:
    cleaned = (phone or "").strip()
    if not cleaned:
        return None
    if not _PHONE.match(cleaned):
        raise InvalidPhone(phone=cleaned)
    return cleaned


def _check_category(connection: sqlite3.Connection, category: str) -> None:
    if connection.execute("SELECT 1 FROM member_categories WHERE code = ?", (category,)).fetchone() is None:
        raise UnknownMemberCategory(category=category)


def resolve_member_id(connection: sqlite3.Connection, number: str) -> int:
    row = connection.execute("SELECT id FROM members WHERE number = ?", ((number or "").strip(),)).fetchone()
    if row is None:
        raise _not_found(number)
    return row["id"]


def _not_found(number: str) -> MemberNotFound:
    number = (number or "").strip()
    if is_generated_number(number) and not check_number(number):
        return MemberNumberMistyped(number=number)
    return MemberNotFound(number=number)


def _member(connection: sqlite3.Connection, column: str, value: object, now: datetime) -> dict[str, Any]:
    """The member whose `number` or `id` (*column*) is *value*."""
    where = " WHERE members.number = ?" if column == "number" else " WHERE members.id = ?"
    row = connection.execute(_MEMBER_SELECT + where, (value,)).fetchone()
    if row is None:
        raise _not_found(str(value)) if column == "number" else MemberNotFound(number=str(value))
    return _member_from_row(row, now)


def _member_from_row(row: sqlite3.Row, now: datetime) -> dict[str, Any]:
    locked = row["locked_until"] is not None and parse_stamp(row["locked_until"]) > now
    return {
        "id": row["id"],
        "number": row["number"],
        "name": row["name"],
        "birth_year": row["birth_year"],
        "age_band": age_band(row["birth_year"], now.year),
        "gender": row["gender"],
        "address": row["address"],
        "phone": row["phone"],
        "category": row["category"],
        "category_name": row["category_name"],
        "blocked": bool(row["blocked"]),
        "has_pin": row["pin_hash"] is not None,
        "locked_until": row["locked_until"] if locked else None,
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }

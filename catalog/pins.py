"""Member PINs: setting them and signing in with member number and PIN.

A PIN is 4–8 digits, hashed like staff passwords (`catalog.passwords`: scrypt with a random
salt per PIN, compared in constant time). After `MAX_PIN_FAILURES` wrong PINs in a row a
member cannot sign in for `PIN_LOCK_MINUTES` (even with the right PIN); the right PIN, or a
PIN reset by the librarian, clears the count. Rate limiting per client address is the web app's job.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from datetime import datetime, timedelta
from typing import Any

from catalog.errors import InvalidPin, MemberLocked, WrongPin
from catalog.members import get_member_by_id, parse_stamp, resolve_member_id, stamp, utc_now, writing
from catalog.passwords import hash_secret, verify_secret

MAX_PIN_FAILURES = 5
PIN_LOCK_MINUTES = 15

_PIN = re.compile(r"^[0-9]{4,8}$")


def set_pin(connection: sqlite3.Connection, number: str, pin: str, *, now: datetime | None = None) -> None:
    """Set or reset a member's PIN (4–8 digits); a reset also lifts a sign-in lock."""
    if not isinstance(pin, str) or not _PIN.match(pin):
        raise InvalidPin()
    now = now or utc_now()
    pin_hash = hash_secret(pin)  # slow: computed before the write transaction starts
    with writing(connection):
        member_id = resolve_member_id(connection, number)
        connection.execute(
            "UPDATE members SET pin_hash = ?, failed_logins = 0, locked_until = NULL, updated_at = ? WHERE id = ?",
            (pin_hash, stamp(now), member_id),
        )


def verify_pin(
    connection: sqlite3.Connection,
    number: str,
    pin: str,
    *,
    now: datetime | None = None,
    max_failures: int = MAX_PIN_FAILURES,
    lock_minutes: int = PIN_LOCK_MINUTES,
) -> dict[str, Any]:
    """Sign a member in: returns the member when *pin* is theirs.

    Raises `WrongPin` for an unknown number, a member without a PIN, or a wrong PIN (the
    same error, so that sign-in does not reveal which numbers exist), and `MemberLocked`
    while the member is locked after *max_failures* wrong PINs in a row, even for the right
    one. Blocked members may sign in (to see their loans); `blocked` is in the result.
    """
    now = now or utc_now()
    row = connection.execute(
        "SELECT id, pin_hash, failed_logins, locked_until FROM members WHERE number = ?", (number.strip(),)
    ).fetchone()
    if row is None or row["pin_hash"] is None:
        verify_secret(str(pin), _dummy_hash())  # the same work as for a real member
        raise WrongPin()
    if row["locked_until"] and parse_stamp(row["locked_until"]) > now:
        raise MemberLocked(minutes=_minutes_left(parse_stamp(row["locked_until"]), now))
    if verify_secret(str(pin), row["pin_hash"]):
        if row["failed_logins"] or row["locked_until"]:
            with writing(connection):
                connection.execute(
                    "UPDATE members SET failed_logins = 0, locked_until = NULL WHERE id = ?", (row["id"],)
                )
        return get_member_by_id(connection, row["id"], now=now)
    with writing(connection):
        failures = connection.execute(
            "UPDATE members SET failed_logins = failed_logins + 1 WHERE id = ? RETURNING failed_logins", (row["id"],)
        ).fetchone()[0]
        if failures >= max_failures:
            until = now + timedelta(minutes=lock_minutes)
            connection.execute(
                "UPDATE members SET failed_logins = 0, locked_until = ? WHERE id = ?", (stamp(until), row["id"])
            )
    if failures >= max_failures:
        raise MemberLocked(minutes=lock_minutes)
    raise WrongPin()


@functools.cache
def _dummy_hash() -> str:
    return hash_secret("00000000")


def _minutes_left(until: datetime, now: datetime) -> int:
    return max(1, -(-int((until - now).total_seconds()) // 60))

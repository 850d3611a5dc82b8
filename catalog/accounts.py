"""Staff accounts, sign-in with lockout and rate limiting, server-side sessions, the library's
identity and the audit log.

There is no default account and no default password: the first admin is made by first-run
setup in the browser (`create_first_admin`) or by `ebookserver user add`.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import secrets
import sqlite3
from typing import Any

from catalog import db
from catalog.errors import (
    AccountLocked,
    InvalidUsername,
    LoginRefused,
    SetupAlreadyDone,
    TooManyAttempts,
    UsernameTaken,
    WeakPassword,
)
from catalog.members import parse_stamp, stamp, utc_now
from catalog.passwords import hash_secret, verify_secret

ROLES = ("admin", "librarian")
MIN_PASSWORD_LENGTH = 12
LOCK_AFTER_FAILURES = 5
LOCK_MINUTES = 15
CLIENT_FAILURES_LIMIT = 20  # failed sign-ins from one address ...
CLIENT_WINDOW_MINUTES = 15  # ... within this many minutes
_USERNAME = re.compile(r"^[A-Za-z0-9._-]{3,32}$")
# Passwords people choose first; refused whatever their length.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "password1234",
        "passwordpassword",
        "perpustakaan",
        "perpustakaan1",
        "perpustakaan123",
        "perpustakaandesa",
        "bismillah123",
        "administrator",
        "admin1234567",
        "qwertyuiop12",
        "indonesia123",
        "indonesiaraya",
    }
)
IDENTITY_FIELDS = ("name", "npp", "village", "district", "regency", "province", "opening_hours")


# --- accounts ---------------------------------------------------------------------------


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH or password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        raise WeakPassword(minimum=MIN_PASSWORD_LENGTH)


def create_user(connection: sqlite3.Connection, username: str, full_name: str, role: str, password: str) -> int:
    """A new account; the caller holds the transaction."""
    username = username.strip()
    if not _USERNAME.match(username):
        raise InvalidUsername()
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    check_password(password)
    if connection.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
        raise UsernameTaken(username=username)
    return connection.execute(
        "INSERT INTO users (username, full_name, role, password_hash) VALUES (?, ?, ?, ?)",
        (username, full_name.strip() or username, role, hash_secret(password)),
    ).lastrowid


def has_users(connection: sqlite3.Connection) -> bool:
    return connection.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None


def get_user(connection: sqlite3.Connection, user_id: int) -> sqlite3.Row | None:
    return connection.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()


def list_users(connection: sqlite3.Connection) -> list[sqlite3.Row]:
    return connection.execute("SELECT * FROM users ORDER BY username COLLATE NOCASE").fetchall()


def set_password(connection: sqlite3.Connection, user_id: int, password: str) -> None:
    """A new password ends every session of the account; the caller holds the transaction."""
    check_password(password)
    connection.execute(
        "UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL WHERE id = ?",
        (hash_secret(password), user_id),
    )
    end_sessions_of(connection, "staff", user_id)


def set_active(connection: sqlite3.Connection, user_id: int, active: bool) -> None:
    connection.execute(
        "UPDATE users SET active = ?, failed_logins = 0, locked_until = NULL WHERE id = ?", (int(active), user_id)
    )
    if not active:
        end_sessions_of(connection, "staff", user_id)


def create_first_admin(
    connection: sqlite3.Connection, identity: dict[str, Any], username: str, full_name: str, password: str
) -> int:
    """First-run setup: the library's identity and the first admin, in one transaction, only
    while there is no account yet (two browsers racing: the second is refused)."""
    with db.transaction(connection):
        if has_users(connection):
            raise SetupAlreadyDone()
        set_identity(connection, identity)
        user_id = create_user(connection, username, full_name, "admin", password)
        audit(connection, user_id, username, "setup", None, {"library": identity.get("name")})
    return user_id


# --- signing in -------------------------------------------------------------------------


def authenticate(connection: sqlite3.Connection, username: str, password: str, client: str) -> sqlite3.Row:
    """The account, or LoginRefused / AccountLocked / TooManyAttempts. Failures are counted per
    account (lockout) and per client address (rate limit); the password is checked even for an
    unknown name, so timing does not tell which names exist."""
    now = utc_now()
    refuse_client_if_limited(connection, client)
    user = connection.execute("SELECT * FROM users WHERE username = ?", (username.strip(),)).fetchone()
    if user and user["locked_until"] and parse_stamp(user["locked_until"]) > now:
        raise AccountLocked(minutes=LOCK_MINUTES)
    matches = verify_secret(password, user["password_hash"] if user else _DUMMY_HASH)
    with db.transaction(connection):
        if user and matches and user["active"]:
            connection.execute(
                "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = ? WHERE id = ?",
                (stamp(now), user["id"]),
            )
            return get_user(connection, user["id"])
        _note_failure(connection, client)
        locked = False
        if user and user["active"]:
            failed = connection.execute(
                "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ? RETURNING failed_logins", (user["id"],)
            ).fetchone()[0]
            if failed >= LOCK_AFTER_FAILURES:
                locked = True
                connection.execute(
                    "UPDATE users SET failed_logins = 0, locked_until = ? WHERE id = ?",
                    (stamp(now + datetime.timedelta(minutes=LOCK_MINUTES)), user["id"]),
                )
                audit(connection, user["id"], user["username"], "user.locked", f"user:{user['id']}", None)
    if locked:
        raise AccountLocked(minutes=LOCK_MINUTES)
    raise LoginRefused()


_DUMMY_HASH = hash_secret(secrets.token_urlsafe(16))


def refuse_client_if_limited(connection: sqlite3.Connection, client: str) -> None:
    """TooManyAttempts when *client* (an address) failed too often lately; forgets old failures."""
    window = stamp(utc_now() - datetime.timedelta(minutes=CLIENT_WINDOW_MINUTES))
    with db.transaction(connection):
        connection.execute("DELETE FROM login_failures WHERE at < ?", (window,))
    failures = connection.execute(
        "SELECT count(*) FROM login_failures WHERE client = ? AND at >= ?", (client, window)
    ).fetchone()[0]
    if failures >= CLIENT_FAILURES_LIMIT:
        raise TooManyAttempts(minutes=CLIENT_WINDOW_MINUTES)


def note_failure(connection: sqlite3.Connection, client: str) -> None:
    """Count a failed attempt (a sign-in, a setup code) from *client*."""
    with db.transaction(connection):
        _note_failure(connection, client)


def _note_failure(connection: sqlite3.Connection, client: str) -> None:
    connection.execute("INSERT INTO login_failures (client) VALUES (?)", (client,))


# --- sessions ---------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(connection: sqlite3.Connection, kind: str, subject_id: int) -> str:
    """A new session; the returned token goes into the cookie and is never stored."""
    token = secrets.token_urlsafe(32)
    with db.transaction(connection):
        connection.execute(
            "INSERT INTO sessions (token_hash, kind, subject_id) VALUES (?, ?, ?)",
            (_token_hash(token), kind, subject_id),
        )
    return token


def resume_session(
    connection: sqlite3.Connection, kind: str, token: str | None, *, idle_minutes: int, max_hours: int
) -> int | None:
    """The session's subject id, or None when there is none or it has expired (idle too long or
    too old; an expired session is deleted). Touches last_seen at most once a minute."""
    if not token:
        return None
    row = connection.execute(
        "SELECT * FROM sessions WHERE token_hash = ? AND kind = ?", (_token_hash(token), kind)
    ).fetchone()
    if row is None:
        return None
    now = utc_now()
    if now - parse_stamp(row["last_seen_at"]) > datetime.timedelta(minutes=idle_minutes) or now - parse_stamp(
        row["created_at"]
    ) > datetime.timedelta(hours=max_hours):
        end_session(connection, token)
        return None
    if now - parse_stamp(row["last_seen_at"]) >= datetime.timedelta(minutes=1):
        with db.transaction(connection):
            connection.execute(
                "UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?", (stamp(now), row["token_hash"])
            )
    return row["subject_id"]


def end_session(connection: sqlite3.Connection, token: str) -> None:
    with db.transaction(connection):
        connection.execute("DELETE FROM sessions WHERE token_hash = ?", (_token_hash(token),))


def end_sessions_of(connection: sqlite3.Connection, kind: str, subject_id: int) -> None:
    """End every session of one account; the caller holds the transaction."""
    connection.execute("DELETE FROM sessions WHERE kind = ? AND subject_id = ?", (kind, subject_id))


# --- the library's identity and the audit log ------------------------------------------


def identity(connection: sqlite3.Connection) -> dict[str, Any] | None:
    row = connection.execute("SELECT * FROM library WHERE id = 1").fetchone()
    return {field: row[field] for field in IDENTITY_FIELDS} if row else None


def set_identity(connection: sqlite3.Connection, values: dict[str, Any]) -> None:
    """Insert or update the one row; the caller holds the transaction."""
    cleaned = {field: (str(values.get(field) or "").strip() or None) for field in IDENTITY_FIELDS}
    if not cleaned["name"]:
        raise ValueError("the library needs a name")
    columns = ", ".join(IDENTITY_FIELDS)
    placeholders = ", ".join("?" for _ in IDENTITY_FIELDS)
    updates = ", ".join(f"{field} = excluded.{field}" for field in IDENTITY_FIELDS)
    connection.execute(
        f"INSERT INTO library (id, {columns}) VALUES (1, {placeholders})"  # noqa: S608 - fixed column names
        f" ON CONFLICT (id) DO UPDATE SET {updates}, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
        tuple(cleaned[field] for field in IDENTITY_FIELDS),
    )


def audit(
    connection: sqlite3.Connection,
    user_id: int | None,
    username: str,
    action: str,
    target: str | None,
    detail: dict[str, Any] | None,
) -> None:
    """Write who changed what; the caller holds the transaction (so the change and its record
    land together or not at all)."""
    connection.execute(
        "INSERT INTO audit_log (user_id, username, action, target, detail) VALUES (?, ?, ?, ?, ?)",
        (user_id, username, action, target, json.dumps(detail, ensure_ascii=False) if detail else None),
    )


def audit_entries(connection: sqlite3.Connection, *, limit: int = 100, offset: int = 0) -> list[sqlite3.Row]:
    return connection.execute("SELECT * FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset)).fetchall()

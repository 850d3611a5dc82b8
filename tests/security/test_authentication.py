"""What is stored for a password, a PIN and a session, and which passwords are refused: a stolen
database (or backup) gives no password, PIN or usable session token."""

from __future__ import annotations

import contextlib

import pytest

from catalog import accounts, db, members, pins
from catalog.errors import WeakPassword
from catalog.passwords import hash_secret, verify_secret

PASSPHRASE = "sawah hijau pagi"


@pytest.mark.parametrize(
    "password", ["pendek", "perpustakaan123", "PerpustakaanDesa", "aaaaaaaaaaaaaaaa", "abababababab", "123456789012"]
)
def test_short_common_or_repetitive_passwords_are_refused(password):
    with pytest.raises(WeakPassword):
        accounts.check_password(password)


def test_a_long_passphrase_of_any_characters_is_accepted():
    for password in (PASSPHRASE, "buku 📚 untuk semua anak", "Ladang jagung dekat sungai " * 9):
        accounts.check_password(password)


def test_hashes_are_salted_scrypt_and_verify_in_full():
    first, second = hash_secret(PASSPHRASE), hash_secret(PASSPHRASE)
    assert first != second and first.startswith("scrypt$16384$8$1$")
    assert verify_secret(PASSPHRASE, first) and verify_secret(PASSPHRASE, second)
    assert not verify_secret(PASSPHRASE[:-1], first)
    assert not verify_secret(PASSPHRASE + " ", first)  # nothing is truncated or trimmed
    for stored in (None, "", "plain", "md5$x$y", first.replace("scrypt", "bcrypt")):
        assert not verify_secret(PASSPHRASE, stored)


def test_the_database_holds_no_password_pin_or_session_token(datadir):
    with contextlib.closing(datadir.connect()) as connection:
        with db.transaction(connection):
            user_id = accounts.create_user(connection, "sari", "Sari", "admin", PASSPHRASE)
        members.register_member(connection, "Siti", number="S-1")
        pins.set_pin(connection, "S-1", "583920")
        token = accounts.start_session(connection, "staff", user_id)
        assert accounts.resume_session(connection, "staff", token, idle_minutes=30, max_hours=12) == user_id
        dump = "\n".join(connection.iterdump())
    for secret in (PASSPHRASE, "583920", token):
        assert secret not in dump
    assert len(token) >= 43  # 32 random bytes

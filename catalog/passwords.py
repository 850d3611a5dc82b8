"""Hashing secrets people type (staff passwords, member PINs) with scrypt from the standard library.

A hash is stored as `scrypt$N$r$p$salt$digest` (base64), so the cost can be raised later and old
hashes still verify; comparison takes constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# About 50 ms and 16 MiB per hash on a small server: slow for guessing, fine for signing in.
COST, BLOCK_SIZE, PARALLEL = 2**14, 8, 1


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(secret, salt, COST, BLOCK_SIZE, PARALLEL)
    return "$".join(("scrypt", str(COST), str(BLOCK_SIZE), str(PARALLEL), _b64(salt), _b64(digest)))


def verify_secret(secret: str, stored: str | None) -> bool:
    """True when *secret* matches the *stored* hash; False for anything malformed or missing."""
    try:
        scheme, cost, block_size, parallel, salt, digest = (stored or "").split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = _scrypt(secret, base64.b64decode(salt), int(cost), int(block_size), int(parallel))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(secret: str, salt: bytes, cost: int, block_size: int, parallel: int) -> bytes:
    return hashlib.scrypt(
        secret.encode("utf-8"), salt=salt, n=cost, r=block_size, p=parallel, maxmem=64 * 1024 * 1024, dklen=32
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")

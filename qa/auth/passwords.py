"""Argon2id password hashing."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults are RFC 9106's second recommendation (t=3, 64 MiB, p=4).
_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a login takes the same time either way.
_DUMMY_HASH = _hasher.hash("caliper-dummy-password")


def use_cheap_hashing() -> None:
    """Tests only: the cheapest argon2id parameters, as a real hash costs up to half a second of CPU."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    _DUMMY_HASH = _hasher.hash("caliper-dummy-password")

MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; always does the work of one verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False

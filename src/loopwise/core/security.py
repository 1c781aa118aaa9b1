"""Secrets: password hashing (argon2id) and random tokens stored only as hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A hash of a random password, verified against when the account does not exist, so a
    failed sign-in takes the same time whether or not the email is known."""
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def new_token(prefix: str) -> str:
    """A random token with a readable prefix saying what it is (``lwp_`` personal, ...)."""
    return f"{prefix}{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    """Tokens carry 256 random bits, so one SHA-256 is enough; passwords use argon2."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def generate_password() -> str:
    return secrets.token_urlsafe(12)

"""Secrets the app must read back (a webhook signing secret, say): sealed with a key
derived from the instance's secret key, so the database alone does not reveal them."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken


class Unsealable(Exception):
    """A sealed value that this instance's secret key cannot open (the key changed)."""


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"loopwise-sealed-v1:" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(secret_key: str, plain: str) -> str:
    return _fernet(secret_key).encrypt(plain.encode()).decode()


def unseal(secret_key: str, sealed: str) -> str:
    try:
        return _fernet(secret_key).decrypt(sealed.encode()).decode()
    except InvalidToken as exc:
        raise Unsealable("the sealed value was sealed with another secret key") from exc

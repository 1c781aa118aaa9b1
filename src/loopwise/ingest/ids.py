"""Identifier helpers for ingestion: event UUIDs in bulk and placeholder person ids.

``uuid.uuid4()`` costs microseconds per call, more than the rest of the Arrow conversion of an
event, so event ids are formatted from random bytes with numpy, a whole batch at a time.
"""

from __future__ import annotations

import hashlib
import os
import uuid

import numpy as np
import numpy.typing as npt

# Namespace of the placeholder person ids; fixed forever, as ids derived from it are stored.
PERSON_NAMESPACE = uuid.UUID("6f1c2a52-8d0e-5b3c-9a51-1c0f7e3d2b64")
_NAMESPACE_BYTES = PERSON_NAMESPACE.bytes

_NUMPY_FROM = 8  # ids per call from which the numpy formatting is faster
_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# Where each of the 32 hex digits lands in the 36-character hyphenated text.
_DIGIT_SLOTS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)], dtype=np.intp)


def uuid4_texts(random_bytes: bytes) -> list[str]:
    """Format each 16-byte chunk of ``random_bytes`` as version-4 UUID text.

    Producers that need reproducible ids (the demo simulation) pass seeded bytes; ingestion
    passes ``os.urandom`` output. The version and variant bits are forced, so any bytes work.
    """
    if len(random_bytes) % 16:
        raise ValueError(f"need a multiple of 16 bytes, got {len(random_bytes)}")
    if len(random_bytes) < _NUMPY_FROM * 16:  # numpy's fixed cost beats it only in bulk
        return [
            str(uuid.UUID(bytes=random_bytes[i : i + 16], version=4))
            for i in range(0, len(random_bytes), 16)
        ]
    raw = np.frombuffer(random_bytes, dtype=np.uint8).reshape(-1, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    return _hex_text(raw)


def new_uuid4_texts(count: int) -> list[str]:
    """Return ``count`` fresh random version-4 UUID texts."""
    return uuid4_texts(os.urandom(16 * count)) if count else []


def _hex_text(raw: npt.NDArray[np.uint8]) -> list[str]:
    """Hex digits and hyphens laid out with numpy; one decode and split make the strings."""
    nibbles = np.empty((raw.shape[0], 32), dtype=np.uint8)
    nibbles[:, 0::2] = raw >> 4
    nibbles[:, 1::2] = raw & 0x0F
    text = np.full((raw.shape[0], 37), ord("-"), dtype=np.uint8)
    text[:, _DIGIT_SLOTS] = _HEX_DIGITS[nibbles]
    text[:, 36] = ord(" ")
    return text.tobytes().decode("ascii").split()


def person_id_for(project_id: int, distinct_id: str) -> str:
    """The placeholder person id of a distinct id: ``uuid5(project id, distinct id)``.

    Deterministic so that re-ingesting an event gives the same row. The identity service will
    replace it with merged persons (anonymous ids folded into the identified person), resolved
    at query time through an override map; until then every distinct id is its own person.
    """
    digest = hashlib.sha1(  # noqa: S324 - the UUID version 5 algorithm, not a secret
        _NAMESPACE_BYTES + f"{project_id}:{distinct_id}".encode()
    ).hexdigest()
    # uuid.uuid5's text, formatted directly (its UUID object costs more than the hash).
    variant = "89ab"[int(digest[16], 16) & 0x3]
    return f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-{variant}{digest[17:20]}-{digest[20:32]}"

"""Request bodies as SDKs send them: size limits, compression and JSON.

Both PostHog and Segment SDKs may gzip a body, and not every one of them says so in a
header, so gzip is recognised by its magic bytes whatever the headers claim. posthog-js
also posts HTML forms (``data=<base64 JSON>``), which is decoded here too. Every failure is
a ``WireError`` carrying the HTTP status and the field at fault; nothing here touches storage.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

import orjson

MAX_BODY_BYTES = 20 * 1024 * 1024
MAX_MESSAGE_BYTES = 32 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


class WireError(Exception):
    """A request that cannot be read at all; ``status`` is the HTTP answer (400, 401, 413)."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(f"{field} {message}")
        self.status = status
        self.field = field
        self.message = message


def decode_body(raw: bytes, content_type: str, query: Mapping[str, str]) -> Any:
    """The JSON document of a request body, decompressed and decoded as needed."""
    if content_type.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded":
        raw = _form_data(raw, query.get("compression", ""))
    raw = gunzip_if_needed(raw)
    if query.get("compression", "").lower() == "base64" and not raw.lstrip().startswith(
        (b"{", b"[")
    ):
        raw = gunzip_if_needed(_base64(raw))
    if not raw.strip():
        raise WireError(400, "body", "is empty; send a JSON event or batch")
    return parse_json(raw, "body")


def parse_json(raw: bytes, field: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise WireError(400, field, f"is not valid JSON: {exc}") from None


def gunzip_if_needed(raw: bytes) -> bytes:
    """Decompress gzip data (detected by magic bytes), refusing more than the body limit."""
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    inflater = zlib.decompressobj(wbits=31)
    try:
        data = inflater.decompress(raw, MAX_BODY_BYTES + 1)
    except zlib.error as exc:
        raise WireError(400, "body", f"is not valid gzip: {exc}") from None
    if len(data) > MAX_BODY_BYTES:
        raise WireError(413, "body", f"is larger than {MAX_BODY_BYTES // 2**20} MB uncompressed")
    if not inflater.eof:
        raise WireError(400, "body", "is not valid gzip: the compressed data is truncated")
    return data


def _form_data(raw: bytes, compression: str) -> bytes:
    """posthog-js' form posts: ``data=<payload>``, the payload base64 unless said otherwise."""
    try:
        fields = parse_qs(raw.decode("ascii"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise WireError(400, "body", "is not a valid form (non-ASCII bytes)") from None
    values = fields.get("data")
    if not values:
        raise WireError(400, "data", "is missing from the form body")
    payload = values[0].encode("utf-8")
    if compression.lower() in ("", "base64") and not payload.lstrip().startswith((b"{", b"[")):
        return _base64(payload)
    return payload


def _base64(data: bytes) -> bytes:
    try:
        return base64.b64decode(data + b"=" * (-len(data) % 4), altchars=b"-_", validate=False)
    except (binascii.Error, ValueError):
        raise WireError(400, "data", "is not valid base64") from None


def message_size(message: object) -> int:
    """Bytes of a message as compact JSON, the unit of the per-message limit."""
    try:
        return len(orjson.dumps(message))
    except (TypeError, orjson.JSONEncodeError):
        return MAX_MESSAGE_BYTES + 1

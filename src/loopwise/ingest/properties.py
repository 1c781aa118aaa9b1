"""Event properties as stored: compact JSON text, never rejected for a fixable value.

Producers written in Python hand over datetimes, decimals, UUIDs and sets; they are stored
as ISO text, floats, text and lists. ``NaN``/infinity are not JSON (engines refuse them), so
they are stored as ``null`` rather than failing the whole batch. A value with no sensible
JSON form is an error that names the event.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import orjson

from loopwise.core.errors import InvalidInput


def _json_default(value: object) -> object:
    """The JSON form of the non-JSON values Python producers commonly send."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"a {type(value).__name__} value cannot be stored in event properties")


def _build_encoder() -> Callable[[object], str]:
    """A compact JSON encoder built once.

    ``json.dumps`` with options builds a new encoder per call and its Python wrapper costs as
    much as the encoding itself for small objects. The C scanner (present in CPython) is
    called directly when available; the standard encoder is the fallback.
    """
    c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
    if c_make_encoder is None:  # pragma: no cover - only without CPython's _json module
        encoder = json.JSONEncoder(
            separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default
        )
        return encoder.encode
    chunks = c_make_encoder(
        None, _json_default, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )

    def encode(value: object) -> str:
        return "".join(chunks(value, 0))

    return encode


_encode = _build_encoder()


_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS


def _fast(value: object) -> str:
    """orjson, about five times faster than the standard encoder; for the values it cannot
    write (integers past 64 bits, lone surrogates) it raises and the caller falls back."""
    return orjson.dumps(value, default=_json_default, option=_ORJSON_OPTIONS).decode()


def encode_properties(properties: Sequence[dict[str, Any]]) -> list[str]:
    """Each properties mapping as compact JSON text (keys keep their order).

    NaN and infinity become ``null`` either way (orjson writes them so; the standard
    encoder's refusal is caught and the value replaced)."""
    try:
        return [_fast(props) for props in properties]
    except (TypeError, orjson.JSONEncodeError):
        pass
    try:
        return [_encode(props) for props in properties]
    except (TypeError, ValueError, RecursionError):
        return [_encode_checked(index, props) for index, props in enumerate(properties)]


def _encode_checked(index: int, properties: dict[str, Any]) -> str:
    try:
        try:
            return _encode(properties)
        except ValueError:  # NaN or infinity somewhere
            return _encode(_finite(properties))
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidInput(f"events[{index}].properties", str(exc)) from exc


def _finite(value: Any) -> Any:
    """A copy of ``value`` with non-finite numbers replaced by ``None``."""
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    if isinstance(value, float | Decimal) and not math.isfinite(value):
        return None
    return value


def hot_text(value: Any) -> str:
    """A property value as hot-column text: '' for missing, JSON text for non-strings."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return _encode(value)
    except (TypeError, ValueError, RecursionError):
        return str(value)

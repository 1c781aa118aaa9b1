"""The capture contract: what a producer hands to ingestion for one event.

``CaptureEvent`` mirrors the PostHog capture shape (event, distinct id, timestamp, properties,
``$set``/``$set_once``) so that the HTTP endpoints can map SDK payloads onto it one to one.

It is a frozen dataclass with hand-written checks rather than a pydantic model: trusted
producers build millions of them (the demo loads ~10M events), and measured on the target
machine a pydantic model costs ~10 µs per event against ~3 µs here. Untrusted input (decoded
JSON from the HTTP endpoints) goes through ``CaptureEvent.model_validate``, which runs
pydantic over the same dataclass: ISO-8601 timestamps, PostHog's ``$set``/``$set_once``
keys, and every problem reported as a pydantic ``ValidationError``.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, TypeAdapter

from loopwise.core.errors import InvalidInput

MAX_NAME_LENGTH = 200

# Canonical (lower-case, hyphenated) UUID text; anything else goes through ``uuid.UUID``.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True, slots=True, kw_only=True)
class CaptureEvent:
    """One event as a producer captured it, before ingestion enriches it.

    ``timestamp`` must be timezone-aware and is kept in UTC. ``uuid`` (the dedupe key) is
    kept as canonical UUID text when given. ``set``/``set_once`` carry PostHog's
    ``$set``/``$set_once`` person properties; until the identity service exists they are
    stored inside ``properties`` under those keys, as PostHog itself does.
    Invalid values raise ``InvalidEvent`` (an ``InvalidInput``) naming the field.
    """

    __pydantic_config__ = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True)

    event: str
    distinct_id: str
    timestamp: datetime
    properties: dict[str, Any] = field(default_factory=dict)
    uuid: str | None = None
    session_id: str | None = None
    set: Annotated[dict[str, Any] | None, Field(alias="$set")] = None
    set_once: Annotated[dict[str, Any] | None, Field(alias="$set_once")] = None

    @classmethod
    def model_validate(cls, data: Mapping[str, Any]) -> CaptureEvent:
        """Build an event from untrusted, JSON-shaped data; raises ``ValidationError``."""
        return _WIRE.validate_python(data)

    def __post_init__(self) -> None:
        # Inline fast paths for the common, valid case; the helpers explain what is wrong.
        if type(self.event) is not str or not 0 < len(self.event) <= MAX_NAME_LENGTH:
            _check_name("event", self.event)
        if type(self.distinct_id) is not str or not 0 < len(self.distinct_id) <= MAX_NAME_LENGTH:
            _check_name("distinct_id", self.distinct_id)
        if type(self.timestamp) is not datetime or self.timestamp.tzinfo is not UTC:
            object.__setattr__(self, "timestamp", _aware_utc(self.timestamp))
        if self.uuid is not None and not (
            type(self.uuid) is str and _CANONICAL_UUID.fullmatch(self.uuid)
        ):
            object.__setattr__(self, "uuid", _uuid_text(self.uuid))
        if self.session_id is not None and (
            type(self.session_id) is not str or len(self.session_id) > MAX_NAME_LENGTH
        ):
            _check_name("session_id", self.session_id, min_length=0)
        if type(self.properties) is not dict:
            _check_mapping("properties", self.properties)
        if self.set is not None:
            _check_mapping("set", self.set)
        if self.set_once is not None:
            _check_mapping("set_once", self.set_once)


class InvalidEvent(InvalidInput, ValueError):
    """A capture field is invalid. Also a ``ValueError``, so that pydantic reports it as a
    ``ValidationError`` when ``model_validate`` parses wire input."""


def _check_name(name: str, value: object, *, min_length: int = 1) -> None:
    if not isinstance(value, str):
        raise InvalidEvent(name, f"must be text, got {type(value).__name__}")
    if not min_length <= len(value) <= MAX_NAME_LENGTH:
        raise InvalidEvent(
            name, f"must be {min_length} to {MAX_NAME_LENGTH} characters, got {len(value)}"
        )


def _check_mapping(name: str, value: object) -> None:
    if not isinstance(value, dict):
        raise InvalidEvent(name, f"must be a dict, got {type(value).__name__}")


def _aware_utc(value: object) -> datetime:
    """Reject naive times (their zone is unknowable) and normalise the rest to UTC."""
    if not isinstance(value, datetime):
        raise InvalidEvent("timestamp", f"must be a datetime, got {type(value).__name__}")
    if value.tzinfo is UTC:
        return value
    if value.utcoffset() is None:
        raise InvalidEvent(
            "timestamp",
            "must be timezone-aware (give an offset such as +00:00 or Z); "
            f"got naive {value.isoformat()}",
        )
    return value.astimezone(UTC)


def _uuid_text(value: object) -> str:
    """Accept any UUID spelling and keep the canonical text, which is the dedupe key."""
    try:
        return str(uuidlib.UUID(str(value)))
    except ValueError:
        raise InvalidEvent("uuid", f"must be UUID text, got {str(value)[:60]!r}") from None


_WIRE: TypeAdapter[CaptureEvent] = TypeAdapter(CaptureEvent)

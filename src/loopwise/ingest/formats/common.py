"""What both SDK formats share: times, rejections, and the parsed batch."""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from loopwise.ingest.contracts import InvalidEvent
from loopwise.ingest.pipeline import Draft

MAX_BATCH = 10_000
FUTURE_LIMIT = timedelta(days=1)
CLAMPED_PROPERTY = "$timestamp_clamped_from"
# Namespace for event ids derived from non-UUID message ids; fixed forever (ids are stored).
MESSAGE_NAMESPACE = uuidlib.UUID("3b7e4a0c-5f7d-5a8e-b1c2-2f9d6e8a4c17")


@dataclass(frozen=True, slots=True)
class RequestMeta:
    """What the HTTP request itself says about its events."""

    ip: str
    user_agent: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Rejection:
    """One message that could not be accepted, and why; ``field`` names the culprit."""

    index: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        where = f"batch[{self.index}].{self.field}"
        return {"index": self.index, "field": where, "detail": f"{where} {self.message}"}


@dataclass
class ParsedBatch:
    write_key: str | None
    drafts: list[Draft] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def parse_time(value: Any, name: str) -> datetime | None:
    """An ISO-8601 time (naive means UTC, as the SDKs mean it) or epoch milliseconds."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidEvent(name, "must be an ISO-8601 time, got a boolean")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidEvent(name, f"is out of range: {value!r}") from None
    if not isinstance(value, str):
        raise InvalidEvent(name, f"must be an ISO-8601 time, got {type(value).__name__}")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidEvent(name, f"is not an ISO-8601 time: {value[:40]!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def event_time(
    timestamp: datetime | None, sent_at: datetime | None, now: datetime
) -> tuple[datetime, datetime | None]:
    """When the event happened, by the server's clock, and the original time if clamped.

    With both the event time and the batch's send time, the client's clock offset cancels
    out: ``now + (timestamp - sent_at)``. Times more than a day ahead are set to ``now``.
    """
    if timestamp is None:
        return now, None
    try:
        moment = now + (timestamp - sent_at) if sent_at is not None else timestamp
    except OverflowError:
        raise InvalidEvent("timestamp", "is out of range once corrected by sent_at") from None
    if moment - now > FUTURE_LIMIT:
        return now, timestamp
    return moment, None


def message_uuid(value: Any) -> str | None:
    """A message id as the event's dedupe uuid: UUIDs as they are, other text hashed."""
    if value is None or value == "":
        return None
    text = str(value)
    try:
        return str(uuidlib.UUID(text))
    except ValueError:
        return str(uuidlib.uuid5(MESSAGE_NAMESPACE, text))


def text_id(value: Any) -> str | None:
    """A distinct id as text: SDKs send numbers too. Empty and null mean absent."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None

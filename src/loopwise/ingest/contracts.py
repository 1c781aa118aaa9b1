"""The capture contract: what a producer hands to ingestion for one event.

``CaptureEvent`` mirrors the PostHog capture shape (event, distinct id, timestamp, properties,
``$set``/``$set_once``) so that the HTTP endpoints can map SDK payloads onto it one to one.
Validation here is deliberately cheap (a few checks per event): the demo builds millions of
these, and the HTTP path will validate payload shape separately before building them.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

MAX_NAME_LENGTH = 200

Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH)]

# Canonical (lower-case, hyphenated) UUID text; anything else goes through ``uuid.UUID``.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class CaptureEvent(BaseModel):
    """One event as a producer captured it, before ingestion enriches it.

    ``set``/``set_once`` carry PostHog's ``$set``/``$set_once`` person properties (they are
    also accepted under those ``$`` names). Until the identity service exists they are stored
    inside ``properties`` under the ``$set``/``$set_once`` keys, as PostHog itself does.
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True
    )

    event: Name
    distinct_id: Name
    timestamp: datetime
    properties: dict[str, Any] = Field(default_factory=dict)
    uuid: str | None = None
    session_id: Annotated[str, StringConstraints(max_length=MAX_NAME_LENGTH)] | None = None
    set: dict[str, Any] | None = Field(default=None, alias="$set")
    set_once: dict[str, Any] | None = Field(default=None, alias="$set_once")

    @field_validator("timestamp")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        """Reject naive times (their zone is unknowable) and normalise the rest to UTC."""
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                "timestamp must be timezone-aware (give an offset such as +00:00 or Z); "
                f"got naive {value.isoformat()}"
            )
        return value if value.tzinfo is UTC else value.astimezone(UTC)

    @field_validator("uuid")
    @classmethod
    def _uuid_text(cls, value: str | None) -> str | None:
        """Accept any UUID spelling and keep the canonical text, which is the dedupe key."""
        if value is None or _CANONICAL_UUID.fullmatch(value):
            return value
        try:
            return str(uuidlib.UUID(value))
        except ValueError:
            raise ValueError(f"uuid must be UUID text; got {value[:60]!r}") from None

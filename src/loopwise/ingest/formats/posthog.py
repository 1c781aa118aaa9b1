"""PostHog's capture format, as posthog-js, posthog-python and the other SDKs send it.

A body is one event, a list of events, or ``{"batch": [...]}``; the project key is
``api_key`` or ``token`` at the top, in an event, or in an event's properties. Event times
are corrected for the client's clock with ``sent_at`` (the body's, or posthog-js' ``_``
query value in milliseconds); an ``offset`` (milliseconds ago) stands in for a missing
timestamp. ``$set``/``$set_once`` may sit at the top of an event or in its properties.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from loopwise.core.errors import InvalidInput
from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.formats.common import (
    CLAMPED_PROPERTY,
    MAX_BATCH,
    ParsedBatch,
    Rejection,
    RequestMeta,
    event_time,
    parse_time,
    text_id,
)
from loopwise.ingest.pipeline import Draft
from loopwise.ingest.privacy import parse_consent
from loopwise.ingest.wire import MAX_MESSAGE_BYTES, WireError, message_size

ANONYMOUS_IDS = frozenset({"$posthog_cookieless"})


def parse_posthog(body: Any, query: Mapping[str, str], meta: RequestMeta) -> ParsedBatch:
    """Every event of a PostHog body, validated; bad events become rejections."""
    items, top = _items(body)
    parsed = ParsedBatch(write_key=_write_key(top, items, query))
    sent_at = _sent_at(top, query)
    for index, item in enumerate(items):
        try:
            parsed.drafts.append(_draft(item, sent_at, meta))
        except InvalidInput as exc:
            parsed.rejections.append(Rejection(index, exc.field, exc.message))
    return parsed


def _items(body: Any) -> tuple[list[Any], dict[str, Any]]:
    if isinstance(body, list):
        items, top = body, {}
    elif isinstance(body, dict):
        batch = body.get("batch", body.get("data"))
        items, top = (batch, body) if isinstance(batch, list) else ([body], body)
    else:
        raise WireError(400, "body", 'must be an event object, a list, or {"batch": [...]}')
    if not items or len(items) > MAX_BATCH:
        raise WireError(400, "batch", f"must hold 1 to {MAX_BATCH} events, got {len(items)}")
    return items, top


def _write_key(top: dict[str, Any], items: list[Any], query: Mapping[str, str]) -> str | None:
    candidates: list[Any] = [top.get("api_key"), top.get("token")]
    first = items[0] if isinstance(items[0], dict) else {}
    found = first.get("properties")
    properties: dict[str, Any] = found if isinstance(found, dict) else {}
    candidates += [first.get("api_key"), first.get("token"), properties.get("token")]
    candidates += [query.get("api_key"), query.get("token")]
    return next((c for c in candidates if isinstance(c, str) and c), None)


def _sent_at(top: dict[str, Any], query: Mapping[str, str]) -> datetime | None:
    try:
        if top.get("sent_at"):
            return parse_time(top["sent_at"], "sent_at")
        millis = query.get("_", "")
        return parse_time(int(millis), "_") if millis.isdigit() else None
    except InvalidInput as exc:
        raise WireError(400, exc.field, exc.message) from None


def _draft(item: Any, sent_at: datetime | None, meta: RequestMeta) -> Draft:
    if not isinstance(item, dict):
        raise InvalidInput("event", f"must be a JSON object, got {type(item).__name__}")
    if message_size(item) > MAX_MESSAGE_BYTES:
        raise InvalidInput("event", f"is larger than {MAX_MESSAGE_BYTES // 1024} KB")
    raw_properties = item.get("properties")
    if raw_properties is not None and not isinstance(raw_properties, dict):
        raise InvalidInput("properties", "must be a JSON object")
    properties = dict(raw_properties or {})
    for key in ("token", "api_key", "distinct_id"):
        properties.pop(key, None)
    distinct_id = text_id(item.get("distinct_id"))
    if distinct_id is None and raw_properties:
        distinct_id = text_id(raw_properties.get("distinct_id"))
    if distinct_id is None:
        raise InvalidInput("distinct_id", "is required (a non-empty text or number)")
    when, clamped = _when(item, sent_at, meta)
    if clamped is not None:
        properties[CLAMPED_PROPERTY] = clamped.isoformat()
    event = CaptureEvent(
        event=item.get("event"),  # type: ignore[arg-type]  # checked by CaptureEvent
        distinct_id=distinct_id,
        timestamp=when,
        properties=properties,
        uuid=item.get("uuid") or None,
        set=item.get("$set", properties.pop("$set", None)),
        set_once=item.get("$set_once", properties.pop("$set_once", None)),
    )
    user_agent = properties.get("$raw_user_agent")
    return Draft(
        event=event,
        ip=meta.ip,
        user_agent=user_agent if isinstance(user_agent, str) else meta.user_agent,
        consent=parse_consent(properties.get("$consent")),
        anonymous=(
            properties.get("$is_identified") is False
            or distinct_id in ANONYMOUS_IDS
            or distinct_id == properties.get("$device_id")
        ),
    )


def _when(
    item: dict[str, Any], sent_at: datetime | None, meta: RequestMeta
) -> tuple[datetime, datetime | None]:
    """The corrected event time, and the original when it was clamped."""
    moment = parse_time(item.get("timestamp"), "timestamp")
    offset = item.get("offset")
    if moment is None and isinstance(offset, int) and not isinstance(offset, bool):
        if not 0 <= offset < 10 * 365 * 86_400_000:
            raise InvalidInput("offset", f"must be milliseconds in the past, got {offset}")
        return meta.received_at - timedelta(milliseconds=offset), None
    return event_time(moment, sent_at, meta.received_at)

"""Segment's HTTP Tracking API: track, identify, page, screen, group, alias and batch.

Each call type becomes the event PostHog would record for it, so that both SDK families
feed one model: ``identify`` is ``$identify`` (``userId`` identified, ``anonymousId``
merged, ``traits`` as ``$set``), ``alias`` is ``$create_alias``, ``page`` is ``$pageview``,
``screen`` is ``$screen`` and ``group`` is ``$groupidentify``. ``messageId`` is the dedupe
key (hashed to a UUID when it is not one). Only the useful, non-identifying parts of
``context`` are kept; its ``ip`` and ``userAgent`` feed the privacy steps and are not stored.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime
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
    message_uuid,
    parse_time,
    text_id,
)
from loopwise.ingest.pipeline import Draft
from loopwise.ingest.privacy import parse_consent
from loopwise.ingest.wire import MAX_MESSAGE_BYTES, WireError, message_size

CALL_TYPES = ("track", "identify", "page", "screen", "group", "alias")
_CONTEXT_PROPERTIES = {
    ("library", "name"): "$lib",
    ("library", "version"): "$lib_version",
    ("page", "url"): "$current_url",
    ("page", "path"): "$pathname",
    ("page", "referrer"): "$referrer",
    ("page", "title"): "$title",
    ("campaign", "source"): "utm_source",
    ("campaign", "medium"): "utm_medium",
    ("campaign", "name"): "utm_campaign",
    ("campaign", "term"): "utm_term",
    ("campaign", "content"): "utm_content",
    ("app", "name"): "$app_name",
    ("app", "version"): "$app_version",
    ("os", "name"): "$os",
    ("os", "version"): "$os_version",
    ("device", "type"): "$device_type",
    ("screen", "width"): "$screen_width",
    ("screen", "height"): "$screen_height",
}
_PAGE_PROPERTIES = {"url": "$current_url", "path": "$pathname", "referrer": "$referrer"}


def basic_auth_user(header: str) -> str | None:
    """The user part of ``Authorization: Basic base64(user:password)``: the write key."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return decoded.split(":", 1)[0] or None


def parse_segment(
    body: Any, call: str, meta: RequestMeta, auth_key: str | None = None
) -> ParsedBatch:
    """A Segment body for ``call`` (one of ``CALL_TYPES`` or ``batch``)."""
    if not isinstance(body, dict):
        raise WireError(400, "body", "must be a JSON object")
    if call == "batch":
        items = body.get("batch")
        if not isinstance(items, list) or not items or len(items) > MAX_BATCH:
            raise WireError(400, "batch", f"must be a list of 1 to {MAX_BATCH} messages")
    else:
        items = [{**body, "type": call}]
    first = items[0] if isinstance(items[0], dict) else {}
    key = auth_key or _text(body.get("writeKey")) or _text(first.get("writeKey"))
    parsed = ParsedBatch(write_key=key)
    try:
        sent_at = parse_time(body.get("sentAt"), "sentAt")
    except InvalidInput as exc:
        raise WireError(400, exc.field, exc.message) from None
    context = body.get("context")
    shared_context: dict[str, Any] = context if isinstance(context, dict) else {}
    for index, item in enumerate(items):
        try:
            parsed.drafts.append(_draft(item, sent_at, shared_context, meta))
        except InvalidInput as exc:
            parsed.rejections.append(Rejection(index, exc.field, exc.message))
    return parsed


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _draft(item: Any, sent_at: datetime | None, shared: dict[str, Any], meta: RequestMeta) -> Draft:
    if not isinstance(item, dict):
        raise InvalidInput("message", f"must be a JSON object, got {type(item).__name__}")
    if message_size(item) > MAX_MESSAGE_BYTES:
        raise InvalidInput("message", f"is larger than {MAX_MESSAGE_BYTES // 1024} KB")
    call = item.get("type")
    if call not in CALL_TYPES:
        raise InvalidInput("type", f"must be one of {', '.join(CALL_TYPES)}, got {call!r}")
    user_id, anonymous_id = text_id(item.get("userId")), text_id(item.get("anonymousId"))
    distinct_id = user_id or anonymous_id
    if distinct_id is None:
        raise InvalidInput("userId", "or anonymousId is required")
    context = item.get("context", shared)
    if not isinstance(context, dict):
        raise InvalidInput("context", "must be a JSON object")
    name, properties, person = _shape(call, item, user_id, anonymous_id, context)
    for key, value in _context_properties(context).items():
        properties.setdefault(key, value)
    message_sent = parse_time(item.get("sentAt"), "sentAt") or sent_at
    moment = parse_time(item.get("timestamp") or item.get("originalTimestamp"), "timestamp")
    when, clamped = event_time(moment, message_sent, meta.received_at)
    if clamped is not None:
        properties[CLAMPED_PROPERTY] = clamped.isoformat()
    event = CaptureEvent(
        event=name,
        distinct_id=distinct_id,
        timestamp=when,
        properties=properties,
        uuid=message_uuid(item.get("messageId")),
        set=person,
    )
    ip, user_agent = context.get("ip"), context.get("userAgent")
    return Draft(
        event=event,
        ip=ip if isinstance(ip, str) else meta.ip,
        user_agent=user_agent if isinstance(user_agent, str) else meta.user_agent,
        consent=parse_consent(context.get("consent")),
        anonymous=user_id is None,
    )


def _shape(
    call: str,
    item: dict[str, Any],
    user_id: str | None,
    anonymous_id: str | None,
    context: dict[str, Any],
) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
    """(event name, properties, person properties) of one call."""
    properties = _mapping(item, "properties")
    traits = _mapping(item, "traits") or _mapping(context, "traits")
    if call == "track":
        name = item.get("event")
        if not isinstance(name, str) or not name:
            raise InvalidInput("event", "is required for track calls")
        return name, properties, None
    if call == "identify":
        if anonymous_id and user_id:
            properties["$anon_distinct_id"] = anonymous_id
        return "$identify", properties, traits or None
    if call == "alias":
        previous = text_id(item.get("previousId"))
        if previous is None or user_id is None:
            raise InvalidInput("previousId", "and userId are both required for alias calls")
        properties["alias"] = previous
        return "$create_alias", properties, None
    if call == "group":
        group = text_id(item.get("groupId"))
        if group is None:
            raise InvalidInput("groupId", "is required for group calls")
        properties.update({"$group_type": "group", "$group_key": group, "$group_set": traits})
        return "$groupidentify", properties, None
    for key, target in _PAGE_PROPERTIES.items():
        if key in properties:
            properties.setdefault(target, properties[key])
    label = item.get("name")
    if isinstance(label, str) and label:
        properties["$screen_name" if call == "screen" else "name"] = label
    return ("$screen" if call == "screen" else "$pageview"), properties, None


def _mapping(source: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = source.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(key, "must be a JSON object")
    return dict(value)


def _context_properties(context: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for (group, key), target in _CONTEXT_PROPERTIES.items():
        part = context.get(group)
        if isinstance(part, dict) and part.get(key) not in (None, ""):
            found[target] = part[key]
    for key, target in (("locale", "$locale"), ("timezone", "$timezone")):
        if isinstance(context.get(key), str):
            found[target] = context[key]
    if "consent" in context:
        found["$consent"] = context["consent"]
    return found

"""The privacy steps of the ingestion pipeline, in the order they run.

1. ``consent``: with *require consent* on, an event whose category the visitor did not
   consent to is dropped before anything is stored.
2. ``cookieless``: anonymous visitors get a daily-rotating id, a keyed hash of (project,
   address, user agent) under a salt kept at most 48 hours, as Plausible does; the
   client's own anonymous id is discarded.
3. ``ip``: the address is truncated (IPv4 /24, IPv6 /48) or dropped; never stored raw, and
   dropped when the visitor refused ``geo``.
4. ``minimise``: raw user-agent strings are removed.
5. ``pii``: e-mail addresses, phone numbers and payment card numbers (Luhn-checked) in
   free-text event property values are replaced by ``[email]``, ``[phone]``, ``[card]``.
   Person properties (``$set``) are left alone: they are the identity the project chose to
   send, and revenue and support link people by e-mail.
6. ``denylist``: the project's deny-listed property keys are removed everywhere.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.pipeline import (
    CONSENT_CATEGORIES,
    Draft,
    Drop,
    DropReason,
    NamedStep,
    StepContext,
)

PERFORMANCE_EVENTS = frozenset({"$exception", "$web_vitals", "$performance_event", "$$heatmap"})
FEATURE_EVENTS = frozenset({"$feature_flag_called", "$feature_view", "$feature_interaction"})
FEEDBACK_EVENTS = frozenset({"survey sent", "survey shown", "survey dismissed", "feedback"})
USER_AGENT_KEYS = ("$raw_user_agent", "$user_agent", "user_agent", "userAgent")
COOKIELESS_PREFIX = "cookieless_"


def category_of(event: CaptureEvent) -> str:
    """The consent category an event needs; ``geo`` is a property category, never an event's."""
    name = event.event
    if name in PERFORMANCE_EVENTS:
        return "performance"
    if name in FEATURE_EVENTS or "$feature" in event.properties:
        return "feature_adoption"
    if name in FEEDBACK_EVENTS or name.startswith("$survey"):
        return "feedback"
    return "analytics"


def parse_consent(value: Any) -> frozenset[str] | None:
    """Consent as sent: a list of categories, ``{category: bool}``, Segment's
    ``{"categoryPreferences": {...}}`` or comma-separated text. None when absent."""
    if value is None:
        return None
    if isinstance(value, Mapping) and isinstance(value.get("categoryPreferences"), Mapping):
        value = value["categoryPreferences"]
    if isinstance(value, str):
        value = value.split(",")
    if isinstance(value, Mapping):
        granted = [key for key, allowed in value.items() if allowed is True]
    elif isinstance(value, list | tuple):
        granted = [item for item in value if isinstance(item, str)]
    else:
        return frozenset()
    names = {str(item).strip().lower().replace(" ", "_").replace("-", "_") for item in granted}
    return frozenset(names & set(CONSENT_CATEGORIES))


def consent_step(draft: Draft, context: StepContext) -> Draft | Drop:
    if not context.policy.require_consent:
        return draft
    if draft.consent is None:
        return Drop(DropReason.CONSENT_MISSING)
    if category_of(draft.event) not in draft.consent:
        return Drop(DropReason.CONSENT_DENIED)
    return draft


def cookieless_id(salt: bytes, project_id: int, ip: str, user_agent: str) -> str:
    """The visitor id of cookieless mode; it changes when the daily salt does."""
    digest = hashlib.blake2b(
        f"{project_id}\x00{ip}\x00{user_agent}".encode(), key=salt[:64], digest_size=16
    )
    return COOKIELESS_PREFIX + digest.hexdigest()


def cookieless_step(draft: Draft, context: StepContext) -> Draft | Drop:
    if not context.policy.cookieless:
        return draft
    event = draft.event
    visitor = cookieless_id(context.salt, context.project_id, draft.ip, draft.user_agent)
    properties = event.properties
    for key in ("$device_id", "$anon_distinct_id"):
        if key in properties:
            properties[key] = visitor
    if draft.anonymous:
        draft.event = dataclasses.replace(event, distinct_id=visitor)
    return draft


@functools.lru_cache(maxsize=8192)
def truncate_ip(address: str) -> str:
    """IPv4 to its /24, IPv6 to its /48; anything unparseable becomes ''.

    Cached: a request's events share one address. The cache lives in memory only."""
    parts = address.split(".")
    if len(parts) == 4 and all(p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts):
        return f"{int(parts[0])}.{int(parts[1])}.{int(parts[2])}.0"
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


def ip_step(draft: Draft, context: StepContext) -> Draft | Drop:
    properties = draft.event.properties
    given = properties.pop("$ip", None)
    address = given if isinstance(given, str) and given else draft.ip
    draft.ip = ""
    geo_refused = context.policy.require_consent and (
        draft.consent is None or "geo" not in draft.consent
    )
    if context.policy.ip_mode == "truncate" and not geo_refused and address:
        truncated = truncate_ip(address)
        if truncated:
            properties["$ip"] = truncated
    return draft


def minimise_step(draft: Draft, context: StepContext) -> Draft | Drop:
    properties = draft.event.properties
    for key in USER_AGENT_KEYS:
        properties.pop(key, None)
    draft.user_agent = ""
    return draft


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_CARD = re.compile(r"(?<![\d-])[2-6]\d{3}(?:[ -]?\d{2,4}){2,4}(?:[ -]?\d{1,4})?(?![\d-])")
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d{1,4}\)?(?:[ .-]?\(?\d{2,5}\)?){2,5}(?!\w)")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "[card]" if 13 <= len(digits) <= 19 and luhn_valid(digits) else match.group()


def _phone(match: re.Match[str]) -> str:
    text = match.group()
    digits = re.sub(r"\D", "", text)
    if not 9 <= len(digits) <= 15 or _ISO_DATE.fullmatch(text.strip()):
        return text
    # Bare digit runs are ids and amounts far more often than phone numbers.
    formatted = text.startswith(("+", "00", "(")) or any(c in text for c in " .-()")
    return "[phone]" if formatted else text


def scrub_text(text: str) -> str:
    """``text`` with e-mail addresses, card numbers and phone numbers masked."""
    if "@" in text:
        text = _EMAIL.sub("[email]", text)
    if _digit_count(text) >= 9:
        text = _CARD.sub(_card, text)
        text = _PHONE.sub(_phone, text)
    return text


def scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {key: scrub_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub_value(item) for item in value]
    return value


def pii_step(draft: Draft, context: StepContext) -> Draft | Drop:
    if not context.policy.scrub_pii:
        return draft
    properties = draft.event.properties
    texts = [v for k, v in properties.items() if type(v) is str and k not in _NOT_SCANNED]
    # Most events hold nothing that could be PII: decide that at C speed, then scrub.
    if texts and might_hold_pii("\x00".join(texts)):
        for key, value in list(properties.items()):
            if type(value) is str and key not in _NOT_SCANNED:
                properties[key] = scrub_text(value)
    for key, value in list(properties.items()):
        if isinstance(value, dict | list) and key not in _NOT_SCANNED:
            properties[key] = scrub_value(value)
    return draft


_DIGITS = b"0123456789"
# Keys whose values SDKs fill with their own ids and versions, never with free text.
_NOT_SCANNED = frozenset(
    {
        "$set", "$set_once", "$ip", "$session_id", "$window_id", "$device_id", "$pageview_id",
        "$insert_id", "$anon_distinct_id", "$lib", "$lib_version", "$browser",
        "$browser_version", "$os", "$os_version", "$device_type", "$timezone", "$locale",
    }
)  # fmt: skip


def might_hold_pii(text: str) -> bool:
    """Cheap test: an e-mail needs an '@', a phone or card number at least 9 digits."""
    return "@" in text or _digit_count(text) >= 9


def _digit_count(text: str) -> int:
    # bytes.translate deletes in C at memory speed; str.translate is ~25x slower once the
    # text holds any non-ASCII character.
    data = text.encode("utf-8", "surrogatepass")
    return len(data) - len(data.translate(None, _DIGITS))


def denylist_step(draft: Draft, context: StepContext) -> Draft | Drop:
    denied = context.policy.denylist
    if not denied:
        return draft
    event = draft.event
    for mapping in (event.properties, event.set, event.set_once):
        if mapping:
            for key in [key for key in mapping if key.lower() in denied]:
                del mapping[key]
    return draft


STEPS: tuple[NamedStep, ...] = (
    NamedStep("consent", consent_step),
    NamedStep("cookieless", cookieless_step),
    NamedStep("ip", ip_step),
    NamedStep("minimise", minimise_step),
    NamedStep("pii", pii_step),
    NamedStep("denylist", denylist_step),
)

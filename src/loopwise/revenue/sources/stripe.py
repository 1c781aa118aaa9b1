"""Stripe webhooks: checking the ``Stripe-Signature`` header, and applying events to the
canonical billing objects.

Stripe signs ``{t}.{payload}`` with HMAC-SHA256 under the endpoint's signing secret and
sends ``t=<unix time>,v1=<hex>[,v1=<hex>…]`` (several ``v1`` while a secret is rolled).
A delivery is accepted when one ``v1`` matches one of the project's secrets and ``t`` is
within five minutes of now (a replayed old delivery is refused).

Deliveries are at least once and in no particular order: an event id already applied is
acknowledged and skipped, and an event older than the state an object already holds
(``created`` before the object's ``version_at``) does not overwrite it. Within one second,
``*.created`` ranks before ``*.updated`` and that before ``*.deleted`` (a microsecond
apart), so a creation delivered after an update of the same second does not undo it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loopwise.core.db import utcnow
from loopwise.ingest.facade import find_person
from loopwise.revenue.models import (
    BillingObject,
    BillingObjectVersion,
    PaymentFailure,
    SourceEvent,
)

TOLERANCE_SECONDS = 300

# The billing objects kept, by their Stripe ``object`` name. An event's kind is the object
# it carries, not its type's prefix: ``customer.discount.*`` carries a discount and
# ``charge.dispute.*`` a dispute (not kept), ``charge.refund.updated`` a refund.
KINDS = ("customer", "subscription", "invoice", "charge", "refund", "credit_note")
# Several events about one object often share a second (Stripe's ``created`` has no finer
# unit): within it, a creation comes before an update, and an update before a deletion.
RANK = {"created": 0, "updated": 1, "deleted": 2}
HEX = frozenset("0123456789abcdef")


class SignatureError(Exception):
    """The delivery is not from Stripe, or is too old; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def verify(payload: bytes, header: str | None, secrets: Sequence[str], now: datetime) -> None:
    """Accept the delivery, or raise ``SignatureError`` with the reason."""
    if not secrets:
        raise SignatureError("no signing secret is set for this project's Stripe source")
    if not header:
        raise SignatureError("the Stripe-Signature header is missing")
    parts = [item.split("=", 1) for item in header.split(",") if "=" in item]
    stamps = [value for key, value in parts if key.strip() == "t"]
    signatures = [value.strip() for key, value in parts if key.strip() == "v1"]
    signatures = [v for v in signatures if len(v) == 64 and set(v) <= HEX]
    stamp_text = stamps[0].strip() if len(stamps) == 1 else ""
    if (
        not (stamp_text.isascii() and stamp_text.isdigit() and len(stamp_text) < 12)
        or not signatures
    ):
        raise SignatureError("the Stripe-Signature header has no timestamp or no v1 signature")
    stamp = int(stamp_text)
    signed = stamp_text.encode() + b"." + payload
    expected = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in secrets]
    if not any(hmac.compare_digest(e, g) for e in expected for g in signatures):
        raise SignatureError("no signature matches this project's signing secret")
    if abs(now.timestamp() - stamp) > TOLERANCE_SECONDS:
        raise SignatureError("the signature is more than five minutes old")


def sign(payload: bytes, secret: str, at: datetime) -> str:
    """A ``Stripe-Signature`` header for a payload (for tests and local replays)."""
    stamp = str(int(at.timestamp()))
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + payload, hashlib.sha256)
    return f"t={stamp},v1={digest.hexdigest()}"


@dataclass(frozen=True)
class Applied:
    event_id: str
    outcome: str  # applied, duplicate, stale, ignored


def apply_event(session: Session, project_id: int, event: dict[str, Any]) -> Applied:
    """Apply one webhook event to the project's billing objects, at most once."""
    event_id, kind_name = _clean(_text(event, "id")), _clean(_text(event, "type"))
    if not event_id.startswith("evt_") or event.get("object") != "event" or len(event_id) > 100:
        raise ValueError("the body is not a Stripe event (no evt_ id or object)")
    if session.get(SourceEvent, (project_id, event_id)) is not None:
        return Applied(event_id, "duplicate")
    created = _time(event.get("created")) or utcnow()
    created += timedelta(microseconds=RANK.get(kind_name.rsplit(".", 1)[-1], 1))
    data = event.get("data")
    thing = data.get("object") if isinstance(data, dict) else None
    kind = thing.get("object") if isinstance(thing, dict) else None
    outcome = "ignored"
    if isinstance(thing, dict) and kind in KINDS and isinstance(thing.get("id"), str):
        _check_ranges(str(kind), thing)
        deleted = kind_name.endswith(".deleted") and kind in ("customer", "subscription")
        outcome = store_object(session, project_id, str(kind), thing, created,
                               source_event=event_id, deleted=deleted)  # fmt: skip
        if kind_name == "invoice.payment_failed":
            _failure(session, project_id, event_id, thing, created)
        elif kind_name == "charge.failed":
            _late_decline(session, project_id, thing)
    elif kind_name == "payment_intent.payment_failed" and isinstance(thing, dict):
        _late_decline(session, project_id, thing)
    session.add(
        SourceEvent(project_id=project_id, event_id=event_id, type=kind_name[:100],
                    created=created, outcome=outcome)
    )  # fmt: skip
    return Applied(event_id, outcome)


def store_object(
    session: Session,
    project_id: int,
    kind: str,
    thing: dict[str, Any],
    at: datetime,
    *,
    source_event: str,
    deleted: bool = False,
) -> str:
    """Keep one billing object's state as of ``at`` (from a webhook event or a backfill),
    unless a newer one is held; a subscription's every state is also kept as history, late
    ones included, since MRR is computed from it. Returns applied or stale."""
    outcome = _store(session, project_id, kind, thing, at, deleted)
    if kind == "subscription":
        session.add(BillingObjectVersion(project_id=project_id, kind=kind,
                                         external_id=_clean(thing["id"])[:100],
                                         customer_id=_clean(str(_id(thing.get("customer"))
                                                                or ""))[:100],
                                         event_id=source_event[:100], version_at=at,
                                         data=thing))  # fmt: skip
    return outcome


def _store(
    session: Session,
    project_id: int,
    kind: str,
    thing: dict[str, Any],
    created: datetime,
    deleted: bool,
) -> str:
    key = (project_id, kind, _clean(thing["id"])[:100])
    row = session.get(BillingObject, key)
    if row is not None and row.version_at > created:
        return "stale"  # a newer state is already here
    values = _columns(kind, thing)
    values["deleted"] = deleted
    if kind == "customer":
        values["person_id"] = _person(session, project_id, thing) or (row.person_id if row else "")
    if row is None:
        session.add(BillingObject(project_id=project_id, kind=kind, external_id=key[2],
                                  data=thing, version_at=created, **values))  # fmt: skip
    else:
        for name, value in values.items():
            setattr(row, name, value)
        row.data, row.version_at, row.updated_at = thing, created, utcnow()
    return "applied"


def _columns(kind: str, thing: dict[str, Any]) -> dict[str, Any]:
    """The typed columns of a billing object."""
    customer = thing.get("customer") if kind != "customer" else thing.get("id")
    if isinstance(customer, dict):  # expanded
        customer = customer.get("id")
    amount_field = {"invoice": "amount_due", "charge": "amount", "refund": "amount",
                    "credit_note": "total"}.get(kind)  # fmt: skip
    amount = thing.get(amount_field) if amount_field else 0
    return {
        "customer_id": _clean(str(customer or ""))[:100],
        "status": _clean(str(thing.get("status") or ""))[:40],
        "currency": _clean(str(thing.get("currency") or ""))[:10],
        "amount": int(amount) if isinstance(amount, int) else 0,
    }


def _failure(
    session: Session, project_id: int, event_id: str, invoice: dict[str, Any], at: datetime
) -> None:
    session.add(
        PaymentFailure(
            project_id=project_id,
            event_id=event_id,
            invoice_id=_clean(str(invoice.get("id")))[:100],
            customer_id=_clean(str(_id(invoice.get("customer")) or ""))[:100],
            amount=_int(invoice.get("amount_due")),
            currency=_clean(str(invoice.get("currency") or ""))[:10],
            attempt_count=_int(invoice.get("attempt_count")),
            next_attempt_at=_time(invoice.get("next_payment_attempt")),
            failure_code=decline_code(invoice) or _charge_decline(session, project_id, invoice),
            failed_at=at,
        )
    )


MAX_AMOUNT = 10**15  # minor units: far above any real invoice, well inside the columns
MAX_QUANTITY = 10**7


def _check_ranges(kind: str, thing: dict[str, Any]) -> None:
    """Refuse numbers no billing system sends, which would overflow the stored columns."""
    fields = {"invoice": ("amount_due", "attempt_count"), "charge": ("amount",),
              "refund": ("amount",), "credit_note": ("total",)}.get(kind, ())  # fmt: skip
    for name in fields:
        value, limit = thing.get(name), MAX_QUANTITY if name == "attempt_count" else MAX_AMOUNT
        if isinstance(value, int) and not -limit <= value <= limit:
            raise ValueError(f"data.object.{name} is out of range")
    if kind != "subscription":
        return
    items = thing.get("items")
    for item in (items.get("data") if isinstance(items, dict) else None) or []:
        if not isinstance(item, dict):
            continue
        price = item.get("price") or item.get("plan")
        amount = price.get("unit_amount") if isinstance(price, dict) else None
        if isinstance(amount, int) and not 0 <= amount <= MAX_AMOUNT // MAX_QUANTITY * 100:
            raise ValueError("data.object.items.data[].price.unit_amount is out of range")
        quantity = item.get("quantity")
        if isinstance(quantity, int) and quantity > MAX_QUANTITY:
            raise ValueError("data.object.items.data[].quantity is out of range")


def decline_code(thing: dict[str, Any]) -> str:
    """The decline code in a charge, a payment intent, or an invoice that expands either:
    the issuer's reason (``insufficient_funds``, ``expired_card``…) where Stripe gives it,
    else the failure code (``card_declined``)."""
    if thing.get("object") == "invoice":
        for key in ("charge", "payment_intent"):
            if isinstance(thing.get(key), dict) and (found := decline_code(thing[key])):
                return found
        return ""
    error = thing.get("last_payment_error")
    outcome = thing.get("outcome")
    for value in (
        error.get("decline_code") if isinstance(error, dict) else None,
        outcome.get("reason") if isinstance(outcome, dict) else None,
        thing.get("failure_code"),
        error.get("code") if isinstance(error, dict) else None,
    ):
        if isinstance(value, str) and value:
            return _clean(value)[:100]
    return ""


def _charge_decline(session: Session, project_id: int, invoice: dict[str, Any]) -> str:
    """The decline code of a failed charge for ``invoice`` received before the invoice's
    failure (Stripe sends ``charge.failed`` first)."""
    customer = _clean(str(_id(invoice.get("customer")) or ""))[:100]
    charges = session.scalars(
        select(BillingObject)
        .where(BillingObject.project_id == project_id, BillingObject.kind == "charge")
        .where(BillingObject.customer_id == customer, BillingObject.status == "failed")
        .order_by(BillingObject.version_at.desc())
    )
    for charge in charges:
        if _id(charge.data.get("invoice")) == invoice.get("id"):
            return decline_code(charge.data)
    return ""


def _late_decline(session: Session, project_id: int, thing: dict[str, Any]) -> None:
    """A failed charge or payment intent arriving after its invoice's failure: its decline
    code goes to that invoice's latest failure still without one."""
    invoice, code = _id(thing.get("invoice")), decline_code(thing)
    if not isinstance(invoice, str) or not code:
        return
    session.flush()
    failure = session.scalars(
        select(PaymentFailure)
        .where(PaymentFailure.project_id == project_id)
        .where(PaymentFailure.invoice_id == _clean(invoice)[:100])
        .where(PaymentFailure.failure_code == "")
        .order_by(PaymentFailure.failed_at.desc())
        .limit(1)
    ).first()
    if failure is not None:
        failure.failure_code = code


def _clean(text: str) -> str:
    """Text for a typed column: PostgreSQL refuses NUL characters in text."""
    return text.replace("\x00", "")


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _id(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value  # expanded or not


def _text(event: dict[str, Any], key: str) -> str:
    value = event.get(key)
    return value if isinstance(value, str) else ""


def _time(value: Any) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return None


def _person(session: Session, project_id: int, customer: dict[str, Any]) -> str | None:
    """The person a customer is: ``metadata.user_id`` as a distinct id, else the e-mail."""
    metadata = customer.get("metadata")
    found = metadata.get("user_id") if isinstance(metadata, dict) else None
    user_id = found if isinstance(found, str) else None
    email = customer.get("email") if isinstance(customer.get("email"), str) else None
    return find_person(session, project_id, user_id=user_id, email=email)


RELINK_BATCH = 5_000


def relink_customers(session: Session, project_id: int) -> int:
    """Link customers that had no person when they arrived to the person who has since
    appeared (identified with their user id, or given their e-mail); returns how many."""
    rows = session.scalars(
        select(BillingObject)
        .where(BillingObject.project_id == project_id)
        .where(BillingObject.kind == "customer")
        .where(BillingObject.person_id == "")
        .where(BillingObject.deleted.is_(False))
        .order_by(BillingObject.updated_at)
        .limit(RELINK_BATCH)
    )
    linked = 0
    for row in rows:
        person = _person(session, project_id, row.data)
        if person:
            row.person_id = person
            linked += 1
    return linked

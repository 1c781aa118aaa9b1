"""The revenue surface the web layer and other areas use."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.orm import Session

from loopwise.core import audit
from loopwise.core.audit import Actor
from loopwise.core.db import utcnow
from loopwise.core.errors import InvalidInput
from loopwise.core.sealed import seal, unseal
from loopwise.revenue.models import BillingSource
from loopwise.revenue.sources.stripe import Applied, SignatureError, apply_event, verify

__all__ = ["SignatureError", "receive_stripe", "set_stripe_secrets", "stripe_configured"]

MAX_SECRETS = 3


def set_stripe_secrets(
    session: Session, actor: Actor, project_id: int, secrets: list[str], secret_key: str
) -> None:
    """The webhook signing secrets (``whsec_…``) Stripe deliveries must be signed with;
    up to three, so a secret can be rolled without losing deliveries."""
    clean = [s.strip() for s in secrets if s.strip()]
    if not 1 <= len(clean) <= MAX_SECRETS:
        raise InvalidInput("signing_secrets", f"give 1 to {MAX_SECRETS} signing secrets")
    if any(not s.startswith("whsec_") or len(s) > 200 for s in clean):
        raise InvalidInput("signing_secrets", "a Stripe signing secret starts with whsec_")
    row = session.get(BillingSource, (project_id, "stripe"))
    if row is None:
        row = BillingSource(project_id=project_id, kind="stripe")
        session.add(row)
    row.signing_secrets = [seal(secret_key, s) for s in clean]
    row.updated_at = utcnow()
    audit.record(session, actor, "billing_source.changed", "stripe", project_id=project_id,
                 secrets=len(clean))  # fmt: skip


def stripe_configured(session: Session, project_id: int) -> bool:
    row = session.get(BillingSource, (project_id, "stripe"))
    return row is not None and bool(row.signing_secrets)


def receive_stripe(
    session: Session,
    project_id: int,
    payload: bytes,
    signature: str | None,
    secret_key: str,
    now: datetime | None = None,
) -> Applied:
    """Check a webhook delivery's signature, then apply its event (at most once).

    Raises ``SignatureError`` for a delivery that is not Stripe's or is too old, and
    ``InvalidInput`` for a signed body that is not an event."""
    row = session.get(BillingSource, (project_id, "stripe"))
    secrets = [unseal(secret_key, s) for s in (row.signing_secrets if row else [])]
    verify(payload, signature, secrets, now or utcnow())
    try:
        event = json.loads(payload)
    except ValueError:
        raise InvalidInput("body", "is not JSON") from None
    if not isinstance(event, dict):
        raise InvalidInput("body", "is not a Stripe event object")
    try:
        return apply_event(session, project_id, event)
    except ValueError as exc:
        raise InvalidInput("body", str(exc)) from None

"""The revenue surface the web layer and other areas use."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from loopwise.core import audit
from loopwise.core.audit import Actor
from loopwise.core.db import utcnow
from loopwise.core.errors import InvalidInput
from loopwise.core.sealed import Unsealable, seal, unseal
from loopwise.revenue.cac import CacReport, Model, cac_report, import_spend
from loopwise.revenue.models import BillingObject, BillingSource, RevenueSettings
from loopwise.revenue.mrr import Change, Conventions, Period, movements, periods
from loopwise.revenue.sources.csv_import import (
    Imported,
    ImportRefused,
    RowError,
    import_subscriptions,
)
from loopwise.revenue.sources.stripe import Applied, SignatureError, apply_event, verify
from loopwise.revenue.sources.stripe_states import subscription_states
from loopwise.warehouse import Warehouse

__all__ = [
    "ImportRefused", "Imported", "RowError", "SignatureError", "cac", "customers_of_person",
    "import_spend",
    "import_subscriptions",
    "mrr_report", "receive_stripe", "revenue_rules", "set_revenue_rules", "set_stripe_secrets",
    "stripe_configured",
]  # fmt: skip

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
    try:
        secrets = [unseal(secret_key, s) for s in (row.signing_secrets if row else [])]
    except Unsealable:
        raise SignatureError(
            "the signing secret was saved under another instance secret key: set it again"
        ) from None
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


@dataclass(frozen=True)
class RevenueRules:
    conventions: Conventions
    currency: str


@dataclass(frozen=True)
class MrrReport:
    currency: str
    periods: list[Period]
    recent: list[Change]  # the latest movements, newest first


def revenue_rules(session: Session, project_id: int) -> RevenueRules:
    row = session.get(RevenueSettings, project_id)
    if row is None:
        return RevenueRules(Conventions(), "usd")
    conventions = Conventions(
        discounts="forever" if row.discounts == "forever" else "all",
        churn_at="request" if row.churn_at == "request" else "end",
        past_due_days=row.past_due_days,
    )
    return RevenueRules(conventions, row.currency)


def set_revenue_rules(
    session: Session,
    actor: Actor,
    project_id: int,
    *,
    discounts: str,
    churn_at: str,
    past_due_days: int | None,
    currency: str,
) -> RevenueRules:
    """The project's revenue conventions (docs/metrics/revenue.md); audited."""
    if discounts not in ("all", "forever"):
        raise InvalidInput("discounts", "is all or forever")
    if churn_at not in ("end", "request"):
        raise InvalidInput("churn_at", "is end or request")
    if past_due_days is not None and not 1 <= past_due_days <= 365:
        raise InvalidInput("past_due_days", "is 1 to 365 days, or empty to keep MRR")
    if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
        raise InvalidInput("currency", "is a three-letter ISO code such as usd")
    row = session.get(RevenueSettings, project_id)
    if row is None:
        row = RevenueSettings(project_id=project_id)
        session.add(row)
    row.discounts, row.churn_at = discounts, churn_at
    row.past_due_days, row.currency = past_due_days, currency.lower()
    audit.record(session, actor, "revenue.settings_changed", project_id=project_id,
                 discounts=discounts, churn_at=churn_at, past_due_days=past_due_days,
                 currency=currency.lower())  # fmt: skip
    return revenue_rules(session, project_id)


def mrr_report(
    session: Session, project_id: int, timezone: str, *, months: int = 12,
    now: datetime | None = None,
) -> MrrReport:  # fmt: skip
    """MRR and its movements per calendar month for the last ``months`` months."""
    if not 1 <= months <= 60:
        raise InvalidInput("months", "is 1 to 60")
    rules = revenue_rules(session, project_id)
    moment = now or utcnow()
    today = moment.astimezone(ZoneInfo(timezone)).date()
    first = today.replace(day=1)
    starts = []
    for back in range(months - 1, -1, -1):
        index = first.year * 12 + first.month - 1 - back
        starts.append(date(index // 12, index % 12 + 1, 1))
    states = subscription_states(session, project_id, rules.currency)
    ledger = movements(states, rules.conventions, timezone, moment)
    found = periods(ledger, starts, today + timedelta(days=1))
    recent = sorted(ledger.changes, key=lambda c: (c.day, c.customer_id), reverse=True)[:50]
    return MrrReport(rules.currency, found, recent)


def customers_of_person(session: Session, project_id: int, person_id: str) -> list[str]:
    """The billing customers linked to a person (for the person's page)."""
    rows = session.scalars(
        select(BillingObject.external_id)
        .where(BillingObject.project_id == project_id)
        .where(BillingObject.kind == "customer")
        .where(BillingObject.person_id == person_id)
        .order_by(BillingObject.external_id)
    )
    return list(rows)


def cac(
    session: Session,
    warehouse: Warehouse,
    project_id: int,
    timezone: str,
    start: date,
    end: date,
    *,
    model: Model = "first_touch",
    now: datetime | None = None,
) -> CacReport:
    """Spend, attributed new customers and CAC per source for days in [start, end)."""
    if not start < end or (end - start).days > 366:
        raise InvalidInput("end", "comes after start, at most a year later")
    if not (start.year >= 1970 and end.year <= 2100):
        raise InvalidInput("start", "is a date between 1970 and 2100")
    rules = revenue_rules(session, project_id)
    states = subscription_states(session, project_id, rules.currency)
    ledger = movements(states, rules.conventions, timezone, now or utcnow())
    return cac_report(session, warehouse, project_id, ledger, start, end,
                      currency=rules.currency, zone=timezone, model=model)  # fmt: skip

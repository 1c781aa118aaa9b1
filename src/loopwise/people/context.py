"""Everything the person page shows about one person, built once: the HTML page, its htmx
partials and the JSON API all read this context, so they never disagree.

Cards: identity (properties, distinct ids, merged ids), the team's marks and the account,
health (the stored score and its history), billing, support, usage, insights, the first
page of the timeline, and debug data (latest raw events, the person as stored). A card is
None when its area has nothing for the person.

Cost, for a page that must answer in a few hundred milliseconds on a large project: the
summary row is read, never recomputed, unless the person has none yet; the warehouse is
asked three questions (activity, sessions and errors of the timeline's first page, latest
raw events), a fourth only for a person gone quiet (their usual rhythm); the rest are
indexed reads of one person's rows in the app database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel
from sqlalchemy.orm import Session

from loopwise.core import accounts
from loopwise.ingest.facade import PersonInfo, person_by_id
from loopwise.people.contracts import TIMELINE_KINDS, Health, Insight, Timeline
from loopwise.people.identity import person_email, person_name
from loopwise.people.insights import Facts, insights
from loopwise.people.refresh import HistoryPoint, health_history, refresh_person, summary_of
from loopwise.people.timeline import build, ticket_link, timeline_json
from loopwise.product.facade import (
    PersonActivity,
    RawEvent,
    person_activity,
    person_sessions,
    recent_events,
)
from loopwise.revenue.facade import (
    BillingRequestInfo,
    PaymentMethod,
    PersonBilling,
    billing_requests_of,
    payment_method_of,
    person_billing,
    revenue_rules,
)
from loopwise.support.facade import PersonSupport, TicketBrief, person_support
from loopwise.warehouse import Warehouse

PAGE_DAYS = 30  # the timeline's first page, and the usage card's range
HISTORY_DAYS = 180
RECENT_EVENTS = 50


@dataclass(frozen=True)
class BillingCard:
    billing: PersonBilling | None  # None: no billing customer, only requests
    requests: tuple[BillingRequestInfo, ...]  # not yet acted on, newest first
    external: tuple[tuple[str, str], ...]  # (customer id, its page in the billing system)
    pages: tuple[tuple[str, str], ...]  # (customer id, its page in Loopwise)
    payment_method: PaymentMethod | None  # when the stored billing objects carry it


@dataclass(frozen=True)
class SupportCard:
    total: int
    open: int
    solved: int
    mean_resolution: timedelta | None  # created to solved, over solved tickets
    last: TicketBrief
    latest: tuple[TicketBrief, ...]  # newest first
    links: dict[int, str]  # ticket id -> its page


@dataclass(frozen=True)
class DebugCard:
    recent_events: tuple[RawEvent, ...]  # newest first, every property
    person: dict[str, Any]  # the person as stored, as JSON


@dataclass(frozen=True)
class PersonContext:
    project_id: int
    person: PersonInfo
    name: str
    email: str
    tags: tuple[str, ...]
    vip: bool
    account: str
    tier: str  # the plan, or "free" without one
    known_since: datetime  # their first event, or when the identity service met them if earlier
    currency: str  # the project's reporting currency
    computed_at: datetime | None  # when the summary and health were last computed
    health: Health | None
    health_history: tuple[HistoryPoint, ...]  # oldest first
    billing: BillingCard | None
    support: SupportCard | None
    usage: PersonActivity | None  # the last 30 days; None without any event in a year
    insights: tuple[Insight, ...]
    timeline: Timeline
    debug: DebugCard

    def to_json(self) -> dict[str, Any]:
        """The API's JSON: ISO times, minor units, the health as ``Health.to_json``."""
        plain = {f.name: _plain(getattr(self, f.name)) for f in fields(self)}
        plain["health"] = self.health.to_json() if self.health else None
        plain["health_history"] = [{"day": p.day.isoformat(), "score": p.score, "band": p.band}
                                   for p in self.health_history]  # fmt: skip
        plain["timeline"] = timeline_json(self.timeline)
        return plain


def person_context(
    session: Session,
    warehouse: Warehouse,
    project_id: int,
    person_id: str,
    now: datetime,
    *,
    kinds: Sequence[str] = TIMELINE_KINDS,
) -> PersonContext:
    """The person page's context; ``NotFound`` for a person not in the project (a merged
    away id shows the person it was merged into)."""
    person = person_by_id(session, project_id, person_id)
    pid = person.id
    summary = summary_of(session, project_id, pid) or refresh_person(
        session, warehouse, project_id, pid, now
    )
    timezone = accounts.get_project(session, project_id).timezone
    billing = person_billing(session, project_id, pid, now)
    support = person_support(session, project_id, pid)
    activity = person_activity(warehouse, session, project_id, pid, now, days=PAGE_DAYS)
    start = now - timedelta(days=PAGE_DAYS)
    merged = person.merged_person_ids
    product = person_sessions(warehouse, session, project_id, pid, start, now, horizon=now,
                              merged=merged)  # fmt: skip
    facts = Facts(pid, now, timezone, summary, activity, billing, support, product, merged)
    return PersonContext(
        project_id=project_id, person=person,
        name=summary.name or person_name(person.properties),
        email=summary.email or person_email(person.properties),
        tags=tuple(summary.tags or ()), vip=bool(summary.vip), account=summary.account,
        tier=billing.plan if billing and billing.plan else "free",
        known_since=min(filter(None, (person.created_at, summary.first_seen))),
        currency=billing.currency if billing else revenue_rules(session, project_id).currency,
        computed_at=summary.computed_at, health=Health.from_json(summary.health_detail or {}),
        health_history=tuple(health_history(session, project_id, pid, days=HISTORY_DAYS,
                                            now=now)),
        billing=_billing_card(session, project_id, pid, billing),
        support=_support_card(project_id, support),
        usage=activity if activity.last_seen is not None or activity.events_30d else None,
        insights=tuple(insights(session, warehouse, project_id, facts)),
        timeline=build(session, warehouse, project_id, pid, now, days=PAGE_DAYS, kinds=kinds,
                       product=product, merged=merged),
        debug=DebugCard(tuple(recent_events(warehouse, project_id, pid, now, RECENT_EVENTS,
                                            merged=merged)), person.model_dump(mode="json")),
    )  # fmt: skip


def _billing_card(
    session: Session, project_id: int, person_id: str, billing: PersonBilling | None
) -> BillingCard | None:
    pending = tuple(r for r in billing_requests_of(session, project_id, person_id)
                    if r.status == "requested")  # fmt: skip
    if billing is None and not pending:
        return None
    customers = billing.customer_ids if billing else ()
    return BillingCard(
        billing=billing, requests=pending,
        external=tuple((c, url) for c in customers if (url := external_page(c))),
        pages=tuple((c, f"/projects/{project_id}/revenue/customers/{quote(c, safe='')}")
                    for c in customers),
        payment_method=payment_method_of(session, project_id, customers) if customers else None,
    )  # fmt: skip


def external_page(customer_id: str) -> str:
    """The customer's page in their billing system, when the id says which one: Stripe's
    customer ids start with ``cus_``."""
    if customer_id.startswith("cus_") and customer_id[4:].isalnum():
        return f"https://dashboard.stripe.com/customers/{customer_id}"
    return ""


def _support_card(project_id: int, support: PersonSupport) -> SupportCard | None:
    if not support.total or not support.latest:
        return None
    mean = support.mean_resolution_s
    return SupportCard(
        total=support.total, open=support.open, solved=support.solved,
        mean_resolution=None if mean is None else timedelta(seconds=round(mean)),
        last=support.latest[0], latest=support.latest,
        links={t.id: ticket_link(project_id, t.id) for t in support.latest},
    )  # fmt: skip


def _plain(value: Any) -> Any:
    """A value as JSON: dataclasses and models as objects, times as ISO text, durations
    in seconds."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value

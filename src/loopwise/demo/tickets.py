"""The support-tickets generator: the simulated people's help-desk history, recorded through
the support area's import path (``support.facade.record_ticket``), and the ``$exception``
events that precede their bug reports (``ingest.facade.capture``).

Tickets follow what happened to each person: renewals that failed (read from the billing
simulation itself, ``billing.person_billing_events``: same invoices, amounts, dates and
decline codes) bring billing tickets a few hours later; paid invoices a few invoice
requests; cancellations (with the reason the ``subscription_cancelled`` event gives) and
downgrades cancellation requests and plan questions; the features a person uses how-to
questions, feature requests and bug reports about those features, each bug report after a
few errors in the product. A business-wide incident (menu export broken by a release in the
last complete week) adds a burst of near-identical bug reports: the trending category and
a knowledge-base cluster.

Every message is assembled from independent parts (greeting, introduction, the problem in
one of several phrasings naming the person's own plan, feature, amounts and dates, a
detail, a mood, a sign-off), in varied length and register, sometimes in lower case or with
typos, and in German, Spanish or French for some people in those countries. Agents (a
fixed team in three queues) answer within business hours; their resolutions name the
facts of the case, so they read well as suggested replies for similar tickets.

Randomness: each person's draws come from ``default_rng([seed, STREAM, index, part])``,
one part per kind of story, so adding a kind changes no other; the incident from
``[seed, STREAM]``; the error events from ``[seed, ERROR_STREAM, index]``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from loopwise.core.audit import Actor
from loopwise.core.db import transaction
from loopwise.demo import catalog, ticket_words
from loopwise.demo.acquisition import device_properties
from loopwise.demo.billing import person_billing_events
from loopwise.demo.billing_terms import terms as billing_terms
from loopwise.demo.contracts import Delivered, DemoTarget
from loopwise.demo.population import DAY, Business, SimPerson
from loopwise.demo.product_events import person_events
from loopwise.demo.ticket_words import (
    AGENT_CLOSINGS,
    AGENT_GREETINGS,
    AGENT_SIGNATURES,
    BUG_ERRORS,
    BUGS,
    CANCELLED_ANSWERS,
    CSAT_COMMENTS,
    DECLINE_LINES,
    DISHES,
    EMPATHY,
    ESCALATION_ACKS,
    ESCALATION_NOTES,
    FEATURE_TEXT,
    FEATURE_UI,
    FOREIGN_PREFIX,
    GENERIC_SUBJECTS,
    GREETINGS,
    HOW_TO,
    INTROS,
    KINDS,
    LANGUAGES,
    MARKERS,
    MOODS,
    PLACES,
    REASONS,
    REOPEN_ANSWERS,
    REOPEN_ASKS,
    REOPEN_DEFAULT,
    REQUESTS,
    SIGNOFFS,
    SPIKE_ANSWERS,
    SPIKE_ERROR,
    THANKS,
    WHEN,
    WRITES_IN,
    Kind,
)
from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import capture, uuid4_texts
from loopwise.support.contracts import ROUTINE_INTENTS, NewMessage, NewTicket, category_of
from loopwise.support.facade import (
    record_ticket,
    save_template,
    set_support_settings,
    update_ticket,
)

STREAM = 4  # tickets: default_rng([seed, STREAM, person index, part])
ERROR_STREAM = 5  # the errors before bug reports: default_rng([seed, ERROR_STREAM, index])
SOURCE = "demo"
DOMAIN = ticket_words.DOMAIN
HOUR, MINUTE = timedelta(hours=1), timedelta(minutes=1)

# Parts of a person's ticket stream.
_PROFILE, _BILLING, _PLANS, _USAGE, _BUGS, _ACCOUNT, _OTHER, _SPIKE, _STORY = range(9)

# Tickets per active person-day (times the person's propensity), by kind of story.
RATES: dict[str, float] = {
    "password": 0.0006, "access": 0.0004, "how_to": 0.0009, "feature_request": 0.0004,
    "bug": 0.00045, "plan_question": 0.00035, "billing_question": 0.0005, "other": 0.00018,
}  # fmt: skip
# Chance of a ticket after a billing or plan event.
AFTER_FAILURE, AFTER_INVOLUNTARY, AFTER_REFUND, PER_INVOICE = 0.45, 0.45, 0.25, 0.03
BEFORE_CANCEL, BEFORE_UPGRADE, BEFORE_DOWNGRADE, AFTER_TRIAL, CLOSE_ACCOUNT = (
    0.4, 0.15, 0.3, 0.12, 0.05,
)  # fmt: skip
MAX_TICKETS = 7  # per person
UNLINKED_SHARE = 0.03  # written from an address the identity service does not know
FOREIGN_SHARE = 0.45  # people in DE, ES, FR (and AR, MX) who write in their language
SPIKE_SHARE, SPIKE_MIN = 0.013, 8  # incident tickets per active person, and at least
SPIKE_FEATURE = "menu_export"
REOPEN_SHARE, CSAT_SHARE, THANKS_SHARE, PENDING_SHARE = 0.06, 0.33, 0.35, 0.45
CLOSE_AFTER = timedelta(days=4)  # solved tickets are closed four days later
NO_REPLY_SOLVE = timedelta(days=5)  # pending without an answer: solved by automation
PENDING_SOLVE = timedelta(days=3)  # an answer left pending for confirmation: solved then
AUTOMATION = Actor("Recipely automation")


@dataclass(frozen=True)
class Agent:
    name: str
    email: str
    queue: str

    @property
    def first(self) -> str:
        return self.name.split(" ")[0]


AGENTS: tuple[Agent, ...] = (
    Agent("Maria Keller", f"maria@{DOMAIN}", "billing"),
    Agent("Tom Okafor", f"tom@{DOMAIN}", "billing"),
    Agent("Sven Lindqvist", f"sven@{DOMAIN}", "technical"),
    Agent("Priya Raman", f"priya@{DOMAIN}", "technical"),
    Agent("Lucia Ferrer", f"lucia@{DOMAIN}", "general"),
    Agent("Jonas Weber", f"jonas@{DOMAIN}", "general"),
)
ROUTING: tuple[tuple[str, str], ...] = (("billing", "billing"), ("bug", "technical"))


# --- records -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketStory:
    """One ticket as the help desk saw it: first recorded with its conversation up to its
    first solve; then labelled with a routine intent by the agent, reopened by a later
    customer message and solved again, and closed, as the fields say."""

    ticket: NewTicket
    agent: str = ""
    intent: str = ""
    labelled_at: datetime | None = None
    later: tuple[NewMessage, ...] = ()
    solved_again: datetime | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True)
class SupportSetup:
    """The project's support settings and response templates, set once per load."""

    features: tuple[str, ...]
    routing: tuple[tuple[str, str], ...]
    templates: tuple[tuple[str, str, str], ...]  # (name, intent or category, body)


@dataclass(frozen=True)
class Issue:
    """Why a person writes in, before any text: the kind of story, when, and its facts."""

    kind: str
    at: datetime
    feature: str = ""
    topic: int = 0
    facts: Mapping[str, str] = field(default_factory=dict)
    spike: bool = False


class SupportTickets:
    """Generator of the people's support tickets; needs the app database. Runs after the
    billing generator, so tickets find their requester's billing context."""

    name = "support tickets"
    app_database = True

    def generate(
        self, business: Business, people: Sequence[SimPerson]
    ) -> Iterator[TicketStory | SupportSetup]:
        if any(person.index == 0 for person in people):
            yield setup()
        for person in people:
            yield from person_tickets(business, person)

    def deliver(
        self, target: DemoTarget, records: Sequence[TicketStory | SupportSetup]
    ) -> Delivered:
        stored = 0
        with transaction(target.app_database()) as session:
            for record in records:
                if isinstance(record, SupportSetup):
                    _apply_setup(session, target, record)
                else:
                    stored += _store(session, target, record)
        return Delivered(tickets=stored)


class SupportErrors:
    """Generator of the ``$exception`` events people hit before reporting a bug."""

    name = "errors before bug reports"

    def generate(self, business: Business, people: Sequence[SimPerson]) -> Iterator[CaptureEvent]:
        for person in people:
            yield from person_errors(business, person)

    def deliver(self, target: DemoTarget, records: Sequence[CaptureEvent]) -> Delivered:
        written = capture(
            target.warehouse, target.project_id, records, received_at=target.received_at
        )
        times = [event.timestamp for event in records]
        return Delivered(written, min(times, default=None), max(times, default=None))


def _store(session: Session, target: DemoTarget, story: TicketStory) -> int:
    project, now = target.project_id, target.received_at
    received = record_ticket(session, project, story.ticket, now)
    if not received.created:
        return 0
    agent = Actor(story.agent or AUTOMATION.label)
    if story.intent and story.labelled_at is not None:
        update_ticket(session, agent, project, received.ticket_id, story.labelled_at,
                      category=story.intent)  # fmt: skip
    if story.later:
        again = replace(story.ticket, messages=story.later, status="", solved_at=None)
        record_ticket(session, project, again, now)
        if story.solved_again is not None:
            update_ticket(session, agent, project, received.ticket_id, story.solved_again,
                          status="solved")  # fmt: skip
    if story.closed_at is not None:
        update_ticket(session, AUTOMATION, project, received.ticket_id, story.closed_at,
                      status="closed")  # fmt: skip
    return 1


def _apply_setup(session: Session, target: DemoTarget, found: SupportSetup) -> None:
    routing = [{"category": category, "queue": queue} for category, queue in found.routing]
    set_support_settings(session, target.actor, target.project_id,
                         features=list(found.features), routing=routing)  # fmt: skip
    for name, category, body in found.templates:
        save_template(session, target.project_id, name, category, body, target.received_at)


def setup() -> SupportSetup:
    """The catalog's features, the routing of billing and bugs, and the team's templates."""
    return SupportSetup(tuple(f.name for f in catalog.FEATURES), ROUTING, TEMPLATES)


_SIGNED = "\n\nBest,\nThe Recipely support team"
TEMPLATES: tuple[tuple[str, str, str], ...] = (
    ("Invoice copy", "invoice_request",
     "Hi {{ first_name }},\n\nEvery invoice of your {{ plan }} subscription is under Settings → "
     "Billing → Invoices, each with a PDF download: {{ link }}\n\nIf you add your company "
     "address and VAT number on the same page, they are printed on every invoice. Your next "
     "invoice is due on {{ next_billing_date }}." + _SIGNED),
    ("Password reset", "password_reset",
     "Hi {{ first_name }},\n\nYou can choose a new password here: {{ link }}\nThe link is "
     "valid for 60 minutes. If our e-mail does not arrive within a few minutes, please look "
     "in your spam folder for a message from no-reply@" + DOMAIN + "." + _SIGNED),
    ("Which plan fits", "plan_question",
     "Hi {{ first_name }},\n\nYou are on {{ plan }} at the moment. Pro ($19/month) adds "
     "costing, scaling and nutrition labels for one cook; Team ($79/month per kitchen) adds "
     "inventory, team sharing and comments for the whole kitchen. The plans side by side: "
     "{{ link }}\n\nYou can switch at any time: a change applies at once, and your next "
     "invoice on {{ next_billing_date }} shows the new price." + _SIGNED),
    ("Cancel a subscription", "cancellation_request",
     "Hi {{ first_name }},\n\nYou can cancel your {{ plan }} subscription in one click here: "
     "{{ link }}\nOnce cancelled, nothing more is charged on {{ next_billing_date }}. Your "
     "account stays on Free with all your recipes, and Settings → Data → Export gives you a "
     "copy of everything." + _SIGNED),
    ("Failed payment", "billing",
     "Hi {{ first_name }},\n\nThe last payment for your {{ plan }} subscription was declined "
     "by your bank. We retry automatically and you keep full access in the meantime. To "
     "settle it right away, update your card here: {{ link }}\n\nYour next regular billing "
     "date is {{ next_billing_date }}." + _SIGNED),
)  # fmt: skip


@dataclass(frozen=True)
class Profile:
    """A person's habits with support: how readily they write, in which language, and the
    span in which they use the product inside the period."""

    propensity: float  # a multiplier of every rate, mean 1: some people write far more
    lang: str
    lo: datetime
    hi: datetime

    @property
    def days(self) -> float:
        return max(0.0, (self.hi - self.lo) / DAY)

    def chance(self, base: float) -> float:
        return min(0.95, base * math.sqrt(self.propensity))


def _rng(business: Business, person: SimPerson, part: int) -> np.random.Generator:
    return np.random.default_rng([business.seed, STREAM, person.index, part])


def profile_of(business: Business, person: SimPerson) -> Profile:
    rng = _rng(business, person, _PROFILE)
    foreign, propensity = float(rng.random()), float(rng.lognormal(-0.32, 0.8))
    lang = WRITES_IN.get(person.country, "en") if foreign < FOREIGN_SHARE else "en"
    lo = max(person.signup_at, business.start)
    hi = min(person.churn_at or business.end, business.end)
    return Profile(propensity, lang, lo, max(lo, hi))


def _activity(person: SimPerson) -> float:
    return math.sqrt(person.activity / 2.6)


def _pick_time(rng: np.random.Generator, person: SimPerson, lo: datetime, hi: datetime) -> datetime:
    """A moment in [lo, hi] at a local hour the person works, quieter at weekends."""
    offset = timedelta(minutes=person.utc_offset_minutes)
    weekend = 0.85 if person.personal else 0.35
    moment = lo
    for _ in range(12):
        moment = lo + (hi - lo) * float(rng.random())
        if (moment + offset).weekday() < 5 or rng.random() < weekend:
            break
    hours = catalog.HOURS_PERSONAL if person.personal else catalog.HOURS_BUSINESS
    hour = int(rng.choice(24, p=np.array(hours) / sum(hours)))
    local_day = (moment + offset).date()
    at = datetime.combine(local_day, time(hour), UTC) - offset
    at += timedelta(seconds=int(rng.integers(3600)))
    return at if lo <= at <= hi else moment


def _delay(rng: np.random.Generator, median_hours: float, sigma: float = 0.9) -> timedelta:
    return timedelta(hours=float(rng.lognormal(math.log(median_hours), sigma)))


def _uniform(rng: np.random.Generator, low: timedelta, high: timedelta) -> timedelta:
    return low + (high - low) * float(rng.random())


def _usable(person: SimPerson, moment: datetime) -> list[int]:
    """Features the person has taken up and their plan includes at ``moment``."""
    plan = catalog.PLANS.index(person.plan_at(moment))
    return [
        i
        for i, feature in enumerate(catalog.FEATURES)
        if feature.adoption[plan] > 0
        and (adopted := person.feature_adopted_at(i)) is not None
        and adopted <= moment
    ]


def _feature_at(
    rng: np.random.Generator, person: SimPerson, moment: datetime, power: float = 1.0
) -> str | None:
    """A feature the person uses at ``moment``, the ones used most intensely likelier."""
    usable = _usable(person, moment)
    if not usable:
        return None
    weights = np.array([catalog.FEATURES[i].intensity for i in usable]) ** power
    return catalog.FEATURES[int(rng.choice(usable, p=weights / weights.sum()))].name


def _day(moment: datetime) -> str:
    return moment.date().isoformat()


def _money(cents: int) -> str:
    return f"${cents / 100:,.2f}"


def _title(plan: str) -> str:
    return plan.title()


# --- the business-wide incident -----------------------------------------------------------


@dataclass(frozen=True)
class Spike:
    """A release that broke menu export in the last complete week before the end: who
    writes in about it, when it broke and when it was fixed."""

    release: datetime
    fix: datetime
    people: frozenset[int]


_SPIKES: dict[tuple[int, datetime, datetime, int], Spike | None] = {}


def spike_of(business: Business) -> Spike | None:
    """The incident of the business (drawn once from ``[seed, STREAM]``, so it does not
    depend on how people are grouped); None when the period is shorter than two weeks."""
    key = (business.seed, business.start, business.end, len(business.people))
    if key not in _SPIKES:
        if len(_SPIKES) >= 8:
            _SPIKES.clear()
        _SPIKES[key] = _draw_spike(business)
    return _SPIKES[key]


def _draw_spike(business: Business) -> Spike | None:
    day = business.end.date()
    monday = datetime.combine(day - timedelta(days=day.weekday() + 7), time(), UTC)
    if monday < business.start + 7 * DAY:
        return None
    over = monday + 7 * DAY
    active = [p for p in business.people
              if p.signup_at < monday and (p.churn_at is None or p.churn_at > over)]  # fmt: skip
    exporters = {f.name for f in catalog.FEATURES} & {SPIKE_FEATURE, "meal_planner"}
    eligible = [
        p.index
        for p in active
        if any(catalog.FEATURES[i].name in exporters for i in _usable(p, monday))
    ]
    count = min(len(eligible), max(SPIKE_MIN, round(SPIKE_SHARE * len(active))))
    rng = np.random.default_rng([business.seed, STREAM])
    chosen: list[int] = rng.choice(eligible, size=count, replace=False).tolist() if count else []
    return Spike(monday + DAY + 9 * HOUR, monday + 3 * DAY + 15 * HOUR,
                 frozenset(int(i) for i in chosen))  # fmt: skip


# --- what happens to people ---------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    at: datetime
    amount: int
    decline: str
    message: str
    card: str
    retry: datetime | None


@dataclass(frozen=True)
class Paid:
    at: datetime
    number: str
    amount: int
    subtotal: int
    period: tuple[datetime, datetime]
    plan: str
    quantity: int
    annual: bool


@dataclass
class BillingFacts:
    """What the billing simulation did to a person, read from their Stripe events."""

    failures: list[Failure] = field(default_factory=list)
    paid: list[Paid] = field(default_factory=list)
    refunds: list[tuple[datetime, int]] = field(default_factory=list)
    involuntary: tuple[datetime, Failure] | None = None
    coupon: str = ""
    trial_end: tuple[datetime, str] | None = None  # a lapsed trial: its end and plan


def _moment(stamp: int) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


def billing_facts(business: Business, person: SimPerson) -> BillingFacts:
    """The person's failed first attempts, paid invoices, refunds, involuntary end and
    coupon, as the billing generator's events record them."""
    found = BillingFacts()
    declined: dict[str, Failure] = {}
    for event in person_billing_events(business, person):
        kind, thing = event["type"], event["data"]["object"]
        if kind == "charge.failed":
            card = thing["payment_method_details"]["card"]
            declined[thing["invoice"]] = Failure(
                _moment(thing["created"]), thing["amount"], thing["outcome"]["reason"],
                thing["failure_message"], f"{card['brand'].title()} ending {card['last4']}", None,
            )  # fmt: skip
        elif kind == "invoice.payment_failed" and thing["attempt_count"] == 1:
            retry = thing["next_payment_attempt"]
            failure = replace(declined[thing["id"]], retry=_moment(retry) if retry else None)
            found.failures.append(failure)
        elif kind == "invoice.paid":
            line = thing["lines"]["data"][0]
            period = (_moment(line["period"]["start"]), _moment(line["period"]["end"]))
            found.paid.append(Paid(
                _moment(thing["status_transitions"]["paid_at"]), thing["number"],
                thing["amount_paid"], thing["subtotal"], period, line["price"]["nickname"],
                line["quantity"], line["price"]["recurring"]["interval"] == "year",
            ))  # fmt: skip
        elif kind == "charge.refunded":
            found.refunds.append((_moment(event["created"]), thing["amount_refunded"]))
        elif kind == "customer.subscription.deleted":
            reason = thing["cancellation_details"]["reason"]
            last = declined.get(thing["latest_invoice"] or "")
            if reason == "payment_failed" and last is not None:
                found.involuntary = (_moment(thing["canceled_at"]), last)
        if kind.startswith("customer.subscription") and thing.get("discount"):
            found.coupon = thing["discount"]["coupon"]["id"]
    terms = billing_terms(business, person)
    if terms is not None and terms.run is None and terms.trial_start is not None:
        found.trial_end = (terms.trial_start + timedelta(days=14), terms.trial_plan)
    return found


def person_issues(business: Business, person: SimPerson, profile: Profile) -> list[Issue]:
    """Why and when the person writes in over the period, in time order: everything from
    events in their billing and plan history, their use of features, their account."""
    if profile.days <= 0 and person.churn_at is None:
        return []
    facts = billing_facts(business, person)
    drawn = [
        *_billing_issues(business, person, profile, facts),
        *_plan_issues(business, person, profile, facts),
        *_usage_issues(business, person, profile),
        *_account_issues(business, person, profile),
    ]
    inside = sorted((i for i in drawn if business.start <= i.at < business.end),
                    key=lambda i: i.at)  # fmt: skip
    # Bug reports are never dropped: the errors before them are told separately.
    return sorted([*inside[:MAX_TICKETS], *bug_issues(business, person, profile)],
                  key=lambda i: i.at)  # fmt: skip


def _billing_issues(
    business: Business, person: SimPerson, profile: Profile, facts: BillingFacts
) -> list[Issue]:
    rng = _rng(business, person, _BILLING)
    found: list[Issue] = []
    for failure in facts.failures:
        if rng.random() < profile.chance(AFTER_FAILURE):
            at = failure.at + min(_delay(rng, 5.0), 2 * DAY)
            found.append(Issue("payment_failed", at, facts=_failure_facts(failure, person, at)))
    if facts.involuntary is not None and rng.random() < profile.chance(AFTER_INVOLUNTARY):
        ended, failure = facts.involuntary
        plan = person.plan_at(ended - MINUTE)
        found.append(Issue("involuntary", ended + _delay(rng, 10.0), facts={
            **_failure_facts(failure, person, ended), "date": _day(ended), "plan": _title(plan),
        }))  # fmt: skip
    for at, amount in facts.refunds:
        if rng.random() < profile.chance(AFTER_REFUND):
            found.append(Issue("refund", at + _uniform(rng, 3 * DAY, 9 * DAY),
                               facts={"amount": _money(amount), "date": _day(at)}))  # fmt: skip
    share = PER_INVOICE * (1.0 if person.personal else 1.6)
    for paid in facts.paid:
        if rng.random() < profile.chance(share):
            at = paid.at + _uniform(rng, 4 * HOUR, 20 * DAY)
            found.append(Issue("invoice", at, facts=_invoice_facts(paid)))
    if facts.trial_end is not None and rng.random() < profile.chance(AFTER_TRIAL):
        ended, plan = facts.trial_end
        found.append(Issue("trial", ended + _delay(rng, 20.0),
                           facts={"date": _day(ended), "plan": _title(plan)}))  # fmt: skip
    found += _billing_questions(rng, person, profile, facts)
    return found


def _failure_facts(failure: Failure, person: SimPerson, at: datetime) -> dict[str, str]:
    return {
        "amount": _money(failure.amount), "date": _day(failure.at), "decline": failure.decline,
        "decline_message": failure.message, "card": failure.card,
        "retry": _day(failure.retry) if failure.retry else "",
        "plan": _title(person.plan_at(failure.at)),
    }  # fmt: skip


def _invoice_facts(paid: Paid) -> dict[str, str]:
    return {
        "invoice": paid.number, "amount": _money(paid.amount), "date": _day(paid.at),
        "month": _day(paid.period[0]), "period_start": _day(paid.period[0]),
        "period_end": _day(paid.period[1]), "plan": paid.plan.split(" ")[0],
        "full_price": _money(paid.subtotal),
    }  # fmt: skip


def _billing_questions(
    rng: np.random.Generator, person: SimPerson, profile: Profile, facts: BillingFacts
) -> list[Issue]:
    """Questions about the bill while paying: coupon, annual billing, a double charge,
    the billing address, the amount of a Team invoice."""
    if not facts.paid:
        return []
    lo = max(profile.lo, facts.paid[0].at)
    paying = max(0.0, (profile.hi - lo) / DAY)
    found = []
    for _ in range(int(rng.poisson(RATES["billing_question"] * paying * profile.propensity))):
        at = _pick_time(rng, person, lo, profile.hi)
        last = [p for p in facts.paid if p.at <= at]
        if not last:
            continue
        paid = last[-1]
        options = ["billing_email"]
        if facts.coupon:
            options.append("billing_coupon")
        if paid.plan.startswith("Team") and not paid.annual:
            options.append("billing_annual")
        if paid.quantity > 1:
            options.append("billing_kitchens")
        if any(f.at <= at for f in facts.failures):
            options.append("billing_double")
        kind = options[int(rng.integers(len(options)))]
        found.append(Issue(kind, at, facts={**_invoice_facts(paid), "coupon": facts.coupon,
                                            "kitchens": str(paid.quantity)}))  # fmt: skip
    return found


def _cancel_reasons(business: Business, person: SimPerson) -> dict[datetime, str]:
    """The reasons the person's ``subscription_cancelled`` events give, by time."""
    if not any(c.kind == "cancel" and business.start <= c.at <= business.end
               for c in person.plans):  # fmt: skip
        return {}
    return {
        e.timestamp: str(e.properties.get("reason", ""))
        for e in person_events(business, person)
        if e.event == "subscription_cancelled"
    }


def _plan_issues(
    business: Business, person: SimPerson, profile: Profile, facts: BillingFacts
) -> list[Issue]:
    rng = _rng(business, person, _PLANS)
    reasons = _cancel_reasons(business, person)
    found: list[Issue] = []
    involuntary = facts.involuntary
    for before, change in zip(person.plans, person.plans[1:], strict=False):
        u = float(rng.random())
        if not business.start <= change.at <= business.end:
            continue
        if change.plan == "free":
            if involuntary is not None and abs(involuntary[0] - change.at) < DAY:
                continue
            if u < profile.chance(BEFORE_CANCEL):
                reason = reasons.get(change.at) or catalog.CANCEL_REASONS[int(rng.integers(5))]
                at = change.at - max(2 * HOUR, _delay(rng, 20.0))
                found.append(Issue("cancel_request", at, facts={
                    "plan": _title(before.plan), "date": _day(change.at), "reason": reason,
                    "cancelled_at": change.at.isoformat(),
                }))  # fmt: skip
        elif change.kind == "downgrade" and u < profile.chance(BEFORE_DOWNGRADE):
            at = change.at - _uniform(rng, HOUR, 4 * DAY)
            found.append(Issue("downgrade", at, facts={"plan": _title(before.plan)}))
        elif change.kind == "upgrade" and u < profile.chance(BEFORE_UPGRADE):
            at = change.at - _uniform(rng, 2 * HOUR, 6 * DAY)
            found.append(_plan_question(rng, person, at, change.plan, before.plan))
    churned = person.churn_at
    closing = float(rng.random())
    if (
        churned is not None
        and business.start <= churned < business.end
        and person.plan_at(churned) == "free"
        and closing < profile.chance(CLOSE_ACCOUNT)
    ):
        found.append(Issue("close_account", churned + _uniform(rng, 12 * HOUR, 20 * DAY)))
    for _ in range(int(rng.poisson(RATES["plan_question"] * profile.days * profile.propensity))):
        at = _pick_time(rng, person, profile.lo, profile.hi)
        plan = person.plan_at(at)
        if plan != "team":
            target = "team" if plan == "pro" or rng.random() < 0.3 else "pro"
            found.append(_plan_question(rng, person, at, target, plan))
    return found


def _plan_question(
    rng: np.random.Generator, person: SimPerson, at: datetime, target: str, plan: str
) -> Issue:
    """A question before moving from ``plan`` to ``target``, about a feature only the
    target includes (or one both include)."""
    to, now = catalog.PLANS.index(target), catalog.PLANS.index(plan)
    new = [f for f in catalog.FEATURES if f.adoption[to] > 0 and f.adoption[now] == 0]
    options = new or [f for f in catalog.FEATURES if f.adoption[to] > 0]
    feature = options[int(rng.integers(len(options)))]
    with_it = [_title(p) for k, p in enumerate(catalog.PLANS) if feature.adoption[k] > 0]
    plans_with = ("every plan, Free included" if len(with_it) == 3
                  else "Team only" if with_it == ["Team"] else " and ".join(with_it))  # fmt: skip
    return Issue("plan_question", at, feature.name, facts={
        "target": _title(target), "plan": _title(plan), "plans_with": plans_with,
    })  # fmt: skip


def _usage_issues(business: Business, person: SimPerson, profile: Profile) -> list[Issue]:
    """How-to questions and feature requests about the features the person uses most."""
    rng = _rng(business, person, _USAGE)
    found: list[Issue] = []
    for kind, power, topics in (("how_to", 1.0, HOW_TO), ("feature_request", 2.0, REQUESTS)):
        rate = RATES[kind] * profile.days * profile.propensity * _activity(person)
        for _ in range(int(rng.poisson(rate))):
            at = _pick_time(rng, person, profile.lo, profile.hi)
            feature = _feature_at(rng, person, at, power)
            if feature is not None:
                found.append(Issue(kind, at, feature, int(rng.integers(len(topics[feature])))))
    return found


def bug_issues(business: Business, person: SimPerson, profile: Profile) -> list[Issue]:
    """The person's bug reports: features they use breaking for them, and the incident."""
    rng = _rng(business, person, _BUGS)
    found: list[Issue] = []
    rate = RATES["bug"] * profile.days * profile.propensity * _activity(person)
    for _ in range(int(rng.poisson(rate))):
        at = _pick_time(rng, person, profile.lo, profile.hi)
        feature = _feature_at(rng, person, at)
        if feature is not None:
            found.append(Issue("bug", at, feature, int(rng.integers(len(BUGS[feature])))))
    spike = spike_of(business)
    if spike is not None and person.index in spike.people:
        spread = _rng(business, person, _SPIKE).exponential(18.0)
        at = min(spike.release + timedelta(hours=1 + float(spread)), spike.fix + 10 * HOUR)
        found.append(Issue("spike", at, SPIKE_FEATURE, spike=True))
    return [i for i in found if business.start <= i.at < business.end]


def _account_issues(business: Business, person: SimPerson, profile: Profile) -> list[Issue]:
    """Forgotten passwords (more among people who rarely log in), other sign-in trouble
    and the odd question about anything else."""
    rng = _rng(business, person, _ACCOUNT)
    scale = profile.days * profile.propensity
    forgetful = 1.5 if person.activity < 2.0 else 1.0
    found = [Issue("password", _pick_time(rng, person, profile.lo, profile.hi))
             for _ in range(int(rng.poisson(RATES["password"] * scale * forgetful)))]  # fmt: skip
    for _ in range(int(rng.poisson(RATES["access"] * scale))):
        at = _pick_time(rng, person, profile.lo, profile.hi)
        options = ["access_2fa", "access_email", "access_locked", "access_google"]
        if person.plan_at(at) == "team":
            options.append("access_invite")
        found.append(Issue(options[int(rng.integers(len(options)))], at))
    other = _rng(business, person, _OTHER)
    for _ in range(int(other.poisson(RATES["other"] * scale))):
        at = _pick_time(other, person, profile.lo, profile.hi)
        options = ["other_thanks", "other_partner"] if person.personal else [
            "other_dpa", "other_edu", "other_thanks"]  # fmt: skip
        kind = options[int(other.integers(len(options)))]
        found.append(Issue(kind, at, _feature_at(other, person, at) or "recipe_editor"))
    return found


# --- words --------------------------------------------------------------------------------

_TYPOS = {
    "the": "teh", "receive": "recieve", "please": "pls", "thanks": "thx", "because": "becuase",
    "don't": "dont", "can't": "cant", "invoice": "invocie", "password": "pasword",
    "account": "acount", "subscription": "subscripton", "separate": "seperate",
    "definitely": "definately", "recipe": "recipie", "recipes": "recipies",
}  # fmt: skip
_WORD = re.compile(r"[A-Za-z']{5,}")
_SIZES = {"1": (1, 1), "2-10": (3, 9), "11-50": (12, 40), "51-200": (55, 150),
          "201-1000": (210, 600)}  # fmt: skip


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _date_text(rng: np.random.Generator, iso: str, lang: str) -> str:
    """A date as a customer writes it: in one of several forms, in their language."""
    if not iso:
        return ""
    day = datetime.fromisoformat(iso)
    if lang != "en":
        return day.strftime(LANGUAGES[lang].date_format)
    return day.strftime(_pick(rng, ("%-d %B", "%B %-d", "%-d %b %Y", "%d/%m/%Y", "%-d %B %Y")))


def _month_text(iso: str, lang: str) -> str:
    day = datetime.fromisoformat(iso)
    return day.strftime("%B") if lang == "en" else LANGUAGES[lang].months[day.month - 1]


def _agent_date(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%-d %B %Y") if iso else ""


@dataclass(frozen=True)
class Words:
    """The slots of one ticket: as the customer writes them, and as the agent does."""

    customer: dict[str, str]
    agent: dict[str, str]


def _slots(rng: np.random.Generator, person: SimPerson, issue: Issue, lang: str) -> Words:
    facts = dict(issue.facts)
    first = person.name.split(" ")[0]
    place = PLACES[person.segment]
    low, high = _SIZES.get(person.company_size, (3, 9))
    plan = facts.pop("plan", "") or _title(person.plan_at(issue.at))
    feature = issue.feature or "recipe_editor"
    texts = FEATURE_TEXT[feature]
    error_type, error_message = SPIKE_ERROR if issue.spike else BUG_ERRORS[feature]
    shared = {
        "first": first, "name": person.name, "email": person.email,
        "company_or": person.company or f"my {place}", "place": place,
        "size": str(int(rng.integers(low, high + 1))), "plan": plan,
        "price": f"${catalog.PRICES.get(plan.lower(), 19)}", "browser": person.browser,
        "os": person.os, "device": person.device.lower(), "count": str(int(rng.integers(12, 480))),
        "dish": _pick(rng, DISHES), "when": _pick(rng, WHEN),
        "domain": person.email.split("@")[1], "weekday": "Tuesday" if issue.spike
        else (issue.at - DAY).strftime("%A"),
        "signup_month": person.signup_at.strftime("%B %Y"), "feature_text": _pick(rng, texts),
        "feature_ui": FEATURE_UI[feature], "feature_title": texts[0][0].upper() + texts[0][1:],
        "error": f"{error_type}: {error_message}",
        "error_code": f"E-{int(rng.integers(1000, 9999))}",
        "ticket_ref": str(int(rng.integers(1200, 4800))),
        "invoice": "", "amount": "", "target": "", "plans_with": "", "kitchens": "",
        "coupon": "", "full_price": "", "card": "", "decline_message": "",
    }  # fmt: skip
    shared |= {k: v for k, v in facts.items() if k not in ("date", "retry", "month")}
    customer, agent = dict(shared), dict(shared)
    for key in ("date", "retry"):
        customer[key] = _date_text(rng, facts.get(key, ""), lang)
        agent[key] = _agent_date(facts.get(key, ""))
    agent["retry"] = f"on {agent['retry']}" if agent["retry"] else "over the next few days"
    month = facts.get("month") or facts.get("period_start") or facts.get("date", "")
    customer["month"] = _month_text(month, lang) if month else ""
    agent["month"] = _month_text(month, "en") if month else ""
    if "period_start" in facts:
        agent["period"] = (f"{_agent_date(facts['period_start'])} to "
                           f"{_agent_date(facts['period_end'])}")  # fmt: skip
    if "decline" in facts:
        lines, advice = DECLINE_LINES[facts["decline"]]
        customer["decline_line"] = _pick(rng, lines)
        agent["decline_reason"] = facts["decline"].replace("_", " ")
        agent["decline_advice"] = advice
    if "reason" in facts:
        said, short, answer = REASONS[facts["reason"]]
        foreign = LANGUAGES[lang].reasons[facts["reason"]] if lang != "en" else ""
        customer["reason_line"] = foreign or _pick(rng, said).format_map(shared)
        customer["reason_short"] = short
        agent["reason_answer"] = answer
    if facts.get("kitchens"):
        count = int(facts["kitchens"])
        agent["kitchens"] = customer["kitchens"] = (
            "one kitchen" if count == 1 else f"{count} kitchens"
        )
        agent["annual_price"] = _money(79_000 * count)
        agent["yearly_monthly"] = _money(7_900 * 12 * count)
    if facts.get("coupon"):
        agent["coupon_term"] = ("It stays on for as long as you keep the subscription."
                                if facts["coupon"] == "LAUNCH25"
                                else "It applies to your first three months.")  # fmt: skip
    return Words(customer, agent)


def _fill(text: str, slots: Mapping[str, str]) -> str:
    return text.format_map(slots)


def _asks(kind: Kind, issue: Issue, lang: str) -> tuple[str, ...]:
    if lang != "en":
        return LANGUAGES[lang].kinds[issue.kind][1]
    if issue.kind == "how_to":
        return HOW_TO[issue.feature][issue.topic].asks
    if issue.kind == "feature_request":
        return REQUESTS[issue.feature][issue.topic].asks
    if issue.kind == "bug":
        return BUGS[issue.feature][issue.topic].asks
    return kind.asks


def _language(profile: Profile, issue: Issue) -> str:
    if profile.lang == "en" or issue.kind not in LANGUAGES[profile.lang].kinds:
        return "en"
    return profile.lang


def _templates(options: Sequence[str], slots: Mapping[str, str]) -> list[str]:
    """The options that make sense for this person (no company: none that names it)."""
    if slots["company_or"].startswith("my "):
        return [o for o in options if "{company_or}" not in o] or list(options)
    return list(options)


def customer_message(
    rng: np.random.Generator, kind: Kind, issue: Issue, words: Words, lang: str, company: str
) -> str:
    """The customer's first message, put together from independent parts."""
    slots = words.customer
    foreign = LANGUAGES.get(lang)
    style = int(rng.choice(3, p=[0.25, 0.5, 0.25]))  # terse, normal, long
    ask = _fill(_pick(rng, _asks(kind, issue, lang)), slots)
    greetings = foreign.greetings if foreign else GREETINGS
    signoffs = foreign.signoffs if foreign else SIGNOFFS
    moods = (foreign.moods if foreign else MOODS)[kind.mood]
    details = [d for d in kind.details if foreign is None]
    sentences = []
    if style == 2 and foreign is None:
        sentences.append(_fill(_pick(rng, _templates(INTROS, slots)), slots))
    sentences.append(ask)
    if details and (style == 2 or (style == 1 and rng.random() < 0.45)):
        picked = rng.choice(len(details), size=min(len(details), 1 + (style == 2)), replace=False)
        sentences += [_fill(details[int(i)], slots) for i in picked]
    if rng.random() < (0.55 if style == 2 else 0.3):
        sentences.append(_pick(rng, moods))
    split = style == 2 and len(sentences) > 2 and rng.random() < 0.5
    body = "\n\n".join(sentences) if split else " ".join(sentences)
    greet = _pick(rng, greetings) if style > 0 or rng.random() < 0.3 else ""
    signs = _templates(signoffs, slots)
    sign = _fill(_pick(rng, signs), slots) if style > 0 or rng.random() < 0.4 else ""
    text = "\n\n".join(part for part in (greet, body) if part)
    if foreign is None:
        text = _register(rng, text, casual=style == 0)
    # Every message names its writer somewhere (their full name, address or company), as
    # real ones mostly do: no two people's tickets read exactly alike.
    known = [t.lower() for t in (slots["name"], slots["email"], company) if t]
    if not any(token in (text + sign).lower() for token in known):
        named = [o for o in signs if "{name}" in o]
        if not sign and foreign is None:
            named = _templates(MARKERS, slots)
        sign = _fill(_pick(rng, named), slots)
    return f"{text}\n\n{sign}" if sign else text
    return text


def _register(rng: np.random.Generator, text: str, *, casual: bool) -> str:
    """Lower case, missing punctuation and typos, as people type in a hurry."""
    u = rng.random(3)
    if u[0] < (0.35 if casual else 0.08):
        text = text.lower()
    if u[1] < (0.3 if casual else 0.05):
        text = re.sub(r"[.!]+(?=\s|$)", "", text)
    if u[2] < 0.2:
        addresses = [m.span() for m in re.finditer(r"\S+@\S+", text)]
        words = [m for m in _WORD.finditer(text)
                 if not any(a <= m.start() < b for a, b in addresses)]  # fmt: skip
        chosen = rng.choice(len(words), size=min(2, len(words)), replace=False)
        for index in sorted(chosen.tolist(), reverse=True):
            found = words[index]
            word = found.group()
            typo = _TYPOS.get(word.lower()) or word[:2] + word[3] + word[2] + word[4:]
            text = text[: found.start()] + typo + text[found.end() :]
    return text


def subject_line(
    rng: np.random.Generator, kind: Kind, issue: Issue, words: Words, lang: str, body: str
) -> str:
    u = float(rng.random())
    if lang != "en":
        subject = _fill(_pick(rng, LANGUAGES[lang].kinds[issue.kind][0]), words.customer)
    elif u < 0.12 and not issue.spike:
        subject = _pick(rng, GENERIC_SUBJECTS)
    elif u < 0.27:
        line = next(s for s in body.split("\n") if s and not s.endswith(","))
        subject = re.split(r"(?<=[.?!])\s", line)[0][:140]
    else:
        subject = _fill(_pick(rng, kind.subjects), words.customer)
    return subject.lower() if rng.random() < 0.1 else subject


def agent_message(
    rng: np.random.Generator, body: str, words: Words, mood: str, lang: str, *, first: bool,
    final: bool = True,
) -> str:  # fmt: skip
    """An agent's reply around ``body``: greeting, maybe sympathy, closing (for an answer,
    not a question), signature."""
    slots = words.agent
    parts = [_fill(_pick(rng, AGENT_GREETINGS), slots)]
    if first and lang in FOREIGN_PREFIX:
        parts.append(_pick(rng, FOREIGN_PREFIX[lang]))
    lead = _pick(rng, EMPATHY[mood]) + " " if first and rng.random() < 0.4 else ""
    parts.append(lead + _fill(body, slots))
    closing = _pick(rng, AGENT_CLOSINGS)
    if closing and final:
        parts.append(closing)
    parts.append(_fill(_pick(rng, AGENT_SIGNATURES), slots))
    return "\n\n".join(parts)


def _answers(kind: Kind, issue: Issue) -> tuple[str, ...]:
    if issue.kind == "how_to":
        return HOW_TO[issue.feature][issue.topic].answers
    if issue.kind == "feature_request":
        return REQUESTS[issue.feature][issue.topic].answers
    if issue.kind == "bug":
        return BUGS[issue.feature][issue.topic].answers
    if issue.kind == "spike":
        return SPIKE_ANSWERS
    return kind.answers


# --- the conversation ---------------------------------------------------------------------

RESPONSE_MINUTES = {"billing": 90.0, "general": 150.0, "technical": 180.0}  # working, median
TAGS: dict[str, tuple[str, ...]] = {
    "payment_failed": ("payment_failed",), "involuntary": ("payment_failed", "churned"),
    "invoice": ("invoice",), "refund": ("refund",), "cancel_request": ("cancellation",),
    "close_account": ("account_deletion",), "spike": ("menu_export", "incident"),
    "password": ("password",), "trial": ("trial",),
}  # fmt: skip


def _agent(rng: np.random.Generator, queue: str) -> Agent:
    team = [agent for agent in AGENTS if agent.queue == queue]
    return team[int(rng.integers(len(team)))]


def _working(moment: datetime) -> bool:
    """The team answers 07:00 to 19:00 UTC on weekdays, 09:00 to 13:00 at weekends."""
    return 7 <= moment.hour < 19 if moment.weekday() < 5 else 9 <= moment.hour < 13


def work_after(moment: datetime, minutes: float) -> datetime:
    """``minutes`` of the team's working time after ``moment``."""
    left = minutes
    while left > 0:
        if _working(moment):
            closing = moment.replace(hour=19 if moment.weekday() < 5 else 13, minute=0,
                                     second=0, microsecond=0)  # fmt: skip
            step = min(left, (closing - moment) / MINUTE)
            moment += step * MINUTE
            left -= step
        else:
            moment = (moment + HOUR).replace(minute=0, second=0, microsecond=0)
    return moment


def _response(rng: np.random.Generator, queue: str, priority: str, scale: float = 1.0) -> float:
    """Working minutes until an agent answers: minutes to a day, faster when urgent."""
    median = RESPONSE_MINUTES[queue] * scale * (0.4 if priority in ("high", "urgent") else 1.0)
    return float(np.clip(rng.lognormal(math.log(median), 1.0), 2.0, 1440.0))


def _customer_delay(rng: np.random.Generator) -> timedelta:
    return timedelta(hours=float(np.clip(rng.lognormal(math.log(3.0), 1.2), 0.07, 96.0)))


@dataclass
class _Thread:
    """A ticket's messages after the first, as they happen."""

    customer: str
    agent: Agent
    prefix: str  # of the messages' external ids
    messages: list[NewMessage] = field(default_factory=list)

    def says(self, body: str, at: datetime) -> None:
        self.messages.append(NewMessage(body, "customer", self.customer, at))

    def answers(self, body: str, at: datetime, *, public: bool = True) -> None:
        self.messages.append(NewMessage(body, "agent", self.agent.email, at, public))


@dataclass(frozen=True)
class _Outcome:
    answered: datetime | None  # the resolution's time (None: the customer never replied)
    solved: datetime
    waiting: datetime | None  # from then on the ticket waits on engineering


def _converse(
    rng: np.random.Generator, business: Business, issue: Issue, kind: Kind, words: Words,
    lang: str, thread: _Thread, priority: str,
) -> _Outcome:  # fmt: skip
    """The agent's answers and the customer's replies, up to the solve."""
    first = work_after(issue.at, _response(rng, kind.queue, priority))
    answers = _answers(kind, issue)
    cancelled = issue.facts.get("cancelled_at")
    if cancelled and datetime.fromisoformat(cancelled) < first:
        answers = CANCELLED_ANSWERS
    resolution = _pick(rng, answers)
    mood, waiting = kind.mood, None
    done = first
    spike = spike_of(business) if issue.spike else None
    if spike is not None and first < spike.fix:
        thread.answers(agent_message(rng, _pick(rng, kind.answers), words, mood, lang,
                                     first=True, final=False), first)  # fmt: skip
        waiting = first
        done = work_after(max(first, spike.fix), float(rng.lognormal(math.log(40), 0.8)))
    elif kind.clarify and rng.random() < kind.clarify_share:
        thread.answers(agent_message(rng, _pick(rng, kind.clarify), words, mood, lang,
                                     first=True, final=False), first)  # fmt: skip
        if rng.random() >= 0.88:
            return _Outcome(None, first + NO_REPLY_SOLVE, None)
        replied = first + _customer_delay(rng)
        thread.says(_fill(_pick(rng, kind.follow), words.customer), replied)
        done = work_after(replied, _response(rng, kind.queue, priority, 0.6))
        if kind.label == "bug" and rng.random() < 0.45:
            done = _escalate(rng, thread, words, done)
            waiting = replied
    elif kind.label == "bug" and rng.random() < 0.3:
        thread.answers(agent_message(rng, _pick(rng, ESCALATION_ACKS), words, mood, lang,
                                     first=True, final=False), first)  # fmt: skip
        done = _escalate(rng, thread, words, first)
        waiting = first
    thread.answers(agent_message(rng, resolution, words, mood, lang, first=done == first),
                   done)  # fmt: skip
    solved = done
    if rng.random() < THANKS_SHARE:
        thanked = done + _customer_delay(rng)
        foreign = LANGUAGES.get(lang)
        thread.says(_fill(_pick(rng, foreign.thanks if foreign else THANKS), words.customer),
                    thanked)  # fmt: skip
        solved = work_after(thanked, float(rng.uniform(5, 60)))
    elif rng.random() < PENDING_SHARE:  # left pending for the customer to confirm
        solved = done + PENDING_SOLVE
    return _Outcome(done, solved, waiting)


def _escalate(rng: np.random.Generator, thread: _Thread, words: Words, at: datetime) -> datetime:
    """An internal note for engineering; the fix comes hours to days of work later."""
    thread.answers(_fill(_pick(rng, ESCALATION_NOTES), words.agent), at + 2 * MINUTE,
                   public=False)  # fmt: skip
    return work_after(at + 3 * MINUTE, float(rng.uniform(240, 2400)))


def _rating(rng: np.random.Generator, slow: bool, reopened: bool, leaving: bool) -> int:
    weights = [0.02, 0.03, 0.08, 0.3, 0.57]
    if slow:
        weights = [0.06, 0.1, 0.2, 0.34, 0.3]
    if reopened:
        weights = [0.15, 0.2, 0.25, 0.25, 0.15]
    rating = 1 + int(rng.choice(5, p=weights))
    return max(1, rating - 1) if leaving and rng.random() < 0.3 else rating


def _requester(rng: np.random.Generator, person: SimPerson) -> tuple[str, str, str]:
    """(channel, e-mail, user id): the web widget and chat know the user; a few e-mails
    come from an address nobody registered."""
    u = float(rng.random())
    if u < UNLINKED_SHARE:
        local = re.sub(r"[^a-z]+", ".", person.name.lower()).strip(".")
        return "email", f"{local}.{int(rng.integers(10, 99))}@webmail.example", ""
    if u < 0.55:
        return "email", person.email, ""
    return ("web" if u < 0.85 else "chat"), person.email, person.distinct_id


def _story(
    rng: np.random.Generator, business: Business, person: SimPerson, profile: Profile,
    issue: Issue, number: int,
) -> TicketStory:  # fmt: skip
    kind = KINDS[issue.kind]
    lang = _language(profile, issue)
    words = _slots(rng, person, issue, lang)
    agent = _agent(rng, kind.queue)
    for slots in (words.customer, words.agent):
        slots |= {"agent_first": agent.first, "agent_name": agent.name}
    body = customer_message(rng, kind, issue, words, lang, person.company)
    subject = subject_line(rng, kind, issue, words, lang, body)
    channel, email, user_id = _requester(rng, person)
    priority = "urgent" if issue.spike and rng.random() < 0.3 else kind.priority
    external_id = f"{person.distinct_id}-{number}"
    thread = _Thread(email, agent, external_id)
    outcome = _converse(rng, business, issue, kind, words, lang, thread, priority)
    end = business.end
    kept = tuple(
        replace(m, external_id=f"{external_id}-{k}")
        for k, m in enumerate(thread.messages, start=1)
        if m.at and m.at <= end
    )
    replies = [m.at for m in kept if m.author_kind == "agent" and m.public and m.at]
    solved = outcome.solved if outcome.solved <= end else None
    status = "solved" if solved else ""
    if not solved and outcome.waiting is not None and outcome.waiting <= end:
        status = "open"  # waiting on engineering
    later, again, closed, reopened = _reopen(rng, kind, words, thread, solved, end)
    rating, comment = None, ""
    if solved is not None and rng.random() < CSAT_SHARE:
        slow = solved - issue.at > 2 * DAY or (
            replies[0] - issue.at > 8 * HOUR if replies else True
        )
        rating = _rating(rng, slow, reopened, kind.label.startswith("cancel"))
        if rng.random() < 0.4:
            comment = _fill(_pick(rng, CSAT_COMMENTS["good" if rating >= 4 else "bad"]),
                            words.agent)  # fmt: skip
    label = kind.label if replies else ""
    intent = label if label in ROUTINE_INTENTS else ""
    ticket = NewTicket(
        subject=subject, body=body, requester_email=email, requester_name=person.name,
        requester_user_id=user_id, channel=channel, source=SOURCE,
        external_id=external_id, created_at=issue.at, status=status,
        priority=priority if label else "", category=category_of(label) if label else "",
        feature=issue.feature if label and kind.label in FEATURE_KINDS else "",
        assignee=agent.email if label else "", queue=kind.queue if label else "",
        tags=(*TAGS.get(issue.kind, ()), *([issue.feature] if issue.kind in ("bug", "how_to",
              "feature_request") else ())) if label else (),
        csat_rating=rating, csat_comment=comment, messages=kept, solved_at=solved,
    )  # fmt: skip
    return TicketStory(ticket, agent.email, intent, replies[0] if intent else None, later,
                       again, closed)  # fmt: skip


FEATURE_KINDS = ("bug", "how_to", "feature_request")


def _reopen(
    rng: np.random.Generator, kind: Kind, words: Words, thread: _Thread,
    solved: datetime | None, end: datetime,
) -> tuple[tuple[NewMessage, ...], datetime | None, datetime | None, bool]:  # fmt: skip
    """A few solved tickets come back before they close: (the later messages, solved
    again, closed, reopened)."""
    if solved is None:
        return (), None, None, False
    if solved + 3 * DAY < end and rng.random() < REOPEN_SHARE:
        back = solved + _uniform(rng, 3 * HOUR, 3 * DAY)
        answered = work_after(back, _response(rng, kind.queue, "high"))
        answer = _pick(rng, REOPEN_ANSWERS.get(category_of(kind.label), REOPEN_DEFAULT))
        later = (
            NewMessage(_pick(rng, REOPEN_ASKS), "customer", thread.customer, back),
            NewMessage(agent_message(rng, answer, words, "upset", "en", first=False), "agent",
                       thread.agent.email, answered),
        )  # fmt: skip
        kept = tuple(replace(m, external_id=f"{thread.prefix}-re{k}")
                     for k, m in enumerate(later, start=1) if m.at and m.at <= end)  # fmt: skip
        again = answered if answered <= end else None
        closed = again + CLOSE_AFTER if again and again + CLOSE_AFTER <= end else None
        return kept, again, closed, True
    closed = solved + CLOSE_AFTER if solved + CLOSE_AFTER <= end else None
    return (), None, closed, False


def person_tickets(business: Business, person: SimPerson) -> list[TicketStory]:
    """The person's tickets over the period, in the order they were opened."""
    profile = profile_of(business, person)
    issues = person_issues(business, person, profile)
    rng = _rng(business, person, _STORY)
    return [_story(rng, business, person, profile, issue, number)
            for number, issue in enumerate(issues, start=1)]  # fmt: skip


# --- errors before bug reports ------------------------------------------------------------

_PATHS = {feature.name: feature.pathname for feature in catalog.FEATURES}


def person_errors(business: Business, person: SimPerson) -> list[CaptureEvent]:
    """The ``$exception`` events (PostHog's shape) the person hits in the days before
    each bug report: one to a handful, the last minutes before they write."""
    bugs = bug_issues(business, person, profile_of(business, person))
    if not bugs:
        return []
    rng = np.random.default_rng([business.seed, ERROR_STREAM, person.index])
    device = device_properties(person.browser, person.os, person.device, person.country)
    spike = spike_of(business)
    events: list[CaptureEvent] = []
    for issue in bugs:
        kind, message = SPIKE_ERROR if issue.spike else BUG_ERRORS[issue.feature]
        path = _PATHS[issue.feature]
        last = issue.at - _uniform(rng, 2 * MINUTE, HOUR)
        earliest = max(issue.at - 3 * DAY, spike.release if issue.spike and spike else
                       business.start, business.start)  # fmt: skip
        count = 1 + int(rng.poisson(2.0))
        times = [last] + [earliest + (last - earliest) * float(u) for u in rng.random(count - 1)]
        ids = uuid4_texts(rng.bytes(32 * count))
        for k, at in enumerate(sorted(times)):
            if not business.start <= at <= business.end:
                continue
            props: dict[str, Any] = {
                **device, "$current_url": catalog.APP_URL + path, "$pathname": path,
                "plan": person.plan_at(at), "$exception_type": kind,
                "$exception_message": message, "$exception_level": "error",
                "$exception_list": [{"type": kind, "value": message,
                                     "mechanism": {"type": "onerror", "handled": False}}],
            }  # fmt: skip
            events.append(CaptureEvent(event="$exception", distinct_id=person.distinct_id,
                                       timestamp=at, properties=props, uuid=ids[2 * k],
                                       session_id=ids[2 * k + 1]))  # fmt: skip
    return sorted(events, key=lambda e: e.timestamp)

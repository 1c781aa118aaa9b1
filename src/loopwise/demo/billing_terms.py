"""A person's billing terms: what the billing story draws once per person on top of the
population's plan history (the paid span, annual Team billing, kitchens, coupon, trial,
whether a cancellation is involuntary), from the billing generator's own random stream.

Kept apart from the story itself (``billing.py``) so tests can compute what the revenue
area must show from the ``Business`` and these terms alone.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from loopwise.demo.draws import Floats
from loopwise.demo.population import Business, PlanChange, SimPerson
from loopwise.demo.stripe_objects import PRICES, Coupon, Price, token

STREAM = 2  # this generator's random stream: default_rng([seed, STREAM, person index])
TRIAL = timedelta(days=14)
TRIAL_SHARE = 0.4  # upgrades from free that begin with a trial of the paid plan
TRIAL_ONLY_SHARE = 0.08  # business people on free who start a trial and let it lapse
ANNUAL_SHARE = 0.3  # Team subscribers (who stay on Team) paying yearly
LAUNCH_SHARE = 0.6  # Product Hunt sign-ups who redeem the launch coupon
WELCOME_SHARE = 0.05  # other monthly subscribers with the three-month welcome coupon
INVOLUNTARY_SHARE = 0.5  # cancellations after a renewal that end failed payment retries

LAUNCH = Coupon("LAUNCH25", "Product Hunt launch: 25% off", 25, "forever")
WELCOME = Coupon("WELCOME50", "Welcome: 50% off for 3 months", 50, "repeating", 3)


@dataclass(frozen=True)
class PaidRun:
    """The span in which a person pays: from their first paid plan until the plan falls
    back to free (``end``; None when they still pay at the end of the simulation)."""

    changes: tuple[PlanChange, ...]  # the paid plans in order; the first starts the run
    end: datetime | None
    ended_by: str  # cancel, downgrade or ""

    @property
    def start(self) -> datetime:
        return self.changes[0].at

    def plan_at(self, moment: datetime) -> str:
        plan = self.changes[0].plan
        for change in self.changes:
            if change.at > moment:
                break
            plan = change.plan
        return plan


def paid_run(person: SimPerson) -> PaidRun | None:
    """The person's paid span, or None if they never pay (plans only go free → paid →
    free, so there is at most one)."""
    first = next((i for i, c in enumerate(person.plans) if c.plan != "free"), None)
    if first is None:
        return None
    changes: list[PlanChange] = []
    for change in person.plans[first:]:
        if change.plan == "free":
            return PaidRun(tuple(changes), change.at, change.kind)
        changes.append(change)
    return PaidRun(tuple(changes), None, "")


@dataclass(frozen=True)
class Terms:
    """How a person is billed, drawn once from their stream."""

    customer_id: str
    run: PaidRun | None  # None: a trial that lapsed, never paid
    annual: bool  # Team billed yearly at ten months' price
    kitchens: int  # Team is billed per kitchen (quantity)
    coupon: Coupon | None
    trial_start: datetime | None  # a 14-day trial before the first paid day
    trial_plan: str
    involuntary: bool  # a cancellation, if it comes, follows failed retries (when it can)

    def quantity(self, plan: str) -> int:
        return self.kitchens if plan == "team" else 1

    def price(self, plan: str) -> Price:
        return PRICES[(plan, "year" if self.annual else "month")]


def terms(business: Business, person: SimPerson) -> Terms | None:
    """The person's billing terms, or None for people who never see the billing system."""
    return draw_terms(stream(business, person), business, person)


def stream(business: Business, person: SimPerson) -> np.random.Generator:
    """The person's billing stream: their terms are its first draws, their story the rest."""
    return np.random.default_rng([business.seed, STREAM, person.index])


def draw_terms(rng: np.random.Generator, business: Business, person: SimPerson) -> Terms | None:
    """The terms, drawn first from the person's billing stream."""
    u = rng.random(8)
    customer_id = token(rng, "cus_", 14)
    run = paid_run(person)
    if run is None:
        lapsed = _lapsed_trial(business, person, u)
        if lapsed is None:
            return None
        big = person.company_size not in ("1", "2-10")
        plan = "team" if big or u[5] < 0.25 else "pro"
        return Terms(customer_id, None, False, 1, None, lapsed, plan, False)
    annual = all(c.plan == "team" for c in run.changes) and u[0] < ANNUAL_SHARE
    # A trial lasts 14 days, or less when the person subscribes before it runs out.
    trial_start = max(run.start - TRIAL, person.signup_at + timedelta(hours=1))
    tried = (
        run.changes[0].kind == "upgrade"
        and u[2] < TRIAL_SHARE
        and run.start - trial_start >= timedelta(days=1)
    )
    coupon = None
    if person.channel.name == "producthunt_referral" and u[6] < LAUNCH_SHARE:
        coupon = LAUNCH
    elif u[6] < WELCOME_SHARE and not annual:
        coupon = WELCOME
    return Terms(
        customer_id, run, annual, _kitchens(person.company_size, u[1]), coupon,
        trial_start if tried else None, run.changes[0].plan, u[7] < INVOLUNTARY_SHARE,
    )  # fmt: skip


def _lapsed_trial(business: Business, person: SimPerson, u: Floats) -> datetime | None:
    if person.personal or u[3] >= TRIAL_ONLY_SHARE:
        return None
    start = person.signup_at + timedelta(days=0.5 + 6 * float(u[4]))
    gone = min(person.churn_at or business.end, business.end)
    return start if start < gone else None


def _kitchens(size: str, u: float) -> int:
    """Kitchens a Team customer pays for: one, except in larger operations."""
    if size == "11-50":
        return 2 if u < 0.25 else 1
    if size == "51-200":
        return 2 if u < 0.6 else 3
    if size == "201-1000":
        return 3 + int(u * 4)
    return 1


def add_months(moment: datetime, months: int) -> datetime:
    """Stripe's billing cycle: the same day of the month, or the month's last day."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)

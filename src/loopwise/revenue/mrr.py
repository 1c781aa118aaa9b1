"""The MRR engine: subscription states in, each customer's MRR over time and the
movements between them out (definitions in docs/metrics/revenue.md).

A subscription is a series of **states**, each valid from a moment until the next one
(what a billing system's events or an import's history say it was). A state's MRR is the
sum of its items normalised to a month, less discounts, under the project's
``Conventions``. A customer's MRR is the sum over their subscriptions; it changes only
when a state does, so the engine works on those change points, never on a day-by-day grid.

A customer's MRR is compared from one day to the next (the last value of each day, in the
project's time zone): a rise from 0 is **new** (first time) or **reactivation**, a rise is
**expansion**, a fall to a positive amount **contraction**, a fall to 0 **churn**. Several
changes on one day net out (an upgrade of one subscription and the cancellation of another
is one movement), which is how ChartMogul and Baremetrics count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal
from zoneinfo import ZoneInfo

CENT = Decimal("0.01")
PER_MONTH = {"day": Decimal(365) / 12, "week": Decimal(52) / 12, "month": Decimal(1),
             "year": Decimal(1) / 12}  # fmt: skip
Movement = Literal["new", "expansion", "contraction", "churn", "reactivation", "fx"]


@dataclass(frozen=True)
class Conventions:
    """How revenue is recognised; the defaults follow ChartMogul (see the metric docs)."""

    # all: every discount reduces MRR while it applies; forever: only forever coupons.
    discounts: Literal["all", "forever"] = "all"
    # end: a cancelled subscription counts until it ends; request: churn when cancelled.
    churn_at: Literal["end", "request"] = "end"
    # None: past-due subscriptions keep their MRR until cancelled; N: churn after N days.
    past_due_days: int | None = None


@dataclass(frozen=True)
class Item:
    """A priced line of a subscription: ``unit_amount`` per ``interval_count`` intervals."""

    unit_amount: int  # minor units (cents)
    interval: Literal["day", "week", "month", "year"]
    interval_count: int = 1
    quantity: int = 1
    metered: bool = False  # usage-based: not in MRR


@dataclass(frozen=True)
class Discount:
    percent_off: Decimal | None = None
    amount_off: int | None = None  # minor units per invoice
    duration: Literal["forever", "once", "repeating"] = "forever"
    ends_at: datetime | None = None  # for "repeating"


@dataclass(frozen=True)
class State:
    """What a subscription was from ``since`` on."""

    subscription_id: str
    customer_id: str
    since: datetime
    status: str  # Stripe's: trialing, active, past_due, unpaid, canceled, incomplete, paused
    items: tuple[Item, ...]
    discount: Discount | None = None
    canceled_at: datetime | None = None  # when cancellation was requested
    ended_at: datetime | None = None
    past_due_since: datetime | None = None
    plan: str = ""  # the first item's plan (price nickname or id), for per-plan figures
    # Reporting-currency units per unit of the subscription's currency, at the start of
    # the state's service period (1 when it is priced in the reporting currency).
    rate: Decimal = Decimal(1)
    currency: str = ""  # the subscription's own currency (its amounts' minor unit)


def monthly(item: Item) -> Decimal:
    """An item's price normalised to one month, in minor units (not rounded)."""
    if item.metered:
        return Decimal(0)
    per_interval = Decimal(item.unit_amount) * item.quantity / item.interval_count
    return per_interval * PER_MONTH[item.interval]


def state_mrr(state: State, at: datetime, rules: Conventions) -> Decimal:
    """The MRR a subscription state contributes at a moment, in minor units of the
    reporting currency."""
    return native_mrr(state, at, rules) * state.rate


def native_mrr(state: State, at: datetime, rules: Conventions) -> Decimal:
    """The same in the subscription's own currency."""
    if state.status in ("trialing", "incomplete", "incomplete_expired", "paused"):
        return Decimal(0)
    if state.ended_at is not None and state.ended_at <= at:
        return Decimal(0)
    if state.status == "canceled" and state.ended_at is None:
        return Decimal(0)
    if rules.churn_at == "request" and state.canceled_at is not None and state.canceled_at <= at:
        return Decimal(0)
    if (
        rules.past_due_days is not None
        and state.status in ("past_due", "unpaid")
        and state.past_due_since is not None
        and at - state.past_due_since >= timedelta(days=rules.past_due_days)
    ):
        return Decimal(0)
    gross = sum((monthly(item) for item in state.items), Decimal(0))
    return max(gross - _discount(state, gross, at, rules), Decimal(0))


def _discount(state: State, gross: Decimal, at: datetime, rules: Conventions) -> Decimal:
    found = state.discount
    if found is None or (rules.discounts == "forever" and found.duration != "forever"):
        return Decimal(0)
    if found.duration == "once":
        return Decimal(0)  # lowers one invoice, not the recurring revenue
    if found.ends_at is not None and found.ends_at <= at:
        return Decimal(0)  # a repeating coupon that has run out
    if found.percent_off is not None:
        return gross * found.percent_off / 100
    if found.amount_off is not None:
        interval_months = _months_per_interval(state.items)
        return Decimal(found.amount_off) / interval_months if interval_months else Decimal(0)
    return Decimal(0)


def _months_per_interval(items: Sequence[Item]) -> Decimal:
    """How many months an invoice of these items covers (an amount-off coupon applies once
    per invoice)."""
    if not items:
        return Decimal(0)
    first = items[0]
    return first.interval_count / PER_MONTH[first.interval]


@dataclass(frozen=True)
class Change:
    """A customer's MRR moved, on a local day, from ``before`` to ``after`` (minor units)."""

    customer_id: str
    day: date
    before: Decimal
    after: Decimal
    kind: Movement
    subscriptions: tuple[str, ...]  # the subscriptions whose state changed that day
    # The part of after - before due to exchange rates alone (never a movement).
    fx: Decimal = Decimal(0)

    @property
    def amount(self) -> Decimal:
        """The movement's amount, exchange-rate effect excluded."""
        return self.after - self.before - self.fx


@dataclass
class Ledger:
    """Every customer's movements, in day order, and their MRR at the end."""

    changes: list[Change] = field(default_factory=list)
    final: dict[str, Decimal] = field(default_factory=dict)
    # Each customer's next moment after ``until`` at which their MRR may change with no
    # new event (a subscription's end, a coupon running out, a past-due cut-off).
    pending: dict[str, datetime] = field(default_factory=dict)


def movements(states: Iterable[State], rules: Conventions, zone: str, until: datetime) -> Ledger:
    """Each customer's day-to-day MRR movements up to ``until``."""
    tz = ZoneInfo(zone)
    by_subscription: dict[str, list[State]] = defaultdict(list)
    for state in states:
        by_subscription[state.subscription_id].append(state)
    # Every moment a subscription's MRR may change: a new state, an end, a cancellation,
    # a discount ending, a past-due grace running out.
    points: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    timelines: dict[str, list[State]] = {}
    for subscription, found in by_subscription.items():
        ordered = sorted(found, key=lambda s: s.since)
        timelines[subscription] = ordered
    ledger = Ledger()
    for subscription, ordered in timelines.items():
        for index, state in enumerate(ordered):
            customer = state.customer_id
            if index and ordered[index - 1].customer_id != customer:
                # The subscription moved to another customer: it leaves the former one now.
                points[ordered[index - 1].customer_id].append((state.since, subscription))
            for moment in _moments(state, rules):
                if moment <= until:
                    points[customer].append((moment, subscription))
                elif moment < ledger.pending.get(customer, moment + timedelta(seconds=1)):
                    ledger.pending[customer] = moment
    for customer, moments in points.items():
        current: dict[str, Decimal] = {}
        native: dict[str, Decimal] = {}
        rates: dict[str, Decimal] = {}
        ever = False
        last_total = Decimal(0)
        by_day: dict[date, tuple[Decimal, set[str], Decimal, bool]] = {}
        for moment, subscription in sorted(moments):
            valid = [s for s in timelines[subscription] if s.since <= moment]
            held = bool(valid) and valid[-1].customer_id == customer
            now_native = native_mrr(valid[-1], moment, rules) if held else Decimal(0)
            rate = valid[-1].rate if valid else rates.get(subscription, Decimal(1))
            # A rate change on a subscription that pays before and after is the FX effect,
            # valued on its new amount; the rest is a movement at the old rate.
            was_native, was_rate = native.get(subscription, Decimal(0)), rates.get(subscription)
            fx = Decimal(0)
            if was_native > 0 and now_native > 0 and was_rate is not None:
                fx = now_native * (rate - was_rate)
            native[subscription], rates[subscription] = now_native, rate
            current[subscription] = now_native * rate
            total = sum(current.values(), Decimal(0))
            day = moment.astimezone(tz).date()
            _, touched, day_fx, changed = by_day.get(day, (total, set(), Decimal(0), False))
            changed = changed or now_native != was_native
            by_day[day] = (total, touched | {subscription}, day_fx + fx, changed)
        for day in sorted(by_day):
            total, touched, fx, changed = by_day[day]
            rounded = total.quantize(CENT, ROUND_HALF_UP)
            if rounded == last_total:
                continue
            if rounded > 0 and not changed:
                fx = rounded - last_total  # only rates moved: all of it, rounding included
            fx = fx.quantize(CENT, ROUND_HALF_UP) if rounded > 0 else Decimal(0)
            moved = rounded - last_total - fx
            kind: Movement = "fx" if moved == 0 else _kind(last_total, last_total + moved, ever)
            if kind == "churn" and rounded > 0:
                kind = "contraction"
            ever = ever or rounded > 0
            ledger.changes.append(
                Change(customer, day, last_total, rounded, kind, tuple(sorted(touched)), fx)
            )
            last_total = rounded
        ledger.final[customer] = last_total
    ledger.changes.sort(key=lambda c: (c.day, c.customer_id))
    return ledger


def _moments(state: State, rules: Conventions) -> list[datetime]:
    found = [state.since]
    for moment in (state.ended_at, state.canceled_at if rules.churn_at == "request" else None):
        if moment is not None and moment > state.since:
            found.append(moment)
    if state.discount is not None and state.discount.ends_at is not None:
        found.append(state.discount.ends_at)
    if rules.past_due_days is not None and state.past_due_since is not None:
        found.append(state.past_due_since + timedelta(days=rules.past_due_days))
    return found


def _kind(before: Decimal, after: Decimal, ever: bool) -> Movement:
    if before == 0:
        return "reactivation" if ever else "new"
    if after == 0:
        return "churn"
    return "expansion" if after > before else "contraction"


@dataclass(frozen=True)
class Period:
    """One period's MRR at its end, its customers, and its movements (minor units)."""

    start: date
    mrr: Decimal
    customers: int
    new: Decimal
    expansion: Decimal
    contraction: Decimal
    churn: Decimal
    reactivation: Decimal
    start_mrr: Decimal = Decimal(0)
    start_customers: int = 0
    churned_customers: int = 0
    fx: Decimal = Decimal(0)  # the exchange-rate effect: a row of its own, not a movement

    @property
    def net(self) -> Decimal:
        return self.new + self.expansion + self.contraction + self.churn + self.reactivation

    @property
    def arpa(self) -> Decimal | None:
        """Average revenue per paying account at the period's end."""
        return self.mrr / self.customers if self.customers else None

    @property
    def customer_churn_rate(self) -> Decimal | None:
        """Customers lost in the period over customers at its start (ChartMogul)."""
        return (
            Decimal(self.churned_customers) / self.start_customers if self.start_customers else None
        )

    @property
    def gross_mrr_churn_rate(self) -> Decimal | None:
        """MRR lost to churn and contraction over MRR at the start."""
        return -(self.churn + self.contraction) / self.start_mrr if self.start_mrr else None

    @property
    def net_mrr_churn_rate(self) -> Decimal | None:
        """Lost MRR less expansion and reactivation, over MRR at the start (negative when
        growth from existing customers outweighs losses)."""
        lost = -(self.churn + self.contraction) - self.expansion - self.reactivation
        return lost / self.start_mrr if self.start_mrr else None

    @property
    def grr(self) -> Decimal | None:
        """Gross revenue retention: MRR kept from the start, less churn and contraction."""
        rate = self.gross_mrr_churn_rate
        return 1 - rate if rate is not None else None

    @property
    def nrr(self) -> Decimal | None:
        """Net revenue retention: 1 - net MRR churn rate (above 1 when expansion and
        reactivation outweigh churn and contraction)."""
        rate = self.net_mrr_churn_rate
        return 1 - rate if rate is not None else None

    @property
    def quick_ratio(self) -> Decimal | None:
        """MRR gained (new, expansion, reactivation) over MRR lost (churn, contraction)."""
        lost = -(self.churn + self.contraction)
        return (self.new + self.expansion + self.reactivation) / lost if lost else None


def periods(ledger: Ledger, starts: Sequence[date], end: date) -> list[Period]:
    """The ledger summed per period (``starts`` ascending; the last runs to ``end``,
    exclusive). MRR and customers are as at each period's last day."""
    bounds = [*starts[1:], end]
    changes = ledger.changes
    position = 0
    current: dict[str, Decimal] = {}
    # Changes before the first period only set the starting point.
    while position < len(changes) and changes[position].day < starts[0]:
        current[changes[position].customer_id] = changes[position].after
        position += 1
    found = []
    for first, after in zip(starts, bounds, strict=True):
        sums: dict[str, Decimal] = defaultdict(Decimal)
        start_mrr = sum(current.values(), Decimal(0))
        start_customers = sum(1 for v in current.values() if v > 0)
        churned = 0
        while position < len(changes) and changes[position].day < after:
            change = changes[position]
            sums[change.kind] += change.amount
            sums["fx"] += change.fx
            churned += change.kind == "churn"
            current[change.customer_id] = change.after
            position += 1
        found.append(
            Period(
                start=first,
                mrr=sum(current.values(), Decimal(0)),
                customers=sum(1 for v in current.values() if v > 0),
                new=sums["new"],
                expansion=sums["expansion"],
                contraction=sums["contraction"],
                churn=sums["churn"],
                reactivation=sums["reactivation"],
                start_mrr=start_mrr,
                start_customers=start_customers,
                churned_customers=churned,
                fx=sums["fx"],
            )
        )
    return found

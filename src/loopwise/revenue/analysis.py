"""Revenue analyses on top of the MRR engine: cohort retention matrices, trial-to-paid
conversion, and unit economics per plan (definitions in docs/metrics/revenue.md)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from loopwise.revenue.mrr import Conventions, Ledger, State, state_mrr

PAYING = ("active", "past_due", "unpaid")


# --- cohorts -----------------------------------------------------------------------------


@dataclass
class Cohort:
    """Customers whose first paid month is ``month`` (within a segment: a plan, a
    channel, or everyone), and what is left of them at the end of each month after."""

    month: date
    segment: str
    customers: int = 0
    # Index k: the end of the k-th month after the first paid one (k = 0: that month).
    paying: list[int] = field(default_factory=list)
    mrr: list[Decimal] = field(default_factory=list)

    def customer_retention(self) -> list[Decimal | None]:
        return [Decimal(p) / self.customers if self.customers else None for p in self.paying]

    def revenue_retention(self) -> list[Decimal | None]:
        """MRR at each month's end over the cohort's MRR at the end of its first month
        (expansion can take it past 100 %)."""
        base = self.mrr[0] if self.mrr else Decimal(0)
        return [m / base if base else None for m in self.mrr]


def cohorts(
    ledger: Ledger,
    months: Sequence[date],
    end: date,
    segment_of: Callable[[str], str] | None = None,
) -> list[Cohort]:
    """Cohorts by first paid month for the calendar ``months`` (ascending starts; the last
    runs to ``end``, exclusive), each followed to the last month's end."""
    bounds = [*months[1:], end]
    first_paid: dict[str, int] = {}
    for change in ledger.changes:
        if change.kind == "new" and change.customer_id not in first_paid:
            index = _month_index(months, change.day)
            if index is not None:
                first_paid[change.customer_id] = index
    segments = {c: (segment_of(c) or "") if segment_of else "" for c in first_paid}
    found: dict[tuple[str, int], Cohort] = {}
    for customer, index in first_paid.items():
        segment = segments[customer]
        cohort = found.setdefault((segment, index), Cohort(months[index], segment))
        cohort.customers += 1
    for cohort in found.values():
        size = len(months) - months.index(cohort.month)
        cohort.paying, cohort.mrr = [0] * size, [Decimal(0)] * size
    current: dict[str, Decimal] = {}
    position, changes = 0, ledger.changes
    for month_number, after in enumerate(bounds):
        while position < len(changes) and changes[position].day < after:
            current[changes[position].customer_id] = changes[position].after
            position += 1
        for customer, mrr in current.items():
            index = first_paid.get(customer)
            if index is None or index > month_number or mrr <= 0:
                continue
            cohort = found[(segments[customer], index)]
            cohort.paying[month_number - index] += 1
            cohort.mrr[month_number - index] += mrr
    return sorted(found.values(), key=lambda c: (c.segment, c.month))


def _month_index(months: Sequence[date], day: date) -> int | None:
    first = date(day.year, day.month, 1)
    try:
        return list(months).index(first)
    except ValueError:
        return None


# --- trials ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrialMonth:
    month: date
    trials: int  # subscriptions whose trial began this month
    converted: int  # of them, those that later paid

    @property
    def rate(self) -> Decimal | None:
        return Decimal(self.converted) / self.trials if self.trials else None


def trial_conversion(
    states: Sequence[State], rules: Conventions, zone: str, months: Sequence[date]
) -> list[TrialMonth]:
    """Per month of trial start: trials begun, and how many of those subscriptions paid
    afterwards (a later state with MRR above zero)."""
    tz = ZoneInfo(zone)
    by_subscription: dict[str, list[State]] = defaultdict(list)
    for state in states:
        by_subscription[state.subscription_id].append(state)
    trials: dict[int, int] = defaultdict(int)
    converted: dict[int, int] = defaultdict(int)
    for found in by_subscription.values():
        found.sort(key=lambda s: s.since)
        start = next((n for n, s in enumerate(found) if s.status == "trialing"), None)
        if start is None:
            continue
        index = _month_index(months, found[start].since.astimezone(tz).date())
        if index is None:
            continue
        trials[index] += 1
        later = found[start + 1 :]
        if any(s.status in PAYING and state_mrr(s, s.since, rules) > 0 for s in later):
            converted[index] += 1
    return [TrialMonth(m, trials[i], converted[i]) for i, m in enumerate(months)]


# --- plans -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanFigures:
    plan: str
    mrr: Decimal  # at the period's end (minor units)
    customers: int  # paying on this plan at the end
    at_start: int  # subscriptions paying on it when the period began
    started: int  # subscriptions first paid on it within the period
    stopped: int  # subscriptions on it that stopped paying within the period
    months: Decimal  # the period's length in months

    @property
    def arpa(self) -> Decimal | None:
        return self.mrr / self.customers if self.customers else None

    @property
    def churn_rate(self) -> Decimal | None:
        """Monthly: stopped over those at risk (paying at the start or started), per month
        of the period."""
        exposed = self.at_start + self.started
        return Decimal(self.stopped) / exposed / self.months if exposed and self.months else None

    def ltv(self, margin: int) -> Decimal | None:
        rate, arpa = self.churn_rate, self.arpa
        return arpa * margin / 100 / rate if arpa is not None and rate else None


def plans(
    states: Sequence[State], rules: Conventions, zone: str, start: date, end: date
) -> list[PlanFigures]:
    """Unit economics per plan for local days in [start, end). A subscription counts on
    the plan it was first paid on when it starts, on the plan of its last paid state when
    it stops, and on its plan at the end for MRR; a plan change alone is neither."""
    tz = ZoneInfo(zone)
    first = datetime.combine(start, time(), tz)
    last = datetime.combine(end, time(), tz) - timedelta(microseconds=1)
    by_subscription: dict[str, list[State]] = defaultdict(list)
    for state in states:
        by_subscription[state.subscription_id].append(state)
    mrr: dict[str, Decimal] = defaultdict(Decimal)
    customers: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # at start, started, stopped
    for found in by_subscription.values():
        found.sort(key=lambda s: s.since)
        paid = [s for s in found if state_mrr(s, s.since, rules) > 0]
        if not paid:
            continue
        then, now = _state_at(found, first), _state_at(found, last)
        paying_then = then is not None and state_mrr(then, first, rules) > 0
        now_mrr = state_mrr(now, last, rules) if now is not None else Decimal(0)
        if paying_then and then is not None:
            counts[then.plan][0] += 1
        if first <= paid[0].since <= last:
            counts[paid[0].plan][1] += 1
        if (paying_then or first <= paid[0].since <= last) and now_mrr <= 0:
            counts[paid[-1].plan][2] += 1
        if now is not None and now_mrr > 0:
            mrr[now.plan] += now_mrr
            customers[now.plan].add(now.customer_id)
    months = Decimal((end - start).days) * 12 / 365
    return [
        PlanFigures(plan=name or "(no plan)", mrr=mrr[name], customers=len(customers[name]),
                    at_start=counts[name][0], started=counts[name][1], stopped=counts[name][2],
                    months=months)
        for name in sorted(set(counts) | set(mrr))
    ]  # fmt: skip


def _state_at(ordered: Sequence[State], moment: datetime) -> State | None:
    """The state in force at ``moment`` (the latest that began by then)."""
    found = None
    for state in ordered:
        if state.since > moment:
            break
        found = state
    return found

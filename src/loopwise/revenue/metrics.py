"""Daily revenue metrics: what the nightly job stores, and the figures read from it.

For every day of a range the job writes one row per acquisition channel (spend, new
customers, their new MRR) and one totals row (``channel = ""``: MRR, paying customers,
customers churned that day, LTV as of that day). A run deletes the range's rows and
writes them again in one transaction, so a second run for the same range changes
nothing and a crash leaves the previous figures in place.

CAC, CAC payback and LTV:CAC are ratios of sums, so they are computed when read, over
whatever range is asked for (a daily CAC would be noise). Definitions in
docs/metrics/revenue.md.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from loopwise.core.db import utcnow
from loopwise.revenue.cac import DIRECT, Model, new_customers, spend_by_day
from loopwise.revenue.models import MetricsDaily
from loopwise.revenue.mrr import Ledger
from loopwise.warehouse import Warehouse

TOTAL = ""
# LTV's churn rate: customers lost over customers at risk in the six 30-day windows that
# end on the day (a "trailing six months" that does not depend on month lengths).
WINDOWS, WINDOW_DAYS = 6, 30
CENT = Decimal("0.01")


@dataclass(frozen=True)
class DayTotals:
    day: date
    mrr: Decimal  # at the day's end, minor units
    customers: int  # paying, at the day's end
    churned: int  # customers whose MRR fell to 0 that day


def daily_totals(ledger: Ledger, first: date, end: date) -> list[DayTotals]:
    """MRR, paying customers and churned customers for each day in [first, end)."""
    current: dict[str, Decimal] = {}
    total, paying = Decimal(0), 0
    found, position, changes = [], 0, ledger.changes
    day = first
    while day < end:
        churned = 0
        while position < len(changes) and changes[position].day <= day:
            change = changes[position]
            before = current.get(change.customer_id, Decimal(0))
            total += change.after - before
            paying += (change.after > 0) - (before > 0)
            current[change.customer_id] = change.after
            if change.day == day:
                churned += change.kind == "churn"
            position += 1
        found.append(DayTotals(day, total, paying, churned))
        day += timedelta(days=1)
    return found


def trailing_churn(totals: list[DayTotals], index: int) -> Decimal | None:
    """The monthly customer churn rate behind LTV, for the day at ``totals[index]``: the
    customers churned in the six 30-day windows ending that day over the sum of each
    window's paying customers at its start. None when the history is too short or no
    one was at risk."""
    if index - WINDOWS * WINDOW_DAYS < 0:
        return None
    churned = sum(t.churned for t in totals[index - WINDOWS * WINDOW_DAYS + 1 : index + 1])
    at_risk = sum(totals[index - k * WINDOW_DAYS].customers for k in range(1, WINDOWS + 1))
    return Decimal(churned) / at_risk if at_risk else None


def lifetime_value(totals: list[DayTotals], index: int, margin: int) -> Decimal | None:
    """ARPA x gross margin / the trailing monthly customer churn rate (minor units).
    None without paying customers or without churn to divide by (LTV is unbounded)."""
    today = totals[index]
    rate = trailing_churn(totals, index)
    if not today.customers or not rate:
        return None
    return (today.mrr / today.customers * margin / 100 / rate).quantize(CENT)


HISTORY_DAYS = WINDOWS * WINDOW_DAYS  # the days before a range that LTV needs


def recompute(
    session: Session,
    warehouse: Warehouse,
    project_id: int,
    totals: list[DayTotals],
    firsts: dict[str, tuple[date, Decimal]],
    start: date,
    end: date,
    *,
    currency: str,
    zone: str,
    margin: int,
    model: Model,
    lookback_days: int,
    now: datetime | None = None,
) -> int:
    """Rewrite the project's daily metrics for days in [start, end); returns the rows.
    ``totals`` covers [start - HISTORY_DAYS, end); ``firsts`` each customer's first paid
    day and new MRR."""
    offset = HISTORY_DAYS
    assert len(totals) == offset + (end - start).days
    won = new_customers(session, warehouse, project_id, firsts, start, end,
                        zone=zone, model=model, lookback_days=lookback_days)  # fmt: skip
    channels: dict[tuple[date, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
    for (day, source), amount in spend_by_day(session, project_id, currency, start, end).items():
        channels[(day, source)][0] += amount
    for customer in won:
        row = channels[(customer.day, customer.source)]
        row[1] += 1
        row[2] += customer.new_mrr
    moment = now or utcnow()
    session.execute(
        delete(MetricsDaily)
        .where(MetricsDaily.project_id == project_id)
        .where(MetricsDaily.day >= start)
        .where(MetricsDaily.day < end)
    )
    per_day: dict[date, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
    for (day, _), values in channels.items():
        per_day[day] = [a + b for a, b in zip(per_day[day], values, strict=True)]
    rows = []
    for index in range(offset, len(totals)):
        today = totals[index]
        spend, count, mrr = per_day[today.day]
        rows.append(MetricsDaily(
            project_id=project_id, day=today.day, channel=TOTAL, currency=currency,
            spend=int(spend), new_customers=int(count), new_mrr=mrr.quantize(CENT),
            mrr=today.mrr.quantize(CENT), customers=today.customers,
            churned_customers=today.churned, ltv=lifetime_value(totals, index, margin),
            computed_at=moment,
        ))  # fmt: skip
    for (day, source), (spend, count, mrr) in sorted(channels.items()):
        rows.append(MetricsDaily(
            project_id=project_id, day=day, channel=source[:200], currency=currency,
            spend=int(spend), new_customers=int(count), new_mrr=mrr.quantize(CENT),
            computed_at=moment,
        ))  # fmt: skip
    session.add_all(rows)
    return len(rows)


@dataclass(frozen=True)
class ChannelFigures:
    channel: str
    spend: int  # minor units
    new_customers: int
    new_mrr: Decimal
    cac: Decimal | None  # spend per new customer
    payback_months: Decimal | None  # CAC / (new MRR per customer x gross margin)
    ltv_to_cac: Decimal | None


@dataclass(frozen=True)
class Summary:
    start: date
    end: date  # exclusive
    currency: str
    days: int  # days in the range the job has computed
    computed_at: datetime | None
    mrr: Decimal | None  # at the last computed day's end
    customers: int | None
    ltv: Decimal | None  # as of the last computed day
    blended: ChannelFigures
    channels: list[ChannelFigures]


def summary(session: Session, project_id: int, start: date, end: date, *, margin: int) -> Summary:
    """The stored daily metrics of [start, end), with CAC, payback and LTV:CAC per channel
    and blended (all spend over all new customers, direct ones included)."""
    rows = list(session.scalars(
        select(MetricsDaily)
        .where(MetricsDaily.project_id == project_id)
        .where(MetricsDaily.day >= start)
        .where(MetricsDaily.day < end)
        .order_by(MetricsDaily.day, MetricsDaily.channel)
    ))  # fmt: skip
    totals = [r for r in rows if r.channel == TOTAL]
    last = totals[-1] if totals else None
    ltv = last.ltv if last else None
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
    for row in rows:
        if row.channel != TOTAL:
            sums[row.channel][0] += row.spend
            sums[row.channel][1] += row.new_customers
            sums[row.channel][2] += row.new_mrr
    everything = [sum((v[i] for v in sums.values()), Decimal(0)) for i in range(3)]
    names = sorted(sums, key=lambda s: (s == DIRECT, s))
    return Summary(
        start=start, end=end, currency=last.currency if last else "",
        days=len(totals), computed_at=max((r.computed_at for r in totals), default=None),
        mrr=last.mrr if last else None, customers=last.customers if last else None, ltv=ltv,
        blended=_figures("(all)", everything, margin, ltv),
        channels=[_figures(n, sums[n], margin, ltv) for n in names],
    )  # fmt: skip


def _figures(name: str, sums: list[Decimal], margin: int, ltv: Decimal | None) -> ChannelFigures:
    spend, count, mrr = sums
    cac = spend / count if count else None
    per_customer = mrr / count * margin / 100 if count else None
    payback = cac / per_customer if cac is not None and per_customer else None
    ratio = ltv / cac if ltv is not None and cac else None
    return ChannelFigures(name, int(spend), int(count), mrr, cac, payback, ratio)


# --- CAC anomalies -----------------------------------------------------------------------

CAC_WINDOW, CAC_HISTORY, MIN_HISTORY = 7, 56, 28
# Iglewicz and Hoaglin's modified z-score: 0.6745 (x - median) / MAD; above 3.5 is an outlier.
Z_THRESHOLD = Decimal("3.5")


@dataclass(frozen=True)
class CacAnomaly:
    day: date
    cac: Decimal  # the 7-day blended CAC ending on ``day`` (minor units)
    median: Decimal  # of the same figure over the previous 8 weeks
    mad: Decimal
    z: Decimal

    @property
    def change(self) -> Decimal:
        return (self.cac - self.median) / self.median if self.median else Decimal(0)


def robust_z(history: list[Decimal], value: Decimal) -> tuple[Decimal, Decimal, Decimal] | None:
    """(median, scale, modified z-score) of ``value`` against ``history``; the scale is the
    median absolute deviation, or 1.2533 x the mean absolute deviation when over half the
    history is one value (MAD 0). None when the history does not vary at all."""
    ordered = sorted(history)
    median = _median(ordered)
    deviations = sorted(abs(v - median) for v in history)
    mad = _median(deviations)
    if mad:
        return median, mad, Decimal("0.6745") * (value - median) / mad
    mean_ad = sum(deviations, Decimal(0)) / len(deviations)
    if not mean_ad:
        return None
    scale = Decimal("1.253314") * mean_ad
    return median, scale, (value - median) / scale


def _median(ordered: list[Decimal]) -> Decimal:
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def cac_anomaly(session: Session, project_id: int, day: date) -> CacAnomaly | None:
    """The 7-day blended CAC ending on ``day`` if it is an outlier against the same figure
    on each of the 56 days before (needs 28 of them with new customers)."""
    first = day - timedelta(days=CAC_HISTORY + CAC_WINDOW - 1)
    rows = session.execute(
        select(MetricsDaily.day, MetricsDaily.spend, MetricsDaily.new_customers)
        .where(MetricsDaily.project_id == project_id)
        .where(MetricsDaily.channel == TOTAL)
        .where(MetricsDaily.day >= first)
        .where(MetricsDaily.day <= day)
    )
    daily = {d: (spend, count) for d, spend, count in rows}
    if day not in daily:
        return None

    def cac_to(end: date) -> Decimal | None:
        days = [daily.get(end - timedelta(days=k)) for k in range(CAC_WINDOW)]
        if any(d is None for d in days):
            return None
        spend = sum(d[0] for d in days if d is not None)
        count = sum(d[1] for d in days if d is not None)
        return Decimal(spend) / count if count and spend else None

    current = cac_to(day)
    history = [cac_to(day - timedelta(days=k)) for k in range(1, CAC_HISTORY + 1)]
    known = [v for v in history if v is not None]
    if current is None or len(known) < MIN_HISTORY:
        return None
    found = robust_z(known, current)
    if found is None or abs(found[2]) <= Z_THRESHOLD:
        return None
    median, mad, z = found
    return CacAnomaly(day, current, median, mad, z)

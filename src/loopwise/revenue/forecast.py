"""A 12-month MRR projection from the trailing movement rates, with scenarios and a backtest.

The model (docs/metrics/revenue.md, "Forecast") moves MRR one month at a time:

    MRR[m+1] = MRR[m] + new + reactivation + MRR[m] * (expansion - contraction - churn)

New and reactivation MRR are amounts per month (they do not come from the existing base);
expansion, contraction and churn are shares of the MRR at the month's start. The measured
assumptions are the means over the last three complete calendar months. The optimistic
scenario raises the gains and lowers the losses by the spread; the conservative one does
the reverse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from loopwise.revenue.mrr import Period

TRAILING_MONTHS = 3
HORIZON_MONTHS = 12
BACKTEST_HORIZON = 3
BACKTEST_MONTHS = 36  # complete months of history the backtest reads
DEFAULT_SPREAD = Decimal("0.2")


@dataclass(frozen=True)
class Assumptions:
    """Monthly rates: amounts in minor units per month, shares as fractions of MRR."""

    new: Decimal
    reactivation: Decimal
    expansion: Decimal
    contraction: Decimal
    churn: Decimal

    def scaled(self, gains: Decimal, losses: Decimal) -> Assumptions:
        return Assumptions(
            new=self.new * gains,
            reactivation=self.reactivation * gains,
            expansion=self.expansion * gains,
            contraction=self.contraction * losses,
            churn=self.churn * losses,
        )


@dataclass(frozen=True)
class Scenario:
    name: str  # "base", "optimistic" or "conservative"
    assumptions: Assumptions
    mrr: list[Decimal]  # MRR at the end of each projected month


@dataclass(frozen=True)
class Backtest:
    """Each cut-off's base forecast ``horizon`` months ahead against what happened."""

    horizon: int
    points: list[tuple[date, Decimal, Decimal]]  # (month forecast, forecast, actual)

    @property
    def mape(self) -> Decimal | None:
        """Mean absolute percentage error, over the points whose actual MRR is not zero."""
        errors = [abs(a - f) / a for _, f, a in self.points if a]
        return sum(errors, Decimal(0)) / len(errors) if errors else None


def measured(history: Sequence[Period]) -> Assumptions | None:
    """The mean monthly rates over the last ``TRAILING_MONTHS`` of ``history`` (complete
    months, oldest first); None when there is no history. Shares are weighted by the
    starting MRR (the sum of a movement over the sum of starting MRR), so a month that
    began near zero does not dominate."""
    window = list(history[-TRAILING_MONTHS:])
    if not window:
        return None
    count = Decimal(len(window))
    base = sum((p.start_mrr for p in window), Decimal(0))

    def share(total: Decimal) -> Decimal:
        return total / base if base else Decimal(0)

    return Assumptions(
        new=sum((p.new for p in window), Decimal(0)) / count,
        reactivation=sum((p.reactivation for p in window), Decimal(0)) / count,
        expansion=share(sum((p.expansion for p in window), Decimal(0))),
        contraction=share(-sum((p.contraction for p in window), Decimal(0))),
        churn=share(-sum((p.churn for p in window), Decimal(0))),
    )


def project(start: Decimal, assumptions: Assumptions, months: int) -> list[Decimal]:
    """MRR at the end of each of the next ``months`` months, starting from ``start``.
    MRR never goes below zero."""
    found = []
    mrr = start
    rate = assumptions.expansion - assumptions.contraction - assumptions.churn
    for _ in range(months):
        mrr = max(Decimal(0), mrr + assumptions.new + assumptions.reactivation + mrr * rate)
        found.append(mrr)
    return found


def scenarios(
    start: Decimal, base: Assumptions, spread: Decimal = DEFAULT_SPREAD,
    months: int = HORIZON_MONTHS,
) -> list[Scenario]:  # fmt: skip
    """Base, optimistic and conservative projections from ``start``."""
    up, down = Decimal(1) + spread, max(Decimal(0), Decimal(1) - spread)
    found = []
    for name, assumptions in (
        ("base", base),
        ("optimistic", base.scaled(gains=up, losses=down)),
        ("conservative", base.scaled(gains=down, losses=up)),
    ):
        found.append(Scenario(name, assumptions, project(start, assumptions, months)))
    return found


def backtest(history: Sequence[Period], horizon: int = BACKTEST_HORIZON) -> Backtest:
    """Forecast from every cut-off with ``TRAILING_MONTHS`` of history behind it and
    ``horizon`` complete months after it, using only what was known at the cut-off."""
    points = []
    for cut in range(TRAILING_MONTHS, len(history) - horizon + 1):
        known = history[:cut]
        if not known[-1].mrr:
            continue  # nothing to grow from yet
        rates = measured(known)
        assert rates is not None
        forecast = project(known[-1].mrr, rates, horizon)[-1]
        target = history[cut + horizon - 1]
        points.append((target.start, forecast, target.mrr))
    return Backtest(horizon, points)


def with_overrides(base: Assumptions, **values: Decimal | None) -> Assumptions:
    """``base`` with the given rates replaced (None keeps the measured value)."""
    return replace(base, **{k: v for k, v in values.items() if v is not None})

"""The health score: how well a person is doing with the product and with paying for it,
from 0 to 100, with the parts it is made of and the reasons behind it in plain words.

A pure function of the person's signals and the project's settings (no I/O), so a score
can be explained, tested by hand and recomputed for 100,000 persons in a few seconds.

Each component scores 0.0 to 1.0 (1 is healthy) or does not apply to the person:

- **engagement** (this week): half recency, half volume. Recency is 1 when they were
  seen in the last day, falling linearly to 0 at 7 days; volume is
  ``sqrt(events_7d / 20)``, capped at 1 (5 events give 0.5, 20 or more full marks).
- **trend**: events in the last 7 days against their own usual week (``weekly_baseline``,
  the four weeks before). A person seen for the first time less than 14 days ago has no
  usual week yet and a person without events in those weeks no baseline: the component
  does not apply. One seen for 2 to 5 weeks has their baseline taken over the weeks they
  were around. Score: ``events_7d / baseline``, capped at 1 (down 40% gives 0.6).
- **frequency**: active days in the last 28 days, full marks at 12 (``days / 12``).
- **adoption**: core features used in 30 days out of the project's core features; does
  not apply when the project marks no feature as core.
- **errors**: ``1 - errors_7d / 10``, at least 0 (none: full marks, 10 or more: none);
  does not apply to a person without events in the 7 days.
- **support**: ``1 - 0.25 * (open tickets + negative tickets in 30 days)``, at least 0.
- **payments**: ``1 - 0.25 * failed payments in 30 days``, at least 0, halved while an
  invoice is unpaid or the person is past due; does not apply without a billing customer.
- **subscription**: 0 when churned, else ``1 - 0.5 * downgrades + 0.25 * upgrades`` in
  30 days, within 0 and 1; does not apply without a billing customer or to one who never paid.

Weights come from the project's settings (default: ``contracts.COMPONENTS``). Components
that do not apply are dropped and the others' weights scaled to sum to 100 (all weights
zero among those that apply: they share equally). The score is the sum of weight *
component, rounded; its band follows the project's thresholds.

Reasons name what weighs on the score and what holds it up, with the person's numbers
("usage down 40% vs their 4-week average", "2 failed payments in the last 30 days"); each
counts the points it costs (negative) or earns, the strongest first, at most three of each.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import NamedTuple

from loopwise.people.contracts import (
    COMPONENTS,
    Component,
    Health,
    PeopleConfig,
    Reason,
    Signals,
)

ENGAGED_EVENTS = 20  # events in 7 days for full marks on volume
RECENT_DAYS = 7
SEEN_DAYS = 28
FREQUENT_DAYS = 12  # active days in 28 for full marks
BASELINE_WEEKS = 4
MIN_AGE = timedelta(days=14)  # first seen at least this long ago for a trend
ERRORS_FOR_ZERO = 10
TICKET_COST, FAILURE_COST, DOWNGRADE_COST, UPGRADE_GAIN = 0.25, 0.25, 0.5, 0.25
MAX_REASONS = 3  # of each sign
LABELS = {key: label for key, (label, _) in COMPONENTS.items()}
DEFAULTS = {key: weight for key, (_, weight) in COMPONENTS.items()}


class _Part(NamedTuple):
    """One component before weighing: its score, what was measured, and the reason it
    gives when it weighs on the score (``bad``) or holds it up (``good``), if any."""

    key: str
    score: float | None
    value: str
    bad: str = ""
    good: str = ""


def score(signals: Signals, config: PeopleConfig) -> Health:
    """The person's health at ``signals.now`` under the project's settings."""
    parts = (
        _engagement(signals), _trend(signals), _frequency(signals), _adoption(signals),
        _errors(signals), _support(signals), _payments(signals), _subscription(signals),
    )  # fmt: skip
    shares = _shares(parts, config.weights)
    points = sum(w * p.score for w, p in zip(shares, parts, strict=True) if p.score is not None)
    total = min(100, max(0, math.floor(points + 0.5)))
    components = tuple(
        Component(p.key, LABELS[p.key], w, p.score, p.value)
        for w, p in zip(shares, parts, strict=True)
    )
    return Health(total, config.band(total), components, _reasons(parts, shares))


def _shares(parts: tuple[_Part, ...], weights: dict[str, int]) -> list[float]:
    """Each part's weight in points: the applicable ones' weights scaled to sum to 100."""
    given = [0 if p.score is None else max(0, weights.get(p.key, DEFAULTS[p.key])) for p in parts]
    total = sum(given)
    if total:
        return [w * 100 / total for w in given]
    applies = sum(1 for p in parts if p.score is not None)
    return [0.0 if p.score is None else 100 / applies for p in parts]


def _reasons(parts: tuple[_Part, ...], shares: list[float]) -> tuple[Reason, ...]:
    bad: list[tuple[float, str, str]] = []
    good: list[tuple[float, str, str]] = []
    for part, weight in zip(parts, shares, strict=True):
        if part.score is None:
            continue
        if part.bad and (lost := weight * (1 - part.score)) > 0:
            bad.append((-lost, part.bad, part.key))
        if part.good and (earned := weight * part.score) > 0:
            good.append((earned, part.good, part.key))
    bad.sort(key=_strength)
    good.sort(key=_strength)
    chosen = sorted(bad[:MAX_REASONS] + good[:MAX_REASONS], key=_strength)
    return tuple(Reason(text, points, key) for points, text, key in chosen)


def _strength(reason: tuple[float, str, str]) -> float:
    return -abs(reason[0])


# --- the components ----------------------------------------------------------------------


def _days_since_seen(s: Signals) -> float | None:
    if s.last_seen is None:
        return None
    return max(0.0, (s.now - s.last_seen).total_seconds() / 86400)


def _engagement(s: Signals) -> _Part:
    since = _days_since_seen(s)
    if since is None or since >= SEEN_DAYS:
        return _Part("engagement", 0.0, "not seen in the last 28 days",
                     bad="not seen in the last 28 days")  # fmt: skip
    recency = _clamp(1 - (since - 1) / (RECENT_DAYS - 1))
    volume = min(1.0, math.sqrt(s.events_7d / ENGAGED_EVENTS))
    value = f"{_n(s.events_7d, 'event')} in the last 7 days, last seen {_ago(since)}"
    found = (recency + volume) / 2
    bad = good = ""
    if s.events_7d == 0:
        bad = f"not seen in the last 7 days (last seen {_ago(since)})"
    elif found < 0.5:
        bad = f"only {_n(s.events_7d, 'event')} in the last 7 days"
    elif found >= 0.75:
        good = f"active this week: {_n(s.events_7d, 'event')} in the last 7 days"
    return _Part("engagement", found, value, bad, good)


class UsualWeek(NamedTuple):
    """A person's usual week before the last 7 days: their events a week over the weeks
    they were around (``weeks``, 1 to 4)."""

    events: float
    weeks: float

    @property
    def average(self) -> str:
        """How it is named: "their 4-week average"."""
        return f"their {round(self.weeks)}-week average"

    def versus(self, events_7d: int) -> str:
        """The last 7 days' events against it: "down 40% vs their 4-week average" (for
        a usual week with events)."""
        ratio = events_7d / self.events
        way = "down" if ratio < 1 else "up"
        return f"{way} {round(abs(ratio - 1) * 100)}% vs {self.average}"


def usual_week(
    first_seen: datetime | None, weekly_baseline: float, now: datetime
) -> UsualWeek | None:
    """The person's usual week at ``now`` from their summary's ``weekly_baseline`` (the
    mean of the 4 weeks before the last 7 days): taken over the weeks they were around
    when first seen 2 to 5 weeks before ``now``; None when first seen less than 14 days
    before (no usual week yet). Events of 0 mean none in those weeks."""
    if first_seen is None or now - first_seen < MIN_AGE:
        return None
    known = (now - timedelta(days=RECENT_DAYS) - first_seen).total_seconds() / 86400 / 7
    weeks = min(float(BASELINE_WEEKS), max(1.0, known))
    return UsualWeek(weekly_baseline * BASELINE_WEEKS / weeks, weeks)


def _trend(s: Signals) -> _Part:
    usual = usual_week(s.first_seen, s.weekly_baseline, s.now)
    if usual is None:
        return _Part("trend", None, "no usual week yet (first seen less than 14 days ago)")
    if usual.events <= 0:
        return _Part("trend", None, "no events in the 4 weeks before the last 7 days")
    ratio = s.events_7d / usual.events
    value = f"{_n(s.events_7d, 'event')} vs {_number(usual.events)} a week before"
    bad = good = ""
    if ratio <= 0.8:
        bad = f"usage {usual.versus(s.events_7d)}"
    elif ratio >= 1.1:
        good = f"usage {usual.versus(s.events_7d)}"
    elif ratio >= 0.9:
        good = f"usage steady vs {usual.average}"
    return _Part("trend", min(1.0, ratio), value, bad, good)


def _frequency(s: Signals) -> _Part:
    days = s.active_days_28d
    value = f"active {days} of the last 28 days"
    since = _days_since_seen(s)
    gone = since is None or since >= SEEN_DAYS  # engagement says so already
    bad = value if days < FREQUENT_DAYS / 2 and not gone else ""
    good = value if days >= FREQUENT_DAYS * 0.75 else ""
    return _Part("frequency", min(1.0, days / FREQUENT_DAYS), value, bad, good)


def _adoption(s: Signals) -> _Part:
    if s.core_total <= 0:
        return _Part("adoption", None, "no core features defined")
    share = min(1.0, s.core_adopted / s.core_total)
    value = f"{s.core_adopted} of {s.core_total} core features"
    said = f"uses {value}"
    return _Part("adoption", share, value, said if share < 0.5 else "",
                 said if share >= 0.75 else "")  # fmt: skip


def _errors(s: Signals) -> _Part:
    if s.events_7d == 0 and s.errors_7d == 0:
        return _Part("errors", None, "no events in the last 7 days")
    value = f"{_n(s.errors_7d, 'error')} in the last 7 days"
    found = _clamp(1 - s.errors_7d / ERRORS_FOR_ZERO)
    if s.errors_7d:
        return _Part("errors", found, value, bad=value)
    return _Part("errors", found, value, good="no errors in the last 7 days")


def _support(s: Signals) -> _Part:
    value = (f"{s.open_tickets} open, {_n(s.tickets_30d, 'ticket')} in the last 30 days "
             f"({s.negative_tickets_30d} negative)")  # fmt: skip
    found = _clamp(1 - TICKET_COST * (s.open_tickets + s.negative_tickets_30d))
    said = []
    if s.open_tickets:
        said.append(f"{_n(s.open_tickets, 'open ticket')}")
    if s.negative_tickets_30d:
        said.append(f"{_n(s.negative_tickets_30d, 'negative ticket')} in the last 30 days")
    if said:
        return _Part("support", found, value, bad=" and ".join(said))
    return _Part("support", found, value, good="no open support tickets")


def _payments(s: Signals) -> _Part:
    if not s.billing_status:
        return _Part("payments", None, "no billing customer")
    behind = s.open_failures > 0 or s.billing_status == "past_due"
    found = _clamp(1 - FAILURE_COST * s.payment_failures_30d) * (0.5 if behind else 1.0)
    value = (f"{_n(s.payment_failures_30d, 'failed payment')} in the last 30 days, "
             f"{s.open_failures} unpaid")  # fmt: skip
    said = []
    if s.payment_failures_30d:
        said.append(f"{_n(s.payment_failures_30d, 'failed payment')} in the last 30 days")
    if s.open_failures:
        said.append(f"{_n(s.open_failures, 'invoice')} still unpaid")
    elif s.billing_status == "past_due":
        said.append("payment past due")
    if said:
        return _Part("payments", found, value, bad=", ".join(said))
    return _Part("payments", found, value, good="no failed payments in the last 30 days")


def _subscription(s: Signals) -> _Part:
    if s.billing_status in ("", "never_paid"):
        return _Part("subscription", None, "never paid" if s.billing_status else
                     "no billing customer")  # fmt: skip
    if s.billing_status == "churned":
        said = f"churned on {s.churned_on.isoformat()}" if s.churned_on else "churned"
        return _Part("subscription", 0.0, said, bad=said)
    down, up = s.downgrades_30d, s.upgrades_30d
    value = f"{_n(down, 'downgrade')}, {_n(up, 'upgrade')} in the last 30 days"
    found = _clamp(1 - DOWNGRADE_COST * down + UPGRADE_GAIN * up)
    if down:
        return _Part("subscription", found, value,
                     bad=f"{_n(down, 'downgrade')} in the last 30 days")  # fmt: skip
    good = f"{_n(up, 'upgrade')} in the last 30 days" if up else "no downgrades in 30 days"
    return _Part("subscription", found, value, good=good)


# --- words ---------------------------------------------------------------------------------


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _number(value: float) -> str:
    return str(round(value)) if abs(value - round(value)) < 0.05 else f"{value:.1f}"


def _ago(days: float) -> str:
    whole = int(days)
    if whole == 0:
        return "today"
    return "1 day ago" if whole == 1 else f"{whole} days ago"

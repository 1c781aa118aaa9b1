"""Observations about one person, each with the figures behind it, for the top of their
page: what a careful account manager would notice first.

Rules (each fires on its own evidence; at most ``MAX_INSIGHTS``, most pressing first):

- **Failed payments**: any failed payment attempt in the last 30 days, with the next
  charge date.
- **Inactive**: not seen for 3 days or more, and either for a week or more or for at least
  twice their usual interval, where the usual interval is 28 days divided by the days they
  were active in the 28 days up to their last visit (local days of the project).
- **Open ticket**: their oldest open ticket and how long it has waited since it was opened.
- **Errors**: ``$exception`` events in the last 7 days, with the place most of them
  happened on.
- **Usage change**: events in the last 7 days against their usual week, as the health
  score's trend measures and words it (``health.usual_week``: the weekly mean of the 4
  weeks before, or of the weeks they were around when first seen 2 to 5 weeks earlier;
  both from the summary's last refresh; a usual week of at least 5 events): down 30% or
  more (not said when "inactive" is), or up 50% or more.
- **Core feature** (statistics): for each core feature the person did not use in 30 days,
  the share of the project's people active in the last 14 days among those who used it
  in 30 days and among those who did not, from the summaries; said for the feature with
  the largest ratio, when it is at least 1.25 and each side has at least 20 people. A
  large project is compared over 5,000 of its people, the first by person id (ids are
  hashes, so this is a uniform sample, and the page stays fast); the evidence says so.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import String, and_, case, cast, func, select
from sqlalchemy.orm import Session

from loopwise.people.contracts import Insight
from loopwise.people.health import usual_week
from loopwise.people.models import PersonSummary
from loopwise.product.facade import (
    PersonActivity,
    ProductError,
    ProductSession,
    active_days,
    list_features,
)
from loopwise.revenue.facade import PersonBilling
from loopwise.support.facade import PersonSupport
from loopwise.warehouse import Warehouse

MAX_INSIGHTS = 6
WINDOW_DAYS = 28
MIN_GAP_DAYS = 3
MIN_BASELINE = 5.0  # events a week
DOWN, UP = -0.3, 0.5
MIN_GROUP = 20  # people on each side of the core-feature comparison
MIN_RATIO = 1.25
ACTIVE_DAYS = 14
MAX_FEATURES = 20  # core features compared at once
SAMPLE = 5_000  # people compared at most


@dataclass(frozen=True)
class Facts:
    """What the page already read about the person; insights add only what is missing."""

    person_id: str
    now: datetime
    timezone: str
    summary: PersonSummary | None
    activity: PersonActivity | None
    billing: PersonBilling | None
    support: PersonSupport | None
    product: Sequence[ProductSession | ProductError]  # the page's last 30 days at least
    merged: Sequence[str] = ()  # person ids merged into them


def insights(
    session: Session, warehouse: Warehouse, project_id: int, facts: Facts
) -> list[Insight]:
    """The person's insights, most pressing first (see the module's description)."""
    inactive = _inactive(warehouse, project_id, facts)
    found = [
        (90, _payments(facts)),
        (80, inactive),
        (70, _open_ticket(facts)),
        (60, _errors(facts)),
        (50, _usage(facts, quiet=inactive is not None)),
        (30, _core_feature(session, project_id, facts)),
    ]
    # Good news goes after every warning and observation.
    ranked = [(rank - 40 if i.kind == "good" else rank, i) for rank, i in found if i is not None]
    ranked.sort(key=lambda r: -r[0])
    return [i for _, i in ranked[:MAX_INSIGHTS]]


def _day(moment: datetime) -> str:
    return f"{moment:%-d %b %Y}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _payments(facts: Facts) -> Insight | None:
    billing = facts.billing
    if billing is None or billing.payment_failures_30d < 1:
        return None
    text = f"{_plural(billing.payment_failures_30d, 'failed payment')} in 30 days"
    if billing.next_billing is not None:
        text += f"; next charge on {billing.next_billing:%-d %b %Y}"
    unpaid = _plural(billing.open_failures, "failed invoice")
    evidence = f"{unpaid} not paid since; billing status {billing.status.replace('_', ' ')}"
    return Insight("warning", text, evidence)


def _inactive(warehouse: Warehouse, project_id: int, facts: Facts) -> Insight | None:
    seen = facts.activity.last_seen if facts.activity else None
    seen = seen or (facts.summary.last_seen if facts.summary else None)
    if seen is None:
        return None
    gap = (facts.now - seen) // timedelta(days=1)
    if gap < MIN_GAP_DAYS:
        return None
    days = active_days(warehouse, project_id, facts.person_id, seen - timedelta(days=WINDOW_DAYS),
                       seen + timedelta(microseconds=1), facts.timezone,
                       merged=facts.merged)  # fmt: skip
    interval = max(1, round(WINDOW_DAYS / days)) if days > 1 else None
    if gap < 7 and (interval is None or gap < 2 * interval):
        return None
    text = f"Hasn't been seen for {gap} days"
    if interval is not None:
        text += "; usually active every day" if interval == 1 else (
            f"; usually active every {interval} days"
        )  # fmt: skip
    evidence = (f"Last seen {_day(seen)}; active on {_plural(days, 'day')} of the "
                f"{WINDOW_DAYS} days up to then")  # fmt: skip
    return Insight("warning", text, evidence)


def _open_ticket(facts: Facts) -> Insight | None:
    support = facts.support
    if support is None or support.oldest_open is None:
        return None
    ticket = support.oldest_open
    waited = facts.now - ticket.created_at
    days = waited // timedelta(days=1)
    hours = waited // timedelta(hours=1)
    wait = _plural(days, "day") if days else _plural(max(hours, 0), "hour")
    text = f"Open ticket #{ticket.number} waiting {wait}"
    evidence = f"“{ticket.subject}”, {ticket.status}, priority {ticket.priority}"
    if support.open > 1:
        evidence += f"; {support.open - 1} more open"
    return Insight("warning", text, evidence)


def _place(place: str) -> str:
    """Where an error happened, shortened to the path of a full URL."""
    parts = urlsplit(place)
    return parts.path or place if parts.scheme in ("http", "https") else place


def _errors(facts: Facts) -> Insight | None:
    week = facts.now - timedelta(days=7)
    errors = [e for e in facts.product if isinstance(e, ProductError) and e.at >= week]
    counted = facts.activity.errors_7d if facts.activity else 0
    n = max(len(errors), counted)
    if n < 1:
        return None
    text = f"{_plural(n, 'error')} in the last 7 days"
    places = Counter(_place(e.place) for e in errors if e.place)
    if places:
        place, times = places.most_common(1)[0]
        if times * 2 > len(errors):
            text += f" on {place}"
    kinds = Counter(e.text for e in errors).most_common(3)
    evidence = "; ".join(f"{t} ({'once' if k == 1 else f'{k} times'})" for t, k in kinds)
    return Insight("warning", text, evidence or f"{n} $exception events")


def _usage(facts: Facts, *, quiet: bool) -> Insight | None:
    s = facts.summary
    if s is None:
        return None
    usual = usual_week(s.first_seen, s.weekly_baseline, s.computed_at or facts.now)
    if usual is None or usual.events < MIN_BASELINE:
        return None
    change = s.events_7d / usual.events - 1
    weeks = round(usual.weeks)
    evidence = (f"{s.events_7d} events in the last 7 days vs {usual.events:.0f} a week "
                f"in the {_plural(weeks, 'week') if weeks > 1 else 'week'} before")  # fmt: skip
    if s.computed_at is not None:
        evidence += f" (as of {_day(s.computed_at)})"
    if change <= DOWN and not quiet:
        return Insight("warning", f"Usage {usual.versus(s.events_7d)}", evidence)
    if change >= UP:
        return Insight("good", f"Usage {usual.versus(s.events_7d)}", evidence)
    return None


def _core_feature(session: Session, project_id: int, facts: Facts) -> Insight | None:
    used = set(facts.activity.features_adopted if facts.activity else ())
    if facts.activity is None and facts.summary is not None:
        used = set(facts.summary.features or [])
    missing = [f.name for f in list_features(session, project_id) if f.is_core]
    missing = [name for name in missing if name not in used][:MAX_FEATURES]
    if not missing:
        return None
    best = max((c for c in _comparisons(session, project_id, missing, facts.now) if c.fair),
               key=lambda c: c.ratio, default=None)  # fmt: skip
    if best is None or best.ratio < MIN_RATIO:
        return None
    rates = f"{best.users_rate:.0%} vs {best.others_rate:.0%}"
    text = (
        f"People who use {best.feature} are {best.ratio:.1f}\u00d7 as likely to be active "
        f"in the last {ACTIVE_DAYS} days ({rates})"
    )
    evidence = (f"{best.users_active} of {best.users} people who used {best.feature} in 30 days "
                f"were active in the last {ACTIVE_DAYS} days, against {best.others_active} of "
                f"{best.others} who did not")  # fmt: skip
    if best.sampled:
        evidence += f" (a sample of {SAMPLE:,} people, chosen by id)"
    evidence += "; this person has not used it in 30 days"
    return Insight("info", text, evidence)


@dataclass(frozen=True)
class Comparison:
    feature: str
    users: int
    users_active: int
    others: int
    others_active: int
    sampled: bool = False  # compared over a sample of SAMPLE people

    @property
    def users_rate(self) -> float:
        return self.users_active / self.users if self.users else 0.0

    @property
    def others_rate(self) -> float:
        return self.others_active / self.others if self.others else 0.0

    @property
    def fair(self) -> bool:
        return min(self.users, self.others) >= MIN_GROUP and self.others_active > 0

    @property
    def ratio(self) -> float:
        return self.users_rate / self.others_rate if self.others_rate else 0.0


def _pattern(name: str) -> str:
    """A LIKE pattern finding the JSON string ``name`` in a stored JSON list's text."""
    quoted = json.dumps(name)
    return "%" + quoted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _comparisons(
    session: Session, project_id: int, features: list[str], now: datetime
) -> list[Comparison]:
    """Users and active users of each feature, and of everyone, in one pass over at most
    SAMPLE of the project's summaries: the first by person id, which is a hash, so a
    uniform sample (reading every summary of a large project would cost the page more
    than all its other parts)."""
    s = PersonSummary
    sample = (
        select(s.features, s.last_seen).where(s.project_id == project_id)
        .order_by(s.person_id).limit(SAMPLE).subquery()
    )  # fmt: skip
    active = sample.c.last_seen >= now - timedelta(days=ACTIVE_DAYS)
    text = cast(sample.c.features, String)
    columns = [func.count(), func.sum(case((active, 1), else_=0))]
    for name in features:
        uses = text.like(_pattern(name), escape="\\")
        columns += [func.sum(case((uses, 1), else_=0)),
                    func.sum(case((and_(uses, active), 1), else_=0))]  # fmt: skip
    row = session.execute(select(*columns).select_from(sample)).one()
    total, total_active = int(row[0] or 0), int(row[1] or 0)
    found = []
    for i, name in enumerate(features):
        users, users_active = int(row[2 + 2 * i] or 0), int(row[3 + 2 * i] or 0)
        found.append(Comparison(name, users, users_active, total - users,
                                total_active - users_active, total >= SAMPLE))  # fmt: skip
    return found

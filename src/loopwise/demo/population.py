"""The simulated population: every person of the demo business, drawn once from the seed.

All generators (product events today; subscriptions, marketing spend, support tickets and
API usage later) read the same ``Business``, so the data of every product area tells one
consistent story: the person who churned in the revenue data also went quiet in the event
data and filed the angry ticket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from loopwise.core.errors import InvalidInput
from loopwise.demo import catalog, draws
from loopwise.demo.catalog import Channel

DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class PlanChange:
    """From ``at`` on the person is on ``plan``; ``kind`` says how they got there.

    Kinds: ``signup``, ``upgrade``, ``downgrade`` and ``cancel`` (a paid subscription ends
    and the account falls back to free).
    """

    at: datetime
    plan: str
    kind: str


@dataclass(frozen=True, slots=True)
class SimPerson:
    """One simulated user of the product, with everything generators need to agree on.

    ``existing`` people signed up before the simulated period; the rest sign up inside it.
    ``activity`` is sessions per week when fully engaged. ``adoption_days[i]`` is when the
    person starts using ``catalog.FEATURES[i]`` (days after sign-up, ``inf`` for never);
    they use it only while their plan includes it.
    """

    index: int
    distinct_id: str
    anon_id: str
    name: str
    email: str
    signup_at: datetime
    existing: bool
    channel: Channel
    campaign: str
    referrer: str
    landing_path: str
    segment: str
    personal: bool
    company: str
    company_size: str
    country: str
    timezone: str
    utc_offset_minutes: int
    browser: str
    os: str
    device: str
    plans: tuple[PlanChange, ...]
    churn_at: datetime | None
    activity: float
    adoption_days: tuple[float, ...]

    def plan_at(self, moment: datetime) -> str:
        """The plan the person is on at ``moment`` (their sign-up plan before sign-up)."""
        plan = self.plans[0].plan
        for change in self.plans:
            if change.at > moment:
                break
            plan = change.plan
        return plan

    def feature_adopted_at(self, feature_index: int) -> datetime | None:
        """When the person starts using a feature, or None if they never do."""
        days = self.adoption_days[feature_index]
        return None if math.isinf(days) else self.signup_at + days * DAY


@dataclass(frozen=True)
class Business:
    """The simulated company and its people over ``[start, end]``."""

    seed: int
    start: datetime
    end: datetime
    people: tuple[SimPerson, ...]

    @classmethod
    def build(cls, *, users: int, days: int, seed: int, end: datetime) -> Business:
        """Draw the population; the same arguments always give the same business."""
        if users < 1:
            raise InvalidInput("users", f"must be at least 1, got {users}")
        if days < 1:
            raise InvalidInput("days", f"must be at least 1, got {days}")
        if end.utcoffset() is None:
            raise InvalidInput("end", "must be timezone-aware")
        end = end.astimezone(UTC)
        start = end - days * DAY
        rng = np.random.default_rng([seed, 0])
        people = _draw_people(rng, users, start, end)
        return cls(seed=seed, start=start, end=end, people=people)


def _draw_people(
    rng: np.random.Generator, users: int, start: datetime, end: datetime
) -> tuple[SimPerson, ...]:
    traits = draws.draw_traits(rng, users)
    start_us, end_us = to_micros(start), to_micros(end)
    signup_us = draws.draw_signups(rng, traits, start_us, end_us)
    # Ids follow sign-up order, like an auto-increment user id would.
    order = np.argsort(signup_us, kind="stable")
    traits = traits.take(order)
    signup_us = signup_us[order]
    lives = draws.draw_lives(rng, traits, signup_us, start_us)
    identities = draws.draw_identities(rng, traits)
    return tuple(
        _person(i, traits, identities, lives, int(signup_us[i]), start_us, end_us)
        for i in range(users)
    )


def _person(
    i: int,
    traits: draws.Traits,
    identities: draws.Identities,
    lives: draws.Lives,
    signup_us: int,
    start_us: int,
    end_us: int,
) -> SimPerson:
    channel = catalog.CHANNELS[int(traits.channel[i])]
    segment = catalog.SEGMENTS[int(traits.segment[i])]
    country, zone, offset, _ = catalog.COUNTRIES[int(traits.country[i])]
    browser, os_name, device, _ = catalog.DEVICES[int(traits.device[i])]
    churn_us = int(lives.churn_us[i])
    plans = draws.plan_history(
        catalog.PLANS[int(traits.plan[i])], signup_us, churn_us, end_us, lives.plan_draws[i],
        business=not segment.personal, paid=channel.paid,
    )  # fmt: skip
    changes = tuple(PlanChange(from_micros(at), plan, kind) for at, plan, kind in plans)
    return SimPerson(
        index=i,
        distinct_id=f"usr_{i + 1:06d}",
        anon_id=identities.anon_ids[i],
        name=identities.names[i],
        email=identities.emails[i],
        signup_at=from_micros(signup_us),
        existing=signup_us < start_us,
        channel=channel,
        campaign=_pick(channel.campaigns, traits.pick[i, 0]),
        referrer=_pick(channel.referrers, traits.pick[i, 1]),
        landing_path=_pick(channel.landing, traits.pick[i, 2]),
        segment=segment.name,
        personal=segment.personal,
        company=identities.companies[i],
        company_size=identities.sizes[i],
        country=country,
        timezone=zone,
        utc_offset_minutes=offset,
        browser=browser,
        os=os_name,
        device=device,
        plans=changes,
        churn_at=from_micros(churn_us) if churn_us <= end_us else None,
        activity=float(traits.activity[i]),
        adoption_days=draws.adoption_days(plans, signup_us, lives.features[i]),
    )


def _pick(options: tuple[str, ...], draw: float) -> str:
    return options[int(draw * len(options))] if options else ""


def to_micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def from_micros(micros: int) -> datetime:
    """The UTC datetime of a count of microseconds since the Unix epoch."""
    return _EPOCH + timedelta(microseconds=micros)

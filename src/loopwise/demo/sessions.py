"""When a person uses the product: session start times with realistic rhythms.

A person's expected sessions per local day follow their weekly activity, scaled by the
weekday/weekend rhythm of their segment, a novelty boost after sign-up and a decline in the
weeks before they churn. Start hours follow their segment's local hour-of-day profile.
Everything is drawn per person with numpy, so the cost is per person, not per session.
"""

from __future__ import annotations

import numpy as np

from loopwise.demo import catalog
from loopwise.demo.draws import DAY_US, HOUR_US, Ints
from loopwise.demo.population import SimPerson, to_micros

NOVELTY_BOOST = 1.5  # extra activity right after sign-up ...
NOVELTY_DAYS = 4.0  # ... fading with this time constant
DECAY_DAYS = 35.0  # engagement declines over this many days before churn ...
DECAY_FLOOR = 0.12  # ... down to this share of normal
RETURN_CHANCE = 0.2  # churned people who come back for a session or two

_HOUR_CDF = {
    personal: np.cumsum(hours) / np.sum(hours)
    for personal, hours in ((False, catalog.HOURS_BUSINESS), (True, catalog.HOURS_PERSONAL))
}


def session_starts(rng: np.random.Generator, person: SimPerson, start_us: int, end_us: int) -> Ints:
    """Sorted UTC start times (µs) of the person's sessions inside ``[start, end]``."""
    signup_us = to_micros(person.signup_at)
    churn_us = to_micros(person.churn_at) if person.churn_at else None
    active_from = max(signup_us, start_us)
    active_to = min(churn_us if churn_us is not None else end_us, end_us)
    regular = _regular(rng, person, signup_us, churn_us, active_from, active_to)
    returns = _returns(rng, churn_us, end_us)
    return np.sort(np.concatenate([regular, returns]))


def _regular(
    rng: np.random.Generator,
    person: SimPerson,
    signup_us: int,
    churn_us: int | None,
    active_from: int,
    active_to: int,
) -> Ints:
    if active_to <= active_from:
        return np.empty(0, dtype=np.int64)
    offset = person.utc_offset_minutes * 60_000_000
    days = np.arange((active_from + offset) // DAY_US, (active_to + offset) // DAY_US + 1)
    weekend_factor = catalog.WEEKEND_PERSONAL if person.personal else catalog.WEEKEND_BUSINESS
    weekend = (days + 3) % 7 >= 5  # 1970-01-01 was a Thursday
    midday = days * DAY_US + DAY_US // 2 - offset
    rate = person.activity / (5 + 2 * weekend_factor) * np.where(weekend, weekend_factor, 1.0)
    rate *= 1 + NOVELTY_BOOST * np.exp(-(midday - signup_us) / (NOVELTY_DAYS * DAY_US))
    if churn_us is not None:
        rate *= np.clip(
            DECAY_FLOOR + (1 - DECAY_FLOOR) * (churn_us - midday) / (DECAY_DAYS * DAY_US),
            DECAY_FLOOR,
            1.0,
        )
    counts = rng.poisson(rate)
    hours = np.searchsorted(_HOUR_CDF[person.personal], rng.random(int(counts.sum())))
    local = np.repeat(days * DAY_US, counts) + hours * HOUR_US
    starts = local - offset + (rng.random(len(local)) * HOUR_US).astype(np.int64)
    return starts[(starts >= active_from) & (starts <= active_to)]


def _returns(rng: np.random.Generator, churn_us: int | None, end_us: int) -> Ints:
    """A churned person occasionally looks in again: silence, or a rare visit."""
    if churn_us is None or churn_us >= end_us or rng.random() >= RETURN_CHANCE:
        return np.empty(0, dtype=np.int64)
    count = 1 + int(rng.integers(2))
    return rng.integers(churn_us, end_us, size=count, dtype=np.int64)

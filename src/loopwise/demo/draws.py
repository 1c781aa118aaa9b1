"""Random draws that shape the population, vectorised over all people at once.

The order of draws from the generator is part of the output: changing it changes every
demo data set for a seed. Add new draws at the end of a function, or from a new stream.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from loopwise.demo import catalog, names
from loopwise.ingest.facade import uuid4_texts

DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
EXISTING_SHARE = 0.15  # people who signed up before the simulated period
GROWTH = math.log(3.0)  # sign-ups per day triple over the period
PAST_SIGNUP_DAYS = 150.0  # mean age of existing accounts at the start
MONTHLY_CHURN = (0.2, 0.06, 0.035)  # by plan: free, pro, team
EARLY_CHURN = 0.3  # free sign-ups who only try the product for a few days
TYPICAL_ACTIVITY = 2.6  # sessions per week of an average engaged user
PLAN_INDEX = {plan: i for i, plan in enumerate(catalog.PLANS)}

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def _weights(values: Any) -> Floats:
    array: Floats = np.asarray(values, dtype=np.float64)
    normalised: Floats = array / array.sum()
    return normalised


@dataclass(frozen=True)
class Traits:
    """Per-person categorical traits as parallel arrays (indexes into ``catalog`` tables)."""

    existing: npt.NDArray[np.bool_]
    channel: Ints
    segment: Ints
    size: npt.NDArray[np.str_]
    country: Ints
    device: Ints
    plan: Ints
    activity: Floats
    pick: Floats  # uniforms for campaign, referrer and landing page

    def __len__(self) -> int:
        return len(self.channel)

    def take(self, order: Ints) -> Traits:
        """The same traits with people reordered."""
        return Traits(**{f.name: getattr(self, f.name)[order] for f in fields(self)})


def draw_traits(rng: np.random.Generator, n: int) -> Traits:
    """Who each person is: channel, segment, market, device, starting plan, engagement."""
    existing = rng.random(n) < EXISTING_SHARE
    channel = rng.choice(len(catalog.CHANNELS), n, p=_weights([c.share for c in catalog.CHANNELS]))
    segment = rng.choice(len(catalog.SEGMENTS), n, p=_weights([s.share for s in catalog.SEGMENTS]))
    country = rng.choice(len(catalog.COUNTRIES), n, p=_weights([c[3] for c in catalog.COUNTRIES]))
    device = rng.choice(len(catalog.DEVICES), n, p=_weights([d[3] for d in catalog.DEVICES]))
    size = _draw_sizes(rng, segment)
    paid_share = np.array([s.paid_share for s in catalog.SEGMENTS])[segment]
    paid_share = np.minimum(paid_share * np.array([c.paid for c in catalog.CHANNELS])[channel], 0.9)
    team_share = np.array([catalog.TEAM_SHARE[s] for s in size.tolist()])
    paid, team = rng.random(n) < paid_share, rng.random(n) < team_share
    plan = np.where(paid, np.where(team, 2, 1), 0)
    personal = np.array([s.personal for s in catalog.SEGMENTS])[segment]
    activity = rng.lognormal(math.log(TYPICAL_ACTIVITY), 0.55, n)
    activity *= np.where(personal, 0.75, 1.15) * np.array([0.8, 1.1, 1.3])[plan]
    return Traits(
        existing, channel, segment, size, country, device, plan, activity, rng.random((n, 3))
    )


def _draw_sizes(rng: np.random.Generator, segment: Ints) -> npt.NDArray[np.str_]:
    size = np.empty(len(segment), dtype="U8")
    for index, seg in enumerate(catalog.SEGMENTS):
        members = np.flatnonzero(segment == index)
        labels = [label for label, _ in seg.sizes]
        size[members] = rng.choice(labels, len(members), p=_weights([w for _, w in seg.sizes]))
    return size


def draw_signups(rng: np.random.Generator, traits: Traits, start_us: int, end_us: int) -> Ints:
    """Sign-up times: growing over the period, in local office or evening hours, fewer at
    weekends, with a Product Hunt launch spike; existing accounts before ``start``."""
    n = len(traits)
    personal = np.array([s.personal for s in catalog.SEGMENTS])[traits.segment]
    offsets = np.array([c[2] for c in catalog.COUNTRIES])[traits.country] * 60_000_000
    signup = _seasonal_times(rng, personal, offsets, start_us, end_us)
    launch = np.flatnonzero(
        traits.channel == [c.name for c in catalog.CHANNELS].index("producthunt_referral")
    )
    launch_at = start_us + int(0.55 * (end_us - start_us))
    spike = launch_at + (rng.exponential(1.5, len(launch)) * DAY_US).astype(np.int64)
    signup[launch] = np.where(spike < end_us, spike, signup[launch])
    past = start_us - ((rng.exponential(PAST_SIGNUP_DAYS, n) + 1) * DAY_US).astype(np.int64)
    return np.where(traits.existing, past, signup)


def _seasonal_times(
    rng: np.random.Generator, personal: npt.NDArray[np.bool_], offsets: Ints, start: int, end: int
) -> Ints:
    """Rejection sampling: growth-curve times kept with the weight of their local hour/day."""
    hours = np.array([catalog.HOURS_BUSINESS, catalog.HOURS_PERSONAL])
    hours /= hours.max()
    weekend = np.array([catalog.WEEKEND_BUSINESS, catalog.WEEKEND_PERSONAL])
    weekend /= max(1.0, weekend.max())
    result = np.empty(len(personal), dtype=np.int64)
    pending = np.arange(len(personal))
    while pending.size:
        grown = np.log1p(rng.random(pending.size) * (math.exp(GROWTH) - 1)) / GROWTH
        times = start + (grown * (end - start)).astype(np.int64)
        local = times + offsets[pending]
        kind = personal[pending].astype(np.intp)
        weight = hours[kind, (local // HOUR_US) % 24]
        weight *= np.where((local // DAY_US + 3) % 7 >= 5, weekend[kind], 1.0)
        keep = rng.random(pending.size) < weight
        result[pending[keep]] = times[keep]
        pending = pending[~keep]
    return result


@dataclass(frozen=True)
class Lives:
    """How each person's time with the product unfolds: churn, plan moves, feature uptake."""

    churn_us: Ints
    plan_draws: Floats  # (n, 7) uniforms consumed by ``plan_history``
    features: Floats  # (n, features, 2): adoption draw, delay in days


def draw_lives(rng: np.random.Generator, traits: Traits, signup_us: Ints, start_us: int) -> Lives:
    """Churn times and the draws behind plan changes and feature adoption."""
    n = len(traits)
    engagement = np.sqrt(TYPICAL_ACTIVITY / traits.activity)
    monthly = np.array(MONTHLY_CHURN)[traits.plan] * engagement
    monthly *= np.array([c.churn for c in catalog.CHANNELS])[traits.channel]
    lifetime = rng.exponential(30.0 / monthly)
    churn_scale = np.array([c.churn for c in catalog.CHANNELS])[traits.channel]
    early = (traits.plan == 0) & (rng.random(n) < EARLY_CHURN * churn_scale)
    lifetime = np.where(early & ~traits.existing, rng.uniform(0.3, 10.0, n), lifetime)
    # Existing accounts are alive at the start; churn is memoryless, so draw from there.
    born = np.where(traits.existing, start_us, signup_us)
    churn_us = born + (lifetime * DAY_US).astype(np.int64)
    mean_delay = np.array([f.days_to_adopt for f in catalog.FEATURES])
    delays = rng.exponential(1.0, (n, len(mean_delay))) * mean_delay * engagement[:, None]
    features = np.stack([rng.random(delays.shape), delays], axis=-1)
    return Lives(churn_us, rng.random((n, 7)), features)


def plan_history(
    plan: str,
    signup_us: int,
    churn_us: int,
    end_us: int,
    u: Floats,
    *,
    business: bool,
    paid: float,
) -> list[tuple[int, str, str]]:
    """(time, plan, kind) of a person's plan changes, from sign-up to cancellation."""
    history = [(signup_us, plan, "signup")]
    limit, at = min(churn_us, end_us), signup_us
    if plan == "free" and u[0] < 0.2 * paid:
        at += int((2 + 45 * u[1] ** 2) * DAY_US)
        plan = "team" if business and u[2] < 0.2 else "pro"
        history.append((at, plan, "upgrade"))
    if plan == "pro" and business and u[3] < 0.12:
        at += int((15 + 60 * u[4]) * DAY_US)
        plan = "team"
        history.append((at, plan, "upgrade"))
    if plan != "free" and u[5] < 0.1:
        at += int((20 + 60 * u[6]) * DAY_US)
        plan = "pro" if plan == "team" else "free"
        history.append((at, plan, "downgrade"))
    history = [change for change in history if change[0] < limit or change[2] == "signup"]
    if churn_us <= end_us and history[-1][1] != "free":
        history.append((churn_us, "free", "cancel"))
    return history


def adoption_days(
    plans: list[tuple[int, str, str]], signup_us: int, features: Floats
) -> tuple[float, ...]:
    """Days after sign-up at which each feature is adopted (``inf`` = never).

    A feature becomes a candidate on the first plan that includes it; whether the person
    takes it up depends on their draw against that plan's adoption chance.
    """
    adopted = []
    for index, feature in enumerate(catalog.FEATURES):
        days = math.inf
        for at, plan, _ in plans:
            if features[index, 0] < feature.adoption[PLAN_INDEX[plan]]:
                days = max(0.0, (at - signup_us) / DAY_US) + float(features[index, 1])
                break
        adopted.append(days)
    return tuple(adopted)


@dataclass(frozen=True)
class Identities:
    """Names, unique emails, companies and anonymous browser ids, one per person."""

    names: list[str]
    emails: list[str]
    companies: list[str]
    sizes: list[str]
    anon_ids: list[str]


def draw_identities(rng: np.random.Generator, traits: Traits) -> Identities:
    """Plausible, unique identities; business people get an address at their company."""
    n = len(traits)
    first = rng.integers(len(names.FIRST_NAMES), size=n)
    last = rng.integers(len(names.LAST_NAMES), size=n)
    company_draws = rng.random((n, 3))
    numbers = rng.integers(1, 100, size=n)
    anon_ids = uuid4_texts(rng.bytes(16 * n))
    people: list[str] = []
    emails: list[str] = []
    companies: list[str] = []
    used: set[str] = set()
    for i in range(n):
        given, family = names.FIRST_NAMES[first[i]], names.LAST_NAMES[last[i]]
        segment = catalog.SEGMENTS[int(traits.segment[i])]
        company = "" if segment.personal else _company(segment.name, company_draws[i])
        email = _email(given, family, company, int(numbers[i]), used)
        people.append(f"{given} {family}")
        emails.append(email)
        companies.append(company)
    return Identities(people, emails, companies, traits.size.tolist(), anon_ids)


def _company(segment: str, u: Floats) -> str:
    first = names.COMPANY_FIRST[int(u[0] * len(names.COMPANY_FIRST))]
    second = names.COMPANY_SECOND[int(u[1] * len(names.COMPANY_SECOND))]
    kinds = names.COMPANY_KIND[segment]
    return f"{first} {second} {kinds[int(u[2] * len(kinds))]}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _email(given: str, family: str, company: str, number: int, used: set[str]) -> str:
    if company:
        domain = re.sub(r"[^a-z0-9]+", "-", company.lower()).strip("-") + ".example"
        local = f"{_slug(given)}.{_slug(family)}"
    else:
        domain = names.PERSONAL_DOMAINS[number % len(names.PERSONAL_DOMAINS)]
        local = f"{_slug(given)}{_slug(family)[:1]}{number}"
    email, suffix = f"{local}@{domain}", 2
    while email in used:
        email, suffix = f"{local}{suffix}@{domain}", suffix + 1
    used.add(email)
    return email

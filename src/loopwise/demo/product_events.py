"""The product-events generator: what each person does in Recipely, as analytics events.

Per person: the acquisition journey (if they sign up inside the period), sessions of page
views and feature actions (``$feature`` names the feature), plan changes and cancellation.
Session times and the choice of feature per action are drawn with numpy per person; the
per-event Python work is only building each event's properties.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from loopwise.demo import catalog
from loopwise.demo.acquisition import (
    add_bounced_visitors,
    add_signup_journey,
    device_properties,
    person_profile,
)
from loopwise.demo.contracts import Delivered, DemoTarget
from loopwise.demo.draws import DAY_US, PLAN_INDEX, Floats, Ints
from loopwise.demo.identities import plan_status
from loopwise.demo.population import DAY, Business, SimPerson, to_micros
from loopwise.demo.sessions import session_starts
from loopwise.demo.timeline import Props, Timeline
from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import capture

STREAM = 1  # this generator's random stream: default_rng([seed, STREAM, person index])
EVENT_GAP_SECONDS = 40.0  # mean time between actions in a session
PAGEVIEW_SHARE = 0.3  # share of actions after the first that are plain page views
ACTIONS_SHAPE, ACTIONS_SCALE = 4.0, 0.9  # gamma: a person's mean extra actions per session
SECOND_US = 1_000_000

_INTENSITY = np.array([f.intensity for f in catalog.FEATURES])
# (plans, features): whether the plan includes the feature.
_INCLUDED = np.array([[f.adoption[p] > 0 for f in catalog.FEATURES] for p in range(3)])
_PAGE_WEIGHTS = np.array([w for _, w in catalog.APP_PAGES]) / sum(w for _, w in catalog.APP_PAGES)
_PAGE_PROPS = [
    {"$current_url": catalog.APP_URL + path, "$pathname": path} for path, _ in catalog.APP_PAGES
]
_FEATURE_PROPS = [
    {"$current_url": catalog.APP_URL + f.pathname, "$pathname": f.pathname, "$feature": f.name}
    for f in catalog.FEATURES
]


class ProductEvents:
    """Generator of product analytics events, delivered through ``ingest.facade.capture``."""

    name = "product events"

    def generate(self, business: Business, people: Sequence[SimPerson]) -> Iterator[CaptureEvent]:
        for person in people:
            yield from person_events(business, person)

    def deliver(self, target: DemoTarget, records: Sequence[CaptureEvent]) -> Delivered:
        written = capture(
            target.warehouse, target.project_id, records, received_at=target.received_at
        )
        times = [event.timestamp for event in records]
        return Delivered(written, min(times, default=None), max(times, default=None))


def person_events(business: Business, person: SimPerson) -> list[CaptureEvent]:
    """All events of one person inside the business's period, in time order."""
    rng = np.random.default_rng([business.seed, STREAM, person.index])
    start_us, end_us = to_micros(business.start), to_micros(business.end)
    timeline = Timeline(start_us, end_us)
    device = device_properties(person.browser, person.os, person.device, person.country)
    if not person.existing:
        add_bounced_visitors(timeline, rng, person)
        add_signup_journey(timeline, rng, person, device)
    starts = session_starts(rng, person, start_us, end_us)
    _add_sessions(timeline, rng, person, device, starts)
    _add_plan_changes(timeline, rng, person, device)
    return timeline.to_events(rng)


def _add_login(
    timeline: Timeline, person: SimPerson, device: Props, at: int, plan: str, session: int
) -> None:
    """Accounts older than the period identify when they first log in during it."""
    props = device | _PAGE_PROPS[0] | {"$anon_distinct_id": person.anon_id}
    profile = person_profile(person, plan)
    timeline.add(at - SECOND_US, "$identify", person.distinct_id, props, session, set_=profile)


@dataclass(frozen=True)
class _Actions:
    """A person's actions across their sessions, as parallel Python lists."""

    times: list[int]
    features: list[int]  # index into catalog.FEATURES, -1 for a page view
    pages: list[int]  # index into catalog.APP_PAGES, for page views
    sessions: list[int]  # index of the action's session
    variants: list[list[float]]  # uniforms choosing the event name and option value
    plans: list[str]  # plan at each session


def _draw_actions(rng: np.random.Generator, person: SimPerson, starts: Ints) -> _Actions:
    """Actions per session, their times, and what each one is; all drawn in bulk."""
    counts = 1 + rng.poisson(rng.gamma(ACTIONS_SHAPE, ACTIONS_SCALE), len(starts))
    firsts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    session_of = np.repeat(np.arange(len(starts)), counts)
    gaps = (rng.exponential(EVENT_GAP_SECONDS, len(session_of)) * SECOND_US).astype(np.int64)
    gaps[firsts] = 0
    elapsed = np.cumsum(gaps)
    times = starts[session_of] + elapsed - np.repeat(elapsed[firsts], counts)
    plans = _plan_indexes(person, starts)
    features = _pick_features(rng, person, starts, plans, session_of)
    features[firsts] = -1  # a session opens with a page view of the dashboard
    pages = rng.choice(len(_PAGE_PROPS), len(session_of), p=_PAGE_WEIGHTS)
    pages[firsts] = 0
    return _Actions(
        times=times.tolist(),
        features=features.tolist(),
        pages=pages.tolist(),
        sessions=session_of.tolist(),
        variants=rng.random((len(session_of), 2)).tolist(),
        plans=[catalog.PLANS[p] for p in plans.tolist()],
    )


def _add_sessions(
    timeline: Timeline, rng: np.random.Generator, person: SimPerson, device: Props, starts: Ints
) -> None:
    if not len(starts):
        return
    actions = _draw_actions(rng, person, starts)
    handles = timeline.new_sessions(len(starts))
    if person.existing:
        _add_login(timeline, person, device, int(starts[0]), actions.plans[0], handles[0])
    did, plans = person.distinct_id, actions.plans
    for at, feature, page, session, (v1, v2) in zip(
        actions.times, actions.features, actions.pages, actions.sessions, actions.variants,
        strict=True,
    ):  # fmt: skip
        if feature < 0:
            props = {**device, **_PAGE_PROPS[page], "plan": plans[session]}
            timeline.add(at, "$pageview", did, props, handles[session])
            continue
        spec = catalog.FEATURES[feature]
        props = {**device, **_FEATURE_PROPS[feature], "plan": plans[session]}
        if spec.option is not None:
            key, values = spec.option
            props[key] = values[int(v2 * len(values))]
        timeline.add(at, spec.events[int(v1 * len(spec.events))], did, props, handles[session])


def _plan_indexes(person: SimPerson, starts: Ints) -> Ints:
    """The plan (index into ``catalog.PLANS``) at each session start."""
    change_times = np.array([to_micros(c.at) for c in person.plans], dtype=np.int64)
    plans = np.array([PLAN_INDEX[c.plan] for c in person.plans], dtype=np.int64)
    return plans[np.maximum(np.searchsorted(change_times, starts, side="right") - 1, 0)]


def _pick_features(
    rng: np.random.Generator, person: SimPerson, starts: Ints, plans: Ints, session_of: Ints
) -> Ints:
    """The feature of each action (-1 for a page view): among the features the person has
    adopted and their plan includes at that session, weighted by their taste."""
    adopted_at = to_micros(person.signup_at) + np.array(person.adoption_days) * DAY_US
    usable = (adopted_at[None, :] <= starts[:, None]) & _INCLUDED[plans]
    taste = rng.lognormal(0.0, 0.5, len(_INTENSITY)) * _INTENSITY
    weights: Floats = np.cumsum(np.where(usable, taste, 0.0), axis=1)[session_of]
    draw = rng.random(len(session_of)) * weights[:, -1]
    chosen = np.argmax(weights > draw[:, None], axis=1)
    view = (weights[:, -1] == 0) | (rng.random(len(session_of)) < PAGEVIEW_SHARE)
    return np.where(view, -1, chosen)


def _add_plan_changes(
    timeline: Timeline, rng: np.random.Generator, person: SimPerson, device: Props
) -> None:
    """Upgrades and downgrades as ``plan_changed``; the end of a paid subscription as
    ``subscription_cancelled``. Both update the person's ``plan`` with ``$set``."""
    billing = device | {"$current_url": catalog.APP_URL + "/billing", "$pathname": "/billing"}
    for before, change in zip(person.plans, person.plans[1:], strict=False):
        at = to_micros(change.at)
        session = timeline.new_session()
        mrr_change = catalog.PRICES[change.plan] - catalog.PRICES[before.plan]
        timeline.add(at - 45 * SECOND_US, "$pageview", person.distinct_id, billing, session)
        if change.kind == "cancel":
            reason = catalog.CANCEL_REASONS[int(rng.integers(len(catalog.CANCEL_REASONS)))]
            tenure = (change.at - person.signup_at) // DAY
            props = billing | {
                "plan": before.plan, "reason": reason, "tenure_days": tenure,
                "mrr_change": mrr_change,
            }  # fmt: skip
            timeline.add(
                at, "subscription_cancelled", person.distinct_id, props, session,
                set_=plan_status(change),
            )  # fmt: skip
        else:
            props = billing | {
                "from_plan": before.plan, "to_plan": change.plan, "direction": change.kind,
                "mrr_change": mrr_change,
            }  # fmt: skip
            timeline.add(
                at, "plan_changed", person.distinct_id, props, session, set_=plan_status(change)
            )

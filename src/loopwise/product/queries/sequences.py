"""Funnel matching over person timelines, vectorised with NumPy.

A timeline is every relevant event of every person, sorted by person, then time, then the
lowest step the event matches (so events at the same moment are taken in step order).
Each event carries a bit mask of the steps it matches and one of the exclusions it
matches. The SQL that builds it is written once for both engines
(``funnels.py``); the matching below is the same code whichever engine answered, which is
how both give identical funnels.

Every first-step event inside the date range starts an *attempt*. An attempt advances
greedily: step ``i`` is the first event after step ``i - 1``'s that matches step ``i``
(one event fills at most one step) and lies within the conversion window of the attempt's
first event. Taking the earliest match never shortens an attempt, so a person's furthest
attempt is the longest chain their events allow. The counted attempt of a person, whose
times are reported, is the first of their furthest attempts to get there; when several
get there with the same event, the one that started last (so a run of first-step events
counts from its last one, as in PostHog and ClickHouse's ``windowFunnel``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Order = Literal["ordered", "strict", "any"]


@dataclass(frozen=True)
class Timeline:
    person: Ints  # dense person number, non-decreasing
    ts: Ints  # microseconds since the epoch
    steps: Ints  # bit i: the event matches step i
    exclusions: Ints  # bit j: the event matches exclusion j


@dataclass(frozen=True)
class Attempts:
    """The counted attempt of each person who entered the funnel and was not excluded."""

    person: Ints
    level: Ints  # how many steps the attempt reached, 1..k
    positions: Ints  # (persons, k): timeline row of each step, -1 where not reached
    times: Ints  # (persons, k): microseconds, 0 where not reached


def match(
    timeline: Timeline,
    k: int,
    order: Order,
    window_us: int,
    start_us: int,
    end_us: int,
    exclusions: Sequence[tuple[int, int]] = (),
) -> Attempts:
    """The counted attempt per person. ``exclusions`` are (from_step, to_step) pairs, in
    the order of the timeline's exclusion bits."""
    t = timeline
    entry = (t.steps & 1) != 0 if order != "any" else t.steps != 0
    entry &= (t.ts >= start_us) & (t.ts < end_us)
    if order == "ordered" and len(entry) > 1:
        # In a run of events that match only the first step, the last one dominates the
        # others (same later steps, a later window): the others need no attempt.
        pure = entry & (t.steps == 1) & (t.exclusions == 0)
        entry[:-1] &= ~(pure[:-1] & pure[1:] & (t.person[:-1] == t.person[1:]))
    starts = np.flatnonzero(entry).astype(np.int64)
    limit = t.ts[starts] + window_us
    if order == "any":
        positions = _any_order(t, starts, limit, k)
    else:
        positions = _in_order(t, starts, limit, k, strict=order == "strict")
    level = (positions >= 0).sum(axis=1).astype(np.int64)
    owner = t.person[starts]
    spoiled = _spoiled(t, positions, limit, exclusions)
    keep = ~np.isin(owner, owner[spoiled])
    owner, level, positions, starts = owner[keep], level[keep], positions[keep], starts[keep]
    # Of each person's furthest attempts, the first to get there; of several that got
    # there with the same event, the one that started last (the freshest start).
    finished = positions[np.arange(len(level)), level - 1]
    ranked = np.lexsort((-starts, finished, -level, owner))
    owner = owner[ranked]
    first = np.ones(len(owner), dtype=bool)
    first[1:] = owner[1:] != owner[:-1]
    chosen = ranked[first]
    positions = positions[chosen]
    times = np.where(positions >= 0, t.ts[np.maximum(positions, 0)], 0)
    return Attempts(owner[first], level[chosen], positions, times)


def _in_order(t: Timeline, starts: Ints, limit: Ints, k: int, *, strict: bool) -> Ints:
    positions = np.full((len(starts), k), -1, dtype=np.int64)
    positions[:, 0] = starts
    owner = t.person[starts]
    current, alive = starts, np.ones(len(starts), dtype=bool)
    last = len(t.ts) - 1
    for step in range(1, k):
        bit = 1 << step
        if strict:  # the very next event must be this step
            following = current + 1
            ok = alive & (following <= last)
            following = np.minimum(following, last)
            ok &= (t.steps[following] & bit) != 0
        else:
            candidates = np.flatnonzero(t.steps & bit)
            if not len(candidates):
                break
            index = np.searchsorted(candidates, current, side="right")
            ok = alive & (index < len(candidates))
            following = candidates[np.minimum(index, len(candidates) - 1)]
        ok &= (t.person[following] == owner) & (t.ts[following] <= limit)
        positions[ok, step] = following[ok]
        current, alive = np.where(ok, following, current), ok
        if not alive.any():
            break
    return positions


def _any_order(t: Timeline, starts: Ints, limit: Ints, k: int) -> Ints:
    """Each step's first matching event from the attempt's start on that no other step
    took (the steps with fewer matching events choose first, so a pageview of /pricing
    goes to a "/pricing" step before an "any pageview" one), then the steps sorted by
    when they happened."""
    found = np.full((len(starts), k), -1, dtype=np.int64)
    owner = t.person[starts]
    matching = [np.flatnonzero(t.steps & (1 << step)) for step in range(k)]
    for step in sorted(range(k), key=lambda s: (len(matching[s]), s)):
        candidates = matching[step]
        if not len(candidates):
            continue
        index = np.searchsorted(candidates, starts, side="left")
        for _ in range(k):  # skip events earlier steps already took
            at = candidates[np.minimum(index, len(candidates) - 1)]
            taken = (found == at[:, None]).any(axis=1) & (index < len(candidates))
            if not taken.any():
                break
            index = index + taken
        ok = index < len(candidates)
        at = candidates[np.minimum(index, len(candidates) - 1)]
        ok &= (t.person[at] == owner) & (t.ts[at] <= limit)
        found[ok, step] = at[ok]
    beyond = np.iinfo(np.int64).max
    ordered = np.sort(np.where(found >= 0, found, beyond), axis=1)
    return np.where(ordered == beyond, -1, ordered)


def _spoiled(
    t: Timeline, positions: Ints, limit: Ints, exclusions: Sequence[tuple[int, int]]
) -> Bools:
    """Attempts with an exclusion event after their ``from`` step and before their ``to``
    step (before the end of the window when they never reached ``to``)."""
    spoiled = np.zeros(len(positions), dtype=bool)
    for bit, (begin, finish) in enumerate(exclusions):
        candidates = np.flatnonzero(t.exclusions & (1 << bit))
        if not len(candidates):
            continue
        began = positions[:, begin]
        index = np.searchsorted(candidates, began, side="right")
        hit = (began >= 0) & (index < len(candidates))
        at = candidates[np.minimum(index, len(candidates) - 1)]
        ended = positions[:, finish]
        before_end = np.where(ended >= 0, at < ended, t.ts[at] <= limit)
        spoiled |= hit & (t.person[at] == t.person[np.maximum(began, 0)]) & before_end
    return spoiled


@dataclass(frozen=True)
class StepSummary:
    count: int
    average_seconds: float | None
    median_seconds: float | None


def summarise(level: Ints, times: Ints, k: int) -> list[StepSummary]:
    """Persons at each step, and the time from the previous step of those who got there."""
    found = []
    for step in range(k):
        reached = level > step
        if step == 0 or not reached.any():
            found.append(StepSummary(int(reached.sum()), None, None))
            continue
        seconds = (times[reached, step] - times[reached, step - 1]) / 1e6
        found.append(
            StepSummary(int(reached.sum()), float(seconds.mean()), float(np.median(seconds)))
        )
    return found


def histogram(level: Ints, times: Ints, k: int, bins: int = 10) -> list[tuple[float, float, int]]:
    """Time from the first to the last step of the persons who completed the funnel, in
    up to ``bins`` equal bins of whole seconds."""
    done = level >= k
    if not done.any():
        return []
    seconds = (times[done, k - 1] - times[done, 0]) / 1e6
    low, high = float(np.floor(seconds.min())), float(np.ceil(seconds.max()))
    width = max(np.ceil((high - low) / bins), 1.0)
    count = max(int(np.ceil((high - low) / width)), 1)
    edges = low + width * np.arange(count + 1)  # the last bin includes its upper edge
    counts, _ = np.histogram(seconds, bins=edges)
    return [(float(edges[i]), float(edges[i + 1]), int(counts[i])) for i in range(len(counts))]

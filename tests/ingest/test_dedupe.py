"""Dedupe keys and the window of recently stored keys."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from loopwise.ingest.dedupe import RecentKeys, event_keys

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def keys(projects: list[int], ids: list[str]) -> np.ndarray:
    return event_keys(pa.array(projects, pa.int64()), pa.array(ids, pa.string()))


def test_keys_depend_on_project_and_uuid_only() -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    found = keys([1, 1, 2, 1], [a, b, a, a])
    assert found[0] == found[3]
    assert len({found[0], found[1], found[2]}) == 3
    chunked = event_keys(
        pa.chunked_array([pa.array([1], pa.int64()), pa.array([1], pa.int64())]),
        pa.chunked_array([pa.array([b]), pa.array([a])]),
    )
    assert chunked.tolist() == [found[1], found[0]]
    sliced = pa.array([b, a, b]).slice(1, 2)
    assert event_keys(pa.array([1, 1], pa.int64()), sliced).tolist() == [found[0], found[1]]


def test_keys_of_text_that_is_not_a_uuid_still_tell_values_apart() -> None:
    found = keys([1, 1, 1, 1], ["ajs-1", "ajs-2", "ajs-1", "z" * 36])
    assert found[0] == found[2]
    assert len({found[0], found[1], found[3]}) == 3


def test_fresh_marks_unseen_keys_once_and_forgets_after_the_window() -> None:
    recent = RecentKeys(timedelta(hours=1), bucket=timedelta(minutes=10))
    batch = np.array([5, 6, 5, 7], dtype=np.int64)
    assert recent.fresh(batch).tolist() == [True, True, False, True]
    recent.add(np.array([5, 6, 7], dtype=np.int64), NOW)
    assert recent.fresh(np.array([5, 8], dtype=np.int64)).tolist() == [False, True]
    for minute in range(1, 30):  # more buckets, compacted along the way
        recent.add(np.array([1000 + minute], dtype=np.int64), NOW + timedelta(minutes=minute))
    assert recent.fresh(np.array([5, 1001], dtype=np.int64)).tolist() == [False, False]
    recent.add(np.array([9], dtype=np.int64), NOW + timedelta(hours=2))
    assert recent.fresh(np.array([5, 9], dtype=np.int64)).tolist() == [True, False]


def test_the_key_count_is_capped_by_dropping_the_oldest() -> None:
    recent = RecentKeys(timedelta(days=1), max_keys=10, bucket=timedelta(minutes=1))
    for minute in range(5):
        block = np.arange(minute * 5, minute * 5 + 5, dtype=np.int64)
        recent.add(block, NOW + timedelta(minutes=minute))
    assert len(recent) <= 10
    assert recent.fresh(np.array([0, 24], dtype=np.int64)).tolist() == [True, False]

"""Recently stored event keys, so that a retried or replayed event is stored once.

A key is a 64-bit hash of (project id, event uuid). Keys are kept for a time window (SDKs
retry for hours: segment-analytics-python for up to 12 h), in time buckets of sorted numpy
arrays: 8 bytes per key, and a membership test is a binary search per bucket. The index is
seeded from the warehouse at start, which also covers records replayed from the
write-ahead log after a crash. Two different events colliding on 64 bits within one
window is vanishingly unlikely (about 1 in 10^7 with 10 million keys held).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

Keys = npt.NDArray[np.int64]
_COMPACT_AFTER = 8


def event_keys(project_ids: Iterable[int], uuids: Iterable[str]) -> Keys:
    return np.fromiter(
        (hash((p, u)) for p, u in zip(project_ids, uuids, strict=True)), dtype=np.int64
    )


@dataclass
class _Bucket:
    start: datetime
    arrays: list[Keys] = field(default_factory=list)
    size: int = 0

    def add(self, keys: Keys) -> None:
        self.arrays.append(np.sort(keys))
        self.size += len(keys)
        if len(self.arrays) > _COMPACT_AFTER:
            self.arrays = [np.sort(np.concatenate(self.arrays))]

    def contains(self, keys: Keys) -> npt.NDArray[np.bool_]:
        found = np.zeros(len(keys), dtype=bool)
        for sorted_keys in self.arrays:
            if not len(sorted_keys):
                continue
            slots = np.searchsorted(sorted_keys, keys).clip(max=len(sorted_keys) - 1)
            found |= sorted_keys[slots] == keys
        return found


class RecentKeys:
    """Keys seen within ``window``, at most ``max_keys`` of them (oldest go first)."""

    def __init__(
        self,
        window: timedelta,
        *,
        max_keys: int = 20_000_000,
        bucket: timedelta = timedelta(minutes=10),
    ) -> None:
        self.window = window
        self._max_keys = max_keys
        self._bucket = bucket
        self._buckets: deque[_Bucket] = deque()

    def __len__(self) -> int:
        return sum(b.size for b in self._buckets)

    def fresh(self, keys: Keys) -> npt.NDArray[np.bool_]:
        """A mask of the keys never seen before, counting each repeated key once."""
        seen = np.zeros(len(keys), dtype=bool)
        for bucket in self._buckets:
            seen |= bucket.contains(keys)
        first = np.zeros(len(keys), dtype=bool)
        first[np.unique(keys, return_index=True)[1]] = True
        return first & ~seen

    def add(self, keys: Keys, at: datetime) -> None:
        if not len(keys):
            return
        start = at - (at - datetime.min.replace(tzinfo=at.tzinfo)) % self._bucket
        if not self._buckets or self._buckets[-1].start < start:
            self._buckets.append(_Bucket(start))
        target = next((b for b in reversed(self._buckets) if b.start <= start), self._buckets[0])
        target.add(keys)
        self._expire(at)

    def _expire(self, now: datetime) -> None:
        horizon = now - self.window - self._bucket
        while self._buckets and self._buckets[0].start < horizon:
            self._buckets.popleft()
        while len(self._buckets) > 1 and len(self) > self._max_keys:
            self._buckets.popleft()

"""Recently stored event keys, so that a retried or replayed event is stored once.

A key is a 64-bit hash of (project id, event uuid), computed with numpy over whole Arrow
columns (the uuid's 128 bits folded with the project id), so seeding millions of keys at
start takes seconds, not minutes. Keys are kept for a time window (SDKs
retry for hours: segment-analytics-python for up to 12 h), in time buckets of sorted numpy
arrays: 8 bytes per key, and a membership test is a binary search per bucket. The index is
seeded from the warehouse at start, which also covers records replayed from the
write-ahead log after a crash. Two different events colliding on 64 bits within one
window is vanishingly unlikely (about 1 in 10^7 with 10 million keys held).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

Keys = npt.NDArray[np.int64]
_COMPACT_AFTER = 8


_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd constants: multiplication mixes the bits
_PROJECT_MIX = np.uint64(0xC2B2AE3D27D4EB4F)


def event_keys(project_ids: pa.Array | pa.ChunkedArray, uuids: pa.Array | pa.ChunkedArray) -> Keys:
    """One 64-bit key per row of two Arrow columns (project id, uuid text)."""
    if isinstance(project_ids, pa.ChunkedArray):
        project_ids = project_ids.combine_chunks()
    projects = project_ids.to_numpy(zero_copy_only=False).astype(np.uint64)
    if not len(projects):
        return np.zeros(0, dtype=np.int64)
    text = uuids.combine_chunks() if isinstance(uuids, pa.ChunkedArray) else uuids
    lengths = pc.binary_length(text).to_numpy(zero_copy_only=False)
    if text.null_count or not (lengths == 36).all():
        return _hashed(projects, uuids)
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)
    start, end = offsets[text.offset], offsets[text.offset + len(text)]
    rows = np.frombuffer(text.buffers()[2], dtype=np.uint8)[start:end].reshape(-1, 36)
    try:  # the 32 hex digits of each canonical UUID, decoded in C
        raw = bytes.fromhex(rows[:, _HEX_COLUMNS].tobytes().decode("ascii"))
    except (ValueError, UnicodeDecodeError):  # 36 characters, but not a UUID
        return _hashed(projects, uuids)
    halves = np.frombuffer(raw, dtype=">u8")
    return _mix(projects, halves[0::2].astype(np.uint64), halves[1::2].astype(np.uint64))


_HEX_COLUMNS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)], dtype=np.intp)


def _hashed(projects: npt.NDArray[np.uint64], uuids: pa.Array | pa.ChunkedArray) -> Keys:
    """Keys of values that are not canonical UUID text (rare): Python's hash, which is
    stable within this process, as the index is."""
    texts = uuids.to_pylist()
    high = np.fromiter((hash(t) for t in texts), dtype=np.int64, count=len(texts))
    return _mix(projects, high.view(np.uint64), np.zeros(len(texts), dtype=np.uint64))


def _mix(
    projects: npt.NDArray[np.uint64], high: npt.NDArray[np.uint64], low: npt.NDArray[np.uint64]
) -> Keys:
    with np.errstate(over="ignore"):
        mixed = (high * _MIX) ^ low ^ (projects * _PROJECT_MIX)
    return mixed.view(np.int64)


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

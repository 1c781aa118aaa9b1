"""A small, thread-safe cache of computed values that expire after ``ttl`` seconds.

Used for dashboard numbers (reopening a dashboard is instant; the page says when they were
computed and offers a refresh) and for settings read on every capture request (write keys,
privacy policies), where a change reaches every node within the ttl. One cache per running
app or service, never a module global.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class TtlCache(Generic[T]):
    def __init__(self, ttl_seconds: float, max_entries: int = 1024) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, T]] = {}
        self._lock = threading.Lock()

    def get_or_compute(self, key: Hashable, compute: Callable[[], T], *, refresh: bool) -> T:
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and not refresh and now - hit[0] < self.ttl:
            return hit[1]
        value = compute()
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (time.monotonic(), value)
        return value

    def forget(self, key: Hashable) -> None:
        """Drop one entry, so the next read computes it afresh."""
        with self._lock:
            self._entries.pop(key, None)

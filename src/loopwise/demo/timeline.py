"""One person's simulated events, collected as plain values, then made ``CaptureEvent``s.

Collecting first and building the capture contracts once at the end lets the window filter
and the id draws happen in bulk, and keeps the generator code about *what* happens.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

import numpy as np

from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import uuid4_texts

Props = dict[str, Any]


class Timeline:
    """Events of one person (and the anonymous visitors attributed to them)."""

    def __init__(self, start_us: int, end_us: int) -> None:
        self._start_us, self._end_us = start_us, end_us
        self._times: list[int] = []
        self._rows: list[tuple[str, str, Props, str, Props | None, Props | None]] = []

    def add(
        self,
        at_us: int,
        event: str,
        distinct_id: str,
        properties: Props,
        session_id: str,
        *,
        set_: Props | None = None,
        set_once: Props | None = None,
    ) -> None:
        """Record an event; those outside the simulated period are dropped at the end."""
        self._times.append(at_us)
        self._rows.append((event, distinct_id, properties, session_id, set_, set_once))

    def __len__(self) -> int:
        return len(self._rows)

    def to_events(self, rng: np.random.Generator) -> list[CaptureEvent]:
        """The recorded events inside ``[start, end]``, in time order, with seeded uuids."""
        times = np.asarray(self._times, dtype=np.int64)
        order = np.argsort(times, kind="stable")
        order = order[(times[order] >= self._start_us) & (times[order] <= self._end_us)]
        moments = times[order].astype("datetime64[us]").tolist()
        ids = uuid4_texts(rng.bytes(16 * len(order)))
        rows = self._rows
        return [
            CaptureEvent(
                event=rows[i][0],
                distinct_id=rows[i][1],
                timestamp=moment.replace(tzinfo=UTC),
                properties=rows[i][2],
                uuid=uid,
                session_id=rows[i][3],
                set=rows[i][4],
                set_once=rows[i][5],
            )
            for i, moment, uid in zip(order.tolist(), moments, ids, strict=True)
        ]

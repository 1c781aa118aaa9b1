"""One person's simulated events, collected as plain values, then made ``CaptureEvent``s.

Collecting first and building the capture contracts once at the end lets the window filter,
the time conversion and the id draws (event and session uuids) happen in bulk, and keeps the
generator code about *what* happens.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import uuid4_texts

Props = dict[str, Any]
_Row = tuple[str, str, Props, int, Props | None, Props | None]


class Timeline:
    """Events of one person (and the anonymous visitors attributed to them)."""

    def __init__(self, start_us: int, end_us: int) -> None:
        self._start_us, self._end_us = start_us, end_us
        self._times: list[int] = []
        self._rows: list[_Row] = []
        self._sessions = 0

    def new_session(self) -> int:
        """A handle for a new session; its uuid is drawn when the events are built."""
        self._sessions += 1
        return self._sessions - 1

    def new_sessions(self, count: int) -> range:
        """Handles for ``count`` new sessions."""
        first = self._sessions
        self._sessions += count
        return range(first, first + count)

    def add(
        self,
        at_us: int,
        event: str,
        distinct_id: str,
        properties: Props,
        session: int,
        *,
        set_: Props | None = None,
        set_once: Props | None = None,
    ) -> None:
        """Record an event; those outside the simulated period are dropped at the end."""
        self._times.append(at_us)
        self._rows.append((event, distinct_id, properties, session, set_, set_once))

    def __len__(self) -> int:
        return len(self._rows)

    def to_events(self, rng: np.random.Generator) -> list[CaptureEvent]:
        """The recorded events inside ``[start, end]``, in time order, with seeded uuids."""
        times = np.asarray(self._times, dtype=np.int64)
        order = np.argsort(times, kind="stable")
        order = order[(times[order] >= self._start_us) & (times[order] <= self._end_us)]
        ids = uuid4_texts(rng.bytes(16 * (self._sessions + len(order))))
        sessions, event_ids = ids[: self._sessions], ids[self._sessions :]
        rows = self._rows
        return [
            CaptureEvent(
                event=rows[i][0],
                distinct_id=rows[i][1],
                timestamp=moment,
                properties=rows[i][2],
                uuid=uid,
                session_id=sessions[rows[i][3]],
                set=rows[i][4],
                set_once=rows[i][5],
            )
            for i, moment, uid in zip(order.tolist(), moments(times[order]), event_ids, strict=True)
        ]


def moments(micros: npt.NDArray[np.int64]) -> list[datetime]:
    """UTC datetimes of epoch microseconds, exactly.

    ``fromtimestamp`` on float seconds is the fastest way to make aware datetimes (about
    twice as fast as ``replace(tzinfo=...)``). It is exact here: for dates before the year
    2200 the float error is below 0.25 µs, and ``fromtimestamp`` rounds to the nearest µs.
    """
    return [datetime.fromtimestamp(seconds, UTC) for seconds in (micros / 1e6).tolist()]

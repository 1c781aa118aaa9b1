"""Counts of what ingestion accepted, dropped and rejected, and the newest rejections.

Counting happens in memory on the hot path; the flusher thread writes the sums to the app
database every few seconds (per project, hour, outcome and reason), so the ingestion page
shows every node's numbers. After a crash the last few seconds of counts may be missing;
the events themselves are not affected.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from loopwise.core.db import transaction
from loopwise.ingest.models import IngestCount, IngestRejection

Outcome = str  # "accepted" | "dropped" | "rejected"
REJECTIONS_KEPT = 200  # per project
_MAX_PENDING_REJECTIONS = 1000


@dataclass(frozen=True, slots=True)
class PendingRejection:
    project_id: int
    at: datetime
    source: str
    field: str
    detail: str


class IngestStats:
    """Thread-safe counters, written out by ``save``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[int, datetime, Outcome, str]] = Counter()
        self._rejections: list[PendingRejection] = []
        self.step_seconds: Counter[str] = Counter()
        self.step_events: Counter[str] = Counter()

    def count(self, project_id: int, at: datetime, outcome: Outcome, reason: str, n: int) -> None:
        if n <= 0:
            return
        hour = at.replace(minute=0, second=0, microsecond=0)
        with self._lock:
            self._counts[(project_id, hour, outcome, reason)] += n

    def timed(self, seconds: dict[str, float], events: int) -> None:
        with self._lock:
            self.step_seconds.update(seconds)
            for name in seconds:
                self.step_events[name] += events

    def reject(self, rejection: PendingRejection) -> None:
        with self._lock:
            if len(self._rejections) < _MAX_PENDING_REJECTIONS:
                self._rejections.append(rejection)
            self._counts[(rejection.project_id, _hour(rejection.at), "rejected", "invalid")] += 1

    def save(self, sessions: sessionmaker[Session]) -> None:
        """Add the pending counts to the database and store pending rejections."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
            rejections, self._rejections = self._rejections, []
        if not counts and not rejections:
            return
        try:
            with transaction(sessions) as session:
                for (project_id, hour, outcome, reason), n in sorted(counts.items()):
                    _add_count(session, project_id, hour, outcome, reason, n)
                for item in rejections:
                    session.add(
                        IngestRejection(
                            project_id=item.project_id,
                            at=item.at,
                            source=item.source,
                            field=item.field[:200],
                            detail=item.detail[:2000],
                        )
                    )
                for project_id in {item.project_id for item in rejections}:
                    _prune_rejections(session, project_id)
        except Exception:
            with self._lock:  # keep them for the next attempt
                self._counts.update(counts)
            raise


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def _add_count(
    session: Session, project_id: int, hour: datetime, outcome: str, reason: str, n: int
) -> None:
    key = (IngestCount.project_id == project_id, IngestCount.hour == hour)
    more = (IngestCount.outcome == outcome, IngestCount.reason == reason)
    changed = session.execute(
        update(IngestCount).where(*key, *more).values(count=IngestCount.count + n)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        session.add(
            IngestCount(project_id=project_id, hour=hour, outcome=outcome, reason=reason, count=n)
        )
        session.flush()


def _prune_rejections(session: Session, project_id: int) -> None:
    total = session.scalar(
        select(func.count())
        .select_from(IngestRejection)
        .where(IngestRejection.project_id == project_id)
    )
    if (total or 0) <= REJECTIONS_KEPT:
        return
    keep_from = session.scalar(
        select(IngestRejection.id)
        .where(IngestRejection.project_id == project_id)
        .order_by(IngestRejection.id.desc())
        .offset(REJECTIONS_KEPT - 1)
        .limit(1)
    )
    session.execute(
        delete(IngestRejection)
        .where(IngestRejection.project_id == project_id)
        .where(IngestRejection.id < keep_from)
    )


def since_hours(now: datetime, hours: int) -> datetime:
    return _hour(now) - timedelta(hours=hours - 1)

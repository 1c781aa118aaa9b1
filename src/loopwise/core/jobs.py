"""Scheduled jobs: what runs when, and the lock that lets one node run each job.

Areas declare their jobs (``Job``) and the web shell hands the list to the runner. The
embedded default runs ``run_due`` once a minute on a thread of the server process; at
scale, cron or a Kubernetes CronJob calls ``loopwise jobs run-due`` on any node instead.
Either way a job runs only after it has claimed its row in ``job_runs`` with a
conditional update (``locked_until`` in the past), so two nodes, or a cron run beside
the embedded scheduler, never run the same job at once. A job must be safe to run twice:
each is written to recompute what it owns for a period, never to add to it.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from loopwise.core.db import transaction, utcnow
from loopwise.core.models import JobRun

if TYPE_CHECKING:
    from loopwise.core.settings import Settings
    from loopwise.warehouse import Warehouse

log = logging.getLogger(__name__)
TICK_SECONDS = 60


@dataclass(frozen=True)
class JobContext:
    """What a job may use: the app database, the warehouse and the settings."""

    sessions: sessionmaker[Session]
    warehouse: Warehouse
    settings: Settings


@dataclass(frozen=True)
class Job:
    """A named piece of scheduled work.

    ``every`` is the period; with ``at_hour`` (UTC) the job is due once per period after
    that hour (a nightly job: ``every=1 day, at_hour=2``), else ``every`` after its last
    start. ``run`` returns one line saying what it did, kept as the run's summary.
    """

    name: str
    description: str
    run: Callable[[JobContext, datetime], str]
    every: timedelta = timedelta(days=1)
    at_hour: int | None = None
    # Longest a run may hold the lock; a node that dies mid-run frees it after this.
    lease: timedelta = timedelta(hours=1)

    @property
    def schedule(self) -> str:
        """The schedule in words: "daily after 02:00 UTC", "every 5 minutes"."""
        if self.at_hour is not None:
            return f"daily after {self.at_hour:02d}:00 UTC"
        minutes = int(self.every.total_seconds() // 60)
        for size, unit in ((1440, "day"), (60, "hour"), (1, "minute")):
            if minutes % size == 0:
                count = minutes // size
                return f"every {unit}" if count == 1 else f"every {count} {unit}s"
        return f"every {self.every}"

    def due(self, last_started: datetime | None, now: datetime) -> bool:
        if last_started is None:
            return True
        if self.at_hour is None:
            return now - last_started >= self.every
        mark = datetime.combine(now.date(), time(self.at_hour), UTC)
        if mark > now:
            mark -= timedelta(days=1)
        return last_started < mark


@dataclass(frozen=True)
class Outcome:
    name: str
    status: str  # ok, failed, skipped (not due), busy (another node holds it)
    summary: str = ""


def run_due(context: JobContext, jobs: Sequence[Job], now: datetime | None = None) -> list[Outcome]:
    """Run every job that is due and not running elsewhere; one failure stops no other."""
    moment = now or utcnow()
    return [_run(context, job, moment, force=False) for job in jobs]


def run_now(context: JobContext, job: Job, now: datetime | None = None) -> Outcome:
    """Run one job whether or not it is due (still never beside another run of it)."""
    return _run(context, job, now or utcnow(), force=True)


def _run(context: JobContext, job: Job, now: datetime, *, force: bool) -> Outcome:
    claimed = _claim(context.sessions, job, now, force=force)
    if claimed != "ok":
        return Outcome(job.name, claimed)
    try:
        summary = job.run(context, now)
    except Exception as exc:
        log.exception("job %s failed", job.name)
        detail = "".join(traceback.format_exception_only(exc)).strip()[:1000]
        _finish(context.sessions, job, "failed", detail)
        return Outcome(job.name, "failed", detail)
    _finish(context.sessions, job, "ok", summary[:1000])
    log.info("job %s: %s", job.name, summary)
    return Outcome(job.name, "ok", summary)


def _claim(sessions: sessionmaker[Session], job: Job, now: datetime, *, force: bool) -> str:
    try:
        with transaction(sessions) as session:
            if session.get(JobRun, job.name) is None:
                session.add(JobRun(name=job.name))
    except IntegrityError:
        pass  # another node made the row first
    with transaction(sessions) as session:
        row = session.get(JobRun, job.name)
        assert row is not None
        if not force and not job.due(row.last_started_at, now):
            return "skipped"
        claimed = session.execute(
            update(JobRun)
            .where(JobRun.name == job.name)
            .where(or_(JobRun.locked_until.is_(None), JobRun.locked_until < now))
            .values(locked_until=now + job.lease, last_started_at=now, last_status="running")
        )
        return "ok" if claimed.rowcount == 1 else "busy"  # type: ignore[attr-defined]


def _finish(sessions: sessionmaker[Session], job: Job, status: str, summary: str) -> None:
    with transaction(sessions) as session:
        row = session.get(JobRun, job.name)
        assert row is not None
        row.locked_until = None
        row.last_finished_at = utcnow()
        row.last_status, row.last_summary = status, summary
        row.runs = (row.runs or 0) + 1
        row.failures = (row.failures or 0) + (status == "failed")


def job_runs(session: Session) -> dict[str, JobRun]:
    return {row.name: row for row in session.scalars(select(JobRun))}


class Scheduler:
    """The embedded scheduler: a daemon thread that calls ``run_due`` every minute."""

    def __init__(self, context: JobContext, jobs: Sequence[Job], stopping: threading.Event) -> None:
        self._context, self._jobs, self._stopping = context, list(jobs), stopping
        self._thread = threading.Thread(target=self._loop, name="loopwise-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stopping.wait(TICK_SECONDS):
            try:
                run_due(self._context, self._jobs)
            except Exception:  # the database may be away for a moment; try next minute
                log.exception("the job scheduler could not check for due jobs")

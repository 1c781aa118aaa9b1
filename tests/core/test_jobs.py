"""Scheduled jobs: due times, the lock that keeps two nodes from running one job, failures
recorded without stopping other jobs, and the embedded scheduler's thread."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from loopwise.core import jobs as jobs_module
from loopwise.core.jobs import Job, JobContext, Scheduler, job_runs, run_due, run_now
from loopwise.web.context import AppContext

NIGHT = datetime(2026, 5, 10, 1, 0, tzinfo=UTC)


def test_a_nightly_job_is_due_once_per_night_after_its_hour() -> None:
    job = Job("x", "", lambda c, n: "", at_hour=2)
    assert job.due(None, NIGHT)
    assert not job.due(NIGHT - timedelta(hours=2), NIGHT)  # ran at 23:00, before 02:00
    assert job.due(NIGHT - timedelta(hours=2), NIGHT + timedelta(hours=2))
    hourly = Job("y", "", lambda c, n: "", every=timedelta(hours=1))
    assert not hourly.due(NIGHT, NIGHT + timedelta(minutes=59))
    assert hourly.due(NIGHT, NIGHT + timedelta(hours=1))


def test_a_held_lock_keeps_a_second_node_out(context: AppContext) -> None:
    jobs = JobContext(context.sessions, context.warehouse, context.settings)
    inside = threading.Event()
    release = threading.Event()
    calls: list[datetime] = []

    def slow(_: JobContext, now: datetime) -> str:
        calls.append(now)
        inside.set()
        release.wait(10)
        return "done"

    job = Job("test.slow", "", slow)
    worker = threading.Thread(target=lambda: run_now(jobs, job, NIGHT))
    worker.start()
    assert inside.wait(10)
    assert run_now(jobs, job, NIGHT).status == "busy"  # the other "node" is running it
    release.set()
    worker.join(10)
    assert len(calls) == 1
    with context.sessions() as session:
        row = job_runs(session)["test.slow"]
        assert (row.last_status, row.last_summary, row.runs, row.locked_until) == (
            "ok", "done", 1, None,
        )  # fmt: skip


def test_a_failing_job_is_recorded_and_others_still_run(context: AppContext) -> None:
    jobs = JobContext(context.sessions, context.warehouse, context.settings)

    def broken(_: JobContext, now: datetime) -> str:
        raise RuntimeError("the warehouse went away")

    both = [Job("test.broken", "", broken), Job("test.fine", "", lambda c, n: "ok")]
    outcomes = run_due(jobs, both, NIGHT)
    assert [(o.name, o.status) for o in outcomes] == [
        ("test.broken", "failed"),
        ("test.fine", "ok"),
    ]
    assert "the warehouse went away" in outcomes[0].summary
    with context.sessions() as session:
        row = job_runs(session)["test.broken"]
        assert (row.last_status, row.failures, row.locked_until) == ("failed", 1, None)
    # The lock was released: the next night it runs again.
    later = run_due(jobs, [Job("test.broken", "", lambda c, n: "fixed")], NIGHT + timedelta(days=1))
    assert later[0].status == "ok"


def test_the_embedded_scheduler_runs_due_jobs_and_stops(
    context: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs_module, "TICK_SECONDS", 0.05)
    jobs = JobContext(context.sessions, context.warehouse, context.settings)
    ran = threading.Event()
    stopping = threading.Event()
    scheduler = Scheduler(jobs, [Job("test.tick", "", lambda c, n: ran.set() or "ran")], stopping)
    scheduler.start()
    assert ran.wait(10)
    stopping.set()
    scheduler.join(5)
    assert not scheduler._thread.is_alive()

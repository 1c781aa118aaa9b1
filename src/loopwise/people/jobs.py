"""The people area's scheduled work: every person's summary and health score, recomputed
once a day, so the list, filters and scores follow what happened since yesterday (and a
health point is kept for whoever's score moved).

One project at a time, each in its own transaction: a failure in one project is logged,
named first in the job's summary and leaves the other projects' fresh scores committed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from loopwise.core.db import transaction
from loopwise.core.jobs import Job, JobContext
from loopwise.ingest.facade import person_projects
from loopwise.people.refresh import refresh_people

log = logging.getLogger(__name__)


def recompute(context: JobContext, now: datetime) -> str:
    """The ``people.health`` job: each project with persons, recomputed."""
    with context.sessions() as session:
        projects = person_projects(session)
    done, failed = [], []
    for project_id in projects:
        try:
            with transaction(context.sessions) as session:
                report = refresh_people(session, context.warehouse, project_id, now)
        except Exception as exc:  # the next project's scores do not depend on this one
            log.exception("people: the refresh of project %s failed", project_id)
            failed.append(f"project {project_id} failed: {type(exc).__name__}: {exc}"[:200])
            continue
        bands = ", ".join(f"{n} {band.replace('_', ' ')}" for band, n in report.by_band.items())
        persons = f"{report.persons} person{'' if report.persons == 1 else 's'}"
        done.append(f"project {project_id}: {persons} ({bands}) in {report.seconds:.1f} s")
        log.info("people: %s", done[-1])
    return "; ".join(failed + done) or "no project has persons"


JOBS = (
    Job(
        "people.health",
        "Recompute every person's health score",
        recompute,
        every=timedelta(days=1),
        at_hour=4,
        lease=timedelta(hours=2),
    ),
)

"""The people area's scheduled work: every person's summary and health score, recomputed
once a day, so the list, filters and scores follow what happened since yesterday (and a
health point is kept for whoever's score moved).

One project at a time, each in its own transaction: a failure in one project leaves the
others' fresh scores committed.
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
    done = []
    for project_id in projects:
        with transaction(context.sessions) as session:
            report = refresh_people(session, context.warehouse, project_id, now)
        bands = ", ".join(f"{n} {band.replace('_', ' ')}" for band, n in report.by_band.items())
        done.append(f"project {project_id}: {report.persons} persons ({bands}) "
                    f"in {report.seconds:.1f} s")  # fmt: skip
        log.info("people: %s", done[-1])
    return "; ".join(done) or "no project has persons"


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

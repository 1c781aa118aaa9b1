"""The people area's surface for the web layer, the CLI and the jobs.

One person's context (``person_context``) feeds the HTML page, its htmx partials and the
JSON API alike; lists, search and bulk actions read the area's summaries, which
``recompute_project`` (the daily job, the CLI, the settings page) and ``recompute_person``
keep current.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from loopwise.core import audit
from loopwise.core.audit import Actor
from loopwise.people import refresh
from loopwise.people.accounts import AccountRow, AccountView, account_view, accounts_page
from loopwise.people.actions import act
from loopwise.people.bulk import BulkOutcome, run_bulk
from loopwise.people.config import config_of, save_config
from loopwise.people.context import PersonContext, person_context
from loopwise.people.filters import people_page, quick_counts, selected_ids
from loopwise.people.jobs import JOBS
from loopwise.people.presets import PresetInfo, delete_preset, presets, save_preset
from loopwise.people.refresh import RefreshReport, health_history
from loopwise.people.search import search
from loopwise.people.timeline import timeline
from loopwise.support.facade import templates
from loopwise.warehouse import Warehouse

__all__ = [
    "JOBS",
    "AccountRow",
    "AccountView",
    "BulkOutcome",
    "PersonContext",
    "PresetInfo",
    "RefreshReport",
    "account_view",
    "accounts_page",
    "act",
    "config_of",
    "delete_preset",
    "erase_people_area",
    "health_history",
    "people_page",
    "person_context",
    "presets",
    "quick_counts",
    "recompute_person",
    "recompute_project",
    "run_bulk",
    "save_config",
    "save_preset",
    "search",
    "selected_ids",
    "templates",
    "timeline",
]


def recompute_project(
    session: Session,
    warehouse: Warehouse,
    actor: Actor,
    project_id: int,
    now: datetime,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> RefreshReport:
    """Every person's summary and health score, now (what the daily job does), audited."""
    report = refresh.refresh_people(session, warehouse, project_id, now, progress=progress)
    audit.record(session, actor, "people.health_recomputed", project_id=project_id,
                 persons=report.persons)  # fmt: skip
    return report


def recompute_person(
    session: Session, warehouse: Warehouse, project_id: int, person_id: str, now: datetime
) -> None:
    """One person's summary and health score, now (the person page's "Recompute")."""
    refresh.refresh_person(session, warehouse, project_id, person_id, now)


def erase_people_area(session: Session, actor: Actor, project_id: int, reason: str) -> None:
    """Forget everything the area holds for a project (a demo reload, a project wipe)."""
    refresh.erase(session, project_id)
    audit.record(session, actor, "people.erased", project_id=project_id, reason=reason[:200])

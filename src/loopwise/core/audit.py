"""The audit log: who did what sensitive thing, when, from where.

Written in the same transaction as the action it records, so an action and its audit entry
commit or fail together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loopwise.core.models import AuditEvent

ACTIONS = (
    "sign_in.ok",
    "sign_in.failed",
    "sign_in.locked",
    "sign_out",
    "user.created",
    "user.role_changed",
    "user.deactivated",
    "user.reactivated",
    "user.password_reset",
    "user.password_changed",
    "token.created",
    "token.revoked",
    "api_key.created",
    "api_key.revoked",
    "project.created",
    "project.updated",
    "ingest.settings_changed",
    "insight.created",
    "insight.deleted",
    "dashboard.created",
    "dashboard.changed",
    "dashboard.deleted",
    "feature.created",
    "feature.changed",
    "feature.deleted",
    "cohort.created",
    "cohort.changed",
    "cohort.deleted",
    "billing_source.changed",
    "revenue.settings_changed",
    "revenue.imported",
    "revenue.erased",
    "support.settings_changed",
    "support.token_rotated",
    "support.imported",
    "support.model_trained",
    "support.auto_resolved",
    "support.article_published",
    "support.erased",
    "revenue.request_recorded",
    "person.note_added",
    "person.tagged",
    "person.untagged",
    "person.vip_changed",
    "person.email_sent",
    "person.ticket_created",
    "person.grant_requested",
    "people.tagged",
    "people.exported",
    "people.added_to_cohort",
    "people.emailed",
    "people.preset_saved",
    "people.preset_deleted",
    "people.settings_changed",
    "people.health_recomputed",
    "people.erased",
    "alert_channel.created",
    "alert_channel.deleted",
    "alert_rule.changed",
    "data.exported",
    "data.deleted",
)


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in person, a token's owner, an API key, or the CLI."""

    label: str
    user_id: int | None = None
    ip: str = ""


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    project_id: int | None
    ip: str
    details: dict[str, Any]


def record(
    session: Session,
    actor: Actor,
    action: str,
    target: str = "",
    *,
    project_id: int | None = None,
    **details: Any,
) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    session.add(
        AuditEvent(
            actor=actor.label,
            actor_id=actor.user_id,
            action=action,
            target=target,
            project_id=project_id,
            ip=actor.ip,
            details=details,
        )
    )


def entries(
    session: Session, *, action: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[AuditEntry], int]:
    """Newest first, optionally one kind of action; returns the page and the total."""
    query = select(AuditEvent)
    count = select(func.count()).select_from(AuditEvent)
    if action:
        query = query.where(AuditEvent.action == action)
        count = count.where(AuditEvent.action == action)
    rows = session.scalars(
        query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit).offset(offset)
    )
    page = [
        AuditEntry(r.id, r.at, r.actor, r.action, r.target, r.project_id, r.ip, r.details)
        for r in rows
    ]
    return page, session.scalar(count) or 0

"""What the ingestion page shows: events accepted, dropped and rejected per hour, the newest
rejections, and the project's privacy settings (changed here, with an audit entry)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from loopwise.core import audit
from loopwise.core.audit import Actor
from loopwise.ingest.models import IngestCount, IngestRejection
from loopwise.ingest.pipeline import IngestPolicy
from loopwise.ingest.policies import load_policy, save_policy

REASON_LABELS = {
    "consent_missing": "Dropped: no consent given",
    "consent_denied": "Dropped: consent refused for the event's category",
    "duplicate": "Dropped: already stored (a retry)",
    "invalid": "Rejected: malformed message",
}


class Rejected(BaseModel):
    at: datetime
    source: str
    field: str
    detail: str


class PolicyView(BaseModel):
    require_consent: bool
    ip_mode: str
    cookieless: bool
    scrub_pii: bool
    denylist: list[str]


class IngestionReport(BaseModel):
    """Hourly counts over the last ``hours``, oldest first; series keys are
    ``accepted``, ``dropped:<reason>`` and ``rejected:<reason>``."""

    hours: list[datetime]
    series: dict[str, list[int]]
    totals: dict[str, int]
    rejections: list[Rejected]
    policy: PolicyView


def policy_view(policy: IngestPolicy) -> PolicyView:
    return PolicyView(
        require_consent=policy.require_consent,
        ip_mode=policy.ip_mode,
        cookieless=policy.cookieless,
        scrub_pii=policy.scrub_pii,
        denylist=sorted(policy.denylist),
    )


def ingestion_report(
    session: Session, project_id: int, *, hours: int = 48, now: datetime | None = None
) -> IngestionReport:
    end = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    slots = [end - timedelta(hours=hours - 1 - i) for i in range(hours)]
    index = {slot: i for i, slot in enumerate(slots)}
    rows = session.execute(
        select(IngestCount.hour, IngestCount.outcome, IngestCount.reason, IngestCount.count)
        .where(IngestCount.project_id == project_id)
        .where(IngestCount.hour >= slots[0])
    )
    series: dict[str, list[int]] = defaultdict(lambda: [0] * hours)
    series["accepted"] = [0] * hours
    for hour, outcome, reason, count in rows:
        key = outcome if outcome == "accepted" else f"{outcome}:{reason}"
        slot = index.get(hour.astimezone(UTC))
        if slot is not None:
            series[key][slot] += count
    rejections = session.scalars(
        select(IngestRejection)
        .where(IngestRejection.project_id == project_id)
        .order_by(IngestRejection.id.desc())
        .limit(20)
    ).all()
    return IngestionReport(
        hours=slots,
        series=dict(series),
        totals={key: sum(values) for key, values in series.items()},
        rejections=[
            Rejected(at=r.at, source=r.source, field=r.field, detail=r.detail) for r in rejections
        ],
        policy=policy_view(load_policy(session, project_id)),
    )


def change_policy(
    session: Session, actor: Actor, project_id: int, policy: IngestPolicy
) -> IngestPolicy:
    """Save new settings for a project and record who changed what."""
    before = policy_view(load_policy(session, project_id)).model_dump()
    save_policy(session, project_id, policy)
    after = policy_view(policy).model_dump()
    changes = {k: {"old": before[k], "new": after[k]} for k in after if before[k] != after[k]}
    if changes:
        audit.record(
            session, actor, "ingest.settings_changed", "ingestion", project_id=project_id, **changes
        )
    return policy


def label(key: str) -> str:
    if key == "accepted":
        return "Accepted"
    reason = key.split(":", 1)[-1]
    return REASON_LABELS.get(reason, key)

"""The project's features: their definitions (app database) and the adoption reports and
per-person core-feature answers built on them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from loopwise.core import audit
from loopwise.core.audit import Actor
from loopwise.core.errors import InvalidInput, NotFound
from loopwise.product.contracts import CoreAdoption, FeatureIn, FeatureInfo, FeatureReport, Interval
from loopwise.product.models import Feature
from loopwise.product.queries.features import core_adoption, feature_report
from loopwise.warehouse import Warehouse

MAX_FEATURES = 100


def list_features(session: Session, project_id: int) -> list[FeatureInfo]:
    rows = session.scalars(
        select(Feature).where(Feature.project_id == project_id).order_by(Feature.name)
    )
    return [_info(r) for r in rows]


def get_feature(session: Session, project_id: int, feature_id: int) -> FeatureInfo:
    return _info(_row(session, project_id, feature_id))


def create_feature(
    session: Session, actor: Actor, project_id: int, definition: FeatureIn
) -> FeatureInfo:
    existing = list_features(session, project_id)
    if len(existing) >= MAX_FEATURES:
        raise InvalidInput("name", f"a project defines at most {MAX_FEATURES} features")
    if any(f.name.lower() == definition.name.strip().lower() for f in existing):
        raise InvalidInput("name", "another feature already has this name")
    row = Feature(project_id=project_id, **_columns(definition))
    session.add(row)
    session.flush()
    audit.record(session, actor, "feature.created", row.name, project_id=project_id)
    return _info(row)


def update_feature(
    session: Session, actor: Actor, project_id: int, feature_id: int, definition: FeatureIn
) -> FeatureInfo:
    row = _row(session, project_id, feature_id)
    clash = [f for f in list_features(session, project_id) if f.id != feature_id]
    if any(f.name.lower() == definition.name.strip().lower() for f in clash):
        raise InvalidInput("name", "another feature already has this name")
    for key, value in _columns(definition).items():
        setattr(row, key, value)
    audit.record(session, actor, "feature.changed", row.name, project_id=project_id)
    return _info(row)


def delete_feature(session: Session, actor: Actor, project_id: int, feature_id: int) -> None:
    row = _row(session, project_id, feature_id)
    session.delete(row)
    audit.record(session, actor, "feature.deleted", row.name, project_id=project_id)


def adoption_report(
    warehouse: Warehouse,
    feature: FeatureInfo,
    project_id: int,
    timezone: str,
    *,
    days: int = 30,
    interval: Interval = "week",
    now: datetime | None = None,
) -> FeatureReport:
    if not 1 <= days <= 1098:
        raise InvalidInput("days", "must be between 1 and 1098")
    return feature_report(
        warehouse, project_id, feature, days=days, interval=interval, timezone=timezone, now=now
    )


def core_features_of(
    session: Session, warehouse: Warehouse, project_id: int, person_id: str
) -> CoreAdoption:
    """Which of the project's core features a person has used ("3 of 10")."""
    core = [f for f in list_features(session, project_id) if f.is_core]
    return core_adoption(warehouse, project_id, person_id, core)


def _columns(definition: FeatureIn) -> dict[str, object]:
    return {
        "name": definition.name.strip(),
        "events": list(dict.fromkeys(e.strip() for e in definition.events)),
        "start_event": definition.start_event,
        "completion_event": definition.completion_event,
        "is_core": definition.is_core,
    }


def _row(session: Session, project_id: int, feature_id: int) -> Feature:
    row = session.get(Feature, feature_id)
    if row is None or row.project_id != project_id:
        raise NotFound(f"feature {feature_id}")
    return row


def _info(row: Feature) -> FeatureInfo:
    return FeatureInfo(
        id=row.id,
        name=row.name,
        events=list(row.events),
        start_event=row.start_event,
        completion_event=row.completion_event,
        is_core=row.is_core,
    )

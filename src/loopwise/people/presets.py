"""Saved filters of the people list ("Churned power users", "VIPs with open tickets"),
shared by everyone in the project: a name and a ``FilterSpec``.

Names are unique in a project whatever their letter case, so a list of presets never
shows two that read the same; a project keeps at most ``MAX_PRESETS``. A filter is
checked as applying it would check it (each condition compiled by ``conditions``), so a
preset saved is one that can be applied; a refusal names the condition's part
(``conditions[0].op``). Saving and deleting are audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loopwise.core import audit
from loopwise.core.audit import Actor
from loopwise.core.errors import InvalidInput, NotFound
from loopwise.people.conditions import Context, compile_condition
from loopwise.people.contracts import FilterSpec
from loopwise.people.models import FilterPreset

MAX_PRESETS = 100
MAX_NAME = 100


@dataclass(frozen=True)
class PresetInfo:
    id: int
    name: str
    spec: FilterSpec
    created_by: str
    created_at: datetime


def presets(session: Session, project_id: int) -> list[PresetInfo]:
    """The project's presets by name. A preset whose stored filter no longer reads as a
    filter (a field since removed) is left out rather than failing the list."""
    rows = session.scalars(
        select(FilterPreset)
        .where(FilterPreset.project_id == project_id)
        .order_by(func.lower(FilterPreset.name), FilterPreset.id)
    )
    found = []
    for row in rows:
        try:
            found.append(_info(row))
        except ValidationError:
            continue
    return found


def save_preset(
    session: Session, actor: Actor, project_id: int, name: str, spec: FilterSpec
) -> PresetInfo:
    """Save ``spec`` under a new ``name`` (1 to 100 printable characters, not used in the
    project); ``InvalidInput`` naming the name or the part of a condition that is wrong."""
    clean = " ".join(name.split())
    if not 1 <= len(clean) <= MAX_NAME or not clean.isprintable():
        raise InvalidInput("name", f"give the preset a name of 1 to {MAX_NAME} printable "
                           "characters")  # fmt: skip
    check_spec(session, project_id, spec)
    names = list(
        session.scalars(select(FilterPreset.name).where(FilterPreset.project_id == project_id))
    )
    if any(existing.lower() == clean.lower() for existing in names):
        raise InvalidInput("name", "another preset already has this name")
    if len(names) >= MAX_PRESETS:
        raise InvalidInput("name", f"a project keeps at most {MAX_PRESETS} presets")
    row = FilterPreset(
        project_id=project_id,
        name=clean,
        spec=spec.model_dump(mode="json"),
        created_by=actor.label[:320],
    )
    session.add(row)
    session.flush()
    audit.record(session, actor, "people.preset_saved", clean, project_id=project_id,
                 preset_id=row.id)  # fmt: skip
    return _info(row)


def check_spec(session: Session, project_id: int, spec: FilterSpec) -> None:
    """Refuse a filter its conditions could not be applied with (an operator a field does
    not take, a value of the wrong kind), as applying it would. The answer does not
    depend on the moment or the currency, so any will do."""
    context = Context.of(session, project_id, datetime.now(UTC), "usd")
    for index, condition in enumerate(spec.conditions):
        compile_condition(context, condition, f"conditions[{index}]")


def delete_preset(session: Session, actor: Actor, project_id: int, preset_id: int) -> None:
    """Delete a preset of the project; NotFound for another project's or a missing one."""
    row = session.get(FilterPreset, preset_id)
    if row is None or row.project_id != project_id:
        raise NotFound(f"preset {preset_id}")
    session.delete(row)
    audit.record(session, actor, "people.preset_deleted", row.name, project_id=project_id,
                 preset_id=preset_id)  # fmt: skip


def _info(row: FilterPreset) -> PresetInfo:
    return PresetInfo(
        id=row.id,
        name=row.name,
        spec=FilterSpec.model_validate(row.spec),
        created_by=row.created_by,
        created_at=row.created_at,
    )

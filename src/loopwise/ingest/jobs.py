"""Scheduled work of ingestion: squashing the person override map.

Merges are applied at query time through the ``person_overrides`` warehouse table, which
every person-counting query joins. Squashing rewrites old events to carry the surviving
person id and then removes the override rows from the warehouse, so the map stays small and
the join cheap. Overrides younger than ``older_than`` are left alone: events for the merged
person may still be on their way through the write-ahead log. The app database keeps every
override (``squashed_at`` set) so that a merged-away person id still finds its survivor.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from loopwise.core.db import transaction
from loopwise.ingest.models import PersonOverride
from loopwise.warehouse import Warehouse, dialect_for

log = logging.getLogger(__name__)
SQUASH_AFTER = timedelta(hours=1)
_CHUNK = 1000


def squash_overrides(
    sessions: sessionmaker[Session],
    warehouse: Warehouse,
    *,
    older_than: timedelta = SQUASH_AFTER,
    now: datetime | None = None,
) -> int:
    """Fold overrides older than ``older_than`` into the events; returns how many."""
    cutoff = (now or datetime.now(UTC)) - older_than
    with sessions() as session:
        rows = session.execute(
            select(
                PersonOverride.project_id,
                PersonOverride.old_person_id,
                PersonOverride.override_person_id,
            )
            .where(PersonOverride.squashed_at.is_(None))
            .where(PersonOverride.created_at < cutoff)
        ).all()
    by_project: dict[int, dict[str, str]] = defaultdict(dict)
    for project_id, old, new in rows:
        by_project[project_id][old] = new
    d = dialect_for(warehouse.dialect)
    for project_id, mapping in by_project.items():
        olds = sorted(mapping)
        for start in range(0, len(olds), _CHUNK):
            chunk = olds[start : start + _CHUNK]
            params = {"p": project_id, "olds": chunk, "news": [mapping[o] for o in chunk]}
            where = f"project_id = {{p}} AND {d.in_array('person_id', 'olds')}"
            warehouse.update(
                "events", "person_id", d.lookup("person_id", "olds", "news"), where, params
            )
            warehouse.delete(
                "person_overrides",
                f"project_id = {{p}} AND {d.in_array('old_person_id', 'olds')}",
                params,
            )
            with transaction(sessions) as session:
                for old in chunk:  # unless a newer merge re-pointed it meanwhile
                    session.execute(
                        update(PersonOverride)
                        .where(PersonOverride.project_id == project_id)
                        .where(PersonOverride.old_person_id == old)
                        .where(PersonOverride.override_person_id == mapping[old])
                        .values(squashed_at=datetime.now(UTC))
                    )
    if rows:
        log.info("ingestion: squashed %d person overrides into the events", len(rows))
    return len(rows)

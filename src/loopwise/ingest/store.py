"""Moving accepted events into the warehouse: dedupe, identity, append.

``EventStore.store`` is the one path from an accepted batch (Arrow rows shaped like
``schema.EVENTS``) to the warehouse, used by the write-ahead-log flusher and by direct mode
alike. In order: drop events whose (project, uuid) was already stored, resolve every
distinct id to its person (applying ``$identify``/``$create_alias`` links and
``$set``/``$set_once`` updates in event order), append the rows, mirror changed person
overrides into the warehouse, and only then remember the keys, so a failed append is
retried whole.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from loopwise.ingest.dedupe import RecentKeys, event_keys
from loopwise.ingest.identity import Identity, Link, Operation, PropertyUpdate, Resolution
from loopwise.ingest.stats import IngestStats
from loopwise.warehouse import Warehouse, dialect_for
from loopwise.warehouse.schema import PERSON_OVERRIDES

log = logging.getLogger(__name__)

LINK_EVENTS = ("$identify", "$create_alias")
_SEED_MAX_KEYS = 20_000_000


class EventStore:
    """Deduplicated, identity-resolved appends; one per process (calls are serialised)."""

    def __init__(
        self,
        warehouse: Warehouse,
        identity: Identity,
        stats: IngestStats,
        dedupe_window: timedelta,
        *,
        check_warehouse: bool = False,
    ) -> None:
        self._warehouse = warehouse
        self._identity = identity
        self._stats = stats
        self._recent = RecentKeys(dedupe_window, max_keys=_SEED_MAX_KEYS)
        self._check_warehouse = check_warehouse
        self._lock = threading.Lock()

    def seed(self, now: datetime | None = None) -> int:
        """Remember the keys the warehouse received within the window; returns how many."""
        now = now or datetime.now(UTC)
        result = self._warehouse.query(
            "SELECT project_id, uuid FROM events WHERE received_at >= {since}",
            {"since": now - self._recent.window},
            max_rows=_SEED_MAX_KEYS,
            timeout_s=300,
        )
        table = result.table
        if result.truncated:
            log.warning(
                "ingestion: more than %d events arrived within the dedupe window; retries of"
                " the others are not recognised until the window moves past them",
                _SEED_MAX_KEYS,
            )
        keys = event_keys(table.column("project_id"), table.column("uuid"))
        with self._lock:
            self._recent.add(keys, now)
        return len(keys)

    def forget_recent(self) -> None:
        """Drop the in-memory window, as a freshly started node has none."""
        with self._lock:
            self._recent = RecentKeys(self._recent.window, max_keys=_SEED_MAX_KEYS)

    def store(self, batch: pa.Table, now: datetime | None = None) -> int:
        """Store a batch; returns how many rows were new. Raises when the warehouse fails."""
        now = now or datetime.now(UTC)
        with self._lock:
            keys = event_keys(batch.column("project_id"), batch.column("uuid"))
            fresh = self._recent.fresh(keys)
            if self._check_warehouse and fresh.any():
                fresh &= ~self._stored_elsewhere(batch, keys, fresh, now)
            duplicates = batch.filter(pa.array(~fresh)) if not fresh.all() else None
            if duplicates is not None:
                batch = batch.filter(pa.array(fresh))
                keys = keys[fresh]
            if batch.num_rows:
                batch = self._with_persons(batch)
                self._warehouse.append("events", batch)
                self._recent.add(keys, now)
        self._count(batch, now, duplicates)
        return int(batch.num_rows)

    def _count(self, batch: pa.Table, now: datetime, duplicates: pa.Table | None) -> None:
        for rows, outcome, reason in (
            (batch, "accepted", ""),
            (duplicates, "dropped", "duplicate"),
        ):
            if rows is not None and rows.num_rows:
                for item in pc.value_counts(rows.column("project_id")).to_pylist():
                    self._stats.count(item["values"], now, outcome, reason, item["counts"])

    def _stored_elsewhere(
        self, batch: pa.Table, keys: np.ndarray, fresh: np.ndarray, now: datetime
    ) -> np.ndarray:
        """With several nodes, a retry may have been stored by another one: ask the warehouse."""
        d = dialect_for(self._warehouse.dialect)
        uuids = [u for u, keep in zip(batch.column("uuid").to_pylist(), fresh, strict=True) if keep]
        result = self._warehouse.query(
            f"SELECT project_id, uuid FROM events WHERE {d.in_array('uuid', 'uuids')}"
            " AND received_at >= {since}",
            {"uuids": uuids, "since": now - self._recent.window},
        )
        stored = set(
            event_keys(result.table.column("project_id"), result.table.column("uuid")).tolist()
        )
        return np.fromiter((key in stored for key in keys.tolist()), dtype=bool, count=len(keys))

    def _with_persons(self, batch: pa.Table) -> pa.Table:
        """The batch with ``person_id`` set by the identity service, project by project."""
        person_ids: list[str | None] = [None] * batch.num_rows
        projects = batch.column("project_id").to_numpy()
        for project_id in np.unique(projects).tolist():
            rows = np.flatnonzero(projects == project_id)
            part = batch.take(pa.array(rows))
            distinct_ids = part.column("distinct_id").to_pylist()
            resolution = self._identity.resolve(project_id, set(distinct_ids), operations(part))
            for row, distinct_id in zip(rows.tolist(), distinct_ids, strict=True):
                person_ids[row] = resolution.persons[distinct_id]
            self._mirror_overrides(project_id, resolution)
        column = batch.schema.get_field_index("person_id")
        return batch.set_column(column, "person_id", pa.array(person_ids, pa.string()))

    def _mirror_overrides(self, project_id: int, resolution: Resolution) -> None:
        if not resolution.overrides:
            return
        d = dialect_for(self._warehouse.dialect)
        olds = sorted(resolution.overrides)
        self._warehouse.delete(
            "person_overrides",
            f"project_id = {{project_id}} AND {d.in_array('old_person_id', 'olds')}",
            {"project_id": project_id, "olds": olds},
        )
        rows = pa.table(
            {
                "project_id": pa.array([project_id] * len(olds), pa.int64()),
                "old_person_id": pa.array(olds, pa.string()),
                "override_person_id": pa.array(
                    [resolution.overrides[o] for o in olds], pa.string()
                ),
            },
            schema=PERSON_OVERRIDES,
        )
        self._warehouse.append("person_overrides", rows)


def operations(part: pa.Table) -> Sequence[Operation]:
    """The identity operations of one project's rows, in row order.

    Only rows that are link events or mention ``$set`` in their properties are parsed.
    """
    events, properties = part.column("event"), part.column("properties")
    wanted = pc.or_(
        pc.is_in(events, pa.array(LINK_EVENTS)), pc.match_substring(properties, '"$set')
    )
    rows = np.flatnonzero(wanted.to_numpy(zero_copy_only=False))
    if not len(rows):
        return []
    found: list[Operation] = []
    distinct_ids = part.column("distinct_id")
    for row in rows.tolist():
        name = events[row].as_py()
        distinct_id = distinct_ids[row].as_py()
        props = orjson.loads(properties[row].as_py())
        other = props.get("$anon_distinct_id") if name == "$identify" else None
        if name == "$create_alias":
            other = props.get("alias")
        if isinstance(other, str | int) and not isinstance(other, bool):
            found.append(Link(distinct_id, str(other)))
        person_set, person_set_once = props.get("$set"), props.get("$set_once")
        if isinstance(person_set, dict) or isinstance(person_set_once, dict):
            found.append(
                PropertyUpdate(
                    distinct_id,
                    person_set if isinstance(person_set, dict) else None,
                    person_set_once if isinstance(person_set_once, dict) else None,
                )
            )
    return found

"""Feature adoption: who uses a feature, how soon, how often, who completes it, and whether
its users stay (definitions in docs/metrics/product.md). Each part is one query written once
for both engines; completion reuses the funnel runner."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from loopwise.product.contracts import (
    AdoptionPoint,
    CoreAdoption,
    DateRange,
    FeatureInfo,
    FeatureReport,
    FunnelQuery,
    Interval,
    RetentionCurve,
    ShareRow,
)
from loopwise.product.filters import property_text
from loopwise.product.queries.funnels import run_funnels
from loopwise.product.queries.periods import bucket_index, buckets, local_range
from loopwise.warehouse import Warehouse, dialect_for
from loopwise.warehouse.dialect import has_person_overrides

RETENTION_WEEKS = 8
SIGNUP_MONTHS = 6


class _Scope:
    """The project, range and SQL pieces the report's queries share."""

    def __init__(
        self,
        warehouse: Warehouse,
        project_id: int,
        feature: FeatureInfo,
        start: datetime,
        end: datetime,
    ) -> None:
        self.warehouse, self.d = warehouse, dialect_for(warehouse.dialect)
        self.merged = has_person_overrides(warehouse, project_id)
        self.params: dict[str, Any] = {
            "p": project_id, "start": start, "end": end, "used": list(feature.events),
        }  # fmt: skip
        self.used = self.d.in_array("event", "used")
        self.start, self.end = start, end

    def source(self, where: str) -> str:
        return self.d.events_with_persons(f"project_id = {{p}} AND {where}", merged=self.merged)

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.warehouse.query(
            sql, params or self.params
        ).table.to_pylist()
        return found


def feature_report(
    warehouse: Warehouse,
    project_id: int,
    feature: FeatureInfo,
    *,
    days: int,
    interval: Interval,
    timezone: str,
    plan_property: str = "plan",
    now: datetime | None = None,
) -> FeatureReport:
    today = (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone)).date()
    start, end = local_range(DateRange(last_days=days), timezone, today)
    scope = _Scope(warehouse, project_id, feature, start, end)
    adoption, totals = _adoption(scope, interval, timezone)
    first_use, uses, median_uses = _first_use_and_frequency(scope)
    completion_rate, completion_time = _completion(
        warehouse, project_id, feature, days, timezone, now
    )
    return FeatureReport(
        feature=feature,
        timezone=timezone,
        interval=interval,
        adoption=adoption,
        active=totals[0],
        adopters=totals[1],
        rate=totals[1] / totals[0] if totals[0] else 0.0,
        median_days_to_first_use=first_use,
        uses_per_adopter=uses,
        median_uses_per_adopter=median_uses,
        completion_rate=completion_rate,
        median_seconds_to_complete=completion_time,
        by_plan=_by_plan(scope, plan_property),
        by_signup_month=_by_signup_month(scope, timezone),
        retention=_retention(scope, timezone),
    )


def _adoption(
    scope: _Scope, interval: Interval, zone: str
) -> tuple[list[AdoptionPoint], tuple[int, int]]:
    """Per period and over the range: active persons and those who used the feature."""
    d, params = scope.d, dict(scope.params)
    slots = buckets(scope.start, scope.end, interval, zone)
    bucket = bucket_index(d, "timestamp", interval, zone, slots, params, "fb")
    adopter = f"CASE WHEN {scope.used} THEN person_id END"
    source = scope.source("timestamp >= {start} AND timestamp < {end}")
    sql = f"""
        SELECT {bucket} AS bucket, {d.count_distinct("person_id")} AS active,
               {d.count_distinct(adopter)} AS adopters
        FROM {source} AS ev GROUP BY bucket
        UNION ALL
        SELECT -1 AS bucket, {d.count_distinct("person_id")} AS active,
               {d.count_distinct(adopter)} AS adopters
        FROM {source} AS ev
    """
    found = {
        int(r["bucket"]): (int(r["active"]), int(r["adopters"])) for r in scope.rows(sql, params)
    }
    points = []
    for number, slot in enumerate(slots):
        active, adopters = found.get(number, (0, 0))
        points.append(
            AdoptionPoint(start=slot, active=active, adopters=adopters,
                          rate=adopters / active if active else 0.0)
        )  # fmt: skip
    return points, found.get(-1, (0, 0))


def _first_use_and_frequency(scope: _Scope) -> tuple[float | None, float | None, float | None]:
    """Median days from a person's first event ever to their first use (for persons whose
    first use fell in the range), and uses per adopter in the range (mean, median)."""
    d = scope.d
    epoch = d.epoch_micros
    firsts = f"""
        SELECT person_id, min(timestamp) AS first_seen,
               min(CASE WHEN {scope.used} THEN timestamp END) AS first_use
        FROM {scope.source("timestamp < {end}")} AS ev GROUP BY person_id
    """
    days = f"({epoch('first_use')} - {epoch('first_seen')}) / 86400000000.0"
    sql = f"""
        SELECT CAST({d.quantile(days, 0.5)} AS DOUBLE) AS median_days
        FROM ({firsts}) AS f WHERE first_use >= {{start}} AND first_use < {{end}}
    """
    median_days = scope.rows(sql)[0]["median_days"]
    per_adopter = f"""
        SELECT person_id, {d.count_rows()} AS uses
        FROM {scope.source("timestamp >= {start} AND timestamp < {end}")} AS ev
        WHERE {scope.used} GROUP BY person_id
    """
    sql = f"""
        SELECT CAST(avg(uses) AS DOUBLE) AS mean,
               CAST({d.quantile("uses", 0.5)} AS DOUBLE) AS median
        FROM ({per_adopter}) AS u
    """
    row = scope.rows(sql)[0]
    return _rounded(median_days), _rounded(row["mean"]), _rounded(row["median"])


def _rounded(value: Any) -> float | None:
    return None if value is None else round(float(value), 6)


def _completion(
    warehouse: Warehouse,
    project_id: int,
    feature: FeatureInfo,
    days: int,
    timezone: str,
    now: datetime | None,
) -> tuple[float | None, float | None]:
    """Of the persons who did the start event in the range, the share who completed
    within 7 days, and their median time to complete (a two-step ordered funnel)."""
    if feature.start_event is None or feature.completion_event is None:
        return None, None
    query = FunnelQuery.model_validate(
        {
            "steps": [{"event": feature.start_event}, {"event": feature.completion_event}],
            "date_range": {"last_days": days},
            "window": {"value": 7, "unit": "day"},
        }
    )
    steps = run_funnels(warehouse, project_id, query, timezone, now=now).total.steps
    if not steps[0].count:
        return None, None
    return steps[1].conversion_from_first, steps[1].median_seconds


def _by_plan(scope: _Scope, plan_property: str) -> list[ShareRow]:
    """Active persons and adopters per plan, a person's plan being the value on their
    latest event in the range (``''`` when none)."""
    d, params = scope.d, dict(scope.params)
    plan = property_text(d, plan_property, params, "pp")
    per_person = f"""
        SELECT person_id, argMax({plan}, timestamp) AS plan,
               max(CASE WHEN {scope.used} THEN 1 ELSE 0 END) AS used
        FROM {scope.source("timestamp >= {start} AND timestamp < {end}")} AS ev
        GROUP BY person_id
    """
    sql = f"""
        SELECT plan, {d.count_rows()} AS persons, {d.count_rows("used = 1")} AS adopters
        FROM ({per_person}) AS pp GROUP BY plan ORDER BY persons DESC, plan LIMIT 20
    """
    return [_share(str(r["plan"]) or "(not set)", r) for r in scope.rows(sql, params)]


def _by_signup_month(scope: _Scope, zone: str) -> list[ShareRow]:
    """Of the persons first seen in each of the last months, the share who have used the
    feature by the end of the range."""
    d, params = scope.d, dict(scope.params)
    first_month = scope.end - timedelta(days=31 * SIGNUP_MONTHS)
    slots = buckets(first_month, scope.end, "month", zone)
    params["months_from"] = slots[0]
    month = bucket_index(d, "first_seen", "month", zone, slots, params, "sm")
    per_person = f"""
        SELECT person_id, min(timestamp) AS first_seen,
               max(CASE WHEN {scope.used} THEN 1 ELSE 0 END) AS used
        FROM {scope.source("timestamp < {end}")} AS ev GROUP BY person_id
    """
    sql = f"""
        SELECT {month} AS month, {d.count_rows()} AS persons, {d.count_rows("used = 1")} AS adopters
        FROM ({per_person}) AS pp WHERE first_seen >= {{months_from}}
        GROUP BY month ORDER BY month
    """
    return [_share(slots[int(r["month"])].astimezone(ZoneInfo(zone)).strftime("%Y-%m"), r)
            for r in scope.rows(sql, params)]  # fmt: skip


def _share(group: str, row: dict[str, Any]) -> ShareRow:
    persons, adopters = int(row["persons"]), int(row["adopters"])
    return ShareRow(group=group, persons=persons, adopters=adopters,
                    rate=adopters / persons if persons else 0.0)  # fmt: skip


def _retention(scope: _Scope, zone: str) -> list[RetentionCurve]:
    """Persons active in the first week of the last ``RETENTION_WEEKS`` (ending with the
    range), split by whether they used the feature that week; the share of each group
    active in every later week."""
    d, params = scope.d, dict(scope.params)
    slots = buckets(scope.end - timedelta(weeks=RETENTION_WEEKS), scope.end, "week", zone)
    slots = slots[-RETENTION_WEEKS:]
    params["weeks_from"] = slots[0]
    week = bucket_index(d, "timestamp", "week", zone, slots, params, "rw")
    activity = f"""
        SELECT person_id, {week} AS week, max(CASE WHEN {scope.used} THEN 1 ELSE 0 END) AS used
        FROM {scope.source("timestamp >= {weeks_from} AND timestamp < {end}")} AS ev
        GROUP BY person_id, week
    """
    sql = f"""
        WITH activity AS ({activity}),
        cohort AS (SELECT person_id, used FROM activity WHERE week = 0)
        SELECT c.used AS used, a.week AS week, {d.count_rows()} AS persons
        FROM cohort AS c JOIN activity AS a ON a.person_id = c.person_id
        GROUP BY c.used, a.week
    """
    counts: dict[tuple[int, int], int] = {}
    for row in scope.rows(sql, params):
        counts[(int(row["used"]), int(row["week"]))] = int(row["persons"])
    curves = []
    for used, label in ((1, "Used the feature"), (0, "Did not")):
        size = counts.get((used, 0), 0)
        shares: list[float | None] = [
            counts.get((used, w), 0) / size if size else None for w in range(len(slots))
        ]
        curves.append(RetentionCurve(label=label, persons=size, shares=shares))
    return curves


def core_adoption(
    warehouse: Warehouse, project_id: int, person_id: str, core: Sequence[FeatureInfo]
) -> CoreAdoption:
    """Which core features the person has ever used."""
    if not core:
        return CoreAdoption(person_id=person_id, adopted=[], not_adopted=[])
    d = dialect_for(warehouse.dialect)
    names = sorted({event for feature in core for event in feature.events})
    params: dict[str, Any] = {"p": project_id, "names": names, "person": person_id}
    source = d.events_with_persons(
        f"project_id = {{p}} AND {d.in_array('event', 'names')}",
        merged=has_person_overrides(warehouse, project_id),
    )
    sql = f"SELECT DISTINCT event FROM {source} AS ev WHERE person_id = {{person}}"
    done = {str(r["event"]) for r in warehouse.query(sql, params).table.to_pylist()}
    adopted = [f.name for f in core if done & set(f.events)]
    return CoreAdoption(
        person_id=person_id,
        adopted=adopted,
        not_adopted=[f.name for f in core if f.name not in adopted],
    )

"""Local-time buckets around DST changes match a zoneinfo oracle on both engines."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from loopwise.warehouse import Warehouse, WarehouseError, dialect_for
from loopwise.warehouse.dialect import TimeUnit

Events = Callable[[Iterable[Mapping[str, Any]]], pa.Table]
ZONES = ["America/New_York", "Asia/Kolkata"]
UNITS: list[TimeUnit] = ["hour", "day", "week", "month"]


def instants() -> list[datetime]:
    """Every 37 minutes across the 2024 spring-forward and fall-back weekends in New York,
    which also crosses month ends in local time and UTC (31 March, 31 October)."""
    starts = [datetime(2024, 3, 8, tzinfo=UTC), datetime(2024, 10, 30, tzinfo=UTC)]
    span = timedelta(days=6)
    step = timedelta(minutes=37, microseconds=1)
    out: list[datetime] = []
    for start in starts:
        moment = start
        while moment < start + span:
            out.append(moment)
            moment += step
    return out


def oracle_start(moment: datetime, unit: TimeUnit, zone: str) -> datetime:
    """The UTC instant at which the local hour/day/week/month containing ``moment`` began."""
    tz = ZoneInfo(zone)
    local = moment.astimezone(tz)
    if unit == "hour":
        into_hour = timedelta(
            minutes=local.minute, seconds=local.second, microseconds=local.microsecond
        )
        return moment - into_hour
    day = local.date()
    if unit == "week":
        day -= timedelta(days=day.weekday())
    elif unit == "month":
        day = day.replace(day=1)
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def oracle_date(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


@pytest.fixture
def loaded(warehouse: Warehouse, events: Events) -> tuple[Warehouse, list[datetime]]:
    moments = instants()
    warehouse.append("events", events({"timestamp": m} for m in moments))
    return warehouse, moments


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("unit", UNITS)
def test_each_timestamp_falls_in_the_local_bucket_the_oracle_names(
    loaded: tuple[Warehouse, list[datetime]], unit: TimeUnit, zone: str
) -> None:
    warehouse, moments = loaded
    d = dialect_for(warehouse.dialect)
    sql = f"SELECT {d.trunc_time(unit, 'timestamp', 'tz')} AS bucket FROM events ORDER BY uuid"

    table = warehouse.query(sql, {"tz": zone}).table

    assert table.schema.field("bucket").type == pa.timestamp("us", tz="UTC")
    assert table.column("bucket").to_pylist() == [oracle_start(m, unit, zone) for m in moments]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("unit", ["day", "week", "month"])
def test_grouped_bucket_counts_match_the_oracle(
    loaded: tuple[Warehouse, list[datetime]], unit: TimeUnit, zone: str
) -> None:
    warehouse, moments = loaded
    d = dialect_for(warehouse.dialect)
    bucket = d.trunc_time(unit, "timestamp", "tz")
    sql = (
        f"SELECT {bucket} AS bucket, {d.count_rows()} AS n"
        " FROM events GROUP BY bucket ORDER BY bucket"
    )

    got = warehouse.query(sql, {"tz": zone}).table.to_pylist()

    expected = Counter(oracle_start(m, unit, zone) for m in moments)
    assert got == [{"bucket": b, "n": n} for b, n in sorted(expected.items())]


@pytest.mark.parametrize("zone", ZONES)
def test_local_dates_match_the_oracle(loaded: tuple[Warehouse, list[datetime]], zone: str) -> None:
    warehouse, moments = loaded
    d = dialect_for(warehouse.dialect)
    sql = f"SELECT {d.local_date('timestamp', 'tz')} AS day FROM events ORDER BY uuid"

    table = warehouse.query(sql, {"tz": zone}).table

    assert table.schema.field("day").type == pa.date32()
    assert table.column("day").to_pylist() == [oracle_date(m, zone) for m in moments]


def test_an_unknown_time_unit_is_refused() -> None:
    with pytest.raises(ValueError, match="hour, day, week, month"):
        dialect_for("duckdb").trunc_time("year", "timestamp", "tz")  # type: ignore[arg-type]


def test_an_unknown_time_zone_is_a_warehouse_error(warehouse: Warehouse, events: Events) -> None:
    # DuckDB checks the zone per row, so it only fails when there is a row to convert.
    warehouse.append("events", events([{}]))
    d = dialect_for(warehouse.dialect)
    sql = f"SELECT {d.trunc_time('day', 'timestamp', 'tz')} AS day FROM events"

    with pytest.raises(WarehouseError):
        warehouse.query(sql, {"tz": "Mars/Olympus_Mons"})


ODD_ZONES = {
    "Australia/Lord_Howe": datetime(2024, 4, 5, tzinfo=UTC),  # DST ends by half an hour
    "America/Sao_Paulo": datetime(2018, 11, 2, tzinfo=UTC),  # DST began at midnight
    "Asia/Kathmandu": datetime(2024, 2, 27, tzinfo=UTC),  # +05:45, month end
    "Europe/London": datetime(1969, 12, 29, tzinfo=UTC),  # before the Unix epoch
}


@pytest.mark.parametrize("zone", list(ODD_ZONES))
def test_odd_zones_bucket_like_the_oracle(warehouse: Warehouse, events: Events, zone: str) -> None:
    start = ODD_ZONES[zone]
    moments = [start + timedelta(minutes=23 * i, microseconds=7) for i in range(3 * 24 * 60 // 23)]
    warehouse.append("events", events({"timestamp": m} for m in moments))
    d = dialect_for(warehouse.dialect)
    buckets = ", ".join(f"{d.trunc_time(u, 'timestamp', 'tz')} AS {u}" for u in UNITS)
    local_day = d.local_date("timestamp", "tz")
    sql = f"SELECT {buckets}, {local_day} AS local_day FROM events ORDER BY uuid"

    got = warehouse.query(sql, {"tz": zone}).table.to_pylist()

    assert got == [
        {u: oracle_start(m, u, zone) for u in UNITS} | {"local_day": oracle_date(m, zone)}
        for m in moments
    ]

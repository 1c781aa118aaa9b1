"""The warehouse tables, declared once as Arrow schemas.

These schemas are the contract between the code that writes events (ingestion, the demo
simulation) and the analytics queries. Each engine's DDL is generated from them, so a column
added here appears in DuckDB, ClickHouse and chDB alike.

Strings are never NULL in the warehouse: a missing value is the empty string. ClickHouse
treats Nullable columns as slower and different (``NULL`` vs ``''`` in comparisons and
window defaults); keeping one convention makes both engines give the same answers.
"""

from __future__ import annotations

import pyarrow as pa

UTC_MICROS = pa.timestamp("us", tz="UTC")

EVENTS = pa.schema(
    [
        pa.field("uuid", pa.string(), nullable=False),
        pa.field("project_id", pa.int64(), nullable=False),
        pa.field("event", pa.string(), nullable=False),
        pa.field("distinct_id", pa.string(), nullable=False),
        pa.field("person_id", pa.string(), nullable=False),
        pa.field("timestamp", UTC_MICROS, nullable=False),
        pa.field("received_at", UTC_MICROS, nullable=False),
        pa.field("session_id", pa.string(), nullable=False),
        # The full event properties as a JSON object text.
        pa.field("properties", pa.string(), nullable=False),
        # Materialised hot columns, copied out of ``properties`` at ingestion.
        pa.field("current_url", pa.string(), nullable=False),
        pa.field("pathname", pa.string(), nullable=False),
        pa.field("referrer", pa.string(), nullable=False),
        pa.field("utm_source", pa.string(), nullable=False),
        pa.field("utm_medium", pa.string(), nullable=False),
        pa.field("utm_campaign", pa.string(), nullable=False),
        pa.field("feature", pa.string(), nullable=False),
        pa.field("browser", pa.string(), nullable=False),
        pa.field("os", pa.string(), nullable=False),
        pa.field("device_type", pa.string(), nullable=False),
        pa.field("country", pa.string(), nullable=False),
    ]
)

# Persons merged away, and the person each now is: queries resolve ``events.person_id``
# through this map (see ``Dialect.person``). Written by the identity service.
PERSON_OVERRIDES = pa.schema(
    [
        pa.field("project_id", pa.int64(), nullable=False),
        pa.field("old_person_id", pa.string(), nullable=False),
        pa.field("override_person_id", pa.string(), nullable=False),
    ]
)

# Property keys copied into hot columns: column name -> property key. Filters and
# breakdowns on these keys read the column instead of parsing the JSON text (on DuckDB,
# parsing is most of the cost of a breakdown). A hot column added later is filled from
# ``properties`` when the warehouse migrates (see ``added_hot_columns``).
HOT_COLUMNS: dict[str, str] = {
    "current_url": "$current_url",
    "pathname": "$pathname",
    "referrer": "$referrer",
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "feature": "$feature",
    "browser": "$browser",
    "os": "$os",
    "device_type": "$device_type",
    "country": "$geoip_country_code",
}

# Table name -> (schema, columns that order/sort the table on disk).
TABLES: dict[str, tuple[pa.Schema, tuple[str, ...]]] = {
    "events": (EVENTS, ("project_id", "timestamp", "event")),
    "person_overrides": (PERSON_OVERRIDES, ("project_id", "old_person_id")),
}


def added_hot_columns(table: str, added: list[str]) -> dict[str, str]:
    """Of the columns a migration just added to ``table``, the hot ones and their keys."""
    if table != "events":
        return {}
    return {name: HOT_COLUMNS[name] for name in added if name in HOT_COLUMNS}

"""The capture facade: one Arrow batch per call, shaped exactly like the events table."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from loopwise.core.errors import InvalidInput
from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import capture, events_to_arrow, uuid4_texts
from loopwise.ingest.ids import PERSON_NAMESPACE
from loopwise.warehouse import Warehouse, open_warehouse
from loopwise.warehouse.schema import EVENTS, HOT_COLUMNS

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
RECEIVED = datetime(2026, 3, 2, 9, 31, tzinfo=UTC)


def build_event(**overrides: Any) -> CaptureEvent:
    fields: dict[str, Any] = {"event": "$pageview", "distinct_id": "user-1", "timestamp": T0}
    return CaptureEvent(**(fields | overrides))


def only_row(*events: CaptureEvent) -> dict[str, Any]:
    rows: list[dict[str, Any]] = events_to_arrow(7, list(events), RECEIVED).to_pylist()
    assert len(rows) == 1
    return rows[0]


@pytest.fixture
def warehouse() -> Iterator[Warehouse]:
    store = open_warehouse("duckdb:///:memory:")
    store.migrate()
    yield store
    store.close()


def test_capture_appends_the_batch_to_the_events_table(warehouse: Warehouse) -> None:
    batch = [build_event(distinct_id=f"user-{i}", properties={"n": i}) for i in range(25)]

    written = capture(warehouse, 3, batch, received_at=RECEIVED)

    result = warehouse.query(
        "SELECT count(*) AS n, count(DISTINCT person_id) AS people FROM events"
        " WHERE project_id = {project}",
        {"project": 3},
    )
    assert written == 25
    assert result.table.to_pylist() == [{"n": 25, "people": 25}]


def test_capture_of_an_empty_batch_writes_nothing(warehouse: Warehouse) -> None:
    assert capture(warehouse, 3, []) == 0
    assert warehouse.query("SELECT count(*) AS n FROM events").table.to_pylist() == [{"n": 0}]


def test_capture_stamps_received_at_with_now_by_default(warehouse: Warehouse) -> None:
    before = datetime.now(UTC)
    capture(warehouse, 3, [build_event()])
    stored = warehouse.query("SELECT received_at FROM events").table.column(0)[0].as_py()
    assert before - timedelta(seconds=1) <= stored <= datetime.now(UTC) + timedelta(seconds=1)


def test_events_to_arrow_matches_the_events_schema_exactly() -> None:
    table = events_to_arrow(1, [build_event(), build_event(event="signed_up")], RECEIVED)
    assert table.schema.equals(EVENTS, check_metadata=True)
    assert table.num_rows == 2


def test_an_empty_batch_still_has_the_events_schema() -> None:
    table = events_to_arrow(1, [], RECEIVED)
    assert table.schema.equals(EVENTS)
    assert table.num_rows == 0


def test_hot_columns_are_copied_from_properties_and_empty_when_absent() -> None:
    props = {
        "$current_url": "https://recipely.app/pricing?utm_source=google",
        "$pathname": "/pricing",
        "utm_source": "google",
        "$feature": "meal_planner",
    }
    row = only_row(build_event(properties=props))
    assert row["current_url"] == props["$current_url"]
    assert row["pathname"] == "/pricing"
    assert row["utm_source"] == "google"
    assert row["feature"] == "meal_planner"
    assert row["referrer"] == row["utm_medium"] == row["utm_campaign"] == ""


def test_non_text_hot_values_are_stored_as_json_text() -> None:
    row = only_row(build_event(properties={"utm_campaign": 2026, "$feature": None}))
    assert row["utm_campaign"] == "2026"
    assert row["feature"] == ""


def test_every_hot_column_has_a_property_key() -> None:
    assert set(HOT_COLUMNS) <= set(EVENTS.names)


def test_session_id_comes_from_the_event_or_its_session_property() -> None:
    table = events_to_arrow(
        1,
        [
            build_event(session_id="s-arg", properties={"$session_id": "s-prop"}),
            build_event(properties={"$session_id": "s-prop"}),
            build_event(),
        ],
        RECEIVED,
    )
    assert table.column("session_id").to_pylist() == ["s-arg", "s-prop", ""]


def test_a_missing_uuid_is_generated_as_a_fresh_uuid4() -> None:
    table = events_to_arrow(1, [build_event(), build_event()], RECEIVED)
    ids = [uuid.UUID(text) for text in table.column("uuid").to_pylist()]
    assert all(value.version == 4 for value in ids)
    assert ids[0] != ids[1]


def test_a_given_uuid_is_kept_in_canonical_form() -> None:
    given_id = "6F1C2A52-8D0E-4B3C-9A51-1C0F7E3D2B64"
    assert only_row(build_event(uuid=given_id))["uuid"] == given_id.lower()


def test_person_id_is_the_uuid5_of_project_and_distinct_id() -> None:
    table = events_to_arrow(
        7, [build_event(distinct_id="a"), build_event(distinct_id="b"), build_event()], RECEIVED
    )
    expected = [str(uuid.uuid5(PERSON_NAMESPACE, f"7:{d}")) for d in ("a", "b", "user-1")]
    assert table.column("person_id").to_pylist() == expected
    other_project = events_to_arrow(8, [build_event(distinct_id="a")], RECEIVED)
    assert other_project.column("person_id")[0].as_py() != expected[0]


def test_timestamps_with_an_offset_are_stored_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    row = only_row(build_event(timestamp=datetime(2026, 3, 2, 10, 30, 0, 123456, tzinfo=paris)))
    assert row["timestamp"] == datetime(2026, 3, 2, 9, 30, 0, 123456, tzinfo=UTC)
    assert row["received_at"] == RECEIVED


def test_set_and_set_once_are_kept_inside_the_properties() -> None:
    event = build_event(
        event="$identify",
        properties={"$anon_distinct_id": "anon-1"},
        set={"email": "ada@example.com"},
        set_once={"first_seen": "2026-03-02"},
    )
    stored = json.loads(only_row(event)["properties"])
    assert stored == {
        "$anon_distinct_id": "anon-1",
        "$set": {"email": "ada@example.com"},
        "$set_once": {"first_seen": "2026-03-02"},
    }
    assert event.properties == {"$anon_distinct_id": "anon-1"}


def test_properties_are_compact_json_with_datetimes_and_decimals_converted() -> None:
    props = {"at": datetime(2026, 1, 1, tzinfo=UTC), "price": Decimal("19.90"), "tags": ("a",)}
    text = only_row(build_event(properties=props))["properties"]
    assert text == '{"at":"2026-01-01T00:00:00+00:00","price":19.9,"tags":["a"]}'


def test_non_finite_numbers_are_stored_as_null_instead_of_failing_the_batch() -> None:
    props = {"ratio": float("nan"), "nested": {"x": float("inf")}, "ok": 1}
    stored = json.loads(only_row(build_event(properties=props))["properties"])
    assert stored == {"ratio": None, "nested": {"x": None}, "ok": 1}


def test_an_unstorable_property_names_the_event_in_the_batch() -> None:
    batch = [build_event(), build_event(properties={"blob": object()})]
    with pytest.raises(InvalidInput) as caught:
        events_to_arrow(1, batch, RECEIVED)
    assert caught.value.field == "events[1].properties"
    assert "object" in caught.value.message


def test_a_negative_project_id_is_refused() -> None:
    with pytest.raises(InvalidInput, match="project_id"):
        events_to_arrow(-1, [build_event()], RECEIVED)


def test_a_naive_received_at_is_refused() -> None:
    with pytest.raises(InvalidInput, match="received_at"):
        events_to_arrow(1, [build_event()], datetime(2026, 1, 1))


@given(
    st.dictionaries(
        st.text(max_size=20),
        st.recursive(
            st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text(),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner),
            max_leaves=8,
        ),
        max_size=6,
    )
)
def test_json_properties_round_trip(props: dict[str, Any]) -> None:
    assert json.loads(only_row(build_event(properties=props))["properties"]) == props


def test_a_naive_timestamp_is_rejected_with_a_clear_message() -> None:
    with pytest.raises(InvalidInput, match="timestamp: must be timezone-aware") as caught:
        build_event(timestamp=datetime(2026, 1, 1, 12, 0))
    assert "2026-01-01T12:00:00" in caught.value.message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event", ""),
        ("event", "e" * 201),
        ("distinct_id", ""),
        ("distinct_id", "d" * 201),
        ("uuid", "not-a-uuid"),
        ("session_id", "s" * 201),
        ("event", 42),
        ("properties", ["not", "a", "dict"]),
        ("set", "email=a@b"),
        ("timestamp", "2026-01-01T00:00:00Z"),
    ],
)
def test_invalid_fields_are_rejected_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        build_event(**{field: value})
    assert caught.value.field == field


def test_names_of_the_maximum_length_are_accepted() -> None:
    event = build_event(event="e" * 200, distinct_id="d" * 200)
    assert len(event.event) == len(event.distinct_id) == 200


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(TypeError, match="colour"):
        build_event(colour="red")


def test_events_are_immutable() -> None:
    event = build_event()
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.event = "other"  # type: ignore[misc]


def test_timestamps_are_normalised_to_utc_on_the_event() -> None:
    tokyo = timezone(timedelta(hours=9))
    event = build_event(timestamp=datetime(2026, 3, 2, 18, 30, tzinfo=tokyo))
    assert event.timestamp == T0
    assert event.timestamp.tzinfo is UTC


@pytest.mark.parametrize("count", [0, 1, 2, 8, 50])
def test_uuid4_texts_formats_bytes_like_the_uuid_module(count: int) -> None:
    raw = bytes(i % 256 for i in range(16 * count * 7, 16 * count * 8))
    expected = [str(uuid.UUID(bytes=raw[i : i + 16], version=4)) for i in range(0, len(raw), 16)]
    assert uuid4_texts(raw) == expected


def test_uuid4_texts_refuses_a_partial_uuid() -> None:
    with pytest.raises(ValueError, match="multiple of 16"):
        uuid4_texts(b"\x00" * 15)


def test_wire_data_is_parsed_with_iso_times_and_posthog_set_keys() -> None:
    event = CaptureEvent.model_validate(
        {
            "event": "$identify",
            "distinct_id": "user-1",
            "timestamp": "2026-03-02T10:30:00+01:00",
            "$set": {"email": "ada@example.com"},
            "$set_once": {"first_seen": "2026-03-02"},
        }
    )
    assert event.timestamp == T0
    assert event.set == {"email": "ada@example.com"}
    assert event.set_once == {"first_seen": "2026-03-02"}


@pytest.mark.parametrize(
    ("data", "mentions"),
    [
        ({"event": "", "distinct_id": "a", "timestamp": "2026-03-02T09:30:00Z"}, "event"),
        ({"event": "x", "distinct_id": "a", "timestamp": "2026-03-02T09:30:00"}, "timezone"),
        ({"event": "x", "distinct_id": "a", "timestamp": "yesterday"}, "timestamp"),
        ({"event": "x", "distinct_id": "a", "timestamp": T0, "uuid": "nope"}, "uuid"),
        ({"event": "x", "distinct_id": "a", "timestamp": T0, "colour": "red"}, "colour"),
    ],
)
def test_bad_wire_data_is_a_validation_error_naming_the_problem(
    data: dict[str, Any], mentions: str
) -> None:
    with pytest.raises(ValidationError, match=mentions):
        CaptureEvent.model_validate(data)

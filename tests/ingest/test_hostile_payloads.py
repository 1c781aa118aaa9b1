"""Malformed and hostile payloads: never a 5xx, and nothing half-stored.

Every accepted event is stored exactly once and every refused one not at all: after each
generated request the stored count grows by exactly the ``accepted`` the server reported.
"""

from __future__ import annotations

import gzip
import json
import uuid
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopwise.web.context import AppContext
from tests.factories import create_project, flushed

POSTHOG_PATHS = ("/batch/", "/capture/", "/e/", "/i/v0/e/")
SEGMENT_PATHS = ("/v1/batch", "/v1/track", "/v1/identify", "/v1/alias", "/v1/page")
ALLOWED = {200, 400, 401, 413}

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
hostile_text = st.one_of(
    st.text(min_size=0, max_size=30),
    st.just("\x00"),
    st.just("x" * 300),
    st.just("null"),
    st.just("anonymous"),
)
good_event = st.fixed_dictionaries(
    {
        "event": st.text(min_size=1, max_size=30),
        "distinct_id": st.one_of(st.text(min_size=1, max_size=30), st.integers(0, 10**6)),
        "properties": st.dictionaries(st.text(max_size=10), json_value, max_size=5),
    },
    optional={
        "timestamp": st.sampled_from(["2026-11-20T10:00:00Z", "2026-11-20 10:00:00", "bad", 3]),
        "$set": st.one_of(st.dictionaries(st.text(max_size=5), json_leaf, max_size=3), json_leaf),
        "uuid": st.one_of(st.uuids().map(str), hostile_text),
    },
)
any_event = st.one_of(
    good_event,
    st.dictionaries(
        st.sampled_from(["event", "distinct_id", "properties", "timestamp", "uuid", "$set"]),
        st.one_of(json_value, hostile_text),
        max_size=6,
    ),
    json_value,
)


@pytest.fixture
def app(client: TestClient, context: AppContext) -> tuple[TestClient, AppContext, str]:
    return client, context, create_project(context).write_key


def is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def stored(context: AppContext) -> int:
    flushed(context)
    table = context.warehouse.query("SELECT count(*) AS n FROM events").table
    return int(table.column("n")[0].as_py())


HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@HYPOTHESIS
@given(batch=st.lists(any_event, min_size=1, max_size=8), path=st.sampled_from(POSTHOG_PATHS))
def test_posthog_batches_never_fail_and_store_exactly_what_they_accept(
    app: tuple[TestClient, AppContext, str], batch: list[Any], path: str
) -> None:
    client, context, write_key = app
    before = stored(context)
    for item in batch:  # fresh ids (hostile ones stay), so the count is exact
        if isinstance(item, dict) and ("uuid" not in item or is_uuid(item["uuid"])):
            item["uuid"] = str(uuid.uuid4())
    response = client.post(path, content=json.dumps({"api_key": write_key, "batch": batch}))
    assert response.status_code in ALLOWED, response.text
    accepted = response.json().get("accepted", 0) if response.status_code == 200 else 0
    assert stored(context) - before == accepted
    for rejected in response.json().get("rejected", []):
        assert rejected["field"].startswith(f"batch[{rejected['index']}]")
        assert rejected["detail"]


@HYPOTHESIS
@given(message=any_event, path=st.sampled_from(SEGMENT_PATHS))
def test_segment_messages_never_fail(
    app: tuple[TestClient, AppContext, str], message: Any, path: str
) -> None:
    client, _, write_key = app
    body: Any = {"batch": [message]} if path == "/v1/batch" else message
    if isinstance(body, dict):
        body = {**body, "writeKey": write_key}
    response = client.post(path, content=json.dumps(body))
    assert response.status_code in ALLOWED, response.text
    assert "detail" in response.json() or response.json().get("success") is True


@HYPOTHESIS
@given(
    raw=st.binary(max_size=200),
    gzip_magic=st.booleans(),
    path=st.sampled_from(POSTHOG_PATHS + SEGMENT_PATHS),
)
def test_arbitrary_bytes_get_a_clear_400(
    app: tuple[TestClient, AppContext, str], raw: bytes, gzip_magic: bool, path: str
) -> None:
    client, _, _ = app
    body = b"\x1f\x8b" + raw if gzip_magic else raw
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code in ALLOWED, response.text
    if response.status_code == 400:
        assert response.json()["field"]


def test_bad_utf8_bad_gzip_deep_nesting_and_huge_messages_are_named(
    app: tuple[TestClient, AppContext, str],
) -> None:
    client, context, write_key = app
    before = stored(context)
    bad_utf8 = b'{"api_key": "' + write_key.encode() + b'", "event": "\xff", "distinct_id": "a"}'
    assert client.post("/capture/", content=bad_utf8).json()["field"] == "body"
    truncated = gzip.compress(b'{"event": "x"}')[:-6]
    answer = client.post("/batch/", content=truncated)
    assert answer.status_code == 400
    assert "gzip" in answer.json()["detail"]
    deep: Any = "leaf"
    for _ in range(2000):
        deep = {"d": deep}
    nested = orjson.dumps({"api_key": write_key, "event": "x", "distinct_id": "a"})[:-1]
    body = nested + b', "properties": ' + b'{"d":' * 2000 + b"1" + b"}" * 2000 + b"}"
    answer = client.post("/capture/", content=body)
    assert answer.status_code == 400
    assert "depth" in answer.json()["detail"]
    huge = {"event": "big", "distinct_id": "a", "properties": {"text": "x" * 40_000}}
    small = {"event": "small", "distinct_id": "a"}
    answer = client.post("/batch/", json={"api_key": write_key, "batch": [huge, small]})
    assert answer.status_code == 200
    assert answer.json()["accepted"] == 1
    assert answer.json()["rejected"][0]["detail"] == "batch[0].event is larger than 32 KB"
    assert stored(context) - before == 1


def test_bodies_over_20_mb_are_refused_compressed_or_not(
    app: tuple[TestClient, AppContext, str],
) -> None:
    client, _, write_key = app
    padding = "y" * (21 * 1024 * 1024)
    plain = orjson.dumps({"api_key": write_key, "event": "x", "distinct_id": "a", "p": padding})
    assert client.post("/capture/", content=plain).status_code == 413
    bomb = gzip.compress(plain)  # small on the wire, too big once inflated
    answer = client.post("/capture/", content=bomb)
    assert answer.status_code == 413
    assert answer.json()["field"] == "body"

"""The privacy steps: consent, IP handling, cookieless ids, PII scrubbing and the deny-list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.models import IngestCount
from loopwise.ingest.pipeline import Draft, DropReason, IngestPolicy, StepContext, run_pipeline
from loopwise.ingest.policies import save_policy
from loopwise.ingest.privacy import (
    STEPS,
    cookieless_id,
    luhn_valid,
    parse_consent,
    scrub_text,
    truncate_ip,
)
from loopwise.web.context import AppContext
from tests.factories import create_project, flushed

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SALT = b"s" * 32


def draft(event: str = "clicked", distinct_id: str = "u1", **extra: Any) -> Draft:
    properties = extra.pop("properties", {})
    captured = CaptureEvent(
        event=event, distinct_id=distinct_id, timestamp=NOW, properties=properties
    )
    return Draft(event=captured, **extra)


def run(policy: IngestPolicy, *drafts: Draft, salt: bytes = SALT) -> Any:
    return run_pipeline(STEPS, drafts, StepContext(7, policy, NOW, salt))


# --- consent ---------------------------------------------------------------------------------


def test_required_consent_drops_events_without_consent_for_their_category() -> None:
    policy = IngestPolicy(require_consent=True)
    outcome = run(
        policy,
        draft("clicked"),  # no consent at all
        draft("clicked", consent=frozenset({"performance"})),  # not analytics
        draft("$exception", consent=frozenset({"performance"})),  # performance: allowed
        draft("clicked", consent=frozenset({"analytics"})),
        draft("x", properties={"$feature": "search"}, consent=frozenset({"analytics"})),
        draft("survey sent", consent=frozenset({"feedback"})),
    )
    assert [e.event for e in outcome.kept] == ["$exception", "clicked", "survey sent"]
    assert outcome.drops == {DropReason.CONSENT_MISSING: 1, DropReason.CONSENT_DENIED: 2}


def test_without_required_consent_nothing_is_dropped() -> None:
    outcome = run(IngestPolicy(), draft(), draft(consent=frozenset()))
    assert len(outcome.kept) == 2
    assert not outcome.drops


@pytest.mark.parametrize(
    ("sent", "granted"),
    [
        (["analytics", "geo", "nonsense"], {"analytics", "geo"}),
        ({"analytics": True, "performance": False}, {"analytics"}),
        (
            {"categoryPreferences": {"Analytics": True, "Feature Adoption": True}},
            {"analytics", "feature_adoption"},
        ),
        ("analytics, feedback", {"analytics", "feedback"}),
        (42, set()),
    ],
)
def test_consent_is_read_from_every_shape_the_sdks_send(sent: Any, granted: set[str]) -> None:
    assert parse_consent(sent) == granted


# --- IP -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "stored"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::"),
        ("::ffff:198.51.100.9", "198.51.100.0"),
        ("not an ip", ""),
    ],
)
def test_ip_addresses_are_truncated(address: str, stored: str) -> None:
    assert truncate_ip(address) == stored


def test_the_raw_ip_never_survives_the_pipeline() -> None:
    from_request = draft(ip="203.0.113.77")
    from_property = draft(properties={"$ip": "198.51.100.23"}, ip="10.0.0.1")
    kept = run(IngestPolicy(), from_request, from_property).kept
    assert [e.properties["$ip"] for e in kept] == ["203.0.113.0", "198.51.100.0"]
    dropped = run(
        IngestPolicy(ip_mode="drop"), draft(ip="203.0.113.77", properties={"$ip": "1.2.3.4"})
    )
    assert "$ip" not in dropped.kept[0].properties


def test_ip_is_dropped_when_geo_consent_is_missing() -> None:
    policy = IngestPolicy(require_consent=True)
    no_geo = draft(ip="203.0.113.77", consent=frozenset({"analytics"}))
    with_geo = draft(ip="203.0.113.77", consent=frozenset({"analytics", "geo"}))
    kept = run(policy, no_geo, with_geo).kept
    assert "$ip" not in kept[0].properties
    assert kept[1].properties["$ip"] == "203.0.113.0"


def test_raw_user_agents_are_removed() -> None:
    kept = run(
        IngestPolicy(), draft(properties={"$raw_user_agent": "Mozilla/5.0", "$browser": "Firefox"})
    ).kept
    assert kept[0].properties == {"$browser": "Firefox"}


# --- cookieless ---------------------------------------------------------------------------------


def test_cookieless_mode_replaces_anonymous_ids_with_a_daily_hash() -> None:
    policy = IngestPolicy(cookieless=True)
    visit = {"ip": "203.0.113.77", "user_agent": "UA/1", "anonymous": True}
    first = run(policy, draft(distinct_id="cookie-abc", **visit)).kept[0]
    again = run(policy, draft(distinct_id="cookie-xyz", **visit)).kept[0]
    tomorrow = run(policy, draft(distinct_id="cookie-abc", **visit), salt=b"t" * 32).kept[0]
    known = run(policy, draft(distinct_id="user-9", ip="203.0.113.77", user_agent="UA/1")).kept[0]
    assert first.distinct_id == again.distinct_id == cookieless_id(SALT, 7, "203.0.113.77", "UA/1")
    assert first.distinct_id.startswith("cookieless_")
    assert tomorrow.distinct_id != first.distinct_id
    assert known.distinct_id == "user-9"
    assert "203.0.113.77" not in repr(first)


def test_cookieless_identify_links_the_hashed_visitor() -> None:
    policy = IngestPolicy(cookieless=True)
    identify = draft("$identify", "user-9", ip="203.0.113.77", user_agent="UA/1",
                     properties={"$anon_distinct_id": "cookie-abc"})  # fmt: skip
    kept = run(policy, identify).kept[0]
    assert kept.properties["$anon_distinct_id"] == cookieless_id(SALT, 7, "203.0.113.77", "UA/1")


# --- PII ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("contact jane.doe+x@example.co.uk now", "contact [email] now"),
        ("card 4242 4242 4242 4242 ok", "card [card] ok"),
        ("card 4111-1111-1111-1111", "card [card]"),
        ("call +44 20 7946 0958 today", "call [phone] today"),
        ("call (555) 123-4567", "call [phone]"),
        ("order 4242424242424241", "order 4242424242424241"),  # fails Luhn: not a card
        ("on 2026-11-22 at 10:30", "on 2026-11-22 at 10:30"),
        ("id 1732251234567", "id 1732251234567"),
        ("v1.2.3", "v1.2.3"),
    ],
)
def test_free_text_pii_is_masked_and_lookalikes_are_kept(text: str, scrubbed: str) -> None:
    assert scrub_text(text) == scrubbed


def test_luhn() -> None:
    assert luhn_valid("4242424242424242")
    assert not luhn_valid("4242424242424241")


def test_pii_scrubbing_reaches_nested_values_but_not_person_properties() -> None:
    captured = CaptureEvent(
        event="x", distinct_id="u", timestamp=NOW, set={"email": "a@b.io"},
        properties={"note": "mail me at a@b.io", "form": {"fields": ["x", "+1 415 555 0100"]}},
    )  # fmt: skip
    kept = run(IngestPolicy(), Draft(event=captured)).kept[0]
    assert kept.properties["note"] == "mail me at [email]"
    assert kept.properties["form"] == {"fields": ["x", "[phone]"]}
    assert kept.set == {"email": "a@b.io"}
    unscrubbed = run(IngestPolicy(scrub_pii=False), draft(properties={"note": "a@b.io"})).kept[0]
    assert unscrubbed.properties["note"] == "a@b.io"


def test_the_deny_list_removes_properties_everywhere() -> None:
    captured = CaptureEvent(
        event="signup", distinct_id="u", timestamp=NOW,
        properties={"Password": "x", "plan": "pro"}, set={"password": "y", "name": "Al"},
    )  # fmt: skip
    kept = run(IngestPolicy(denylist=frozenset({"password"})), Draft(event=captured)).kept[0]
    assert kept.properties == {
        "plan": "pro",
        "$ip": kept.properties.get("$ip"),
    } or kept.properties == {"plan": "pro"}
    assert kept.set == {"name": "Al"}


# --- through HTTP, with counted drops -------------------------------------------------------------


@pytest.fixture
def app(client: TestClient, context: AppContext) -> tuple[TestClient, AppContext]:
    return client, context


def test_a_project_requiring_consent_stores_only_consented_events_and_counts_drops(
    app: tuple[TestClient, AppContext],
) -> None:
    client, context = app
    project = create_project(context)
    with context.sessions.begin() as session:
        save_policy(session, project.id, IngestPolicy(require_consent=True))
    batch = [
        {"event": "a", "distinct_id": "u", "properties": {"$consent": ["analytics"]}},
        {"event": "b", "distinct_id": "u"},
        {"event": "c", "distinct_id": "u", "properties": {"$consent": ["performance"]}},
    ]
    answer = client.post("/batch/", json={"api_key": project.write_key, "batch": batch}).json()
    assert answer["accepted"] == 1
    assert answer["dropped"] == {"consent_missing": 1, "consent_denied": 1}
    segment = {"writeKey": project.write_key, "userId": "u", "event": "d",
               "context": {"consent": {"categoryPreferences": {"analytics": True}},
                           "ip": "203.0.113.77"}}  # fmt: skip
    assert client.post("/v1/track", json=segment).json()["accepted"] == 1
    flushed(context)
    rows = context.warehouse.query(
        "SELECT event, properties FROM events WHERE project_id = {p} ORDER BY event",
        {"p": project.id},
    ).table.to_pylist()
    assert [row["event"] for row in rows] == ["a", "d"]
    assert "203.0.113.77" not in rows[1]["properties"]
    context.ingest.stats.save(context.sessions)  # type: ignore[union-attr]
    with context.sessions() as session:
        counts = {(c.outcome, c.reason): c.count for c in session.query(IngestCount).all()}
    assert counts[("dropped", "consent_missing")] == 1
    assert counts[("dropped", "consent_denied")] == 1
    assert counts[("accepted", "")] == 2

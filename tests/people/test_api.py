"""The Users JSON API: a person's whole context with its cards, the timeline paged
backwards and filtered by kind, quick actions (201, or 422 naming the field), the list
with its filter parameters, search, bulk export as CSV, saved filters, settings, who may
do what, and every endpoint in the OpenAPI document."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from loopwise.core.db import transaction
from loopwise.core.roles import Role
from loopwise.ingest.ids import person_id_for
from loopwise.people import facade
from loopwise.people.timeline import timeline_json
from loopwise.web.context import AppContext
from tests.factories import bearer, create_api_key, create_project
from tests.people.test_pages import build_people


def test_a_persons_context_has_every_card(client: TestClient, context: AppContext) -> None:
    built = build_people(context)
    key = bearer(create_api_key(context, built.project, Role.VIEWER))
    found = client.get(f"/api/projects/{built.project}/people/{built.ann}", headers=key)
    assert found.status_code == 200
    body = found.json()
    assert (body["name"], body["email"], body["account"], body["tier"]) == (
        "Ann Lee", "ann.lee@acme.test", "Acme Foods", "basic")  # fmt: skip
    assert body["person"]["merged_person_ids"] == [person_id_for(built.project, "anon-ann")]
    assert 0 <= body["health"]["score"] <= 100
    assert {c["key"] for c in body["health"]["components"]} >= {"engagement", "payments"}
    assert body["billing"]["billing"]["mrr_minor"] == 2000
    assert body["billing"]["payment_method"] == {"brand": "visa", "last4": "4242"}
    assert body["support"]["total"] == 1
    assert body["support"]["last"]["subject"] == "Cannot export"
    assert body["usage"]["errors_7d"] == 1
    kinds = {item["kind"] for item in body["timeline"]["items"]}
    assert {"session", "error", "payment", "ticket"} <= kinds
    assert any(e["properties"].get("format") == "csv" for e in body["debug"]["recent_events"])
    assert isinstance(body["insights"], list)

    insights = client.get(f"/api/projects/{built.project}/people/{built.ann}/insights",
                          headers=key)  # fmt: skip
    assert insights.status_code == 200
    assert insights.json() == [{k: i[k] for k in ("kind", "text", "evidence")}
                               for i in body["insights"]]  # fmt: skip

    other = create_project(context, "Other").id
    other_key = bearer(create_api_key(context, other, Role.VIEWER))
    assert client.get(f"/api/projects/{other}/people/{built.ann}",
                      headers=other_key).status_code == 404  # fmt: skip
    assert client.get(f"/api/projects/{built.project}/people/{built.ann}",
                      headers=other_key).status_code == 404  # fmt: skip


def test_the_timeline_pages_backwards_and_filters_by_kind(
    client: TestClient, context: AppContext
) -> None:
    built = build_people(context)
    key = bearer(create_api_key(context, built.project, Role.VIEWER))
    url = f"/api/projects/{built.project}/people/{built.ann}/timeline"
    week = client.get(url, params={"days": 3}, headers=key).json()
    at = [datetime.fromisoformat(i["at"]) for i in week["items"]]
    assert at == sorted(at, reverse=True)
    start, end = datetime.fromisoformat(week["start"]), datetime.fromisoformat(week["end"])
    assert all(start <= moment < end for moment in at)
    assert end - start == timedelta(days=3)
    assert "session" in {i["kind"] for i in week["items"]}
    older = client.get(url, params={"days": 6, "before": week["next_before"]}, headers=key).json()
    assert older["end"] == week["next_before"]
    older_titles = [i["title"] for i in older["items"]]
    assert "Payment of USD 20.00 received" not in older_titles  # ten days ago: further back
    assert not set(map(str, older["items"])) & set(map(str, week["items"]))
    assert any(i["kind"] == "session" for i in older["items"])  # the visit six days ago

    payments = client.get(url, params={"kinds": "payment", "days": 30}, headers=key).json()
    assert [i["title"] for i in payments["items"]] == ["Payment of USD 20.00 received"]
    both = client.get(url, params=[("kinds", "ticket"), ("kinds", "error")], headers=key).json()
    assert {i["kind"] for i in both["items"]} == {"ticket", "error"}

    bad = client.get(url, params={"before": "yesterday"}, headers=key)
    assert bad.status_code == 422
    assert bad.json()["field"] == "before"
    unknown = client.get(url, params={"kinds": "gossip"}, headers=key)
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "kinds"


def test_quick_actions_answer_201_or_422_naming_the_field(
    client: TestClient, context: AppContext
) -> None:
    built = build_people(context)
    agent = bearer(create_api_key(context, built.project, Role.SUPPORT))
    url = f"/api/projects/{built.project}/people/{built.cy}/actions"
    note = client.post(url, json={"kind": "note", "body": "Asked about **teams**."}, headers=agent)
    assert note.status_code == 201
    done = note.json()
    assert done["kind"] == "note"
    assert done["action_id"] > 0
    assert done["message"] == "Note added."
    timeline = client.get(f"/api/projects/{built.project}/people/{built.cy}/timeline",
                          params={"kinds": "note"}, headers=agent).json()  # fmt: skip
    assert [i["detail"] for i in timeline["items"]] == ["Asked about **teams**."]

    ticket = client.post(url, json={"kind": "ticket", "subject": "Follow up",
                                    "body": "Call back about teams."}, headers=agent)  # fmt: skip
    assert ticket.status_code == 201
    assert ticket.json()["link"].startswith(f"/projects/{built.project}/support/tickets/")

    empty_tag = client.post(url, json={"kind": "tag", "tag": ""}, headers=agent)
    assert empty_tag.status_code == 422
    assert [e["field"] for e in empty_tag.json()["errors"]] == ["tag.tag"]
    no_subject = client.post(url, json={"kind": "email", "body": "hi"}, headers=agent)
    assert no_subject.status_code == 422
    assert no_subject.json()["field"] in ("subject", "smtp")
    unknown = client.post(url, json={"kind": "hug"}, headers=agent)
    assert unknown.status_code == 422

    viewer = bearer(create_api_key(context, built.project, Role.VIEWER))
    assert client.post(url, json={"kind": "note", "body": "x"}, headers=viewer).status_code == 403


def test_the_list_search_and_bulk_export(client: TestClient, context: AppContext) -> None:
    built = build_people(context)
    analyst = bearer(create_api_key(context, built.project, Role.ANALYST))
    base = f"/api/projects/{built.project}/people"
    page = client.get(base, params={"f0": "account", "o0": "eq", "v0": "Acme Foods",
                                    "sort": "name"}, headers=analyst).json()  # fmt: skip
    assert page["total"] == 2
    assert [p["name"] for p in page["people"]] == ["Ann Lee", "Bob Stone"]
    assert page["people"][0]["mrr"] == 20.0
    assert page["people"][0]["plan"] == "basic"
    bad = client.get(base, params={"f0": "health", "o0": "gt", "v0": "high"}, headers=analyst)
    assert bad.status_code == 422
    assert bad.json()["field"] == "v0"
    wrong = client.get(base, params={"f2": "plan", "o2": "lt", "v2": "x"}, headers=analyst)
    assert wrong.status_code == 422
    assert wrong.json()["field"] == "o2"

    found = client.get(f"{base}/search", params={"q": "cy@"}, headers=analyst).json()
    assert [r["person_id"] for r in found["results"]] == [built.cy]

    acme = {"conditions": [{"field": "account", "op": "eq", "value": "Acme Foods"}]}
    export = client.post(f"{base}/bulk", json={"kind": "export", "filter": acme}, headers=analyst)
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert sorted(r["email"] for r in rows) == ["ann.lee@acme.test", "bob@acme.test"]
    ann = next(r for r in rows if r["person_id"] == built.ann)
    assert (ann["plan"], ann["mrr"]) == ("basic", "20.00")

    agent = bearer(create_api_key(context, built.project, Role.SUPPORT))
    refused = client.post(f"{base}/bulk", json={"kind": "export"}, headers=agent)
    assert refused.status_code == 403
    tagged = client.post(f"{base}/bulk", json={"kind": "tag", "tag": "acme", "filter": acme},
                         headers=agent)  # fmt: skip
    assert tagged.status_code == 200
    assert tagged.json()["count"] == 2
    assert client.post(f"{base}/bulk", json={"kind": "cohort", "cohort_name": "x"},
                       headers=agent).status_code == 403  # fmt: skip


def test_presets_settings_recompute_and_the_openapi_document(
    client: TestClient, context: AppContext
) -> None:
    built = build_people(context)
    base = f"/api/projects/{built.project}/people"
    agent = bearer(create_api_key(context, built.project, Role.SUPPORT))
    spec = {"quick": ["at_risk"], "conditions": [{"field": "mrr", "op": "gt", "value": 0}]}
    saved = client.post(f"{base}/presets", json={"name": "Payers at risk", "filter": spec},
                        headers=agent)  # fmt: skip
    assert saved.status_code == 201
    listed = client.get(f"{base}/presets", headers=agent).json()
    assert [(p["name"], p["filter"]["quick"]) for p in listed] == [("Payers at risk", ["at_risk"])]
    twice = client.post(f"{base}/presets", json={"name": "payers AT risk", "filter": spec},
                        headers=agent)  # fmt: skip
    assert twice.status_code == 422
    assert twice.json()["field"] == "name"
    viewer = bearer(create_api_key(context, built.project, Role.VIEWER))
    assert client.delete(f"{base}/presets/{saved.json()['id']}", headers=viewer).status_code == 403
    assert client.delete(f"{base}/presets/{saved.json()['id']}", headers=agent).status_code == 204

    admin = bearer(create_api_key(context, built.project, Role.ADMIN))
    settings = client.get(f"{base}/settings", headers=viewer).json()
    assert settings["healthy_from"] == 70
    changed = client.put(f"{base}/settings", json={**settings, "at_risk_from": 50}, headers=admin)
    assert changed.status_code == 200
    assert changed.json()["at_risk_from"] == 50
    inverted = client.put(f"{base}/settings", json={**settings, "at_risk_from": 90}, headers=admin)
    assert inverted.status_code == 422
    assert inverted.json()["field"] == "at_risk_from"
    assert client.put(f"{base}/settings", json=settings, headers=agent).status_code == 403
    report = client.post(f"{base}/recompute", headers=admin)
    assert report.status_code == 200
    assert report.json()["persons"] == 3
    assert sum(report.json()["by_band"].values()) == 3

    paths = client.get("/api/openapi.json").json()["paths"]
    for path in ("/api/projects/{project_id}/people", "/api/projects/{project_id}/people/search",
                 "/api/projects/{project_id}/people/{person_id}",
                 "/api/projects/{project_id}/people/{person_id}/timeline",
                 "/api/projects/{project_id}/people/{person_id}/insights",
                 "/api/projects/{project_id}/people/{person_id}/actions",
                 "/api/projects/{project_id}/people/bulk",
                 "/api/projects/{project_id}/people/recompute",
                 "/api/projects/{project_id}/people/presets",
                 "/api/projects/{project_id}/people/settings",
                 "/api/projects/{project_id}/people/accounts"):  # fmt: skip
        assert path in paths, path
    assert not any(p.startswith("/projects/") for p in paths)  # pages stay out of the API


def test_bad_input_answers_422_naming_the_field_never_500(
    client: TestClient, context: AppContext
) -> None:
    built = build_people(context)
    base = f"/api/projects/{built.project}/people"
    agent = bearer(create_api_key(context, built.project, Role.ADMIN))
    timeline = f"{base}/{built.ann}/timeline"
    for before in ("0001-01-01T00:00:00Z", "9999-12-31T23:00:00Z", "1969-12-31T23:59:59+00:00"):
        early = client.get(timeline, params={"before": before}, headers=agent)
        assert (early.status_code, early.json()["field"]) == (422, "before"), before
    first = client.get(timeline, params={"before": "1970-01-01T00:00:00Z"}, headers=agent)
    assert (first.status_code, first.json()["items"]) == (200, [])

    actions = f"{base}/{built.ann}/actions"
    for body, field in (
        ({"kind": "tag", "tag": "\u0000"}, "tag"),
        ({"kind": "note", "body": "a\u0000b"}, "body"),
        ({"kind": "ticket", "subject": "\u0000", "body": "x"}, "subject"),
        ({"kind": "grant", "grant": "credit", "amount": 5, "reason": "\u0000"}, "reason"),
    ):
        refused = client.post(actions, json=body, headers=agent)
        assert (refused.status_code, refused.json()["field"]) == (422, field), body
    huge = client.post(actions, json={"kind": "email", "template_id": 2**63}, headers=agent)
    assert huge.status_code == 422
    assert [e["field"] for e in huge.json()["errors"]] == ["email.template_id"]
    for name in ("cohort_id", "template_id"):
        bulk = client.post(f"{base}/bulk", json={"kind": "cohort", name: 2**63}, headers=agent)
        assert bulk.status_code == 422
        assert [e["field"] for e in bulk.json()["errors"]] == [name]

    spec = {"conditions": [{"field": "plan", "op": "eq", "value": "basic"},
                           {"field": "mrr", "op": "contains"}]}  # fmt: skip
    preset = client.post(f"{base}/presets", json={"name": "Broken", "filter": spec}, headers=agent)
    assert (preset.status_code, preset.json()["field"]) == (422, "conditions[1].op")
    assert client.get(f"{base}/presets", headers=agent).json() == []


def test_the_api_timeline_is_the_timeline_as_json(client: TestClient, context: AppContext) -> None:
    built = build_people(context)
    key = bearer(create_api_key(context, built.project, Role.VIEWER))
    before = built.now.isoformat()
    answer = client.get(f"/api/projects/{built.project}/people/{built.ann}/timeline",
                        params={"before": before}, headers=key).json()  # fmt: skip
    with transaction(context.sessions) as session:
        found = facade.timeline(session, context.warehouse, built.project, built.ann,
                                built.now, before=built.now)  # fmt: skip
    expected = timeline_json(found)
    for key in ("start", "end", "next_before"):
        assert datetime.fromisoformat(answer[key]) == datetime.fromisoformat(expected[key])
    assert answer["kinds"] == expected["kinds"]
    assert [(i["kind"], i["title"], i["detail"], i["data"]) for i in answer["items"]] == [
        (i["kind"], i["title"], i["detail"], i["data"]) for i in expected["items"]
    ]
    assert len(answer["items"]) >= 4

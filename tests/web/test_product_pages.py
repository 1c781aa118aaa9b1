"""Funnels, retention, saved insights and dashboards through the API and the pages."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select

from loopwise.core import accounts
from loopwise.core.db import transaction
from loopwise.core.roles import Role
from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import capture
from loopwise.ingest.ids import person_id_for
from loopwise.product.contracts import FunnelQuery
from loopwise.product.dashboards import answer
from loopwise.product.models import QueryResult
from loopwise.web.context import AppContext
from tests.factories import (
    TEST_ACTOR,
    bearer,
    create_project,
    create_token,
    create_user,
    sign_in,
)

FUNNEL = {
    "kind": "funnels",
    "steps": [{"event": "signup"}, {"event": "activate"}, {"event": "pay"}],
    "date_range": {"last_days": 7},
}


def store_journeys(context: AppContext, project_id: int) -> None:
    """Five sign-ups; three activate, one of them pays."""
    start = datetime.now(UTC) - timedelta(days=2)
    rows = []
    for i in range(5):
        rows.append(CaptureEvent(event="signup", distinct_id=f"u{i}", timestamp=start))
        if i < 3:
            later = start + timedelta(hours=1 + i)
            rows.append(CaptureEvent(event="activate", distinct_id=f"u{i}", timestamp=later))
    rows.append(CaptureEvent(event="pay", distinct_id="u0", timestamp=start + timedelta(hours=5)))
    capture(context.warehouse, project_id, rows)


def test_funnel_and_retention_through_the_api(client: TestClient, context: AppContext) -> None:
    project = create_project(context)
    store_journeys(context, project.id)
    headers = bearer(create_token(context, create_user(context, Role.VIEWER).id))
    url = f"/api/projects/{project.id}/query"
    result = client.post(url, json=FUNNEL, headers=headers).json()
    assert [s["count"] for s in result["total"]["steps"]] == [5, 3, 1]
    assert [s["dropped"] for s in result["total"]["steps"]] == [0, 2, 2]

    drill = {"query": FUNNEL, "step": 1, "dropped": True}
    page = client.post(f"{url}/persons", json=drill, headers=headers).json()
    assert sorted(p["distinct_id"] for p in page["persons"]) == ["u3", "u4"]
    exported = client.post(
        f"{url}/persons", json=drill, headers={**headers, "Accept": "text/csv"}
    ).text.splitlines()
    assert exported[0] == "person_id,distinct_id,steps_reached,entered_at"
    assert len(exported) == 3

    bad = {**FUNNEL, "exclusions": [{"event": "x", "from_step": 2, "to_step": 1}]}
    refused = client.post(url, json=bad, headers=headers)
    assert refused.status_code == 422
    assert "from_step must come before to_step" in refused.text

    retention = {"kind": "retention", "start": {"event": "signup"}, "period": "day", "periods": 3}
    matrix = client.post(url, json=retention, headers=headers).json()
    assert [c["size"] for c in matrix["cohorts"]] == [5, 0, 0]


def test_funnel_page_shows_steps_drop_offs_and_field_errors(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    store_journeys(context, project.id)
    sign_in(client, create_user(context, Role.VIEWER).email)
    page = client.get(f"/projects/{project.id}/funnels?step=signup&step=activate&step=pay&days=7")
    assert page.status_code == 200
    assert "Dropped off" in page.text
    link = re.search(r'href="([^"]*dropped=1)"', page.text)
    assert link is not None
    persons = client.get(link.group(1).replace("&amp;", "&"))
    assert persons.status_code == 200
    assert "u3" in persons.text
    assert "u4" in persons.text
    assert "u0" not in persons.text

    too_long = client.get(
        f"/projects/{project.id}/funnels?step=signup&step=activate&window=400&window_unit=day"
    )
    assert too_long.status_code == 422
    assert "at most 366 days" in too_long.text
    one_step = client.get(f"/projects/{project.id}/funnels?step=signup")
    assert one_step.status_code == 422
    assert "at least two steps" in one_step.text
    garbage = client.get(f"/projects/{project.id}/query/persons?q=%7Bnot%20json")
    assert garbage.status_code == 422


def test_saving_a_funnel_to_a_new_dashboard_and_reading_it_back(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    store_journeys(context, project.id)
    csrf = sign_in(client, create_user(context, Role.ANALYST).email)
    listing = client.get(f"/projects/{project.id}/dashboards")
    assert "Product overview" in listing.text  # the default dashboard, created once
    form = {"csrf_token": csrf, "name": "Activation", "q": json.dumps(FUNNEL),
            "dashboard": "new", "new_dashboard": "Growth"}  # fmt: skip
    saved = client.post(f"/projects/{project.id}/insights", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    board = client.get(saved.headers["location"])
    assert "Growth" in board.text
    tile = re.search(r'hx-get="([^"]*/tiles/\d+)"', board.text)
    assert tile is not None
    first = client.get(tile.group(1))
    assert first.status_code == 200
    assert "computed" in first.text
    assert ">5<" in first.text
    again = client.get(tile.group(1))
    assert "cached" in again.text  # no new data: the stored result
    late = CaptureEvent(event="signup", distinct_id="u9", timestamp=datetime.now(UTC))
    capture(context.warehouse, project.id, [late])
    fresh = client.get(tile.group(1))
    assert "computed" in fresh.text
    assert ">6<" in fresh.text

    unnamed = client.post(
        f"/projects/{project.id}/insights", data={**form, "name": " "}, follow_redirects=False
    )
    assert unnamed.status_code == 422
    assert "give the insight a name" in unnamed.text
    viewer_csrf = sign_in(client, create_user(context, Role.VIEWER).email)
    refused = client.post(
        f"/projects/{project.id}/insights", data={**form, "csrf_token": viewer_csrf}
    )
    assert refused.status_code == 403


def test_default_dashboard_tiles_render_and_other_tenants_see_nothing(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    other = create_project(context, "Other")
    store_journeys(context, project.id)
    headers = bearer(create_token(context, create_user(context, Role.VIEWER).id))
    boards = client.get(f"/api/projects/{project.id}/dashboards", headers=headers).json()
    assert [b["name"] for b in boards] == ["Product overview"]
    view = client.get(
        f"/api/projects/{project.id}/dashboards/{boards[0]['id']}", headers=headers
    ).json()
    kinds = [i["kind"] for i in view["insights"]]
    assert kinds == ["trends", "trends", "retention", "trends"]
    for insight in view["insights"]:
        answer = client.get(
            f"/api/projects/{project.id}/insights/{insight['id']}/result", headers=headers
        )
        assert answer.status_code == 200, answer.text
    foreign = client.get(f"/api/projects/{other.id}/dashboards/{boards[0]['id']}", headers=headers)
    assert foreign.status_code == 404
    query = quote(json.dumps(FUNNEL))
    sign_in(client, create_user(context, Role.VIEWER).email)
    assert client.get(f"/projects/{project.id}/query/persons?q={query}&step=1").status_code == 200


def test_engagement_page_draws_lifecycle_and_stickiness_with_drill_downs(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    store_journeys(context, project.id)
    sign_in(client, create_user(context, Role.VIEWER).email)
    page = client.get(f"/projects/{project.id}/engagement?event=signup&days=7")
    assert page.status_code == 200
    assert "Lifecycle" in page.text
    assert "Stickiness" in page.text
    new = re.search(r'href="([^"]*status=new)"', page.text)
    assert new is not None
    persons = client.get(new.group(1).replace("&amp;", "&"))
    assert persons.status_code == 200
    assert all(f"u{i}" in persons.text for i in range(5))
    sticky = re.search(r'href="([^"]*intervals=1)"', page.text)
    assert sticky is not None
    assert client.get(sticky.group(1).replace("&amp;", "&")).status_code == 200
    bad = client.get(f"/projects/{project.id}/engagement?days=0")
    assert bad.status_code == 422
    assert 'id="e-days"' in bad.text


def test_trends_page_computes_a_formula_and_puts_its_error_next_to_the_field(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    store_journeys(context, project.id)
    sign_in(client, create_user(context, Role.VIEWER).email)
    url = f"/projects/{project.id}/trends?event=activate&event_b=signup&days=7"
    shown = client.get(f"{url}&formula=A%20/%20B%20*%20100")
    assert shown.status_code == 200
    assert "A / B * 100" in shown.text
    assert ">60<" in shown.text  # 3 activations per 5 sign-ups over the week
    refused = client.get(f"{url}&formula=A%20/%20C")
    assert refused.status_code == 422
    assert 'id="e-formula"' in refused.text


def test_paths_page_draws_a_sankey_and_drills_into_a_step(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    store_journeys(context, project.id)
    sign_in(client, create_user(context, Role.VIEWER).email)
    page = client.get(f"/projects/{project.id}/paths?event=signup&days=7")
    assert page.status_code == 200
    assert "sankey" in page.text
    link = re.search(r'href="([^"]*step=1&amp;name=activate)"', page.text)
    assert link is not None
    persons = client.get(link.group(1).replace("&amp;", "&"))
    assert sorted(re.findall(r"<td>(u\d)</td>", persons.text)) == ["u0", "u1", "u2"]
    refused = client.get(f"/projects/{project.id}/paths?direction=before")
    assert refused.status_code == 422
    assert "need the event" in refused.text


def test_features_are_defined_on_their_page_and_reported(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    store_journeys(context, project.id)
    csrf = sign_in(client, create_user(context, Role.ANALYST).email)
    empty = client.get(f"/projects/{project.id}/features")
    assert "No features defined yet" in empty.text
    bad = {"csrf_token": csrf, "name": "Activation", "events": " , "}
    refused = client.post(f"/projects/{project.id}/features", data=bad)
    assert refused.status_code == 422
    assert 'id="e-events"' in refused.text
    form = {**bad, "events": "activate", "start_event": "activate", "completion_event": "pay",
            "is_core": "on"}  # fmt: skip
    made = client.post(f"/projects/{project.id}/features", data=form, follow_redirects=False)
    assert made.status_code == 303
    report = client.get(made.headers["location"])
    assert report.status_code == 200
    assert "60%" in report.text  # 3 of 5 active persons activated
    assert "3 of 5 active persons" in report.text
    assert client.get(made.headers["location"] + "?days=abc").status_code == 422
    api = client.get(f"/api/projects/{project.id}/features", headers={"X-CSRF-Token": csrf})
    assert [f["name"] for f in api.json()] == ["Activation"]
    person = client.get(
        f"/api/projects/{project.id}/persons/{person_id_for(project.id, 'u0')}/core-features"
    ).json()
    assert (person["adopted"], person["total"]) == (["Activation"], 1)


def test_cohorts_from_criteria_and_uploads_filter_the_analysis_pages(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    store_journeys(context, project.id)
    csrf = sign_in(client, create_user(context, Role.ANALYST).email)
    url = f"/projects/{project.id}/cohorts"
    assert "No cohorts yet" in client.get(url).text
    criteria = {"csrf_token": csrf, "name": "Activated", "type0": "did_event",
                "value0": "activate", "times0": "1", "days0": "7"}  # fmt: skip
    made = client.post(url, data=criteria, follow_redirects=False)
    assert made.status_code == 303, made.text
    page = client.get(made.headers["location"])
    assert "3 persons now" in page.text
    cohort_id = made.headers["location"].rsplit("/", 1)[1]
    trend = client.get(
        f"/projects/{project.id}/trends?event=signup&math=unique_persons&days=7&cohort={cohort_id}"
    )
    assert trend.status_code == 200
    assert 'class="num">3<' in trend.text  # 5 signed up; 3 of them are in the cohort

    upload = client.post(
        url,
        data={"csrf_token": csrf, "name": "Pilot users"},
        files={"file": ("ids.csv", b"u0\nu4\nstranger\n", "text/csv")},
        follow_redirects=False,
    )
    assert upload.status_code == 303
    assert "2 persons now" in client.get(upload.headers["location"]).text
    empty = client.post(url, data={"csrf_token": csrf, "name": "Nobody"})
    assert empty.status_code == 422
    assert 'id="e-value0"' in empty.text
    missing = client.post(f"/api/projects/{project.id}/query", headers={"X-CSRF-Token": csrf},
                          json={**FUNNEL, "cohort": {"id": 999}})  # fmt: skip
    assert missing.status_code == 422
    assert "no cohort 999" in missing.text


def test_the_analysis_pages_take_a_property_filter_with_its_error_in_place(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    store_journeys(context, project.id)
    upgrade = CaptureEvent(
        event="pay", distinct_id="u1", timestamp=datetime.now(UTC), properties={"plan": "pro"}
    )
    capture(context.warehouse, project.id, [upgrade])
    sign_in(client, create_user(context, Role.VIEWER).email)
    base = f"/projects/{project.id}/trends?event=signup&math=unique_persons&days=7"
    narrowed = client.get(f"{base}&fkey=plan&fvalue=pro&ftype=person")
    assert narrowed.status_code == 200
    assert 'class="num">1<' in narrowed.text  # only u1 is on pro
    refused = client.get(f"{base}&fkey=plan&fop=gt&fvalue=lots")
    assert refused.status_code == 422
    assert 'id="e-fvalue"' in refused.text
    funnel = client.get(
        f"/projects/{project.id}/funnels?step=signup&step=activate&days=7"
        "&fkey=plan&fvalue=pro&ftype=person"
    )
    assert funnel.status_code == 200
    assert "funnel-steps" in funnel.text


def test_periods_are_labelled_in_the_projects_time_zone(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    with transaction(context.sessions) as session:
        accounts.update_project(session, TEST_ACTOR, project.id, project.name, "Asia/Tokyo")
    store_journeys(context, project.id)
    sign_in(client, create_user(context, Role.VIEWER).email)
    page = client.get(f"/projects/{project.id}/retention?start=signup&period=day&periods=3")
    today = datetime.now(ZoneInfo("Asia/Tokyo")).date().isoformat()
    # Tokyo's day starts at 15:00 UTC the day before: the label is still Tokyo's date.
    assert f'<td class="nowrap">{today}</td>' in page.text


def test_cached_answers_older_than_a_day_are_dropped(context: AppContext) -> None:
    project = create_project(context)
    store_journeys(context, project.id)
    query = FunnelQuery.model_validate(FUNNEL)
    with transaction(context.sessions) as session:
        stale = QueryResult(project_id=project.id, key="old", watermark="w", result={},
                            computed_at=datetime.now(UTC) - timedelta(days=2))  # fmt: skip
        session.add(stale)
    with transaction(context.sessions) as session:
        found = answer(session, context.warehouse, project.id, "UTC", query)
        assert [s.count for s in found.result.total.steps] == [5, 3, 1]  # type: ignore[union-attr]
    with transaction(context.sessions) as session:
        keys = session.scalars(select(QueryResult.key).where(QueryResult.project_id == project.id))
        assert "old" not in list(keys)

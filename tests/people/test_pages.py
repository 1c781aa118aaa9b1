"""The Users pages as agents, analysts, owners and viewers use them: the list with its
search, quick filters and filter builder, a person's page with every card, quick actions
(note, tag, VIP) landing on the timeline, saved filters, the settings page with errors
beside their fields, accounts, and another project's people hidden."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr

from loopwise.core.db import transaction, utcnow
from loopwise.core.roles import Role
from loopwise.core.settings import Settings
from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import KnownPerson, capture, register_people
from loopwise.ingest.ids import person_id_for
from loopwise.people import facade
from loopwise.people.contracts import COMPONENTS
from loopwise.support.facade import NewTicket, record_ticket
from loopwise.web.app import create_app
from loopwise.web.context import AppContext, open_context
from tests.factories import TEST_ACTOR, create_project, create_user, sign_in
from tests.people.test_timeline import Stripe
from tests.servers import smtp_server

DAY, MINUTE = timedelta(days=1), timedelta(minutes=1)
ERROR = {"$exception_list": [{"type": "TypeError", "value": "x is undefined"}],
         "$current_url": "https://app.acme.test/export"}  # fmt: skip


@dataclass(frozen=True)
class Built:
    project: int
    ann: str  # pays, uses the product, had a ticket
    bob: str  # same account, quiet for three weeks
    cy: str  # no account, no billing
    now: datetime


def _events(now: datetime) -> list[CaptureEvent]:
    rows: list[tuple[str, str, datetime, dict[str, Any]]] = [
        ("anon-ann", "$pageview", now - 6 * DAY, {"$session_id": "a1"}),
        ("ann", "export", now - 6 * DAY + 5 * MINUTE, {"$session_id": "a1"}),
        ("ann", "export", now - 2 * DAY, {"$session_id": "a2", "format": "csv"}),
        ("ann", "$exception", now - 2 * DAY + 3 * MINUTE, {"$session_id": "a2", **ERROR}),
        ("ann", "share", now - 3 * 60 * MINUTE, {"$session_id": "a3"}),
        ("bob", "view", now - 21 * DAY, {"$session_id": "b1"}),
        ("cy", "view", now - DAY, {"$session_id": "c1"}),
    ]
    return [CaptureEvent(event=e, distinct_id=d, timestamp=t, properties=p) for d, e, t, p in rows]


def build_people(context: AppContext) -> Built:
    """Three people of one project, through the real write paths, their health computed."""
    now = utcnow().replace(microsecond=0)
    project = create_project(context).id
    warehouse = context.warehouse
    capture(warehouse, project, _events(now), received_at=now)
    register_people(context.sessions, warehouse, project, [
        KnownPerson(distinct_id="ann", other_ids=["anon-ann"],
                    properties={"email": "ann.lee@acme.test", "name": "Ann Lee",
                                "company": "Acme Foods"}),
        KnownPerson(distinct_id="bob", properties={"email": "bob@acme.test", "name": "Bob Stone",
                                                   "company": "Acme Foods"}),
        KnownPerson(distinct_id="cy", properties={"email": "cy@solo.test", "name": "Cy Young"}),
    ])  # fmt: skip
    with transaction(context.sessions) as session:
        stripe = Stripe(session, project, "ann")
        stripe.customer("ann", now - 40 * DAY)
        stripe.subscription(2000, "basic", now - 10 * DAY, now + 20 * DAY)
        stripe.charge("ch_ann1", 2000, now - 10 * DAY + MINUTE, "visa", "4242")
        stripe.invoice("in_ann1", 2000, now - 10 * DAY + 2 * MINUTE, paid=True)
        record_ticket(session, project, NewTicket(
            subject="Cannot export", body="The export button does nothing.",
            requester_user_id="ann", source="api", created_at=now - 2 * DAY,
        ), now - 2 * DAY)  # fmt: skip
        facade.recompute_project(session, warehouse, TEST_ACTOR, project, now)
    ann, bob, cy = (person_id_for(project, who) for who in ("ann", "bob", "cy"))
    return Built(project, ann, bob, cy, now)


def test_the_list_search_and_a_persons_page_show_what_is_known(
    client: TestClient, context: AppContext
) -> None:
    built = build_people(context)
    sign_in(client, create_user(context, Role.VIEWER).email)
    base = f"/projects/{built.project}/people"

    listed = client.get(base)
    assert listed.status_code == 200
    assert "Ann Lee" in listed.text
    assert "Bob Stone" in listed.text
    assert "Cy Young" in listed.text
    assert f'href="/projects/{built.project}/people"' in listed.text  # the "Users" entry
    assert "Recompute health" not in listed.text  # a viewer may not
    assert "Act on these" not in listed.text

    found = client.get(f"{base}/search", params={"q": "ann.l"})
    assert found.status_code == 200
    assert f'href="{base}/{built.ann}"' in found.text
    assert "Bob Stone" not in found.text
    assert "matched" in found.text
    assert "Nobody matches" in client.get(f"{base}/search", params={"q": "zzz"}).text

    page = client.get(f"{base}/{built.ann}")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Ann Lee</h1>" in text
    assert "Acme Foods</a>" in text  # the account links to its page
    assert 'id="components"' in text
    assert "Engagement this week" in text
    assert 'class="reasons"' in text or "Nothing weighs on the score" in text
    assert "Visa ending 4242" in text
    assert "Cannot export" in text  # the support card's last ticket
    assert "Session of" in text  # the timeline
    assert "TypeError: x is undefined" in text
    assert "Payment of USD 20.00 received" in text
    assert "Quick actions" not in text  # a viewer sees no forms
    assert '"format": "csv"' in text  # the debug card's event properties
    assert person_id_for(built.project, "anon-ann") in text  # merged ids

    bad_before = client.get(f"{base}/{built.ann}", params={"before": "last week"})
    assert bad_before.status_code == 422
    assert 'id="e-before"' in bad_before.text
    bad_page = client.get(base, params={"page": "two"})
    assert bad_page.status_code == 422
    assert 'id="e-page"' in bad_page.text
    older = client.get(f"{base}/{built.ann}/timeline", params={"before": built.now.isoformat()})
    assert older.status_code == 200
    assert "Session of" in older.text  # a partial: no page around it
    assert "<html" not in older.text

    anon = person_id_for(built.project, "anon-ann")
    merged = client.get(f"{base}/{anon}", follow_redirects=False)
    assert merged.status_code == 303  # an id merged away opens the person it is part of
    assert merged.headers["location"] == f"{base}/{built.ann}"


def test_quick_actions_land_on_the_timeline_and_errors_stay_beside_their_field(
    client: TestClient, context: AppContext
) -> None:
    built = build_people(context)
    agent = create_user(context, Role.SUPPORT)
    csrf = sign_in(client, agent.email)
    url = f"/projects/{built.project}/people/{built.ann}"

    empty = client.post(f"{url}/actions/note", data={"csrf_token": csrf, "body": "   "})
    assert empty.status_code == 422
    assert 'id="e-note-body"' in empty.text

    note = "Called her: **happy** now <script>alert(1)</script>"
    done = client.post(f"{url}/actions/note", data={"csrf_token": csrf, "body": note},
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    page = client.get(done.headers["location"])
    assert "Note added." in page.text  # the flash
    assert "<strong>happy</strong>" in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert f"Note by {agent.email}" in page.text
    assert "Note added." not in client.get(url).text  # shown once

    tagged = client.post(f"{url}/actions/tag", data={"csrf_token": csrf, "tag": "beta"})
    assert tagged.status_code == 200  # followed the redirect
    assert '<span class="badge tag">beta' in tagged.text
    again = client.post(f"{url}/actions/tag", data={"csrf_token": csrf, "tag": "beta"})
    assert again.status_code == 422
    assert 'id="e-tag-tag"' in again.text
    assert "already on this person" in again.text

    vip = client.post(f"{url}/actions/vip", data={"csrf_token": csrf, "vip": "1"})
    assert "★ VIP" in vip.text
    assert "Remove the VIP mark" in vip.text
    assert f"Marked as VIP by {agent.email}" in vip.text

    months = client.post(
        f"{url}/actions/grant",
        data={"csrf_token": csrf, "grant": "complimentary", "months": "lots", "reason": "sorry"},
    )
    assert months.status_code == 422
    assert 'id="e-grant-months"' in months.text
    assert 'value="lots"' in months.text  # what was typed is kept

    untagged = client.post(f"{url}/actions/untag", data={"csrf_token": csrf, "tag": "beta"})
    assert untagged.status_code == 200
    assert '<span class="badge tag">beta' not in untagged.text
    assert "Untagged “beta”" in untagged.text


def test_the_filter_builder_quick_filters_and_saved_filters(
    client: TestClient, context: AppContext
) -> None:
    built = build_people(context)
    csrf = sign_in(client, create_user(context, Role.ANALYST).email)
    base = f"/projects/{built.project}/people"

    bad = client.get(base, params={"f0": "mrr", "o0": "gt", "v0": "lots"})
    assert bad.status_code == 422
    assert 'id="e-v0"' in bad.text
    assert "is a number" in bad.text
    assert 'value="lots"' in bad.text
    wrong_op = client.get(base, params={"f0": "plan", "o0": "gt", "v0": "basic"})
    assert wrong_op.status_code == 422
    assert 'id="e-o0"' in wrong_op.text

    paying = client.get(base, params={"f0": "mrr", "o0": "gte", "v0": "20"})
    assert paying.status_code == 200
    assert "Ann Lee" in paying.text
    assert "Bob Stone" not in paying.text
    account = client.get(base, params={"f0": "account", "o0": "eq", "v0": "acme foods",
                                       "f1": "last_seen_days", "o1": "gt", "v1": "7"})  # fmt: skip
    assert "Bob Stone" in account.text
    assert "Ann Lee" not in account.text
    # Rows keep their numbers with gaps between them (a row emptied in the builder).
    any_of = {"match": "any", "f0": "email", "o0": "contains", "v0": "solo",
              "f3": "mrr", "o3": "gt", "v3": "0"}  # fmt: skip
    either = client.get(base, params=any_of)
    assert "Ann Lee" in either.text
    assert "Cy Young" in either.text
    assert "Bob Stone" not in either.text
    nobody = client.get(base, params={"f0": "did_event", "e0": "never_done", "d0": "30"})
    assert "Nobody matches this filter" in nobody.text

    nameless = client.post(
        f"{base}/presets",
        data={"csrf_token": csrf, "name": " ", "f0": "mrr", "o0": "gte", "v0": "20"},
    )
    assert nameless.status_code == 422
    assert 'id="e-preset_name"' in nameless.text
    saved = client.post(
        f"{base}/presets",
        data={"csrf_token": csrf, "name": "Payers", "f0": "mrr", "o0": "gte", "v0": "20"},
    )
    assert saved.status_code == 200
    assert "Saved the filter “Payers”" in saved.text
    assert ">Payers</a>" in saved.text
    assert "f0=mrr&amp;o0=gte&amp;v0=20" in saved.text
    with transaction(context.sessions) as session:
        (preset,) = facade.presets(session, built.project)
    deleted = client.post(f"{base}/presets/{preset.id}/delete", data={"csrf_token": csrf})
    assert "Deleted the saved filter." in deleted.text
    assert ">Payers</a>" not in deleted.text

    client.cookies.clear()
    csrf = sign_in(client, create_user(context, Role.VIEWER).email)
    refused = client.post(f"{base}/presets", data={"csrf_token": csrf, "name": "Mine"})
    assert refused.status_code == 403


def test_settings_errors_appear_beside_their_fields(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context).id
    csrf = sign_in(client, create_user(context, Role.OWNER).email)
    url = f"/projects/{project}/people/settings"
    page = client.get(url)
    assert page.status_code == 200
    assert 'value="70"' in page.text
    assert 'value="500"' in page.text
    form = {"csrf_token": csrf, "healthy_from": "70", "at_risk_from": "40", "vip_mrr": "500",
            "account_property": "company", "mail_from": "",
            **{f"weight_{k}": "10" for k in COMPONENTS}}  # fmt: skip
    bad = client.post(url, data={**form, "healthy_from": "high"})
    assert bad.status_code == 422
    assert 'id="e-healthy_from"' in bad.text
    assert 'value="high"' in bad.text
    inverted = client.post(url, data={**form, "at_risk_from": "80"})
    assert inverted.status_code == 422
    assert 'id="e-at_risk_from"' in inverted.text
    weight = client.post(url, data={**form, "weight_errors": "-1"})
    assert weight.status_code == 422
    assert 'id="e-weight_errors"' in weight.text
    sender = client.post(url, data={**form, "mail_from": "not an address"})
    assert sender.status_code == 422
    assert 'id="e-mail_from"' in sender.text

    saved = client.post(url, data={**form, "vip_mrr": "250.50", "account_property": "org"},
                        follow_redirects=False)  # fmt: skip
    assert saved.status_code == 303
    with transaction(context.sessions) as session:
        config = facade.config_of(session, project)
    assert (config.vip_mrr_minor, config.account_property, config.weights["errors"]) == (
        25050, "org", 10)  # fmt: skip
    assert "Settings saved." in client.get(saved.headers["location"]).text

    viewer = create_user(context, Role.VIEWER)
    client.cookies.clear()
    csrf = sign_in(client, viewer.email)
    assert client.post(url, data={**form, "csrf_token": csrf}).status_code == 403


def test_other_projects_people_are_hidden_and_viewers_cannot_act(
    client: TestClient, context: AppContext
) -> None:
    built = build_people(context)
    other = create_project(context, "Other").id
    viewer = create_user(context, Role.VIEWER)
    csrf = sign_in(client, viewer.email)
    assert client.get(f"/projects/{other}/people/{built.ann}").status_code == 404
    assert "No users yet" in client.get(f"/projects/{other}/people").text
    url = f"/projects/{built.project}/people/{built.ann}"
    assert (
        client.post(f"{url}/actions/note", data={"csrf_token": csrf, "body": "hi"}).status_code
        == 403
    )
    assert client.post(f"/projects/{built.project}/people/recompute",
                       data={"csrf_token": csrf}).status_code == 403  # fmt: skip

    client.cookies.clear()
    csrf = sign_in(client, create_user(context, Role.SUPPORT).email)
    elsewhere = client.post(f"/projects/{other}/people/{built.ann}/actions/note",
                            data={"csrf_token": csrf, "body": "hi"})  # fmt: skip
    assert elsewhere.status_code == 404


def test_accounts_and_bulk_actions_on_the_list(client: TestClient, context: AppContext) -> None:
    built = build_people(context)
    csrf = sign_in(client, create_user(context, Role.OWNER).email)
    base = f"/projects/{built.project}/people"
    accounts = client.get(f"{base}/accounts")
    assert accounts.status_code == 200
    assert f'href="{base}/accounts/Acme%20Foods"' in accounts.text
    account = client.get(f"{base}/accounts/Acme%20Foods")
    assert account.status_code == 200
    assert "Ann Lee" in account.text
    assert "Bob Stone" in account.text
    assert "Cy" not in account.text
    assert client.get(f"{base}/accounts/Nobody%20Inc").status_code == 404

    tagged = client.post(f"{base}/bulk/tag", data={"csrf_token": csrf, "tag": "acme",
                                                   "f0": "account", "o0": "eq",
                                                   "v0": "Acme Foods"})  # fmt: skip
    assert tagged.status_code == 200
    assert "Tagged 2 people “acme”" in tagged.text
    csv = client.post(f"{base}/bulk/export", data={"csrf_token": csrf, "f0": "tags",
                                                   "o0": "contains", "v0": "acme"})  # fmt: skip
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("person_id,email,name")
    assert sorted(line.split(",")[1] for line in lines[1:]) == [
        "ann.lee@acme.test",
        "bob@acme.test",
    ]
    no_tag = client.post(f"{base}/bulk/tag", data={"csrf_token": csrf, "tag": " "})
    assert no_tag.status_code == 422
    assert 'id="e-tag"' in no_tag.text

    recomputed = client.post(f"{base}/recompute", data={"csrf_token": csrf})
    assert "Recomputed the health of 3 people" in recomputed.text


def test_a_bulk_email_is_previewed_then_sent_through_the_mail_server(settings: Settings) -> None:
    with smtp_server() as (url, inbox):
        mailing = settings.model_copy(
            update={"smtp_url": SecretStr(url), "smtp_from": "team@acme.test"}
        )
        context = open_context(mailing)
        try:
            with TestClient(create_app(mailing, context), base_url="http://127.0.0.1") as client:
                built = build_people(context)
                csrf = sign_in(client, create_user(context, Role.SUPPORT).email)
                _email_the_acme_people(client, csrf, built)
        finally:
            context.close()
    sent = sorted((m["To"], m["Subject"]) for m in map(message_from_bytes, inbox.messages))
    assert sent == [("ann.lee@acme.test", "Hello Ann"), ("bob@acme.test", "Hello Bob")]


def _email_the_acme_people(client: TestClient, csrf: str, built: Built) -> None:
    base = f"/projects/{built.project}/people"
    acme = {"f0": "account", "o0": "eq", "v0": "Acme Foods"}
    mail = {"subject": "Hello {{first_name}}", "body": "Hi {{name}}, about {{account}}."}
    secret = {"csrf_token": csrf, **acme, **mail, "body": "{{password}}"}
    unknown = client.post(f"{base}/bulk/email", data=secret)
    assert unknown.status_code == 422
    assert 'id="e-body"' in unknown.text
    preview = client.post(f"{base}/bulk/email", data={"csrf_token": csrf, **acme, **mail})
    assert preview.status_code == 200
    assert "Send an e-mail to 2 people?" in preview.text
    assert "Hi Ann Lee, about Acme Foods." in preview.text
    assert 'name="confirm" value="1"' in preview.text
    assert 'name="v0" value="Acme Foods"' in preview.text  # the filter rides along
    sent = client.post(f"{base}/bulk/email",
                       data={"csrf_token": csrf, **acme, **mail, "confirm": "1"})  # fmt: skip
    assert sent.status_code == 200
    assert "Sent 2 e-mails." in sent.text
    page = client.get(f"{base}/{built.bob}")
    assert "E-mail sent: Hello Bob" in page.text


def test_timeline_parameters_out_of_range_or_unknown_are_refused_naming_them(
    client: TestClient, context: AppContext
) -> None:
    built = build_people(context)
    sign_in(client, create_user(context, Role.VIEWER).email)
    url = f"/projects/{built.project}/people/{built.ann}"
    for before in ("0001-01-01T00:00:00Z", "9999-12-31T23:00:00Z", "1969-12-31T23:59:59Z"):
        page = client.get(url, params={"before": before})
        assert page.status_code == 422, before
        assert 'id="e-before"' in page.text
        partial = client.get(f"{url}/timeline", params={"before": before})
        assert (partial.status_code, partial.json()["field"]) == (422, "before")
    unknown = client.get(url, params=[("kinds", "note"), ("kinds", "gossip")])
    assert unknown.status_code == 422
    assert 'id="e-kinds"' in unknown.text
    assert "&#39;gossip&#39; is not one of" in unknown.text
    partial = client.get(f"{url}/timeline", params={"kinds": "note,gossip"})
    assert (partial.status_code, partial.json()["field"]) == (422, "kinds")
    earliest = client.get(f"{url}/timeline", params={"before": "1970-01-01T00:00:00Z"})
    assert earliest.status_code == 200
    chosen = client.get(url, params={"kinds": "payment"})
    assert chosen.status_code == 200
    assert "Payment of USD 20.00 received" in chosen.text
    assert "Session of" not in chosen.text


def test_forms_refuse_ids_too_large_for_the_database_beside_their_field(
    client: TestClient, context: AppContext
) -> None:
    built = build_people(context)
    csrf = sign_in(client, create_user(context, Role.OWNER).email)
    base = f"/projects/{built.project}/people"
    for value in ("9223372036854775808", "9" * 5000, "two", "-1"):
        cohort = client.post(f"{base}/bulk/cohort", data={"csrf_token": csrf, "cohort_id": value})
        assert cohort.status_code == 422, value
        assert 'id="e-cohort_id"' in cohort.text  # shown with no static cohort to choose
        typed = {"csrf_token": csrf, "template_id": value, "subject": "Hi", "body": "Hello"}
        mail = client.post(f"{base}/bulk/email", data=typed)
        assert mail.status_code == 422, value
        assert 'id="e-template_id"' in mail.text
        one = client.post(f"{base}/{built.ann}/actions/email",
                          data={"csrf_token": csrf, "template_id": value})  # fmt: skip
        assert one.status_code == 422, value
        assert 'id="e-email-template_id"' in one.text
    unnamed = client.post(f"{base}/bulk/cohort", data={"csrf_token": csrf})
    assert unnamed.status_code == 422
    assert "choose a cohort or name a new one" in unnamed.text
    assert client.post(f"{base}/bulk/hug", data={"csrf_token": csrf}).status_code == 422


def test_a_saved_filter_is_checked_as_applying_it_would_be(
    client: TestClient, context: AppContext
) -> None:
    built = build_people(context)
    csrf = sign_in(client, create_user(context, Role.ANALYST).email)
    base = f"/projects/{built.project}/people"
    broken = {"csrf_token": csrf, "name": "Broken", "f2": "mrr", "o2": "contains", "v2": "1"}
    contains = client.post(f"{base}/presets", data=broken)
    assert contains.status_code == 422
    assert 'id="e-o2"' in contains.text
    nul = client.post(f"{base}/presets", data={"csrf_token": csrf, "name": "Pay\x00ers",
                                               "f0": "mrr", "o0": "gte", "v0": "20"})  # fmt: skip
    assert nul.status_code == 422
    assert 'id="e-preset_name"' in nul.text
    with transaction(context.sessions) as session:
        assert facade.presets(session, built.project) == []


def test_bulk_actions_need_their_own_permission(client: TestClient, context: AppContext) -> None:
    built = build_people(context)
    csrf = sign_in(client, create_user(context, Role.SUPPORT).email)
    base = f"/projects/{built.project}/people"
    cohort = {"csrf_token": csrf, "cohort_name": "x"}
    assert client.post(f"{base}/bulk/cohort", data=cohort).status_code == 403
    assert client.post(f"{base}/bulk/export", data={"csrf_token": csrf}).status_code == 403
    client.cookies.clear()
    csrf = sign_in(client, create_user(context, Role.ANALYST).email)
    assert client.post(f"{base}/bulk/tag", data={"csrf_token": csrf,
                                                 "tag": "x"}).status_code == 403  # fmt: skip
    made = client.post(f"{base}/bulk/cohort", data={"csrf_token": csrf, "cohort_name": "All"})
    assert made.status_code == 200
    assert "Added 3 people to “All”" in made.text
    again = client.post(f"{base}/bulk/cohort", data={"csrf_token": csrf, "cohort_name": "all"})
    assert again.status_code == 422
    assert 'id="e-cohort_name"' in again.text  # the cohort's name is taken: said beside it

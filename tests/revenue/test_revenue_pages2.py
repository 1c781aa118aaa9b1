"""The Movements, Customers, Payment health and CAC & channels pages and their APIs, on
the hand-built book of ``pages_book`` (each expected figure says where it comes from):
exact filters, totals and CSV; statuses, MRR, search and sort; decline codes, recovery,
MRR at risk and days past due; CAC from known spend; 422 on bad values; other tenants."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from loopwise.core.db import transaction
from loopwise.core.roles import Role
from loopwise.revenue.facade import MovementRow
from loopwise.revenue.web.page_views import movements_csv
from loopwise.web.context import AppContext
from tests.factories import bearer, create_api_key, create_project, create_user, flushed, sign_in
from tests.revenue.pages_book import build_book

Book = tuple[int, date]


@pytest.fixture
def book(client: TestClient, context: AppContext) -> Book:
    """A project holding the book, and today (UTC, the project's time zone)."""
    project = create_project(context, "Book")
    batch = [{"event": "signed_up", "distinct_id": "u_erin", "timestamp": "2026-01-05T10:00:00Z",
              "properties": {"email": "e@x.io"}}]  # fmt: skip
    answer = client.post("/batch/", json={"api_key": project.write_key, "batch": batch})
    assert answer.status_code == 200
    flushed(context)
    now = datetime.now(UTC)
    with transaction(context.sessions) as session:
        build_book(session, project.id, now, erin_user="u_erin")
    return project.id, now.date()


def signed_in(client: TestClient, context: AppContext, role: Role = Role.VIEWER) -> str:
    return sign_in(client, create_user(context, role).email)


def api(client: TestClient, path: str, **params: Any) -> Any:
    answer = client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


# --- movements ---------------------------------------------------------------------------


def test_movements_filters_return_the_exact_rows_and_totals(
    client: TestClient, context: AppContext, book: Book
) -> None:
    project, today = book
    signed_in(client, context)
    url = f"/api/projects/{project}/revenue/movements"

    def t(days: int) -> str:
        return (today - timedelta(days=days)).isoformat()

    found = api(client, url)
    # The last 90 days: cus_a new $50 (T-40) and +$30 (T-10), cus_b new $100 (T-30) and
    # churn (T-5), cus_c -$10 (T-20; its new on T-200 is older), cus_f and cus_g new on
    # T-60 ($200, $100). Net: 450 + 30 - 10 - 100 = $370.
    assert (found["from"], found["to"], found["total"]) == (t(89), t(0), 7)
    assert {k: (v["count"], v["amount"]) for k, v in found["totals"].items()} == {
        "new": (4, 45000), "expansion": (1, 3000), "reactivation": (0, 0),
        "contraction": (1, -1000), "churn": (1, -10000), "fx": (0, 0),
    }  # fmt: skip
    assert found["net"] == 37000
    rows = [(m["day"], m["customer"], m["kind"], m["amount"]) for m in found["movements"]]
    assert rows[:5] == [(t(5), "cus_b", "churn", -10000), (t(10), "cus_a", "expansion", 3000),
                        (t(20), "cus_c", "contraction", -1000), (t(30), "cus_b", "new", 10000),
                        (t(40), "cus_a", "new", 5000)]  # fmt: skip
    assert found["movements"][1]["plans"] == ["pro"]  # sub_a was on "pro" after the upgrade

    def customers(**filters: str) -> list[tuple[str, str]]:
        return [(m["customer"], m["kind"]) for m in api(client, url, **filters)["movements"]]

    assert sorted(customers(kind="new")) == [("cus_a", "new"), ("cus_b", "new"),
                                             ("cus_f", "new"), ("cus_g", "new")]  # fmt: skip
    assert customers(customer="CUS_B") == [("cus_b", "churn"), ("cus_b", "new")]
    assert customers(**{"from": t(12), "to": t(3)}) == [("cus_b", "churn"), ("cus_a", "expansion")]
    # |amount| of $100 or more: cus_b's new and churn, cus_f's $200, cus_g's $100.
    assert sorted(customers(min_amount="100")) == [("cus_b", "churn"), ("cus_b", "new"),
                                                   ("cus_f", "new"), ("cus_g", "new")]  # fmt: skip
    # On "pro" that day: cus_a's upgrade, cus_b's start and end, cus_f's start (any case).
    pro = api(client, url, plan="PRO")
    assert sorted((m["customer"], m["kind"]) for m in pro["movements"]) == [
        ("cus_a", "expansion"),
        ("cus_b", "churn"),
        ("cus_b", "new"),
        ("cus_f", "new"),
    ]
    assert (pro["total"], pro["totals"]["new"]["amount"], pro["net"]) == (4, 30000, 23000)
    # Pages of two, newest first.
    first, second = api(client, url, limit="2"), api(client, url, limit="2", offset="2")
    assert [m["kind"] for m in first["movements"]] == ["churn", "expansion"]
    assert [m["kind"] for m in second["movements"]] == ["contraction", "new"]
    assert second["total"] == 7


def test_movements_export_every_filtered_row_as_csv(
    client: TestClient, context: AppContext, book: Book
) -> None:
    project, today = book
    signed_in(client, context)
    answer = client.get(f"/api/projects/{project}/revenue/movements",
                        params={"customer": "cus_b", "format": "csv", "limit": "1"})  # fmt: skip
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.text)))
    churned, started = (today - timedelta(days=d) for d in (5, 30))
    assert rows == [  # every matching row, the page size ignored
        ["day", "customer_id", "kind", "amount", "fx_effect", "mrr_before", "mrr_after",
         "currency", "subscriptions"],
        [churned.isoformat(), "cus_b", "churn", "-100.00", "0.00", "100.00", "0.00", "USD",
         "sub_b"],
        [started.isoformat(), "cus_b", "new", "100.00", "0.00", "0.00", "100.00", "USD",
         "sub_b"],
    ]  # fmt: skip
    paged = client.get(f"/projects/{project}/revenue/movements?limit=2&customer=cus")
    assert "1\u20132 of 7 movements" in paged.text
    assert 'customer=cus&amp;limit=2&amp;offset=2" rel="next"' in paged.text
    page = client.get(f"/projects/{project}/revenue/movements?kind=churn")
    assert page.status_code == 200
    assert 'id="ledger"' in page.text
    assert "/revenue/customers/cus_b" in page.text
    assert "format=csv" in page.text
    assert "kind=churn" in page.text
    assert 'id="f-kind"' in page.text
    assert '<option value="churn" selected>' in page.text


def test_the_csv_keeps_a_spreadsheet_from_running_an_id_as_a_formula() -> None:
    row = MovementRow(1, "=HYPERLINK(1)", date(2026, 3, 1), "new", Decimal(0), Decimal(4900),
                      Decimal(0), ("-sub",))  # fmt: skip
    text = movements_csv("jpy", [row])
    # Yen have no minor unit: 4900 is ¥4900.
    assert text.splitlines()[1] == "2026-03-01,'=HYPERLINK(1),new,4900,0,0,4900,JPY,'-sub"


# --- customers ---------------------------------------------------------------------------


def test_customers_have_status_mrr_plans_and_open_failures(
    client: TestClient, context: AppContext, book: Book
) -> None:
    project, today = book
    signed_in(client, context)
    found = api(client, f"/api/projects/{project}/revenue/customers")
    # Paying: cus_a, cus_c, cus_g; past due: cus_f (still $200 of MRR: past due keeps it);
    # trialing: cus_d; churned: cus_b; never paid: cus_e, cus_h, cus_i.
    assert found["counts"] == {"paying": 3, "trialing": 1, "past_due": 1, "churned": 1,
                               "never_paid": 3}  # fmt: skip
    rows = {c["customer"]: c for c in found["customers"]}
    assert [c["customer"] for c in found["customers"]][:4] == ["cus_f", "cus_g", "cus_a", "cus_c"]
    figures = {k: (c["status"], c["mrr"], c["plans"], c["open_payment_failures"])
               for k, c in rows.items()}  # fmt: skip
    assert figures == {
        "cus_f": ("past_due", 20000, ["pro"], 1),  # in_f1 still open
        "cus_g": ("paying", 10000, ["team"], 0),  # in_g1 paid
        "cus_a": ("paying", 8000, ["pro"], 0),
        "cus_c": ("paying", 1000, ["basic"], 0),
        "cus_b": ("churned", 0, ["pro"], 0),  # the plan they had last
        "cus_d": ("trialing", 0, ["pro"], 0),
        "cus_e": ("never_paid", 0, [], 0),
        "cus_h": ("never_paid", 0, [], 0),  # in_h1 written off: not open
        "cus_i": ("never_paid", 0, [], 1),  # in_i1 open (though a later invoice was paid)
    }
    assert rows["cus_a"]["first_paid"] == (today - timedelta(days=40)).isoformat()
    assert rows["cus_a"]["last_movement"] == {
        "day": (today - timedelta(days=10)).isoformat(),
        "kind": "expansion",
        "amount": 3000,
    }
    assert rows["cus_d"]["first_paid"] is None
    assert rows["cus_f"]["name"] == "Fay"
    assert rows["cus_f"]["email"] == "f@x.io"
    assert rows["cus_e"]["person_id"]
    assert rows["cus_f"]["person_id"] is None
    page = client.get(f"/projects/{project}/revenue/customers")
    assert f"/api/projects/{project}/persons/{rows['cus_e']['person_id']}" in page.text


def test_customers_search_filter_sort_and_page(
    client: TestClient, context: AppContext, book: Book
) -> None:
    project, _ = book
    signed_in(client, context)
    url = f"/api/projects/{project}/revenue/customers"

    def ids(**params: str) -> list[str]:
        return [c["customer"] for c in api(client, url, **params)["customers"]]

    assert ids(q="fay") == ["cus_f"]  # by name, any case
    assert ids(q="CUS_A") == ["cus_a"]  # by id
    assert sorted(ids(q="x.io")) == ["cus_e", "cus_f", "cus_g", "cus_h", "cus_i"]  # e-mail
    assert ids(status="never_paid", sort="name") == ["cus_e", "cus_h", "cus_i"]
    # Name, else e-mail, else id: the CSV customers have neither, so their ids sort first.
    assert ids(sort="name") == ["cus_a", "cus_b", "cus_c", "cus_d", "cus_e", "cus_f", "cus_g",
                                "cus_h", "cus_i"]  # fmt: skip
    assert ids(sort="-name")[:2] == ["cus_i", "cus_h"]
    # First paid, newest first: cus_b (T-30), cus_a (T-40), cus_f and cus_g (T-60), cus_c
    # (T-200), then those who never paid.
    assert ids(sort="-first_paid") == ["cus_b", "cus_a", "cus_f", "cus_g", "cus_c", "cus_d",
                                       "cus_e", "cus_h", "cus_i"]  # fmt: skip
    assert ids(sort="mrr", status="paying") == ["cus_c", "cus_a", "cus_g"]
    second = api(client, url, limit="4", offset="4")
    assert second["total"] == 9
    assert len(second["customers"]) == 4
    page = client.get(f"/projects/{project}/revenue/customers?status=past_due")
    assert page.status_code == 200
    assert "/revenue/customers/cus_f" in page.text
    assert "/revenue/customers/cus_a" not in page.text
    assert '<option value="past_due" selected>' in page.text


# --- payment health ----------------------------------------------------------------------


def test_payment_health_counts_recovery_and_mrr_at_risk(
    client: TestClient, context: AppContext, book: Book
) -> None:
    project, today = book
    signed_in(client, context)
    found = api(client, f"/api/projects/{project}/revenue/payments")
    # In the last 90 days: in_f1 failed twice ($200 each), in_g1 and in_h1 once; in_i1's
    # failure (T-120) is older.
    assert found["failures"] == {"count": 4, "amount": 55000, "unconverted": 0,
                                 "without_invoice": 0}  # fmt: skip
    assert found["decline_codes"] == [
        {"code": "insufficient_funds", "count": 2, "amount": 40000},
        {"code": "do_not_honor", "count": 1, "amount": 5000},
        {"code": "expired_card", "count": 1, "amount": 10000},
    ]
    assert sum(w["count"] for w in found["weeks"]) == 4
    # Three invoices failed in the range: in_g1 paid since (recovered, $100), in_h1 written
    # off (lost), in_f1 still open: 1 of 3.
    assert found["recovery"] == {"failed_invoices": 3, "recovered": 1, "lost": 1, "open": 1,
                                 "rate": round(1 / 3, 6), "recovered_amount": 10000}  # fmt: skip
    # At risk now: cus_f only (past due, and in_f1 is its latest invoice, unpaid); cus_i's
    # open in_i1 is not its latest invoice (in_i2 was paid), cus_h's was written off.
    assert (found["mrr_at_risk"], found["customers_at_risk"]) == (20000, 1)
    (fay,) = found["past_due"]
    retry = datetime.fromisoformat(fay["next_attempt_at"])
    # Past due since the first failure, 3 days and 1 hour ago: 3 whole days; 2 attempts.
    assert (fay["customer"], fay["mrr"], fay["days_past_due"], fay["attempts"],
            fay["decline_code"], fay["subscription_status"], fay["invoice"]) == (
        "cus_f", 20000, 3, 2, "insufficient_funds", "past_due", "in_f1")  # fmt: skip
    assert retry.date() == today + timedelta(days=4)
    recent = api(client, f"/api/projects/{project}/revenue/payments",
                 **{"from": (today - timedelta(days=15)).isoformat()})  # fmt: skip
    # From T-15: in_f1's two failures and in_h1's; nothing recovered yet.
    assert recent["failures"]["count"] == 3
    assert recent["recovery"]["rate"] == 0.0
    assert recent["recovery"]["failed_invoices"] == 2
    page = client.get(f"/projects/{project}/revenue/payments")
    assert page.status_code == 200
    assert 'id="past-due"' in page.text
    assert "/revenue/customers/cus_f" in page.text
    assert "insufficient_funds" in page.text
    assert "200.00" in page.text
    assert "data-chart=" in page.text


# --- CAC & channels ----------------------------------------------------------------------


def test_acquisition_shows_cac_from_the_known_spend(
    client: TestClient, context: AppContext, acquisition: int
) -> None:
    csrf = signed_in(client, context, Role.ADMIN)
    march = {"from": "2026-03-01", "to": "2026-03-31"}
    empty = client.get(f"/projects/{acquisition}/revenue/acquisition", params=march)
    assert "No acquisition figures for these days yet" in empty.text
    done = client.post(f"/projects/{acquisition}/revenue/acquisition",
                       data={"csrf_token": csrf, **march}, follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    assert done.headers["location"].endswith("from=2026-03-01&to=2026-03-31")
    found = api(client, f"/api/projects/{acquisition}/revenue/acquisition", **march)
    # March: google $300 for 1 customer, the newsletter $100 for 1, facebook $50 for none,
    # 2 direct customers: blended $450 / 4 = $112.50.
    channels = {c["channel"]: (c["spend"], c["new_customers"], c["cac"]) for c in found["channels"]}
    assert channels == {"google": (30000, 1, 30000), "newsletter": (10000, 1, 10000),
                        "facebook": (5000, 0, None), "(direct)": (0, 2, 0)}  # fmt: skip
    assert (found["blended"]["cac"], found["days_computed"], found["days"]) == (11250, 31, 31)
    page = client.get(f"/projects/{acquisition}/revenue/acquisition", params=march)
    assert page.status_code == 200
    assert 'id="channels"' in page.text
    assert 'id="blended"' in page.text
    assert "112.50" in page.text
    assert "300.00" in page.text
    assert "data-chart=" in page.text
    assert client.get(f"/projects/{acquisition}/revenue/acquisition?days=90").status_code == 200


# --- bad values and other tenants --------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("movements", {"from": "yesterday"}, "from"),
        ("movements", {"to": "2026-02-30"}, "to"),
        ("movements", {"kind": "refund"}, "kind"),
        ("movements", {"offset": "-1"}, "offset"),
        ("movements", {"limit": "0"}, "limit"),
        ("movements", {"min_amount": "-5"}, "min_amount"),
        ("movements", {"from": "2026-05-01", "to": "2026-04-01"}, "to"),
        ("movements", {"format": "xlsx"}, "format"),
        ("customers", {"status": "gone"}, "status"),
        ("customers", {"sort": "height"}, "sort"),
        ("customers", {"offset": "-3"}, "offset"),
        ("payments", {"from": "2026-13-01"}, "from"),
        ("payments", {"limit": "1000"}, "limit"),
        ("acquisition", {"days": "7"}, "days"),
        ("acquisition", {"from": "soon"}, "from"),
    ],
)
def test_a_bad_value_is_a_422_naming_its_field(
    client: TestClient, context: AppContext, path: str, params: dict[str, str], field: str
) -> None:
    project = create_project(context)
    signed_in(client, context)
    answer = client.get(f"/api/projects/{project.id}/revenue/{path}", params=params)
    assert answer.status_code == 422
    assert answer.json()["field"] == field
    page = client.get(f"/projects/{project.id}/revenue/{path}", params=params)
    assert page.status_code == 422
    # Beside its field on the page, or (a value the form has no field for) above the form.
    assert f'id="e-{field}"' in page.text or 'id="e-address"' in page.text
    assert field in page.text


def test_the_page_shows_the_error_beside_the_field_and_keeps_the_values(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    signed_in(client, context)
    page = client.get(f"/projects/{project.id}/revenue/movements",
                      params={"from": "nope", "customer": "cus_9"})  # fmt: skip
    assert page.status_code == 422
    assert '<p class="field-error" id="e-from" role="alert">is a date such as 2026-03-01</p>' in (
        page.text)  # fmt: skip
    assert 'value="cus_9"' in page.text


def test_a_key_for_another_project_sees_none_of_these_pages(
    client: TestClient, context: AppContext, book: Book
) -> None:
    project, _ = book
    other = create_project(context, "Other")
    key = create_api_key(context, other.id, Role.VIEWER)
    for path in ("movements", "customers", "payments", "acquisition"):
        assert client.get(f"/api/projects/{project}/revenue/{path}",
                          headers=bearer(key)).status_code == 404  # fmt: skip
        assert client.get(f"/projects/{project}/revenue/{path}",
                          headers=bearer(key)).status_code == 404  # fmt: skip
    mine = client.get(f"/api/projects/{other.id}/revenue/customers", headers=bearer(key))
    assert mine.status_code == 200
    assert mine.json()["total"] == 0


def test_a_viewer_reads_the_pages_but_may_not_compute(
    client: TestClient, context: AppContext, book: Book
) -> None:
    project, _ = book
    csrf = signed_in(client, context, Role.VIEWER)
    page = client.get(f"/projects/{project}/revenue/acquisition")
    assert page.status_code == 200
    assert "Compute now" not in page.text
    refused = client.post(f"/projects/{project}/revenue/acquisition", data={"csrf_token": csrf})
    assert refused.status_code == 403


def test_empty_project_pages_say_so(client: TestClient, context: AppContext) -> None:
    project = create_project(context)
    signed_in(client, context)
    texts = {path: client.get(f"/projects/{project.id}/revenue/{path}").text
             for path in ("movements", "customers", "payments", "acquisition")}  # fmt: skip
    assert "No movements match" in texts["movements"]
    assert "No customers yet" in texts["customers"]
    assert "No failed payments" in texts["payments"]
    assert "Nobody is behind on paying" in texts["payments"]
    assert "No acquisition figures for these days yet" in texts["acquisition"]

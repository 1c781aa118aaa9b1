"""Customer accounts: the list (seats, activity, MRR, health by band) and one account's
page (its health, the spread of its people's scores, its members), with JSON twins."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from loopwise.core.db import utcnow
from loopwise.core.errors import InvalidInput
from loopwise.people import facade
from loopwise.people.contracts import PeopleConfig
from loopwise.people.web.views import BAND_COLOURS, currency_of, page, row_json
from loopwise.web.deps import DbDep, ProjectDep, Reader

router = APIRouter()
PAGE_SIZE = 50
AccountName = Annotated[str, Path(min_length=1, max_length=200, description="the account")]


def _account_json(row: facade.AccountRow) -> dict[str, Any]:
    return asdict(row)


def distribution_chart(view: facade.AccountView, config: PeopleConfig) -> str:
    """The account's scored people per ten points of health, each bar in the colour of
    the band its lowest score falls in."""
    steps = [f"{10 * i}-{10 * i + 9 if i < 9 else 100}" for i in range(10)]
    colours = [BAND_COLOURS[config.band(10 * i)] for i in range(10)]
    return json.dumps({
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 36, "right": 16, "top": 16, "bottom": 28},
        "xAxis": {"type": "category", "data": steps, "name": "health"},
        "yAxis": {"type": "value", "minInterval": 1, "name": "people"},
        "series": [{"name": "people", "type": "bar",
                    "data": [{"value": n, "itemStyle": {"color": c}}
                             for n, c in zip(view.distribution, colours, strict=True)]}],
    })  # fmt: skip


@router.get(
    "/projects/{project_id}/people/accounts", response_class=HTMLResponse, include_in_schema=False
)
def accounts_list(
    request: Request,
    project: ProjectDep,
    principal: Reader,
    db: DbDep,
    q: Annotated[str, Query(max_length=200)] = "",
    page_no: Annotated[str, Query(alias="page", max_length=8)] = "1",
) -> Response:
    errors: dict[str, str] = {}
    number = int(page_no) if page_no.isascii() and page_no.isdigit() and page_no != "0" else 0
    if not number:
        errors["page"] = "is a whole number from 1"
    rows = facade.accounts_page(db, project.id, q=q.strip(), limit=PAGE_SIZE + 1,
                                offset=max(number - 1, 0) * PAGE_SIZE)  # fmt: skip
    link = f"/projects/{project.id}/people/accounts?"
    values = {
        "project": project, "tab": "accounts", "rows": rows[:PAGE_SIZE], "q": q.strip(),
        "errors": errors, "currency": currency_of(db, project.id),
        "prev_href": link + urlencode({"q": q, "page": number - 1}) if number > 1 else "",
        "next_href": link + urlencode({"q": q, "page": number + 1})
        if len(rows) > PAGE_SIZE else "",
        "account_property": facade.config_of(db, project.id).account_property,
    }  # fmt: skip
    db.commit()
    return page(request, "people/accounts.html", values, 422 if errors else 200)


@router.get(
    "/projects/{project_id}/people/accounts/{account:path}",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def account_page(
    request: Request, project: ProjectDep, principal: Reader, db: DbDep, account: AccountName
) -> Response:
    view = facade.account_view(db, project.id, account, utcnow())
    values = {"project": project, "tab": "accounts", "v": view, "r": view.row,
              "chart": distribution_chart(view, facade.config_of(db, project.id))}  # fmt: skip
    db.commit()
    return page(request, "people/account.html", values)


@router.get("/api/projects/{project_id}/people/accounts", tags=["people"])
def accounts_api(
    project: ProjectDep,
    principal: Reader,
    db: DbDep,
    q: Annotated[str, Query(max_length=200, description="part of the account's name")] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """Customer accounts (people sharing the account property), the highest MRR first:
    seats, people active in 7 and 30 days, MRR (minor units), mean health, people per band."""
    rows = facade.accounts_page(db, project.id, q=q.strip(), limit=limit, offset=offset)
    return {"limit": limit, "offset": offset, "accounts": [_account_json(r) for r in rows]}


@router.get("/api/projects/{project_id}/people/accounts/{account:path}", tags=["people"])
def account_api(
    project: ProjectDep, principal: Reader, db: DbDep, account: AccountName
) -> dict[str, Any]:
    """One account: its figures, its health (MRR-weighted when anyone pays), its people's
    scores per ten points, and its members (the highest MRR first)."""
    if not account.strip():
        raise InvalidInput("account", "is required")
    view = facade.account_view(db, project.id, account, utcnow())
    return {
        **_account_json(view.row), "health": view.health, "weighted": view.weighted,
        "distribution": list(view.distribution), "currency": view.currency,
        "members": [row_json(m, view.currency) for m in view.members],
    }  # fmt: skip

"""Cohorts: list, create (criteria or an uploaded list of ids), members and their count
over time; pages and JSON API."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError

from loopwise.core.accounts import ProjectInfo
from loopwise.core.errors import InvalidInput
from loopwise.product import cohorts
from loopwise.product.contracts import CohortDefinition
from loopwise.product.web.charts import PALETTE
from loopwise.product.web.export import persons_csv
from loopwise.product.web.forms import whole_number
from loopwise.web.deps import (
    Analyst,
    DbDep,
    Id,
    ProjectDep,
    Reader,
    WarehouseDep,
    client_ip,
)
from loopwise.web.render import render, see_other

router = APIRouter()
ROWS = 3  # criteria rows on the form
MAX_UPLOAD = 4_000_000


@router.get("/projects/{project_id}/cohorts", response_class=HTMLResponse, include_in_schema=False)
def cohorts_page(request: Request, project: ProjectDep, principal: Reader, db: DbDep) -> Response:
    return _list(request, project, db, {}, {}, 200)


def _list(
    request: Request, project: ProjectInfo, db: Any, errors: dict[str, str],
    form: dict[str, Any], status: int,
) -> Response:  # fmt: skip
    values = {"project": project, "cohorts": cohorts.list_cohorts(db, project.id),
              "errors": errors, "form": form, "rows": range(ROWS)}  # fmt: skip
    return render(request, "product/cohorts.html", values, status)


@router.post("/projects/{project_id}/cohorts", include_in_schema=False)
async def create_cohort_form(
    request: Request,
    project: ProjectDep,
    principal: Analyst,
    db: DbDep,
    warehouse: WarehouseDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """A dynamic cohort from the criteria rows, or a static one from an uploaded file."""
    form = {k: str(v)[:1000] for k, v in (await request.form()).items() if isinstance(v, str)}
    unknown = 0
    try:
        if file is not None and file.filename:
            raw = await file.read(MAX_UPLOAD + 1)
            if len(raw) > MAX_UPLOAD:
                raise InvalidInput("file", "the file is larger than 4 MB")
            text = raw.decode("utf-8", errors="replace")
            ids, unknown = await to_thread.run_sync(
                cohorts.ids_from_csv, warehouse, project.id, text
            )
            definition = CohortDefinition(person_ids=ids)
        else:
            definition = _criteria(form)
        actor = principal.actor(client_ip(request))
        saved = cohorts.save_cohort(db, actor, project.id, form.get("name", ""), definition)
    except InvalidInput as exc:
        return _list(request, project, db, {exc.field: exc.message}, form, 422)
    db.commit()
    suffix = f"?unknown={unknown}" if unknown else ""
    return see_other(f"/projects/{project.id}/cohorts/{saved.id}{suffix}")


def _criteria(form: dict[str, str]) -> CohortDefinition:
    rows: list[dict[str, Any]] = []
    for n in range(ROWS):
        kind = form.get(f"type{n}", "")
        value = form.get(f"value{n}", "").strip()
        if not kind or not value:
            continue
        if kind == "property":
            key, _, wanted = value.partition("=")
            if not wanted:
                raise InvalidInput(f"value{n}", "write the property as key=value, e.g. plan=pro")
            item = {"key": key.strip(), "operator": "exact", "value": wanted.strip()}
            rows.append({"type": "property", "property": item})
        else:
            days, times = form.get(f"days{n}", "30"), form.get(f"times{n}", "1")
            if not whole_number(days, 5) or not whole_number(times, 6):
                raise InvalidInput(f"days{n}", "days and times are whole numbers")
            rows.append({"type": kind, "event": value, "days": int(days), "min_times": int(times)})
    if not rows:
        raise InvalidInput("value0", "give at least one condition, or upload a list of ids")
    try:
        return CohortDefinition.model_validate({"criteria": rows})
    except ValidationError as exc:
        first = exc.errors()[0]
        row = next((str(p) for p in first["loc"] if isinstance(p, int)), "0")
        raise InvalidInput(f"value{row}", str(first["msg"]).removeprefix("Value error, ")) from None


@router.get(
    "/projects/{project_id}/cohorts/{cohort_id}",
    response_class=HTMLResponse,
    include_in_schema=False,
)
async def cohort_page(
    request: Request,
    project: ProjectDep,
    principal: Reader,
    db: DbDep,
    warehouse: WarehouseDep,
    cohort_id: Id,
) -> Response:
    cohort = cohorts.get_cohort(db, project.id, cohort_id)
    found = await to_thread.run_sync(
        lambda: cohorts.members(warehouse, project.id, cohort.definition, limit=500)
    )
    if request.query_params.get("format") == "csv":
        return persons_csv(found)
    counts = await to_thread.run_sync(
        lambda: cohorts.member_counts(warehouse, project.id, cohort.definition)
    )
    chart = {
        "color": PALETTE, "tooltip": {"trigger": "axis"},
        "grid": {"left": 48, "right": 24, "top": 24, "bottom": 30, "containLabel": True},
        "xAxis": {"type": "category", "data": [m.strftime("%Y-%m-%d") for m, _ in counts]},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [{"type": "line", "name": "members", "data": [n for _, n in counts]}],
    }  # fmt: skip
    unknown = request.query_params.get("unknown", "")
    values = {"project": project, "cohort": cohort, "found": found, "count": counts[-1][1],
              "chart": json.dumps(chart),
              "unknown": int(unknown) if whole_number(unknown, 7) else 0}  # fmt: skip
    return render(request, "product/cohort.html", values)


@router.post("/projects/{project_id}/cohorts/{cohort_id}/delete", include_in_schema=False)
def delete_cohort_form(
    request: Request, project: ProjectDep, principal: Analyst, db: DbDep, cohort_id: Id
) -> Response:
    cohorts.delete_cohort(db, principal.actor(client_ip(request)), project.id, cohort_id)
    db.commit()
    return see_other(f"/projects/{project.id}/cohorts")


# --- JSON API -----------------------------------------------------------------------------


class CohortIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    definition: CohortDefinition


@router.get("/api/projects/{project_id}/cohorts", tags=["product analytics"])
def list_cohorts_api(project: ProjectDep, principal: Reader, db: DbDep) -> JSONResponse:
    return JSONResponse([_json(c) for c in cohorts.list_cohorts(db, project.id)])


@router.post("/api/projects/{project_id}/cohorts", tags=["product analytics"], status_code=201)
def create_cohort_api(
    request: Request, body: CohortIn, project: ProjectDep, principal: Analyst, db: DbDep
) -> JSONResponse:
    actor = principal.actor(client_ip(request))
    saved = cohorts.save_cohort(db, actor, project.id, body.name, body.definition)
    db.commit()
    return JSONResponse(_json(saved), status_code=201)


@router.put("/api/projects/{project_id}/cohorts/{cohort_id}", tags=["product analytics"])
def update_cohort_api(
    request: Request,
    body: CohortIn,
    project: ProjectDep,
    principal: Analyst,
    db: DbDep,
    cohort_id: Id,
) -> JSONResponse:
    """Rename a cohort or replace its definition; insights using it follow."""
    actor = principal.actor(client_ip(request))
    saved = cohorts.save_cohort(db, actor, project.id, body.name, body.definition, cohort_id)
    db.commit()
    return JSONResponse(_json(saved))


@router.get("/api/projects/{project_id}/cohorts/{cohort_id}/members", tags=["product analytics"])
async def cohort_members_api(
    project: ProjectDep,
    principal: Reader,
    db: DbDep,
    warehouse: WarehouseDep,
    cohort_id: Id,
    limit: int = 100,
    offset: int = 0,
) -> JSONResponse:
    if not 1 <= limit <= 1000 or not 0 <= offset <= 1_000_000:
        raise InvalidInput("limit", "limit is 1 to 1000 and offset 0 to 1,000,000")
    cohort = cohorts.get_cohort(db, project.id, cohort_id)
    found = await to_thread.run_sync(
        lambda: cohorts.members(
            warehouse, project.id, cohort.definition, limit=limit, offset=offset
        )
    )
    return JSONResponse(found.model_dump(mode="json"))


def _json(cohort: cohorts.CohortInfo) -> dict[str, Any]:
    found = asdict(cohort)
    found.update(
        kind=cohort.kind,
        definition=cohort.definition.model_dump(mode="json"),
        updated_at=cohort.updated_at.isoformat(),
    )
    return found

"""Knowledge-base pages and their JSON twins: the article lists, a new article, an article
with its edit form, and drafts proposed from recent solved tickets. Readers view; support
agents write. The work is in ``loopwise.support.kb``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from loopwise.core.accounts import ProjectInfo
from loopwise.core.auth import Principal
from loopwise.core.db import utcnow
from loopwise.core.errors import InvalidInput
from loopwise.core.roles import Permission
from loopwise.support import config, kb
from loopwise.web.deps import DbDep, Id, ProjectDep, Reader, SupportAgent, client_ip
from loopwise.web.render import render, see_other

router = APIRouter()
Title = Annotated[str, Form(max_length=2_000)]
Body = Annotated[str, Form(max_length=kb.MAX_BODY * 2)]
Category = Annotated[str, Form(max_length=100)]
Days = Annotated[int, Query(ge=1, le=366)]
MinSize = Annotated[int, Query(ge=2, le=1000)]


def _base(project: ProjectInfo) -> str:
    return f"/projects/{project.id}/support/kb"


# --- the list --------------------------------------------------------------------------


def _list_values(
    db: Session, project: ProjectInfo, principal: Principal, search: str
) -> tuple[dict[str, Any], int]:
    errors: dict[str, str] = {}
    published: list[kb.Article] = []
    drafts: list[kb.Article] = []
    try:
        published = kb.list_articles(db, project.id, status="published", search=search)
        drafts = kb.list_articles(db, project.id, status="draft", search=search)
    except InvalidInput as exc:
        errors[exc.field] = exc.message
    values = {"project": project, "published": published, "drafts": drafts, "search": search,
              "errors": errors, "proposed": None,
              "can_work": principal.can(Permission.WORK_TICKETS)}  # fmt: skip
    return values, 422 if errors else 200


@router.get("/projects/{project_id}/support/kb", response_class=HTMLResponse,
            include_in_schema=False)  # fmt: skip
def kb_page(
    request: Request, project: ProjectDep, principal: Reader, db: DbDep, search: str = ""
) -> Response:
    values, status = _list_values(db, project, principal, search.strip())
    return render(request, "support/kb.html", values, status)


@router.post("/projects/{project_id}/support/kb/proposals", response_class=HTMLResponse,
             include_in_schema=False)  # fmt: skip
def propose_form(
    request: Request, project: ProjectDep, principal: SupportAgent, db: DbDep
) -> Response:
    """Store drafts for last week's recurring questions and show them. Answered with the
    page rather than a redirect, to show each draft's reason; posting again adds nothing."""
    drafted = kb.create_drafts(db, project.id, utcnow(), created_by=principal.label)
    db.commit()
    values, _ = _list_values(db, project, principal, "")
    values["proposed"] = drafted
    return render(request, "support/kb.html", values)


# --- a new article ---------------------------------------------------------------------


def _categories(db: Session, project_id: int) -> list[str]:
    return list(config.settings_of(db, project_id).categories)


@router.get("/projects/{project_id}/support/kb/new", response_class=HTMLResponse,
            include_in_schema=False)  # fmt: skip
def new_article_page(
    request: Request, project: ProjectDep, principal: SupportAgent, db: DbDep
) -> Response:
    values = {"project": project, "form": {}, "errors": {},
              "categories": _categories(db, project.id)}  # fmt: skip
    db.commit()
    return render(request, "support/kb_new.html", values)


@router.post("/projects/{project_id}/support/kb/new", include_in_schema=False)
def new_article_form(
    request: Request, project: ProjectDep, principal: SupportAgent, db: DbDep,
    title: Title = "", body: Body = "", category: Category = "",
) -> Response:  # fmt: skip
    try:
        article = kb.create_article(db, project.id, utcnow(), title=title, body=body,
                                    category=category, created_by=principal.label)  # fmt: skip
    except InvalidInput as exc:
        db.rollback()
        values = {"project": project, "errors": {exc.field: exc.message},
                  "form": {"title": title, "body": body, "category": category},
                  "categories": _categories(db, project.id)}  # fmt: skip
        return render(request, "support/kb_new.html", values, 422)
    db.commit()
    return see_other(f"{_base(project)}/{article.id}")


# --- one article -----------------------------------------------------------------------


def _article_page(
    request: Request, project: ProjectInfo, db: Session, principal: Principal, article_id: int,
    errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    article = kb.get_article(db, project.id, article_id)
    values = {
        "project": project, "a": article, "html": kb.render_markdown(article.body),
        "sources": kb.source_tickets(db, project.id, article), "errors": errors or {},
        "form": form or {"title": article.title, "body": article.body,
                         "category": article.category},
        "categories": _categories(db, project.id),
        "can_work": principal.can(Permission.WORK_TICKETS),
    }  # fmt: skip
    db.commit()
    return render(request, "support/kb_article.html", values, 422 if errors else 200)


@router.get("/projects/{project_id}/support/kb/{article_id}", response_class=HTMLResponse,
            include_in_schema=False)  # fmt: skip
def article_page(
    request: Request, project: ProjectDep, principal: Reader, article_id: Id, db: DbDep
) -> Response:
    return _article_page(request, project, db, principal, article_id)


@router.post("/projects/{project_id}/support/kb/{article_id}", include_in_schema=False)
def edit_article_form(
    request: Request, project: ProjectDep, principal: SupportAgent, article_id: Id, db: DbDep,
    title: Title = "", body: Body = "", category: Category = "",
) -> Response:  # fmt: skip
    try:
        kb.update_article(db, project.id, article_id, title=title, body=body, category=category)
    except InvalidInput as exc:
        db.rollback()
        form = {"title": title, "body": body, "category": category}
        return _article_page(request, project, db, principal, article_id,
                             {exc.field: exc.message}, form)  # fmt: skip
    db.commit()
    return see_other(f"{_base(project)}/{article_id}")


@router.post("/projects/{project_id}/support/kb/{article_id}/publish", include_in_schema=False)
def publish_form(
    request: Request, project: ProjectDep, principal: SupportAgent, article_id: Id, db: DbDep
) -> Response:
    try:
        kb.publish(db, principal.actor(client_ip(request)), project.id, article_id, utcnow())
    except InvalidInput as exc:
        db.rollback()
        return _article_page(request, project, db, principal, article_id,
                             {exc.field: exc.message})  # fmt: skip
    db.commit()
    return see_other(f"{_base(project)}/{article_id}")


@router.post("/projects/{project_id}/support/kb/{article_id}/unpublish", include_in_schema=False)
def unpublish_form(
    project: ProjectDep, principal: SupportAgent, article_id: Id, db: DbDep
) -> Response:
    kb.unpublish(db, project.id, article_id)
    db.commit()
    return see_other(f"{_base(project)}/{article_id}")


@router.post("/projects/{project_id}/support/kb/{article_id}/delete", include_in_schema=False)
def delete_form(
    project: ProjectDep, principal: SupportAgent, article_id: Id, db: DbDep
) -> Response:
    kb.delete_article(db, project.id, article_id)
    db.commit()
    return see_other(_base(project))


# --- JSON twins ------------------------------------------------------------------------


@router.get("/api/projects/{project_id}/support/kb", tags=["support"])
def list_articles_api(
    project: ProjectDep, principal: Reader, db: DbDep, status: str = "", search: str = ""
) -> JSONResponse:
    """The project's articles, newest first; ``status`` draft or published, ``search`` in
    titles."""
    found = kb.list_articles(db, project.id, status=status, search=search)
    return JSONResponse({"articles": [a.as_json() for a in found]})


@router.get("/api/projects/{project_id}/support/kb/{article_id}", tags=["support"])
def article_api(project: ProjectDep, principal: Reader, article_id: Id, db: DbDep) -> JSONResponse:
    """One article, with its markdown rendered as HTML and its source tickets."""
    article = kb.get_article(db, project.id, article_id)
    sources = [{"id": i, "number": n, "subject": s}
               for i, n, s in kb.source_tickets(db, project.id, article)]  # fmt: skip
    return JSONResponse(article.as_json() | {"html": str(kb.render_markdown(article.body)),
                                             "sources": sources})  # fmt: skip


@router.post("/api/projects/{project_id}/support/kb/proposals", tags=["support"])
def proposals_api(
    project: ProjectDep, principal: SupportAgent, db: DbDep, days: Days = 7,
    min_size: MinSize = 5, preview: bool = False,
) -> JSONResponse:  # fmt: skip
    """Drafts for questions that came back at least ``min_size`` times among the tickets
    solved in the last ``days`` and that no article covers yet (docs/support.md). Stored as
    drafts, skipping groups already proposed; with ``preview=true`` only computed."""
    now = utcnow()
    if preview:
        found = kb.propose_drafts(db, project.id, now, days, min_size)
        return JSONResponse({"created": 0, "proposals": [p.as_json() for p in found]})
    drafted = kb.create_drafts(db, project.id, now, days, min_size, created_by=principal.label)
    db.commit()
    proposals = [d.proposal.as_json() | {"article_id": d.article.id} for d in drafted]
    return JSONResponse({"created": len(drafted), "proposals": proposals})

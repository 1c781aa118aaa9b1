"""The JSON REST API of the shell: projects, API keys, people, tokens, audit log.

Callers authenticate with ``Authorization: Bearer <token>`` (a personal token ``lwp_…`` or a
project key ``lws_…``) or with a browser session plus the ``X-CSRF-Token`` header.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from loopwise.core import accounts, audit
from loopwise.core.accounts import a_role
from loopwise.core.errors import Forbidden
from loopwise.core.roles import Role, can_grant
from loopwise.core.security import generate_password
from loopwise.web.area import Area
from loopwise.web.deps import (
    Admin,
    Auditor,
    Creator,
    DbDep,
    Id,
    KeyManager,
    PersonDep,
    PrincipalDep,
    ProjectDep,
    Reader,
    SettingsEditor,
    TokenMaker,
    client_ip,
)

router = APIRouter(prefix="/api", tags=["accounts"])


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ProjectOut(Out):
    id: int
    name: str
    write_key: str
    timezone: str
    created_at: datetime


class ProjectIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    timezone: str = "UTC"


class KeyOut(Out):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role = Role.ANALYST


class CreatedSecret(BaseModel):
    key: KeyOut
    secret: str = Field(description="Shown once; only its hash is stored.")


class UserOut(Out):
    id: int
    email: str
    name: str
    role: Role
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class UserIn(BaseModel):
    email: str
    name: str = ""
    role: Role = Role.VIEWER
    password: str | None = Field(default=None, description="Generated when omitted.")


class UserCreated(BaseModel):
    user: UserOut
    password: str | None = Field(description="The generated password, when none was given.")


class RoleIn(BaseModel):
    role: Role


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class AuditOut(Out):
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    project_id: int | None
    ip: str
    details: dict[str, Any]


class MeOut(BaseModel):
    label: str
    role: Role
    via: str
    user_id: int | None
    project_id: int | None


@router.get("/me", response_model=MeOut)
def me(principal: PrincipalDep) -> MeOut:
    return MeOut(**{k: getattr(principal, k) for k in MeOut.model_fields})


@router.get("/projects", response_model=list[ProjectOut])
def list_projects(principal: Reader, db: DbDep) -> list[accounts.ProjectInfo]:
    return [p for p in accounts.list_projects(db) if principal.sees_project(p.id)]


@router.post("/projects", response_model=ProjectOut, status_code=201)
def create_project(
    body: ProjectIn, request: Request, principal: Creator, db: DbDep
) -> accounts.ProjectInfo:
    actor = principal.actor(client_ip(request))
    project = accounts.create_project(db, actor, body.name, body.timezone)
    db.commit()
    return project


@router.get("/projects/{project_id}", response_model=ProjectOut)
def get_project(project: ProjectDep, principal: Reader) -> accounts.ProjectInfo:
    return project


class ProjectPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = None


@router.patch("/projects/{project_id}", response_model=ProjectOut)
def update_project(
    body: ProjectPatch, request: Request, project: ProjectDep, principal: SettingsEditor, db: DbDep
) -> accounts.ProjectInfo:
    """Rename the project or change its time zone."""
    actor = principal.actor(client_ip(request))
    name, timezone = body.name or project.name, body.timezone or project.timezone
    updated = accounts.update_project(db, actor, project.id, name, timezone)
    db.commit()
    return updated


@router.get("/projects/{project_id}/api-keys", response_model=list[KeyOut])
def list_api_keys(project: ProjectDep, principal: KeyManager, db: DbDep) -> list[accounts.KeyInfo]:
    return accounts.list_api_keys(db, project.id)


@router.post("/projects/{project_id}/api-keys", response_model=CreatedSecret, status_code=201)
def create_api_key(
    body: ApiKeyIn, request: Request, project: ProjectDep, principal: KeyManager, db: DbDep
) -> CreatedSecret:
    if not can_grant(principal.role, body.role):
        raise Forbidden(f"{a_role(principal.role)} cannot create {a_role(body.role)} key")
    actor = principal.actor(client_ip(request))
    key, secret = accounts.create_api_key(db, actor, project.id, body.name, body.role)
    db.commit()
    return CreatedSecret(key=KeyOut.model_validate(key), secret=secret)


@router.delete("/projects/{project_id}/api-keys/{key_id}", status_code=204)
def revoke_api_key(
    key_id: Id, request: Request, project: ProjectDep, principal: KeyManager, db: DbDep
) -> None:
    accounts.revoke_api_key(db, principal.actor(client_ip(request)), project.id, key_id)
    db.commit()


@router.get("/users", response_model=list[UserOut])
def list_users(principal: Admin, db: DbDep) -> list[accounts.UserInfo]:
    return accounts.list_users(db)


@router.post("/users", response_model=UserCreated, status_code=201)
def create_user(body: UserIn, request: Request, principal: Admin, db: DbDep) -> UserCreated:
    if not can_grant(principal.role, body.role):
        raise Forbidden(f"{a_role(principal.role)} cannot create {a_role(body.role)}")
    password = body.password or generate_password()
    actor = principal.actor(client_ip(request))
    user = accounts.create_user(db, actor, body.email, body.role, password, body.name)
    db.commit()
    shown = None if body.password else password
    return UserCreated(user=UserOut.model_validate(user), password=shown)


@router.put("/users/{user_id}/role", response_model=UserOut)
def set_role(
    user_id: Id, body: RoleIn, request: Request, principal: Admin, db: DbDep
) -> accounts.UserInfo:
    actor = principal.actor(client_ip(request))
    user = accounts.set_role(db, actor, principal.role, user_id, body.role)
    db.commit()
    return user


class ActiveIn(BaseModel):
    active: bool


@router.put("/users/{user_id}/active", response_model=UserOut)
def set_active(
    user_id: Id, body: ActiveIn, request: Request, principal: Admin, db: DbDep
) -> accounts.UserInfo:
    """Deactivate someone (signed out, tokens revoked, sign-in refused) or let them back."""
    actor = principal.actor(client_ip(request))
    user = accounts.set_active(db, actor, principal.role, user_id, body.active)
    db.commit()
    return user


@router.get("/me/tokens", response_model=list[KeyOut])
def list_tokens(principal: TokenMaker, db: DbDep) -> list[accounts.KeyInfo]:
    assert principal.user_id is not None
    return accounts.list_tokens(db, principal.user_id)


@router.post("/me/tokens", response_model=CreatedSecret, status_code=201)
def create_token(
    body: TokenIn, request: Request, principal: TokenMaker, db: DbDep
) -> CreatedSecret:
    assert principal.user_id is not None
    actor = principal.actor(client_ip(request))
    key, secret = accounts.create_token(db, actor, principal.user_id, body.name)
    db.commit()
    return CreatedSecret(key=KeyOut.model_validate(key), secret=secret)


@router.delete("/me/tokens/{token_id}", status_code=204)
def revoke_token(token_id: Id, request: Request, principal: PersonDep, db: DbDep) -> None:
    assert principal.user_id is not None  # guaranteed by PersonDep
    accounts.revoke_token(db, principal.actor(client_ip(request)), principal.user_id, token_id)
    db.commit()


@router.get("/audit", response_model=list[AuditOut])
def audit_log(
    principal: Auditor,
    db: DbDep,
    action: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[audit.AuditEntry]:
    rows, _ = audit.entries(db, action=action, limit=limit, offset=offset)
    return rows


area = Area(name="api", router=router)

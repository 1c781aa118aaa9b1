"""Request dependencies: the database session, the caller, permissions, the project.

Authorisation lives here, not in handlers: a route declares ``Allowed(Permission.X)`` or takes
``ProjectDep``, and the dependency answers 401/403/404 before the handler runs. Another
project's resource answers 404, never 403, so callers cannot learn what exists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from anyio import to_thread
from fastapi import Depends, Path, Request, Response
from itsdangerous import BadSignature, Signer
from sqlalchemy.orm import Session

from loopwise.core import accounts
from loopwise.core.accounts import ProjectInfo
from loopwise.core.auth import Principal, from_bearer, from_session_cookie
from loopwise.core.errors import Forbidden, LoopwiseError, NotFound
from loopwise.core.roles import Permission, describe
from loopwise.core.security import same
from loopwise.warehouse import Warehouse
from loopwise.web.context import AppContext

SESSION_COOKIE = "lw_session"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_ID = 2**63 - 1

# Ids in paths: positive and within a 64-bit integer, so no database ever overflows on one.
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


class Unauthenticated(LoopwiseError):
    """No valid credentials: pages redirect to sign-in, the API answers 401."""


class CsrfFailed(LoopwiseError):
    """A state-changing browser request without the session's CSRF token."""


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


def get_db(context: ContextDep) -> Iterator[Session]:
    """A session for the handler; handlers that write call ``commit()`` themselves.

    Function scope: the connection goes back to the pool when the handler returns, not when
    the response ends, so a long streaming response holds no database connection.
    """
    with context.sessions() as session:
        yield session


DbDep = Annotated[Session, Depends(get_db, scope="function")]


def get_warehouse(context: ContextDep) -> Warehouse:
    return context.warehouse


WarehouseDep = Annotated[Warehouse, Depends(get_warehouse)]


def session_cookie_value(context: AppContext, token: str) -> str:
    """The cookie carries the session token signed with the instance key: a forged or
    truncated cookie is refused before any database lookup."""
    return Signer(context.settings.secret(), salt="session").sign(token).decode()


def set_session_cookie(response: Response, context: AppContext, value: str) -> None:
    """The one place the session cookie is written: at sign-in and when it is renewed."""
    settings = context.settings
    response.set_cookie(
        SESSION_COOKIE, value, max_age=settings.session_hours * 3600, httponly=True,
        samesite="lax", secure=settings.secure_cookies,
    )  # fmt: skip


def session_token(context: AppContext, request: Request) -> str | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        return Signer(context.settings.secret(), salt="session").unsign(cookie).decode()
    except BadSignature:
        return None


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _resolve(request: Request, context: AppContext) -> Principal | None:
    header = request.headers.get("authorization", "")
    with context.sessions() as session, session.begin():
        if header.lower().startswith("bearer "):
            principal = from_bearer(session, header[7:].strip())
            if principal is None:
                raise Unauthenticated("the bearer token is unknown or revoked")
            return principal
        token = session_token(context, request)
        if token:
            return from_session_cookie(session, token, context.settings.session_hours)
    return None


async def get_principal(request: Request, context: ContextDep) -> Principal:
    # The lookup may wait on a database lock: keep it off the event loop.
    principal = await to_thread.run_sync(_resolve, request, context)
    if principal is None:
        raise Unauthenticated("sign in, or send Authorization: Bearer <token>")
    request.state.principal = principal
    if principal.via == "session":
        # The cookie's lifetime slides with use, like the session row behind it.
        request.state.renew_session_cookie = request.cookies.get(SESSION_COOKIE)
    if principal.via == "session" and request.method in UNSAFE_METHODS:
        await _check_csrf(request, principal)
    return principal


async def _check_csrf(request: Request, principal: Principal) -> None:
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not sent or not principal.csrf_token or not same(sent, principal.csrf_token):
        raise CsrfFailed("the form's security token is missing or out of date; reload the page")


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def Allowed(permission: Permission) -> Callable[[Principal], Principal]:  # noqa: N802
    """A dependency that lets the caller through only with ``permission``."""

    def check(principal: PrincipalDep) -> Principal:
        if not principal.can(permission):
            raise Forbidden(f"your role ({principal.role.value}) may not {describe(permission)}")
        return principal

    return check


# The callers each permission lets through, for handlers to declare what they need.
Reader = Annotated[Principal, Depends(Allowed(Permission.READ))]
Creator = Annotated[Principal, Depends(Allowed(Permission.CREATE_PROJECT))]
SettingsEditor = Annotated[Principal, Depends(Allowed(Permission.CHANGE_SETTINGS))]
KeyManager = Annotated[Principal, Depends(Allowed(Permission.MANAGE_API_KEYS))]
Admin = Annotated[Principal, Depends(Allowed(Permission.MANAGE_MEMBERS))]
Auditor = Annotated[Principal, Depends(Allowed(Permission.VIEW_AUDIT))]
TokenMaker = Annotated[Principal, Depends(Allowed(Permission.CREATE_TOKEN))]
Analyst = Annotated[Principal, Depends(Allowed(Permission.EDIT_ANALYSES))]
SupportAgent = Annotated[Principal, Depends(Allowed(Permission.WORK_TICKETS))]


def get_person(principal: PrincipalDep) -> Principal:
    """A caller who is a person (browser or personal token), not a project API key."""
    if principal.user_id is None:
        raise Forbidden("only a person can do this; project API keys cannot")
    return principal


PersonDep = Annotated[Principal, Depends(get_person)]


def get_project(project_id: Id, principal: PrincipalDep, db: DbDep) -> ProjectInfo:
    if not principal.sees_project(project_id):
        raise NotFound(f"project {project_id}")
    return accounts.get_project(db, project_id)


ProjectDep = Annotated[ProjectInfo, Depends(get_project)]

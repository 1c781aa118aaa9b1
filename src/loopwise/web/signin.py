"""Signing in and out: the sign-in form, its CSRF cookie, sessions in cookies."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from itsdangerous import BadSignature, Signer

from loopwise.core.auth import SignInRefused, sign_in, sign_out
from loopwise.web.area import Area
from loopwise.web.deps import (
    SESSION_COOKIE,
    ContextDep,
    DbDep,
    PrincipalDep,
    client_ip,
    session_cookie_value,
    session_token,
    set_session_cookie,
)
from loopwise.web.render import render, see_other

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "lw_login_csrf"


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so the sign-in form cannot bounce people to another site."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(ord(c) < 32 for c in target):
        return "/"
    parts = urlsplit(target)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _login_page(
    request: Request,
    context: ContextDep,
    *,
    error: str = "",
    email: str = "",
    next_path: str | None = None,
    status: int = 200,
) -> Response:
    # Reuse a still-valid token so two open sign-in tabs do not invalidate each other.
    token = _login_csrf_token(request, context) or secrets.token_urlsafe(24)
    signed = Signer(context.settings.secret(), salt="login-csrf").sign(token).decode()
    values = {
        "error": error,
        "email": email,
        "csrf": token,
        "next": _safe_next(next_path or request.query_params.get("next")),
    }
    response = render(request, "login.html", values, status)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, signed, httponly=True, samesite="strict",
        secure=context.settings.secure_cookies, max_age=3600,
    )  # fmt: skip
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, context: ContextDep) -> Response:
    return _login_page(request, context)


@router.post("/login")
def login(
    request: Request,
    context: ContextDep,
    db: DbDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    if not _login_csrf_ok(request, context, csrf_token):
        message = "The form expired; please sign in again."
        return _login_page(request, context, error=message, email=email, next_path=next, status=403)
    try:
        signed = sign_in(
            db,
            email,
            password,
            client_ip(request),
            context.throttle,
            context.settings.session_hours,
        )
    except SignInRefused as refused:
        db.commit()  # keep the failed attempt: it is what throttling counts
        if refused.reason == "locked":
            message = "Too many failed sign-ins. Wait a few minutes and try again."
            return _login_page(
                request, context, error=message, email=email, next_path=next, status=429
            )
        message = "Wrong email or password."
        return _login_page(request, context, error=message, email=email, next_path=next, status=401)
    db.commit()
    response = see_other(_safe_next(next))
    set_session_cookie(response, context, session_cookie_value(context, signed.token))
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


def _login_csrf_token(request: Request, context: ContextDep) -> str | None:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    try:
        return Signer(context.settings.secret(), salt="login-csrf").unsign(cookie).decode()
    except BadSignature:
        return None


def _login_csrf_ok(request: Request, context: ContextDep, sent: str) -> bool:
    expected = _login_csrf_token(request, context)
    return bool(sent and expected) and secrets.compare_digest(expected or "", sent)


@router.post("/logout")
def logout(request: Request, principal: PrincipalDep, context: ContextDep, db: DbDep) -> Response:
    token = session_token(context, request)
    if token:
        sign_out(db, token, client_ip(request))
        db.commit()
    response = see_other("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


area = Area(name="sign-in", router=router)

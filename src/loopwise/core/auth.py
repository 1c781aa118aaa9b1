"""Who is calling: browser sign-ins, personal tokens and project API keys.

A browser session is a random token in an HttpOnly cookie whose SHA-256 is the primary key of
``web_sessions``; deleting the row signs the browser out everywhere the instance runs, so web
nodes stay stateless. Sign-in failures are counted per account and per client address in the
database, which also works across nodes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from loopwise.core import audit
from loopwise.core.audit import Actor
from loopwise.core.db import utcnow
from loopwise.core.models import (
    ApiKey,
    AuditEvent,
    LoginAttempt,
    PersonalToken,
    User,
    WebSession,
)
from loopwise.core.roles import Permission, Role, allows
from loopwise.core.security import token_hash, verify_password

# Permissions over the whole instance, never granted to a key scoped to one project.
INSTANCE_PERMISSIONS = frozenset(
    {
        Permission.CREATE_PROJECT,
        Permission.MANAGE_MEMBERS,
        Permission.VIEW_AUDIT,
        Permission.CREATE_TOKEN,
    }
)


@dataclass(frozen=True)
class Principal:
    """The caller of a request.

    ``project_id`` is set for project API keys: such a caller sees that project only.
    """

    label: str
    role: Role
    via: Literal["session", "token", "api_key"]
    user_id: int | None = None
    project_id: int | None = None
    csrf_token: str | None = None

    def can(self, permission: Permission) -> bool:
        if self.project_id is not None and permission in INSTANCE_PERMISSIONS:
            return False
        return allows(self.role, permission)

    def sees_project(self, project_id: int) -> bool:
        return self.project_id is None or self.project_id == project_id

    def actor(self, ip: str = "") -> Actor:
        return Actor(self.label, self.user_id, ip)


MAX_EMAIL = 320
MAX_PASSWORD = 1024
# Recording every use of a token would turn each API read into a write; minutes are enough.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def _touch(row: PersonalToken | ApiKey, now: datetime) -> None:
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        row.last_used_at = now


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int
    window: timedelta


class SignInRefused(Exception):
    def __init__(self, reason: Literal["invalid", "locked"]) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SignedIn:
    token: str
    csrf_token: str
    user_id: int


def _recent_failures(
    session: Session, column: InstrumentedAttribute[str], value: str, policy: ThrottlePolicy
) -> int:
    since = utcnow() - policy.window
    query = select(func.count()).where(
        column == value, LoginAttempt.success.is_(False), LoginAttempt.at >= since
    )
    return session.scalar(query) or 0


def is_locked(session: Session, email: str, ip: str, policy: ThrottlePolicy) -> bool:
    by_email = _recent_failures(session, LoginAttempt.email, email, policy)
    # An address may try several accounts; allow it a few more attempts than one account.
    by_ip = _recent_failures(session, LoginAttempt.ip, ip, policy)
    return by_email >= policy.max_failures or by_ip >= policy.max_failures * 4


def _locked_recently(session: Session, address: str, policy: ThrottlePolicy) -> bool:
    query = select(AuditEvent.id).where(
        AuditEvent.action == "sign_in.locked",
        AuditEvent.target == address,
        AuditEvent.at >= utcnow() - policy.window,
    )
    return session.scalar(query.limit(1)) is not None


def sign_in(
    session: Session,
    email: str,
    password: str,
    ip: str,
    policy: ThrottlePolicy,
    session_hours: int,
) -> SignedIn:
    """Check the password and open a session, or refuse (and record why)."""
    address = email.strip().lower()
    if not address or len(address) > MAX_EMAIL or len(password) > MAX_PASSWORD:
        raise SignInRefused("invalid")  # no account can match; nothing worth recording
    actor = Actor(address, None, ip)
    purge_expired(session, keep_attempts=max(timedelta(days=1), policy.window))
    # Lock the account's row (PostgreSQL) so that parallel guesses at one account are
    # counted one after another instead of all passing the check before any is recorded.
    user = session.scalar(select(User).where(User.email == address).with_for_update())
    if is_locked(session, address, ip, policy):
        if not _locked_recently(session, address, policy):  # one entry per lockout, not per try
            audit.record(session, actor, "sign_in.locked", address)
        raise SignInRefused("locked")
    valid = verify_password(user.password_hash if user else None, password)
    session.add(LoginAttempt(email=address, ip=ip, success=bool(valid and user and user.is_active)))
    if user is None or not valid or not user.is_active:
        audit.record(session, actor, "sign_in.failed", address)
        raise SignInRefused("invalid")
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebSession(
            token_hash=token_hash(token), user_id=user.id, csrf_token=csrf,
            expires_at=now + timedelta(hours=session_hours),
        )
    )  # fmt: skip
    user.last_login_at = now
    audit.record(session, Actor(address, user.id, ip), "sign_in.ok", address)
    return SignedIn(token, csrf, user.id)


def sign_out(session: Session, token: str, ip: str = "") -> None:
    row = session.get(WebSession, token_hash(token))
    if row is None:
        return
    user = session.get(User, row.user_id)
    session.delete(row)
    if user is not None:
        audit.record(session, Actor(user.email, user.id, ip), "sign_out", user.email)


def from_session_cookie(session: Session, token: str, session_hours: int) -> Principal | None:
    """The signed-in person for a cookie; slides the expiry forward as they use the app."""
    row = session.get(WebSession, token_hash(token))
    now = utcnow()
    if row is None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    renewed = now + timedelta(hours=session_hours)
    if renewed - row.expires_at > timedelta(minutes=5):
        row.expires_at = renewed
    return Principal(user.email, Role(user.role), "session", user.id, None, row.csrf_token)


def from_bearer(session: Session, token: str) -> Principal | None:
    """A personal token (``lwp_``) acts as its owner; a project key (``lws_``) as its project."""
    digest = token_hash(token)
    now = utcnow()
    if token.startswith("lwp_"):
        found = session.scalar(select(PersonalToken).where(PersonalToken.token_hash == digest))
        if found is None or found.revoked_at is not None:
            return None
        user = session.get(User, found.user_id)
        if user is None or not user.is_active:
            return None
        _touch(found, now)
        return Principal(user.email, Role(user.role), "token", user.id)
    if token.startswith("lws_"):
        key = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
        if key is None or key.revoked_at is not None:
            return None
        _touch(key, now)
        return Principal(f"api-key:{key.prefix}", Role(key.role), "api_key", None, key.project_id)
    return None


def purge_expired(session: Session, keep_attempts: timedelta = timedelta(days=1)) -> int:
    """Delete expired sessions and sign-in attempts older than ``keep_attempts``."""
    now = utcnow()
    result = session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    gone = getattr(result, "rowcount", 0)
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - keep_attempts))
    return int(gone or 0)

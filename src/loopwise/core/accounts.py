"""People who sign in, projects, project API keys and personal tokens.

The service functions here are the only way these records change; each one that matters
for security writes its audit entry in the same transaction.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import available_timezones

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loopwise.core import audit
from loopwise.core.audit import Actor
from loopwise.core.db import utcnow
from loopwise.core.errors import Forbidden, InvalidInput, NotFound
from loopwise.core.models import ApiKey, PersonalToken, Project, User, WebSession
from loopwise.core.roles import Role, can_grant
from loopwise.core.security import hash_password, new_token, token_hash, verify_password

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10


@dataclass(frozen=True)
class UserInfo:
    id: int
    email: str
    name: str
    role: Role
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


@dataclass(frozen=True)
class ProjectInfo:
    id: int
    name: str
    write_key: str
    timezone: str
    created_at: datetime


@dataclass(frozen=True)
class KeyInfo:
    """A project API key or a personal token, without its secret."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def a_role(role: Role | str) -> str:
    """``an admin``, ``an owner``, ``a viewer``: roles as they read in a sentence."""
    name = role.value if isinstance(role, Role) else role
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _user(row: User) -> UserInfo:
    return UserInfo(
        row.id, row.email, row.name, Role(row.role), row.is_active, row.created_at,
        row.last_login_at,
    )  # fmt: skip


def _project(row: Project) -> ProjectInfo:
    return ProjectInfo(row.id, row.name, row.write_key, row.timezone, row.created_at)


def parse_role(value: str, field: str = "role") -> Role:
    try:
        return Role(value)
    except ValueError:
        accepted = ", ".join(r.value for r in Role)
        raise InvalidInput(field, f"{value!r} is not a role; use one of {accepted}") from None


def normalise_email(value: str) -> str:
    email = value.strip().lower()
    if not EMAIL.match(email) or len(email) > 320:
        raise InvalidInput("email", f"{value!r} is not an email address")
    return email


# --- people -------------------------------------------------------------------------------


def create_user(
    session: Session, actor: Actor, email: str, role: Role, password: str, name: str = ""
) -> UserInfo:
    address = normalise_email(email)
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("password", f"must be at least {MIN_PASSWORD} characters")
    if session.scalar(select(User.id).where(User.email == address)) is not None:
        raise InvalidInput("email", f"{address} already has an account")
    row = User(
        email=address, name=name.strip()[:200], role=role, password_hash=hash_password(password)
    )
    try:
        with session.begin_nested():  # a concurrent insert of the same email ends up here
            session.add(row)
            session.flush()
    except IntegrityError:
        raise InvalidInput("email", f"{address} already has an account") from None
    audit.record(session, actor, "user.created", address, role=role.value)
    return _user(row)


def list_users(session: Session) -> list[UserInfo]:
    return [_user(r) for r in session.scalars(select(User).order_by(User.email))]


def get_user(session: Session, user_id: int) -> UserInfo:
    row = session.get(User, user_id)
    if row is None:
        raise NotFound(f"user {user_id}")
    return _user(row)


def find_user(session: Session, email: str) -> UserInfo:
    row = session.scalar(select(User).where(User.email == email.strip().lower()))
    if row is None:
        raise NotFound(f"no account with email {email!r}")
    return _user(row)


def reset_password(session: Session, actor: Actor, email: str, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("password", f"must be at least {MIN_PASSWORD} characters")
    row = session.scalar(select(User).where(User.email == email.strip().lower()))
    if row is None:
        raise NotFound(f"no account with email {email!r}")
    row.password_hash = hash_password(password)
    _end_sessions(session, row.id)
    audit.record(session, actor, "user.password_reset", row.email)


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def set_role(
    session: Session, actor: Actor, granter: Role | None, user_id: int, role: Role
) -> UserInfo:
    """Change a role. ``granter`` None means the instance operator (CLI), who may do anything."""
    row = session.get(User, user_id)
    if row is None:
        raise NotFound(f"user {user_id}")
    if granter is not None and not (
        can_grant(granter, role) and can_grant(granter, Role(row.role))
    ):
        raise Forbidden(f"{a_role(granter)} cannot change {a_role(row.role)} into {a_role(role)}")
    if row.role == Role.OWNER and role != Role.OWNER and _owner_count(session) == 1:
        raise InvalidInput("role", "this is the last owner; make someone else owner first")
    before = row.role
    row.role = role
    audit.record(session, actor, "user.role_changed", row.email, before=before, after=role.value)
    return _user(row)


def _owner_count(session: Session) -> int:
    """Active owners, with their rows locked (PostgreSQL) so that two owners demoting each
    other at the same moment cannot leave the instance without one."""
    query = select(User.id).where(User.role == Role.OWNER, User.is_active.is_(True))
    return len(session.scalars(query.with_for_update()).all())


def set_active(
    session: Session, actor: Actor, granter: Role | None, user_id: int, active: bool
) -> UserInfo:
    """Deactivate someone (sign-ins refused, sessions ended, tokens revoked) or let them back.

    ``granter`` None means the instance operator (CLI).
    """
    row = session.get(User, user_id)
    if row is None:
        raise NotFound(f"user {user_id}")
    if granter is not None and not can_grant(granter, Role(row.role)):
        raise Forbidden(f"{a_role(granter)} cannot deactivate {a_role(row.role)}")
    if row.is_active == active:
        return _user(row)
    if not active:
        if row.role == Role.OWNER and _owner_count(session) == 1:
            raise InvalidInput("user", "this is the last owner; make someone else owner first")
        if actor.user_id == row.id:
            raise InvalidInput("user", "you cannot deactivate yourself")
        _end_sessions(session, row.id)
        _revoke_tokens(session, row.id)
    row.is_active = active
    action = "user.reactivated" if active else "user.deactivated"
    audit.record(session, actor, action, row.email)
    return _user(row)


def _end_sessions(session: Session, user_id: int, keep_session: str | None = None) -> None:
    """Sign someone out everywhere, except in the browser holding ``keep_session``."""
    query = delete(WebSession).where(WebSession.user_id == user_id)
    if keep_session:
        query = query.where(WebSession.token_hash != token_hash(keep_session))
    session.execute(query)


def _revoke_tokens(session: Session, user_id: int) -> None:
    now = utcnow()
    for token in session.scalars(
        select(PersonalToken).where(
            PersonalToken.user_id == user_id, PersonalToken.revoked_at.is_(None)
        )
    ):
        token.revoked_at = now


def change_password(
    session: Session, actor: Actor, user_id: int, current: str, new: str, keep_session: str
) -> None:
    """A person changes their own password; their other sign-ins end."""
    row = session.get(User, user_id)
    if row is None:
        raise NotFound(f"user {user_id}")
    if not verify_password(row.password_hash, current):
        raise InvalidInput("current_password", "is not your current password")
    if len(new) < MIN_PASSWORD:
        raise InvalidInput("new_password", f"must be at least {MIN_PASSWORD} characters")
    row.password_hash = hash_password(new)
    _end_sessions(session, user_id, keep_session)
    audit.record(session, actor, "user.password_changed", row.email)


# --- projects -----------------------------------------------------------------------------


def create_project(session: Session, actor: Actor, name: str, timezone: str = "UTC") -> ProjectInfo:
    clean = _check_project_fields(name, timezone)
    row = Project(name=clean, timezone=timezone, write_key="lw_" + secrets.token_urlsafe(24))
    session.add(row)
    session.flush()
    audit.record(session, actor, "project.created", clean, project_id=row.id)
    return _project(row)


def _check_project_fields(name: str, timezone: str) -> str:
    clean = name.strip()
    if not clean or len(clean) > 200:
        raise InvalidInput("name", "give the project a name of 1 to 200 characters")
    if timezone not in available_timezones():
        raise InvalidInput("timezone", f"{timezone!r} is not an IANA time zone (e.g. Europe/Paris)")
    return clean


def update_project(
    session: Session, actor: Actor, project_id: int, name: str, timezone: str
) -> ProjectInfo:
    """Rename a project or change the time zone its days and weeks follow."""
    row = session.get(Project, project_id)
    if row is None:
        raise NotFound(f"project {project_id}")
    clean = _check_project_fields(name, timezone)
    changes = {
        k: [old, new]
        for k, old, new in (("name", row.name, clean), ("timezone", row.timezone, timezone))
        if old != new
    }
    if changes:
        row.name, row.timezone = clean, timezone
        audit.record(session, actor, "project.updated", clean, project_id=row.id, **changes)
    return _project(row)


def list_projects(session: Session) -> list[ProjectInfo]:
    return [_project(r) for r in session.scalars(select(Project).order_by(Project.id))]


def get_project(session: Session, project_id: int) -> ProjectInfo:
    row = session.get(Project, project_id)
    if row is None:
        raise NotFound(f"project {project_id}")
    return _project(row)


def project_by_write_key(session: Session, write_key: str) -> ProjectInfo | None:
    row = session.scalar(select(Project).where(Project.write_key == write_key))
    return _project(row) if row else None


# --- project API keys and personal tokens -----------------------------------------------


def _key(row: ApiKey | PersonalToken) -> KeyInfo:
    return KeyInfo(row.id, row.name, row.prefix, row.created_at, row.last_used_at, row.revoked_at)


def _check_key_name(name: str) -> str:
    clean = name.strip()
    if not clean or len(clean) > 200:
        raise InvalidInput("name", "give the key a name of 1 to 200 characters")
    return clean


def create_api_key(
    session: Session, actor: Actor, project_id: int, name: str, role: Role = Role.ANALYST
) -> tuple[KeyInfo, str]:
    """A secret key for one project's REST API. The secret is returned once, never stored."""
    get_project(session, project_id)
    if role == Role.OWNER:
        raise InvalidInput("role", "an API key cannot be an owner")
    secret = new_token("lws_")
    row = ApiKey(
        project_id=project_id, name=_check_key_name(name), prefix=secret[:10],
        key_hash=token_hash(secret), role=role, created_by=actor.user_id,
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit.record(
        session, actor, "api_key.created", row.prefix, project_id=project_id, role=role.value
    )
    return _key(row), secret


def list_api_keys(session: Session, project_id: int) -> list[KeyInfo]:
    query = select(ApiKey).where(ApiKey.project_id == project_id).order_by(ApiKey.id)
    return [_key(r) for r in session.scalars(query)]


def revoke_api_key(session: Session, actor: Actor, project_id: int, key_id: int) -> None:
    row = session.get(ApiKey, key_id)
    if row is None or row.project_id != project_id:
        raise NotFound(f"API key {key_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, actor, "api_key.revoked", row.prefix, project_id=project_id)


def create_token(session: Session, actor: Actor, user_id: int, name: str) -> tuple[KeyInfo, str]:
    """A personal API token acting as ``user_id``. The secret is returned once."""
    user = get_user(session, user_id)
    secret = new_token("lwp_")
    row = PersonalToken(
        user_id=user_id, name=_check_key_name(name), prefix=secret[:10],
        token_hash=token_hash(secret),
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit.record(session, actor, "token.created", row.prefix, owner=user.email)
    return _key(row), secret


def list_tokens(session: Session, user_id: int) -> list[KeyInfo]:
    query = select(PersonalToken).where(PersonalToken.user_id == user_id)
    return [_key(r) for r in session.scalars(query.order_by(PersonalToken.id))]


def revoke_token(session: Session, actor: Actor, user_id: int, token_id: int) -> None:
    row = session.get(PersonalToken, token_id)
    if row is None or row.user_id != user_id:
        raise NotFound(f"token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, actor, "token.revoked", row.prefix)

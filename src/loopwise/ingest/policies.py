"""Per-project privacy settings of ingestion, and the daily salts of cookieless mode.

Capture endpoints read both on every request, so both are cached in memory for a few
seconds; a settings change reaches every node within that time.
"""

from __future__ import annotations

import secrets
import threading
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from loopwise.core import accounts
from loopwise.core.cache import TtlCache
from loopwise.core.db import transaction, utcnow
from loopwise.core.errors import InvalidInput
from loopwise.ingest.models import CookielessSalt, IngestSettings
from loopwise.ingest.pipeline import IngestPolicy, IpMode

CACHE_SECONDS = 5.0
SALT_DAYS_KEPT = 2  # today and yesterday: a salt lives at most 48 hours
MAX_DENYLIST = 200


def load_policy(session: Session, project_id: int) -> IngestPolicy:
    row = session.get(IngestSettings, project_id)
    if row is None:
        return IngestPolicy()
    return IngestPolicy(
        require_consent=row.require_consent,
        ip_mode=cast(IpMode, row.ip_mode),
        cookieless=row.cookieless,
        scrub_pii=row.scrub_pii,
        denylist=frozenset(row.denylist or ()),
    )


def save_policy(session: Session, project_id: int, policy: IngestPolicy) -> IngestPolicy:
    """Store a project's settings (checked first; nothing is written when one is wrong)."""
    if policy.ip_mode not in ("truncate", "drop"):
        raise InvalidInput("ip_mode", f"must be 'truncate' or 'drop', got {policy.ip_mode!r}")
    if len(policy.denylist) > MAX_DENYLIST:
        raise InvalidInput("denylist", f"holds at most {MAX_DENYLIST} property names")
    for key in policy.denylist:
        if not key or len(key) > 200 or key != key.strip().lower():
            raise InvalidInput("denylist", f"{key!r} is not a lower-case property name")
    row = session.get(IngestSettings, project_id) or IngestSettings(project_id=project_id)
    row.require_consent = policy.require_consent
    row.ip_mode = policy.ip_mode
    row.cookieless = policy.cookieless
    row.scrub_pii = policy.scrub_pii
    row.denylist = sorted(policy.denylist)
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return policy


def parse_denylist(text: str) -> frozenset[str]:
    """Property names from a form field: one per line or comma-separated, any case."""
    names = {part.strip().lower() for line in text.splitlines() for part in line.split(",")}
    return frozenset(name for name in names if name)


class Policies:
    """Cached per-project policies and cookieless salts for the capture path."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()
        self._policies: TtlCache[IngestPolicy] = TtlCache(CACHE_SECONDS)
        self._salts: dict[date, bytes] = {}

    def policy(self, project_id: int) -> IngestPolicy:
        return self._policies.get_or_compute(
            project_id, lambda: self._load(project_id), refresh=False
        )

    def _load(self, project_id: int) -> IngestPolicy:
        with self._sessions() as session:
            return load_policy(session, project_id)

    def forget(self, project_id: int) -> None:
        self._policies.forget(project_id)

    def salt(self, moment: datetime) -> bytes:
        """The salt of ``moment``'s UTC day, created by the first node that needs it."""
        day = moment.date()
        with self._lock:
            salt = self._salts.get(day)
        if salt is not None:
            return salt
        salt = bytes.fromhex(self._stored_salt(day))
        with self._lock:
            self._salts = {d: s for d, s in self._salts.items() if d > day - timedelta(days=2)}
            self._salts[day] = salt
        return salt

    def _stored_salt(self, day: date) -> str:
        try:
            with transaction(self._sessions) as session:
                horizon = day - timedelta(days=SALT_DAYS_KEPT - 1)
                session.execute(delete(CookielessSalt).where(CookielessSalt.day < horizon))
                existing = session.scalar(
                    select(CookielessSalt.salt).where(CookielessSalt.day == day)
                )
                if existing is not None:
                    return existing
                fresh = secrets.token_hex(32)
                session.add(CookielessSalt(day=day, salt=fresh))
                return fresh
        except IntegrityError:  # another node created it first
            with self._sessions() as session:
                return session.execute(
                    select(CookielessSalt.salt).where(CookielessSalt.day == day)
                ).scalar_one()


def project_for_key(sessions: sessionmaker[Session], key: str) -> int | None:
    """The id of the project a write key belongs to, or None."""
    with sessions() as session:
        project = accounts.project_by_write_key(session, key)
    return project.id if project else None

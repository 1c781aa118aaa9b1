"""Alerts: the shared service areas call when something needs a person's attention.

An area describes a kind of alert once (``AlertKind``: key, name, default severity and
cool-down) and calls ``fire`` when its check trips, with why in words and the evidence.
The project's rule for that kind (created with the defaults on first use, editable on the
Alerts page) says whether it is on, how severe it is, how long to stay quiet after firing
(the cool-down) and which channels hear it. Every alert that fires is logged with its
reasons; each channel gets a delivery, sent at once and retried with backoff (1, 5 and
30 minutes, 2 and 8 hours) until it is taken or has failed six times.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import getaddresses
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from loopwise.core import audit
from loopwise.core.audit import Actor
from loopwise.core.db import transaction, utcnow
from loopwise.core.errors import InvalidInput, NotFound
from loopwise.core.models import AlertDelivery, AlertEvent, AlertRule, NotificationChannel
from loopwise.core.notify import (
    DeliveryError,
    new_webhook_secret,
    send_email,
    send_slack,
    send_webhook,
)
from loopwise.core.sealed import Unsealable, seal, unseal
from loopwise.core.settings import Settings

log = logging.getLogger(__name__)
SEVERITIES = ("info", "warning", "critical")
KINDS = ("email", "webhook", "slack")
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
           timedelta(hours=2), timedelta(hours=8))  # fmt: skip
MAX_ATTEMPTS = len(BACKOFF) + 1
MAX_RECIPIENTS = 20


@dataclass(frozen=True)
class AlertKind:
    key: str  # e.g. "revenue.cac_anomaly"
    name: str
    description: str
    severity: str = "warning"
    cooldown: timedelta = timedelta(hours=24)


# --- channels ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Channel:
    id: int
    name: str
    kind: str
    target: str  # recipients or webhook URL; never a secret
    enabled: bool


def channels(session: Session, project_id: int) -> list[Channel]:
    rows = session.scalars(
        select(NotificationChannel)
        .where(NotificationChannel.project_id == project_id)
        .order_by(NotificationChannel.id)
    )
    return [Channel(r.id, r.name, r.kind, r.target, r.enabled) for r in rows]


def add_channel(
    session: Session,
    actor: Actor,
    project_id: int,
    *,
    name: str,
    kind: str,
    target: str,
    secret_key: str,
) -> tuple[Channel, str | None]:
    """Add a channel; for a webhook, returns the new signing secret (shown once)."""
    name, target = name.strip(), target.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput("name", "give the channel a name of up to 200 characters")
    if kind not in KINDS:
        raise InvalidInput("kind", "is email, webhook or slack")
    sealed, shown = "", None
    if kind == "email":
        target = ", ".join(_recipients(target))
    else:
        _check_url(target)
        if kind == "webhook":
            shown = new_webhook_secret()
            sealed = seal(secret_key, shown)
        else:  # a Slack URL is itself the credential: sealed, and shown only by its host
            sealed = seal(secret_key, target)
            target = f"{urlsplit(target).scheme}://{urlsplit(target).netloc}/…"
    row = NotificationChannel(project_id=project_id, name=name, kind=kind, target=target,
                              sealed_secret=sealed)  # fmt: skip
    session.add(row)
    session.flush()
    audit.record(session, actor, "alert_channel.created", f"{kind}:{name}", project_id=project_id)
    return Channel(row.id, row.name, row.kind, row.target, row.enabled), shown


def delete_channel(session: Session, actor: Actor, project_id: int, channel_id: int) -> None:
    row = _channel_row(session, project_id, channel_id)
    audit.record(session, actor, "alert_channel.deleted", f"{row.kind}:{row.name}",
                 project_id=project_id)  # fmt: skip
    session.delete(row)


def _channel_row(session: Session, project_id: int, channel_id: int) -> NotificationChannel:
    row = session.get(NotificationChannel, channel_id)
    if row is None or row.project_id != project_id:
        raise NotFound(f"channel {channel_id}")
    return row


def _recipients(text: str) -> list[str]:
    found = [address for _, address in getaddresses([text]) if address]
    if not found:
        raise InvalidInput("target", "give one or more e-mail addresses, separated by commas")
    if len(found) > MAX_RECIPIENTS:
        raise InvalidInput("target", f"at most {MAX_RECIPIENTS} recipients")
    for address in found:
        local, _, domain = address.rpartition("@")
        if not local or "." not in domain or any(c.isspace() for c in address):
            raise InvalidInput("target", f"{address!r} is not an e-mail address")
    return found


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise InvalidInput("target", "is an http:// or https:// URL")


# --- rules -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    key: str
    name: str
    description: str
    severity: str
    cooldown_minutes: int
    enabled: bool
    channel_ids: list[int]
    last_fired_at: datetime | None


def rules(session: Session, project_id: int, kinds: list[AlertKind]) -> list[Rule]:
    """The project's rule for each known kind (the kind's defaults where never changed)."""
    rows = {r.key: r for r in session.scalars(
        select(AlertRule).where(AlertRule.project_id == project_id))}  # fmt: skip
    found = []
    for kind in kinds:
        row = rows.get(kind.key)
        found.append(Rule(
            kind.key, kind.name, kind.description,
            row.severity if row else kind.severity,
            row.cooldown_minutes if row else int(kind.cooldown.total_seconds() // 60),
            row.enabled if row else True, list(row.channel_ids) if row else [],
            row.last_fired_at if row else None,
        ))  # fmt: skip
    return found


def set_rule(
    session: Session,
    actor: Actor,
    project_id: int,
    kind: AlertKind,
    *,
    severity: str,
    cooldown_minutes: int,
    enabled: bool,
    channel_ids: list[int],
) -> None:
    if severity not in SEVERITIES:
        raise InvalidInput("severity", "is info, warning or critical")
    if not 0 <= cooldown_minutes <= 60 * 24 * 30:
        raise InvalidInput("cooldown_minutes", "is 0 to 43,200 minutes (30 days)")
    known = {c.id for c in channels(session, project_id)}
    if any(c not in known for c in channel_ids):
        raise InvalidInput("channel_ids", "names a channel this project does not have")
    row = _rule_row(session, project_id, kind)
    row.severity, row.cooldown_minutes = severity, cooldown_minutes
    row.enabled, row.channel_ids = enabled, sorted(set(channel_ids))
    audit.record(session, actor, "alert_rule.changed", kind.key, project_id=project_id,
                 severity=severity, cooldown_minutes=cooldown_minutes, enabled=enabled,
                 channel_ids=row.channel_ids)  # fmt: skip


def _rule_row(session: Session, project_id: int, kind: AlertKind) -> AlertRule:
    row = session.get(AlertRule, (project_id, kind.key))
    if row is None:
        row = AlertRule(project_id=project_id, key=kind.key, severity=kind.severity,
                        cooldown_minutes=int(kind.cooldown.total_seconds() // 60),
                        enabled=True, channel_ids=[])  # fmt: skip
        session.add(row)
        session.flush()
    return row


# --- firing and delivering ---------------------------------------------------------------


def fire(
    session: Session,
    project_id: int,
    kind: AlertKind,
    *,
    title: str,
    why: str,
    evidence: dict[str, Any],
    now: datetime | None = None,
) -> int | None:
    """Log an alert and queue it to the rule's channels; returns its id, or None when the
    rule is off or still cooling down from its last alert."""
    moment = now or utcnow()
    rule = _rule_row(session, project_id, kind)
    if not rule.enabled:
        return None
    if rule.last_fired_at is not None and moment - rule.last_fired_at < timedelta(
        minutes=rule.cooldown_minutes
    ):
        return None
    event = AlertEvent(
        project_id=project_id, key=kind.key, severity=rule.severity, title=title[:300],
        why=why[:2000], evidence=evidence, fired_at=moment,
    )  # fmt: skip
    session.add(event)
    session.flush()
    wanted = set(rule.channel_ids)
    for channel in channels(session, project_id):
        if channel.enabled and (not wanted or channel.id in wanted):
            session.add(AlertDelivery(alert_id=event.id, channel_id=channel.id,
                                      next_attempt_at=moment))  # fmt: skip
    rule.last_fired_at = moment
    log.info("alert %s fired for project %s: %s", kind.key, project_id, why)
    return event.id


def deliver_due(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> str:
    """Send every pending delivery whose time has come; reschedule or fail the rest."""
    with sessions() as session:
        due = list(session.scalars(
            select(AlertDelivery.id)
            .where(AlertDelivery.status == "pending")
            .where(AlertDelivery.next_attempt_at <= now)
            .order_by(AlertDelivery.id)
            .limit(500)
        ))  # fmt: skip
    sent = failed = retried = 0
    for delivery_id in due:
        outcome = _deliver(sessions, settings, delivery_id, now)
        sent += outcome == "sent"
        failed += outcome == "failed"
        retried += outcome == "pending"
    return f"{sent} sent, {retried} to retry, {failed} failed"


def _deliver(sessions: sessionmaker[Session], settings: Settings, delivery_id: int,
             now: datetime) -> str:  # fmt: skip
    with sessions() as session:  # read, then send outside any transaction
        delivery = session.get(AlertDelivery, delivery_id)
        if delivery is None or delivery.status != "pending":
            return "skipped"
        channel = session.get(NotificationChannel, delivery.channel_id)
        event = session.get(AlertEvent, delivery.alert_id)
        assert channel is not None
        assert event is not None
        error = ""
        try:
            _send(settings, channel, event, f"msg_lw_{delivery.id}", now)
        except DeliveryError as exc:
            error = str(exc)
        except Unsealable:
            error = "the secret was sealed under another instance secret key: add it again"
    with transaction(sessions) as session:
        row = session.get(AlertDelivery, delivery_id)
        assert row is not None
        row.attempts += 1
        if not error:
            row.status, row.sent_at, row.next_attempt_at, row.last_error = "sent", now, None, ""
        elif row.attempts >= MAX_ATTEMPTS:
            row.status, row.next_attempt_at, row.last_error = "failed", None, error[:500]
        else:
            row.next_attempt_at, row.last_error = now + BACKOFF[row.attempts - 1], error[:500]
        return row.status


def payload(event: AlertEvent) -> dict[str, Any]:
    """The webhook body (the Standard Webhooks envelope: ``type``, ``timestamp``, ``data``)."""
    return {
        "type": f"alert.{event.key}",
        "timestamp": event.fired_at.isoformat().replace("+00:00", "Z"),
        "data": {"id": event.id, "project_id": event.project_id, "key": event.key,
                 "severity": event.severity, "title": event.title, "why": event.why,
                 "evidence": event.evidence},
    }  # fmt: skip


def _send(settings: Settings, channel: NotificationChannel, event: AlertEvent,
          message_id: str, now: datetime) -> None:  # fmt: skip
    text = f"[{event.severity}] {event.title}\n\n{event.why}"
    if channel.kind == "email":
        smtp = settings.smtp_url.get_secret_value() if settings.smtp_url else ""
        recipients = [a.strip() for a in channel.target.split(",") if a.strip()]
        send_email(smtp, settings.smtp_from, recipients, f"[Loopwise] {event.title}", text)
    elif channel.kind == "webhook":
        body = json.dumps(payload(event), separators=(",", ":")).encode()
        send_webhook(channel.target, unseal(settings.secret(), channel.sealed_secret),
                     message_id, body, now)  # fmt: skip
    else:
        send_slack(unseal(settings.secret(), channel.sealed_secret), text)


def send_test(settings: Settings, session: Session, project_id: int, channel_id: int) -> None:
    """Send a test message to a channel at once; raises ``DeliveryError`` saying why not."""
    channel = _channel_row(session, project_id, channel_id)
    sample = AlertEvent(
        id=0, project_id=project_id, key="test", severity="info",
        title="Test message from Loopwise",
        why="Someone pressed “Send test” for this channel. Alerts will arrive here.",
        evidence={}, fired_at=utcnow(),
    )  # fmt: skip
    try:
        _send(settings, channel, sample, f"msg_lw_test_{utcnow().timestamp():.0f}", utcnow())
    except Unsealable:
        raise DeliveryError("the secret was sealed under another secret key") from None


@dataclass(frozen=True)
class Delivered:
    channel: str
    status: str
    attempts: int
    last_error: str


@dataclass(frozen=True)
class Fired:
    id: int
    key: str
    severity: str
    title: str
    why: str
    evidence: dict[str, Any]
    fired_at: datetime
    deliveries: list[Delivered]


def recent(session: Session, project_id: int, limit: int = 50) -> list[Fired]:
    """The project's latest alerts, newest first, each with how its deliveries went."""
    events = list(session.scalars(
        select(AlertEvent).where(AlertEvent.project_id == project_id)
        .order_by(AlertEvent.fired_at.desc(), AlertEvent.id.desc()).limit(limit)
    ))  # fmt: skip
    names = {c.id: c.name for c in channels(session, project_id)}
    by_event: dict[int, list[Delivered]] = {e.id: [] for e in events}
    if events:
        found = session.scalars(
            select(AlertDelivery)
            .where(AlertDelivery.alert_id.in_(list(by_event)))
            .order_by(AlertDelivery.id)
        )
        for d in found:
            by_event[d.alert_id].append(
                Delivered(names.get(d.channel_id, "?"), d.status, d.attempts, d.last_error)
            )
    return [Fired(e.id, e.key, e.severity, e.title, e.why, e.evidence, e.fired_at,
                  by_event[e.id]) for e in events]  # fmt: skip

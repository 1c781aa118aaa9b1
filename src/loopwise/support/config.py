"""A project's support settings: issue types, features, SLA targets, routing rules and
which routine intents may be resolved automatically — with their defaults and checks.

Defaults, written down in docs/support.md: the seven built-in issue types; SLA targets of
1 h / 4 h (urgent), 4 h / 24 h (high), 8 h / 48 h (normal) and 24 h / 120 h (low) for first
response / resolution in calendar time; no routing rules; every routine intent off
("suggest only, never auto-send") with a threshold of 0.9 once switched on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loopwise.core.errors import InvalidInput
from loopwise.support.contracts import DEFAULT_CATEGORIES, PRIORITIES, ROUTINE_INTENTS
from loopwise.support.models import SupportSettings

DEFAULT_SLA: dict[str, dict[str, int]] = {
    "urgent": {"first_response": 60, "resolution": 240},
    "high": {"first_response": 240, "resolution": 1440},
    "normal": {"first_response": 480, "resolution": 2880},
    "low": {"first_response": 1440, "resolution": 7200},
}
DEFAULT_THRESHOLD = 0.9
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")


def settings_of(session: Session, project_id: int) -> SupportSettings:
    """The project's settings row, created with the defaults on first use."""
    row = session.get(SupportSettings, project_id)
    if row is None:
        row = SupportSettings(
            project_id=project_id,
            categories=list(DEFAULT_CATEGORIES),
            features=[],
            sla={k: dict(v) for k, v in DEFAULT_SLA.items()},
            routing=[],
            auto_resolution={
                i: {"enabled": False, "threshold": DEFAULT_THRESHOLD} for i in ROUTINE_INTENTS
            },
        )
        session.add(row)
        session.flush()
    return row


def next_number(session: Session, project_id: int) -> int:
    """The project's next ticket number; the row update serialises concurrent creations."""
    settings_of(session, project_id)
    session.execute(
        update(SupportSettings)
        .where(SupportSettings.project_id == project_id)
        .values(last_number=SupportSettings.last_number + 1)
    )
    number = session.scalar(
        select(SupportSettings.last_number).where(SupportSettings.project_id == project_id)
    )
    return int(number or 0)


def due_times(
    row: SupportSettings, priority: str, created: datetime
) -> tuple[datetime | None, ...]:
    """First-response and resolution due times for a ticket of ``priority``."""
    targets = row.sla.get(priority) or {}
    return tuple(
        created + timedelta(minutes=int(targets[key])) if targets.get(key) else None
        for key in ("first_response", "resolution")
    )


@dataclass(frozen=True)
class Route:
    queue: str
    assignee: str
    rule: int  # the 1-based rule that matched, 0 for none


def route(row: SupportSettings, category: str, priority: str, feature: str) -> Route:
    """The first routing rule whose conditions all hold; an empty condition matches any."""
    for number, rule in enumerate(row.routing, start=1):
        conditions = (("category", category), ("priority", priority), ("feature", feature))
        if all(not rule.get(key) or rule[key] == value for key, value in conditions):
            return Route(str(rule.get("queue", "")), str(rule.get("assignee", "")), number)
    return Route("", "", 0)


def check_categories(values: list[str]) -> list[str]:
    cleaned = [v.strip().lower() for v in values if v.strip()]
    if not cleaned:
        raise InvalidInput("categories", "needs at least one issue type")
    for value in cleaned:
        if not _NAME.match(value):
            raise InvalidInput(
                "categories", f"“{value[:60]}” must be lower-case letters, digits and _"
            )
    if "other" not in cleaned:
        cleaned.append("other")
    return list(dict.fromkeys(cleaned))


def check_sla(values: dict[str, Any]) -> dict[str, dict[str, int]]:
    checked: dict[str, dict[str, int]] = {}
    for priority, targets in values.items():
        if priority not in PRIORITIES or not isinstance(targets, dict):
            raise InvalidInput("sla", f"“{str(priority)[:20]}” is not a priority")
        checked[priority] = {}
        for key in ("first_response", "resolution"):
            minutes = targets.get(key)
            if minutes in (None, ""):
                continue
            if (
                not isinstance(minutes, int)
                or isinstance(minutes, bool)
                or not (1 <= minutes <= 525_600)
            ):
                raise InvalidInput(
                    f"sla.{priority}.{key}",
                    "is a whole number of minutes from 1 to 525600 (a year), or empty",
                )
            checked[priority][key] = minutes
    return checked


def check_routing(rules: list[dict[str, Any]], categories: list[str]) -> list[dict[str, str]]:
    checked = []
    for number, rule in enumerate(rules, start=1):
        field = f"routing.{number}"
        clean = {
            k: str(rule.get(k, "") or "").strip()[:320]
            for k in ("category", "priority", "feature", "queue", "assignee")
        }
        if clean["category"] and clean["category"] not in categories:
            raise InvalidInput(f"{field}.category", f"“{clean['category']}” is not an issue type")
        if clean["priority"] and clean["priority"] not in PRIORITIES:
            raise InvalidInput(f"{field}.priority", "is one of " + ", ".join(PRIORITIES))
        if not clean["queue"] and not clean["assignee"]:
            raise InvalidInput(field, "needs a queue or an assignee")
        checked.append(clean)
    return checked


def check_auto_resolution(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    checked: dict[str, dict[str, Any]] = {}
    for intent in ROUTINE_INTENTS:
        given = values.get(intent) or {}
        threshold = given.get("threshold", DEFAULT_THRESHOLD)
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not (0.5 <= float(threshold) <= 1.0)
        ):
            raise InvalidInput(f"auto_resolution.{intent}.threshold", "is from 0.5 to 1.0")
        link = str(given.get("link", "") or "").strip()
        if link and (len(link) > 2000 or not link.startswith(("https://", "http://"))):
            raise InvalidInput(f"auto_resolution.{intent}.link", "is an http(s) address")
        checked[intent] = {
            "enabled": bool(given.get("enabled", False)),
            "threshold": float(threshold),
            "link": link,
        }
    unknown = set(values) - set(ROUTINE_INTENTS)
    if unknown:
        raise InvalidInput(
            "auto_resolution",
            f"“{sorted(unknown)[0][:40]}” is not a routine intent: " + ", ".join(ROUTINE_INTENTS),
        )
    return checked

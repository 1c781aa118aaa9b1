"""What a product area hands the web shell: a router, templates and navigation entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fastapi import APIRouter

from loopwise.core.alerts import AlertKind
from loopwise.core.jobs import Job


@dataclass(frozen=True)
class NavItem:
    label: str
    # A path under /projects/{id}; the layout fills in the current project.
    project_path: str
    icon: str = ""


@dataclass(frozen=True)
class Area:
    name: str
    router: APIRouter
    templates: Path | None = None
    nav: tuple[NavItem, ...] = field(default_factory=tuple)
    # Scheduled work the area owns (see loopwise.core.jobs).
    jobs: tuple[Job, ...] = field(default_factory=tuple)
    # The kinds of alert the area raises (their rules appear on the Alerts page).
    alert_kinds: tuple[AlertKind, ...] = field(default_factory=tuple)

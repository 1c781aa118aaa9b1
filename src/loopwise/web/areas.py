"""The list of product areas the web shell mounts.

Each area contributes a router, a templates folder and navigation entries; adding an area is
one line here, never an if-chain in the app factory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fastapi import APIRouter


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


def all_areas() -> list[Area]:
    """Imported here, not at module level, so areas stay independent of the shell's import."""
    from loopwise.ingest.web.routes import area as ingest_area
    from loopwise.overview.web.routes import area as overview_area
    from loopwise.web.api import area as api_area
    from loopwise.web.pages import area as pages_area

    return [pages_area, overview_area, ingest_area, api_area]

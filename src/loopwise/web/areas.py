"""The list of product areas the web shell mounts.

Adding an area is one line here, never an if-chain in the app factory.
"""

from __future__ import annotations

from loopwise.core.alerts import AlertKind
from loopwise.core.jobs import Job
from loopwise.web.area import Area


def all_areas() -> list[Area]:
    """Imported here, not at module level, so areas stay independent of the shell's import."""
    from loopwise.ingest.web.routes import area as ingest_area
    from loopwise.overview.web.routes import area as overview_area
    from loopwise.people.web.routes import area as people_area
    from loopwise.product.web.routes import area as product_area
    from loopwise.revenue.web.routes import area as revenue_area
    from loopwise.support.web.routes import area as support_area
    from loopwise.web.alerts import area as alerts_area
    from loopwise.web.api import area as api_area
    from loopwise.web.pages import area as pages_area
    from loopwise.web.signin import area as signin_area

    return [
        signin_area, pages_area, overview_area, ingest_area, product_area, revenue_area,
        support_area, people_area, alerts_area, api_area,
    ]  # fmt: skip


def all_jobs() -> list[Job]:
    """Every area's scheduled jobs, for the embedded scheduler and ``loopwise jobs``."""
    return [job for area in all_areas() for job in area.jobs]


def all_alert_kinds() -> list[AlertKind]:
    """Every kind of alert the areas raise."""
    return [kind for area in all_areas() for kind in area.alert_kinds]

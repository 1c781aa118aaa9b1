"""``load_demo`` with the app database: product events in the warehouse, and the same
business's billing events and marketing spend in the revenue area."""

from __future__ import annotations

from sqlalchemy import func, select

from loopwise.core.db import transaction
from loopwise.demo import load_demo
from loopwise.demo.population import Business
from loopwise.revenue.facade import mrr_report
from loopwise.revenue.models import MarketingSpend, SourceEvent
from loopwise.web.context import AppContext
from tests.demo.conftest import END
from tests.factories import TEST_ACTOR, create_project


def test_a_demo_with_the_app_database_also_fills_the_revenue_area(context: AppContext) -> None:
    project = create_project(context, "Demo").id
    summary = load_demo(context.warehouse, project, users=200, days=90, seed=7, end=END,
                        sessions=context.sessions, actor=TEST_ACTOR)  # fmt: skip
    stored = (
        context.warehouse.query(
            "SELECT count(*) AS n FROM events WHERE project_id = {p}", {"p": project}
        )
        .table.column("n")[0]
        .as_py()
    )
    with transaction(context.sessions) as session:
        applied = session.scalar(
            select(func.count()).select_from(SourceEvent).where(SourceEvent.project_id == project)
        )
        spend = session.scalar(
            select(func.count()).select_from(MarketingSpend)
            .where(MarketingSpend.project_id == project)
        )  # fmt: skip
        report = mrr_report(session, project, "UTC", months=6, now=END)
    assert summary.events == stored > 5_000
    assert summary.billing_events == applied > 200
    assert summary.spend_rows == spend > 200
    paying = Business.build(users=200, days=90, seed=7, end=END).people
    assert report.periods[-1].customers == sum(1 for p in paying if p.plan_at(END) != "free")

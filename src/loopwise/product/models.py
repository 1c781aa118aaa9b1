"""Tables owned by product analytics (private to this area): saved insights, dashboards
and their tiles, cached query results, and which projects have their default dashboard."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loopwise.core.db import Base, UTCDateTime, utcnow


class Insight(Base):
    """A saved query object (as the query API takes it) and how to draw it."""

    __tablename__ = "insights"
    __table_args__ = (Index("ix_insights_project_id", "project_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    query: Mapped[dict[str, Any]] = mapped_column(JSON)
    chart: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Dashboard(Base):
    """Insights shown together, with a date range and filters applied to all of them."""

    __tablename__ = "dashboards"
    __table_args__ = (Index("ix_dashboards_project_id", "project_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # The last N days for every insight, or None to keep each insight's own range.
    days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Event property filters added to every insight's query.
    filters: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DashboardTile(Base):
    __tablename__ = "dashboard_tiles"
    __table_args__ = (Index("ix_dashboard_tiles_dashboard_id", "dashboard_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dashboard_id: Mapped[int] = mapped_column(ForeignKey("dashboards.id", ondelete="CASCADE"))
    insight_id: Mapped[int] = mapped_column(ForeignKey("insights.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)


class QueryResult(Base):
    """The last answer to a query, valid while the project's data watermark is unchanged."""

    __tablename__ = "query_results"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    watermark: Mapped[str] = mapped_column(String(100))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProductState(Base):
    """Per project: when its default dashboard was created (once, even if later deleted)."""

    __tablename__ = "product_state"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    default_dashboard_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Feature(Base):
    """A product feature as the project defines it: the events that mean "used it",
    optional start and completion events, and whether it is a core feature."""

    __tablename__ = "features"
    __table_args__ = (Index("ix_features_project_id", "project_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    events: Mapped[list[str]] = mapped_column(JSON)
    start_event: Mapped[str | None] = mapped_column(String(200), nullable=True)
    completion_event: Mapped[str | None] = mapped_column(String(200), nullable=True)
    is_core: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Cohort(Base):
    """A saved set of persons: criteria evaluated when used (dynamic), or a fixed list of
    person ids (static); the definition is ``contracts.CohortDefinition`` as JSON."""

    __tablename__ = "cohorts"
    __table_args__ = (Index("ix_cohorts_project_id", "project_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

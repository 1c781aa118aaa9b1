"""Tables owned by ingestion (private to this area): persons and their ids, the person
override map, per-project privacy settings, cookieless salts, and ingestion counters."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loopwise.core.db import Base, UTCDateTime, utcnow


class Person(Base):
    """One end-user of the project's product; ``id`` is UUID text."""

    __tablename__ = "persons"
    __table_args__ = (Index("ix_persons_project_id_created_at", "project_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    is_identified: Mapped[bool] = mapped_column(Boolean, default=False)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PersonDistinctId(Base):
    """Which person a distinct id (a device, cookie or user id) belongs to now."""

    __tablename__ = "person_distinct_ids"
    __table_args__ = (Index("ix_person_distinct_ids_person_id", "person_id"),)

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    distinct_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(36))


class PersonOverride(Base):
    """A merged-away person and the person it now is; mirrored into the warehouse."""

    __tablename__ = "person_overrides"
    __table_args__ = (Index("ix_person_overrides_override", "project_id", "override_person_id"),)

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    old_person_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    override_person_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set once the warehouse's events carry the surviving id (see ``jobs.squash_overrides``).
    squashed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class IngestSettings(Base):
    """A project's privacy settings for ingestion; a missing row means the defaults."""

    __tablename__ = "ingest_settings"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    require_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    ip_mode: Mapped[str] = mapped_column(String(16), default="truncate")
    cookieless: Mapped[bool] = mapped_column(Boolean, default=False)
    scrub_pii: Mapped[bool] = mapped_column(Boolean, default=True)
    denylist: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CookielessSalt(Base):
    """The salt of one UTC day for cookieless visitor ids; deleted after 48 hours."""

    __tablename__ = "cookieless_salts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    salt: Mapped[str] = mapped_column(String(128))


class IngestCount(Base):
    """Events accepted, dropped or rejected per project, hour, outcome and reason."""

    __tablename__ = "ingest_counts"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16), primary_key=True)
    reason: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class IngestRejection(Base):
    """A message that was refused, with the reason; the newest few per project are kept."""

    __tablename__ = "ingest_rejections"
    __table_args__ = (Index("ix_ingest_rejections_project_id_at", "project_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(16))
    field: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text)

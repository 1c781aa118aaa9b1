"""The JSON API's request and response bodies (they document the API in OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from loopwise.people.contracts import FilterSpec


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PersonRowOut(BaseModel):
    person_id: str
    email: str
    name: str
    account: str
    plan: str
    mrr: float = Field(description="MRR in major units of the project's currency")
    mrr_minor: int
    billing_status: str
    health: int | None = Field(description="0-100; null until the person is scored")
    band: str | None = Field(description="healthy, at_risk or critical")
    last_seen: str | None
    created_at: str | None
    tags: list[str]
    vip: bool
    matched: str | None = Field(None, description="what a search matched")


class PeoplePageOut(BaseModel):
    total: int
    limit: int
    offset: int
    currency: str
    people: list[PersonRowOut]


class SearchOut(BaseModel):
    q: str
    results: list[PersonRowOut]


class TimelineItemOut(BaseModel):
    at: datetime
    kind: str
    title: str
    detail: str
    link: str
    actor: str
    data: dict[str, Any]


class TimelineOut(BaseModel):
    start: datetime = Field(description="the items cover [start, end)")
    end: datetime
    kinds: list[str]
    items: list[TimelineItemOut]
    next_before: datetime = Field(description="pass as `before` for the next, older page")


class InsightOut(BaseModel):
    kind: str = Field(description="warning, info or good")
    text: str
    evidence: str


class ActionDoneOut(BaseModel):
    kind: str
    action_id: int | None
    message: str
    link: str


class MessageOut(BaseModel):
    to: str
    subject: str
    body: str


class BulkOut(BaseModel):
    kind: str
    count: int = Field(description="people the filter selected")
    message: str
    preview: list[MessageOut] = Field(description="e-mail without confirm: first messages")
    sent: int
    failed: list[str] = Field(description="addresses a delivery failed for")


class RefreshOut(BaseModel):
    persons: int
    seconds: float
    by_band: dict[str, int]


class PresetIn(_In):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    filter: FilterSpec


class PresetOut(BaseModel):
    id: int
    name: str
    filter: FilterSpec
    created_by: str
    created_at: datetime


class ConfigBody(_In):
    healthy_from: Annotated[int, Field(ge=1, le=100)]
    at_risk_from: Annotated[int, Field(ge=0, le=99)]
    weights: dict[Annotated[str, Field(max_length=40)], Annotated[int, Field(ge=0, le=100)]]
    vip_mrr_minor: Annotated[int, Field(ge=0)]
    account_property: Annotated[str, Field(min_length=1, max_length=200)]
    mail_from: Annotated[str, Field(max_length=320)] = ""

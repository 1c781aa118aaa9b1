"""``load_demo`` with the app database: the simulated people's support tickets, linked to
them and to what happened to them (failed payments, errors), varied in their words, with a
trending incident, and good enough labels for the triage model to learn from."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from loopwise.core.db import transaction
from loopwise.core.settings import load_settings
from loopwise.demo import DemoSummary, catalog, load_demo
from loopwise.demo.billing import person_billing_events
from loopwise.demo.population import Business, SimPerson
from loopwise.demo.tickets import SupportErrors, SupportTickets, spike_of
from loopwise.support.contracts import DEFAULT_CATEGORIES, ROUTINE_INTENTS, UNSOLVED
from loopwise.support.facade import support_settings, templates, train_model
from loopwise.support.kb import propose_drafts
from loopwise.support.models import Ticket, TicketMessage
from loopwise.support.report import volume_by_category
from loopwise.web.context import AppContext, open_context
from tests.conftest import PG_URL
from tests.demo.conftest import END
from tests.factories import TEST_ACTOR, create_project

USERS, DAYS, SEED = 300, 60, 7


@dataclass(frozen=True)
class Row:
    id: int
    person_id: str
    email: str
    subject: str
    body: str
    category: str
    label: str
    status: str
    created_at: datetime
    tags: tuple[str, ...]
    reopens: int
    csat: int | None


@dataclass(frozen=True)
class Loaded:
    """One demo load into a fresh app database, and its tickets as stored."""

    context: AppContext
    project: int
    business: Business
    summary: DemoSummary
    rows: list[Row]

    def person(self, row: Row) -> SimPerson | None:
        return {p.email: p for p in self.business.people}.get(row.email)


def _database(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'app.db'}"
        return
    schema = f"t_{secrets.token_hex(6)}"
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with engine.connect() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Loaded]:
    """A small demo loaded once per database (each test reads it, none writes)."""
    if request.param == "postgresql":
        request.getfixturevalue("pg_available")
    tmp = tmp_path_factory.mktemp(request.param)
    urls = _database(request.param, tmp)
    settings = load_settings(
        data_dir=tmp / "data", database_url=next(urls),
        warehouse_url=f"duckdb:///{tmp / 'events.duckdb'}",
        secret_key="test-secret-key-" + "x" * 32, scheduler="off",
    )  # fmt: skip
    context = open_context(settings)
    try:
        project = create_project(context, "Demo").id
        summary = load_demo(context.warehouse, project, users=USERS, days=DAYS, seed=SEED,
                            end=END, sessions=context.sessions, actor=TEST_ACTOR)  # fmt: skip
        business = Business.build(users=USERS, days=DAYS, seed=SEED, end=END)
        yield Loaded(context, project, business, summary, _rows(context, project))
    finally:
        context.close()
        for _ in urls:
            pass


def _rows(context: AppContext, project: int) -> list[Row]:
    with transaction(context.sessions) as session:
        # Newest first, so each ticket keeps its first customer message.
        messages = session.execute(
            select(TicketMessage.ticket_id, TicketMessage.body)
            .where(TicketMessage.project_id == project)
            .where(TicketMessage.author_kind == "customer")
            .order_by(TicketMessage.id.desc())
        )
        first = {int(ticket): str(body) for ticket, body in messages}
        tickets = session.scalars(select(Ticket).where(Ticket.project_id == project)).all()
        return [
            Row(t.id, t.person_id, t.requester_email, t.subject, first[t.id], t.category,
                t.label, t.status, t.created_at, tuple(t.tags), t.reopens, t.csat_rating)
            for t in tickets
        ]  # fmt: skip


def test_the_summary_counts_the_tickets_stored(loaded: Loaded) -> None:
    assert loaded.summary.tickets == len(loaded.rows) > 40
    writers = {row.email for row in loaded.rows}
    assert 0.1 <= len(writers) / USERS <= 0.25


def test_tickets_belong_to_the_simulated_people(loaded: Loaded) -> None:
    linked = [row for row in loaded.rows if row.person_id]
    assert len(linked) >= 0.9 * len(loaded.rows)
    assert all(loaded.person(row) is not None for row in linked)


def test_every_category_and_routine_intent_is_labelled(loaded: Loaded) -> None:
    labels = Counter(row.label for row in loaded.rows if row.label)
    assert set(DEFAULT_CATEGORIES) | set(ROUTINE_INTENTS) <= set(labels)
    assert {row.category for row in loaded.rows} <= set(DEFAULT_CATEGORIES)


def test_no_two_tickets_read_alike(loaded: Loaded) -> None:
    bodies = [row.body for row in loaded.rows]
    assert len(set(bodies)) >= 0.9 * len(bodies)
    by_category = Counter((row.category, row.body) for row in loaded.rows)
    assert max(by_category.values()) == 1
    assert len({row.subject for row in loaded.rows}) >= 0.5 * len(loaded.rows)


def test_people_whose_payment_failed_write_in_within_days(loaded: Loaded) -> None:
    failed: dict[str, list[datetime]] = {}
    for person in loaded.business.people:
        for event in person_billing_events(loaded.business, person):
            invoice = event["data"]["object"]
            if event["type"] == "invoice.payment_failed" and invoice["attempt_count"] == 1:
                at = datetime.fromtimestamp(event["created"], END.tzinfo)
                failed.setdefault(person.email, []).append(at)
    about = [row for row in loaded.rows
             if "payment_failed" in row.tags and "churned" not in row.tags]  # fmt: skip
    assert about
    for row in about:
        assert any(timedelta(0) < row.created_at - at < timedelta(days=3)
                   for at in failed.get(row.email, []))  # fmt: skip
    assert len({row.email for row in about}) >= 0.2 * len(failed)


def test_bug_reports_follow_errors_in_the_product(loaded: Loaded) -> None:
    found = loaded.context.warehouse.query(
        "SELECT distinct_id, timestamp FROM events WHERE project_id = {p} AND event = {e}",
        {"p": loaded.project, "e": "$exception"},
    ).table.to_pylist()
    errors: dict[str, list[datetime]] = {}
    for error in found:
        errors.setdefault(error["distinct_id"], []).append(error["timestamp"])
    bugs = [row for row in loaded.rows if row.label == "bug" and loaded.person(row)]
    assert len(bugs) >= 8
    for row in bugs:
        person = loaded.person(row)
        assert person is not None
        assert any(timedelta(0) < row.created_at - at < timedelta(days=3)
                   for at in errors.get(person.distinct_id, []))  # fmt: skip


def test_recent_tickets_wait_in_the_inbox_and_old_ones_are_done(loaded: Loaded) -> None:
    recent = [row for row in loaded.rows if END - row.created_at < timedelta(days=3)]
    old = [row for row in loaded.rows if END - row.created_at > timedelta(days=21)]
    assert any(row.status in UNSOLVED for row in recent)
    assert all(row.status in ("solved", "closed") for row in old)
    assert {"solved", "closed"} <= {row.status for row in loaded.rows}
    assert any(row.reopens for row in loaded.rows)
    rated = [row.csat for row in loaded.rows if row.csat is not None]
    solved = [row for row in loaded.rows if row.status in ("solved", "closed")]
    assert 0.15 * len(solved) <= len(rated) <= 0.5 * len(solved)
    assert sum(1 for r in rated if r >= 4) > 0.6 * len(rated)


def test_the_incident_week_makes_bug_reports_trend(loaded: Loaded) -> None:
    spike = spike_of(loaded.business)
    assert spike is not None
    assert len(spike.people) >= 8
    with transaction(loaded.context.sessions) as session:
        volume = volume_by_category(session, loaded.project, 6, END)
    assert volume.trending == ("bug",)


# Drafts and training read the same tickets on either database, through the same sentence
# encoder; once is enough for what they cost.
@pytest.mark.parametrize("loaded", ["sqlite"], indirect=True)
def test_the_incident_gives_a_knowledge_base_draft(loaded: Loaded) -> None:
    with transaction(loaded.context.sessions) as session:
        drafts = propose_drafts(session, loaded.project, END)
    incident = {row.id for row in loaded.rows if "incident" in row.tags}
    assert drafts
    assert len(drafts[0].source_tickets) >= 5
    assert set(drafts[0].source_tickets) <= incident
    assert "export" in drafts[0].title.lower()


def test_the_support_settings_and_templates_are_set_once(loaded: Loaded) -> None:
    with transaction(loaded.context.sessions) as session:
        settings = support_settings(session, loaded.project)
        saved = templates(session, loaded.project)
        assert settings.features == [f.name for f in catalog.FEATURES]
        assert [(r["category"], r["queue"]) for r in settings.routing] == [
            ("billing", "billing"), ("bug", "technical")]  # fmt: skip
        assert {t.category for t in saved} >= set(ROUTINE_INTENTS) | {"billing"}
        assert all("{{ first_name }}" in t.body and "{{ link }}" in t.body for t in saved)


@pytest.mark.parametrize("loaded", ["sqlite"], indirect=True)
def test_the_triage_model_learns_the_demo_labels(loaded: Loaded) -> None:
    with transaction(loaded.context.sessions) as session:
        outcome = train_model(session, TEST_ACTOR, loaded.project, END)
    accuracy = outcome.evaluation["accuracy"]
    print(f"held-out accuracy {accuracy:.3f} on {outcome.evaluation['held_out']} tickets "
          f"({outcome.labels} labels, {outcome.encoder})")  # fmt: skip
    assert accuracy > 0.5


def test_the_same_seed_gives_identical_tickets_however_people_are_grouped() -> None:
    business = Business.build(users=150, days=45, seed=3, end=END)
    again = Business.build(users=150, days=45, seed=3, end=END)
    whole = list(SupportTickets().generate(business, business.people))
    groups = [again.people[first : first + 40] for first in range(0, 150, 40)]
    parts = [record for group in groups for record in SupportTickets().generate(again, group)]
    assert len(whole) > 10
    assert whole == parts
    errors = list(SupportErrors().generate(business, business.people))
    assert errors == list(SupportErrors().generate(again, again.people))
    other = Business.build(users=150, days=45, seed=4, end=END)
    assert list(SupportTickets().generate(other, other.people)) != whole

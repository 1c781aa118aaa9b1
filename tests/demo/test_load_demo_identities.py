"""``load_demo`` with the app database registers every simulated person with the identity
service: billing customers find their person, queries merge the anonymous landing visit into
the user, and CAC attribution finds the channel that brought each new customer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from loopwise.core.db import transaction
from loopwise.demo import load_demo
from loopwise.demo.contracts import Delivered, DemoTarget
from loopwise.demo.facade import run_generators
from loopwise.demo.identities import KnownIdentities, known_person
from loopwise.demo.population import Business, SimPerson
from loopwise.demo.product_events import person_events
from loopwise.ingest.facade import find_person
from loopwise.ingest.ids import person_id_for
from loopwise.ingest.models import Person, PersonDistinctId, PersonOverride
from loopwise.revenue import ledger
from loopwise.revenue.cac import DIRECT, new_customers
from loopwise.revenue.facade import cac, revenue_rules
from loopwise.revenue.models import BillingObject
from loopwise.web.context import AppContext
from tests.demo.conftest import END
from tests.factories import TEST_ACTOR, create_project

USERS, DAYS, SEED = 200, 60, 7
PAID = ("google", "facebook", "newsletter", "producthunt")  # demo/catalog.py utm_source


def load(context: AppContext) -> tuple[int, Business]:
    project = create_project(context, "Demo").id
    summary = load_demo(context.warehouse, project, users=USERS, days=DAYS, seed=SEED, end=END,
                        sessions=context.sessions, actor=TEST_ACTOR)  # fmt: skip
    assert summary.identities == USERS
    return project, Business.build(users=USERS, days=DAYS, seed=SEED, end=END)


def test_every_billing_customer_and_person_is_in_the_identity_service(
    context: AppContext,
) -> None:
    project, business = load(context)
    with transaction(context.sessions) as session:
        customers = session.scalars(
            select(BillingObject)
            .where(BillingObject.project_id == project)
            .where(BillingObject.kind == "customer")
        ).all()
        assert len(customers) > 20
        for customer in customers:
            user_id = customer.data["metadata"]["user_id"]
            assert customer.person_id == person_id_for(project, user_id)
        for person in business.people:
            found = find_person(session, project, email=person.email)
            assert found == person_id_for(project, person.distinct_id)
            assert find_person(session, project, user_id=person.anon_id) == found
        stored = session.get(Person, person_id_for(project, business.people[-1].distinct_id))
        assert stored is not None
        assert stored.is_identified
        expected = known_person(business, business.people[-1])
        assert stored.properties == {**expected.properties, **expected.properties_once}


def test_the_identities_agree_with_what_the_events_set(context: AppContext) -> None:
    """A person's properties include what their events' ``$set``/``$set_once`` leave
    (and more: the profile of people without events in the period, a plan status set by a
    change before it)."""
    project, business = load(context)
    with transaction(context.sessions) as session:
        for person in business.people[::5]:
            stored = session.get(Person, person_id_for(project, person.distinct_id))
            assert stored is not None
            assert _replayed(business, person).items() <= stored.properties.items()


def _replayed(business: Business, person: SimPerson) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for event in person_events(business, person):
        if event.distinct_id == person.distinct_id:
            properties.update(event.set or {})
            for key, value in (event.set_once or {}).items():
                properties.setdefault(key, value)
    return properties


def test_new_customers_are_attributed_to_the_channel_of_their_first_visit(
    context: AppContext,
) -> None:
    project, business = load(context)
    start, end = business.start.date() + timedelta(days=1), END.date()
    by_person = {person_id_for(project, p.distinct_id): p for p in business.people}
    with transaction(context.sessions) as session:
        report = cac(session, context.warehouse, project, "UTC", start, end, now=END)
        lookback = revenue_rules(session, project).lookback_days
        firsts = ledger.first_new(session, project, start, end)
        found = new_customers(session, context.warehouse, project, firsts, start, end,
                              lookback_days=lookback)  # fmt: skip
        person_of = {
            row.external_id: row.person_id
            for row in session.execute(
                select(BillingObject.external_id, BillingObject.person_id)
                .where(BillingObject.project_id == project)
                .where(BillingObject.kind == "customer")
            )
        }
    assert len(found) > 20
    for customer in found:
        person = by_person[person_of[customer.customer_id]]
        assert customer.source == _first_touch(business, person, customer.day, lookback)
    counts = {c.source: c.customers for c in report.channels}
    paid = sum(counts.get(source, 0) for source in PAID)
    assert all(counts.get(source, 0) > 0 for source in ("google", "facebook"))
    assert 0.3 < paid / sum(counts.values()) < 0.8
    assert counts.get(DIRECT, 0) > 0  # the organic, direct and pre-period sign-ups


def _first_touch(business: Business, person: SimPerson, day: date, lookback: int) -> str:
    """The ``utm_source`` of the person's first event with one in the lookback window."""
    begin = datetime.combine(day - timedelta(days=lookback), time(), UTC)
    until = datetime.combine(day + timedelta(days=1), time(), UTC)
    for event in person_events(business, person):
        source = event.properties.get("utm_source")
        if source and begin <= event.timestamp < until and event.distinct_id in (
            person.anon_id, person.distinct_id,
        ):  # fmt: skip
            return str(source)
    return DIRECT


def _counts(context: AppContext, project: int) -> tuple[int, ...]:
    with context.sessions() as session:
        rows = tuple(
            int(session.scalar(select(func.count()).select_from(model)
                               .where(model.project_id == project)) or 0)
            for model in (Person, PersonDistinctId, PersonOverride)
        )  # fmt: skip
    merged = context.warehouse.query(
        "SELECT count(*) AS n FROM person_overrides WHERE project_id = {p}", {"p": project}
    )
    return (*rows, int(merged.table.column("n")[0].as_py()))


def test_registering_the_demo_people_again_changes_nothing(context: AppContext) -> None:
    project, business = load(context)
    before = _counts(context, project)
    assert before == (USERS, 2 * USERS, USERS, USERS)
    target = DemoTarget(context.warehouse, project, END, context.sessions, TEST_ACTOR)
    again = run_generators(business, target, [KnownIdentities()])
    assert again == Delivered(identities=USERS)
    assert _counts(context, project) == before


class _Recorder:
    """A generator that logs which people's records it delivers, and when."""

    def __init__(self, name: str, log: list[tuple[str, int]], *, per_group: bool) -> None:
        self.name, self.log, self.per_group = name, log, per_group
        self.batch_size = 10_000 if per_group else 1

    def generate(self, business: Business, people: Sequence[SimPerson]) -> Iterator[int]:
        yield from (person.index for person in people)

    def deliver(self, target: DemoTarget, records: Sequence[int]) -> Delivered:
        self.log.extend((self.name, index) for index in records)
        return Delivered()


def test_a_per_group_generator_delivers_each_group_before_the_next_generator_runs() -> None:
    business = Business.build(users=250, days=7, seed=1, end=END)
    log: list[tuple[str, int]] = []
    first = _Recorder("first", log, per_group=True)
    second = _Recorder("second", log, per_group=False)
    run_generators(business, DemoTarget(None, 1, END), [first, second])  # type: ignore[arg-type]
    for position, (name, index) in enumerate(log):
        if name == "second":
            assert ("first", index) in log[:position]
    assert len(log) == 2 * 250

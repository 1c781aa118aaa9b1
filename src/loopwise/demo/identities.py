"""The identities generator: every simulated person registered with the identity service,
through ``ingest.facade.register_people``, before the billing generator runs over them.

Product events reach the warehouse through ``capture``, which stamps each event with its
distinct id's own person; the app database's identity tables never see them. Registering
each person (user id, the browser's anonymous id merged into it, the profile the events
``$set``) gives what the SDK path would have recorded from the ``$identify`` events: the
person and their properties (found by ``find_person``, searchable), and the override
``anonymous person -> user's person`` in the app database and the warehouse, so queries
count the anonymous landing visit (with its UTM parameters) as the user's. Billing
customers (``metadata.user_id``, e-mail) then find their person when ``customer.created``
is applied, and CAC attribution finds their first touch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from loopwise.demo.acquisition import first_touch, initial_touch, person_profile
from loopwise.demo.contracts import Delivered, DemoTarget
from loopwise.demo.population import Business, PlanChange, SimPerson
from loopwise.demo.timeline import Props
from loopwise.ingest.facade import KnownPerson, register_people


class KnownIdentities:
    """Generator of the people's identities; needs the app database. Delivered once per
    group of people (``per_group``), so the group's billing customers find their person."""

    name = "identities"
    app_database = True
    per_group = True

    def generate(self, business: Business, people: Sequence[SimPerson]) -> Iterator[KnownPerson]:
        for person in people:
            yield known_person(business, person)

    def deliver(self, target: DemoTarget, records: Sequence[KnownPerson]) -> Delivered:
        registered = register_people(
            target.app_database(), target.warehouse, target.project_id, records
        )
        return Delivered(identities=registered.people)


def known_person(business: Business, person: SimPerson) -> KnownPerson:
    """The person as their events leave them at the end of the simulation: the profile
    ``$identify`` sets, the plan and subscription status of their last plan change, and
    (for sign-ups inside the period) the first touch ``$set_once``."""
    properties = person_profile(person, person.plan_at(business.end))
    changes = [c for c in person.plans[1:] if c.at <= business.end]
    if changes:
        properties |= plan_status(changes[-1])
    once: Props = {}
    if not person.existing:
        once = initial_touch(
            first_touch(person.channel, person.campaign, person.referrer, person.landing_path)
        )
    return KnownPerson(person.distinct_id, (person.anon_id,), properties, once)


def plan_status(change: PlanChange) -> Props:
    """The person properties a plan change sets (``plan_changed``/``subscription_cancelled``)."""
    if change.kind == "cancel":
        return {"plan": "free", "subscription_status": "cancelled"}
    return {"plan": change.plan, "subscription_status": "active"}

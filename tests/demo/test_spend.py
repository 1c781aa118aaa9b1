"""Marketing spend: every paid channel, every day it is bought, in proportion to the
sign-ups it brings, and told once whatever the grouping of people."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

import pytest

from loopwise.demo import catalog
from loopwise.demo.billing_terms import paid_run
from loopwise.demo.population import Business
from loopwise.demo.spend import BUYING, MarketingSpend, SpendRow, spend_csv, spend_rows
from tests.demo.conftest import END

CHANNELS = {c.name: c for c in catalog.CHANNELS}


@pytest.fixture(scope="module")
def business() -> Business:
    return Business.build(users=2000, days=90, seed=42, end=END)


@pytest.fixture(scope="module")
def rows(business: Business) -> list[SpendRow]:
    return spend_rows(business)


def by_source(rows: list[SpendRow]) -> dict[str, list[SpendRow]]:
    found: dict[str, list[SpendRow]] = defaultdict(list)
    for row in rows:
        found[row.source].append(row)
    return found


def test_each_paid_channel_is_bought_on_its_own_schedule(
    business: Business, rows: list[SpendRow]
) -> None:
    found = by_source(rows)
    assert set(found) == {"google", "facebook", "newsletter", "producthunt"}
    period = {r.day for r in found["google"]}
    assert len(period) >= 90
    assert {r.day for r in found["facebook"]} == period
    assert {r.day.weekday() for r in found["newsletter"]} == {1}  # sponsored issues on Tuesdays
    assert len({r.day for r in found["producthunt"]}) == 1  # the launch-day sponsorship
    assert all(r.cents > 0 for r in rows)
    assert min(period) >= business.start.date()
    assert max(period) <= END.date()
    assert {(r.source, r.medium) for r in rows} == {
        (CHANNELS[b.channel].utm_source, CHANNELS[b.channel].utm_medium) for b in BUYING
    }


def test_spend_is_in_proportion_to_each_channels_signups(
    business: Business, rows: list[SpendRow]
) -> None:
    signups = Counter(
        p.channel.utm_source for p in business.people
        if not p.existing and p.signup_at >= business.start
    )  # fmt: skip
    paying = Counter(
        p.channel.utm_source for p in business.people
        if not p.existing and p.signup_at >= business.start and paid_run(p)
    )  # fmt: skip
    spend = Counter[str]()
    for row in rows:
        spend[row.source] += row.cents
    per_signup = {}
    for buying in BUYING:
        channel = CHANNELS[buying.channel]
        expected = buying.cpc / channel.conversion * 100
        per_signup[channel.utm_source] = spend[channel.utm_source] / signups[channel.utm_source]
        assert per_signup[channel.utm_source] == pytest.approx(expected, rel=0.1)
    # Paid social: cheap sign-ups that rarely pay, so the dearest customers.
    assert per_signup["facebook"] < per_signup["google"]
    cac = {source: spend[source] / paying[source] for source in per_signup}
    assert cac["facebook"] > cac["google"] > cac["newsletter"]


def test_spend_is_told_once_however_people_are_grouped(
    business: Business, rows: list[SpendRow]
) -> None:
    for size in (100, 777):
        people = business.people
        groups = [people[i : i + size] for i in range(0, len(people), size)]
        told = [row for group in groups for row in MarketingSpend().generate(business, group)]
        assert told == rows


def test_spend_rows_become_the_spend_import_csv() -> None:
    csv = spend_csv([SpendRow(date(2026, 3, 3), "google", "cpc", "brand-recipely", 123_45)])
    assert csv == (
        "date,source,medium,campaign,amount,currency\n"
        "2026-03-03,google,cpc,brand-recipely,123.45,usd\n"
    )

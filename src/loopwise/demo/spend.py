"""The marketing-spend generator: what the business paid each paid channel per day,
imported through the revenue area's spend import (``revenue.facade.import_spend``).

A paid channel is bought by the click: its spend is the landing visits it brought (its
sign-ups inside the period divided by the channel's landing → sign-up conversion) times
a cost per click. Spend follows the growth of sign-ups over the period, with day-to-day
noise; the newsletter is paid per sponsored issue (weekly, on Tuesdays) and Product Hunt
is one launch-day sponsorship. Cost per sign-up therefore differs by channel, and CAC
(spend per paying customer) differs further with each channel's paid conversion: paid
social brings cheap sign-ups that rarely pay.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from loopwise.core.db import transaction
from loopwise.demo import catalog
from loopwise.demo.contracts import Delivered, DemoTarget
from loopwise.demo.draws import GROWTH, Floats
from loopwise.demo.population import Business, SimPerson
from loopwise.revenue.facade import import_spend

STREAM = 3  # this generator's random stream: default_rng([seed, STREAM])
DAILY_NOISE = 0.25  # log-normal sigma of a day's spend around the trend
LAUNCH_AT = 0.55  # the Product Hunt launch, as a share of the period (draws.draw_signups)
TUESDAY = 1


@dataclass(frozen=True)
class Buying:
    """How a channel is paid for: ``cpc`` dollars per landing visit, and when."""

    channel: str  # a catalog.CHANNELS name
    cpc: float
    schedule: str  # daily, weekly (one sponsored issue a week) or launch (one day)


BUYING: tuple[Buying, ...] = (
    Buying("google_cpc", 3.10, "daily"),
    Buying("facebook_paid_social", 1.40, "daily"),
    Buying("newsletter_email", 2.60, "weekly"),
    Buying("producthunt_referral", 1.10, "launch"),
)


@dataclass(frozen=True)
class SpendRow:
    """One day's spend on one campaign, in cents."""

    day: date
    source: str
    medium: str
    campaign: str
    cents: int


class MarketingSpend:
    """Generator of daily spend per paid channel and campaign; needs the app database."""

    name = "marketing spend"
    app_database = True

    def generate(self, business: Business, people: Sequence[SimPerson]) -> Iterator[SpendRow]:
        # Spend belongs to the business, not to a person: it is told once, with the group
        # holding the first person, so it does not depend on how people are grouped.
        if any(person.index == 0 for person in people):
            yield from spend_rows(business)

    def deliver(self, target: DemoTarget, records: Sequence[SpendRow]) -> Delivered:
        with transaction(target.app_database()) as session:
            rows = import_spend(session, target.actor, target.project_id, spend_csv(records))
        return Delivered(spend_rows=rows)


def spend_rows(business: Business) -> list[SpendRow]:
    """Every day's spend per paid campaign over the business's period."""
    rng = np.random.default_rng([business.seed, STREAM])
    days = _days(business)
    trend = _trend(business, days)
    signups = _signups(business)
    channels = {channel.name: channel for channel in catalog.CHANNELS}
    rows: list[SpendRow] = []
    for buying in BUYING:
        channel = channels[buying.channel]
        weights = _schedule(buying.schedule, business, days, trend)
        noise = rng.lognormal(
            -(DAILY_NOISE**2) / 2, DAILY_NOISE, (len(channel.campaigns), len(days))
        )
        for index, campaign in enumerate(channel.campaigns):
            visits = signups[(channel.name, campaign)] / channel.conversion
            dollars = visits * buying.cpc * weights
            if buying.schedule != "launch":
                dollars = dollars * noise[index]
            else:  # a sponsorship is a round sum
                dollars = np.round(dollars / 50) * 50
            for day, amount in zip(days, dollars.tolist(), strict=True):
                cents = round(amount * 100)
                if cents > 0:
                    rows.append(SpendRow(day, channel.utm_source, channel.utm_medium, campaign,
                                         cents))  # fmt: skip
    return rows


def spend_csv(rows: Sequence[SpendRow]) -> str:
    """The rows in the spend import's CSV columns."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("date", "source", "medium", "campaign", "amount", "currency"))
    for row in rows:
        amount = Decimal(row.cents) / 100
        writer.writerow((row.day.isoformat(), row.source, row.medium, row.campaign,
                         f"{amount:.2f}", "usd"))  # fmt: skip
    return out.getvalue()


def _days(business: Business) -> list[date]:
    first, last = business.start.date(), (business.end - timedelta(microseconds=1)).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _trend(business: Business, days: list[date]) -> Floats:
    """Each day's share of the period's sign-ups on the growth curve (sums to 1)."""
    span = (business.end - business.start).total_seconds()
    offsets = np.array([(d - business.start.date()).days + 0.5 for d in days]) * 86_400
    weights = np.exp(GROWTH * np.clip(offsets / span, 0.0, 1.0))
    result: Floats = weights / weights.sum()
    return result


def _schedule(schedule: str, business: Business, days: list[date], trend: Floats) -> Floats:
    """Each day's share of a channel's spend."""
    if schedule == "launch":
        launch = (business.start + LAUNCH_AT * (business.end - business.start)).date()
        return np.array([1.0 if day == launch else 0.0 for day in days])
    if schedule == "weekly" and len(days) >= 7:
        issues = np.array([day.weekday() == TUESDAY for day in days])
        # Each issue is paid for the sign-ups of the week it opens.
        weekly = np.array([trend[n : n + 7].sum() for n in range(len(days))])
        shares: Floats = np.where(issues, weekly, 0.0)
        return shares / shares.sum() if shares.sum() else trend
    return trend


def _signups(business: Business) -> Counter[tuple[str, str]]:
    """Sign-ups inside the period per (channel, campaign)."""
    return Counter(
        (person.channel.name, person.campaign)
        for person in business.people
        if not person.existing and business.start <= person.signup_at < business.end
    )

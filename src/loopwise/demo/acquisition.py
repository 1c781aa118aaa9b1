"""How a person arrives: anonymous landing visits, sign-up, identify, onboarding.

The first visit carries the channel's UTM parameters and referrer, as a browser SDK would
record them; visitors from the same channel who never sign up leave anonymous visits too, so
landing → sign-up conversion differs by channel. At sign-up the browser's anonymous id is
merged into the user id with ``$identify`` (``$anon_distinct_id``), and ``$set`` carries the
person's profile, as PostHog's ``identify()`` sends it.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import numpy as np

from loopwise.demo import catalog
from loopwise.demo.catalog import Channel
from loopwise.demo.draws import DAY_US
from loopwise.demo.population import SimPerson, to_micros
from loopwise.demo.timeline import Props, Timeline
from loopwise.ingest.facade import uuid4_texts

SECOND_US = 1_000_000
FIRST_TOUCH_DAYS = 1.2  # mean time from first visit to sign-up
BOUNCED_SPREAD_DAYS = 4.0  # non-converting visitors arrive around the person's sign-up
_DEVICE_WEIGHTS = np.array([d[3] for d in catalog.DEVICES]) / sum(d[3] for d in catalog.DEVICES)


def device_properties(browser: str, os_name: str, device: str, country: str) -> Props:
    """What a browser SDK attaches to every event (country resolved from the IP)."""
    return {
        "$lib": "web",
        "$browser": browser,
        "$os": os_name,
        "$device_type": device,
        "$geoip_country_code": country,
    }


def first_touch(channel: Channel, campaign: str, referrer: str, path: str) -> Props:
    """The landing page view's URL, referrer and UTM properties for a channel."""
    utm: Props = {}
    if channel.utm_source:
        utm = {
            "utm_source": channel.utm_source,
            "utm_medium": channel.utm_medium,
            "utm_campaign": campaign,
        }
    url = catalog.SITE_URL + path + (f"?{urlencode(utm)}" if utm else "")
    props: Props = {"$current_url": url, "$pathname": path, **utm}
    if referrer:
        props["$referrer"] = referrer
        props["$referring_domain"] = urlsplit(referrer).netloc
    return props


def add_signup_journey(
    timeline: Timeline, rng: np.random.Generator, person: SimPerson, device: Props
) -> None:
    """Landing visits, the sign-up itself and the onboarding checklist."""
    signup = to_micros(person.signup_at)
    anon = person.anon_id
    touch = first_touch(person.channel, person.campaign, person.referrer, person.landing_path)
    first_at = signup - int(rng.exponential(FIRST_TOUCH_DAYS) * DAY_US) - 600 * SECOND_US
    sessions = timeline.new_sessions(3)
    timeline.add(first_at, "$pageview", anon, device | touch, sessions[0])
    if rng.random() < 0.5:
        _page(timeline, first_at + _seconds(rng, 40), anon, device, "/pricing", sessions[0])
    if rng.random() < 0.4:
        between = first_at + int(rng.random() * (signup - first_at - 600 * SECOND_US))
        _page(timeline, between, anon, device, "/", sessions[1])
    _page(timeline, signup - 240 * SECOND_US, anon, device, "/pricing", sessions[2])
    _page(timeline, signup - 90 * SECOND_US, anon, device, "/signup", sessions[2])
    app = device | {"$current_url": catalog.APP_URL + "/welcome", "$pathname": "/welcome"}
    plan = person.plans[0].plan
    timeline.add(
        signup, "$identify", person.distinct_id, app | {"$anon_distinct_id": anon}, sessions[2],
        set_=person_profile(person, plan), set_once=initial_touch(touch),
    )  # fmt: skip
    method = "google" if rng.random() < 0.35 else "email"
    signed_up = app | {"plan": plan, "signup_method": method}
    timeline.add(signup + SECOND_US, "signed_up", person.distinct_id, signed_up, sessions[2])
    _onboarding(timeline, rng, person, app, signup + 5 * SECOND_US, sessions[2])


def _onboarding(
    timeline: Timeline,
    rng: np.random.Generator,
    person: SimPerson,
    app: Props,
    at: int,
    session: int,
) -> None:
    steps = [s for s in catalog.ONBOARDING_STEPS if not (person.personal and s == "invite_team")]
    for number, (step, carry_on) in enumerate(
        zip(steps, catalog.ONBOARDING_CONTINUE, strict=False), start=1
    ):
        if rng.random() >= carry_on:
            return
        at += _seconds(rng, 50)
        props = app | {"step": step, "step_number": number}
        timeline.add(at, "onboarding_step_completed", person.distinct_id, props, session)
    timeline.add(at + SECOND_US, "onboarding_completed", person.distinct_id, app, session)


def add_bounced_visitors(timeline: Timeline, rng: np.random.Generator, person: SimPerson) -> None:
    """Visitors from the person's channel and campaign who looked around and left."""
    conversion = person.channel.conversion
    count = int(rng.poisson((1 - conversion) / conversion * 0.5))
    if not count:
        return
    signup = to_micros(person.signup_at)
    spread = (rng.uniform(-1, 1, count) * BOUNCED_SPREAD_DAYS * DAY_US).astype(np.int64)
    devices = rng.choice(len(catalog.DEVICES), count, p=_DEVICE_WEIGHTS)
    second_page = rng.random(count) < 0.3
    visitors = uuid4_texts(rng.bytes(16 * count))
    touch = first_touch(person.channel, person.campaign, person.referrer, person.landing_path)
    for i in range(count):
        browser, os_name, kind, _ = catalog.DEVICES[int(devices[i])]
        device = device_properties(browser, os_name, kind, person.country)
        visitor, session, at = visitors[i], timeline.new_session(), signup + int(spread[i])
        timeline.add(at, "$pageview", visitor, device | touch, session)
        if second_page[i]:
            _page(timeline, at + _seconds(rng, 30), visitor, device, "/pricing", session)


def person_profile(person: SimPerson, plan: str) -> Props:
    """The ``$set`` person properties the product sends on identify."""
    return {
        "email": person.email,
        "name": person.name,
        "plan": plan,
        "company": person.company,
        "company_size": person.company_size,
        "segment": person.segment,
        "country": person.country,
        "timezone": person.timezone,
        "signup_channel": person.channel.name,
        "signed_up_at": person.signup_at.isoformat(),
    }


def initial_touch(touch: Props) -> Props:
    """``$set_once`` first-touch attribution, as PostHog records it for a new person."""
    initial: Props = {
        "$initial_referrer": touch.get("$referrer", "$direct"),
        "$initial_pathname": touch["$pathname"],
    }
    for key in ("utm_source", "utm_medium", "utm_campaign"):
        if key in touch:
            initial[f"$initial_{key}"] = touch[key]
    return initial


def _page(
    timeline: Timeline, at: int, distinct_id: str, device: Props, path: str, session: int
) -> None:
    props = device | {"$current_url": catalog.SITE_URL + path, "$pathname": path}
    timeline.add(at, "$pageview", distinct_id, props, session)


def _seconds(rng: np.random.Generator, mean: float) -> int:
    return int((5 + rng.exponential(mean)) * SECOND_US)

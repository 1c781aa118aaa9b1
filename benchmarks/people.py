"""Time the user-360 area on the large demo business: health recompute, search, person page.

Usage:
    python benchmarks/people.py --data-dir /tmp/bench-people --load 100000
    python benchmarks/people.py --data-dir /tmp/bench-people      # again, on the same data

``--load USERS`` first loads the demo business over 180 days into an empty data directory
(≈13M events for 100,000 people, with their identities and Stripe history) the way
``loopwise demo --users 100000 --days 180`` does, but without its support tickets:
recording some forty thousand tickets one by one through the copilot (triage, context)
takes over an hour on this machine, and the tickets' share of the person page is one
indexed read. A data directory made by ``loopwise demo`` (tickets included) works too.
This script then measures, on that data directory (SQLite app database, DuckDB
warehouse), in order:

1. the health recompute of every person (``recompute_project``: identity, activity,
   billing and support signals gathered in bulk, scored, written), target < 60 s;
2. search (``GET /api/projects/{id}/people/search?q=``) for queries people type: the
   start of an e-mail, a first name, a last name, the start of a distinct id, a billing
   customer id, a ticket number and an e-mail with a typo; server time, target p95 < 100 ms;
3. the person page (``GET /projects/{id}/people/{person}``) and its JSON
   (``GET /api/projects/{id}/people/{person}``) for a sample of people (payers, people
   with tickets, anyone), each requested once to warm up, then measured; server time,
   target p95 < 300 ms for the page.

Server time comes from the app's request log, as in ``benchmarks/revenue.py``.
``--profile`` runs the person context of the slowest person under cProfile.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import random
import re
import statistics
import time
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from server_times import RequestTimes, percentile, request_times
from sqlalchemy import func, select

from loopwise.core import accounts
from loopwise.core.audit import Actor
from loopwise.core.db import transaction
from loopwise.core.errors import NotFound
from loopwise.core.roles import Role
from loopwise.core.settings import load_settings
from loopwise.ingest.facade import person_by_id
from loopwise.people import facade
from loopwise.people.models import PersonSummary
from loopwise.support.models import Ticket
from loopwise.web.app import create_app
from loopwise.web.context import AppContext, open_context

ACTOR = Actor("benchmark")
EMAIL, PASSWORD = "bench-people@example.com", "bench-people-password-1"
TARGETS_MS = {"search": 100.0, "page": 300.0}
TARGET_RECOMPUTE_S = 60.0


def verdict(value: float, target: float) -> str:
    return "met" if value < target else "**missed**"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument(
        "--load",
        type=int,
        default=0,
        metavar="USERS",
        help="first load the demo business of USERS people over 180 days",
    )
    parser.add_argument("--project", type=int, default=0, help="default: the Demo project")
    parser.add_argument("--queries", type=int, default=40, help="search queries per kind")
    parser.add_argument("--people", type=int, default=60, help="person pages to time")
    parser.add_argument("--skip-recompute", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    random.seed(args.seed)
    settings = load_settings(data_dir=args.data_dir)
    context = open_context(settings)
    try:
        if args.load:
            load(context, args.load)
        project_id = args.project or demo_project(context)
        describe(context, project_id)
        if not args.skip_recompute:
            recompute(context, project_id)
        run_web(args, context, project_id)
    finally:
        context.close()


def load(context: AppContext, users: int) -> None:
    """The demo business without support tickets, into a new Demo project."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from loopwise.demo.contracts import DemoTarget
    from loopwise.demo.facade import run_generators
    from loopwise.demo.generators import GENERATORS
    from loopwise.demo.population import Business
    from loopwise.demo.tickets import SupportTickets

    with transaction(context.sessions) as session:
        if any(p.name == "Demo" for p in accounts.list_projects(session)):
            raise SystemExit("this data directory has a Demo project already: use another")
        project = accounts.create_project(session, ACTOR, "Demo")
    started = time.perf_counter()
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    business = Business.build(users=users, days=180, seed=42, end=end)
    target = DemoTarget(context.warehouse, project.id, business.end, context.sessions, ACTOR)
    generators = [g for g in GENERATORS if not isinstance(g, SupportTickets)]
    with Progress(*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn()) as bar:  # fmt: skip
        task = bar.add_task("Simulating people", total=users)
        delivered = run_generators(
            business, target, generators, lambda done, _: bar.update(task, completed=done)
        )
    print(f"loaded {delivered.events:,} events and {delivered.billing_events:,} Stripe events "
          f"for {users:,} people in {time.perf_counter() - started:.0f} s")  # fmt: skip


def demo_project(context: AppContext) -> int:
    with context.sessions() as session:
        found = [p.id for p in accounts.list_projects(session) if p.name == "Demo"]
    if not found:
        raise SystemExit("no Demo project in this data directory: run `loopwise demo` first")
    return found[0]


def describe(context: AppContext, project_id: int) -> None:
    events = context.warehouse.query(
        "SELECT count(*) AS n FROM events WHERE project_id = {p}", {"p": project_id}
    ).table.to_pylist()[0]["n"]
    with context.sessions() as session:
        tickets = session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.project_id == project_id)
        )
    print(f"# People benchmark, {datetime.now(UTC):%Y-%m-%d}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, app database {context.engine.dialect.name}, "
          f"warehouse {context.warehouse.dialect}")  # fmt: skip
    print(f"data: {events:,} events, {tickets:,} tickets")


def recompute(context: AppContext, project_id: int) -> None:
    started = time.perf_counter()
    with transaction(context.sessions) as session:
        report = facade.recompute_project(
            session, context.warehouse, ACTOR, project_id, datetime.now(UTC)
        )
    seconds = time.perf_counter() - started
    bands = ", ".join(f"{band} {count:,}" for band, count in report.by_band.items())
    print("\n## 1. Health recompute of every person\n")
    target = TARGET_RECOMPUTE_S
    print(f"{report.persons:,} people in {seconds:.1f} s including the commit ({bands}); "
          f"target < {target:.0f} s: {verdict(seconds, target)}")  # fmt: skip


def sign_in(client: TestClient, context: AppContext) -> None:
    with transaction(context.sessions) as session:
        try:
            accounts.find_user(session, EMAIL)
            accounts.reset_password(session, ACTOR, EMAIL, PASSWORD)
        except NotFound:
            accounts.create_user(session, ACTOR, EMAIL, Role.ADMIN, PASSWORD, "Benchmark")
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, "the sign-in page has no CSRF token"
    signed = client.post(
        "/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )  # fmt: skip
    assert signed.status_code == 303, signed.text


def typo(text: str) -> str:
    """Two neighbouring letters swapped, as fast typing does."""
    if len(text) < 4:
        return text
    at = random.randrange(1, len(text) - 2)
    return text[:at] + text[at + 1] + text[at] + text[at + 2 :]


def search_queries(context: AppContext, project_id: int, per_kind: int) -> dict[str, list[str]]:
    with context.sessions() as session:
        rows = session.execute(
            select(PersonSummary.person_id, PersonSummary.email, PersonSummary.name,
                   PersonSummary.customer_ids)
            .where(PersonSummary.project_id == project_id, PersonSummary.email != "")
        ).all()  # fmt: skip
        sample = random.sample(rows, min(per_kind, len(rows)))
        numbers = session.scalars(
            select(Ticket.number).where(Ticket.project_id == project_id).limit(5000)
        ).all()
        distinct = []
        for row in sample[: per_kind // 2 or 1]:
            info = person_by_id(session, project_id, row.person_id)
            distinct.extend(info.distinct_ids[:1])
    payers = [r for r in rows if r.customer_ids]
    local = [r.email.split("@")[0] for r in sample]
    names = [r.name.split() for r in sample if r.name.strip()]
    return {
        "e-mail start": [part[: random.randint(3, 8)] for part in local],
        "first name": [words[0] for words in names],
        "last name": [words[-1] for words in names if len(words) > 1],
        "distinct id start": [d[: max(6, len(d) // 2)] for d in distinct],
        "customer id": [random.choice(r.customer_ids) for r in random.sample(
            payers, min(per_kind, len(payers)))],
        "ticket number": [f"#{n}" for n in random.sample(list(numbers),
                                                         min(per_kind, len(numbers)))],
        "e-mail with a typo": [typo(r.email) for r in sample],
    }  # fmt: skip


def page_people(context: AppContext, project_id: int, count: int) -> list[str]:
    with context.sessions() as session:
        base = select(PersonSummary.person_id).where(PersonSummary.project_id == project_id)
        payers = session.scalars(base.where(PersonSummary.mrr_minor > 0).limit(5000)).all()
        ticketed = session.scalars(base.where(PersonSummary.tickets_30d > 0).limit(5000)).all()
        anyone = session.scalars(base.limit(20000)).all()
    third = max(1, count // 3)
    chosen = (
        random.sample(list(payers), min(third, len(payers)))
        + random.sample(list(ticketed), min(third, len(ticketed)))
        + random.sample(list(anyone), min(count - 2 * third, len(anyone)))
    )
    return list(dict.fromkeys(chosen))


def run_web(args: argparse.Namespace, context: AppContext, project_id: int) -> None:
    app = create_app(context.settings, context)
    with request_times() as times, TestClient(app, base_url="http://127.0.0.1") as client:
        sign_in(client, context)
        search(client, times, context, project_id, args.queries)
        slowest = pages(client, times, context, project_id, args.people)
        if args.profile and slowest:  # while the app (and its warehouse) is open
            profile_context(context, project_id, slowest)


def search(
    client: TestClient, times: RequestTimes, context: AppContext, project_id: int, per_kind: int
) -> None:
    path = f"/api/projects/{project_id}/people/search"
    queries = search_queries(context, project_id, per_kind)
    client.get(path, params={"q": "a"})  # warm-up: the fuzzy index is built on first use
    print("\n## 2. Search, server time in milliseconds\n")
    print("| query | n | p50 | p95 | found something |")
    print("|---|---|---|---|---|")
    every: list[float] = []
    for kind, texts in queries.items():
        times.ms.clear()
        hits = 0
        for text in texts:
            answer = client.get(path, params={"q": text})
            assert answer.status_code == 200, answer.text[:300]
            hits += bool(answer.json().get("results"))
        server = times.ms.get(path, [])
        if not server:
            continue
        every.extend(server)
        print(f"| {kind} | {len(server)} | {statistics.median(server):.1f} | "
              f"{percentile(server, 0.95):.1f} | {hits} of {len(texts)} |")  # fmt: skip
    p95 = percentile(every, 0.95)
    print(f"| **all** | {len(every)} | {statistics.median(every):.1f} | {p95:.1f} | |")
    target = TARGETS_MS["search"]
    print(f"search target p95 < {target:.0f} ms: {verdict(p95, target)}")


def pages(
    client: TestClient, times: RequestTimes, context: AppContext, project_id: int, count: int
) -> str:
    people = page_people(context, project_id, count)
    print(f"\n## 3. Person page, {len(people)} people, warm, server time in milliseconds\n")
    print("| request | n | p50 | p95 | max |")
    print("|---|---|---|---|---|")
    slowest: tuple[float, str] = (0.0, "")
    page_p95 = 0.0
    for label, template in (
        ("page", "/projects/{p}/people/{person}"),
        ("JSON", "/api/projects/{p}/people/{person}"),
    ):
        server: list[float] = []
        for person in people:
            path = template.format(p=project_id, person=person)
            assert client.get(path).status_code == 200  # warm-up
            times.ms.clear()
            answer = client.get(path)
            assert answer.status_code == 200, answer.text[:300]
            taken = times.ms.get(path, [0.0])[-1]
            server.append(taken)
            if label == "page":
                slowest = max(slowest, (taken, person))
        p95 = percentile(server, 0.95)
        page_p95 = p95 if label == "page" else page_p95
        print(f"| {label} `GET {template.replace(str(project_id), '{id}')}` | {len(server)} | "
              f"{statistics.median(server):.0f} | {p95:.0f} | {max(server):.0f} |")  # fmt: skip
    target = TARGETS_MS["page"]
    print(f"page target p95 < {target:.0f} ms: {verdict(page_p95, target)}")
    return slowest[1]


def profile_context(context: AppContext, project_id: int, person_id: str) -> None:
    def build() -> Any:
        with context.sessions() as session:
            return facade.person_context(
                session, context.warehouse, project_id, person_id, datetime.now(UTC)
            )

    build()
    profiler = cProfile.Profile()
    profiler.enable()
    build()
    profiler.disable()
    out = StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    print(f"\n## Profile of the slowest person's context ({person_id})\n")
    print(out.getvalue())


if __name__ == "__main__":
    main()

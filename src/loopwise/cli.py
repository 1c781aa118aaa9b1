"""The ``loopwise`` command: serve, load demo data, migrate, manage people, projects, tokens.

Output meant for scripts (``--json``) is stable and documented in docs/cli.md. Errors print one
line to stderr and exit non-zero.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import typer
import uvicorn
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from loopwise import __version__
from loopwise.core import accounts, audit
from loopwise.core.audit import Actor
from loopwise.core.db import check_connection, make_engine, migrate, session_factory, transaction
from loopwise.core.errors import ConfigError, Forbidden, InvalidInput, LoopwiseError, NotFound
from loopwise.core.logging import configure_logging
from loopwise.core.roles import Permission, Role, allows
from loopwise.core.settings import Settings, load_settings, prepare_data_dir
from loopwise.web.context import AppContext, open_context

app = typer.Typer(help="Loopwise: operations intelligence for SaaS teams.", no_args_is_help=True)
users_app = typer.Typer(help="People who can sign in.", no_args_is_help=True)
projects_app = typer.Typer(help="Projects and their write keys.", no_args_is_help=True)
tokens_app = typer.Typer(help="Personal API tokens.", no_args_is_help=True)
jobs_app = typer.Typer(help="Scheduled jobs (nightly metrics, alert checks).", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(projects_app, name="projects")
app.add_typer(tokens_app, name="tokens")
app.add_typer(jobs_app, name="jobs")
revenue_app = typer.Typer(help="Billing data: imports from billing systems.", no_args_is_help=True)
app.add_typer(revenue_app, name="revenue")
people_app = typer.Typer(help="End users: health scores.", no_args_is_help=True)
app.add_typer(people_app, name="people")

CLI_ACTOR = Actor("cli")
console = Console()
err = Console(stderr=True)
T = TypeVar("T")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _guard(action: Callable[[], T]) -> T:
    try:
        return action()
    except ConfigError as exc:
        _fail(str(exc), 2)
    except LoopwiseError as exc:
        _fail(str(exc), 1)
    raise AssertionError("unreachable")


def _settings(**overrides: Any) -> Settings:
    return _guard(lambda: load_settings(**overrides))


@contextmanager
def _db() -> Iterator[Session]:
    """An app-database transaction for CLI work that does not need the warehouse."""
    settings = _settings()

    def open_engine() -> Engine:
        prepare_data_dir(settings)
        engine = make_engine(settings.effective_database_url)
        check_connection(engine)
        migrate(engine)
        return engine

    engine = _guard(open_engine)
    try:
        with transaction(session_factory(engine)) as session:
            yield session
    except LoopwiseError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str) + "\n")


@app.command()
def version() -> None:
    """Print the Loopwise version."""
    console.print(__version__)


@app.command("migrate")
def migrate_command() -> None:
    """Create or upgrade the app database and the warehouse tables."""
    context = _guard(lambda: open_context(_settings()))
    context.close()
    console.print("Databases are up to date.")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (LOOPWISE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (LOOPWISE_PORT).")] = None,
) -> None:
    """Run the web app, API and ingestion in one process (applies migrations first)."""
    from loopwise.web.app import create_app

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = _settings(**overrides)
    configure_logging(settings.log_level, settings.log_format)
    context = _guard(lambda: open_context(settings))
    application = create_app(settings, context)
    console.print(f"Loopwise {__version__} on [bold]{settings.effective_public_url}[/]")
    config = uvicorn.Config(
        application,
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=10,
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
    )
    _DrainingServer(config, context).run()


class _DrainingServer(uvicorn.Server):
    """Tells the app the moment a shutdown signal arrives, so live streams end at once and
    in-flight requests finish before the stores close."""

    def __init__(self, config: uvicorn.Config, context: AppContext) -> None:
        super().__init__(config)
        self.context = context

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.context.stopping.set()
        super().handle_exit(sig, frame)


@app.command()
def demo(
    users: Annotated[int, typer.Option(min=10, help="Simulated people.")] = 2000,
    days: Annotated[int, typer.Option(min=7, max=730, help="Days of history.")] = 90,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same data.")] = 42,
    admin_email: Annotated[
        str, typer.Option(help="Sign-in created for you.")
    ] = "admin@example.com",
) -> None:
    """Load a simulated SaaS business into the data directory, create an admin, then exit."""
    from loopwise.demo import load_demo

    address = _guard(lambda: accounts.normalise_email(admin_email))
    context = _guard(lambda: open_context(_settings()))
    try:
        project_id, password = _guard(lambda: _demo_accounts(context, address))
        summary = _with_progress(
            "Simulating people", users,
            lambda progress: load_demo(
                context.warehouse, project_id, users=users, days=days, seed=seed,
                progress=progress, sessions=context.sessions, actor=CLI_ACTOR,
            ),
        )  # fmt: skip
        with err.status("Computing daily revenue metrics and CAC"):
            _demo_metrics(context, project_id, days)
        with err.status("Training the support triage model"):
            _demo_triage(context, project_id)
        _with_progress(
            "Scoring people's health", summary.persons,
            lambda progress: _recompute_health(context, project_id, progress),
        )  # fmt: skip
    finally:
        context.close()
    console.print(
        f"Loaded {summary.events:,} events from {summary.persons:,} people, "
        f"{summary.billing_events:,} Stripe events, {summary.tickets:,} support tickets and "
        f"{summary.spend_rows:,} rows of marketing spend in {summary.elapsed_seconds:.1f} s."
    )
    console.print(f"Sign in at {context.settings.effective_public_url} as [bold]{address}[/]")
    console.print(f"Password: [bold]{password}[/]")


def _demo_accounts(context: AppContext, admin_email: str) -> tuple[int, str]:
    """The demo project (its events, persons, revenue and support data emptied if it
    exists, so reloading is repeatable) and an admin."""
    from loopwise.core.security import generate_password
    from loopwise.ingest.facade import erase_people
    from loopwise.people.facade import erase_people_area
    from loopwise.revenue.facade import erase_revenue
    from loopwise.support.facade import erase_support

    password = generate_password()
    with transaction(context.sessions) as session:
        project = next((p for p in accounts.list_projects(session) if p.name == "Demo"), None)
        reload = project is not None
        if project is None:
            project = accounts.create_project(session, CLI_ACTOR, "Demo")
        else:
            for what in ("events", "persons"):
                audit.record(session, CLI_ACTOR, "data.deleted", what, project_id=project.id,
                             reason="demo reload")  # fmt: skip
            erase_revenue(session, CLI_ACTOR, project.id, "demo reload")
            erase_support(session, CLI_ACTOR, project.id, "demo reload")
            erase_people_area(session, CLI_ACTOR, project.id, "demo reload")
            erase_people(session, project.id)
        try:
            accounts.find_user(session, admin_email)
            accounts.reset_password(session, CLI_ACTOR, admin_email, password)
        except NotFound:
            accounts.create_user(session, CLI_ACTOR, admin_email, Role.OWNER, password, "Admin")
    if reload:  # only once the accounts are safely committed
        for table in ("events", "person_overrides"):
            context.warehouse.delete(table, "project_id = {project_id}", {"project_id": project.id})
    return project.id, password


def _demo_metrics(context: AppContext, project_id: int, days: int) -> None:
    """The daily revenue metrics (spend, new customers, CAC) over the demo's days, as the
    nightly job would have written them."""
    from loopwise.revenue.facade import recompute_metrics

    with transaction(context.sessions) as session:
        project = accounts.get_project(session, project_id)
        today = datetime.now(ZoneInfo(project.timezone)).date()
        recompute_metrics(session, context.warehouse, project_id, project.timezone,
                          today - timedelta(days=days), today + timedelta(days=1))  # fmt: skip


def _demo_triage(context: AppContext, project_id: int) -> None:
    """The support triage model, trained once on the demo tickets' labels (as the
    retraining job would); a demo too small to have enough labels keeps the rules."""
    from loopwise.support.facade import train_model

    with transaction(context.sessions) as session:
        try:
            train_model(session, CLI_ACTOR, project_id, datetime.now(UTC))
        except InvalidInput:
            return


def _recompute_health(
    context: AppContext, project_id: int, progress: Callable[[int, int], None]
) -> Any:
    """Every person's summary and health score, as the daily job computes them."""
    from loopwise.people.facade import recompute_project

    with transaction(context.sessions) as session:
        return recompute_project(session, context.warehouse, CLI_ACTOR, project_id,
                                 datetime.now(UTC), progress=progress)  # fmt: skip


def _with_progress(label: str, total: int, work: Callable[[Callable[[int, int], None]], T]) -> T:
    columns = (
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, console=err, transient=False) as progress:
        task = progress.add_task(label, total=total)

        def report(done: int, all_: int) -> None:
            progress.update(task, completed=done, total=all_)

        return work(report)


# --- users ---------------------------------------------------------------------------------


@users_app.command("create")
def users_create(
    email: str,
    role: Annotated[str, typer.Option(help="owner, admin, analyst, support or viewer.")] = "viewer",
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a person who can sign in; prints a generated password unless one is piped in."""
    from loopwise.core.security import generate_password

    password = sys.stdin.readline().rstrip("\n") if password_stdin else generate_password()
    with _db() as session:
        user = accounts.create_user(
            session, CLI_ACTOR, email, accounts.parse_role(role), password, name
        )
    shown = None if password_stdin else password
    if as_json:
        _print_json(
            {"id": user.id, "email": user.email, "role": user.role.value, "password": shown}
        )
        return
    console.print(f"Created {user.email} ({user.role.value}).")
    if shown:
        console.print(f"Password: [bold]{shown}[/]")


@users_app.command("list")
def users_list(as_json: JsonOpt = False) -> None:
    """List everyone who can sign in."""
    with _db() as session:
        users = accounts.list_users(session)
    if as_json:
        _print_json(
            [
                {"id": u.id, "email": u.email, "role": u.role.value, "active": u.is_active}
                for u in users
            ]
        )
        return
    table = Table("id", "email", "name", "role", "last sign-in")
    for u in users:
        table.add_row(str(u.id), u.email, u.name, u.role.value, str(u.last_login_at or "—"))
    console.print(table)


@users_app.command("set-role")
def users_set_role(email: str, role: str) -> None:
    """Change someone's role."""
    with _db() as session:
        user = accounts.find_user(session, email)
        accounts.set_role(session, CLI_ACTOR, None, user.id, accounts.parse_role(role))
    console.print(f"{email} is now {role}.")


@users_app.command("deactivate")
def users_deactivate(email: str) -> None:
    """Refuse someone's sign-ins, end their sessions and revoke their tokens."""
    with _db() as session:
        user = accounts.find_user(session, email)
        accounts.set_active(session, CLI_ACTOR, None, user.id, active=False)
    console.print(f"{user.email} is deactivated.")


@users_app.command("activate")
def users_activate(email: str) -> None:
    """Let a deactivated person sign in again."""
    with _db() as session:
        user = accounts.find_user(session, email)
        accounts.set_active(session, CLI_ACTOR, None, user.id, active=True)
    console.print(f"{user.email} can sign in again.")


@users_app.command("reset-password")
def users_reset_password(
    email: str,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from standard input.")
    ] = False,
) -> None:
    """Set a new password (generated and printed unless piped in); ends their sessions."""
    from loopwise.core.security import generate_password

    password = sys.stdin.readline().rstrip("\n") if password_stdin else generate_password()
    with _db() as session:
        accounts.reset_password(session, CLI_ACTOR, email, password)
    console.print(f"New password set for {email.strip().lower()}.")
    if not password_stdin:
        console.print(f"Password: [bold]{password}[/]")


# --- projects ------------------------------------------------------------------------------


@projects_app.command("create")
def projects_create(
    name: str,
    timezone: Annotated[str, typer.Option(help="IANA time zone for days and weeks.")] = "UTC",
    as_json: JsonOpt = False,
) -> None:
    """Create a project and print its write key."""
    with _db() as session:
        project = accounts.create_project(session, CLI_ACTOR, name, timezone)
    if as_json:
        _print_json({"id": project.id, "name": project.name, "write_key": project.write_key})
        return
    console.print(f"Created project {project.id} '{project.name}'. Write key: {project.write_key}")


@projects_app.command("list")
def projects_list(as_json: JsonOpt = False) -> None:
    """List projects with their write keys."""
    with _db() as session:
        projects = accounts.list_projects(session)
    if as_json:
        _print_json([{"id": p.id, "name": p.name, "write_key": p.write_key} for p in projects])
        return
    table = Table("id", "name", "time zone", "write key")
    for p in projects:
        table.add_row(str(p.id), p.name, p.timezone, p.write_key)
    console.print(table)


# --- tokens --------------------------------------------------------------------------------


@tokens_app.command("create")
def tokens_create(
    email: str,
    name: Annotated[str, typer.Option(help="What will use the token.")] = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Create a personal API token for EMAIL; it is printed once and stored hashed."""
    with _db() as session:
        user = accounts.find_user(session, email)
        if not allows(user.role, Permission.CREATE_TOKEN):
            raise Forbidden(f"{email} is {user.role.value}; that role cannot hold API tokens")
        _, secret = accounts.create_token(session, CLI_ACTOR, user.id, name)
    if as_json:
        _print_json({"token": secret})
        return
    console.print(f"Token for {email} (shown once): [bold]{secret}[/]")


# --- jobs ----------------------------------------------------------------------------------


def _jobs_context() -> tuple[AppContext, Any]:
    from loopwise.core.jobs import JobContext

    context = _guard(lambda: open_context(_settings()))
    return context, JobContext(context.sessions, context.warehouse, context.settings)


def _outcomes_out(outcomes: list[Any], as_json: bool) -> None:
    if as_json:
        _print_json([{"job": o.name, "status": o.status, "summary": o.summary} for o in outcomes])
    else:
        table = Table("job", "status", "summary")
        for o in outcomes:
            table.add_row(o.name, o.status, o.summary)
        console.print(table)
    if any(o.status == "failed" for o in outcomes):
        raise typer.Exit(1)


@jobs_app.command("list")
def jobs_list(as_json: JsonOpt = False) -> None:
    """Every scheduled job, its schedule and its last run."""
    from loopwise.core.jobs import job_runs
    from loopwise.web.areas import all_jobs

    with _db() as session:
        runs = job_runs(session)
        rows: list[dict[str, Any]] = []
        for job in all_jobs():
            run = runs.get(job.name)
            rows.append({
                "job": job.name, "schedule": job.schedule, "description": job.description,
                "last_started_at": run.last_started_at if run else None,
                "last_status": run.last_status if run else "",
                "last_summary": run.last_summary if run else "",
            })  # fmt: skip
    if as_json:
        _print_json(rows)
        return
    table = Table("job", "schedule", "last start", "status", "summary")
    for r in rows:
        started = r["last_started_at"]
        table.add_row(r["job"], r["schedule"], f"{started:%Y-%m-%d %H:%M}" if started else "never",
                      r["last_status"], r["last_summary"])  # fmt: skip
    console.print(table)


@jobs_app.command("run-due")
def jobs_run_due(as_json: JsonOpt = False) -> None:
    """Run the jobs that are due (for cron with LOOPWISE_SCHEDULER=off); safe to overlap."""
    from loopwise.core.jobs import run_due
    from loopwise.web.areas import all_jobs

    context, jobs_context = _jobs_context()
    try:
        outcomes = run_due(jobs_context, all_jobs())
    finally:
        context.close()
    _outcomes_out(outcomes, as_json)


@jobs_app.command("run")
def jobs_run(name: str, as_json: JsonOpt = False) -> None:
    """Run one job now, due or not (never beside another run of it)."""
    from loopwise.core.jobs import run_now
    from loopwise.web.areas import all_jobs

    job = next((j for j in all_jobs() if j.name == name), None)
    if job is None:
        _fail(f"no job named {name!r}; `loopwise jobs list` shows them")
    assert job is not None
    context, jobs_context = _jobs_context()
    try:
        outcome = run_now(jobs_context, job)
    finally:
        context.close()
    _outcomes_out([outcome], as_json)


# --- revenue -------------------------------------------------------------------------------


@revenue_app.command("backfill-stripe")
def revenue_backfill_stripe(
    project: Annotated[int, typer.Argument(help="The project's id (loopwise projects list).")],
    api_key: Annotated[
        str, typer.Option(envvar="STRIPE_API_KEY", help="A secret or read-only restricted key.")
    ],
    restart: Annotated[bool, typer.Option(help="Start again from the first page.")] = False,
    api_base: Annotated[str | None, typer.Option(hidden=True)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import a project's Stripe history (customers, subscriptions, invoices, charges,
    refunds, credit notes, the last 30 days of events); run again to resume after a stop."""
    from loopwise.revenue.facade import BackfillError, backfill_stripe

    settings = _settings()

    def open_engine() -> Engine:
        prepare_data_dir(settings)
        engine = make_engine(settings.effective_database_url)
        check_connection(engine)
        migrate(engine)
        return engine

    engine = _guard(open_engine)
    try:
        with transaction(session_factory(engine)) as session:
            _guard(lambda: accounts.get_project(session, project))
        with Progress(TextColumn("[bold]{task.description}"), TextColumn("{task.fields[seen]:,}"),
                      TimeElapsedColumn(), console=err, disable=as_json) as bar:  # fmt: skip
            task = bar.add_task("Stripe", total=None, seen=0)
            found = backfill_stripe(
                session_factory(engine), project, api_key, api_base=api_base, restart=restart,
                on_page=lambda p: bar.update(task, description=f"Stripe {p.resource}",
                                             seen=p.seen),
            )  # fmt: skip
    except BackfillError as exc:
        _fail(f"{exc} (run the same command again to resume)")
        return
    finally:
        engine.dispose()
    if as_json:
        _print_json({p.resource: p.seen for p in found})
        return
    table = Table("resource", "objects")
    for p in found:
        table.add_row(p.resource, f"{p.seen:,}")
    console.print(table)


# --- people ----------------------------------------------------------------------------------


@people_app.command("recompute")
def people_recompute(
    project: Annotated[int, typer.Argument(help="The project's id (loopwise projects list).")],
    as_json: JsonOpt = False,
) -> None:
    """Refresh every person's summary and health score now (the daily job does it at 04:00)."""
    context = _guard(lambda: open_context(_settings()))
    try:
        with transaction(context.sessions) as session:
            _guard(lambda: accounts.get_project(session, project))
        if as_json:
            report = _guard(lambda: _recompute_health(context, project, lambda _d, _t: None))
        else:
            report = _with_progress(
                "Scoring people's health", 1,
                lambda progress: _guard(lambda: _recompute_health(context, project, progress)),
            )  # fmt: skip
    finally:
        context.close()
    if as_json:
        _print_json({"persons": report.persons, "seconds": round(report.seconds, 2),
                     "by_band": report.by_band})  # fmt: skip
        return
    bands = ", ".join(f"{band}: {count:,}" for band, count in report.by_band.items())
    console.print(f"Scored {report.persons:,} people in {report.seconds:.1f} s ({bands}).")


def main() -> None:
    app()

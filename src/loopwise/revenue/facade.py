"""The revenue surface the web layer and other areas use."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from loopwise.core import accounts, alerts, audit
from loopwise.core.alerts import AlertKind
from loopwise.core.audit import Actor
from loopwise.core.csvfile import ImportRefused, RowError
from loopwise.core.db import transaction, utcnow
from loopwise.core.errors import InvalidInput, NotFound
from loopwise.core.jobs import JobContext
from loopwise.core.sealed import Unsealable, seal, unseal
from loopwise.core.textkeys import after_prefix
from loopwise.revenue import forecast, fx, ledger, metrics
from loopwise.revenue.analysis import (
    Cohort,
    PlanFigures,
    TrialMonth,
    cohorts,
    plans,
    trial_conversion,
)
from loopwise.revenue.cac import (
    DIRECT,
    CacReport,
    Model,
    cac_report,
    firsts_of,
    import_spend,
    new_customers,
)
from loopwise.revenue.customers import CustomerList, CustomerQuery, customer_list
from loopwise.revenue.explain import Explained, explain
from loopwise.revenue.metrics import Summary
from loopwise.revenue.models import (
    Backfill,
    BillingObject,
    BillingObjectVersion,
    BillingSource,
    FxRate,
    LedgerCustomer,
    LedgerState,
    MarketingSpend,
    MetricsDaily,
    Movement,
    PaymentFailure,
    RevenueSettings,
    SourceEvent,
)
from loopwise.revenue.movements import MovementPage, MovementQuery, MovementRow, movement_page
from loopwise.revenue.movements import all_rows as movement_rows
from loopwise.revenue.mrr import Change, Conventions, Period, state_mrr
from loopwise.revenue.payments import PaymentHealth, PaymentQuery
from loopwise.revenue.payments import payment_health as payment_figures
from loopwise.revenue.person import PersonBilling, billing_of
from loopwise.revenue.person_events import (
    BillingEvent,
    BillingRequestInfo,
    PaymentMethod,
    billing_events,
    payment_method,
    record_request,
    requests_of,
)
from loopwise.revenue.signals import BillingSignals
from loopwise.revenue.signals import billing_signals as signals_of
from loopwise.revenue.sources import table_import
from loopwise.revenue.sources.csv_import import Imported, import_subscriptions
from loopwise.revenue.sources.stripe import (
    Applied,
    SignatureError,
    apply_event,
    relink_customers,
    verify,
)
from loopwise.revenue.sources.stripe_backfill import BackfillError, Progress, backfill, client_for
from loopwise.revenue.sources.stripe_states import subscription_states
from loopwise.revenue.subscriptions import unindexed
from loopwise.warehouse import Warehouse

__all__ = [
    "CAC_ANOMALY",
    "BackfillError",
    "BillingEvent",
    "BillingRequestInfo",
    "BillingSignals",
    "CustomerList",
    "CustomerQuery",
    "ImportRefused",
    "Imported",
    "MovementPage",
    "MovementQuery",
    "MovementRow",
    "PaymentHealth",
    "PaymentMethod",
    "PaymentQuery",
    "PersonBilling",
    "Progress",
    "RowError",
    "SignatureError",
    "apply_event",
    "backfill_stripe",
    "billing_requests_of",
    "billing_signals",
    "cac",
    "check_cac",
    "customer_ledger",
    "customers_of_person",
    "customers_page",
    "erase_revenue",
    "import_spend",
    "import_subscriptions",
    "metrics_summary",
    "movements_export",
    "movements_page",
    "mrr_report",
    "nightly_metrics",
    "payment_health",
    "payment_method_of",
    "person_billing",
    "person_billing_events",
    "receive_stripe",
    "recompute_metrics",
    "record_billing_request",
    "revenue_forecast",
    "revenue_rules",
    "set_revenue_rules",
    "set_stripe_secrets",
    "stripe_configured",
]  # fmt: skip

MAX_SECRETS = 3


def set_stripe_secrets(
    session: Session, actor: Actor, project_id: int, secrets: list[str], secret_key: str
) -> None:
    """The webhook signing secrets (``whsec_…``) Stripe deliveries must be signed with;
    up to three, so a secret can be rolled without losing deliveries."""
    clean = [s.strip() for s in secrets if s.strip()]
    if not 1 <= len(clean) <= MAX_SECRETS:
        raise InvalidInput("signing_secrets", f"give 1 to {MAX_SECRETS} signing secrets")
    if any(not s.startswith("whsec_") or len(s) > 200 for s in clean):
        raise InvalidInput("signing_secrets", "a Stripe signing secret starts with whsec_")
    row = session.get(BillingSource, (project_id, "stripe"))
    if row is None:
        row = BillingSource(project_id=project_id, kind="stripe")
        session.add(row)
    row.signing_secrets = [seal(secret_key, s) for s in clean]
    row.updated_at = utcnow()
    audit.record(session, actor, "billing_source.changed", "stripe", project_id=project_id,
                 secrets=len(clean))  # fmt: skip


def stripe_configured(session: Session, project_id: int) -> bool:
    row = session.get(BillingSource, (project_id, "stripe"))
    return row is not None and bool(row.signing_secrets)


def receive_stripe(
    session: Session,
    project_id: int,
    payload: bytes,
    signature: str | None,
    secret_key: str,
    now: datetime | None = None,
) -> Applied:
    """Check a webhook delivery's signature, then apply its event (at most once).

    Raises ``SignatureError`` for a delivery that is not Stripe's or is too old, and
    ``InvalidInput`` for a signed body that is not an event."""
    row = session.get(BillingSource, (project_id, "stripe"))
    try:
        secrets = [unseal(secret_key, s) for s in (row.signing_secrets if row else [])]
    except Unsealable:
        raise SignatureError(
            "the signing secret was saved under another instance secret key: set it again"
        ) from None
    verify(payload, signature, secrets, now or utcnow())
    try:
        event = json.loads(payload, parse_constant=_no_constant)
    except ValueError:
        raise InvalidInput("body", "is not JSON") from None
    if not isinstance(event, dict):
        raise InvalidInput("body", "is not a Stripe event object")
    try:
        return apply_event(session, project_id, event)
    except ValueError as exc:
        raise InvalidInput("body", str(exc)) from None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


@dataclass(frozen=True)
class RevenueRules:
    conventions: Conventions
    currency: str
    gross_margin: int = 100  # percent
    attribution: Model = "first_touch"
    lookback_days: int = 90


@dataclass(frozen=True)
class MrrReport:
    currency: str
    periods: list[Period]
    recent: list[Change]  # the latest movements, newest first


def revenue_rules(session: Session, project_id: int) -> RevenueRules:
    row = session.get(RevenueSettings, project_id)
    if row is None:
        return RevenueRules(Conventions(), "usd")
    conventions = Conventions(
        discounts="forever" if row.discounts == "forever" else "all",
        churn_at="request" if row.churn_at == "request" else "end",
        past_due_days=row.past_due_days,
    )
    model: Model = "last_touch" if row.attribution == "last_touch" else "first_touch"
    return RevenueRules(conventions, row.currency, row.gross_margin, model, row.lookback_days)


def set_revenue_rules(
    session: Session,
    actor: Actor,
    project_id: int,
    *,
    discounts: str,
    churn_at: str,
    past_due_days: int | None,
    currency: str,
    gross_margin: int = 100,
    attribution: str = "first_touch",
    lookback_days: int = 90,
) -> RevenueRules:
    """The project's revenue conventions (docs/metrics/revenue.md); audited."""
    if discounts not in ("all", "forever"):
        raise InvalidInput("discounts", "is all or forever")
    if churn_at not in ("end", "request"):
        raise InvalidInput("churn_at", "is end or request")
    if past_due_days is not None and not 1 <= past_due_days <= 365:
        raise InvalidInput("past_due_days", "is 1 to 365 days, or empty to keep MRR")
    if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
        raise InvalidInput("currency", "is a three-letter ISO code such as usd")
    if not 1 <= gross_margin <= 100:
        raise InvalidInput("gross_margin", "is a percentage from 1 to 100")
    if attribution not in ("first_touch", "last_touch"):
        raise InvalidInput("attribution", "is first_touch or last_touch")
    if not 1 <= lookback_days <= 365:
        raise InvalidInput("lookback_days", "is 1 to 365 days")
    row = session.get(RevenueSettings, project_id)
    if row is None:
        row = RevenueSettings(project_id=project_id)
        session.add(row)
    row.discounts, row.churn_at = discounts, churn_at
    row.past_due_days, row.currency = past_due_days, currency.lower()
    row.gross_margin, row.attribution, row.lookback_days = gross_margin, attribution, lookback_days
    audit.record(session, actor, "revenue.settings_changed", project_id=project_id,
                 discounts=discounts, churn_at=churn_at, past_due_days=past_due_days,
                 currency=currency.lower(), gross_margin=gross_margin,
                 attribution=attribution, lookback_days=lookback_days)  # fmt: skip
    return revenue_rules(session, project_id)


def mrr_report(
    session: Session, project_id: int, timezone: str, *, months: int = 12,
    now: datetime | None = None,
) -> MrrReport:  # fmt: skip
    """MRR and its movements per calendar month for the last ``months`` months."""
    if not 1 <= months <= 60:
        raise InvalidInput("months", "is 1 to 60")
    rules = revenue_rules(session, project_id)
    moment = now or utcnow()
    today = moment.astimezone(ZoneInfo(timezone)).date()
    starts = _month_starts(today, months)
    _ready(session, project_id, rules, timezone, moment)
    found = ledger.periods(session, project_id, starts, today + timedelta(days=1))
    return MrrReport(rules.currency, found, ledger.latest(session, project_id))


def customers_of_person(session: Session, project_id: int, person_id: str) -> list[str]:
    """The billing customers linked to a person, through the person index (the kind is
    compared unindexed so SQLite does not prefer the primary key for the ordering)."""
    rows = session.scalars(
        select(BillingObject.external_id)
        .where(BillingObject.project_id == project_id)
        .where(unindexed(BillingObject.kind) == "customer")
        .where(BillingObject.person_id == person_id)
        .order_by(BillingObject.external_id)
    )
    return list(rows)


def cac(
    session: Session,
    warehouse: Warehouse,
    project_id: int,
    timezone: str,
    start: date,
    end: date,
    *,
    model: Model = "first_touch",
    now: datetime | None = None,
) -> CacReport:
    """Spend, attributed new customers and CAC per source for days in [start, end)."""
    if not start < end or (end - start).days > 366:
        raise InvalidInput("end", "comes after start, at most a year later")
    if not (start.year >= 1970 and end.year <= 2100):
        raise InvalidInput("start", "is a date between 1970 and 2100")
    rules = revenue_rules(session, project_id)
    _ready(session, project_id, rules, timezone, now or utcnow())
    firsts = ledger.first_new(session, project_id, start, end)
    return cac_report(session, warehouse, project_id, firsts, start, end,
                      currency=rules.currency, zone=timezone, model=model,
                      lookback_days=rules.lookback_days)  # fmt: skip


def _ready(session: Session, project_id: int, rules: RevenueRules, timezone: str,
           now: datetime, *, full: bool = False) -> ledger.Refreshed:  # fmt: skip
    """The stored ledger, brought up to date for whatever changed since it was read."""
    return ledger.ensure(session, project_id, rules.conventions, rules.currency, timezone,
                         now, full=full)  # fmt: skip


def recompute_metrics(
    session: Session,
    warehouse: Warehouse,
    project_id: int,
    timezone: str,
    start: date,
    end: date,
    *,
    now: datetime | None = None,
    full: bool = False,
) -> int:
    """Rewrite the daily metrics of [start, end) (idempotent); returns the rows written.
    ``full`` recomputes every customer's ledger first, not only what changed."""
    if not start < end or (end - start).days > 3 * 366 + 1:
        raise InvalidInput("end", "comes after start, at most three years later")
    if not (start.year >= 1970 and end.year <= 2100):
        raise InvalidInput("start", "is a date between 1970 and 2100")
    rules = revenue_rules(session, project_id)
    moment = now or utcnow()
    _ready(session, project_id, rules, timezone, moment, full=full)
    totals = ledger.daily(session, project_id, start - timedelta(days=metrics.HISTORY_DAYS), end)
    firsts = ledger.first_new(session, project_id, start, end)
    return metrics.recompute(
        session, warehouse, project_id, totals, firsts, start, end, currency=rules.currency,
        zone=timezone, margin=rules.gross_margin, model=rules.attribution,
        lookback_days=rules.lookback_days, now=moment,
    )  # fmt: skip


def metrics_summary(session: Session, project_id: int, start: date, end: date) -> Summary:
    """CAC, payback and LTV:CAC per channel over [start, end) from the nightly metrics."""
    if not start < end:
        raise InvalidInput("end", "comes after start")
    rules = revenue_rules(session, project_id)
    return metrics.summary(session, project_id, start, end, margin=rules.gross_margin)


# The nightly run recomputes the last few days, so late webhooks and spend imported a day
# late are counted; an older range is recomputed on request (POST …/revenue/metrics).
NIGHTLY_DAYS = 3


def revenue_projects(session: Session) -> list[int]:
    """Projects with any revenue data: billing objects, marketing spend or settings."""
    found: set[int] = set()
    for table in (BillingObject, MarketingSpend, RevenueSettings):
        found.update(session.scalars(select(table.project_id).distinct()))
    return sorted(found)


def nightly_metrics(context: JobContext, now: datetime) -> str:
    """The ``revenue.metrics`` job: each revenue project's last days, recomputed, then its
    CAC checked for anomalies. Each project in its own transaction."""
    with context.sessions() as session:
        wanted = set(revenue_projects(session))
        projects = [p for p in accounts.list_projects(session) if p.id in wanted]
    done = []
    for project in projects:
        today = now.astimezone(ZoneInfo(project.timezone)).date()
        with transaction(context.sessions) as session:
            rows = recompute_metrics(session, context.warehouse, project.id, project.timezone,
                                     today - timedelta(days=NIGHTLY_DAYS - 1),
                                     today + timedelta(days=1), now=now)  # fmt: skip
            fired = check_cac(session, project.id, today - timedelta(days=1), now)
            linked = relink_customers(session, project.id)
        done.append(f"project {project.id}: {rows} rows" + (", CAC alert" if fired else "")
                    + (f", {linked} customers linked" if linked else ""))  # fmt: skip
    return "; ".join(done) or "no project has revenue data"


CAC_ANOMALY = AlertKind(
    "revenue.cac_anomaly", "CAC anomaly",
    "The 7-day blended CAC is far from its level over the previous 8 weeks "
    "(modified z-score above 3.5, checked nightly for the last complete day).",
    severity="warning", cooldown=timedelta(days=3),
)  # fmt: skip


def check_cac(session: Session, project_id: int, day: date, now: datetime) -> bool:
    """Raise the CAC anomaly alert when the 7-day blended CAC ending ``day`` is an outlier;
    True when an alert fired."""
    found = metrics.cac_anomaly(session, project_id, day)
    if found is None:
        return False
    currency = revenue_rules(session, project_id).currency.upper()
    direction = "up" if found.cac > found.median else "down"
    title = f"Blended CAC is {direction} {abs(found.change):.0%} on its usual level"
    why = (
        f"The 7-day blended CAC to {day.isoformat()} is {currency} {found.cac / 100:,.2f}, "
        f"against a median of {currency} {found.median / 100:,.2f} over the previous 8 weeks "
        f"(modified z-score {found.z:.1f}; the alert fires beyond ±3.5)."
    )
    evidence = {"day": day.isoformat(), "cac": float(found.cac), "median": float(found.median),
                "mad": float(found.mad), "z": float(found.z), "currency": currency}  # fmt: skip
    return alerts.fire(session, project_id, CAC_ANOMALY, title=title, why=why,
                       evidence=evidence, now=now) is not None  # fmt: skip


def backfill_stripe(
    sessions: sessionmaker[Session],
    project_id: int,
    api_key: str,
    *,
    api_base: str | None = None,
    restart: bool = False,
    on_page: Callable[[Progress], None] | None = None,
) -> list[Progress]:
    """Import the project's Stripe history through the API (resumable: run it again after
    a stop); raises ``BackfillError`` saying why Stripe stopped it."""
    client = client_for(api_key.strip(), api_base)
    return backfill(sessions, project_id, client, restart=restart, on_page=on_page)


@dataclass(frozen=True)
class RevenueAnalysis:
    currency: str
    months: list[date]
    by: str  # "", "plan" or "channel"
    cohorts: list[Cohort]
    trials: list[TrialMonth]
    plans: list[PlanFigures]
    gross_margin: int


def revenue_analysis(
    session: Session,
    warehouse: Warehouse,
    project_id: int,
    timezone: str,
    *,
    months: int = 12,
    by: str = "",
    now: datetime | None = None,
) -> RevenueAnalysis:
    """Cohort retention by first paid month (optionally per plan or acquisition channel),
    trial-to-paid conversion per month, and unit economics per plan over the last
    ``months`` calendar months."""
    if not 1 <= months <= 60:
        raise InvalidInput("months", "is 1 to 60")
    if by not in ("", "plan", "channel"):
        raise InvalidInput("by", "is plan, channel or empty")
    rules = revenue_rules(session, project_id)
    moment = now or utcnow()
    today = moment.astimezone(ZoneInfo(timezone)).date()
    starts = _month_starts(today, months)
    end = today + timedelta(days=1)
    _ready(session, project_id, rules, timezone, moment)
    book = ledger.stored(session, project_id)
    states = subscription_states(session, project_id, rules.currency)
    segment_of: Callable[[str], str] | None = None
    if by == "plan":
        first_plan: dict[str, str] = {}
        for state in sorted(states, key=lambda s: s.since):
            paid = state_mrr(state, state.since, rules.conventions) > 0
            if paid and state.customer_id not in first_plan:
                first_plan[state.customer_id] = state.plan or "(no plan)"
        segment_of = lambda customer: first_plan.get(customer, "(no plan)")  # noqa: E731
    elif by == "channel":
        won = new_customers(session, warehouse, project_id, firsts_of(book), starts[0], end,
                            zone=timezone, model=rules.attribution,
                            lookback_days=rules.lookback_days)  # fmt: skip
        channel = {c.customer_id: c.source for c in won}
        segment_of = lambda customer: channel.get(customer, DIRECT)  # noqa: E731
    return RevenueAnalysis(
        currency=rules.currency, months=starts, by=by,
        cohorts=cohorts(book, starts, end, segment_of),
        trials=trial_conversion(states, rules.conventions, timezone, starts),
        plans=plans(states, rules.conventions, timezone, starts[0], end),
        gross_margin=rules.gross_margin,
    )  # fmt: skip


def _month_starts(today: date, months: int) -> list[date]:
    first = today.replace(day=1)
    starts = []
    for back in range(months - 1, -1, -1):
        index = first.year * 12 + first.month - 1 - back
        starts.append(date(index // 12, index % 12 + 1, 1))
    return starts


@dataclass(frozen=True)
class CustomerLedger:
    customer_id: str
    person_id: str
    currency: str
    mrr: Decimal
    movements: list[Explained]  # oldest first


def customer_ledger(
    session: Session, project_id: int, timezone: str, customer_id: str,
    now: datetime | None = None,
) -> CustomerLedger:  # fmt: skip
    """One customer's MRR movements, each with the subscription states, rule and invoice
    lines behind it; ``NotFound`` for a customer the project has never seen."""
    rules = revenue_rules(session, project_id)
    _ready(session, project_id, rules, timezone, now or utcnow())
    changes = ledger.of_customers(session, project_id, [customer_id])
    row = session.get(BillingObject, (project_id, "customer", customer_id))
    if not changes and row is None:
        raise NotFound(f"customer {customer_id}")
    states = subscription_states(session, project_id, rules.currency, [customer_id])
    found = explain(session, project_id, changes, states, rules.conventions, timezone)
    mrr = changes[-1].after if changes else Decimal(0)
    return CustomerLedger(customer_id, row.person_id if row else "", rules.currency, mrr, found)


def import_fx_rates(session: Session, actor: Actor, project_id: int, text: str) -> int:
    """Exchange rates into the reporting currency (``date,currency,rate``); all or none."""
    return fx.import_rates(
        session, actor, project_id, text, revenue_rules(session, project_id).currency
    )


def import_table(
    session: Session, actor: Actor, project_id: int, kind: str, text: str, *,
    as_json: bool = False, timezone: str = "UTC",
) -> int:  # fmt: skip
    """Customers, invoices or payments from another billing system, as CSV or a JSON
    array (columns in docs/revenue.md): all rows or none, re-imports update."""
    return table_import.import_rows(session, actor, project_id, kind, text, as_json=as_json,
                                    zone=timezone)  # fmt: skip


@dataclass(frozen=True)
class RevenueForecast:
    currency: str
    history: list[Period]  # complete months, oldest first (the last 12 shown)
    current_mrr: Decimal  # today, within the first projected month
    months: list[date]  # the projected months' starts; the first is the current month
    measured: forecast.Assumptions | None  # from the last three complete months
    assumptions: forecast.Assumptions | None  # measured, with the user's overrides
    spread: Decimal
    scenarios: list[forecast.Scenario]
    backtest: forecast.Backtest


def revenue_forecast(
    session: Session, project_id: int, timezone: str, *,
    overrides: dict[str, Decimal | None] | None = None, spread: Decimal | None = None,
    now: datetime | None = None,
) -> RevenueForecast:  # fmt: skip
    """MRR for the next 12 months in three scenarios from the trailing three complete
    months' movement rates (``overrides`` replace measured rates: ``new``,
    ``reactivation`` in minor units per month; ``expansion``, ``contraction``, ``churn``
    as monthly fractions), and the base model's 3-month backtest over up to 36 months."""
    spread = forecast.DEFAULT_SPREAD if spread is None else spread
    if not Decimal(0) <= spread <= Decimal(1):
        raise InvalidInput("spread", "is a share from 0 to 1")
    for name, value in (overrides or {}).items():
        if name not in ("new", "reactivation", "expansion", "contraction", "churn"):
            raise InvalidInput(name, "is not a forecast assumption")
        if value is not None and value < 0:
            raise InvalidInput(name, "cannot be negative")
    rules = revenue_rules(session, project_id)
    moment = now or utcnow()
    today = moment.astimezone(ZoneInfo(timezone)).date()
    starts = _month_starts(today, forecast.BACKTEST_MONTHS + 1)
    _ready(session, project_id, rules, timezone, moment)
    found = ledger.periods(session, project_id, starts, today + timedelta(days=1))
    history, current = found[:-1], found[-1]
    while history and not history[0].mrr and not history[0].net:
        history = history[1:]  # months before the first subscription say nothing
    base = forecast.measured(history)
    chosen = forecast.with_overrides(base, **(overrides or {})) if base else None
    anchor = history[-1].mrr if history else Decimal(0)
    months = _month_starts(_months_after(today, forecast.HORIZON_MONTHS - 1),
                           forecast.HORIZON_MONTHS)  # fmt: skip
    return RevenueForecast(
        currency=rules.currency, history=history, current_mrr=current.mrr, months=months,
        measured=base, assumptions=chosen, spread=spread,
        scenarios=forecast.scenarios(anchor, chosen, spread) if chosen else [],
        backtest=forecast.backtest(history),
    )  # fmt: skip


def _months_after(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


# --- the revenue pages: movements ledger, customers, payment health ------------------------


def movements_page(
    session: Session, project_id: int, timezone: str, query: MovementQuery,
    now: datetime | None = None,
) -> MovementPage:  # fmt: skip
    """The stored movements matching ``query``, totalled per kind, one page newest first
    (amounts in minor units of the reporting currency)."""
    rules = revenue_rules(session, project_id)
    _ready(session, project_id, rules, timezone, now or utcnow())
    return movement_page(session, project_id, query, currency=rules.currency, zone=timezone)


def movements_export(
    session: Session, project_id: int, timezone: str, query: MovementQuery,
    now: datetime | None = None,
) -> tuple[str, list[MovementRow]]:  # fmt: skip
    """Every movement matching ``query`` (its page ignored), newest first, with the
    reporting currency; ``InvalidInput`` beyond 200,000 rows."""
    rules = revenue_rules(session, project_id)
    _ready(session, project_id, rules, timezone, now or utcnow())
    rows = movement_rows(session, project_id, query, currency=rules.currency, zone=timezone)
    return rules.currency, rows


def customers_page(
    session: Session, project_id: int, timezone: str, query: CustomerQuery,
    now: datetime | None = None,
) -> CustomerList:  # fmt: skip
    """Every billing customer's MRR now, status, plans, first paid day, last movement,
    person and open payment failures: searched, filtered, sorted, one page."""
    rules = revenue_rules(session, project_id)
    moment = now or utcnow()
    _ready(session, project_id, rules, timezone, moment)
    return customer_list(session, project_id, query, currency=rules.currency, now=moment)


def payment_health(
    session: Session, project_id: int, timezone: str, query: PaymentQuery,
    now: datetime | None = None,
) -> PaymentHealth:  # fmt: skip
    """Failed payments by decline code and week, recovery of failed invoices, MRR at risk
    and the customers behind it (definitions in docs/metrics/revenue.md)."""
    rules = revenue_rules(session, project_id)
    moment = now or utcnow()
    _ready(session, project_id, rules, timezone, moment)
    return payment_figures(session, project_id, query, currency=rules.currency,
                           zone=timezone, now=moment)  # fmt: skip


BILLING_TABLES = (SourceEvent, PaymentFailure, BillingObjectVersion, BillingObject,
                  MarketingSpend, MetricsDaily, Backfill, Movement, LedgerCustomer,
                  LedgerState, FxRate)  # fmt: skip


def erase_revenue(session: Session, actor: Actor, project_id: int, reason: str) -> int:
    """Delete every billing object, event, payment failure, spend row, exchange rate and
    computed figure of the project (its conventions and Stripe secrets stay); audited.
    Returns the rows deleted."""
    deleted = 0
    for table in BILLING_TABLES:
        result = session.execute(delete(table).where(table.project_id == project_id))
        deleted += int(getattr(result, "rowcount", 0) or 0)
    audit.record(session, actor, "revenue.erased", project_id=project_id, reason=reason[:200],
                 rows=deleted)  # fmt: skip
    return deleted


# --- one person ---------------------------------------------------------------------------


def person_billing(
    session: Session, project_id: int, person_id: str, now: datetime | None = None
) -> PersonBilling | None:
    """The billing summary of one person over the customers linked to them (status, plans,
    MRR, next billing date, payment failures, paid to date); None when no billing
    customer is linked to them. Definitions in docs/revenue.md."""
    customers = customers_of_person(session, project_id, person_id)
    if not customers:
        return None
    rules = revenue_rules(session, project_id)
    moment = now or utcnow()
    timezone = accounts.get_project(session, project_id).timezone
    _ready(session, project_id, rules, timezone, moment)
    return billing_of(session, project_id, customers, currency=rules.currency, now=moment)


def billing_signals(
    session: Session,
    project_id: int,
    now: datetime,
    person_ids: Sequence[str] | None = None,
    *,
    merged: Mapping[str, str] | None = None,
) -> dict[str, BillingSignals]:
    """The billing of every person linked to a billing customer (or of ``person_ids``) at
    ``now``: status, plan and MRR as on the Customers page, the day they churned, payment
    failures and subscription changes in 30 days; a few statements for the whole project.
    ``merged`` maps merged-away person ids to their survivor, whose links they count for."""
    rules = revenue_rules(session, project_id)
    timezone = accounts.get_project(session, project_id).timezone
    _ready(session, project_id, rules, timezone, now)
    return signals_of(session, project_id, now, person_ids, timezone=timezone, merged=merged)


# --- one person's billing history, payment method and requests (the person page) --------


def person_billing_events(
    session: Session, project_id: int, person_id: str, start: datetime, end: datetime,
    now: datetime | None = None,
) -> list[BillingEvent]:  # fmt: skip
    """Payments, failed payments and MRR movements of the person's billing customers in
    [start, end), newest first (docs/revenue.md); empty without a billing customer."""
    customers = customers_of_person(session, project_id, person_id)
    if not customers:
        return []
    rules = revenue_rules(session, project_id)
    timezone = accounts.get_project(session, project_id).timezone
    _ready(session, project_id, rules, timezone, now or utcnow())
    return billing_events(session, project_id, customers, start, end, zone=timezone)


def payment_method_of(
    session: Session, project_id: int, customer_ids: Sequence[str]
) -> PaymentMethod | None:
    """The card brand and last four digits on file for these customers, when the stored
    billing objects carry them."""
    return payment_method(session, project_id, customer_ids)


def record_billing_request(
    session: Session, actor: Actor, project_id: int, person_id: str, *, kind: str,
    months: int, plan: str, amount_minor: int, reason: str, requested_by: str,
    now: datetime | None = None,
) -> int:  # fmt: skip
    """Record a complimentary subscription (``months`` of ``plan``) or a credit
    (``amount_minor`` in the project's reporting currency) asked for a person, against
    their first billing customer if any; audited. Nothing is sent to the billing system."""
    customers = customers_of_person(session, project_id, person_id)
    return record_request(
        session, actor, project_id, person_id, customer_id=customers[0] if customers else "",
        kind=kind, months=months, plan=plan, amount_minor=amount_minor,
        currency=revenue_rules(session, project_id).currency, reason=reason,
        requested_by=requested_by, now=now or utcnow(),
    )  # fmt: skip


def billing_requests_of(
    session: Session, project_id: int, person_id: str
) -> list[BillingRequestInfo]:
    """A person's recorded billing requests, newest first."""
    return requests_of(session, project_id, person_id)


def customers_with_prefix(
    session: Session, project_id: int, prefix: str, *, limit: int = 10
) -> list[tuple[str, str]]:
    """Billing customers whose id starts with ``prefix`` (case-sensitive) and who are
    linked to a person: (customer id, person id), first ``limit`` in id order, for search
    boxes. A range scan of the primary key (``id >= prefix AND id < next``)."""
    if not prefix:
        return []
    query = (
        select(BillingObject.external_id, BillingObject.person_id)
        .where(BillingObject.project_id == project_id)
        .where(BillingObject.kind == "customer")
        .where(BillingObject.external_id >= prefix)
        .where(BillingObject.person_id != "")
        .where(BillingObject.deleted.is_(False))
    )
    upper = after_prefix(prefix)
    if upper is not None:
        query = query.where(BillingObject.external_id < upper)
    rows = session.execute(query.order_by(BillingObject.external_id).limit(limit)).all()
    # The database's collation orders the range; the prefix itself is checked here.
    return [(str(c), str(p)) for c, p in rows if str(c).startswith(prefix)]

"""The revenue pages' results as JSON, CSV and ECharts options: one shape per result,
shared by the page, its API and its export. Amounts on the API are whole minor units of
the reporting currency (cents), rounded half up; the CSV has currency units."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote

from loopwise.core.currency import exponent, minor_unit
from loopwise.revenue.facade import CustomerList, MovementPage, MovementRow, PaymentHealth
from loopwise.revenue.metrics import ChannelFigures, Summary

COLOURS = {"new": "#10b981", "expansion": "#4f46e5", "reactivation": "#0ea5e9",
           "contraction": "#f59e0b", "churn": "#ef4444", "fx": "#9ca3af"}  # fmt: skip
GRID = {"left": 56, "right": 56, "top": 40, "bottom": 30, "containLabel": True}
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cents(value: Decimal | int | None) -> int | None:
    if value is None:
        return None
    return int(Decimal(value).quantize(Decimal(1), ROUND_HALF_UP))


def ratio(value: Decimal | None) -> float | None:
    return None if value is None else round(float(value), 6)


def _day(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- movements ---------------------------------------------------------------------------


def movement_json(row: MovementRow) -> dict[str, Any]:
    return {"id": row.id, "day": row.day.isoformat(), "customer": row.customer_id,
            "kind": row.kind, "amount": cents(row.amount), "fx": cents(row.fx),
            "mrr_before": cents(row.before), "mrr_after": cents(row.after),
            "subscriptions": list(row.subscriptions), "plans": list(row.plans)}  # fmt: skip


def movements_json(page: MovementPage) -> dict[str, Any]:
    q = page.query
    minimum = float(q.min_amount) if q.min_amount else None
    return {
        "currency": page.currency, "from": q.start.isoformat(), "to": q.end.isoformat(),
        "filters": {"kind": q.kind or None, "customer": q.customer or None,
                    "plan": q.plan or None, "min_amount": minimum},
        "total": page.total, "limit": q.limit, "offset": q.offset,
        "totals": {t.kind: {"count": t.count, "amount": cents(t.amount)} for t in page.totals},
        "net": cents(page.net),
        "movements": [movement_json(r) for r in page.rows],
    }  # fmt: skip


def _safe(text: str) -> str:
    return "'" + text if text.startswith(FORMULA) else text


def movements_csv(currency: str, rows: list[MovementRow]) -> str:
    """Every row, in currency units (``49.00``: a spreadsheet's habit, not cents)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["day", "customer_id", "kind", "amount", "fx_effect", "mrr_before",
                     "mrr_after", "currency", "subscriptions"])  # fmt: skip
    for r in rows:
        amounts = [units(v, currency) for v in (r.amount, r.fx, r.before, r.after)]
        writer.writerow([r.day.isoformat(), _safe(r.customer_id), r.kind, *amounts,
                         currency.upper(), _safe(" ".join(r.subscriptions))])  # fmt: skip
    return out.getvalue()


def units(value: Decimal, currency: str) -> str:
    """Minor units as currency units, to the currency's decimals (``4900`` usd: ``49.00``)."""
    places = exponent(currency)
    return f"{value.scaleb(-places).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)}"


def movements_chart(page: MovementPage) -> str:
    labels = [b.start.isoformat() for b in page.buckets]
    unit = minor_unit(page.currency)
    series = [
        {"name": kind, "type": "bar", "stack": "moves", "itemStyle": {"color": COLOURS[kind]},
         "data": [round(float(b.amounts.get(kind, 0)) / unit, 2) for b in page.buckets]}
        for kind in COLOURS
    ]  # fmt: skip
    return json.dumps({"tooltip": {"trigger": "axis"}, "legend": {"top": 0}, "grid": GRID,
                       "xAxis": {"type": "category", "data": labels},
                       "yAxis": {"type": "value"}, "series": series})  # fmt: skip


# --- customers ---------------------------------------------------------------------------


def customers_json(found: CustomerList, project_id: int) -> dict[str, Any]:
    q = found.query
    return {
        "currency": found.currency, "total": found.total, "limit": q.limit, "offset": q.offset,
        "filters": {"q": q.search or None, "status": q.status or None, "sort": q.sort},
        "counts": found.counts,
        "customers": [
            {"customer": c.customer_id, "name": c.name or None, "email": c.email or None,
             "status": c.status, "mrr": cents(c.mrr), "plans": list(c.plans),
             "first_paid": _day(c.first_paid),
             "last_movement": {"day": c.last_movement.day.isoformat(),
                               "kind": c.last_movement.kind,
                               "amount": cents(c.last_movement.amount)}
             if c.last_movement else None,
             "person_id": c.person_id or None,
             "person_url": f"/api/projects/{project_id}/persons/{quote(c.person_id, safe='')}"
             if c.person_id else None,
             "open_payment_failures": c.open_failures,
             "url": f"/projects/{project_id}/revenue/customers/{quote(c.customer_id, safe='')}"}
            for c in found.rows
        ],
    }  # fmt: skip


# --- payment health ----------------------------------------------------------------------


def payments_json(found: PaymentHealth) -> dict[str, Any]:
    q = found.query
    return {
        "currency": found.currency, "from": q.start.isoformat(), "to": q.end.isoformat(),
        "failures": {"count": found.failures, "amount": cents(found.failed_amount),
                     "unconverted": found.unconverted, "without_invoice": found.untraced},
        "decline_codes": [{"code": c.code, "count": c.count, "amount": cents(c.amount)}
                          for c in found.codes],
        "weeks": [{"week": w.week.isoformat(), "count": w.count, "amount": cents(w.amount)}
                  for w in found.weeks],
        "recovery": {"failed_invoices": found.failed_invoices,
                     "recovered": found.recovered_invoices, "lost": found.lost_invoices,
                     "open": found.open_invoices, "rate": ratio(found.recovery_rate),
                     "recovered_amount": cents(found.recovered_amount)},
        "mrr_at_risk": cents(found.mrr_at_risk), "customers_at_risk": found.at_risk,
        "limit": q.limit, "offset": q.offset,
        "past_due": [
            {"customer": c.customer_id, "mrr": cents(c.mrr), "since": c.since.isoformat(),
             "days_past_due": c.days, "subscription_status": c.subscription_status or None,
             "invoice": c.invoice_id or None, "attempts": c.attempts,
             "next_attempt_at": _day(c.next_attempt_at), "decline_code": c.code or None}
            for c in found.past_due
        ],
    }  # fmt: skip


def codes_chart(found: PaymentHealth) -> str:
    codes = list(reversed(found.codes))  # the largest on top
    return json.dumps({
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"top": 0}, "grid": {**GRID, "left": 8},
        "xAxis": [{"type": "value", "minInterval": 1}],
        "yAxis": {"type": "category", "data": [c.code for c in codes]},
        "series": [{"name": "failed attempts", "type": "bar", "itemStyle": {"color": "#ef4444"},
                    "data": [c.count for c in codes]}],
    })  # fmt: skip


def weeks_chart(found: PaymentHealth) -> str:
    return json.dumps({
        "tooltip": {"trigger": "axis"}, "legend": {"top": 0}, "grid": GRID,
        "xAxis": {"type": "category", "data": [w.week.isoformat() for w in found.weeks]},
        "yAxis": [{"type": "value", "name": "failures", "minInterval": 1},
                  {"type": "value", "name": found.currency.upper(), "splitLine": {"show": False}}],
        "series": [
            {"name": "failed attempts", "type": "bar", "itemStyle": {"color": "#ef4444"},
             "data": [w.count for w in found.weeks]},
            {"name": "amount", "type": "line", "yAxisIndex": 1, "itemStyle": {"color": "#111827"},
             "data": [round(float(w.amount) / minor_unit(found.currency), 2)
                      for w in found.weeks]},
        ],
    })  # fmt: skip


# --- CAC & channels ----------------------------------------------------------------------


def figures_json(c: ChannelFigures) -> dict[str, Any]:
    return {
        "channel": c.channel, "spend": c.spend, "new_customers": c.new_customers,
        "new_mrr": cents(c.new_mrr), "cac": cents(c.cac),
        "payback_months": ratio(c.payback_months), "ltv_to_cac": ratio(c.ltv_to_cac),
    }  # fmt: skip


def acquisition_json(found: Summary, first: date, last: date) -> dict[str, Any]:
    return {
        "from": first.isoformat(), "to": last.isoformat(), "currency": found.currency or None,
        "days_computed": found.days, "days": (last - first).days + 1,
        "computed_at": _day(found.computed_at), "mrr": cents(found.mrr),
        "customers": found.customers, "ltv": cents(found.ltv),
        "blended": figures_json(found.blended),
        "channels": [figures_json(c) for c in found.channels],
    }  # fmt: skip


def acquisition_chart(found: Summary) -> str:
    names = [c.channel for c in found.channels]
    return json.dumps({
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"top": 0}, "grid": GRID,
        "xAxis": {"type": "category", "data": names},
        "yAxis": [{"type": "value", "name": "spend"},
                  {"type": "value", "name": "customers", "minInterval": 1,
                   "splitLine": {"show": False}}],
        "series": [
            {"name": "spend", "type": "bar", "itemStyle": {"color": "#4f46e5"},
             "data": [round(c.spend / minor_unit(found.currency or "usd"), 2)
                      for c in found.channels]},
            {"name": "new customers", "type": "bar", "yAxisIndex": 1,
             "itemStyle": {"color": "#10b981"}, "data": [c.new_customers for c in found.channels]},
        ],
    })  # fmt: skip

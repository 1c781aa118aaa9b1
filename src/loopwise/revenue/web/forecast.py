"""The revenue forecast: its API and its page, both from ``facade.revenue_forecast``.

Assumptions arrive as query parameters, so a what-if forecast is a link anyone can open:
``new`` and ``reactivation`` are money per month (minor units on the API, the currency's
units on the page's form: dollars, not cents), ``expansion``, ``contraction``, ``churn``
and ``spread`` are percentages per month.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from loopwise.core.currency import minor_unit
from loopwise.core.errors import InvalidInput
from loopwise.revenue import forecast
from loopwise.revenue.facade import RevenueForecast, revenue_forecast, revenue_rules
from loopwise.web.deps import DbDep, ProjectDep, Reader
from loopwise.web.render import render

router = APIRouter(tags=["revenue"])

AMOUNTS = ("new", "reactivation")
SHARES = ("expansion", "contraction", "churn")
HUNDRED = Decimal(100)
MAX_TEXT = 30


def _number(params: dict[str, str], name: str) -> Decimal | None:
    text = params.get(name, "").strip().replace(",", "")
    if not text:
        return None
    try:
        value = Decimal(text[:MAX_TEXT]) if len(text) <= MAX_TEXT else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise InvalidInput(name, "is a number")
    if value < 0:
        raise InvalidInput(name, "cannot be negative")
    return value


def _inputs(
    params: dict[str, str], unit: Decimal
) -> tuple[dict[str, Decimal | None], Decimal | None]:
    """Overrides in the facade's units (minor units; fractions) and the spread. ``unit`` is
    how many minor units one entered amount is (1 on the API, 100 on the page)."""
    overrides: dict[str, Decimal | None] = {}
    for name in AMOUNTS:
        value = _number(params, name)
        overrides[name] = value * unit if value is not None else None
    for name in SHARES:
        value = _number(params, name)
        if value is not None and value > HUNDRED:
            raise InvalidInput(name, "is a percentage per month, at most 100")
        overrides[name] = value / HUNDRED if value is not None else None
    spread = _number(params, "spread")
    if spread is not None and spread > HUNDRED:
        raise InvalidInput("spread", "is a percentage from 0 to 100")
    return overrides, spread / HUNDRED if spread is not None else None


def _rates_json(a: forecast.Assumptions | None) -> dict[str, float] | None:
    if a is None:
        return None
    return {
        "new": round(float(a.new), 2), "reactivation": round(float(a.reactivation), 2),
        "expansion": round(float(a.expansion * HUNDRED), 4),
        "contraction": round(float(a.contraction * HUNDRED), 4),
        "churn": round(float(a.churn * HUNDRED), 4),
    }  # fmt: skip


def forecast_json(found: RevenueForecast) -> dict[str, Any]:
    mape = found.backtest.mape
    return {
        "currency": found.currency,
        "history": [{"month": p.start.isoformat(), "mrr": round(float(p.mrr), 2)}
                    for p in found.history],
        "current_mrr": round(float(found.current_mrr), 2),
        "months": [m.isoformat() for m in found.months],
        "measured": _rates_json(found.measured),
        "assumptions": _rates_json(found.assumptions),
        "spread": float(found.spread * HUNDRED),
        "scenarios": [{"name": s.name, "assumptions": _rates_json(s.assumptions),
                       "mrr": [round(float(v), 2) for v in s.mrr]} for s in found.scenarios],
        "backtest": {
            "horizon_months": found.backtest.horizon,
            "mape": round(float(mape), 4) if mape is not None else None,
            "points": [{"month": m.isoformat(), "forecast": round(float(f), 2),
                        "actual": round(float(a), 2)} for m, f, a in found.backtest.points],
        },
    }  # fmt: skip


@router.get("/api/projects/{project_id}/revenue/forecast")
def forecast_api(
    request: Request, project: ProjectDep, principal: Reader, db: DbDep
) -> JSONResponse:
    """MRR for the next 12 months (base, optimistic, conservative) from the last three
    complete months' movement rates, and the base model's 3-month backtest. Optional
    overrides: ``new``, ``reactivation`` (minor units per month), ``expansion``,
    ``contraction``, ``churn`` (% of MRR per month) and ``spread`` (%, default 20).
    Amounts in the answer are in minor units, rates in % per month."""
    overrides, spread = _inputs(dict(request.query_params), Decimal(1))
    found = revenue_forecast(db, project.id, project.timezone, overrides=overrides,
                             spread=spread)  # fmt: skip
    db.commit()
    return JSONResponse(forecast_json(found))


@router.get(
    "/projects/{project_id}/revenue/forecast", response_class=HTMLResponse,
    include_in_schema=False,
)  # fmt: skip
def forecast_page(request: Request, project: ProjectDep, principal: Reader, db: DbDep) -> Response:
    params = dict(request.query_params)
    errors: dict[str, str] = {}
    unit = Decimal(minor_unit(revenue_rules(db, project.id).currency))
    try:
        overrides, spread = _inputs(params, unit)
    except InvalidInput as exc:
        errors[exc.field] = exc.message
        overrides, spread = {}, None
    found = revenue_forecast(db, project.id, project.timezone, overrides=overrides,
                             spread=spread)  # fmt: skip
    db.commit()
    values = {
        "project": project,
        "f": found,
        "errors": errors,
        "params": params,
        "chart": json.dumps(_chart(found)) if found.scenarios else "",
        "backtest_chart": json.dumps(_backtest_chart(found)) if found.backtest.points else "",
    }
    return render(request, "revenue/forecast.html", values, 422 if errors else 200)


def _chart(found: RevenueForecast) -> dict[str, Any]:
    unit = minor_unit(found.currency)
    history = found.history[-12:]
    labels = [p.start.strftime("%Y-%m") for p in history] + [
        m.strftime("%Y-%m") for m in found.months
    ]
    gap = [None] * len(history)
    anchor = [None] * (len(history) - 1) + [float(history[-1].mrr) / unit] if history else []
    colours = {"base": "#4f46e5", "optimistic": "#10b981", "conservative": "#f59e0b"}
    return {
        "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
        "grid": {"left": 56, "right": 24, "top": 40, "bottom": 30, "containLabel": True},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value"},
        "series": [
            {"name": "Actual MRR", "type": "line", "itemStyle": {"color": "#111827"},
             "data": [float(p.mrr) / unit for p in history] + [None] * len(found.months)},
            *[{"name": s.name.capitalize(), "type": "line", "symbol": "none",
               "lineStyle": {"type": "solid" if s.name == "base" else "dashed"},
               "itemStyle": {"color": colours[s.name]},
               "data": (anchor or gap) + [float(v) / unit for v in s.mrr]}
              for s in found.scenarios],
        ],
    }  # fmt: skip


def _backtest_chart(found: RevenueForecast) -> dict[str, Any]:
    unit = minor_unit(found.currency)
    points = found.backtest.points
    return {
        "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
        "grid": {"left": 56, "right": 24, "top": 40, "bottom": 30, "containLabel": True},
        "xAxis": {"type": "category", "data": [m.strftime("%Y-%m") for m, _, _ in points]},
        "yAxis": {"type": "value"},
        "series": [
            {"name": "Actual", "type": "line", "itemStyle": {"color": "#111827"},
             "data": [float(a) / unit for _, _, a in points]},
            {"name": "Forecast 3 months before", "type": "line", "itemStyle": {"color": "#4f46e5"},
             "lineStyle": {"type": "dashed"}, "data": [float(f) / unit for _, f, _ in points]},
        ],
    }  # fmt: skip

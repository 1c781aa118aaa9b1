"""ECharts options for results, as JSON for ``data-chart`` (static/app.js draws them)."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from loopwise.product.contracts import (
    FunnelGroup,
    FunnelResult,
    LifecycleResult,
    PathsResult,
    StickinessResult,
    TrendsResult,
)

PALETTE = ["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#14b8a6", "#64748b"]
_GRID = {"left": 56, "right": 24, "top": 40, "bottom": 30, "containLabel": True}


def line_name(breakdown_value: str | None, label: str) -> str:
    if breakdown_value is None:
        return label
    return breakdown_value or "(not set)"


def trend_chart(result: TrendsResult, chart: str = "line") -> str:
    zone = ZoneInfo(result.timezone)
    labels = [
        b.astimezone(zone).strftime("%Y-%m-%d %H:%M" if result.interval == "hour" else "%Y-%m-%d")
        for b in result.buckets
    ]
    if result.query["date_range"]["date_to"] is None and labels:
        labels[-1] += " (so far)"  # the current period is not over: its dip is not a drop
    kind = "bar" if chart == "bar" else "line"
    series = [
        {
            "name": line_name(line.breakdown_value, line.label)
            + (" (previous period)" if line.period == "previous" else ""),
            "type": kind, "smooth": True, "showSymbol": len(labels) < 40, "data": line.values,
            "lineStyle": {"type": "dashed" if line.period == "previous" else "solid"},
            **({"stack": "all"} if kind == "bar" and result.query.get("breakdown") else {}),
        }
        for line in result.lines
    ]  # fmt: skip
    return _dump(
        {
            "color": PALETTE,
            "tooltip": {"trigger": "axis"},
            "legend": {"top": 0, "type": "scroll"},
            "grid": _GRID,
            "xAxis": {"type": "category", "data": labels, "boundaryGap": kind == "bar"},
            "yAxis": {"type": "value", "splitLine": {"lineStyle": {"color": "#eef0f4"}}},
            "series": series,
        }
    )


ROLLING = ("weekly_active", "monthly_active")


def trend_drill(result: TrendsResult) -> dict[str, str]:
    """For static/app.js: per chart line, the series and breakdown value a click on one of
    its points drills into (null for lines without persons), and the buckets' starts."""
    maths = [series["math"] for series in result.query["series"]]
    lines = [
        None
        if line.period == "previous" or line.formula or maths[line.series] in ROLLING
        else {"series": line.series, "bv": line.breakdown_value}
        for line in result.lines
    ]
    starts = [b.isoformat() for b in result.buckets]
    return {"lines": json.dumps(lines), "buckets": json.dumps(starts)}


def funnel_chart(result: FunnelResult) -> str:
    """Bars per step: persons who reached it, one bar per breakdown value."""
    groups = result.breakdown or [result.total]
    labels = [f"{s.step + 1}. {s.label}" for s in result.total.steps]
    series = [
        {
            "name": line_name(group.breakdown_value, "Persons"),
            "type": "bar",
            "data": [s.count for s in group.steps],
            "label": {"show": len(groups) == 1, "position": "top"},
        }
        for group in groups
    ]
    return _dump(
        {
            "color": PALETTE,
            "tooltip": {"trigger": "axis"},
            "legend": {"top": 0, "type": "scroll", "show": len(groups) > 1},
            "grid": _GRID,
            "xAxis": {
                "type": "category",
                "data": labels,
                "axisLabel": {"interval": 0, "width": 150, "overflow": "truncate"},
            },
            "yAxis": {"type": "value", "splitLine": {"lineStyle": {"color": "#eef0f4"}}},
            "series": series,
        }
    )


def histogram_chart(group: FunnelGroup) -> str:
    labels = [f"{duration(b.start_seconds)} to {duration(b.end_seconds)}" for b in group.histogram]
    return _dump(
        {
            "color": PALETTE[1:],
            "tooltip": {"trigger": "axis"},
            "grid": _GRID,
            "xAxis": {"type": "category", "data": labels},
            "yAxis": {"type": "value", "name": "persons", "minInterval": 1},
            "series": [{"type": "bar", "data": [b.persons for b in group.histogram]}],
        }
    )


def stickiness_chart(result: StickinessResult) -> str:
    labels = [
        f"{k} {result.interval}{'s' if k > 1 else ''}" for k in range(1, result.intervals + 1)
    ]
    series = [{"name": line.label, "type": "bar", "data": line.values} for line in result.lines]
    return _dump(
        {
            "color": PALETTE,
            "tooltip": {"trigger": "axis"},
            "legend": {"top": 0, "show": len(series) > 1},
            "grid": _GRID,
            "xAxis": {"type": "category", "data": labels},
            "yAxis": {"type": "value", "name": "persons", "minInterval": 1},
            "series": series,
        }
    )


LIFECYCLE_COLOURS = {
    "new": "#10b981", "returning": "#4f46e5", "resurrecting": "#f59e0b", "dormant": "#ef4444",
}  # fmt: skip


def lifecycle_chart(result: LifecycleResult) -> str:
    fmt = "%Y-%m-%d %H:%M" if result.interval == "hour" else "%Y-%m-%d"
    series = [
        {
            "name": status, "type": "bar", "stack": "persons",
            "data": getattr(result, status), "itemStyle": {"color": colour},
        }
        for status, colour in LIFECYCLE_COLOURS.items()
    ]  # fmt: skip
    return _dump(
        {
            "tooltip": {"trigger": "axis"},
            "legend": {"top": 0},
            "grid": _GRID,
            "xAxis": {
                "type": "category",
                "data": [
                    b.astimezone(ZoneInfo(result.timezone)).strftime(fmt) for b in result.buckets
                ],
            },
            "yAxis": {"type": "value", "minInterval": 1},
            "series": series,
        }
    )


def sankey_chart(result: PathsResult) -> str:
    """Steps left to right; for paths *before* an event, the event is on the right."""
    before = result.query.get("direction") == "before"
    depth = max((n.step for n in result.nodes), default=0)

    def label(step: int, name: str) -> str:
        return f"{(depth - step if before else step) + 1}. {name}"

    nodes = [{"name": label(n.step, n.name)} for n in result.nodes]
    links = []
    for link in result.links:
        source, target = label(link.step, link.source), label(link.step + 1, link.target)
        if before:
            source, target = target, source
        links.append({"source": source, "target": target, "value": link.persons})
    return _dump(
        {
            "color": PALETTE,
            "tooltip": {"trigger": "item"},
            "series": [
                {
                    "type": "sankey", "data": nodes, "links": links, "nodeAlign": "left",
                    "emphasis": {"focus": "adjacency"}, "left": 8, "right": 140,
                    "lineStyle": {"color": "gradient", "opacity": 0.35},
                    "label": {"fontSize": 11},
                }
            ],
        }
    )  # fmt: skip


def duration(seconds: float | None) -> str:
    """A short human duration: 45s, 12m, 3.5h, 2.1d."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def heat(count: int | None, size: int) -> dict[str, Any]:
    """A retention cell: its share of the cohort and a background strength."""
    if count is None:
        return {"share": None, "alpha": 0}
    share = count / size if size else 0.0
    return {"share": share, "alpha": round(0.08 + 0.8 * share, 3) if size else 0}


def _dump(option: dict[str, Any]) -> str:
    return json.dumps(option)

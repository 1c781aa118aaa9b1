"""One runner per kind of question, found by ``kind``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loopwise.product.queries.funnels import run_funnels
from loopwise.product.queries.retention import run_retention
from loopwise.product.queries.trends import run_trends

RUNNERS: dict[str, Callable[..., Any]] = {
    "trends": run_trends,
    "funnels": run_funnels,
    "retention": run_retention,
}

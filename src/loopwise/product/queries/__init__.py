"""One runner per kind of question, found by ``kind``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loopwise.product.queries.funnels import run_funnels
from loopwise.product.queries.lifecycle import run_lifecycle
from loopwise.product.queries.paths import run_paths
from loopwise.product.queries.retention import run_retention
from loopwise.product.queries.stickiness import run_stickiness
from loopwise.product.queries.trends import run_trends

RUNNERS: dict[str, Callable[..., Any]] = {
    "trends": run_trends,
    "funnels": run_funnels,
    "retention": run_retention,
    "stickiness": run_stickiness,
    "lifecycle": run_lifecycle,
    "paths": run_paths,
}

"""Demo fixtures: the simulation loaded through the real write path into DuckDB."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pyarrow as pa
import pytest

from loopwise.demo import DemoSummary, load_demo
from loopwise.demo.population import Business
from loopwise.warehouse import open_warehouse

END = datetime(2026, 6, 1, 12, tzinfo=UTC)


@dataclass(frozen=True)
class LoadedDemo:
    """A demo load: the simulated business, what ``load_demo`` reported and the rows stored."""

    business: Business
    summary: DemoSummary
    table: pa.Table

    @property
    def frame(self) -> pl.DataFrame:
        frame = pl.from_arrow(self.table)
        assert isinstance(frame, pl.DataFrame)
        return frame

    @property
    def start(self) -> datetime:
        return self.business.start


def load(users: int, days: int, seed: int, **options: Any) -> LoadedDemo:
    """Load a demo into a fresh in-memory DuckDB and read every stored event back."""
    store = open_warehouse("duckdb:///:memory:")
    try:
        store.migrate()
        summary = load_demo(store, 1, users=users, days=days, seed=seed, end=END, **options)
        table = store.query("SELECT * FROM events ORDER BY uuid", max_rows=50_000_000).table
    finally:
        store.close()
    business = Business.build(users=users, days=days, seed=seed, end=END)
    return LoadedDemo(business, summary, table)


@pytest.fixture(scope="session")
def demo() -> LoadedDemo:
    """A mid-sized business, large enough for its statistical patterns to be stable."""
    return load(users=500, days=120, seed=11)


def weeks(count: int) -> timedelta:
    return timedelta(weeks=count)

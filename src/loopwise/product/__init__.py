"""Product analytics: questions about how a product is used, asked as typed queries.

This area owns the query API (``contracts``: one pydantic model per kind of question, a
discriminated union on ``kind``), one runner per kind (``queries/``: query object → SQL
written once for DuckDB and ClickHouse → typed result), and the registry that finds the
runner (``queries.RUNNERS``). Today: trends. Funnels, retention, stickiness, lifecycle,
paths, feature adoption, cohorts and saved insights build on the same parts.

It reads events only through the warehouse, with persons resolved through the override
map (``Dialect.events_with_persons``); it owns no ingestion and no tables yet.
"""

"""Open a warehouse from its URL, the one setting that picks the engine."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, unquote, urlsplit

from loopwise.warehouse.base import Warehouse

ACCEPTED_URLS = (
    "duckdb:///abs/path.duckdb",
    "duckdb:///:memory:",
    "clickhouse://user:pass@host:8123/db",
    "clickhouses://user:pass@host:8443/db",
    "chdb:///abs/path?database=name",
)


def open_warehouse(
    url: str, *, default_timeout_s: float = 30.0, default_max_rows: int = 100_000
) -> Warehouse:
    """The warehouse a URL names; the defaults apply to queries that give no limits.

    Engines are imported on demand, so a DuckDB-only deployment never loads chDB (≈700 MB).
    """
    scheme = urlsplit(url).scheme
    opener = _OPENERS.get(scheme)
    if opener is None:
        raise ValueError(
            f"unsupported warehouse URL scheme {scheme!r}; accepted: {', '.join(ACCEPTED_URLS)}"
        )
    return opener(url, default_timeout_s, default_max_rows)


def _local_path(url: str) -> str:
    parts = urlsplit(url)
    if parts.netloc:
        raise ValueError(f"{parts.scheme} URLs have no host; write {parts.scheme}:///abs/path")
    path = unquote(parts.path)
    if path == "/:memory:":
        return ":memory:"
    if not path.startswith("/") or path == "/":
        raise ValueError(f"{parts.scheme} URLs need an absolute path: {parts.scheme}:///abs/path")
    # f"duckdb:///{absolute_path}" gives four slashes; read it as the absolute path meant.
    return "/" + path.lstrip("/")


def _open_duckdb(url: str, timeout_s: float, max_rows: int) -> Warehouse:
    from loopwise.warehouse.duckdb_store import DuckDBWarehouse

    return DuckDBWarehouse(_local_path(url), default_timeout_s=timeout_s, default_max_rows=max_rows)


def _open_clickhouse(url: str, timeout_s: float, max_rows: int) -> Warehouse:
    from loopwise.warehouse.clickhouse_store import open_clickhouse

    return open_clickhouse(url, default_timeout_s=timeout_s, default_max_rows=max_rows)


def _open_chdb(url: str, timeout_s: float, max_rows: int) -> Warehouse:
    from loopwise.warehouse.chdb_store import open_chdb

    path = _local_path(url)
    if path == ":memory:":
        raise ValueError("chdb needs a directory: chdb:///abs/path")
    database = parse_qs(urlsplit(url).query).get("database", ["default"])[-1]
    return open_chdb(path, database, default_timeout_s=timeout_s, default_max_rows=max_rows)


_OPENERS: dict[str, Callable[[str, float, int], Warehouse]] = {
    "duckdb": _open_duckdb,
    "clickhouse": _open_clickhouse,
    "clickhouses": _open_clickhouse,
    "chdb": _open_chdb,
}

"""chDB: ClickHouse in-process, so the ClickHouse SQL is tested without a server.

chDB allows one database path per process and locks it, so every warehouse on that path
shares one process-wide session, used under a lock. A warehouse is a database inside the
path (``chdb:///path?database=name``), which lets tests isolate themselves cheaply.

Session state is shared, so each call first restores what it relies on: the current
database (``USE``) and the settings (``SET``). After an engine error the next result on the
session comes back garbled (seen with chdb 4.4 after TIMEOUT_EXCEEDED), so one throwaway
query absorbs it.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

import pyarrow as pa
from chdb.session import Session

from loopwise.warehouse.base import WarehouseError
from loopwise.warehouse.clickhouse_common import (
    BASE_SETTINGS,
    ClickHouseWarehouse,
    Settings,
    SettingValue,
)
from loopwise.warehouse.dialect import ParamValue, Scalar, quote_ident
from loopwise.warehouse.schema import TABLES
from loopwise.warehouse.tables import TableSpecs

# Escapes of ClickHouse's "escaped" text format, in which chDB reads parameter values.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0"})


class _Session(Protocol):
    """The part of ``chdb.session.Session`` used here (chDB ships it untyped)."""

    def query(self, sql: str, fmt: str = "CSV", *, params: Mapping[str, str] | None = None) -> Any:
        """Run one statement; ``fmt`` picks the result format."""

    def close(self) -> None:
        """Close the session and unlock the path."""


def _open_session(path: str) -> _Session:
    session: _Session = Session(path)  # type: ignore[no-untyped-call]
    return session


@dataclass
class _SharedSession:
    """The process's one chDB session, and the state last set on it."""

    path: str
    session: _Session
    lock: threading.RLock = field(default_factory=threading.RLock)
    users: int = 0
    database: str | None = None
    settings: Settings | None = None


_registry_lock = threading.Lock()
_shared: _SharedSession | None = None


def _acquire(path: str) -> _SharedSession:
    """The session for ``path``, opened on first use; refuses a second path."""
    global _shared
    with _registry_lock:
        if _shared is None:
            try:
                _shared = _SharedSession(path, _open_session(path))
            except Exception as exc:  # chDB raises RuntimeError and friends
                raise WarehouseError(f"cannot open chDB at {path!r}: {exc}") from exc
        elif _shared.path != path:
            raise WarehouseError(
                f"chDB already has {_shared.path!r} open in this process and allows only one "
                f"database path per process; cannot also open {path!r}"
            )
        _shared.users += 1
        return _shared


def _release(shared: _SharedSession) -> None:
    """Close the session when its last warehouse closes, so another path may be opened."""
    global _shared
    with _registry_lock:
        shared.users -= 1
        if shared.users == 0:
            with shared.lock:  # let a statement still running on another thread finish
                shared.session.close()
            if _shared is shared:
                _shared = None


class ChdbTransport:
    """One database on the shared chDB session."""

    def __init__(self, path: str, database: str) -> None:
        self._database = quote_ident(database)
        self._shared: _SharedSession | None = _acquire(os.path.realpath(path))
        try:
            create = f"CREATE DATABASE IF NOT EXISTS {self._database}"
            self._run(create, {}, BASE_SETTINGS, in_database=False)
        except BaseException:
            self.close()
            raise

    def command(self, sql: str, params: Mapping[str, ParamValue], settings: Settings) -> None:
        self._run(sql, params, settings)

    def select(self, sql: str, params: Mapping[str, ParamValue], settings: Settings) -> pa.Table:
        table = self._run(sql, params, settings, output="ArrowTable")
        if not isinstance(table, pa.Table):
            raise WarehouseError(f"chDB returned {type(table).__name__}, not an Arrow table")
        return table

    def insert(self, table: str, data: pa.Table) -> None:
        columns = ", ".join(quote_ident(n) for n in data.column_names)
        # Python() finds the table by this (deliberately unusual) local variable name in the
        # calling frames, so it must stay alive in this frame while the statement runs.
        loopwise_rows = data  # noqa: F841
        source = "Python(loopwise_rows)"
        self._run(f"INSERT INTO {quote_ident(table)} ({columns}) SELECT {columns} FROM {source}")

    def close(self) -> None:
        shared, self._shared = self._shared, None
        if shared is not None:
            _release(shared)

    def _run(
        self,
        sql: str,
        params: Mapping[str, ParamValue] | None = None,
        settings: Settings = BASE_SETTINGS,
        *,
        output: str = "CSV",
        in_database: bool = True,
    ) -> object:
        """Run one statement on the shared session, in this database, with these settings."""
        if self._shared is None:
            raise WarehouseError("the chDB warehouse is closed")
        shared = self._shared
        text_params = {name: param_text(value) for name, value in (params or {}).items()}
        with shared.lock:
            try:
                if in_database:
                    self._use_database(shared)
                _use_settings(shared, settings)
                return shared.session.query(sql, output, params=text_params)
            except Exception as exc:  # ChdbError, RuntimeError, or a garbled-result error
                _absorb_error(shared)
                raise WarehouseError(f"chDB: {exc}") from exc

    def _use_database(self, shared: _SharedSession) -> None:
        if shared.database != self._database:
            shared.database = None
            shared.session.query(f"USE {self._database}", "CSV")
            shared.database = self._database


def _use_settings(shared: _SharedSession, settings: Settings) -> None:
    if shared.settings != settings:
        shared.settings = None
        assignments = ", ".join(f"{k} = {_setting_text(v)}" for k, v in settings.items())
        shared.session.query(f"SET {assignments}", "CSV")
        shared.settings = dict(settings)


def _absorb_error(shared: _SharedSession) -> None:
    """Swallow the garbled result chDB returns after an error, and forget the session state."""
    shared.database = None
    shared.settings = None
    with contextlib.suppress(Exception):  # the garbled result is the expected outcome
        shared.session.query("SELECT 1", "CSV")


def _setting_text(value: SettingValue) -> str:
    return f"'{value}'" if isinstance(value, str) else repr(value)


def param_text(value: ParamValue) -> str:
    """A parameter value in ClickHouse's escaped text format, as chDB reads it."""
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return _scalar_text(value).translate(_ESCAPES)


def _scalar_text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):  # already UTC (see dialect.type_param)
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value if isinstance(value, str) else repr(value)


def _literal(value: Scalar) -> str:
    """An array element: quoted, with backslash escapes, when it is text."""
    text = _scalar_text(value)
    if isinstance(value, str | date):
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return text


def open_chdb(
    path: str,
    database: str = "default",
    *,
    default_timeout_s: float = 30.0,
    default_max_rows: int = 100_000,
    tables: TableSpecs = TABLES,
) -> ClickHouseWarehouse:
    """A warehouse on database ``database`` of the chDB directory ``path``."""
    return ClickHouseWarehouse(
        ChdbTransport(path, database),
        default_timeout_s=default_timeout_s,
        default_max_rows=default_max_rows,
        tables=tables,
    )

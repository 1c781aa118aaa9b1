"""Everything a running instance holds: settings, the app database and the warehouse.

Built once by ``create_app`` (or the CLI) from settings; nothing here exists at import time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from loopwise.core.auth import ThrottlePolicy
from loopwise.core.db import check_connection, make_engine, migrate, session_factory
from loopwise.core.errors import ConfigError
from loopwise.core.settings import Settings, prepare_data_dir
from loopwise.warehouse import Warehouse, WarehouseError, open_warehouse

if TYPE_CHECKING:  # the web shell starts it; areas reach the context through web.deps
    from loopwise.ingest.service import IngestService


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    warehouse: Warehouse

    @property
    def throttle(self) -> ThrottlePolicy:
        minutes = self.settings.login_lockout_minutes
        return ThrottlePolicy(self.settings.login_max_failures, timedelta(minutes=minutes))

    # The ingestion service, started by ``create_app`` (CLI commands do not need it).
    ingest: IngestService | None = None
    closed: bool = False
    # Set when the server begins to shut down: long-lived streams end so the node drains.
    stopping: threading.Event = field(default_factory=threading.Event)

    def close(self) -> None:
        """Release both stores; safe to call more than once."""
        if self.closed:
            return
        self.closed = True
        self.stopping.set()
        if self.ingest is not None:
            self.ingest.close()  # drains the write-ahead log into the warehouse first
        self.warehouse.close()
        self.engine.dispose()


def open_context(settings: Settings, *, apply_migrations: bool = True) -> AppContext:
    """Check the data directory and both stores, migrate them, and return the handles.

    Each failure is a ``ConfigError`` with one line naming the setting at fault.
    """
    prepare_data_dir(settings)
    engine = make_engine(settings.effective_database_url)
    check_connection(engine)
    try:
        warehouse = open_warehouse(
            settings.effective_warehouse_url,
            default_timeout_s=settings.query_timeout_seconds,
            default_max_rows=settings.query_max_rows,
        )
    except (WarehouseError, ValueError, OSError) as exc:
        engine.dispose()
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"LOOPWISE_WAREHOUSE_URL: cannot open the warehouse: {first}") from None
    if apply_migrations:
        migrate(engine)
        warehouse.migrate()
    return AppContext(settings, engine, session_factory(engine), warehouse)

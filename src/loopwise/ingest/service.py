"""The running ingestion service: prepare a request's events, make them durable, answer.

``prepare`` turns a body into Arrow rows (``prepare.prepare_body``: parse, privacy
pipeline, conversion; large bodies on a parser process) and counts what was dropped or
rejected; ``persist`` makes the rows durable:

- ``wal`` mode (embedded warehouses): the rows are appended to the write-ahead log and the
  call returns once they are fsynced; a flusher thread moves them into the warehouse
  through ``EventStore`` (dedupe, identity, append) and advances the checkpoint. Records
  the last run did not flush are replayed on start; the dedupe index, seeded from the
  warehouse, makes the replay exactly-once.
- ``direct`` mode (ClickHouse server): ``EventStore`` runs before answering and the
  ClickHouse insert waits for its asynchronous insert to be written; no local log.

When more than ``ingest_backlog_mb`` is waiting, ``persist`` raises ``Overloaded`` and the
endpoint answers 503 with ``Retry-After``. The flusher thread also writes the counters to
the app database every two seconds and squashes person overrides every ten minutes.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
from anyio import to_thread
from sqlalchemy.orm import Session, sessionmaker

from loopwise.core.settings import Settings
from loopwise.ingest.facade import with_hot_columns
from loopwise.ingest.identity import Identity
from loopwise.ingest.jobs import squash_overrides
from loopwise.ingest.prepare import Prepared, RequestInfo, prepare_body
from loopwise.ingest.stats import IngestStats, PendingRejection
from loopwise.ingest.store import EventStore
from loopwise.ingest.wal import Overloaded, WriteAheadLog
from loopwise.ingest.workers import (
    POOL_BYTES,
    LocalResolver,
    ParserPool,
    default_workers,
    ipc_bytes,
)
from loopwise.warehouse import Warehouse
from loopwise.warehouse.schema import UTC_MICROS

log = logging.getLogger(__name__)

__all__ = ["IngestService", "Overloaded", "Prepared", "RequestInfo"]

FLUSH_INTERVAL_S = 0.1
FLUSH_MAX_BYTES = 64 * 1024 * 1024
STATS_INTERVAL_S = 2.0
SQUASH_INTERVAL_S = 600.0
INLINE_BYTES = 256 * 1024  # smaller bodies are prepared on the event loop itself


class IngestService:
    """One per server process: the log, the flusher thread, the parser pool, the counters."""

    def __init__(
        self, settings: Settings, sessions: sessionmaker[Session], warehouse: Warehouse
    ) -> None:
        self.mode = _mode(settings)
        self.sessions = sessions
        self.warehouse = warehouse
        self.stats = IngestStats()
        self.resolver = LocalResolver(sessions)
        self.policies = self.resolver.policies
        workers = default_workers() if settings.ingest_workers is None else settings.ingest_workers
        self.parsers = ParserPool(settings.effective_database_url, workers) if workers > 0 else None
        self.identity = Identity(sessions)
        self.store = EventStore(
            warehouse,
            self.identity,
            self.stats,
            timedelta(hours=settings.ingest_dedupe_hours),
            check_warehouse=self.mode == "direct",
        )
        self.wal: WriteAheadLog | None = None
        self._lock_fd: int | None = None
        if self.mode == "wal":
            directory = settings.data_dir / "wal"
            self._lock_fd = _lock_directory(directory)
            self.wal = WriteAheadLog(
                directory, max_backlog_bytes=settings.ingest_backlog_mb * 2**20
            )
        self._last_stamp = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._flushed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="ingest-flusher", daemon=True)
        self.seeded: int | None = None  # keys loaded into the dedupe window, once done
        if self.wal is not None:
            self.wal.on_commit.append(self._wake)
        self._thread.start()

    # --- the request path ------------------------------------------------------------------

    async def prepare(self, raw: bytes, info: RequestInfo) -> Prepared:
        """Decode, parse, filter and convert a request body (on a parser process when it is
        large and there are any), and count what it held."""
        prepared = None
        # Compressed JSON is about a tenth of its size: count gzip bodies as bigger.
        size = len(raw) * (8 if raw.startswith(b"\x1f\x8b") else 1)
        if self.parsers is not None and size >= POOL_BYTES:
            prepared = await self.parsers.prepare(raw, info)
        if prepared is None:
            big = len(raw) >= INLINE_BYTES
            run = prepare_body
            prepared = (
                await to_thread.run_sync(run, raw, info, self.resolver)
                if big
                else run(raw, info, self.resolver)
            )
        self._count(prepared, info)
        return prepared

    def _count(self, prepared: Prepared, info: RequestInfo) -> None:
        project_id, at = prepared.project_id, info.meta.received_at
        if project_id is None:
            return
        for rejection in prepared.rejections:
            where = rejection.as_dict()
            pending = PendingRejection(project_id, at, info.source, where["field"], where["detail"])
            self.stats.reject(pending)
        for reason, count in prepared.drops.items():
            self.stats.count(project_id, at, "dropped", reason, count)
        if prepared.seconds:
            self.stats.timed(prepared.seconds, prepared.events)

    async def persist(self, rows: pa.Table) -> None:
        """Return once ``rows`` are durable; raises ``Overloaded`` when they cannot be taken."""
        if self.wal is None:
            await to_thread.run_sync(self.store.store, rows)
            return
        future = self.wal.append(lambda: ipc_bytes(self._stamped(rows)))
        await asyncio.wrap_future(future)

    def _stamped(self, rows: pa.Table) -> pa.Table:
        """``received_at`` set to a time that only grows in log order (called under the log's
        lock), so a feed that pages by arrival time never skips a later-flushed batch."""
        micros = max(time.time_ns() // 1000, self._last_stamp + 1)
        self._last_stamp = micros
        column = pa.array(np.full(rows.num_rows, micros, dtype=np.int64)).cast(UTC_MICROS)
        return rows.set_column(rows.schema.get_field_index("received_at"), "received_at", column)

    # --- the flusher -----------------------------------------------------------------------

    def _run(self) -> None:
        # The dedupe window is loaded here, not in __init__: the server answers (into the
        # log) at once, and the flusher starts moving events once the window is loaded.
        while self.seeded is None:
            try:
                self.seeded = self.store.seed()
            except Exception:
                log.exception("ingestion: loading recent event ids failed; retrying")
                if self._stop.wait(2.0):
                    return
        last_stats = last_squash = time.monotonic()
        failures = 0
        while True:
            stopping = self._stop.is_set()
            try:
                moved = self.flush_once() if self.wal is not None else False
                failures = 0
            except Exception:
                failures += 1
                log.exception("ingestion: moving events to the warehouse failed; retrying")
                moved = False
                if self._stop.wait(min(30.0, 0.5 * 2**failures)):
                    stopping = True
            if stopping or time.monotonic() - last_stats > STATS_INTERVAL_S:
                self._save_stats()
                last_stats = time.monotonic()
            if not stopping and time.monotonic() - last_squash > SQUASH_INTERVAL_S:
                self._squash()
                last_squash = time.monotonic()
            if stopping and (not moved or failures):
                return
            if not moved:
                self._wake.wait(FLUSH_INTERVAL_S)
                self._wake.clear()

    def flush_once(self) -> bool:
        """Move what the log holds into the warehouse; True when something moved."""
        assert self.wal is not None
        records = list(self.wal.read(self.wal.checkpoint, FLUSH_MAX_BYTES))
        if not records:
            return False
        tables = [
            with_hot_columns(pa.ipc.open_stream(payload).read_all()) for _, payload in records
        ]
        self.store.store(pa.concat_tables(tables))
        self.wal.set_checkpoint(records[-1][0])
        with self._flushed:
            self._flushed.notify_all()
        return True

    def wait_flushed(self, timeout: float = 10.0) -> bool:
        """Block until everything acknowledged so far is in the warehouse (for tests, CLI)."""
        if self.wal is None:
            return True
        wal = self.wal
        deadline = time.monotonic() + timeout
        with self._flushed:
            while next(iter(wal.read(wal.checkpoint, 1)), None) is not None:
                self._wake.set()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._flushed.wait(min(remaining, 0.1))
        return True

    def _squash(self) -> None:
        try:
            squash_overrides(self.sessions, self.warehouse)
        except Exception:
            log.exception("ingestion: squashing person overrides failed; will retry")

    def _save_stats(self) -> None:
        try:
            self.stats.save(self.sessions)
        except Exception:
            log.exception("ingestion: saving counters failed; will retry")

    def close(self) -> None:
        """Stop taking events, flush what the log holds, and stop the flusher."""
        if self.parsers is not None:
            self.parsers.close()
        if self.wal is not None:
            self.wal.close()
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=60)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def _mode(settings: Settings) -> str:
    if settings.ingest_mode != "auto":
        return settings.ingest_mode
    url = settings.effective_warehouse_url
    return "direct" if url.startswith(("clickhouse://", "clickhouses://")) else "wal"


def _lock_directory(directory: Path) -> int:
    """One process per log directory: a second server on the same data dir is refused."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RuntimeError(f"{directory} is in use by another Loopwise process") from None
    return fd

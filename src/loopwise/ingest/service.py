"""The running ingestion service: accept a parsed batch, make it durable, then acknowledge.

``accept`` runs the privacy pipeline, builds the Arrow rows and makes them durable:

- ``wal`` mode (embedded warehouses): the rows are appended to the write-ahead log and the
  call returns once they are fsynced; a flusher thread moves them into the warehouse
  through ``EventStore`` (dedupe, identity, append) and advances the checkpoint. Records
  the last run did not flush are replayed on start; the dedupe index, seeded from the
  warehouse, makes the replay exactly-once.
- ``direct`` mode (ClickHouse server): ``EventStore`` runs before answering and the
  ClickHouse insert waits for its asynchronous insert to be written; no local log.

When more than ``ingest_backlog_mb`` is waiting, ``accept`` raises ``Overloaded`` and the
endpoint answers 503 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
from anyio import to_thread
from sqlalchemy.orm import Session, sessionmaker

from loopwise.core.settings import Settings
from loopwise.ingest.facade import events_to_arrow
from loopwise.ingest.identity import Identity
from loopwise.ingest.jobs import squash_overrides
from loopwise.ingest.pipeline import Draft, DropReason, StepContext, run_pipeline
from loopwise.ingest.policies import Policies, WriteKeys
from loopwise.ingest.privacy import STEPS
from loopwise.ingest.stats import IngestStats
from loopwise.ingest.store import EventStore
from loopwise.ingest.wal import Overloaded, WriteAheadLog
from loopwise.warehouse import Warehouse
from loopwise.warehouse.schema import UTC_MICROS

log = logging.getLogger(__name__)

__all__ = ["Accepted", "IngestService", "Overloaded"]

FLUSH_INTERVAL_S = 0.1
FLUSH_MAX_BYTES = 64 * 1024 * 1024
STATS_INTERVAL_S = 2.0
SQUASH_INTERVAL_S = 600.0
_NO_SALT = b"\x00" * 32


@dataclass(frozen=True)
class Accepted:
    """What happened to the events of one request."""

    stored: int
    dropped: dict[DropReason, int] = field(default_factory=dict)


class IngestService:
    def __init__(
        self, settings: Settings, sessions: sessionmaker[Session], warehouse: Warehouse
    ) -> None:
        self.mode = _mode(settings)
        self.sessions = sessions
        self.warehouse = warehouse
        self.stats = IngestStats()
        self.policies = Policies(sessions)
        self.keys = WriteKeys(sessions)
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
        self.seeded = self.store.seed()
        if self.wal is not None:
            self.wal.on_commit.append(self._wake)
        self._thread.start()

    # --- the request path ------------------------------------------------------------------

    def prepare(
        self, project_id: int, drafts: Sequence[Draft], received_at: datetime
    ) -> tuple[pa.Table | None, Accepted]:
        """Run the pipeline and build the rows (CPU only; no waiting)."""
        policy = self.policies.policy(project_id)
        salt = self.policies.salt(received_at) if policy.cookieless else _NO_SALT
        context = StepContext(project_id, policy, received_at, salt)
        outcome = run_pipeline(STEPS, drafts, context)
        self.stats.timed(outcome.seconds, len(drafts))
        for reason, count in outcome.drops.items():
            self.stats.count(project_id, received_at, "dropped", reason.value, count)
        accepted = Accepted(len(outcome.kept), dict(outcome.drops))
        if not outcome.kept:
            return None, accepted
        rows = events_to_arrow(project_id, outcome.kept, received_at, person_ids=False)
        return rows, accepted

    async def persist(self, rows: pa.Table) -> None:
        """Return once ``rows`` are durable; raises ``Overloaded`` when they cannot be taken."""
        if self.wal is None:
            await to_thread.run_sync(self.store.store, rows)
            return
        future = self.wal.append(lambda: _ipc_bytes(self._stamped(rows)))
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
        tables = [pa.ipc.open_stream(payload).read_all() for _, payload in records]
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


def _ipc_bytes(rows: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, rows.schema) as writer:
        writer.write_table(rows)
    payload: bytes = sink.getvalue().to_pybytes()
    return payload


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

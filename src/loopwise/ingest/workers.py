"""Parser processes: the CPU-bound half of capture requests on the other cores.

Python runs one thread at a time, so a single server process parses, filters and converts
events on one core however many it has. Bodies of ``POOL_BYTES`` or more (SDK batches) go
to a pool of ``LOOPWISE_INGEST_WORKERS`` processes that run ``prepare.prepare_body`` and
send back Arrow IPC bytes; the server process keeps the network, the write-ahead log and
the flusher. Each parser process opens the app database itself, to resolve write keys and
read privacy settings (cached for a few seconds, as in the server process).

Processes are started with ``spawn`` (never ``fork``: the server has threads running), on
the first large request. If a parser process dies, the pool is rebuilt and that request is
prepared in the server process instead.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime

import pyarrow as pa
from sqlalchemy.orm import Session, sessionmaker

from loopwise.core.cache import TtlCache
from loopwise.core.db import make_engine, session_factory
from loopwise.ingest.pipeline import IngestPolicy
from loopwise.ingest.policies import CACHE_SECONDS, Policies, project_for_key
from loopwise.ingest.prepare import Prepared, RequestInfo, prepare_body

log = logging.getLogger(__name__)
POOL_BYTES = 16 * 1024


def default_workers() -> int:
    """One parser process per core beyond the first, at most eight."""
    return max(0, min(8, (os.cpu_count() or 1) - 1))


class LocalResolver:
    """Write keys and privacy settings from the app database, cached briefly."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._keys: TtlCache[int | None] = TtlCache(CACHE_SECONDS, max_entries=10_000)
        self.policies = Policies(sessions)

    def project_for_key(self, key: str) -> int | None:
        lookup = lambda: project_for_key(self._sessions, key)  # noqa: E731
        return self._keys.get_or_compute(key, lookup, refresh=False)

    def policy(self, project_id: int) -> IngestPolicy:
        return self.policies.policy(project_id)

    def salt(self, moment: datetime) -> bytes:
        return self.policies.salt(moment)


# In a parser process only: its own connection to the app database.
_resolver: LocalResolver | None = None


def _start(database_url: str) -> None:
    global _resolver
    _resolver = LocalResolver(session_factory(make_engine(database_url)))


def _prepare(raw: bytes, info: RequestInfo) -> tuple[Prepared, bytes | None]:
    assert _resolver is not None, "the pool initialiser sets the resolver"
    prepared = prepare_body(raw, info, _resolver)
    payload = None
    if prepared.rows is not None:
        payload = ipc_bytes(prepared.rows)
        prepared.rows = None
    return prepared, payload


def ipc_bytes(rows: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, rows.schema) as writer:
        writer.write_table(rows)
    payload: bytes = sink.getvalue().to_pybytes()
    return payload


class ParserPool:
    """A lazily started pool of parser processes."""

    def __init__(self, database_url: str, workers: int) -> None:
        self._database_url = database_url
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None

    @property
    def started(self) -> bool:
        return self._executor is not None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start,
                initargs=(self._database_url,),
            )
        return self._executor

    async def prepare(self, raw: bytes, info: RequestInfo) -> Prepared | None:
        """The prepared request, or None when the pool failed (prepare it locally)."""
        loop = asyncio.get_running_loop()
        try:
            prepared, payload = await loop.run_in_executor(self._pool(), _prepare, raw, info)
        except BrokenProcessPool:
            log.error("ingestion: a parser process died; restarting the pool")
            self.close()
            return None
        if payload is not None:
            prepared.rows = pa.ipc.open_stream(payload).read_all()
        return prepared

    def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

"""Similar tickets: the nearest solved tickets by meaning, with how each was resolved and
how long it took.

With the embedding model installed, each ticket's text is embedded once and kept with the
ticket; otherwise a TF-IDF index is fitted over the project's solved tickets. Either way the
index is held in the process per project and rebuilt when the solved tickets change; the
search itself is one matrix product (cosine similarity of normalised rows).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loopwise.support import tickets
from loopwise.support.contracts import SimilarTicket
from loopwise.support.models import Ticket, TicketMessage
from loopwise.support.triage.encoders import (
    MiniLMEncoder,
    TextEncoder,
    TfidfEncoder,
    embeddings_available,
)
from loopwise.support.triage.service import ticket_text

MAX_INDEXED = 20_000  # the most recent solved tickets searched
MIN_SIMILARITY = 0.3
SOLVED = ("solved", "closed")


@dataclass
class _Index:
    signature: tuple[int, int, str]
    ids: list[int]
    matrix: Any  # dense rows (embeddings) or a sparse CSR matrix (TF-IDF)
    encoder: TextEncoder


_INDEXES: dict[int, _Index] = {}
_LOCK = threading.Lock()


def _signature(session: Session, project_id: int) -> tuple[int, int, str]:
    count, last_id, last_update = session.execute(
        select(func.count(), func.max(Ticket.id), func.max(Ticket.updated_at))
        .where(Ticket.project_id == project_id)
        .where(Ticket.status.in_(SOLVED))
    ).one()
    return int(count), int(last_id or 0), str(last_update or "")


def _texts(session: Session, project_id: int) -> list[tuple[int, str, bytes | None]]:
    first = tickets.first_customer_messages(TicketMessage.project_id == project_id)
    rows = session.execute(
        select(Ticket.id, Ticket.subject, TicketMessage.body, Ticket.embedding)
        .join(first, first.c.ticket_id == Ticket.id)
        .join(TicketMessage, TicketMessage.id == first.c.message_id)
        .where(Ticket.project_id == project_id)
        .where(Ticket.status.in_(SOLVED))
        .order_by(Ticket.id.desc())
        .limit(MAX_INDEXED)
    ).all()
    return [(i, ticket_text(s, b), e) for i, s, b, e in rows]


def embed_missing(
    session: Session, project_id: int, ticket_ids: list[int], texts: list[str]
) -> None:
    """Store the embeddings of tickets that have none (only with the embedding model)."""
    if not embeddings_available() or not ticket_ids:
        return
    vectors = MiniLMEncoder().encode(texts)
    for ticket_id, vector in zip(ticket_ids, vectors, strict=True):
        row = session.get(Ticket, ticket_id)
        if row is not None and row.project_id == project_id:
            row.embedding = vector.astype(np.float32).tobytes()


def _build(session: Session, project_id: int, signature: tuple[int, int, str]) -> _Index:
    rows = _texts(session, project_id)
    ids = [i for i, _, _ in rows]
    encoder: TextEncoder
    if embeddings_available():
        encoder = MiniLMEncoder()
        missing = [(i, t) for i, t, e in rows if not e]
        embed_missing(session, project_id, [i for i, _ in missing], [t for _, t in missing])
        stored = {i: e for i, _, e in rows if e}
        for i, _ in missing:
            row = session.get(Ticket, i)
            stored[i] = row.embedding if row is not None and row.embedding else b""
        vectors = [np.frombuffer(stored[i], dtype=np.float32) for i in ids]
        matrix = np.vstack(vectors) if vectors else np.zeros((0, encoder.dim), np.float32)
    else:
        tfidf = TfidfEncoder.fit([t for _, t, _ in rows] or ["empty"])
        encoder = tfidf
        # Sparse: a dense TF-IDF matrix of 20,000 tickets would take hundreds of MB.
        matrix = tfidf.encode_sparse([t for _, t, _ in rows])
    return _Index(signature, ids, matrix, encoder)


def _index(session: Session, project_id: int) -> _Index:
    signature = _signature(session, project_id)
    with _LOCK:
        found = _INDEXES.get(project_id)
    if found is not None and found.signature == signature:
        return found
    built = _build(session, project_id, signature)
    with _LOCK:
        _INDEXES[project_id] = built
    return built


def similar_tickets(
    session: Session, project_id: int, text: str, *, exclude: int | None = None, limit: int = 5
) -> list[SimilarTicket]:
    """The ``limit`` solved tickets nearest to ``text`` (similarity at least 0.3)."""
    index = _index(session, project_id)
    if not index.ids:
        return []
    query = index.encoder.encode([text])[0]
    scores = np.asarray(index.matrix @ query).ravel()
    order = np.argsort(-scores)
    chosen: list[tuple[int, float]] = []
    for position in order[: limit + 1]:
        ticket_id, score = index.ids[int(position)], float(scores[int(position)])
        if ticket_id != exclude and score >= MIN_SIMILARITY:
            chosen.append((ticket_id, score))
    return [_described(session, i, s) for i, s in chosen[:limit]]


def _described(session: Session, ticket_id: int, score: float) -> SimilarTicket:
    row = session.get(Ticket, ticket_id)
    assert row is not None
    return SimilarTicket(
        ticket_id=row.id,
        number=row.number,
        subject=row.subject,
        category=row.category,
        similarity=round(score, 3),
        resolution=resolution_of(session, row),
        hours_to_resolve=_hours(row.created_at, row.solved_at),
    )


def resolution_of(session: Session, ticket: Ticket) -> str:
    """The agent's last public reply up to the ticket's solving: how it was resolved."""
    query = (
        select(TicketMessage.body)
        .where(TicketMessage.ticket_id == ticket.id)
        .where(TicketMessage.author_kind == "agent")
        .where(TicketMessage.public.is_(True))
    )
    if ticket.solved_at is not None:
        query = query.where(TicketMessage.created_at <= ticket.solved_at)
    body = session.scalar(query.order_by(TicketMessage.created_at.desc()).limit(1))
    return body or ""


def _hours(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else round((end - start).total_seconds() / 3600, 1)


def forget(project_id: int) -> None:
    with _LOCK:
        _INDEXES.pop(project_id, None)

"""Triage of one ticket, and training the project's model from agents' labels.

The model predicts a *label*: a routine intent where agents labelled one, else an issue
type; the category is the label's parent. Until a project has ``MIN_LABELS`` labelled
tickets in at least two labels, keyword rules decide. Trained models are kept in the app
database (a safe array format) and cached in the process by id.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loopwise.core import audit
from loopwise.core.audit import Actor
from loopwise.core.errors import InvalidInput
from loopwise.support import tickets
from loopwise.support.contracts import (
    ROUTINE_INTENTS,
    Guess,
    TicketContext,
    Triage,
    category_of,
)
from loopwise.support.models import SupportSettings, Ticket, TicketMessage, TriageModel
from loopwise.support.triage import rules
from loopwise.support.triage.classifier import IntentClassifier, evaluate, holdout_split

log = logging.getLogger(__name__)
MIN_LABELS = 20
MAX_TRAINING = 50_000  # the most recent labelled tickets a model learns from
_CACHE: OrderedDict[int, IntentClassifier] = OrderedDict()
_CACHE_SIZE = 8
_LOCK = threading.Lock()


def ticket_text(subject: str, body: str) -> str:
    """What triage and similarity read: the subject and the first message."""
    return f"{subject.strip()}\n{body.strip()}"[:4000]


def latest_model(session: Session, project_id: int) -> TriageModel | None:
    return session.scalar(
        select(TriageModel)
        .where(TriageModel.project_id == project_id)
        .order_by(TriageModel.id.desc())
        .limit(1)
    )


def _classifier(row: TriageModel) -> IntentClassifier:
    with _LOCK:
        found = _CACHE.get(row.id)
        if found is not None:
            _CACHE.move_to_end(row.id)
            return found
    loaded = IntentClassifier.from_bytes(row.blob)
    with _LOCK:
        _CACHE[row.id] = loaded
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return loaded


def triage(
    session: Session, settings: SupportSettings, text: str, context: TicketContext | None
) -> Triage:
    """Every triage field of a ticket's text, each with its confidence and reason."""
    categories = list(settings.categories)
    row = latest_model(session, settings.project_id)
    found = _by_model(row, text, categories) if row is not None else None
    if found is not None:
        intent, category, model = found
    else:
        labels = [*ROUTINE_INTENTS, *categories]
        intent = rules.keyword_label(text, labels)
        category = Guess(category_of(intent.value), intent.confidence, intent.why)
        model = "rules"
    if category.value not in categories:
        category = Guess("other", category.confidence, category.why)
    revenue = context.revenue if context else None
    errors = context.activity.errors_7d if context and context.activity else 0
    return Triage(
        intent=intent if intent.value in ROUTINE_INTENTS else Guess("", 0.0, ""),
        category=category,
        priority=rules.priority(text, category.value, revenue, errors, settings.vip_mrr_minor),
        feature=rules.feature(text, settings.features),
        sentiment=rules.sentiment(text),
        language=rules.language(text),
        model=model,
    )


def _by_model(
    row: TriageModel, text: str, categories: list[str]
) -> tuple[Guess, Guess, str] | None:
    """The model's guesses; None when this process cannot run the model (it was trained
    with sentence embeddings and the ``ml`` extra is not installed here): rules decide."""
    try:
        found = _classifier(row).predict([text])[0]
    except RuntimeError:
        log.warning("support: triage model %s needs the ml extra; keyword rules decide", row.id)
        return None
    # A category's confidence is the sum of its labels' probabilities among the top ones.
    shares: dict[str, float] = {}
    for label, probability in found.ranking:
        key = category_of(label)
        shares[key] = shares.get(key, 0.0) + probability
    category = category_of(found.label)
    nearest = ", ".join(f"{label} {p:.0%}" for label, p in found.ranking)
    why = f"model #{row.id}: {nearest}"
    intent = Guess(found.label, found.confidence, why)
    return intent, Guess(category, min(1.0, shares[category]), why), f"model #{row.id}"


@dataclass(frozen=True)
class TrainingOutcome:
    model_id: int
    labels: int
    encoder: str
    evaluation: dict[str, Any]


def labelled(session: Session, project_id: int) -> tuple[list[str], list[str]]:
    """The texts and labels the model learns from: tickets whose type an agent confirmed
    or corrected, most recent first, with their first customer message."""
    first = tickets.first_customer_messages(TicketMessage.project_id == project_id)
    rows = session.execute(
        select(Ticket.subject, TicketMessage.body, Ticket.label)
        .join(first, first.c.ticket_id == Ticket.id)
        .join(TicketMessage, TicketMessage.id == first.c.message_id)
        .where(Ticket.project_id == project_id)
        .where(Ticket.label != "")
        .order_by(Ticket.id.desc())
        .limit(MAX_TRAINING)
    ).all()
    return [ticket_text(s, b) for s, b, _ in rows], [label for _, _, label in rows]


def train(session: Session, actor: Actor, project_id: int, now: datetime) -> TrainingOutcome:
    """Evaluate on a held-out fifth, then train on every label and store the model."""
    texts, labels = labelled(session, project_id)
    if len(texts) < MIN_LABELS or len(set(labels)) < 2:
        raise InvalidInput(
            "labels",
            f"a model needs at least {MIN_LABELS} labelled tickets in two or more "
            f"types; the project has {len(texts)} in {len(set(labels))}",
        )
    train_texts, train_labels, test_texts, test_labels = holdout_split(texts, labels)
    held_out = IntentClassifier.train(train_texts, train_labels)
    scores = evaluate(held_out, test_texts, test_labels)
    model = IntentClassifier.train(texts, labels)
    evaluation = {
        "accuracy": scores.accuracy,
        "macro_f1": scores.macro_f1,
        "held_out": scores.n,
        "trained_on": len(train_texts),
        "classes": [
            {"label": c.label, "precision": c.precision, "recall": c.recall, "support": c.support}
            for c in scores.per_class
        ],
        "label_counts": dict(Counter(labels).most_common()),
    }
    row = TriageModel(
        project_id=project_id,
        encoder=model.encoder_name,
        labels=len(texts),
        blob=model.to_bytes(),
        evaluation=evaluation,
        trained_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "support.model_trained",
        f"triage model {row.id}",
        project_id=project_id,
        labels=len(texts),
        accuracy=scores.accuracy,
    )
    return TrainingOutcome(row.id, len(texts), row.encoder, evaluation)

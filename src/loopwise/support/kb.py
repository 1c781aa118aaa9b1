"""The knowledge base: markdown articles agents write, or accept from drafts proposed out of
recurring questions, and the articles suggested on a ticket.

An article is a draft until an agent publishes it (audited); only published articles are
suggested. Drafts are proposed from groups of similar solved tickets (``propose_drafts``):
the rule and its thresholds are written down in docs/support.md, "Knowledge base".
Markdown is rendered by ``core.markdown``: without raw HTML, links only to http(s), mailto
or relative addresses.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from loopwise.core import audit
from loopwise.core.audit import Actor
from loopwise.core.errors import InvalidInput, NotFound
from loopwise.core.markdown import render_markdown as render_markdown
from loopwise.support import config, tickets
from loopwise.support.models import KbArticle, Ticket, TicketMessage
from loopwise.support.similar import resolution_of
from loopwise.support.triage.encoders import (
    MiniLMEncoder,
    TextEncoder,
    TfidfEncoder,
    embeddings_available,
)
from loopwise.support.triage.service import ticket_text

ARTICLE_STATUSES = ("draft", "published")
SOLVED = ("solved", "closed")
MAX_TITLE, MAX_BODY = 300, 100_000
MAX_GROUPED = 2_000  # the most recently solved tickets of the window that are grouped
# Cosine similarity at which two texts count as "about the same thing", per encoder: sentence
# embeddings put paraphrases of one question at 0.75-0.95 and different questions about the
# same product below 0.6; TF-IDF (words and character n-grams) puts paraphrases at 0.18-0.4
# and unrelated tickets near 0.05-0.15.
GROUP_SIMILARITY = {"minilm": 0.65, "tfidf": 0.18}
# An article's text against a ticket's: looser, articles being longer and written
# differently from questions.
SUGGEST_SIMILARITY = {"minilm": 0.5, "tfidf": 0.2}
SUGGESTED_BY_MEANING = 3
SUGGESTED_MAX = 5


@dataclass(frozen=True)
class Article:
    id: int
    title: str
    body: str
    status: str
    category: str
    source_tickets: tuple[int, ...]
    created_by: str
    created_at: datetime
    published_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "body": self.body, "status": self.status,
            "category": self.category, "source_tickets": list(self.source_tickets),
            "created_by": self.created_by, "created_at": self.created_at.isoformat(),
            "published_at": self.published_at.isoformat() if self.published_at else None,
        }  # fmt: skip


@dataclass(frozen=True)
class ArticleSuggestion:
    id: int
    title: str
    category: str
    similarity: float | None  # None: suggested for its category only
    why: str


@dataclass(frozen=True)
class Proposal:
    """A draft proposed from a group of similar solved tickets, not yet stored."""

    title: str
    body: str
    category: str
    source_tickets: tuple[int, ...]  # ticket ids, ascending
    numbers: tuple[int, ...]  # the same tickets' numbers
    summary: str  # "6 tickets this week about …"
    cohesion: float  # mean similarity of the tickets to the group's centre

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title, "body": self.body, "category": self.category,
            "source_tickets": list(self.source_tickets), "numbers": list(self.numbers),
            "summary": self.summary, "cohesion": round(self.cohesion, 3),
        }  # fmt: skip


@dataclass(frozen=True)
class Drafted:
    article: Article
    proposal: Proposal


# --- articles ------------------------------------------------------------------------------


def _article(row: KbArticle) -> Article:
    return Article(
        id=row.id, title=row.title, body=row.body, status=row.status, category=row.category,
        source_tickets=tuple(int(t) for t in row.source_tickets or ()),
        created_by=row.created_by, created_at=row.created_at, published_at=row.published_at,
    )  # fmt: skip


def _row(session: Session, project_id: int, article_id: int) -> KbArticle:
    row = session.get(KbArticle, article_id)
    if row is None or row.project_id != project_id:
        raise NotFound(f"article {article_id}")
    return row


def _checked(
    session: Session, project_id: int, title: str, body: str, category: str
) -> tuple[str, str, str]:
    title = " ".join(title.split())
    if not 1 <= len(title) <= MAX_TITLE:
        raise InvalidInput("title", f"is 1 to {MAX_TITLE} characters")
    if len(body) > MAX_BODY:
        raise InvalidInput("body", f"is at most {MAX_BODY:,} characters")
    category = category.strip()
    if category and category not in config.settings_of(session, project_id).categories:
        raise InvalidInput("category", "is one of the project's issue types, or none")
    return title, body.replace("\r\n", "\n"), category


def get_article(session: Session, project_id: int, article_id: int) -> Article:
    """An article of the project; ``NotFound`` for another project's."""
    return _article(_row(session, project_id, article_id))


def list_articles(
    session: Session, project_id: int, *, status: str = "", search: str = "", limit: int = 500
) -> list[Article]:
    """The project's articles, newest first: all, or one status; ``search`` matches titles."""
    if status and status not in ARTICLE_STATUSES:
        raise InvalidInput("status", "is draft or published")
    query = select(KbArticle).where(KbArticle.project_id == project_id)
    if status:
        query = query.where(KbArticle.status == status)
    words = " ".join(search.split())
    if len(words) > 200:
        raise InvalidInput("search", "is at most 200 characters")
    if words:
        escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(KbArticle.title.ilike(f"%{escaped}%", escape="\\"))
    rows = session.scalars(query.order_by(KbArticle.id.desc()).limit(limit))
    return [_article(r) for r in rows]


def create_article(
    session: Session, project_id: int, now: datetime, *, title: str, body: str,
    category: str = "", created_by: str = "", source_tickets: tuple[int, ...] = (),
) -> Article:  # fmt: skip
    """A new draft."""
    title, body, category = _checked(session, project_id, title, body, category)
    row = KbArticle(project_id=project_id, title=title, body=body, status="draft",
                    category=category, source_tickets=sorted(set(source_tickets)),
                    created_by=created_by[:320], created_at=now)  # fmt: skip
    session.add(row)
    session.flush()
    return _article(row)


def update_article(
    session: Session, project_id: int, article_id: int, *, title: str, body: str,
    category: str = "",
) -> Article:  # fmt: skip
    row = _row(session, project_id, article_id)
    if row.status == "published" and not body.strip():
        raise InvalidInput("body", "is required while the article is published")
    row.title, row.body, row.category = _checked(session, project_id, title, body, category)
    session.flush()
    return _article(row)


def publish(
    session: Session, actor: Actor, project_id: int, article_id: int, now: datetime
) -> Article:
    """Publish a draft (audited); publishing a published article changes nothing."""
    row = _row(session, project_id, article_id)
    if not row.body.strip():
        raise InvalidInput("body", "is empty: write the article before publishing it")
    if row.status != "published":
        row.status, row.published_at = "published", now
        audit.record(session, actor, "support.article_published", f"article {row.id}",
                     project_id=project_id, title=row.title)  # fmt: skip
        session.flush()
    return _article(row)


def unpublish(session: Session, project_id: int, article_id: int) -> Article:
    """Back to draft: no longer suggested on tickets."""
    row = _row(session, project_id, article_id)
    row.status, row.published_at = "draft", None
    session.flush()
    return _article(row)


def delete_article(session: Session, project_id: int, article_id: int) -> None:
    session.delete(_row(session, project_id, article_id))
    session.flush()


def source_tickets(
    session: Session, project_id: int, article: Article
) -> list[tuple[int, int, str]]:
    """The article's source tickets that still exist: (id, number, subject)."""
    if not article.source_tickets:
        return []
    rows = session.execute(
        select(Ticket.id, Ticket.number, Ticket.subject)
        .where(Ticket.project_id == project_id)
        .where(Ticket.id.in_(article.source_tickets))
        .order_by(Ticket.number)
    ).all()
    return [(i, n, s) for i, n, s in rows]


# --- the encoder ---------------------------------------------------------------------------


def _encoder(corpus: list[str]) -> TextEncoder:
    """Sentence embeddings where installed, else TF-IDF fitted on ``corpus``."""
    if embeddings_available():
        return MiniLMEncoder()
    return TfidfEncoder.fit(corpus or ["empty"])


def _encode(encoder: TextEncoder, texts: list[str]) -> NDArray[np.float32]:
    if not texts:
        return np.zeros((0, encoder.dim), np.float32)
    return np.asarray(encoder.encode(texts), dtype=np.float32)


def _article_text(title: str, body: str) -> str:
    return ticket_text(title, body)


# --- suggestions on a ticket -----------------------------------------------------------------


@dataclass
class _ArticleIndex:
    signature: tuple[tuple[int, int, int], ...]
    rows: list[tuple[int, str, str]]  # id, title, category
    encoder: TextEncoder
    matrix: NDArray[np.float32]


_INDEXES: dict[int, _ArticleIndex] = {}
_LOCK = threading.Lock()


def _published_index(session: Session, project_id: int) -> _ArticleIndex:
    rows = session.execute(
        select(KbArticle.id, KbArticle.title, KbArticle.body, KbArticle.category)
        .where(KbArticle.project_id == project_id)
        .where(KbArticle.status == "published")
        .order_by(KbArticle.id.desc())
    ).all()
    signature = tuple((i, hash(t), hash(b)) for i, t, b, _ in rows)
    with _LOCK:
        found = _INDEXES.get(project_id)
    if found is not None and found.signature == signature:
        return found
    texts = [_article_text(t, b) for _, t, b, _ in rows]
    encoder = _encoder(texts)
    built = _ArticleIndex(signature, [(i, t, c) for i, t, _, c in rows], encoder,
                          _encode(encoder, texts))  # fmt: skip
    with _LOCK:
        _INDEXES[project_id] = built
    return built


def suggest_articles(
    session: Session, project_id: int, text: str, category: str
) -> list[ArticleSuggestion]:
    """Published articles for a ticket: the (up to) three nearest to its text by meaning,
    then the newest of its category, five at most."""
    index = _published_index(session, project_id)
    chosen: list[ArticleSuggestion] = []
    if index.rows and text.strip():
        scores = index.matrix @ _encode(index.encoder, [text])[0]
        floor = SUGGEST_SIMILARITY.get(index.encoder.name, 0.5)
        for position in np.argsort(-scores, kind="stable")[:SUGGESTED_BY_MEANING]:
            score = float(scores[int(position)])
            if score >= floor:
                i, title, cat = index.rows[int(position)]
                chosen.append(ArticleSuggestion(i, title, cat, round(score, 3),
                                                f"{score:.0%} similar to this ticket"))  # fmt: skip
    taken = {s.id for s in chosen}
    for i, title, cat in index.rows:
        if len(chosen) >= SUGGESTED_MAX:
            break
        if category and cat == category and i not in taken:
            chosen.append(ArticleSuggestion(i, title, cat, None, f"about {cat.replace('_', ' ')}"))
    return chosen


# --- draft proposals from groups of similar solved tickets ---------------------------------


@dataclass(frozen=True)
class _Solved:
    row: Ticket
    message: str  # the first customer message

    @property
    def text(self) -> str:
        return ticket_text(self.row.subject, self.message)


def _solved(session: Session, project_id: int, since: datetime, until: datetime) -> list[_Solved]:
    window = (
        select(Ticket.id)
        .where(Ticket.project_id == project_id)
        .where(Ticket.status.in_(SOLVED))
        .where(Ticket.solved_at >= since)
        .where(Ticket.solved_at <= until)
        .order_by(Ticket.solved_at.desc(), Ticket.id.desc())
        .limit(MAX_GROUPED)
    )
    ids = list(session.scalars(window))
    if not ids:
        return []
    first = tickets.first_customer_messages(TicketMessage.ticket_id.in_(ids))
    rows = session.execute(
        select(Ticket, TicketMessage.body)
        .outerjoin(first, first.c.ticket_id == Ticket.id)
        .outerjoin(TicketMessage, TicketMessage.id == first.c.message_id)
        .where(Ticket.id.in_(ids))
        .order_by(Ticket.id)
    ).all()
    return [_Solved(t, body or "") for t, body in rows]


def _vectors(encoder: TextEncoder, tickets: list[_Solved]) -> NDArray[np.float32]:
    """The tickets' vectors; with sentence embeddings, reusing those similar tickets stored."""
    reuse = encoder.name == "minilm"
    fresh = iter(_encode(encoder, [t.text for t in tickets if not (reuse and _stored(t))]))
    return np.vstack([
        np.frombuffer(t.row.embedding or b"", np.float32) if reuse and _stored(t) else next(fresh)
        for t in tickets
    ]).astype(np.float32)  # fmt: skip


def _stored(ticket: _Solved) -> bool:
    return len(ticket.row.embedding or b"") == MiniLMEncoder().dim * 4


def group(vectors: NDArray[np.float32], threshold: float, min_size: int) -> list[list[int]]:
    """Groups of at least ``min_size`` rows about the same thing, as row positions; two rows
    are *near* when the cosine similarity of these L2-normalised rows is >= ``threshold``.

    Star grouping, deterministic and independent of row order but for ties (which go to
    the first row): the ungrouped row with the most ungrouped near rows (itself included)
    is a centre; it and its near rows make a group, from which rows near fewer than half of
    the group's other rows are dropped (repeatedly), so a ticket that merely touches the
    topic does not join it. The group is kept if it still has ``min_size`` rows; dropped
    rows stay ungrouped. Repeat with the next centre until none has ``min_size`` near rows.
    """
    n = len(vectors)
    if n < min_size:
        return []
    near = (vectors @ vectors.T) >= threshold
    np.fill_diagonal(near, True)
    free = np.ones(n, dtype=bool)
    tried = np.zeros(n, dtype=bool)
    counts = near.sum(axis=1)
    groups: list[list[int]] = []
    while True:
        candidates = np.where(free & ~tried, counts, -1)
        centre = int(np.argmax(candidates))
        if candidates[centre] < min_size:
            return groups
        tried[centre] = True
        members = _cohesive(near, np.flatnonzero(near[centre] & free))
        if len(members) >= min_size:
            groups.append([int(m) for m in members])
            free[members] = False
            counts = counts - near[:, members].sum(axis=1)


def _cohesive(near: NDArray[np.bool_], members: NDArray[np.intp]) -> NDArray[np.intp]:
    """Drop the members near fewer than half of the others, until every one is (the centre,
    near all of them, always stays)."""
    while True:
        others = near[np.ix_(members, members)].sum(axis=1) - 1
        keep = others * 2 >= len(members) - 1
        if keep.all():
            return members
        members = members[keep]


def propose_drafts(
    session: Session, project_id: int, now: datetime, days: int = 7, min_size: int = 5
) -> list[Proposal]:
    """Drafts for the questions that came back at least ``min_size`` times among the
    tickets solved in the ``days`` before ``now`` and that no article covers yet. Computes
    only; writes nothing. Largest groups first."""
    if not 1 <= days <= 366:
        raise InvalidInput("days", "is 1 to 366")
    if not 2 <= min_size <= 1000:
        raise InvalidInput("min_size", "is 2 to 1000")
    tickets = _solved(session, project_id, now - timedelta(days=days), now)
    if len(tickets) < min_size:
        return []
    encoder = _encoder([t.text for t in tickets])
    vectors = _vectors(encoder, tickets)
    threshold = GROUP_SIMILARITY.get(encoder.name, 0.65)
    articles = session.execute(
        select(KbArticle.title, KbArticle.body, KbArticle.source_tickets).where(
            KbArticle.project_id == project_id
        )
    ).all()
    covered_ids = {int(i) for _, _, ids in articles for i in ids or ()}
    article_vectors = _encode(encoder, [_article_text(t, b) for t, b, _ in articles])
    proposals = []
    for members in group(vectors, threshold, min_size):
        centroid = _normalised(vectors[members].mean(axis=0))
        if covered_ids & {tickets[m].row.id for m in members}:
            continue
        if len(article_vectors) and float(np.max(article_vectors @ centroid)) >= threshold:
            continue
        closeness = vectors[members] @ centroid
        ranked = [tickets[members[int(i)]] for i in np.argsort(-closeness, kind="stable")]
        proposals.append(_proposal(session, ranked, float(closeness.mean()), days))
    return sorted(proposals, key=lambda p: (-len(p.source_tickets), p.source_tickets))


def create_drafts(
    session: Session, project_id: int, now: datetime, days: int = 7, min_size: int = 5,
    created_by: str = "",
) -> list[Drafted]:  # fmt: skip
    """Store ``propose_drafts``' proposals as draft articles, skipping any whose source
    tickets an article already has (so running it twice adds nothing)."""
    existing = {
        tuple(sorted(int(i) for i in ids or ()))
        for ids in session.scalars(
            select(KbArticle.source_tickets).where(KbArticle.project_id == project_id)
        )
    }
    drafted = []
    for proposal in propose_drafts(session, project_id, now, days, min_size):
        if proposal.source_tickets in existing:
            continue
        article = create_article(
            session, project_id, now, title=proposal.title, body=proposal.body,
            category=_known_category(session, project_id, proposal.category),
            created_by=created_by, source_tickets=proposal.source_tickets,
        )  # fmt: skip
        existing.add(proposal.source_tickets)
        drafted.append(Drafted(article, proposal))
    return drafted


def _known_category(session: Session, project_id: int, category: str) -> str:
    return category if category in config.settings_of(session, project_id).categories else ""


def _normalised(vector: NDArray[np.float32]) -> NDArray[np.float32]:
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm else vector).astype(np.float32)


# --- writing a proposal --------------------------------------------------------------------

_STOP = frozenset((
    "a", "an", "the", "and", "or", "but", "to", "of", "in", "on", "for", "with", "at", "by",
    "from", "is", "are", "was", "were", "be", "been", "am", "do", "does", "did", "i", "my",
    "me", "we", "our", "you", "your", "it", "its", "this", "that", "can", "can't", "cannot",
    "how", "what", "why", "when", "where", "not", "no", "please", "help", "hi", "hello",
    "there", "issue", "problem", "question", "re", "fwd", "fw",
))  # fmt: skip
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d ().-]{7,}\d")
# What opens a message: "Hi Anna," or "Hello there!", and "Thanks for reaching out."
_OPENING = (
    re.compile(r"^(?i:hi|hello|hey|dear|greetings|good (?:morning|afternoon|evening))"
               r"(?:\s+[\w.'-]+){0,3}\s*(?:[,!.:]\s*|$)"),
    re.compile(r"^(?i:thanks|thank you)(?: so much)? (?i:for) (?i:reaching out|contacting us|"
               r"getting in touch|writing in|your (?:message|patience|e-?mail|question))"
               r"[^.!\n]*(?:[.!]+\s*|$)"),
)  # fmt: skip
_SIGN_OFF = re.compile(
    r"^(?i:best|best regards|kind regards|regards|warm regards|cheers|thanks|thank you|"
    r"many thanks|thanks again|thanks in advance|thanks so much|thx|all the best|sincerely|"
    r"talk soon|--|—)"
    r"(?:[\s,.!]+[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,2})?[\s,.!]*$"
)
_TRAILING_SIGN_OFF = re.compile(
    r"(?<=[.!?])\s+(?i:thanks|thank you|cheers|best|regards)[,!.]*(?:\s+[A-Z][\w.'-]*){0,2}[.!]*$"
)
_PLEASANTRY = re.compile(r"^(?i:hope (?:this|that) helps|let (?:me|us) know if|feel free to|"
                         r"happy to help|have a (?:great|nice|good|lovely))")  # fmt: skip


def _strip_pleasantries(text: str) -> str:
    """Drop the greeting at the top and the sign-off (and what follows it) at the end."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    while lines:
        first = lines[0].strip()
        rest = first
        for opening in _OPENING:
            rest = opening.sub("", rest, count=1)
        if rest == first and first:
            break
        if rest.strip():
            lines[0] = rest[:1].upper() + rest[1:]
        else:
            lines.pop(0)
    for position in range(max(1, len(lines) - 5), len(lines)):
        if _SIGN_OFF.match(lines[position].strip()):
            del lines[position:]
            break
    while lines and (not lines[-1].strip() or _PLEASANTRY.match(lines[-1].strip())):
        lines.pop()
    if lines:
        lines[-1] = _TRAILING_SIGN_OFF.sub("", lines[-1])
    return "\n".join(lines).strip()


def _anonymised(text: str, ticket: Ticket) -> str:
    text = _PHONE.sub("[phone]", _EMAIL.sub("[e-mail]", text))
    for part in sorted(set(ticket.requester_name.split()), key=len, reverse=True):
        if len(part) >= 2:
            text = re.sub(rf"\b{re.escape(part)}\b", "[name]", text)
    return text


def _clean_subject(subject: str) -> str:
    subject = re.sub(r"^\s*(?:(?i:re|fwd?|aw)\s*:\s*|\[[^\]]*\]\s*)+", "", subject)
    subject = " ".join(subject.split()).rstrip(" .!")
    return subject[:1].upper() + subject[1:]


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z][a-z'-]+", text.lower()) if w not in _STOP]


def _title(ranked: list[_Solved]) -> str:
    """The subject of the ticket nearest the group's centre; if it says too little, the
    words most of the group's subjects share."""
    title = _clean_subject(ranked[0].row.subject)
    if len(_words(title)) >= 2:
        return title[:MAX_TITLE]
    counts = Counter(w for t in ranked for w in dict.fromkeys(_words(t.row.subject)))
    common = [w for w, _ in counts.most_common(4)]
    return (" ".join(common).capitalize() or title or "Untitled question")[:MAX_TITLE]


def _answer(session: Session, ranked: list[_Solved]) -> str:
    """The agents' resolution most of the group share, else that of the ticket nearest the
    group's centre (greetings and sign-offs removed)."""
    answers = []
    for t in ranked:
        cleaned = _anonymised(_strip_pleasantries(resolution_of(session, t.row)), t.row)
        if cleaned:
            answers.append(cleaned)
    if not answers:
        return "_No agent reply was found on these tickets: write the answer here._"
    counts = Counter(" ".join(a.lower().split()) for a in answers)
    key, count = counts.most_common(1)[0]
    if count >= 2:
        return next(a for a in answers if " ".join(a.lower().split()) == key)
    return answers[0]


def _period(days: int) -> str:
    return "this week" if days == 7 else "today" if days == 1 else f"in the last {days} days"


def _proposal(session: Session, ranked: list[_Solved], cohesion: float, days: int) -> Proposal:
    top = ranked[0]
    question = _anonymised(_strip_pleasantries(top.message or top.row.subject), top.row)
    quoted = "\n".join(f"> {line}" if line.strip() else ">" for line in question.splitlines())
    ordered = sorted(ranked, key=lambda t: t.row.id)
    numbers = tuple(t.row.number for t in ordered)
    title = _title(ranked)
    body = (
        f"## The question\n\n{quoted}\n\n## The answer\n\n{_answer(session, ranked)}\n\n"
        f"## Tickets\n\n{', '.join(f'#{n}' for n in sorted(numbers))}\n"
    )
    categories = Counter(t.row.category for t in ranked if t.row.category)
    return Proposal(
        title=title, body=body,
        category=categories.most_common(1)[0][0] if categories else "",
        source_tickets=tuple(t.row.id for t in ordered), numbers=numbers,
        summary=f"{len(ranked)} tickets {_period(days)} about “{title}”",
        cohesion=cohesion,
    )  # fmt: skip

"""Suggested replies: a saved response template for the ticket's intent or type, else the
resolution of the most similar solved ticket, with the greeting and variables filled from
the requester's context; optionally rewritten by an OpenAI-compatible endpoint.

Templates use ``{{ variable }}`` placeholders, replaced by plain text substitution (never a
template engine: templates are written by users and must not run code). Variables: name,
first_name, email, plan, mrr, next_billing_date, ticket_number, subject, agent_name, link.
Unknown or empty variables are left visible (``{{ plan }}``) so the agent sees the gap.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date

import httpx2 as httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from loopwise.core.currency import minor_unit
from loopwise.support.contracts import SimilarTicket, Suggestion, TicketContext, category_of
from loopwise.support.models import ResponseTemplate, SupportSettings, Ticket

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
_GREETING = re.compile(
    r"^(hi|hello|hey|dear|good (morning|afternoon|evening))\b[^\n,]*,?", re.IGNORECASE
)
MIN_REUSE = 0.5  # a similar ticket's resolution is offered from this similarity up
LLM_TIMEOUT = 15.0


def variables(ticket: Ticket, context: TicketContext | None, agent: str = "") -> dict[str, str]:
    name = (context.name if context and context.name else ticket.requester_name).strip()
    revenue = context.revenue if context else None
    values = {
        "name": name,
        "first_name": name.split(" ")[0] if name else "",
        "email": ticket.requester_email,
        "ticket_number": str(ticket.number),
        "subject": ticket.subject,
        "agent_name": agent,
        "plan": revenue.plan if revenue else "",
        "next_billing_date": _day(revenue.next_billing) if revenue else "",
        "mrr": _money(revenue.mrr_minor, revenue.currency) if revenue else "",
    }
    return values


def _day(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%-d %B %Y") if iso else ""


def _money(minor: int, currency: str) -> str:
    return f"{minor / minor_unit(currency):,.2f} {currency.upper()}"


def fill(template: str, values: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        return values.get(match.group(1)) or match.group(0)

    return _PLACEHOLDER.sub(one, template)


def template_for(
    session: Session, project_id: int, intent: str, category: str
) -> ResponseTemplate | None:
    """The template saved for the intent, else for the category."""
    for key in (intent, category):
        if not key:
            continue
        found = session.scalar(
            select(ResponseTemplate)
            .where(ResponseTemplate.project_id == project_id)
            .where(ResponseTemplate.category == key)
            .order_by(ResponseTemplate.id)
            .limit(1)
        )
        if found is not None:
            return found
    return None


_CLOSING = re.compile(
    r"^(cheers|best|thanks|thank you|many thanks|regards|kind regards|best regards|"
    r"best wishes|all the best|warm regards|talk soon)[,!.]?$",
    re.IGNORECASE,
)


def readdress(text: str, first_name: str, agent: str) -> str:
    """Another ticket's reply, addressed to this requester and signed by this agent: the
    greeting names the requester, and a short signature after a closing line ("Cheers,")
    becomes the agent's name (or goes, when the agent is unknown)."""
    greeting = f"Hi {first_name}," if first_name else "Hi,"
    stripped = text.strip()
    if _GREETING.match(stripped):
        stripped = _GREETING.sub(greeting, stripped, count=1)
    else:
        stripped = f"{greeting}\n\n{stripped}"
    lines = stripped.split("\n")
    if len(lines) >= 2 and len(lines[-1].split()) <= 3 and _CLOSING.match(lines[-2].strip()):
        lines = lines[:-1] + ([agent] if agent else [])
    return "\n".join(lines).rstrip()


def suggest(
    session: Session,
    ticket: Ticket,
    context: TicketContext | None,
    similar: list[SimilarTicket],
    agent: str = "",
) -> Suggestion:
    """A draft for the agent, or an empty suggestion when nothing fits (never filler)."""
    values = variables(ticket, context, agent)
    intent = str((ticket.analysis.get("triage") or {}).get("intent", {}).get("value") or "")
    template = template_for(session, ticket.project_id, intent, category_of(ticket.category))
    settings = session.get(SupportSettings, ticket.project_id)
    if settings is not None and intent:
        values["link"] = str((settings.auto_resolution.get(intent) or {}).get("link", ""))
    if template is not None:
        return Suggestion(
            fill(template.body, values), f"template: {template.name}", template=template.name
        )
    for found in similar:
        if found.similarity >= MIN_REUSE and found.resolution:
            text = readdress(found.resolution, values["first_name"], agent)
            return Suggestion(text, f"similar ticket #{found.number}", based_on=(found.ticket_id,))
    return Suggestion("", "")


class RewriteFailed(Exception):
    """The language model did not give a usable answer; ``str()`` says why."""


def rewrite(url: str, model: str, key: str, draft: str, customer_message: str) -> str:
    """Ask an OpenAI-compatible ``/chat/completions`` endpoint to polish the draft. Only
    the draft and the customer's message are sent."""
    body = {
        "model": model or "default",
        "temperature": 0.2,
        "messages": [
            {
                "role": "system",
                "content": "You rewrite a support agent's draft reply so it "
                "answers the customer's message clearly and kindly. Keep every fact, link and "
                "number of the draft; add none. Answer with the reply only.",
            },
            {
                "role": "user",
                "content": f"Customer:\n{customer_message[:4000]}\n\nDraft:\n{draft[:4000]}",
            },
        ],
    }
    headers = {"content-type": "application/json"}
    if key:
        headers["authorization"] = f"Bearer {key}"
    endpoint = url.rstrip("/") + "/chat/completions"
    try:
        response = httpx.post(
            endpoint,
            content=json.dumps(body),
            headers=headers,
            timeout=LLM_TIMEOUT,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        raise RewriteFailed(f"could not reach the model: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise RewriteFailed(f"the model answered {response.status_code}")
    try:
        text = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise RewriteFailed("the model's answer has no choices[0].message.content") from None
    if not isinstance(text, str) or not text.strip():
        raise RewriteFailed("the model answered with no text")
    return text.strip()

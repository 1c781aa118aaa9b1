"""Quick actions on one person, from their page or the API: a note, a tag, the VIP mark,
an e-mail, a support ticket, a complimentary subscription or credit.

Every action is checked in full before anything is written, and an e-mail is sent before
anything is recorded, so bad input or a refused delivery leaves no trace. A done action
writes one ``PersonAction`` row (the timeline shows it) and one audit entry whose target
is the person. Work that belongs to another area goes through its facade: tickets are
created by support (this person as requester, the team as author), grants are recorded as
billing requests by revenue (no billing object changes), e-mails use support's templates
and the instance's mail server. The caller commits.

Text the team types is refused when it holds a NUL character (PostgreSQL stores none in
text); an e-mail subject is one line, and the values filled into it are made one line.
A tag is ``clean_tag``'s, and tags compare whatever their letter case. Bulk actions
(``people.bulk``) follow the same rules through the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from loopwise.core import audit
from loopwise.core.audit import Actor
from loopwise.core.currency import to_minor
from loopwise.core.errors import InvalidInput
from loopwise.core.notify import DeliveryError
from loopwise.ingest.facade import PersonInfo, person_by_id
from loopwise.people.contracts import (
    Action,
    ActionDone,
    EmailAction,
    GrantAction,
    NoteAction,
    TagAction,
    TicketAction,
    VipAction,
)
from loopwise.people.identity import person_email, person_name
from loopwise.people.models import PersonAction, PersonSummary
from loopwise.people.refresh import refresh_person, summary_of
from loopwise.people.timeline import grant_words, money, ticket_link
from loopwise.revenue.facade import person_billing, record_billing_request, revenue_rules
from loopwise.support.facade import Mailer, NewTicket, fill_template, fill_text, record_ticket
from loopwise.warehouse import Warehouse

MAX_TAGS = 50  # tags on one person
MAX_TAG = 50  # characters in one tag
LINE_BREAKS = frozenset("\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029")
AUDIT = {
    "note": "person.note_added", "tag": "person.tagged", "untag": "person.untagged",
    "vip": "person.vip_changed", "email": "person.email_sent",
    "ticket": "person.ticket_created", "grant": "person.grant_requested",
}  # fmt: skip


# --- text the team types ---------------------------------------------------------------------


def clean_tag(text: str) -> str:
    """A tag as stored: blanks at either end dropped and runs of blanks made one space;
    1 to ``MAX_TAG`` printable characters, else ``InvalidInput`` naming ``tag``."""
    tag = " ".join(text.split())
    if not 1 <= len(tag) <= MAX_TAG or not tag.isprintable():
        raise InvalidInput("tag", f"is 1 to {MAX_TAG} printable characters")
    return tag


def tag_among(tag: str, tags: list[str]) -> str | None:
    """The tag of ``tags`` that is ``tag`` whatever the letter case (tags keep the case
    they were first given in), or None."""
    wanted = tag.casefold()
    return next((t for t in tags if t.casefold() == wanted), None)


def no_nul(field: str, text: str) -> str:
    """``text``, refused when it holds a NUL character (no database stores one in text)."""
    if "\x00" in text:
        raise InvalidInput(field, "holds a NUL character")
    return text


def one_line(text: str) -> str:
    """``text`` as one line: control characters and runs of blanks become one space."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def subject_line(text: str) -> str:
    """A subject as typed: refused with a line break or a NUL character (a mail header is
    one line), other control characters and runs of blanks made one space."""
    if any(ch in LINE_BREAKS for ch in no_nul("subject", text)):
        raise InvalidInput("subject", "is one line, without line breaks")
    return one_line(text)


@dataclass(frozen=True)
class _Done:
    """What an action did, before it is recorded."""

    body: str
    details: dict[str, Any]
    message: str
    link: str = ""


def act(
    session: Session,
    warehouse: Warehouse,
    actor: Actor,
    project_id: int,
    person_id: str,
    action: Action,
    now: datetime,
    *,
    mailer: Mailer | None,
    sender: str,
    author: str,
) -> ActionDone:
    """Do one quick action on a person of the project (``NotFound`` otherwise) and record
    it; ``InvalidInput`` naming the field for bad input, with nothing written."""
    person = person_by_id(session, project_id, person_id)
    ctx = _Context(session, warehouse, project_id, person, now, author)
    if isinstance(action, NoteAction):
        done = _note(action)
    elif isinstance(action, TagAction):
        done = _tag(ctx, action)
    elif isinstance(action, VipAction):
        done = _vip(ctx, action)
    elif isinstance(action, EmailAction):
        done = _email(ctx, action, mailer, sender)
    elif isinstance(action, TicketAction):
        done = _ticket(ctx, action)
    else:
        done = _grant(ctx, actor, action)
    row = PersonAction(project_id=project_id, person_id=person.id, kind=action.kind, at=now,
                       author=author[:320], body=done.body, details=done.details)  # fmt: skip
    session.add(row)
    session.flush()
    audit.record(session, actor, AUDIT[action.kind], person.id, project_id=project_id,
                 action_id=row.id, **done.details)  # fmt: skip
    return ActionDone(action.kind, row.id, done.message, done.link)


@dataclass(frozen=True)
class _Context:
    session: Session
    warehouse: Warehouse
    project_id: int
    person: PersonInfo
    now: datetime
    author: str

    def summary(self) -> PersonSummary:
        """The person's summary row, computed first when they have none yet."""
        found = summary_of(self.session, self.project_id, self.person.id)
        if found is None:
            found = refresh_person(self.session, self.warehouse, self.project_id,
                                   self.person.id, self.now)  # fmt: skip
        return found


def _note(action: NoteAction) -> _Done:
    body = no_nul("body", action.body).strip()
    if not body:
        raise InvalidInput("body", "write the note first")
    return _Done(body, {"length": len(body)}, "Note added.")


def _tag(ctx: _Context, action: TagAction) -> _Done:
    tag = clean_tag(action.tag)
    summary = ctx.summary()
    tags = list(summary.tags or [])
    found = tag_among(tag, tags)
    if action.kind == "tag":
        if found is not None:
            raise InvalidInput("tag", f"“{found}” is already on this person")
        if len(tags) >= MAX_TAGS:
            raise InvalidInput("tag", f"a person has at most {MAX_TAGS} tags")
        summary.tags = sorted([*tags, tag], key=str.casefold)
        return _Done("", {"tag": tag}, f"Tagged “{tag}”.")
    if found is None:
        raise InvalidInput("tag", f"“{tag}” is not on this person")
    summary.tags = [t for t in tags if t != found]
    return _Done("", {"tag": found}, f"Removed the tag “{found}”.")


def _vip(ctx: _Context, action: VipAction) -> _Done:
    summary = ctx.summary()
    was, summary.vip = bool(summary.vip), action.vip
    message = "Marked as VIP." if action.vip else "VIP mark removed."
    return _Done("", {"vip": action.vip, "was": was}, message)


# --- e-mail ------------------------------------------------------------------------------------


def template_values(ctx: _Context) -> dict[str, str]:
    """The variables of a response template, for this person (as support fills them)."""
    name = person_name(ctx.person.properties)
    billing = person_billing(ctx.session, ctx.project_id, ctx.person.id, ctx.now)
    values = {"name": name, "first_name": name.split(" ")[0] if name else "",
              "email": person_email(ctx.person.properties), "agent_name": ctx.author}  # fmt: skip
    if billing is not None:
        values["plan"] = billing.plan
        values["mrr"] = money(billing.mrr_minor, billing.currency)
        if billing.next_billing is not None:
            values["next_billing_date"] = billing.next_billing.strftime("%-d %B %Y")
    return values


def _email(ctx: _Context, action: EmailAction, mailer: Mailer | None, sender: str) -> _Done:
    address = person_email(ctx.person.properties)
    if not address:
        raise InvalidInput("email", "this person has no e-mail address (their email property)")
    if mailer is None:
        raise InvalidInput("smtp", "no mail server is set up (LOOPWISE_SMTP_URL)")
    values = template_values(ctx)
    subject, body = subject_line(action.subject), no_nul("body", action.body)
    if action.template_id is not None:
        found = fill_template(ctx.session, ctx.project_id, action.template_id, values)
        if found is None:
            raise InvalidInput("template_id", "is not a response template of this project")
        subject, body = subject or one_line(found[0]), body if body.strip() else found[1]
    # A value may hold a line break (a name as the person typed it): one line in a subject.
    subject = fill_text(subject, {k: one_line(v) for k, v in values.items()})
    body = no_nul("body", fill_text(body, values))
    if not subject:
        raise InvalidInput("subject", "is required")
    if not body.strip():
        raise InvalidInput("body", "is required (or choose a template)")
    try:
        mailer(address, subject, body)
    except (DeliveryError, ValueError) as exc:
        raise InvalidInput("email", f"could not be sent: {exc}") from None
    details = {"to": address, "subject": subject, "from": sender,
               "template_id": action.template_id}  # fmt: skip
    return _Done(body, details, f"E-mail sent to {address}.")


# --- ticket and grant --------------------------------------------------------------------------


def _ticket(ctx: _Context, action: TicketAction) -> _Done:
    subject, body = one_line(no_nul("subject", action.subject)), no_nul("body", action.body)
    if not subject:
        raise InvalidInput("subject", "is required")
    props = ctx.person.properties
    email, ids = person_email(props), ctx.person.distinct_ids
    if not email and not ids:
        raise InvalidInput("requester", "this person has neither an e-mail address nor an id")
    new = NewTicket(
        subject=subject, body=body, requester_email=email,
        requester_name=person_name(props), requester_user_id=ids[0] if ids else "",
        channel="web", source="agent", priority=action.priority, created_at=ctx.now,
    )  # fmt: skip
    received = record_ticket(ctx.session, ctx.project_id, new, ctx.now)
    link = ticket_link(ctx.project_id, received.ticket_id)
    details = {
        "ticket_id": received.ticket_id,
        "number": received.number,
        "subject": subject,
        "priority": action.priority,
    }
    return _Done(body, details, f"Ticket #{received.number} created.", link)


def _grant(ctx: _Context, actor: Actor, action: GrantAction) -> _Done:
    reason, plan = no_nul("reason", action.reason).strip(), no_nul("plan", action.plan).strip()
    currency = revenue_rules(ctx.session, ctx.project_id).currency
    amount = to_minor(Decimal(str(action.amount)), currency) if action.grant == "credit" else 0
    request_id = record_billing_request(
        ctx.session, actor, ctx.project_id, ctx.person.id, kind=action.grant,
        months=action.months, plan=plan, amount_minor=amount, reason=reason,
        requested_by=ctx.author, now=ctx.now,
    )  # fmt: skip
    details = {"request_id": request_id, "grant": action.grant, "currency": currency,
               "months": action.months if action.grant == "complimentary" else 0,
               "plan": plan if action.grant == "complimentary" else "",
               "amount_minor": amount}  # fmt: skip
    return _Done(reason, details, f"Requested {grant_words(details)}.")

"""One action on everyone a filter selects: add a tag, export a CSV, add to a cohort,
send an e-mail.

Each reads the selection once (``filters.selected_ids``, refused beyond ``MAX_BULK``
people, ``MAX_EXPORT`` for an export), acts, and writes one audit entry with the count.
Tags and e-mails also land on each person's timeline as a ``person_actions`` row.

An e-mail goes out in two steps so nobody mails thousands of customers by accident:
without ``confirm`` the answer is a preview (how many will receive it, the first three
messages as rendered, how many are skipped for want of an address) and nothing is sent;
with ``confirm`` each message is sent and logged, and a failed delivery is recorded for
that person without stopping the rest. Only a person whose stored address is exactly one
valid address (``identity.valid_email``) receives it; the others are skipped and counted
as people without an address, so a property holding a list of addresses reaches no one.
Messages are plain text with variables ``{{name}}``, ``{{first_name}}``, ``{{email}}``,
``{{plan}}`` and ``{{account}}``, replaced by plain substitution as in support's
templates (made one line in the subject); a person without a value gets an empty text,
and a variable a bulk e-mail cannot fill is refused before anything goes. Tags and text
follow the rules of the quick actions (``actions.clean_tag``, no NUL character, a
one-line subject).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from loopwise.core import audit
from loopwise.core.audit import Actor
from loopwise.core.currency import exponent
from loopwise.core.errors import InvalidInput
from loopwise.core.notify import DeliveryError
from loopwise.people.actions import clean_tag, no_nul, one_line, subject_line, tag_among
from loopwise.people.contracts import MAX_BULK, MAX_EXPORT, BulkAction, PersonRow
from loopwise.people.filters import rows_by_id, selected_ids
from loopwise.people.identity import valid_email
from loopwise.people.models import PersonAction, PersonSummary
from loopwise.product.facade import add_to_cohort
from loopwise.support.facade import Mailer, templates
from loopwise.warehouse import Warehouse

PREVIEWS = 3
CHUNK = 500
VARIABLES = ("name", "first_name", "email", "plan", "account")
CSV_COLUMNS = ("person_id", "email", "name", "account", "plan", "mrr", "billing_status",
               "health", "band", "last_seen", "created_at", "tags")  # fmt: skip
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class BulkOutcome:
    kind: str
    count: int  # people the action covered (recipients, for an e-mail)
    message: str  # what happened, in words
    csv_text: str | None = None
    preview: list[tuple[str, str, str]] | None = None  # (to, subject, body)
    sent: int = 0
    failed: list[str] = field(default_factory=list)  # addresses a delivery failed for


def run_bulk(
    session: Session,
    warehouse: Warehouse,
    actor: Actor,
    project_id: int,
    action: BulkAction,
    now: datetime,
    *,
    currency: str,
    mailer: Mailer | None,
    sender: str,
) -> BulkOutcome:
    """Run ``action`` on the people its filter selects at ``now``."""
    if action.kind == "email":
        return _email(session, warehouse, actor, project_id, action, now, currency, mailer,
                      sender)  # fmt: skip
    tag = clean_tag(action.tag) if action.kind == "tag" else ""
    name = _cohort_name(action) if action.kind == "cohort" else ""
    ids = _selected(session, warehouse, project_id, action, now, currency)
    if action.kind == "export":
        return _export(session, actor, project_id, ids, currency)
    if action.kind == "tag":
        return _tag(session, actor, project_id, ids, tag, now)
    return _cohort(session, actor, project_id, ids, action.cohort_id, name)


def _selected(
    session: Session,
    warehouse: Warehouse,
    project_id: int,
    action: BulkAction,
    now: datetime,
    currency: str,
) -> list[str]:
    """The people the action's filter selects, up to its kind's cap; refused when it
    selects no one (an export may be empty)."""
    cap = MAX_EXPORT if action.kind == "export" else MAX_BULK
    ids = selected_ids(session, warehouse, project_id, action.filter, now, cap=cap,
                       currency=currency)  # fmt: skip
    if not ids and action.kind != "export":
        raise InvalidInput("filter", "the filter selects no one")
    return ids


def _tag(
    session: Session, actor: Actor, project_id: int, ids: list[str], tag: str, now: datetime
) -> BulkOutcome:
    added = 0
    for first in range(0, len(ids), CHUNK):
        query = (
            select(PersonSummary)
            .where(PersonSummary.project_id == project_id)
            .where(PersonSummary.person_id.in_(ids[first : first + CHUNK]))
        )
        for row in session.scalars(query):
            if tag_among(tag, row.tags or []) is not None:
                continue
            row.tags = [*(row.tags or []), tag]
            session.add(PersonAction(project_id=project_id, person_id=row.person_id,
                                     kind="tag", at=now, author=actor.label[:320], body=tag,
                                     details={"bulk": True, "tag": tag}))  # fmt: skip
            added += 1
    audit.record(session, actor, "people.tagged", tag, project_id=project_id,
                 count=len(ids), added=added)  # fmt: skip
    had = len(ids) - added
    already = f" ({had:,} already had it)" if had else ""
    return BulkOutcome("tag", len(ids), f"Tagged {added:,} people “{tag}”{already}.")


def _export(
    session: Session, actor: Actor, project_id: int, ids: list[str], currency: str
) -> BulkOutcome:
    rows = rows_by_id(session, project_id, ids)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow([
            r.person_id, _safe(r.email), _safe(r.name), _safe(r.account), _safe(r.plan),
            _units(r.mrr_minor, currency), r.billing_status,
            "" if r.health is None else r.health, r.band, _iso(r.last_seen), _iso(r.created_at),
            _safe("; ".join(r.tags)),
        ])  # fmt: skip
    audit.record(session, actor, "people.exported", f"{len(rows)} people",
                 project_id=project_id, count=len(rows))  # fmt: skip
    return BulkOutcome("export", len(rows), f"Exported {len(rows):,} people.", out.getvalue())


def _cohort_name(action: BulkAction) -> str:
    """The new cohort's name ("" for an existing cohort), checked: one or the other."""
    name = " ".join(action.cohort_name.split())
    if not name.isprintable():
        raise InvalidInput("cohort_name", "name the cohort with printable text")
    if action.cohort_id is None and not name:
        raise InvalidInput("cohort_id", "choose a cohort or name a new one")
    if action.cohort_id is not None and name:
        raise InvalidInput("cohort_name", "choose an existing cohort or name a new one, not both")
    return name


def _cohort(
    session: Session, actor: Actor, project_id: int, ids: list[str], cohort_id: int | None,
    name: str,
) -> BulkOutcome:  # fmt: skip
    cohort = add_to_cohort(session, actor, project_id, ids, cohort_id=cohort_id, name=name)
    audit.record(session, actor, "people.added_to_cohort", cohort.name, project_id=project_id,
                 cohort_id=cohort.id, count=len(ids))  # fmt: skip
    return BulkOutcome("cohort", len(ids), f"Added {len(ids):,} people to “{cohort.name}”.")


# --- e-mail ---------------------------------------------------------------------------------


def _email(
    session: Session,
    warehouse: Warehouse,
    actor: Actor,
    project_id: int,
    action: BulkAction,
    now: datetime,
    currency: str,
    mailer: Mailer | None,
    sender: str,
) -> BulkOutcome:
    if mailer is None:
        raise InvalidInput("email", "no SMTP server is configured: set LOOPWISE_SMTP_URL "
                           "to send e-mail")  # fmt: skip
    subject, body = _content(session, project_id, action)
    ids = _selected(session, warehouse, project_id, action, now, currency)
    people = rows_by_id(session, project_id, ids)
    recipients = [(p, to) for p in people if (to := valid_email(p.email))]
    skipped = len(people) - len(recipients)
    if not recipients:
        raise InvalidInput("filter", "no one the filter selects has a valid e-mail address")
    messages = [(to, fill(subject, p, to, line=True), fill(body, p, to)) for p, to in recipients]
    without = f"; {skipped:,} without a valid e-mail address are skipped" if skipped else ""
    if not action.confirm:
        message = f"Ready to send to {len(messages):,} people{without}. Nothing is sent yet."
        return BulkOutcome("email", len(messages), message, preview=messages[:PREVIEWS])
    failed: list[str] = []
    for (person, _), (to, title, text) in zip(recipients, messages, strict=True):
        try:
            mailer(to, title, text)
            status = "sent"
        except (DeliveryError, ValueError) as exc:  # ValueError: a header the mail refused
            status = f"failed: {exc}"[:200]
            failed.append(to)
        session.add(PersonAction(project_id=project_id, person_id=person.person_id,
                                 kind="email", at=now, author=actor.label[:320], body=text,
                                 details={"subject": title, "status": status, "to": to,
                                          "from": sender, "bulk": True}))  # fmt: skip
    sent = len(messages) - len(failed)
    audit.record(session, actor, "people.emailed", subject[:200], project_id=project_id,
                 recipients=len(messages), sent=sent, failed=len(failed),
                 skipped=skipped)  # fmt: skip
    lost = f", {len(failed):,} failed" if failed else ""
    return BulkOutcome("email", len(messages), f"Sent {sent:,} e-mails{lost}{without}.",
                       sent=sent, failed=failed)  # fmt: skip


def _content(session: Session, project_id: int, action: BulkAction) -> tuple[str, str]:
    """The subject and body to send: a support response template (its name as the
    subject unless one is given) or the text written; every variable must be fillable."""
    subject, body = subject_line(action.subject), no_nul("body", action.body)
    where = "body"
    if action.template_id is not None:
        found = [t for t in templates(session, project_id) if t.id == action.template_id]
        if not found:
            raise InvalidInput("template_id", f"there is no template {action.template_id}")
        subject, where = subject or one_line(found[0].name), "template_id"
        body = no_nul(where, found[0].body)
    if not subject:
        raise InvalidInput("subject", "give the e-mail a subject")
    if not body.strip():
        raise InvalidInput("body", "write the message")
    for text, name in ((subject, "subject"), (body, where)):
        unknown = sorted({v for v in _PLACEHOLDER.findall(text) if v not in VARIABLES})
        if unknown:
            raise InvalidInput(name, f"{{{{{unknown[0]}}}}} cannot be filled in a bulk e-mail; "
                               f"use {', '.join(VARIABLES)}")  # fmt: skip
    return subject, body


def fill(text: str, person: PersonRow, email: str, *, line: bool = False) -> str:
    """``text`` with its variables replaced by the person's values (``email``: their
    checked address); ``line``: each value made one line, for a subject."""
    first = person.name.split()[0] if person.name.strip() else ""
    values = {"name": person.name, "first_name": first, "email": email,
              "plan": person.plan, "account": person.account}  # fmt: skip
    if line:
        values = {k: one_line(v) for k, v in values.items()}
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _units(minor: int, currency: str) -> str:
    places = exponent(currency)
    amount = Decimal(minor).scaleb(-places)
    return str(amount.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP))


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else ""


def _safe(text: str) -> str:
    """A cell a spreadsheet will not read as a formula."""
    return "'" + text if text.startswith(_FORMULA) else text

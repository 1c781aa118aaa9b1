"""Support's scheduled work: retraining triage models as agents' labels grow, and the
monthly top-issues report by e-mail. Each job parses nothing and calls the area's code."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from loopwise.core.audit import Actor
from loopwise.core.errors import InvalidInput
from loopwise.core.jobs import Job, JobContext
from loopwise.core.notify import DeliveryError, send_email
from loopwise.support.models import SupportSettings, Ticket
from loopwise.support.report import render_top_issues_text, top_issues
from loopwise.support.triage.service import MIN_LABELS, latest_model, train

log = logging.getLogger(__name__)
JOB_ACTOR = Actor("job: support")
# Retrain when the labels grew by this share since the last model (or when there is none).
GROWTH = 0.1


def retrain(context: JobContext, now: datetime) -> str:
    trained = []
    with context.sessions() as session:
        counts = session.execute(
            select(Ticket.project_id, func.count())
            .where(Ticket.label != "")
            .group_by(Ticket.project_id)
        ).all()
    for project_id, count in counts:
        with context.sessions() as session, session.begin():
            model = latest_model(session, project_id)
            grown = model is None or count >= model.labels * (1 + GROWTH)
            if count < MIN_LABELS or not grown:
                continue
            try:
                outcome = train(session, JOB_ACTOR, project_id, now)
            except InvalidInput:
                continue  # too few types yet
            trained.append(
                f"project {project_id}: model {outcome.model_id} "
                f"({outcome.evaluation['accuracy']:.0%} held out)"
            )
    return "; ".join(trained) or "no project had enough new labels"


def previous_month(today: date) -> date:
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def monthly_report(context: JobContext, now: datetime) -> str:
    """E-mail last month's top issues to each project's recipients, once per month."""
    month = previous_month(now.date())
    label = month.strftime("%Y-%m")
    smtp = context.settings.smtp_url
    sent = []
    with context.sessions() as session:
        due = session.scalars(
            select(SupportSettings.project_id)
            .where(SupportSettings.report_to != "")
            .where(SupportSettings.report_sent_month < label)
        ).all()
    for project_id in due:
        with context.sessions() as session, session.begin():
            row = session.get(SupportSettings, project_id)
            if row is None:
                continue
            if smtp is None:
                return "no SMTP server is configured (LOOPWISE_SMTP_URL)"
            report = top_issues(session, project_id, month)
            recipients = [a.strip() for a in row.report_to.split(",") if a.strip()]
            try:
                send_email(
                    smtp.get_secret_value(),
                    context.settings.smtp_from,
                    recipients,
                    f"[Loopwise] Top support issues, {month:%B %Y}",
                    render_top_issues_text(report),
                )
            except DeliveryError as exc:
                log.warning(
                    "support: the monthly report for project %s failed: %s", project_id, exc
                )
                continue
            row.report_sent_month = label
            sent.append(str(project_id))
    return f"sent the {label} report for project(s) {', '.join(sent)}" if sent else "none due"


JOBS = (
    Job(
        "support.retrain",
        "Retrain triage models where agents added labels",
        retrain,
        every=timedelta(days=1),
        at_hour=3,
        lease=timedelta(hours=2),
    ),
    Job(
        "support.monthly_report",
        "E-mail last month's top support issues",
        monthly_report,
        every=timedelta(days=1),
        at_hour=6,
    ),
)

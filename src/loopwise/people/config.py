"""A project's people settings: the health bands, the weight of each part of the score,
the MRR that makes a person a VIP, the person property naming their account and the
address e-mails from the area are sent from.

A project that saved nothing gets the defaults (``contracts.PeopleConfig``); saved weights
are merged over the default ones, so a component added later has its default weight
until someone changes it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy.orm import Session

from loopwise.core import audit
from loopwise.core.audit import Actor
from loopwise.core.db import utcnow
from loopwise.core.errors import InvalidInput
from loopwise.people.contracts import COMPONENTS, DEFAULT_WEIGHTS, PeopleConfig
from loopwise.people.models import PeopleSettings

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL = 320
MAX_PROPERTY = 200
MAX_VIP_MRR = 10**12  # minor units; far above any one person's MRR


def config_of(session: Session, project_id: int) -> PeopleConfig:
    """The project's settings, or the defaults."""
    row = session.get(PeopleSettings, project_id)
    if row is None:
        return PeopleConfig()
    return PeopleConfig(
        healthy_from=row.healthy_from,
        at_risk_from=row.at_risk_from,
        weights=_merged(row.weights or {}),
        vip_mrr_minor=row.vip_mrr_minor,
        account_property=row.account_property,
        mail_from=row.mail_from,
    )


def save_config(
    session: Session,
    actor: Actor,
    project_id: int,
    *,
    healthy_from: int,
    at_risk_from: int,
    weights: dict[str, int],
    vip_mrr_minor: int,
    account_property: str,
    mail_from: str,
) -> PeopleConfig:
    """Check and store the project's settings; audited. Scores follow the new bands and
    weights at the next recompute."""
    _check_bands(healthy_from, at_risk_from)
    clean = _check_weights(weights)
    if not 0 <= vip_mrr_minor <= MAX_VIP_MRR:
        raise InvalidInput("vip_mrr", "is zero or more")
    prop = account_property.strip()
    if not 1 <= len(prop) <= MAX_PROPERTY:
        raise InvalidInput("account_property", f"is 1 to {MAX_PROPERTY} characters")
    sender = mail_from.strip()
    if sender and (len(sender) > MAX_EMAIL or not EMAIL.match(sender)):
        raise InvalidInput("mail_from", "is an e-mail address, or empty for the instance's")
    row = session.get(PeopleSettings, project_id)
    if row is None:
        row = PeopleSettings(project_id=project_id)
        session.add(row)
    row.healthy_from, row.at_risk_from = healthy_from, at_risk_from
    row.weights, row.vip_mrr_minor = clean, vip_mrr_minor
    row.account_property, row.mail_from = prop, sender
    row.updated_at = utcnow()
    session.flush()
    audit.record(session, actor, "people.settings_changed", project_id=project_id,
                 healthy_from=healthy_from, at_risk_from=at_risk_from, weights=clean,
                 vip_mrr_minor=vip_mrr_minor, account_property=prop,
                 mail_from=sender)  # fmt: skip
    return config_of(session, project_id)


def _check_bands(healthy_from: int, at_risk_from: int) -> None:
    if not 0 < healthy_from <= 100:
        raise InvalidInput("healthy_from", "is 1 to 100")
    if not 0 <= at_risk_from < healthy_from:
        raise InvalidInput("at_risk_from", "is 0 or more and below the healthy threshold")


def _check_weights(weights: dict[str, int]) -> dict[str, int]:
    """Known components only, each 0 to 100, not all zero; missing ones keep their default."""
    for key, value in weights.items():
        if key not in COMPONENTS:
            raise InvalidInput(f"weight_{key}"[:60], f"is not one of {', '.join(COMPONENTS)}")
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            raise InvalidInput(f"weight_{key}", "is a whole number from 0 to 100")
    merged = _merged(weights)
    if sum(merged.values()) <= 0:
        raise InvalidInput(f"weight_{next(iter(COMPONENTS))}", "at least one weight is above 0")
    return merged


def _merged(saved: Mapping[str, object]) -> dict[str, int]:
    merged = dict(DEFAULT_WEIGHTS)
    for key, value in saved.items():
        if key in COMPONENTS and isinstance(value, int) and not isinstance(value, bool):
            merged[key] = value
    return merged

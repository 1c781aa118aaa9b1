"""Billing-source endpoints: the Stripe webhook and its signing-secret setting."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from loopwise.core import accounts
from loopwise.core.errors import InvalidInput
from loopwise.revenue.facade import SignatureError, receive_stripe, set_stripe_secrets
from loopwise.web.area import Area
from loopwise.web.deps import ContextDep, DbDep, Id, ProjectDep, SettingsEditor, client_ip

router = APIRouter(tags=["revenue"])
MAX_BODY = 1_000_000  # Stripe events are well under this


@router.post("/api/projects/{project_id}/sources/stripe/webhook")
async def stripe_webhook(
    request: Request, project_id: Id, db: DbDep, context: ContextDep
) -> JSONResponse:
    """Receive a Stripe webhook delivery: authenticated by its ``Stripe-Signature``, not
    by a session or key. 200 when applied or already applied; 400 with the reason when
    the signature does not hold; 404 for an unknown project."""
    accounts.get_project(db, project_id)
    payload = await request.body()
    if len(payload) > MAX_BODY:
        raise InvalidInput("body", "is larger than 1 MB")
    try:
        applied = receive_stripe(
            db, project_id, payload, request.headers.get("stripe-signature"),
            context.settings.secret(),
        )  # fmt: skip
    except SignatureError as exc:
        return JSONResponse({"error": "signature", "message": exc.reason}, status_code=400)
    db.commit()
    return JSONResponse({"received": applied.event_id, "outcome": applied.outcome})


class StripeSettings(BaseModel):
    signing_secrets: Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=3)]


@router.put("/api/projects/{project_id}/sources/stripe", status_code=204)
def stripe_settings(
    request: Request,
    body: StripeSettings,
    project: ProjectDep,
    principal: SettingsEditor,
    db: DbDep,
    context: ContextDep,
) -> JSONResponse:
    """Set the webhook signing secrets (shown by Stripe as ``whsec_…``); stored sealed."""
    actor = principal.actor(client_ip(request))
    set_stripe_secrets(db, actor, project.id, body.signing_secrets, context.settings.secret())
    db.commit()
    return JSONResponse(None, status_code=204)


area = Area(name="revenue", router=router)

"""Sending one message to one notification channel: e-mail over SMTP, a generic webhook
signed per the Standard Webhooks specification, or a Slack-compatible incoming webhook.

Each sender raises ``DeliveryError`` with a short reason when the message was not taken;
retries and backoff belong to the caller (``core.alerts``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import httpx2 as httpx

TIMEOUT_SECONDS = 10.0
USER_AGENT = "Loopwise-Webhooks/1"


class DeliveryError(Exception):
    """The channel did not take the message; ``str()`` says why in a few words."""


def new_webhook_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` under the secret's key (the
    base64 after ``whsec_``), as the Standard Webhooks specification defines."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def send_webhook(url: str, secret: str, message_id: str, body: bytes, at: datetime) -> None:
    """POST a JSON body with ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``.
    The id stays the same on every retry, so the receiver can drop a repeat."""
    stamp = int(at.timestamp())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": standard_signature(secret, message_id, stamp, body),
    }
    _post(url, body, headers)


def send_slack(url: str, text: str) -> None:
    """POST ``{"text": …}`` to a Slack (or Mattermost, Discord /slack) incoming webhook."""
    _post(url, json.dumps({"text": text}).encode(), {"content-type": "application/json",
                                                      "user-agent": USER_AGENT})  # fmt: skip


def _post(url: str, body: bytes, headers: dict[str, str]) -> None:
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=TIMEOUT_SECONDS,
                              follow_redirects=False)  # fmt: skip
    except httpx.HTTPError as exc:
        raise DeliveryError(
            f"could not reach {urlsplit(url).netloc}: {type(exc).__name__}"
        ) from None
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"{urlsplit(url).netloc} answered {response.status_code}")


def send_email(smtp_url: str, sender: str, to: list[str], subject: str, text: str) -> None:
    """Send a plain-text e-mail through the instance's SMTP server.

    ``smtp_url``: ``smtp://[user:password@]host[:port]`` (STARTTLS when the server offers
    it), or ``smtps://…`` for TLS from the first byte (port 465)."""
    parts = urlsplit(smtp_url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise DeliveryError("LOOPWISE_SMTP_URL is not set to smtp://host:port or smtps://…")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, ", ".join(to), subject
    message.set_content(text)
    try:
        if parts.scheme == "smtps":
            tls = ssl.create_default_context()
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                parts.hostname, parts.port or 465, timeout=TIMEOUT_SECONDS, context=tls
            )
        else:
            client = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=TIMEOUT_SECONDS)
        with client:
            if parts.scheme == "smtp" and client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"the SMTP server refused or was unreachable: {exc}") from None

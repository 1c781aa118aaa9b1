"""Stripe-shaped objects for the demo's billing story: customers, subscriptions, invoices,
charges and the webhook ``event`` envelope around them.

The shapes follow Stripe's API version ``2024-06-20`` (a subscription's ``discount`` and
``current_period_*`` on the object, an invoice's ``charge``, line items naming their
``subscription``), trimmed to the fields a billing integration reads. Every builder
returns a fresh dict, so no two stored documents share a nested object. Ids are drawn
from the caller's random stream, so a seed gives the same ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from loopwise.demo import catalog

API_VERSION = "2024-06-20"
CURRENCY = "usd"
_ALPHABET = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))

Json = dict[str, Any]


@dataclass(frozen=True)
class Price:
    """A recurring price of the catalogue: ``unit_amount`` cents per ``interval``."""

    id: str
    product: str
    nickname: str
    plan: str
    unit_amount: int
    interval: str  # month or year


def _price(plan: str, interval: str, months: int, nickname: str) -> Price:
    cents = catalog.PRICES[plan] * 100 * months
    name = f"{plan.title()}{'Annual' if interval == 'year' else 'Monthly'}"
    return Price(f"price_1QRecipely{name}", f"prod_Recipely{plan.title()}", nickname, plan,
                 cents, interval)  # fmt: skip


# Annual Team costs ten months' price: two months free for paying up front.
PRICES: dict[tuple[str, str], Price] = {
    ("pro", "month"): _price("pro", "month", 1, "Pro"),
    ("team", "month"): _price("team", "month", 1, "Team"),
    ("team", "year"): _price("team", "year", 10, "Team (annual)"),
}


@dataclass(frozen=True)
class Coupon:
    """A percentage coupon: ``forever``, or ``repeating`` for ``months`` months."""

    id: str
    name: str
    percent_off: int
    duration: str
    months: int | None = None


def token(rng: np.random.Generator, prefix: str, length: int = 24) -> str:
    """A Stripe-looking id such as ``cus_NffrFeUfNV2Hib``, drawn from ``rng``."""
    return prefix + "".join(_ALPHABET[rng.integers(0, len(_ALPHABET), length)].tolist())


def stamp(moment: datetime) -> int:
    """Stripe's timestamps: whole seconds since the Unix epoch."""
    return int(moment.timestamp())


def event(
    event_id: str, kind: str, thing: Json, created: int, previous: Json | None = None
) -> Json:
    """A webhook event carrying ``thing`` (and, for updates, the fields that changed)."""
    data: Json = {"object": thing}
    if previous is not None:
        data["previous_attributes"] = previous
    return {
        "id": event_id, "object": "event", "api_version": API_VERSION, "created": created,
        "data": data, "livemode": False, "pending_webhooks": 0,
        "request": {"id": None, "idempotency_key": None}, "type": kind,
    }  # fmt: skip


def customer(
    customer_id: str, created: int, *, email: str, name: str, user_id: str, company: str,
    country: str,
) -> Json:  # fmt: skip
    """A customer whose ``metadata.user_id`` is the product's user id (the person link)."""
    return {
        "id": customer_id, "object": "customer", "address": {"country": country},
        "balance": 0, "created": created, "currency": CURRENCY, "delinquent": False,
        "description": company or None, "email": email, "invoice_prefix": customer_id[4:12].upper(),
        "livemode": False, "metadata": {"user_id": user_id}, "name": name,
        "preferred_locales": [], "tax_exempt": "none",
    }  # fmt: skip


def price(found: Price) -> Json:
    return {
        "id": found.id, "object": "price", "active": True, "billing_scheme": "per_unit",
        "currency": CURRENCY, "livemode": False, "lookup_key": None, "metadata": {},
        "nickname": found.nickname, "product": found.product,
        "recurring": {"interval": found.interval, "interval_count": 1,
                      "usage_type": "licensed"},
        "type": "recurring", "unit_amount": found.unit_amount,
        "unit_amount_decimal": str(found.unit_amount),
    }  # fmt: skip


def discount(
    discount_id: str, coupon: Coupon, customer_id: str, subscription_id: str, start: int,
    end: int | None,
) -> Json:  # fmt: skip
    return {
        "id": discount_id, "object": "discount", "customer": customer_id, "end": end,
        "start": start, "subscription": subscription_id, "promotion_code": None,
        "coupon": {
            "id": coupon.id, "object": "coupon", "amount_off": None, "currency": None,
            "duration": coupon.duration, "duration_in_months": coupon.months,
            "name": coupon.name, "percent_off": coupon.percent_off, "valid": True,
        },
    }  # fmt: skip


@dataclass(frozen=True)
class SubscriptionState:
    """What a subscription is at one moment; ``period`` is its current service period."""

    subscription_id: str
    item_id: str
    customer_id: str
    created: int
    status: str
    price: Price
    quantity: int
    period: tuple[int, int]
    discount: Json | None = None
    trial: tuple[int, int] | None = None
    canceled_at: int | None = None
    ended_at: int | None = None
    cancellation_reason: str | None = None
    latest_invoice: str | None = None


def subscription(state: SubscriptionState) -> Json:
    start, end = state.period
    item = {
        "id": state.item_id, "object": "subscription_item", "created": state.created,
        "current_period_end": end, "current_period_start": start, "metadata": {},
        "price": price(state.price), "quantity": state.quantity,
        "subscription": state.subscription_id, "tax_rates": [],
    }  # fmt: skip
    trial_start, trial_end = state.trial or (None, None)
    return {
        "id": state.subscription_id, "object": "subscription",
        "billing_cycle_anchor": trial_end or state.created,
        "cancel_at": None, "cancel_at_period_end": False, "canceled_at": state.canceled_at,
        "cancellation_details": {"comment": None, "feedback": None,
                                 "reason": state.cancellation_reason},
        "collection_method": "charge_automatically", "created": state.created,
        "currency": CURRENCY, "current_period_end": end, "current_period_start": start,
        "customer": state.customer_id, "days_until_due": None, "discount": state.discount,
        "ended_at": state.ended_at,
        "items": {"object": "list", "data": [item], "has_more": False,
                  "url": f"/v1/subscription_items?subscription={state.subscription_id}"},
        "latest_invoice": state.latest_invoice, "livemode": False, "metadata": {},
        "quantity": state.quantity, "start_date": state.created, "status": state.status,
        "trial_end": trial_end, "trial_settings": {
            "end_behavior": {"missing_payment_method": "cancel"}},
        "trial_start": trial_start,
    }  # fmt: skip


@dataclass(frozen=True)
class InvoiceState:
    """One subscription invoice: a service period of one price, and how collecting it went."""

    invoice_id: str
    number: str
    customer_id: str
    email: str
    subscription_id: str
    item_id: str
    line_id: str
    charge_id: str
    created: int
    price: Price
    quantity: int
    period: tuple[int, int]
    subtotal: int
    discount_amount: int
    billing_reason: str  # subscription_create, subscription_cycle
    status: str  # open, paid, uncollectible
    attempt_count: int
    paid_at: int | None = None
    next_payment_attempt: int | None = None

    @property
    def total(self) -> int:
        return self.subtotal - self.discount_amount


def invoice(state: InvoiceState) -> Json:
    start, end = state.period
    price_ = state.price
    per = "month" if price_.interval == "month" else "year"
    line = {
        "id": state.line_id, "object": "line_item", "amount": state.subtotal,
        "currency": CURRENCY,
        "description": f"{state.quantity} × Recipely {price_.nickname} "  # noqa: RUF001
                       f"(at ${price_.unit_amount / 100:,.2f} / {per})",
        "discount_amounts": ([{"amount": state.discount_amount, "discount": "coupon"}]
                             if state.discount_amount else []),
        "discountable": True, "livemode": False, "metadata": {},
        "period": {"end": end, "start": start}, "price": price(price_), "proration": False,
        "quantity": state.quantity, "subscription": state.subscription_id,
        "subscription_item": state.item_id, "type": "subscription",
    }  # fmt: skip
    paid = state.status == "paid"
    return {
        "id": state.invoice_id, "object": "invoice", "amount_due": state.total,
        "amount_paid": state.total if paid else 0,
        "amount_remaining": 0 if paid else state.total,
        "attempt_count": state.attempt_count, "attempted": state.attempt_count > 0,
        "auto_advance": state.status == "open", "billing_reason": state.billing_reason,
        "charge": state.charge_id, "collection_method": "charge_automatically",
        "created": state.created, "currency": CURRENCY, "customer": state.customer_id,
        "customer_email": state.email,
        "lines": {"object": "list", "data": [line], "has_more": False,
                  "url": f"/v1/invoices/{state.invoice_id}/lines"},
        "livemode": False, "metadata": {}, "next_payment_attempt": state.next_payment_attempt,
        "number": state.number, "paid": paid, "period_end": end, "period_start": start,
        "status": state.status,
        "status_transitions": {"finalized_at": state.created, "paid_at": state.paid_at,
                               "marked_uncollectible_at": None, "voided_at": None},
        "subscription": state.subscription_id, "subtotal": state.subtotal,
        "total": state.total, "total_discount_amounts": (
            [{"amount": state.discount_amount, "discount": "coupon"}]
            if state.discount_amount else []),
    }  # fmt: skip


@dataclass(frozen=True)
class Card:
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    country: str


@dataclass(frozen=True)
class Decline:
    """How a card payment failed: Stripe's error code, the issuer's decline code and the
    message shown to the customer."""

    code: str  # charge.failure_code
    reason: str  # charge.outcome.reason: the decline code
    message: str


def charge(
    charge_id: str, state: InvoiceState, card: Card, created: int, *,
    decline: Decline | None = None, refund: Json | None = None,
) -> Json:  # fmt: skip
    """A card payment of an invoice: succeeded, failed with ``decline``, or refunded."""
    outcome: Json = {
        "network_status": "approved_by_network", "reason": None, "risk_level": "normal",
        "seller_message": "Payment complete.", "type": "authorized",
    }  # fmt: skip
    if decline is not None:
        outcome = {
            "network_status": "declined_by_network", "reason": decline.reason,
            "risk_level": "normal", "type": "issuer_declined",
            "seller_message": f"The bank returned the decline code `{decline.reason}`.",
        }  # fmt: skip
    refunded = refund["amount"] if refund else 0
    return {
        "id": charge_id, "object": "charge", "amount": state.total,
        "amount_captured": 0 if decline else state.total, "amount_refunded": refunded,
        "captured": decline is None, "created": created, "currency": CURRENCY,
        "customer": state.customer_id, "description": "Subscription update"
        if state.billing_reason != "subscription_create" else "Subscription creation",
        "failure_code": decline.code if decline else None,
        "failure_message": decline.message if decline else None,
        "invoice": state.invoice_id, "livemode": False, "metadata": {}, "outcome": outcome,
        "paid": decline is None,
        "payment_method_details": {"type": "card", "card": {
            "brand": card.brand, "country": card.country, "exp_month": card.exp_month,
            "exp_year": card.exp_year, "funding": "credit", "last4": card.last4}},
        "refunded": bool(refund) and refunded >= state.total,
        "refunds": {"object": "list", "data": [refund] if refund else [], "has_more": False,
                    "url": f"/v1/charges/{charge_id}/refunds"},
        "status": "failed" if decline else "succeeded",
    }  # fmt: skip


def refund(refund_id: str, charge_id: str, amount: int, created: int) -> Json:
    return {
        "id": refund_id, "object": "refund", "amount": amount, "charge": charge_id,
        "created": created, "currency": CURRENCY, "metadata": {},
        "reason": "requested_by_customer", "status": "succeeded",
    }  # fmt: skip

"""The registry of demo generators: each turns the business into one kind of data.

``load_demo`` runs every generator listed here over the same population, in this order.
Adding a kind of data means writing a ``contracts.Generator`` and appending it to
``GENERATORS``; nothing else changes (see README.md). Generators that write to the app
database (``app_database = True``) run only when ``load_demo`` is given its sessions.
"""

from __future__ import annotations

from typing import Any

from loopwise.demo.billing import StripeBilling
from loopwise.demo.contracts import Generator
from loopwise.demo.identities import KnownIdentities
from loopwise.demo.product_events import ProductEvents
from loopwise.demo.spend import MarketingSpend
from loopwise.demo.tickets import SupportErrors, SupportTickets

# The identities come before billing: Stripe customers look up their person when applied.
# Tickets come after billing: each ticket gathers its requester's billing context.
GENERATORS: tuple[Generator[Any], ...] = (
    KnownIdentities(),
    ProductEvents(),
    StripeBilling(),
    SupportTickets(),
    SupportErrors(),
    MarketingSpend(),
)

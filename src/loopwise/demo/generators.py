"""The registry of demo generators: each turns the business into one kind of data.

``load_demo`` runs every generator listed here over the same population, in this order.
Adding a kind of data means writing a ``contracts.Generator`` and appending it to
``GENERATORS``; nothing else changes (see README.md).
"""

from __future__ import annotations

from typing import Any

from loopwise.demo.contracts import Generator
from loopwise.demo.product_events import ProductEvents

GENERATORS: tuple[Generator[Any], ...] = (ProductEvents(),)

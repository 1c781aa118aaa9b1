"""How many minor units a currency's unit has, as Stripe counts amounts.

Most currencies have cents (2 decimals). Stripe sends zero-decimal currencies such as JPY
in whole units (``1000`` is ¥1,000) and three-decimal ones such as KWD in thousandths.
Amounts are stored in each currency's own minor unit; imports from files (in currency
units) and exchange-rate conversion use these exponents.
"""

from __future__ import annotations

from decimal import Decimal

# Stripe's lists of zero- and three-decimal currencies.
ZERO_DECIMAL = frozenset(
    "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split()  # noqa: SIM905
)
THREE_DECIMAL = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])


def exponent(code: str) -> int:
    """Decimal places of ``code``'s minor unit (2 for usd, 0 for jpy, 3 for kwd)."""
    code = code.lower()
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2


def minor_unit(code: str) -> int:
    """Minor units in one unit of ``code``: 100 for usd, 1 for jpy, 1000 for kwd."""
    return int(10 ** exponent(code))


def to_minor(amount: Decimal, code: str) -> int:
    """An amount in currency units (``49.00``) in ``code``'s minor units."""
    return int((amount.scaleb(exponent(code))).to_integral_value())


def rescale(code_from: str, code_to: str) -> Decimal:
    """The factor from ``code_from``'s minor units to ``code_to``'s, before the rate:
    ¥1,000 (1000 minor) at 0.0067 USD per yen is 670 cents, so yen to cents is times 100."""
    return Decimal(1).scaleb(exponent(code_to) - exponent(code_from))

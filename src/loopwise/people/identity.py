"""Who a person is, read from their properties: a display name and an e-mail address.

Properties arrive from anyone who can send events, so the address is the one value here
that must be distrusted: it becomes an SMTP recipient. ``person_email`` answers an address
only when the property holds exactly one plain address (``local@domain.tld``, ASCII,
dot-atom local part, host-name domain); a list (``a@x.test, b@y.test``), a display name
(``Ann <a@x.test>``), spaces, line breaks or other characters a mail header would treat
specially give "" — the person then counts as having no address.
"""

from __future__ import annotations

import re
from email.utils import parseaddr
from typing import Any

MAX_EMAIL = 254  # the longest forward path SMTP carries (RFC 5321 § 4.5.3.1.3)
MAX_LOCAL = 64
MAX_NAME = 200
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"(?P<local>{_ATOM}(?:\.{_ATOM})*)@(?:{_LABEL}\.)+{_LABEL}")


def person_name(properties: dict[str, Any]) -> str:
    """``name``, else ``first_name`` and ``last_name``, else ``$name``; "" without any."""

    def text(key: str) -> str:
        value = properties.get(key)
        return value.strip() if isinstance(value, str) else ""

    parts = (text("first_name"), text("last_name"))
    return (text("name") or " ".join(p for p in parts if p) or text("$name"))[:MAX_NAME]


def person_email(properties: dict[str, Any]) -> str:
    """The person's ``email`` property (surrounding blanks removed) when it is exactly one
    valid address, else ""."""
    value = properties.get("email")
    return valid_email(value) if isinstance(value, str) else ""


def valid_email(text: str) -> str:
    """``text`` without surrounding blanks when it is exactly one plain address, else "".

    The whole text must match the address pattern (no list, display name, comment, space,
    control character or angle bracket), and ``email.utils.parseaddr`` must read it back
    unchanged as a bare address, so no mail header could split it into two recipients."""
    found = text.strip()
    match = _ADDRESS.fullmatch(found)
    if match is None or len(found) > MAX_EMAIL or len(match["local"]) > MAX_LOCAL:
        return ""
    return found if parseaddr(found) == ("", found) else ""

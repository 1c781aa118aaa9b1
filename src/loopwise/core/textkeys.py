"""Prefix lookups over text keys as index range scans.

"Starts with ``q``" over an indexed column answers at once as ``key >= q AND key < next``,
where ``next`` is the first text after every text that starts with ``q``. Search boxes of
several areas (e-mails and names of people, distinct ids, billing customer ids) use it;
each keeps its keys ordered by code point (SQLite's binary collation, collation "C" on
PostgreSQL) so that the range holds exactly the texts with the prefix.
"""

from __future__ import annotations


def after_prefix(prefix: str) -> str | None:
    """The first text after every text that starts with ``prefix``, in code-point order
    (the last character moved up by one); None when no such text exists."""
    for cut in range(len(prefix) - 1, -1, -1):
        code = ord(prefix[cut]) + 1
        code = 0xE000 if 0xD800 <= code < 0xE000 else code  # surrogates are not text
        if code <= 0x10FFFF:
            return prefix[:cut] + chr(code)
    return None

"""Markdown the team writes (knowledge-base articles, notes on a person) as HTML that is
safe to put in a page.

CommonMark without raw HTML: HTML typed into the text is shown as text, never run. Links
go only to http(s), mailto and relative addresses, so a ``javascript:`` or ``data:`` link
stays plain text; links that are kept carry ``rel="nofollow noopener noreferrer"``.
"""

from __future__ import annotations

import re
from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup

SAFE_SCHEMES = ("http:", "https:", "mailto:")


def safe_link(url: str) -> bool:
    """Whether a link may be followed: relative, or http(s) or mailto. The scheme is
    whatever precedes the first ':' before any '/', '?' or '#'."""
    head = re.split(r"[/?#]", url, maxsplit=1)[0]
    return ":" not in head or head.lower() in SAFE_SCHEMES


def _link_open(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> Any:
    tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
    return self.renderToken(tokens, idx, options, env)


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False})
    md.validateLink = safe_link  # type: ignore[method-assign]
    md.add_render_rule("link_open", _link_open)
    return md


_MD = _markdown()


def render_markdown(text: str) -> Markup:
    """``text`` as HTML: raw HTML in it is escaped, unsafe links are left as text."""
    return Markup(_MD.render(text))  # noqa: S704 - markdown-it escapes; raw HTML is off

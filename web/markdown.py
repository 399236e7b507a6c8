"""Markdown from forges (READMEs, descriptions) turned into HTML that is safe to show.

The text is rendered by markdown-it (CommonMark, raw HTML allowed since READMEs use
it) and the result goes through nh3 (the ammonia sanitiser) with an allow-list: no
``script``, ``style``, ``iframe`` or forms, no event-handler or ``style`` attributes,
and links only to ``http``, ``https`` and ``mailto`` URLs, with ``rel="noopener
noreferrer nofollow"``. Whatever the input, the output cannot run code in the page.
"""

from __future__ import annotations

import functools
import re
from html import unescape

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table")

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre",
    "s", "strong", "sub", "summary", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "td": {"align"},
    "th": {"align"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def sanitise_html(html: str) -> str:
    """HTML reduced to the allow-list above (scripts and their content are dropped)."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def render_markdown(text: str, *, max_chars: int = 200_000) -> Markup:
    """Safe HTML for a Markdown text; very long texts are cut before rendering."""
    if not text:
        return Markup("")
    html = _md.render(text[:max_chars])
    return Markup(sanitise_html(html))


_SPACES = re.compile(r"\s+")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARKS = re.compile(r"(?m)^\s{0,3}(#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)|\*\*|__|`+|~~")


@functools.lru_cache(maxsize=4096)
def plain_text(text: str, limit: int = 220) -> str:
    """A Markdown text as one line of plain text (for result lists), at most ``limit``
    characters, cut at a word: raw HTML removed (scripts with their content), the
    commonest Markdown marks (headings, emphasis, links, code) dropped. Cheap enough for
    every line of a results page: no Markdown parse."""
    if not text:
        return ""
    source = _MD_MARKS.sub("", _MD_LINK.sub(r"\1", text[: limit * 4]))
    words = _SPACES.sub(" ", unescape(nh3.clean(source, tags=set()))).strip()
    if len(words) <= limit:
        return words
    cut = words[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" ,;:.") + "…"

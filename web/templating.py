"""Rendering pages: one Jinja2 environment, one ``render`` used by every handler.

``render`` fixes the request's language, gives every template the same base context
(the settings, the signed-in user, the CSRF token function, the language switch
links) and returns an HTML response with the session cookie and security headers.
A request made by htmx (``HX-Request``) for a page that has a fragment gets only the
fragment, so filtering updates in place while the URL stays the page's URL.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request, Response
from litestar.background_tasks import BackgroundTask
from litestar.response import Redirect

from registry.services import accounts
from registry.tables import User
from web import i18n, labels, security
from web.markdown import plain_text, render_markdown

TEMPLATES = Path(__file__).parent / "templates"

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html", "svg", "xml"], default_for_string=True),
    extensions=["jinja2.ext.i18n"],
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
env.filters.update(
    number=i18n.format_number,
    day=i18n.format_day,
    month=i18n.format_month,
    moment=i18n.format_moment,
    country=i18n.country_name,
    markdown=render_markdown,
    plain=plain_text,
)


@functools.lru_cache(maxsize=16384)
def id_part(value: object) -> str:
    """A fragment of an HTML id that is stable for a value (so htmx keeps the focus)."""
    text = str(value)
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", text)[:40]
    return f"{safe}-{zlib.crc32(text.encode()):08x}"


env.filters["idpart"] = id_part

_INVISIBLE = re.compile(r"[\x00-\x20\x7f]")


def web_link(value: object) -> str:
    """A URL fit for an ``href``: ``http`` or ``https`` only, else "" (no link).

    Addresses shown as links come from forges, publiccode.yml files and peers: a
    ``javascript:`` or ``data:`` URL (even split by tabs or newlines, which browsers
    ignore) must not become a link. The Content-Security-Policy would block it too.
    """
    text = _INVISIBLE.sub("", str(value or ""))
    scheme, _, rest = text.partition(":")
    return text if scheme.lower() in ("http", "https") and rest.startswith("//") else ""


env.filters["link"] = web_link
env.globals.update(LANGUAGE_NAMES=i18n.LANGUAGE_NAMES, LANGUAGES=i18n.LANGUAGES, **labels.GLOBALS)


def request_language(request: Request[Any, Any, Any]) -> str:
    return i18n.negotiate(request.headers.get("accept-language"), request.cookies.get(i18n.COOKIE))


async def current_user(request: Request[Any, Any, Any]) -> dict[str, Any] | None:
    """The signed-in user with ``memberships`` (publisher id -> role), or None."""
    state = request.scope.setdefault("state", {})
    if "web_user" in state:
        return state["web_user"]  # type: ignore[no-any-return]
    user = None
    user_id = security.session(request).user_id
    if user_id is not None:
        row = (
            await User.select(User.id, User.username, User.display_name, User.role, User.active)
            .where(User.id == user_id)
            .first()
        )
        if row and row["active"]:
            user = dict(row)
            user["memberships"] = await accounts.memberships(int(row["id"]))
    state["web_user"] = user
    return user


def url_with(request: Request[Any, Any, Any], **changes: Any) -> str:
    """This page's URL with some query parameters replaced (None removes one)."""
    params: list[tuple[str, str]] = [
        (k, v) for k, v in request.query_params.multi_items() if k not in changes
    ]
    for key, value in changes.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            params.extend((key, str(v)) for v in value)
        else:
            params.append((key, str(value)))
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


async def render(
    request: Request[Any, Any, Any],
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    fragment: str | None = None,
) -> Response[str]:
    """The page ``template`` (or, for an htmx request, its ``fragment`` template)."""
    await current_user(request)
    return render_now(request, template, context, status=status, fragment=fragment)


def render_now(
    request: Request[Any, Any, Any],
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    fragment: str | None = None,
) -> Response[str]:
    """:func:`render` for synchronous callers (exception handlers): the signed-in user
    is shown only when this request already looked it up."""
    lang = request_language(request)
    i18n.use_language(lang)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    base: dict[str, Any] = {
        "request": request,
        "settings": request.app.state.settings,
        "user": request.scope.get("state", {}).get("web_user"),
        "lang": lang,
        "here": here,
        "csrf_token": lambda: security.csrf_token(request),
        "CSRF_FIELD": security.CSRF_FIELD,
        "url_with": lambda **changes: url_with(request, **changes),
        "now": dt.datetime.now(dt.UTC),
    }
    base.update(context or {})
    name = fragment if fragment and request.headers.get("hx-request") == "true" else template
    html = env.get_template(name).render(base)
    response: Response[str] = Response(
        html,
        status_code=status,
        media_type="text/html",
        headers={"Content-Language": lang, "Vary": "Accept-Language, Cookie, HX-Request"},
    )
    return security.finish(request, response)  # type: ignore[return-value]


def redirect(
    request: Request[Any, Any, Any],
    path: str,
    status: int = 303,
    *,
    background: BackgroundTask | None = None,
) -> Response[Any]:
    """See-other redirect to a local path, with the session cookie and headers; an
    optional background task runs after the answer is sent."""
    if not path.startswith("/") or path.startswith("//"):
        path = "/"
    return security.finish(request, Redirect(path=path, status_code=status, background=background))


def safe_next(value: Any, default: str = "/") -> str:
    """A local path to go back to; anything else (other hosts, schemes) is ``default``."""
    text = str(value or "")
    if not text.startswith("/") or text.startswith("//") or "\\" in text:
        return default
    return text

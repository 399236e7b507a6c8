"""CSRF on every form: every POST route of the site refuses a request without this
session's token, and every form that posts carries it. The routes are read from the
app, so a form added later is covered without touching this file."""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

PATH_VALUES = {"slug": "lutece-core", "token_id": "1", "run_id": "1", "code": "fr"}


def web_post_paths(app: Litestar) -> list[str]:
    paths = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith(("/api", "/schema")):
            continue
        if "POST" in route.methods:
            paths.append(re.sub(r"\{(\w+):\w+\}", lambda m: PATH_VALUES[m.group(1)], route.path))
    return sorted(paths)


async def test_every_post_of_the_site_needs_the_sessions_token(
    visitor: Any, client: AsyncTestClient
) -> None:
    paths = web_post_paths(client.app)
    assert {"/signin", "/signout", "/register", "/projects/lutece-core/reuse"} <= set(paths)
    assert len(paths) >= 6
    await visitor.sign_in("paul")  # a session that may do everything these forms do
    other = AsyncTestClient(client.app, base_url="http://127.0.0.1")
    async with other:
        await other.get("/signin")
        page = (await other.get("/signin")).text
        foreign = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert foreign is not None
    for path in paths:
        missing = await client.post(path, data={"name": "x"}, follow_redirects=False)
        assert missing.status_code == 403, path
        assert "did not come from this site" in missing.text
        wrong = await client.post(
            path, data={"csrf_token": foreign.group(1), "name": "x"}, follow_redirects=False
        )
        assert wrong.status_code == 403, path
        header = await client.post(
            path, headers={"X-CSRF-Token": foreign.group(1)}, follow_redirects=False
        )
        assert header.status_code == 403, path
    # nothing was done: still signed in, no token created
    assert "Sign out" in (await client.get("/")).text
    assert "<code id=" not in (await client.get("/account/tokens")).text


async def test_every_form_that_posts_carries_the_token(
    visitor: Any, client: AsyncTestClient
) -> None:
    pages = {
        "": ["/", "/signin", "/projects/lutece-core", "/publishers/ville-de-paris"],
        "marie": ["/projects/lutece-core/reuse", "/account/tokens"],
        "paul": ["/register", "/account/tokens"],
        "camille": ["/dashboard"],
    }
    seen_actions: set[str] = set()
    for user, paths in pages.items():
        if user:
            await visitor.sign_in(user)
            await visitor.post_form("/account/tokens", "/account/tokens", {"name": "revocable"})
        for path in paths:
            html = (await client.get(path)).text
            token = await visitor.csrf("/signin")
            forms = re.findall(r"<form\b([^>]*)>(.*?)</form>", html, flags=re.S)
            for attributes, body in forms:
                method = re.search(r'method="(\w+)"', attributes)
                if method is None or method.group(1).lower() != "post":
                    continue
                action = re.search(r'action="([^"]+)"', attributes)
                assert action is not None, (path, attributes)
                seen_actions.add(re.sub(r"/\d+/", "/N/", action.group(1)))
                assert f'<input type="hidden" name="csrf_token" value="{token}">' in body, (
                    path,
                    action.group(1),
                )
    assert {
        "/signin",
        "/signout",
        "/register",
        "/account/tokens",
        "/account/tokens/N/revoke",
        "/projects/lutece-core/reuse",
    } <= seen_actions

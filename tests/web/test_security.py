"""Sanitised Markdown, signed sessions, secure cookies."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from web.markdown import render_markdown
from web.security import Session, decode_session, encode_session

HOSTILE = [
    ("<script>alert(1)</script>", "<script"),
    ('<img src="x" onerror="alert(1)">', "onerror"),
    ('<a href="javascript:alert(1)">x</a>', "javascript:"),
    ('<a href="JaVaScRiPt&#58;alert(1)">x</a>', "javascript"),
    ('<a href=" javascript:alert(1)">x</a>', "javascript"),
    ("[x](javascript:alert(1))", 'href="javascript'),
    ("<svg><script>alert(1)</script></svg>", "<script"),
    ('<iframe src="https://evil.example"></iframe>', "<iframe"),
    ('<div style="background:url(javascript:alert(1))">x</div>', "style="),
    ('<object data="x.swf"></object>', "<object"),
    ('<a href="data:text/html,<script>alert(1)</script>">x</a>', "data:"),
    ('<form action="https://evil.example"><button>go</button></form>', "<form"),
    ('<details open ontoggle="alert(1)">x</details>', "ontoggle"),
    ("<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", "onerror"),
]


@pytest.mark.parametrize(("source", "forbidden"), HOSTILE)
def test_hostile_markdown_is_rendered_inert(source: str, forbidden: str) -> None:
    html = str(render_markdown(f"Intro\n\n{source}\n\nOutro")).lower()
    assert forbidden not in html
    assert "intro" in html  # the text around stays (what a hostile tag swallows may not)


def test_ordinary_markdown_keeps_its_shape() -> None:
    html = str(
        render_markdown(
            "# Title\n\n*em* **strong** `code`\n\n- a\n- b\n\n"
            "[site](https://example.org) ![logo](https://example.org/l.png)\n\n"
            "| a | b |\n|---|---|\n| 1 | 2 |\n"
        )
    )
    assert "<h1>Title</h1>" in html and "<em>em</em>" in html and "<code>code</code>" in html
    assert re.search(r'<a href="https://example.org" rel="noopener noreferrer nofollow">', html)
    assert "<table>" in html and "<li>a</li>" in html


def test_a_session_cookie_cannot_be_forged_or_reused_after_expiry() -> None:
    secret = b"s" * 32
    session = Session(sid="a" * 32, user_id=7, expires=int(time.time()) + 60)
    cookie = encode_session(secret, session)
    assert decode_session(secret, cookie) == Session(
        sid="a" * 32, user_id=7, expires=session.expires
    )
    _payload, _, signature = cookie.partition(".")
    import base64
    import json

    forged_payload = (
        base64.urlsafe_b64encode(json.dumps({"s": "a" * 32, "u": 1, "e": session.expires}).encode())
        .decode()
        .rstrip("=")
    )
    assert decode_session(secret, f"{forged_payload}.{signature}") is None  # another user
    assert decode_session(b"t" * 32, cookie) is None  # another instance's secret
    assert decode_session(secret, cookie, now=session.expires + 1) is None  # expired
    assert decode_session(secret, "garbage") is None


async def test_cookies_are_secure_when_the_instance_is_served_over_https(
    seeded: dict[str, Any], tmp_path: Path
) -> None:
    import dataclasses

    from api.app import create_app
    from tests.web.conftest import settings_for_current_engine  # type: ignore[import-not-found]

    settings = dataclasses.replace(
        settings_for_current_engine(tmp_path / "data"), instance_url="https://communs.example"
    )
    app = create_app(settings, bind_database=False, rate_limit=None, run_registrations=False)
    async with AsyncTestClient(app, base_url="http://127.0.0.1") as client:
        page = await client.get("/signin")
        cookie = page.headers["set-cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie
        switched = await client.get("/language/fr?next=/", follow_redirects=False)
        assert "Secure" in switched.headers["set-cookie"]


async def test_signing_in_replaces_the_session_so_a_planted_cookie_is_worth_nothing(
    visitor: Any, client: AsyncTestClient
) -> None:
    await client.get("/signin")
    planted = client.cookies.get("communs_session")
    assert planted
    signed_in = await visitor.sign_in("marie")
    assert signed_in.status_code == 303
    fresh = client.cookies.get("communs_session")
    assert fresh and fresh != planted
    assert planted.split(".")[0] != fresh.split(".")[0]
    # whoever planted the first cookie is still anonymous with it
    async with AsyncTestClient(client.app, base_url="http://127.0.0.1") as attacker:
        attacker.cookies.set("communs_session", planted)
        assert "Sign out" not in (await attacker.get("/")).text
        attacker.cookies.set("communs_session", fresh)
        assert "Sign out" in (await attacker.get("/")).text  # the control: a real session


HOSTILE_URLS = [
    "javascript:document.title='pwned'",
    " JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "https:evil.example",
]


@pytest.mark.parametrize("hostile", HOSTILE_URLS)
def test_only_web_addresses_become_links(hostile: str) -> None:
    from web.templating import web_link

    assert web_link(hostile) == ""
    assert web_link("https://example.org/a?b=1") == "https://example.org/a?b=1"
    assert web_link("http://example.org") == "http://example.org"


async def test_hostile_addresses_from_forges_and_peers_are_shown_but_never_linked(
    client: AsyncTestClient, seeded: dict[str, Any]
) -> None:
    from registry.tables import ForgeAccount, Project, Publisher, Repository

    hostile = "javascript:document.title='pwned'"
    await Project.update({Project.landing_url: hostile}).where(
        Project.id == seeded["projects"]["portal"]
    )
    await Repository.update({Repository.url: "java\tscript:alert(1)"}).where(
        Repository.project == seeded["projects"]["portal"]
    )
    await Publisher.update(
        {
            Publisher.website: hostile,
            Publisher.ospo_url: "data:text/html,<script>alert(1)</script>",
            Publisher.floss_policy_url: "https://policy.paris.example/",
        }
    ).where(Publisher.id == seeded["publishers"]["paris"])
    await ForgeAccount.update({ForgeAccount.base_url: "javascript:alert(1)//"}).where(
        ForgeAccount.publisher == seeded["publishers"]["paris"]
    )
    pages = [
        (await client.get("/projects/lutece-occitanie-portal")).text,
        (await client.get("/publishers/ville-de-paris")).text,
    ]
    for html in pages:
        hrefs = re.findall(r'href="([^"]*)"', html)
        assert hrefs
        for href in hrefs:
            assert re.match(r"(/|#|https?://|mailto:)", href), href
    sheet, publisher = pages
    assert "java\tscript:alert(1)" in sheet  # shown as text, so a maintainer sees it
    assert 'href="https://policy.paris.example/"' in publisher  # good links stay
    assert "lutece-platform" in publisher


@pytest.mark.parametrize(("source", "forbidden"), HOSTILE)
def test_hostile_markdown_leaves_no_markup_in_result_lines(source: str, forbidden: str) -> None:
    from web.markdown import plain_text

    line = plain_text(f"Intro {source} outro")
    assert forbidden.lower() not in line.lower()
    assert "<" not in line and "alert" not in line
    assert line.startswith("Intro")

"""The one HTTP client: retries, Retry-After, rate-limit waits, ETags, request counts,
address refusals and the user agent, against the fake forge in-process."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from crawlkit import REAL_FORGES, load

import fakeforge
from crawlers.http import AddressRefusedError, ForgeClient, ForgeHTTPError, RateLimitedError
from registry.settings import Settings

REPOS = "http://127.0.0.1/github/api/v3/orgs/decidim/repos"
TAGS = "http://127.0.0.1/gitea/api/v1/repos/decidim/decidim-bulletin-board/tags"


@pytest.fixture
def app() -> Any:
    forge = fakeforge.create_app([REAL_FORGES / "github__decidim.json"])
    yield forge
    forge.git.cleanup()


class Sleeps:
    """Records waits instead of waiting; ``then`` runs after each (e.g. a window reset)."""

    def __init__(self, then: Any = None) -> None:
        self.waits: list[float] = []
        self.then = then

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.then:
            self.then()


def client(app: Any, sleep: Any = None, **options: Any) -> ForgeClient:
    settings = Settings(allow_loopback=True, instance_url="https://communs.example.org")
    return ForgeClient(
        settings, transport=httpx.ASGITransport(app=app), sleep=sleep or Sleeps(), **options
    )


async def test_server_errors_are_retried_with_backoff_and_counted(app: Any) -> None:
    app.faults.add(status=502, path="/orgs/decidim/repos", times=2)
    sleeps = Sleeps()
    async with client(app, sleeps) as forge:
        repos = await forge.get_json(REPOS)
    assert sorted(r["name"] for r in repos) == sorted(
        r["name"] for r in load("decidim")["repositories"]
    )
    assert forge.stats.requests == 3 and forge.stats.retries == 2
    assert sleeps.waits == [0.5, 1.0]


async def test_persistent_server_errors_end_with_a_forge_error(app: Any) -> None:
    app.faults.add(status=500, path="/orgs/decidim/repos", times=None)
    async with client(app, max_retries=2) as forge:
        with pytest.raises(ForgeHTTPError) as caught:
            await forge.get_json(REPOS)
    assert caught.value.status_code == 500
    assert forge.stats.requests == 3


async def test_retry_after_is_honoured(app: Any) -> None:
    app.faults.add(status=429, forge="gitea", retry_after=7, times=1)
    sleeps = Sleeps()
    async with client(app, sleeps) as forge:
        tags = await forge.get_json(TAGS)
    assert tags and sleeps.waits == [7.0]


async def test_used_up_rate_limit_waits_for_the_reset() -> None:
    app = fakeforge.create_app([REAL_FORGES / "github__decidim.json"], rate_limit=1)
    sleeps = Sleeps(then=app.limiter.reset)  # the window resets while we wait
    async with client(app, sleeps) as forge:
        await forge.get_json(REPOS)
        second = await forge.get_json(REPOS + "?page=1")
    assert second
    assert len(sleeps.waits) == 1 and 0 < sleeps.waits[0] <= 3601


async def test_rate_limit_resetting_too_late_is_an_error_not_a_hang() -> None:
    app = fakeforge.create_app([REAL_FORGES / "github__decidim.json"], rate_limit=1)
    async with client(app, max_wait_s=10) as forge:
        await forge.get_json(REPOS)
        with pytest.raises(RateLimitedError, match="rate limit"):
            await forge.get_json(REPOS + "?page=1")


async def test_etag_turns_a_repeated_get_into_a_304_from_the_cache(app: Any) -> None:
    async with client(app) as forge:
        first = await forge.get(REPOS)
        second = await forge.get(REPOS)
    assert second.extensions.get("from_cache") is True
    assert second.json() == first.json()
    assert forge.stats.requests == 2 and forge.stats.not_modified == 1
    assert app.stats.count("github") == 2


async def test_truncated_json_is_a_forge_error(app: Any) -> None:
    app.faults.add(kind="truncate", path="/orgs/decidim/repos", times=None)
    async with client(app) as forge:
        with pytest.raises(ForgeHTTPError, match="not JSON"):
            await forge.get_json(REPOS)


async def test_loopback_is_refused_unless_allowed(app: Any) -> None:
    settings = Settings(allow_loopback=False)
    async with ForgeClient(settings, transport=httpx.ASGITransport(app=app)) as forge:
        with pytest.raises(AddressRefusedError, match="loopback"):
            await forge.get(REPOS)
        with pytest.raises(AddressRefusedError, match="link-local"):
            await forge.get("http://169.254.169.254/latest/meta-data")
        with pytest.raises(AddressRefusedError, match="only http"):
            await forge.get("file:///etc/passwd")
    assert forge.stats.requests == 0


async def test_hosts_resolving_to_private_addresses_are_refused(app: Any) -> None:
    async def resolver(host: str) -> list[str]:
        return {"intranet.example": ["10.1.2.3"], "forge.example": ["192.0.2.10"]}[host]

    async with ForgeClient(
        Settings(allow_loopback=True), transport=httpx.ASGITransport(app=app), resolver=resolver
    ) as forge:
        with pytest.raises(AddressRefusedError, match="private"):
            await forge.get("https://intranet.example/api/v4/projects")
        with pytest.raises(AddressRefusedError, match=r"reserved|private"):
            await forge.get("https://forge.example/api/v1/version")


async def test_user_agent_names_communs_and_the_instance() -> None:
    seen: dict[str, str] = {}

    async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.update({k.decode(): v.decode() for k, v in scope["headers"]})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": json.dumps({"ok": True}).encode()})

    settings = Settings(allow_loopback=True, instance_url="https://communs.example.org")
    async with ForgeClient(settings, transport=httpx.ASGITransport(app=echo)) as forge:
        assert await forge.get_json("http://127.0.0.1/x") == {"ok": True}
    assert "Communs" in seen["user-agent"]
    assert "https://communs.example.org" in seen["user-agent"]


async def test_tokens_rotate_when_one_is_used_up() -> None:
    used: list[str] = []

    async def limited(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = dict(scope["headers"])
        token = headers.get(b"authorization", b"").decode()
        used.append(token)
        if token.endswith("first"):
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [
                        (b"x-ratelimit-remaining", b"0"),
                        (b"x-ratelimit-reset", b"9999999999"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b"{}"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"[]"})

    async with ForgeClient(
        Settings(allow_loopback=True),
        transport=httpx.ASGITransport(app=limited),
        tokens={"127.0.0.1": ["first", "second"]},
    ) as forge:
        assert await forge.get_json("http://127.0.0.1/orgs/x/repos") == []
    assert used == ["Bearer first", "Bearer second"]


async def test_a_body_cut_short_once_is_asked_for_again(app: Any) -> None:
    app.faults.add(kind="truncate", path="/orgs/decidim/repos", times=1)
    async with client(app) as forge:
        repos = await forge.get_json(REPOS)
    assert sorted(r["name"] for r in repos) == sorted(
        r["name"] for r in load("decidim")["repositories"]
    )
    assert forge.stats.requests == 2

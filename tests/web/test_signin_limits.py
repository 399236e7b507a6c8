"""Password guessing is slowed down: failed sign-ins are limited per account and per
client address, with a message that says so and a ``Retry-After``."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from tests.web.conftest import PASSWORD, settings_for_current_engine  # type: ignore[import-not-found]
from web.throttle import Attempt, Limit, SignInThrottle

WINDOW = 15 * 60


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# The counting itself ----------------------------------------------------------------------


def test_an_account_waits_after_its_failures_until_the_oldest_leaves_the_window() -> None:
    clock = Clock()
    throttle = SignInThrottle(Limit(3, 60), Limit(100, 60), clock=clock)
    for _ in range(3):
        assert isinstance(throttle.attempt("Marie", "192.0.2.1"), Attempt)
        clock.now += 10
    # 3 failures at 1000, 1010, 1020; now 1030: allowed again at 1060
    assert throttle.attempt("marie", "192.0.2.99") == 30  # names are case folded
    clock.now = 1059.5
    assert throttle.attempt("MARIE", "192.0.2.1") == 1
    clock.now = 1060.0
    assert isinstance(throttle.attempt("marie", "192.0.2.1"), Attempt)
    assert throttle.attempt("marie", "192.0.2.1") == 10  # 1010 leaves at 1070
    assert isinstance(throttle.attempt("paul", "192.0.2.1"), Attempt)  # others are free


def test_a_right_password_clears_the_account_but_not_the_address() -> None:
    clock = Clock()
    throttle = SignInThrottle(Limit(2, 60), Limit(3, 60), clock=clock)
    assert isinstance(throttle.attempt("eve-1", "198.51.100.7"), Attempt)
    assert isinstance(throttle.attempt("eve-2", "198.51.100.7"), Attempt)
    ok = throttle.attempt("mine", "198.51.100.7")
    assert isinstance(ok, Attempt)
    throttle.succeeded(ok)  # a valid account of the guesser: its own attempt is given back
    assert isinstance(throttle.attempt("eve-3", "198.51.100.7"), Attempt)
    assert throttle.attempt("mine", "198.51.100.7") == 60  # the address is at its limit
    mine = throttle.attempt("mine", "203.0.113.5")
    assert isinstance(mine, Attempt)
    throttle.succeeded(mine)
    first = throttle.attempt("solo", "203.0.113.5")
    assert isinstance(first, Attempt)
    assert isinstance(throttle.attempt("solo", "203.0.113.5"), Attempt)
    assert throttle.attempt("solo", "203.0.113.6") == 60
    throttle.succeeded(first)
    assert isinstance(throttle.attempt("solo", "203.0.113.6"), Attempt)


def test_memory_stays_bounded_under_many_names() -> None:
    throttle = SignInThrottle(Limit(5, 60), Limit(10**9, 60), clock=Clock(), max_keys=50)
    for n in range(1000):
        throttle.attempt(f"name-{n}", f"10.0.{n // 256}.{n % 256}")
    assert len(throttle._failures) == 50


# Through the site ------------------------------------------------------------------------


@pytest.fixture
async def site(seeded: dict[str, Any], tmp_path: Path) -> AsyncIterator[tuple[Litestar, Clock]]:
    from api.app import create_app

    app = create_app(
        settings_for_current_engine(tmp_path / "data"),
        bind_database=False,
        rate_limit=None,
        run_registrations=False,
    )
    clock = Clock()
    app.state.signin_throttle = SignInThrottle(clock=clock)
    yield app, clock


def browser_at(app: Litestar, address: str, language: str = "en") -> httpx.AsyncClient:
    """A visitor from one client address (the address the site sees)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 50123)),
        base_url="http://127.0.0.1",
        headers={"Accept-Language": language},
    )


async def csrf(client: httpx.AsyncClient) -> str:
    page = await client.get("/signin")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post(
        "/signin",
        data={"csrf_token": await csrf(client), "username": username, "password": password},
        follow_redirects=False,
    )


def message(response: httpx.Response) -> str:
    found = re.search(r'<p class="error" role="alert" id="signin-error">([^<]*)</p>', response.text)
    assert found is not None, response.text[:2000]
    return found.group(1)


async def test_five_wrong_passwords_pause_the_account_with_retry_after(
    site: tuple[Litestar, Clock],
) -> None:
    app, clock = site
    async with browser_at(app, "192.0.2.10") as guesser:
        for n in range(5):
            wrong = await sign_in(guesser, "marie", f"guess number {n}")
            assert wrong.status_code == 400, n
            clock.now += 1
        paused = await sign_in(guesser, "marie", PASSWORD)  # even the right password
        assert paused.status_code == 429
        assert paused.headers["retry-after"] == str(WINDOW - 5)
        assert "Too many failed sign-in attempts" in message(paused)
        assert "wait 15 minutes" in message(paused)
        assert 'value="marie"' in paused.text  # the form is kept, ready for later
        assert "Sign out" not in paused.text
        # the pause is the account's: someone else at this address signs in
        assert (await sign_in(guesser, "paul", PASSWORD)).status_code == 303
    async with browser_at(app, "203.0.113.20") as owner:
        elsewhere = await sign_in(owner, "Marie", PASSWORD)  # from anywhere, any case
        assert elsewhere.status_code == 429
        clock.now += WINDOW - 5
        back = await sign_in(owner, "marie", PASSWORD)
        assert back.status_code == 303 and back.headers["location"] == "/"
        assert "Sign out" in (await owner.get("/")).text


async def test_one_address_guessing_many_accounts_is_paused_in_french_too(
    site: tuple[Litestar, Clock],
) -> None:
    app, _clock = site
    async with browser_at(app, "198.51.100.30", "fr") as guesser:
        for n in range(20):
            assert (await sign_in(guesser, f"agent{n}", "password1")).status_code == 400
        paused = await sign_in(guesser, "paul", PASSWORD)
        assert paused.status_code == 429
        assert int(paused.headers["retry-after"]) == WINDOW
        assert "Trop de tentatives de connexion échouées" in message(paused)
        assert "attendre 15 minutes" in message(paused)
    async with browser_at(app, "198.51.100.31") as neighbour:  # another address is free
        assert (await sign_in(neighbour, "paul", PASSWORD)).status_code == 303


async def test_a_burst_of_parallel_guesses_gets_no_more_than_the_limit(
    site: tuple[Litestar, Clock],
) -> None:
    app, _clock = site
    async with browser_at(app, "192.0.2.40") as guesser:
        token = await csrf(guesser)

        async def guess(n: int) -> int:
            response = await guesser.post(
                "/signin",
                data={"csrf_token": token, "username": "camille", "password": f"guess {n}"},
                follow_redirects=False,
            )
            return response.status_code

        codes = await asyncio.gather(*(guess(n) for n in range(12)))
    assert sorted(codes) == [400] * 5 + [429] * 7, codes


async def test_the_limit_is_on_by_default(seeded: dict[str, Any], tmp_path: Path) -> None:
    """An app nobody configured counts failures too (no test-only switch turns it on)."""
    from api.app import create_app

    app = create_app(
        settings_for_current_engine(tmp_path / "data"),
        bind_database=False,
        rate_limit=None,
        run_registrations=False,
    )
    codes: list[int] = []
    async with browser_at(app, "192.0.2.50") as guesser:
        for n in range(6):
            codes.append((await sign_in(guesser, "paul", f"wrong {n}")).status_code)
    assert codes == [400] * 5 + [429]

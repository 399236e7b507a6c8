"""The site in a real browser: Debian's Chromium driven by Playwright.

Each test saves a screenshot under ``test-artifacts/``. axe-core (vendored from the npm
registry in ``tests/data/axe``) is injected into every kind of page and must report no
violation. Skipped with the reason where Chromium or Playwright is absent (failed
instead when ``COMMUNS_TEST_REQUIRE_BROWSER=1``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import PASSWORD, screenshot  # type: ignore[import-not-found]

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent.parent / "data" / "axe" / "axe.min.js"
PAGE_BUDGET = 150 * 1024


@pytest.fixture
def page(browser: Any, live_server: dict[str, Any]) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server["base"], locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.console_errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()


def sign_in(page: Any, username: str) -> None:
    page.goto("/signin")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/$"))


def axe_violations(page: Any) -> list[str]:
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        "async () => await axe.run(document, "
        "{runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', "
        "'best-practice']}})"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in result["violations"]
    ]


def test_search_lutece_and_narrow_by_license(page: Any) -> None:
    page.goto("/")
    page.get_by_label("Search projects").fill("lutece")
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_url(re.compile(r"q=lutece"))
    expect_count(page, "9 projects")
    page.get_by_label(re.compile(r"^EUPL-1\.2")).check()
    page.wait_for_url(re.compile(r"license=EUPL-1\.2"))
    expect_count(page, "1 project")
    assert "active_months" not in page.url  # empty choices stay out of shared URLs
    assert page.locator("ol.projects h2").all_inner_texts() == ["Portail citoyen Occitanie"]
    # htmx replaced the results in place: the page was not reloaded, the focus stayed
    assert page.evaluate("document.activeElement.name") == "license"
    screenshot(page, "search-narrowed")
    # the URL is shareable: opening it anew shows the same narrowed list
    page.goto(page.url)
    expect_count(page, "1 project")
    assert not page.console_errors  # no CSP violation, no script error


def expect_count(page: Any, text: str) -> None:
    page.wait_for_function(
        "t => document.getElementById('result-count').textContent.trim() === t", arg=text
    )


def test_open_a_project_sheet(page: Any) -> None:
    page.goto("/?q=lutece+core")
    page.get_by_role("link", name="Lutece core").first.click()
    page.wait_for_url(re.compile(r"/projects/lutece-core$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Lutece core"
    assert page.locator("#reusers ~ table").get_by_text("Région Occitanie").is_visible()
    assert page.get_by_text("pre-release").first.is_visible()
    screenshot(page, "project-sheet")


def test_member_declares_reuse_seen_on_sheet_and_dashboard(
    browser: Any, live_server: dict[str, Any]
) -> None:
    context = browser.new_context(base_url=live_server["base"], locale="en-GB")
    page = context.new_page()
    try:
        sign_in(page, "marie")
        page.goto("/projects/lutece-form-plugin-forms")
        page.get_by_role("link", name="We use this").click()
        options = page.locator("#version option").all_inner_texts()
        version = options[1]
        page.get_by_label("Version in use").select_option(version)
        page.get_by_label("In use since").fill("2025-02-03")
        page.get_by_label("in production").check()
        page.get_by_label("Contact (optional)").fill("numerique@lyon.example")
        page.get_by_role("button", name="Declare reuse").click()
        page.wait_for_url(re.compile(r"/projects/lutece-form-plugin-forms#reusers$"))
        row = page.locator("#reusers ~ table tbody tr", has_text="Ville de Lyon")
        assert version in row.inner_text()
        screenshot(page, "reuse-declared")
        page.get_by_role("button", name=re.compile("Sign out")).click()
        sign_in(page, "camille")
        page.goto("/dashboard")
        page.get_by_label("Project", exact=True).select_option(label="Lutece form plugin forms")
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(re.compile(r"project=lutece-form-plugin-forms"))
        chart_tables = page.locator("table", has=page.locator("caption", has_text="per kind"))
        assert "municipality" in chart_tables.inner_text()
        assert page.locator("svg.chart title").count() == 4
        screenshot(page, "dashboard")
    finally:
        context.close()


def test_switch_language(page: Any) -> None:
    page.goto("/projects/lutece-core")
    page.get_by_role("link", name="Français").click()
    page.wait_for_url(re.compile(r"/projects/lutece-core$"))
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("heading", name="Qui l’utilise").is_visible()
    screenshot(page, "french-sheet")
    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", name="Who uses it").is_visible()


def test_same_search_without_javascript(browser: Any, live_server: dict[str, Any]) -> None:
    context = browser.new_context(
        base_url=live_server["base"], java_script_enabled=False, locale="en-GB"
    )
    page = context.new_page()
    try:
        page.goto("/")
        page.get_by_label("Search projects").fill("lutece")
        page.get_by_role("button", name="Search", exact=True).click()
        page.wait_for_url(re.compile(r"q=lutece"))
        assert page.locator("#result-count").inner_text() == "9 projects"
        page.get_by_label(re.compile(r"^EUPL-1\.2")).check()
        page.get_by_role("button", name="Apply filters").click()
        page.wait_for_url(re.compile(r"license=EUPL-1\.2"))
        assert page.locator("#result-count").inner_text() == "1 project"
        screenshot(page, "search-no-javascript")
    finally:
        context.close()


def test_hostile_readme_runs_nothing(page: Any) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto("/projects/hostile-readme")
    page.get_by_text("click me").click()
    page.get_by_text("styled").click()
    page.wait_for_timeout(300)
    assert "pwned" not in page.title()
    assert not dialogs
    assert page.url.endswith("/projects/hostile-readme")
    # and the Content-Security-Policy is enforced: an inline script added later is refused
    blocked = page.evaluate(
        """() => new Promise(resolve => {
            document.addEventListener('securitypolicyviolation',
                e => resolve(e.violatedDirective), {once: true});
            const s = document.createElement('script');
            s.textContent = "document.title = 'inline-ran'";
            document.body.appendChild(s);
            setTimeout(() => resolve('none'), 2000);
        })"""
    )
    assert blocked.startswith("script-src")
    assert page.title() != "inline-ran"
    screenshot(page, "hostile-readme")


def test_axe_harness_reports_a_planted_violation(page: Any) -> None:
    """The zero-violation results above mean something: a planted fault is found."""
    page.goto("/signin")
    page.evaluate(
        "() => { const i = document.createElement('input');"
        " document.querySelector('form').appendChild(i); }"
    )
    violations = axe_violations(page)
    assert any(v.startswith("label ") for v in violations), violations


LOCKED_NAME = "nobody-guessed"
PAGE_KINDS = {
    "home": ("", "/"),
    "search": ("", "/?q=lutece&license=BSD-3-Clause"),
    "project": ("", "/projects/lutece-core"),
    "project-publiccode-errors": ("", "/projects/lutece-occitanie-portal"),
    "project-hostile": ("", "/projects/hostile-readme"),
    "publisher": ("", "/publishers/ville-de-paris"),
    "signin": ("", "/signin"),
    "signin-paused": ("", "/signin"),
    "not-found": ("", "/projects/nothing-here"),
    "forbidden": ("marie", "/dashboard"),
    "reuse-form": ("marie", "/projects/lutece-core/reuse"),
    "tokens": ("paul", "/account/tokens"),
    "register": ("paul", "/register"),
    "registration-run": ("paul", "/register/runs/1"),
    "dashboard": ("camille", "/dashboard"),
    "reuse-form-refused": ("marie", "/projects/lutece-core/reuse"),
    "register-refused": ("paul", "/register"),
    "token-created": ("paul", "/account/tokens"),
}
STATUS = {
    "not-found": 404,
    "forbidden": 403,
    "signin-paused": 429,
    "reuse-form-refused": 400,
    "register-refused": 400,
}


def submit(page: Any, button: Any) -> int:
    """Click a form's submit button; the status of the page it leads to."""
    with page.expect_navigation() as navigation:
        button.click()
    response = navigation.value
    assert response is not None
    return int(response.status)


def refuse_reuse(page: Any) -> int:
    """A version the form never offered (a tampered form) is refused, the form kept."""
    page.evaluate(
        "() => { const o = document.createElement('option'); o.value = o.textContent = '99.0.0';"
        " document.getElementById('version').appendChild(o); }"
    )
    page.locator("#version").select_option("99.0.0")
    return submit(page, page.locator("button[name=action][value=save]"))


def refuse_registration(page: Any) -> int:
    """An address that is no forge repository (the browser's own check turned off)."""
    page.evaluate("() => { document.querySelector('form.stacked').noValidate = true; }")
    page.locator("#url").fill("ftp://files.example/project")
    return submit(page, page.locator("form.stacked button[type=submit]"))


def create_token(page: Any) -> int:
    page.locator("#token-name").fill("axe check")
    return submit(page, page.locator("form.stacked button[type=submit]"))


ACTIONS = {
    "reuse-form-refused": refuse_reuse,
    "register-refused": refuse_registration,
    "token-created": create_token,
}


def guess_until_paused(page: Any, username: str = LOCKED_NAME) -> Any:
    """Wrong passwords for ``username`` until the site pauses it; the paused answer.

    Only this made-up account is paused: the failures stay far below the per-address
    limit that every test of this module (all from 127.0.0.1) shares."""
    for _ in range(10):
        page.goto("/signin")
        page.locator("#username").fill(username)
        page.locator("#password").fill("not the password")
        with page.expect_response(lambda r: r.url.endswith("/signin")) as answer:
            page.locator("form.stacked button[type=submit]").click()
        response = answer.value
        page.wait_for_load_state()
        if response.status == 429:
            return response
        assert response.status == 400
    raise AssertionError("sign-in was never paused")


def open_page(page: Any, kind: str, *, signed_in: bool = False) -> int:
    """Sign in as the kind's user (unless ``signed_in``), open its page, say its status."""
    user, path = PAGE_KINDS[kind]
    if user and not signed_in:
        sign_in_any_language(page, user)
    if kind == "signin-paused":
        return int(guess_until_paused(page).status)
    response = page.goto(path)
    assert response is not None
    if kind in ACTIONS:
        assert response.status == 200
        return ACTIONS[kind](page)
    return int(response.status)


@pytest.mark.parametrize("kind", list(PAGE_KINDS))
def test_axe_finds_no_violation(browser: Any, live_server: dict[str, Any], kind: str) -> None:
    for lang in ("en-GB", "fr-FR"):
        context = browser.new_context(base_url=live_server["base"], locale=lang)
        page = context.new_page()
        try:
            assert open_page(page, kind) == STATUS.get(kind, 200), kind
            # folded content (publiccode.yml errors) is checked unfolded too
            page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
            violations = axe_violations(page)
            assert not violations, f"{kind} ({lang}):\n" + "\n".join(violations)
            if lang == "en-GB":
                screenshot(page, f"axe-{kind}")
        finally:
            context.close()


def sign_in_any_language(page: Any, username: str) -> None:
    page.goto("/signin")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form.stacked button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/$"))


def test_password_guessing_is_paused_with_a_clear_message(
    browser: Any, live_server: dict[str, Any]
) -> None:
    context = browser.new_context(base_url=live_server["base"], locale="en-GB")
    page = context.new_page()
    try:
        paused = guess_until_paused(page, "guessed-in-browser")
        retry_after = int(paused.headers["retry-after"])
        assert 0 < retry_after <= 15 * 60
        alert = page.get_by_role("alert")
        assert "Too many failed sign-in attempts" in alert.inner_text()
        assert re.search(r"wait \d+ minutes? before trying again", alert.inner_text())
        assert page.locator("#username").input_value() == "guessed-in-browser"
        screenshot(page, "signin-paused")
        # the pause is that account's: a member still signs in from the same address
        sign_in(page, "marie")
        assert page.get_by_role("button", name=re.compile("Sign out")).is_visible()
    finally:
        context.close()


@pytest.mark.parametrize("kind", list(PAGE_KINDS))
def test_page_weight_without_cache(browser: Any, live_server: dict[str, Any], kind: str) -> None:
    """Everything a page makes the browser download (HTML, CSS, htmx, images), with the
    cache disabled, stays under 150 KB."""
    context = browser.new_context(base_url=live_server["base"])
    page = context.new_page()
    try:
        sizes: dict[str, int] = {}
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        user, _path = PAGE_KINDS[kind]
        if user:
            sign_in_any_language(page, user)
        page.on("response", lambda r: sizes.__setitem__(r.url, len(r.body())))
        assert open_page(page, kind, signed_in=True) == STATUS.get(kind, 200)
        page.wait_for_load_state("networkidle")
        total = sum(sizes.values())
        print(f"page weight {kind}: {total} bytes over {len(sizes)} responses")
        assert any(url.endswith(".css") for url in sizes), sizes  # the whole page counted
        assert total < PAGE_BUDGET, sizes
    finally:
        context.close()


def test_register_a_project_against_the_fake_forge_and_watch_the_run(
    browser: Any, live_server: dict[str, Any]
) -> None:
    """The maintainer submits a repository of the loopback fake forge; the status on the
    run's page changes by itself (htmx polling) until the run is over; when it is done the
    page links to the new sheet, which opens."""
    from playwright.sync_api import expect

    from fakeforge.testing import serve

    fixture = Path(__file__).parent.parent / "data" / "real-forges"
    fixture = fixture / "github__lutece-secteur-public.json"
    context = browser.new_context(base_url=live_server["base"], locale="en-GB")
    page = context.new_page()
    try:
        with serve([fixture]) as forge:
            sign_in(page, "paul")
            page.goto("/register")
            page.get_by_label("Repository URL").fill(
                f"{forge.url}/gitea/lutece-secteur-public/gru-plugin-appointment"
            )
            page.get_by_label("Publisher").select_option(label="Ville de Paris")
            page.get_by_role("button", name="Register").click()
            page.wait_for_url(re.compile(r"/register/runs/\d+$"))
            run_url = page.url
            expect(page.locator("#run-status")).to_have_attribute(
                "data-state", re.compile(r"^(done|failed)$"), timeout=60_000
            )
            assert page.url == run_url  # the status changed in place, no reload
            state = page.locator("#run-status").get_attribute("data-state")
            screenshot(page, "registration-run")
            reason = page.locator("#run-status").inner_text()
            assert state == "done", reason
            page.get_by_role("link", name=re.compile("Open the sheet")).click()
            page.wait_for_url(re.compile(r"/projects/[^/]+$"))
            assert page.get_by_role("heading", level=1).inner_text() == "gru-plugin-appointment"
            # published by the publisher it was registered for
            assert page.get_by_role("link", name="Ville de Paris").first.is_visible()
    finally:
        context.close()


def test_keyboard_reaches_the_skip_link_first_and_it_moves_focus_to_the_content(
    page: Any,
) -> None:
    page.goto("/projects/lutece-core")
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "() => [document.activeElement.className, document.activeElement.textContent,"
        " document.activeElement.getBoundingClientRect().left]"
    )
    assert focused[0] == "skip" and focused[1] == "Skip to content"
    assert focused[2] >= 0  # shown on screen once focused
    screenshot(page, "skip-link")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.id === 'main'")
    page.keyboard.press("Tab")  # the next stop is inside the content, not the header
    assert page.evaluate("() => document.getElementById('main').contains(document.activeElement)")

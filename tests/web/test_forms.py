"""Forms as a person uses them: sign in, declare reuse, tokens; CSRF and roles enforced."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient

from registry.services import accounts
from registry.tables import ReuseDeclaration, ReuseDeclarationHistory


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


async def test_signing_in_with_a_wrong_password_says_so(visitor: Any) -> None:
    response = await visitor.sign_in("marie", "not the password")
    assert response.status_code == 400
    assert "Unknown user name or wrong password." in response.text


async def test_signing_in_then_out(visitor: Any, client: AsyncTestClient) -> None:
    response = await visitor.sign_in("marie")
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Sign out" in (await client.get("/")).text
    token = await visitor.csrf("/")
    out = await client.post("/signout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert "Sign out" not in (await client.get("/")).text


async def test_a_post_without_or_with_a_foreign_csrf_token_is_refused(
    visitor: Any, client: AsyncTestClient
) -> None:
    no_token = await client.post(
        "/signin", data={"username": "marie", "password": "x"}, follow_redirects=False
    )
    assert no_token.status_code == 403
    await client.get("/signin")
    forged = await client.post(
        "/signin",
        data={"csrf_token": "A" * 43, "username": "marie", "password": "x"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert "did not come from this site" in forged.text


async def test_the_json_api_is_not_subject_to_web_csrf(client: AsyncTestClient) -> None:
    health = await client.get("/api/v1/health")
    assert health.status_code == 200 and health.headers["content-type"].startswith(
        "application/json"
    )


async def test_a_member_declares_edits_and_withdraws_reuse(
    visitor: Any, client: AsyncTestClient, seeded: dict[str, Any]
) -> None:
    await visitor.sign_in("marie")
    form = await client.get("/projects/lutece-core/reuse")
    assert form.status_code == 200
    versions = re.findall(r'<option value="([^"]+)"', form.text)
    assert versions, "the version list comes from the known releases"
    chosen = versions[0]
    saved = await visitor.post_form(
        "/projects/lutece-core/reuse",
        "/projects/lutece-core/reuse",
        {
            "version": chosen,
            "since": "2024-01-15",
            "status": "production",
            "service_url": "https://demarches.lyon.example",
            "contact": "dsi@lyon.example",
            "comment": "Portail des démarches",
            "action": "save",
        },
    )
    assert saved.status_code == 303, saved.text
    sheet = text_of((await client.get("/projects/lutece-core")).text)
    assert "Ville de Lyon" in sheet and chosen in sheet
    # edit: another status
    await visitor.post_form(
        "/projects/lutece-core/reuse",
        "/projects/lutece-core/reuse",
        {"version": chosen, "since": "2024-01-15", "status": "evaluating", "action": "save"},
    )
    assert "evaluating" in text_of((await client.get("/projects/lutece-core")).text)
    # withdraw: gone from the sheet, kept in the history
    withdrawn = await visitor.post_form(
        "/projects/lutece-core/reuse", "/projects/lutece-core/reuse", {"action": "withdraw"}
    )
    assert withdrawn.status_code == 303
    assert "Ville de Lyon" not in text_of((await client.get("/projects/lutece-core")).text)
    row = (
        await ReuseDeclaration.select()
        .where(ReuseDeclaration.publisher == seeded["publishers"]["lyon"])
        .first()
    )
    assert row is not None and row["status"] == "withdrawn" and row["version"] == chosen
    assert (
        await ReuseDeclarationHistory.count().where(
            ReuseDeclarationHistory.declaration == row["id"]
        )
        == 3
    )


async def test_an_unknown_version_is_refused_with_the_form_kept(
    visitor: Any, client: AsyncTestClient
) -> None:
    await visitor.sign_in("marie")
    response = await visitor.post_form(
        "/projects/lutece-core/reuse",
        "/projects/lutece-core/reuse",
        {"version": "99.0.0", "status": "production", "contact": "kept@lyon.example"},
    )
    assert response.status_code == 400
    assert "known releases" in text_of(response.text), text_of(response.text)
    assert 'value="kept@lyon.example"' in response.text
    # the fields point at the message, so a screen reader says why when it reaches them
    assert '<select id="version" name="version" aria-describedby="form-errors">' in response.text


async def test_reuse_form_needs_a_signed_in_member(visitor: Any, client: AsyncTestClient) -> None:
    anonymous = await client.get("/projects/lutece-core/reuse", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/signin?next=/projects/lutece-core/reuse")
    await visitor.sign_in("camille")  # a community manager, member of no publisher
    refused = await client.get("/projects/lutece-core/reuse")
    assert refused.status_code == 403


async def test_dashboard_is_for_community_managers(visitor: Any, client: AsyncTestClient) -> None:
    await visitor.sign_in("marie")
    assert (await client.get("/dashboard")).status_code == 403
    await visitor.sign_in("camille")
    page = await client.get("/dashboard")
    assert page.status_code == 200
    assert page.text.count('<svg class="chart" role="img"') == 4
    assert page.text.count("<title id=") == 4 and page.text.count("<desc id=") == 4
    text = text_of(page.text)
    assert "Outdated reusers to contact" in text and "dsi@occitanie.example" in text
    assert "Région Occitanie" in text


async def test_api_tokens_are_shown_once_and_can_be_revoked(
    visitor: Any, client: AsyncTestClient
) -> None:
    await visitor.sign_in("paul")
    created = await visitor.post_form(
        "/account/tokens", "/account/tokens", {"name": "nightly export", "days": "30"}
    )
    assert created.status_code == 200
    token = re.search(r'<code id="new-token">([^<]+)</code>', created.text)
    assert token is not None
    user = await accounts.user_for_token(token.group(1))
    assert user["username"] == "paul"
    listing = await client.get("/account/tokens")
    assert token.group(1) not in listing.text and "nightly export" in listing.text
    token_id = re.search(r'action="/account/tokens/(\d+)/revoke"', listing.text)
    assert token_id is not None
    await visitor.post_form("/account/tokens", f"/account/tokens/{token_id.group(1)}/revoke", {})
    assert "revoked" in text_of((await client.get("/account/tokens")).text)


async def test_french_from_accept_language_and_from_the_switch(client: AsyncTestClient) -> None:
    french = await client.get("/?q=lutece", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr">' in french.text
    assert "9 projets" in text_of(french.text) and "Trier par" in french.text
    switched = await client.get("/language/fr?next=/projects/lutece-core", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/projects/lutece-core"
    sheet = await client.get("/projects/lutece-core")
    assert '<html lang="fr">' in sheet.text and "Publié par" in sheet.text
    # the description exists in English only: shown, and marked as English for screen readers
    assert '<div class="readme" lang="en">' in sheet.text
    # dates are written the French way ("1 mars 2026", never "Mar 1, 2026")
    assert re.search(
        r"\d{1,2} (janv\.|févr\.|mars|avr\.|mai|juin|juil\.|août|sept\.|oct\.|nov\.|déc\.) \d{4}",
        sheet.text,
    )
    back = await client.get("/language/en?next=//evil.example", follow_redirects=False)
    assert back.headers["location"] == "/"


async def test_the_reuse_form_offers_the_known_releases_and_edits_the_current_declaration(
    visitor: Any, client: AsyncTestClient, seeded: dict[str, Any]
) -> None:
    from registry.tables import Release

    await visitor.sign_in("marie")
    form = (await client.get("/projects/lutece-core/reuse")).text
    offered = re.findall(r'<option value="([^"]+)"', form)
    known = (
        await Release.select(Release.version, Release.tag)
        .where(Release.repository.project == seeded["projects"]["lutece-core"])
        .order_by(Release.published_at, ascending=False)
    )
    expected: list[str] = []
    for release in known:
        version = release["version"] or release["tag"]
        if version not in expected:
            expected.append(version)
    assert offered == expected  # every known release, newest first, nothing else
    assert '<option value="">' in form  # "I don't know" stays possible
    assert "Declare reuse" in form and 'value="withdraw"' not in form
    chosen = offered[1]
    await visitor.post_form(
        "/projects/lutece-core/reuse",
        "/projects/lutece-core/reuse",
        {
            "version": chosen,
            "since": "2024-01-15",
            "status": "evaluating",
            "service_url": "https://demarches.lyon.example",
            "contact": "dsi@lyon.example",
            "comment": "Pilote <b>dans</b> deux mairies",
            "action": "save",
        },
    )
    # editing: the form opens on the current declaration
    edit = (await client.get("/projects/lutece-core/reuse")).text
    assert f'<option value="{chosen}" selected>' in edit
    assert re.search(r'id="status-evaluating" name="status" value="evaluating" checked', edit)
    assert 'value="2024-01-15"' in edit and 'value="dsi@lyon.example"' in edit
    assert 'value="https://demarches.lyon.example"' in edit
    assert "Pilote &lt;b&gt;dans&lt;/b&gt; deux mairies</textarea>" in edit
    assert "Update the declaration" in edit and 'value="withdraw"' in edit
    assert "Current declaration: evaluating" in text_of(edit)
    # withdrawn: the form offers to declare again, and declaring again works
    await visitor.post_form(
        "/projects/lutece-core/reuse", "/projects/lutece-core/reuse", {"action": "withdraw"}
    )
    after = (await client.get("/projects/lutece-core/reuse")).text
    assert "Declare reuse" in after and 'value="withdraw"' not in after
    assert " selected>" not in after.split('id="version"')[1].split("</select>")[0]
    again = await visitor.post_form(
        "/projects/lutece-core/reuse",
        "/projects/lutece-core/reuse",
        {"version": offered[0], "status": "production", "action": "save"},
    )
    assert again.status_code == 303, text_of(again.text)
    sheet = text_of((await client.get("/projects/lutece-core")).text)
    assert re.search(rf"Ville de Lyon {re.escape(offered[0])} (outdated )?in production", sheet)

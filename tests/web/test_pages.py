"""The web pages rendered in-process, on SQLite and PostgreSQL: what a visitor reads."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient


def text_of(html: str) -> str:
    """The visible text of a page, whitespace collapsed (tags dropped)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


async def test_search_for_lutece_lists_its_projects_with_license_facet_counts(
    client: AsyncTestClient,
) -> None:
    page = await client.get("/?q=lutece")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "9 projects" in text
    assert "Lutece core" in text and "Portail citoyen Occitanie" in text
    assert "Hostile README" not in text
    # the license facet counts what a click would give
    assert re.search(r"BSD-3-Clause \((\d+)\)", text)
    assert "EUPL-1.2 (1)" in text
    narrowed = await client.get("/?q=lutece&license=EUPL-1.2")
    narrowed_text = text_of(narrowed.text)
    assert "1 project" in narrowed_text
    assert "Portail citoyen Occitanie" in narrowed_text
    assert "Lutece core" not in narrowed_text
    # the checkbox of the chosen license stays checked, so the URL is the whole state
    assert re.search(r'name="license" value="EUPL-1.2" checked', narrowed.text)


async def test_results_show_publisher_license_version_activity_and_reusers(
    client: AsyncTestClient, seeded: dict[str, Any]
) -> None:
    page = await client.get("/?q=lutece+core&sort=reused")
    first = page.text[page.text.index('<ol class="projects">') :]
    first = first[: first.index("</li>")]
    text = text_of(first)
    assert "Lutece core" in text and "Ville de Paris" in text and "BSD-3-Clause" in text
    assert "1 reuser" in text
    assert re.search(r"version \d+\.\d+\.\d+", text)


async def test_an_htmx_request_gets_only_the_results_fragment(client: AsyncTestClient) -> None:
    full = await client.get("/?q=lutece&license=EUPL-1.2")
    fragment = await client.get("/?q=lutece&license=EUPL-1.2", headers={"HX-Request": "true"})
    assert "<html" in full.text and "<html" not in fragment.text
    assert 'id="search-form"' in fragment.text
    assert "Portail citoyen Occitanie" in fragment.text


async def test_pagination_and_sort_keep_the_query(client: AsyncTestClient) -> None:
    page = await client.get("/?q=&sort=name")
    assert page.status_code == 200
    assert "10 projects" in text_of(page.text)
    names = re.findall(r'<h2><a href="/projects/[^"]+">([^<]+)</a></h2>', page.text)
    assert names == sorted(names, key=str.lower)


async def test_project_sheet_shows_versions_license_and_reusers(
    client: AsyncTestClient, seeded: dict[str, Any]
) -> None:
    page = await client.get("/projects/lutece-core")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Lutece core" in text and "Published by Ville de Paris" in text
    assert "BSD-3-Clause" in text
    assert "pre-release" in text  # beta and RC tags are marked
    assert "Région Occitanie" in text and seeded["old_core_version"] in text
    assert "outdated" in text  # Occitanie runs an old version
    assert "Portail citoyen Occitanie" in text  # based on Lutece core: related
    assert "https://github.com/lutece-platform/lutece-core" in text
    missing = await client.get("/projects/no-such-project")
    assert missing.status_code == 404 and "Page not found" in missing.text


async def test_sheet_shows_publiccode_contacts_and_its_errors_for_maintainers(
    client: AsyncTestClient,
) -> None:
    text = text_of((await client.get("/projects/lutece-occitanie-portal")).text)
    assert "Jeanne Martin, DSI Région Occitanie — jeanne.martin@occitanie.example" in text
    section = text[text.index("Repositories") :]
    assert "invalid" in section, section[:500]
    assert re.search(
        r"error line 1 developmentStatus ?: developmentStatus is a required field", section
    )


async def test_publisher_page_lists_accounts_published_and_reused(client: AsyncTestClient) -> None:
    paris = text_of((await client.get("/publishers/ville-de-paris")).text)
    assert "github.com/lutece-platform" in paris and "Lutece core" in paris
    region = text_of((await client.get("/publishers/region-occitanie")).text)
    assert "Portail citoyen Occitanie" in region  # published
    assert "Lutece core — in production" in region  # reused


async def test_hostile_description_is_rendered_inert(client: AsyncTestClient) -> None:
    page = await client.get("/projects/hostile-readme")
    assert page.status_code == 200
    readme = page.text[page.text.index('<div class="readme">') :]
    readme = readme[: readme.index("</div>")]
    lowered = readme.lower()
    for forbidden in ("<script", "onerror", "onclick", "<iframe", "<form", "style="):
        assert forbidden not in lowered, forbidden
    assert not re.search(r"(href|src)\s*=\s*[\"']?\s*javascript:", lowered)
    assert "click me" in readme and "styled" in readme  # the text itself is kept


async def test_every_page_sends_a_strict_content_security_policy(client: AsyncTestClient) -> None:
    for path in (
        "/",
        "/projects/lutece-core",
        "/projects/lutece-core/releases.atom",
        "/signin",
        "/static/site.css",
        "/no-such-page",
        "/projects/no-such-project",
        "/dashboard",
    ):
        response = await client.get(path, headers={"Accept": "text/html"})
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, path
        assert "frame-ancestors 'none'" in policy
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_remembered_search_follows_catalogue_changes(
    client: AsyncTestClient, visitor: Any
) -> None:
    before = await client.get("/?min_reused=1")
    assert "1 project" in text_of(before.text)  # Lutece core, reused by Occitanie
    await visitor.sign_in("marie")
    form = await client.get("/projects/lutece-tech-plugin-rest/reuse")
    version = re.findall(r'<option value="([^"]+)"', form.text)[0]
    await visitor.post_form(
        "/projects/lutece-tech-plugin-rest/reuse",
        "/projects/lutece-tech-plugin-rest/reuse",
        {"version": version, "status": "production", "action": "save"},
    )
    after = await client.get("/?min_reused=1")
    assert "2 projects" in text_of(after.text)


async def test_every_facet_of_the_search_narrows_to_the_count_it_shows(
    client: AsyncTestClient,
) -> None:
    from urllib.parse import urlencode

    page = (await client.get("/?q=")).text
    fieldsets = dict(
        re.findall(r'<fieldset id="facet-([a-z_]+)">(.*?)</fieldset>', page, flags=re.S)
    )
    assert {
        "license",
        "language",
        "publisher",
        "kind",
        "country",
        "category",
        "active_months",
        "min_reused",
    } <= set(fieldsets)
    for name, body in fieldsets.items():
        choices = re.findall(
            r'name="([a-z_]+)" value="([^"]+)"[^>]*>\s*<label[^>]*>[^<]*'
            r'<span class="count">\((\d+)\)</span>',
            body,
        )
        assert choices, name
        field, value, count = choices[0]
        assert field == name
        narrowed = text_of((await client.get("/?" + urlencode({"q": "", name: value}))).text)
        expected = f"{count} project" + ("" if count == "1" else "s")
        assert re.search(rf"\b{expected}\b", narrowed), (name, value, expected)


async def test_result_lines_are_plain_text_of_the_description(client: AsyncTestClient) -> None:
    page = await client.get("/?q=hostile")
    results = page.text[page.text.index('<ol class="projects">') :]
    results = results[: results.index("</ol>")]
    summary = re.search(r"</p>\s*<p>([^<]*)</p>", results)
    assert summary is not None, results
    # no markup, not even escaped: a script's content and an event handler are gone
    assert summary.group(1) == "Hostile click me markdown link styled"
    for forbidden in ("script", "onerror", "javascript", "pwned", "&lt;", "#"):
        assert forbidden not in results.lower(), forbidden
    french = await client.get("/?q=portail", headers={"Accept-Language": "fr"})
    assert "<p>Portail citoyen bâti sur Lutece.</p>" in french.text  # **bold** marks dropped


async def test_pages_of_results_keep_the_query_filters_and_sort(
    client: AsyncTestClient, seeded: dict[str, Any]
) -> None:
    from html import unescape

    from registry.services import search_index
    from registry.tables import Project

    await Project.insert(
        *(
            Project(
                slug=f"outil-{n:02d}",
                name=f"Outil {n:02d}",
                description={"fr": "Un outil de gestion."},
                publisher=seeded["publishers"]["lyon"],
                license_expression="MPL-2.0",
            )
            for n in range(25)
        )
    )
    await search_index.rebuild()
    first = await client.get("/?q=outil&license=MPL-2.0&sort=name")
    names = re.findall(r'<h2><a href="/projects/[^"]+">([^<]+)</a></h2>', first.text)
    assert names == [f"Outil {n:02d}" for n in range(20)]
    assert "Page 1 of 2" in text_of(first.text)
    following = re.search(r'<a rel="next" href="([^"]+)"', first.text)
    assert following is not None
    href = unescape(following.group(1))
    assert "q=outil" in href and "license=MPL-2.0" in href and "sort=name" in href
    assert "page=2" in href
    second = await client.get(href)
    names = re.findall(r'<h2><a href="/projects/[^"]+">([^<]+)</a></h2>', second.text)
    assert names == [f"Outil {n:02d}" for n in range(20, 25)]
    assert '<a rel="next"' not in second.text and '<a rel="prev"' in second.text
    beyond = await client.get("/?q=outil&license=MPL-2.0&sort=name&page=99")
    assert beyond.status_code == 200  # a stale shared link opens on the first page

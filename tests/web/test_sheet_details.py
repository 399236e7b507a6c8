"""What a project sheet must show beyond the basics: license sources that disagree,
reusers behind the latest version highlighted, the exports and the Atom feed (which
answer), and the dashboard's charts each with a title, a description and its data."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from typing import Any

import yaml
from litestar.testing import AsyncTestClient

from registry.tables import Release, Repository

ATOM = "{http://www.w3.org/2005/Atom}"


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def section(html: str, heading_id: str) -> str:
    start = html.index(f'aria-labelledby="{heading_id}"')
    return html[start : html.index("</section>", start)]


async def test_sheet_names_each_license_source_and_says_when_they_disagree(
    client: AsyncTestClient,
) -> None:
    portal = section((await client.get("/projects/lutece-occitanie-portal")).text, "license")
    assert 'class="warning" role="note"' in portal
    text = text_of(portal)
    assert "The sources disagree about the license." in text
    assert "EUPL-1.2 — the forge" in text
    assert "AGPL-3.0-or-later — license file ( LICENSE )" in text
    core = section((await client.get("/projects/lutece-core")).text, "license")
    assert "BSD-3-Clause — license file" in text_of(core)
    assert "disagree" not in core  # one license everywhere: no warning
    french = await client.get(
        "/projects/lutece-occitanie-portal", headers={"Accept-Language": "fr"}
    )
    assert "Les sources" in text_of(section(french.text, "license"))


async def test_reusers_on_an_old_version_are_highlighted(
    client: AsyncTestClient, seeded: dict[str, Any]
) -> None:
    reusers = section((await client.get("/projects/lutece-core")).text, "reusers")
    rows = re.findall(r"<tr( class=\"outdated\")?>(.*?)</tr>", reusers, flags=re.S)
    occitanie = [marked for marked, row in rows if "Région Occitanie" in row]
    assert occitanie == [' class="outdated"']
    assert re.search(
        re.escape(seeded["old_core_version"]) + r' <strong class="flag">outdated</strong>', reusers
    )
    css = (await client.get("/static/site.css")).text
    assert re.search(r"tr\.outdated (td|th)[^{]*\{[^}]*background", css)  # seen, not only read


async def test_sheet_links_to_exports_and_a_release_feed_that_answer(
    client: AsyncTestClient, seeded: dict[str, Any]
) -> None:
    page = await client.get("/projects/lutece-core")
    head = page.text[: page.text.index("</head>")]
    assert (
        '<link rel="alternate" type="application/atom+xml" '
        'href="/projects/lutece-core/releases.atom"' in head
    )
    links = re.findall(r'<a href="([^"]+)"', section(page.text, "exports"))
    assert links == [
        "/api/v1/projects/lutece-core",
        "/api/v1/projects/lutece-core/publiccode.yml",
        "/api/v1/projects/lutece-core/codemeta.json",
        "/projects/lutece-core/releases.atom",
    ]
    as_json = await client.get(links[0])
    assert as_json.status_code == 200 and as_json.json()["slug"] == "lutece-core"
    publiccode = await client.get(links[1])
    assert publiccode.status_code == 200
    assert yaml.safe_load(publiccode.text)["name"] == "Lutece core"
    codemeta = await client.get(links[2])
    assert codemeta.status_code == 200 and codemeta.json()["name"] == "Lutece core"

    feed = await client.get(links[3])
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(feed.content)
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}title") == "Lutece core: releases"
    assert root.findtext(f"{ATOM}author/{ATOM}name") == "Ville de Paris"
    entries = root.findall(f"{ATOM}entry")
    dated = (
        await Release.select(Release.version, Release.is_prerelease, Release.published_at)
        .where(
            (Release.repository.project == seeded["projects"]["lutece-core"])
            & Release.published_at.is_not_null()
        )
        .order_by(Release.published_at, ascending=False)
    )
    assert len(entries) == min(50, len(dated)) > 0
    newest = dated[0]
    assert entries[0].findtext(f"{ATOM}title") == f"Lutece core {newest['version']}"
    kind = "pre-release" if newest["is_prerelease"] else "release"
    assert f": {kind} {newest['version']}" in (entries[0].findtext(f"{ATOM}summary") or "")
    updated = [e.findtext(f"{ATOM}updated") or "" for e in entries]
    assert updated == sorted(updated, reverse=True)
    assert len({e.findtext(f"{ATOM}id") for e in entries}) == len(entries)
    assert any("pre-release" in (e.findtext(f"{ATOM}summary") or "") for e in entries) == any(
        r["is_prerelease"] for r in dated[:50]
    )
    assert (await client.get("/projects/nothing-here/releases.atom")).status_code == 404


async def test_a_feed_escapes_what_forges_send(
    client: AsyncTestClient, seeded: dict[str, Any]
) -> None:
    empty = await client.get("/projects/hostile-readme/releases.atom")
    assert empty.status_code == 200
    assert ET.fromstring(empty.content).findall(f"{ATOM}entry") == []  # no release yet
    rows = await Repository.insert(
        Repository(
            url="https://forge.example/evil/repo?a=1&b=<2>",
            project=seeded["projects"]["hostile"],
            forge_kind="gitea",
            name="repo",
        )
    ).returning(Repository.id)
    tag = 'v1.0.0"><script>alert(1)</script>&amp;'
    await Release.insert(
        Release(
            repository=int(rows[0]["id"]),
            tag=tag,
            version="1.0.0",
            published_at=dt.datetime(2025, 1, 2, tzinfo=dt.UTC),
        )
    )
    feed = await client.get("/projects/hostile-readme/releases.atom")
    entry = ET.fromstring(feed.content).find(f"{ATOM}entry")
    assert entry is not None
    assert tag in (entry.findtext(f"{ATOM}summary") or "")  # the text, kept as text
    link = entry.find(f"{ATOM}link")
    assert link is not None and link.get("href") == "https://forge.example/evil/repo?a=1&b=<2>"
    assert "<script" not in feed.text


async def test_every_dashboard_chart_has_a_title_a_description_and_its_data_table(
    visitor: Any, client: AsyncTestClient
) -> None:
    await visitor.sign_in("camille")
    page = (await client.get("/dashboard?project=lutece-core")).text
    pairs = re.findall(r'<div class="pair">(.*?)</table>', page, flags=re.S)
    assert len(pairs) == 4
    for pair in pairs:
        svg = pair[: pair.index("</svg>")]
        labelled = re.search(r'<svg class="chart" role="img" aria-labelledby="([^"]+)"', svg)
        assert labelled is not None
        title_id, desc_id = labelled.group(1).split()
        title = re.search(rf'<title id="{title_id}">([^<]+)</title>', svg)
        desc = re.search(rf'<desc id="{desc_id}">([^<]+)</desc>', svg)
        assert title is not None and desc is not None and len(desc.group(1)) > 20
        table = pair[pair.index("<table>") :]
        assert re.search(r"<caption>[^<]+</caption>", table)
        rows = re.findall(
            r'<tr><th scope="row">(?:<time datetime="([^"]+)">[^<]+</time>|([^<]+))</th>'
            r'<td class="num">([^<]+)</td></tr>',
            table,
        )
        assert rows, title.group(1)
        for month, name, value in rows:  # the chart draws what the table says
            label = month or name
            assert f">{value}</text>" in svg or title.group(1).endswith("over time")
            assert label in svg or label[2:] in svg


async def test_dashboard_lists_crawl_runs_with_their_failures_and_recent_projects(
    visitor: Any, client: AsyncTestClient
) -> None:
    from registry.tables import CrawlRun

    await CrawlRun.insert(
        CrawlRun(
            target="github:lutece-platform",
            status="failed",
            requests=42,
            failed=2,
            failures=[
                {"repository": "https://github.com/lutece-platform/a", "reason": "HTTP 451"},
                {"repository": "https://github.com/lutece-platform/b", "reason": "<b>bold</b>"},
            ],
        ),
        CrawlRun(target="gitlab:adullact", status="failed", error="rate limited until 05:00"),
    )
    await visitor.sign_in("camille")
    page = (await client.get("/dashboard")).text
    runs = page[page.index('id="h-runs"') :]
    text = text_of(runs)
    assert "github:lutece-platform failed" in text
    assert "https://github.com/lutece-platform/a: HTTP 451" in text
    assert "&lt;b&gt;bold&lt;/b&gt;" in runs  # a forge's words stay text
    assert "gitlab:adullact failed" in text and "rate limited until 05:00" in text
    recent = text_of(page[page.index('id="h-recent"') : page.index('id="h-runs"')])
    assert "Lutece core — Ville de Paris" in recent

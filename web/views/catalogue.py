"""Finding and reading: home and search, project sheets, publisher pages.

Each page is one call to the catalogue service the API uses too
(:func:`registry.services.catalogue.search_projects`, ``project_sheet``,
``publisher_sheet``): the HTML is another rendering of the same data.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get
from litestar.params import FromPath
from markupsafe import escape

from registry import publiccode
from registry.errors import CommunsError, ValidationError
from registry.services import catalogue
from registry.tables import Publisher
from web import i18n
from web.templating import render, request_language

LIST_FILTERS = ("license", "language", "kind", "country", "category")
SORTS = catalogue.SORTS
MAX_VALUES = 20


def _int(
    raw: str | None, default: int | None = None, low: int = 1, high: int = 10_000
) -> int | None:
    try:
        value = int(raw or "")
    except ValueError:
        return default
    return value if low <= value <= high else default


def _flag(raw: str | None) -> bool | None:
    return True if raw == "true" else None


def query_from(request: Request[Any, Any, Any]) -> catalogue.ProjectQuery:
    """The search a URL asks for; unknown or malformed values are ignored, not errors."""
    params = request.query_params
    values = {name: [v for v in params.getall(name, []) if v][:MAX_VALUES] for name in LIST_FILTERS}
    publishers = [_int(v) for v in params.getall("publisher", [])[:MAX_VALUES]]
    sort = params.get("sort") or ""
    return catalogue.ProjectQuery(
        q=(params.get("q") or "").strip()[:200],
        publisher=[p for p in publishers if p is not None],
        fr_authorised=_flag(params.get("fr_authorised")),
        publiccode_valid=_flag(params.get("publiccode_valid")),
        active_months=_int(params.get("active_months"), None, 1, 240),
        min_reused=_int(params.get("min_reused"), None, 1, 100_000),
        sort=sort if sort in SORTS else "",
        page=_int(params.get("page"), 1) or 1,
        **values,
    )


@get("/", name="home")
async def home(request: Request[Any, Any, Any]) -> Response[str]:
    """Home and search: one box, facets with counts, sort, pagination.

    Every state is in the URL (``?q=&license=&sort=&page=``), so a result list can be
    shared; htmx asks for the results fragment only and pushes the same URL.
    """
    query = query_from(request)
    try:
        results = await catalogue.search_projects(query)
    except ValidationError:
        query.page = 1
        results = await catalogue.search_projects(query)
    ids = {item.publisher_id for item in results.items if item.publisher_id}
    slugs = {
        int(r["id"]): r["slug"]
        for r in await Publisher.select(Publisher.id, Publisher.slug).where(
            Publisher.id.is_in(sorted(ids) or [-1])
        )
    }
    pages = max(1, -(-results.total // results.per_page))
    return await render(
        request,
        "search.html",
        {
            "results": results,
            "query": query,
            "publisher_slugs": slugs,
            "page": results.page or 1,
            "pages": pages,
        },
        fragment="search_results.html",
    )


def _described(description: dict[str, str], lang: str) -> tuple[str, str]:
    """The description in the visitor's language, else English, French, any; with the
    language it is written in (marked on the page for screen readers)."""
    for key in (lang, "en", "fr", *sorted(description)):
        if description.get(key):
            return description[key], key
    return "", lang


def maintenance_of(publiccode_text: str) -> publiccode.Maintenance | None:
    """Who maintains the software, as its publiccode.yml says (contacts, contractors);
    None without a readable file. An invalid file still names its contacts."""
    if not publiccode_text:
        return None
    try:
        report = publiccode.parse(publiccode_text)
    except CommunsError:
        return None
    data = getattr(report, "data", None)
    return getattr(data, "maintenance", None)


@get("/projects/{slug:str}", name="project")
async def project(request: Request[Any, Any, Any], slug: FromPath[str]) -> Response[str]:
    """A project's sheet: description, repositories, versions, license, reusers."""
    sheet = await catalogue.project_sheet(slug)
    lang = request_language(request)
    description, description_lang = _described(sheet.description, lang)
    releases = sorted(
        (r for repo in sheet.repositories for r in repo.releases),
        key=lambda r: (r.published_at is not None, r.published_at),
        reverse=True,
    )
    findings = [(repo, f) for repo in sheet.repositories for f in repo.licenses]
    expressions = {f.expression for _, f in findings if f.expression}
    return await render(
        request,
        "project.html",
        {
            "p": sheet,
            "description": description,
            "description_lang": description_lang,
            "releases": releases,
            "findings": findings,
            "license_disagreement": len(expressions) > 1,
            "maintenance": maintenance_of(sheet.publiccode_text),
            "language_names": i18n.LANGUAGE_NAMES,
        },
    )


FEED_ENTRIES = 50


def _atom_time(value: dt.datetime | None) -> str:
    if value is None:
        return "1970-01-01T00:00:00Z"
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@get("/projects/{slug:str}/releases.atom", name="project_feed")
async def project_feed(request: Request[Any, Any, Any], slug: FromPath[str]) -> Response[bytes]:
    """Atom feed of the project's newest releases (pre-releases marked), for feed readers:
    the sheet links to it and announces it in its ``<head>``."""
    sheet = await catalogue.project_sheet(slug)
    base = str(request.base_url).rstrip("/")
    sheet_url = f"{base}/projects/{quote(sheet.slug)}"
    dated = sorted(
        (
            (release, repo)
            for repo in sheet.repositories
            for release in repo.releases
            if release.published_at is not None
        ),
        key=lambda pair: pair[0].published_at or dt.datetime.min,
        reverse=True,
    )[:FEED_ENTRIES]
    updated = _atom_time(dated[0][0].published_at if dated else sheet.updated_at)
    entries = []
    for release, repo in dated:
        kind = "pre-release" if release.is_prerelease else "release"
        version = release.version or release.tag
        entries.append(
            "<entry>"
            f"<id>{escape(sheet_url)}/releases/{quote(release.tag, safe='')}@{repo.id}</id>"
            f"<title>{escape(sheet.name)} {escape(version)}</title>"
            f"<updated>{_atom_time(release.published_at)}</updated>"
            f'<link rel="alternate" href="{escape(repo.url)}"/>'
            f"<summary>{escape(sheet.name)}: {kind} {escape(version)} "
            f"({escape(release.tag)})</summary>"
            "</entry>"
        )
    author = sheet.publisher.name if sheet.publisher else sheet.name
    feed = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>{escape(sheet_url)}/releases.atom</id>"
        f"<title>{escape(sheet.name)}: releases</title>"
        f"<updated>{updated}</updated>"
        f"<author><name>{escape(author)}</name></author>"
        f'<link rel="self" type="application/atom+xml" href="{escape(sheet_url)}/releases.atom"/>'
        f'<link rel="alternate" type="text/html" href="{escape(sheet_url)}"/>'
        + "".join(entries)
        + "</feed>"
    )
    return Response(feed.encode(), media_type="application/atom+xml")


@get("/publishers/{slug:str}", name="publisher")
async def publisher(request: Request[Any, Any, Any], slug: FromPath[str]) -> Response[str]:
    """A publisher: its forge accounts, the projects it publishes and those it reuses."""
    return await render(request, "publisher.html", {"pub": await catalogue.publisher_sheet(slug)})


ROUTES = [home, project, project_feed, publisher]

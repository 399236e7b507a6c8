"""Finding and reading: home and search, project sheets, publisher pages."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath

from web import i18n
from web.queries import FACETS, describe, project_sheet, publisher_page, search
from web.templating import render


def _filters(request: Request[Any, Any, Any]) -> dict[str, list[str]]:
    return {name: [v for v in request.query_params.getall(name, []) if v][:20] for name in FACETS}


def _page_number(raw: str | None) -> int:
    try:
        return max(1, min(int(raw or 1), 10_000))
    except ValueError:
        return 1


@get("/", name="home")
async def home(request: Request[Any, Any, Any]) -> Response[str]:
    """Home and search: one box, facets with counts, sort, pagination.

    Every state is in the URL (``?q=&license=&sort=&page=``), so a result list can be
    shared; htmx asks for the results fragment only and pushes the same URL.
    """
    query = (request.query_params.get("q") or "").strip()[:200]
    results = await search(
        query,
        _filters(request),
        sort=request.query_params.get("sort") or "relevance",
        page=_page_number(request.query_params.get("page")),
    )
    lang = i18n.negotiate(request.headers.get("accept-language"), request.cookies.get(i18n.COOKIE))
    for item in results.items:
        item["summary"] = describe(item["description"], lang)
    return await render(
        request,
        "search.html",
        {"results": results, "query": query},
        fragment="search_results.html",
    )


@get("/projects/{slug:str}", name="project")
async def project(request: Request[Any, Any, Any], slug: FromPath[str]) -> Response[str]:
    """A project's sheet: description, repositories, versions, license, reusers."""
    sheet = await project_sheet(slug)
    lang = i18n.negotiate(request.headers.get("accept-language"), request.cookies.get(i18n.COOKIE))
    sheet["description"] = describe(sheet["project"]["description"], lang)
    return await render(request, "project.html", sheet)


@get("/publishers/{slug:str}", name="publisher")
async def publisher(request: Request[Any, Any, Any], slug: FromPath[str]) -> Response[str]:
    """A publisher: its forge accounts, the projects it publishes and those it reuses."""
    return await render(request, "publisher.html", await publisher_page(slug))


ROUTES = [home, project, publisher]

"""The adoption dashboard for community managers."""

from __future__ import annotations

from collections import Counter
from typing import Any

from litestar import Request, Response, get

from registry.errors import AuthenticationError, PermissionDeniedError
from registry.tables import Project, ReuseDeclaration
from web import charts
from web.i18n import gettext as _
from web.queries import last_crawl_runs
from web.templating import current_user, render

MANAGER_ROLES = ("community_manager", "admin")


async def adoption_figures(project_slug: str | None) -> dict[str, Any]:
    """Declarations over time, versions in use, reusers by country and kind, outdated
    reusers, recent projects and crawl runs: the numbers behind the dashboard."""
    declarations = await ReuseDeclaration.select(
        ReuseDeclaration.id,
        ReuseDeclaration.version,
        ReuseDeclaration.status,
        ReuseDeclaration.created_at,
        ReuseDeclaration.contact,
        ReuseDeclaration.project.id.as_alias("project_id"),
        ReuseDeclaration.project.slug.as_alias("project_slug"),
        ReuseDeclaration.project.name.as_alias("project_name"),
        ReuseDeclaration.project.latest_stable.as_alias("latest_stable"),
        ReuseDeclaration.publisher.slug.as_alias("publisher_slug"),
        ReuseDeclaration.publisher.name.as_alias("publisher_name"),
        ReuseDeclaration.publisher.country.as_alias("country"),
        ReuseDeclaration.publisher.kind.as_alias("kind"),
    ).where(ReuseDeclaration.status != "withdrawn")
    by_month = Counter(d["created_at"].strftime("%Y-%m") for d in declarations if d["created_at"])
    months = sorted(by_month)[-12:]
    running = sum(by_month[m] for m in sorted(by_month) if m < (months[0] if months else ""))
    over_time: list[tuple[str, float]] = []
    for month in months:
        running += by_month[month]
        over_time.append((month, running))
    per_project = Counter(d["project_slug"] for d in declarations)
    chosen = (
        project_slug
        if project_slug in per_project
        else (per_project.most_common(1)[0][0] if per_project else None)
    )
    versions = Counter(
        d["version"] or "?" for d in declarations if d["project_slug"] == chosen
    ).most_common(12)
    outdated = [
        d
        for d in declarations
        if d["latest_stable"] and d["version"] and d["version"] != d["latest_stable"]
    ]
    recent = (
        await Project.select(
            Project.slug,
            Project.name,
            Project.created_at,
            Project.publisher.name.as_alias("publisher"),
        )
        .order_by(Project.created_at, ascending=False)
        .limit(10)
    )
    return {
        "over_time": over_time,
        "chosen_project": chosen,
        "projects": sorted(per_project),
        "versions": [(v, float(c)) for v, c in versions],
        "countries": [
            (c or "?", float(n))
            for c, n in Counter(d["country"] for d in declarations).most_common(10)
        ],
        "kinds": [
            (k or "?", float(n))
            for k, n in Counter(d["kind"] for d in declarations).most_common(10)
        ],
        "outdated": sorted(outdated, key=lambda d: (d["project_name"], d["publisher_name"])),
        "recent": recent,
        "runs": await last_crawl_runs(),
        "total": len(declarations),
    }


@get("/dashboard", name="dashboard")
async def dashboard(request: Request[Any, Any, Any]) -> Response[str]:
    """Charts (accessible SVG, each with its data table) and lists to act on."""
    user = await current_user(request)
    if user is None:
        raise AuthenticationError("sign in first")
    if user["role"] not in MANAGER_ROLES:
        raise PermissionDeniedError("the dashboard is for community managers")
    figures = await adoption_figures(request.query_params.get("project"))
    from web.i18n import use_language
    from web.templating import request_language

    use_language(request_language(request))
    figures["charts"] = {
        "over_time": charts.column_chart(
            _("Reuse declarations over time"),
            _("Cumulative number of current reuse declarations at the end of each month."),
            figures["over_time"],
        ),
        "versions": charts.bar_chart(
            _("Versions in use"),
            _("Number of reusers per version of the chosen project."),
            figures["versions"],
        ),
        "countries": charts.bar_chart(
            _("Reusers by country"),
            _("Number of reuse declarations per country."),
            figures["countries"],
        ),
        "kinds": charts.bar_chart(
            _("Reusers by kind of public body"),
            _("Number of reuse declarations per kind of publisher."),
            figures["kinds"],
        ),
    }
    return await render(request, "dashboard.html", figures)


ROUTES = [dashboard]

"""The adoption dashboard for community managers.

The figures come from :mod:`registry.services.stats` (per project and catalogue totals,
the service behind ``/api/v1/stats``) and the crawl runs service; the outdated reusers
and recently added projects lists are small queries of this page's own
(:mod:`web.queries`), as no service offers them yet.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from registry.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from registry.services import catalogue, crawl_runs, stats
from web import charts, labels
from web.i18n import N_, country_name, use_language
from web.i18n import gettext as _
from web.queries import outdated_reusers, recent_projects
from web.templating import current_user, render, request_language

MANAGER_ROLES = ("community_manager", "admin")


def _pairs(counts: list[stats.Count], label: Any = str) -> list[tuple[str, float]]:
    return [(label(c.key), float(c.count)) for c in counts]


@get("/dashboard", name="dashboard")
async def dashboard(request: Request[Any, Any, Any]) -> Response[str]:
    """Charts (accessible SVG, each with its data table) and lists to act on."""
    user = await current_user(request)
    if user is None:
        raise AuthenticationError("sign in first")
    if user["role"] not in MANAGER_ROLES:
        raise PermissionDeniedError(N_("The dashboard is for community managers."))
    use_language(request_language(request))
    most_reused = await catalogue.search_projects(
        catalogue.ProjectQuery(sort="reused", per_page=50, facets=False)
    )
    choices = [p for p in most_reused.items if p.reused_by]
    chosen = request.query_params.get("project") or (choices[0].slug if choices else "")
    project_stats = None
    if chosen:
        try:
            project_stats = await stats.project_stats(chosen)
        except NotFoundError:
            chosen, project_stats = "", None
    figures: dict[str, list[tuple[str, float]]] = {
        "over_time": _pairs(project_stats.by_month) if project_stats else [],
        "versions": _pairs(project_stats.versions) if project_stats else [],
        "countries": _pairs(project_stats.by_country, country_name) if project_stats else [],
        "kinds": _pairs(project_stats.by_kind, labels.kind) if project_stats else [],
    }
    chosen_name = next((p.name for p in choices if p.slug == chosen), chosen)
    chart_svgs = {
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
    return await render(
        request,
        "dashboard.html",
        {
            **figures,
            "charts": chart_svgs,
            "choices": choices,
            "chosen": chosen,
            "chosen_name": chosen_name,
            "totals": await stats.catalogue_stats(),
            "outdated": await outdated_reusers(),
            "recent": await recent_projects(),
            "runs": await crawl_runs.latest_runs(10),
        },
    )


ROUTES = [dashboard]

"""Projects: search with facets, sheets, adoption statistics and exports."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import yaml
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, Parameter
from litestar.response import Stream

from api.auth import Principal, authenticate_request, require_staff
from registry.services import catalogue, stats
from registry.services.search_index import raw

Str200 = Annotated[str, Parameter(max_length=200)]
ListParam = Parameter(max_items=20)


def http_date(value: dt.datetime | None) -> dict[str, str]:
    """A ``Last-Modified`` header for a timestamp (none when unknown)."""
    if value is None:
        return {}
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return {"Last-Modified": email.utils.format_datetime(value.astimezone(dt.UTC), usegmt=True)}


class ProjectController(Controller):
    path = "/api/v1/projects"
    tags = ["projects"]
    before_request = authenticate_request

    @get(
        "/",
        operation_id="listProjects",
        summary="Search and list projects, with facet counts",
    )
    async def list_projects(
        self,
        q: Annotated[str, Parameter(max_length=200, description="full-text query")] = "",
        license: Annotated[list[str] | None, Parameter(max_items=20)] = None,
        fr_authorised: FromQuery[bool | None] = None,
        language: Annotated[list[str] | None, Parameter(max_items=20)] = None,
        publisher: Annotated[list[int] | None, Parameter(max_items=20)] = None,
        kind: Annotated[list[str] | None, Parameter(max_items=20)] = None,
        country: Annotated[list[str] | None, Parameter(max_items=20)] = None,
        category: Annotated[list[str] | None, Parameter(max_items=20)] = None,
        publiccode_valid: FromQuery[bool | None] = None,
        active_months: Annotated[int | None, Parameter(ge=1, le=240)] = None,
        min_reused: Annotated[int | None, Parameter(ge=0, le=100000)] = None,
        sort: Annotated[str, Parameter(max_length=20, description=str(catalogue.SORTS))] = "",
        page: Annotated[int, Parameter(ge=1, le=10000)] = 1,
        per_page: Annotated[int, Parameter(ge=1, le=catalogue.MAX_PER_PAGE)] = 20,
        cursor: Annotated[str, Parameter(max_length=500)] = "",
        facets: FromQuery[bool] = True,
    ) -> catalogue.ProjectPage:
        """Full-text search over names, descriptions (every language), topics and publisher
        names; filters are AND-ed, repeated values of one filter OR-ed. ``cursor`` (from
        ``next_cursor``) pages without repeats or skips while the catalogue changes."""
        return await catalogue.search_projects(
            catalogue.ProjectQuery(
                q=q,
                license=[s[:300] for s in license or []],
                fr_authorised=fr_authorised,
                language=[s[:200] for s in language or []],
                publisher=publisher or [],
                kind=[s[:40] for s in kind or []],
                country=[s[:2].upper() for s in country or []],
                category=[s[:200] for s in category or []],
                publiccode_valid=publiccode_valid,
                active_months=active_months,
                min_reused=min_reused,
                sort=sort,
                page=page,
                per_page=per_page,
                cursor=cursor,
                facets=facets,
            )
        )

    @get("/{key:str}", operation_id="getProject", summary="A project sheet")
    async def get_project(
        self, key: Annotated[str, Parameter(max_length=300)]
    ) -> Response[catalogue.ProjectSheet]:
        """Repositories, releases, latest stable version, license findings by source,
        publiccode.yml data and verdict, maintainers, reusers (and which are outdated),
        related projects. ``key`` is the id or the slug."""
        sheet = await catalogue.project_sheet(key)
        return Response(sheet, headers=http_date(sheet.updated_at))

    @get("/{key:str}/stats", operation_id="getProjectStats", summary="Adoption of a project")
    async def project_stats(
        self,
        key: Annotated[str, Parameter(max_length=300)],
        principal: NamedDependency[Principal | None],
    ) -> stats.ProjectStats:
        """Declarations over time, versions and reusers by country and kind (community
        managers and admins)."""
        require_staff(principal)
        return await stats.project_stats(key)

    @get(
        "/{key:str}/publiccode.yml",
        operation_id="exportProjectPubliccode",
        summary="A project as publiccode.yml",
        media_type="application/yaml",
    )
    async def export_publiccode(self, key: Annotated[str, Parameter(max_length=300)]) -> str:
        """The publiccode.yml found in the project's repository when there is one, else one
        written from the catalogue's data."""
        sheet = await catalogue.project_sheet(key)
        if sheet.publiccode_text:
            return sheet.publiccode_text
        return publiccode_document(sheet)

    @get(
        "/{key:str}/codemeta.json",
        operation_id="exportProjectCodemeta",
        summary="A project as CodeMeta JSON-LD",
        media_type="application/ld+json",
    )
    async def export_codemeta(
        self, key: Annotated[str, Parameter(max_length=300)]
    ) -> dict[str, Any]:
        """CodeMeta 2.0 (schema.org SoftwareSourceCode) description of the project."""
        return codemeta_document(await catalogue.project_sheet(key))


def publiccode_document(sheet: catalogue.ProjectSheet) -> str:
    url = sheet.repositories[0].url if sheet.repositories else sheet.landing_url
    document: dict[str, Any] = {
        "publiccodeYmlVersion": "0.4",
        "name": sheet.name,
        "url": url,
        "platforms": sheet.platforms or ["web"],
        "categories": sheet.categories,
        "developmentStatus": sheet.development_status or "stable",
        "softwareType": "standalone/other",
        "description": {
            lang: {"shortDescription": text[:150], "longDescription": text}
            for lang, text in sheet.description.items()
        },
        "legal": {"license": sheet.license_expression},
        "maintenance": {"type": "none"},
        "localisation": {"localisationReady": False, "availableLanguages": ["fr"]},
    }
    if sheet.landing_url:
        document["landingURL"] = sheet.landing_url
    if sheet.latest_stable:
        document["softwareVersion"] = sheet.latest_stable
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def codemeta_document(sheet: catalogue.ProjectSheet) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": "https://w3id.org/codemeta/3.0",
        "@type": "SoftwareSourceCode",
        "identifier": sheet.slug,
        "name": sheet.name,
        "description": sheet.description.get("en") or next(iter(sheet.description.values()), ""),
        "codeRepository": sheet.repositories[0].url if sheet.repositories else "",
        "programmingLanguage": sorted({r.language for r in sheet.repositories if r.language}),
        "keywords": sheet.topics,
        "applicationCategory": sheet.categories,
        "developmentStatus": sheet.development_status,
    }
    if sheet.license_expression:
        doc["license"] = f"https://spdx.org/licenses/{sheet.license_expression}"
    if sheet.latest_stable:
        doc["version"] = sheet.latest_stable
    if sheet.landing_url:
        doc["url"] = sheet.landing_url
    if sheet.publisher:
        doc["producer"] = {"@type": "Organization", "name": sheet.publisher.name}
    if sheet.last_activity_at:
        doc["dateModified"] = sheet.last_activity_at.date().isoformat()
    return doc


class ExportController(Controller):
    path = "/api/v1/export"
    tags = ["exports"]
    before_request = authenticate_request

    @get(
        "/projects.jsonl",
        operation_id="exportCatalogue",
        summary="The whole catalogue as JSON Lines",
        media_type="application/x-ndjson",
    )
    async def dump(self) -> Stream:
        """One project per line (id order), streamed in batches: memory stays flat."""
        return Stream(_dump_lines(), media_type="application/x-ndjson")


async def _dump_lines() -> AsyncIterator[bytes]:
    after = 0
    while True:
        rows = await raw(
            "SELECT p.id, p.slug, p.name, p.description, p.license_expression, p.latest_stable, "
            "p.categories, p.topics, p.landing_url, p.updated_at, pub.slug AS publisher "
            "FROM project p LEFT JOIN publisher pub ON pub.id = p.publisher "
            "WHERE p.id > {} ORDER BY p.id LIMIT 500",
            after,
        )
        if not rows:
            return
        lines = []
        for row in rows:
            item = dict(row)
            for name in ("description", "categories", "topics"):
                if isinstance(item[name], str):
                    item[name] = json.loads(item[name] or "null")
            if isinstance(item["updated_at"], dt.datetime):
                item["updated_at"] = item["updated_at"].isoformat()
            lines.append(json.dumps(item, ensure_ascii=False, default=str))
        yield ("\n".join(lines) + "\n").encode()
        after = int(rows[-1]["id"])

"""Publishers: list, sheet, admin create/edit, and the Atom feed of new releases of the
projects a publisher reuses."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from xml.sax.saxutils import escape

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter

from api.auth import Principal, authenticate_request, require_admin
from registry.services import catalogue
from registry.services.search_index import raw
from registry.tables import PUBLISHER_KINDS

Kind = Literal[PUBLISHER_KINDS]  # type: ignore[valid-type]
Url = Annotated[str, msgspec.Meta(max_length=500, pattern=r"^(https?://\S+)?$")]


class PublisherCreate(msgspec.Struct, forbid_unknown_fields=True):
    slug: Annotated[
        str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[a-z0-9][a-z0-9-]*$")
    ]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    kind: Kind = "other"
    country: Annotated[str, msgspec.Meta(max_length=2, pattern=r"^([A-Za-z]{2})?$")] = ""
    website: Url = ""
    ospo_url: Url = ""
    floss_policy_url: Url = ""
    description: Annotated[str, msgspec.Meta(max_length=5000)] = ""


class PublisherPatch(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=300)] | None = None
    kind: Kind | None = None
    country: Annotated[str, msgspec.Meta(max_length=2, pattern=r"^([A-Za-z]{2})?$")] | None = None
    website: Url | None = None
    ospo_url: Url | None = None
    floss_policy_url: Url | None = None
    description: Annotated[str, msgspec.Meta(max_length=5000)] | None = None


class PublisherController(Controller):
    path = "/api/v1/publishers"
    tags = ["publishers"]
    before_request = authenticate_request

    @get("/", operation_id="listPublishers", summary="Publishers by name")
    async def list_publishers(
        self,
        kind: Annotated[str, Parameter(max_length=40)] = "",
        country: Annotated[str, Parameter(max_length=2)] = "",
        cursor: Annotated[str, Parameter(max_length=500)] = "",
        per_page: Annotated[int, Parameter(ge=1, le=catalogue.MAX_PER_PAGE)] = 50,
    ) -> catalogue.PublisherList:
        """Publishers with their number of projects; ``next_cursor`` for the next page."""
        return await catalogue.list_publishers(
            kind=kind, country=country.upper(), cursor=cursor, per_page=per_page
        )

    @get("/{key:str}", operation_id="getPublisher", summary="A publisher sheet")
    async def get_publisher(
        self, key: Annotated[str, Parameter(max_length=200)]
    ) -> catalogue.PublisherSheet:
        """Forge accounts, projects published and projects reused; ``key`` is id or slug."""
        return await catalogue.publisher_sheet(key)

    @post("/", operation_id="createPublisher", summary="Create a publisher (admins)")
    async def create_publisher(
        self, data: JSONBody[PublisherCreate], principal: NamedDependency[Principal | None]
    ) -> catalogue.PublisherSheet:
        user = require_admin(principal)
        values = msgspec.structs.asdict(data)
        slug = values.pop("slug")
        pid = await catalogue.create_publisher(slug, values, actor=user.actor)
        return await catalogue.publisher_sheet(pid)

    @patch("/{key:str}", operation_id="updatePublisher", summary="Edit a publisher (admins)")
    async def update_publisher(
        self,
        key: Annotated[str, Parameter(max_length=200)],
        data: JSONBody[PublisherPatch],
        principal: NamedDependency[Principal | None],
    ) -> catalogue.PublisherSheet:
        user = require_admin(principal)
        values = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
        pid = await catalogue.update_publisher(key, values, actor=user.actor)
        return await catalogue.publisher_sheet(pid)

    @get(
        "/{key:str}/releases.atom",
        operation_id="publisherReleasesFeed",
        summary="Atom feed of new releases of the projects a publisher reuses",
        media_type="application/atom+xml",
    )
    async def releases_feed(
        self,
        request: Request,
        key: Annotated[str, Parameter(max_length=200)],  # type: ignore[type-arg]
    ) -> Response[bytes]:
        """The 50 newest releases of the projects this publisher declares it uses."""
        pid = await catalogue.publisher_id_for(key)
        publisher = await catalogue.publisher_sheet(pid)
        rows = await raw(
            "SELECT r.id, r.tag, r.version, r.is_prerelease, r.published_at, p.slug, p.name, "
            "repo.url FROM release r JOIN repository repo ON repo.id = r.repository "
            "JOIN project p ON p.id = repo.project JOIN reuse_declaration d ON d.project = p.id "
            "WHERE d.publisher = {} AND d.status <> 'withdrawn' AND r.published_at IS NOT NULL "
            "ORDER BY r.published_at DESC, r.id DESC LIMIT 50",
            pid,
        )
        base = str(request.base_url).rstrip("/")

        def stamp(value: object) -> str:
            if isinstance(value, str):
                value = dt.datetime.fromisoformat(value)
            if isinstance(value, dt.datetime):
                if value.tzinfo is None:
                    value = value.replace(tzinfo=dt.UTC)
                return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return "1970-01-01T00:00:00Z"

        updated = stamp(rows[0]["published_at"]) if rows else stamp(publisher.updated_at)
        entries = []
        for r in rows:
            kind = "pre-release" if r["is_prerelease"] else "release"
            entries.append(
                "<entry>"
                f"<id>{escape(base)}/api/v1/releases/{int(r['id'])}</id>"
                f"<title>{escape(r['name'])} {escape(r['tag'])}</title>"
                f"<updated>{stamp(r['published_at'])}</updated>"
                f'<link href="{escape(r["url"])}"/>'
                f"<summary>{escape(r['name'])}: {kind} {escape(r['version'] or r['tag'])}"
                "</summary></entry>"
            )
        feed = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<id>{escape(base)}/api/v1/publishers/{pid}/releases.atom</id>"
            f"<title>New releases of software used by {escape(publisher.name)}</title>"
            f"<updated>{updated}</updated>"
            f'<link rel="self" href="{escape(base)}/api/v1/publishers/{pid}/releases.atom"/>'
            + "".join(entries)
            + "</feed>"
        )
        return Response(feed.encode(), media_type="application/atom+xml")

"""Gitea and Forgejo v1, any instance (codeberg.org, a city's own).

An account is an organisation (or a user). Its repositories are listed 50 per page (the
largest page Gitea serves). Per repository: the root directory listing (file names: is there
a ``publiccode.yml``, which license files, a REUSE ``LICENSES/`` directory), the tags (50 per
page), then the raw text of each of those files. Gitea reports the licenses it detects in
``Repository.licenses``; Forgejo reports none, and the forge claim is then absent.
``endpoint`` is the instance's web base; the API is ``{endpoint}/api/v1``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from crawlers.forges.base import (
    MAX_FILE_BYTES,
    PUBLICCODE_NAMES,
    ForgeAdapter,
    ReleaseData,
    RepoData,
    TagData,
    is_license_path,
    parse_time,
)
from crawlers.http import ForgeClient, ForgeHTTPError, next_link
from registry.errors import NotFoundError

__all__ = ["GiteaAdapter"]

PAGE_SIZE = 50


class GiteaAdapter(ForgeAdapter):
    kind = "gitea"

    def __init__(self, client: ForgeClient, endpoint: str = "https://codeberg.org") -> None:
        super().__init__(client, endpoint)
        self.api = f"{self.endpoint}/api/v1"

    async def account_pages(self, owner: str) -> AsyncIterator[list[RepoData]]:
        url: str | None = f"{self.api}/orgs/{quote(owner, safe='')}/repos"
        params: dict[str, Any] | None = {"limit": PAGE_SIZE, "page": 1}
        first = True
        while url:
            try:
                response = await self.client.get(url, params=params)
            except ForgeHTTPError as error:
                if error.status_code == 404 and first:
                    # not an organisation: perhaps a user
                    url = f"{self.api}/users/{quote(owner, safe='')}/repos"
                    first = False
                    try:
                        response = await self.client.get(url, params=params)
                    except ForgeHTTPError as again:
                        if again.status_code == 404:
                            raise NotFoundError(
                                f"Gitea account {owner!r} not found at {self.endpoint}"
                            ) from None
                        raise
                else:
                    raise
            first = False
            listed = await self.client.json_of(response)
            if not isinstance(listed, list):
                raise ForgeHTTPError(f"{url}: expected a list of repositories")
            listed = await self.fresh(
                listed, lambda r: (str(r.get("id", "")), r.get("html_url", ""), r.get("updated_at"))
            )
            yield await self.gather_limited(
                listed, self._details, lambda r: str(r.get("full_name", r.get("id")))
            )
            url, params = next_link(response), None

    async def repository(self, path: str) -> RepoData:
        try:
            item = await self.client.get_json(f"{self.api}/repos/{path.strip('/')}")
        except ForgeHTTPError as error:
            if error.status_code == 404:
                raise NotFoundError(
                    f"Gitea repository {path!r} not found at {self.endpoint}"
                ) from None
            raise
        return await self._details(item)

    async def _details(self, item: dict[str, Any]) -> RepoData:
        full_name = item["full_name"]
        base = f"{self.api}/repos/{full_name}"
        forge_license: str | None = None
        if "licenses" in item:
            names = [n for n in item.get("licenses") or [] if n]
            forge_license = " AND ".join(dict.fromkeys(names)) if names else None
        repo = RepoData(
            forge_kind="gitea",
            forge_id=str(item["id"]),
            web_url=item["html_url"],
            path=full_name,
            name=item["name"],
            description=item.get("description") or "",
            homepage=item.get("website") or "",
            default_branch=item.get("default_branch") or "",
            language=item.get("language") or "",
            topics=list(item.get("topics") or []),
            is_fork=bool(item.get("fork")),
            is_archived=bool(item.get("archived")),
            pushed_at=parse_time(item.get("updated_at")),
            created_at=parse_time(item.get("created_at")),
            forge_license=forge_license,
        )
        if item.get("empty"):
            return repo
        response = await self.client.get(f"{base}/contents", ok=(200, 404))
        entries = await self.client.json_of(response) if response.status_code == 200 else []
        names = [e["name"] for e in entries if isinstance(e, dict) and e.get("type") == "file"]
        dirs = {e["name"] for e in entries if isinstance(e, dict) and e.get("type") == "dir"}
        wanted = [n for n in PUBLICCODE_NAMES if n in names][:1]
        wanted += [n for n in names if is_license_path(n)]
        if "LICENSES" in dirs:
            listing = await self.client.get(f"{base}/contents/LICENSES", ok=(200, 404))
            if listing.status_code == 200:
                wanted += [
                    f"LICENSES/{e['name']}"
                    for e in await self.client.json_of(listing)
                    if isinstance(e, dict) and e.get("type") == "file"
                ]
        repo.tags = await self._tags(base)
        if item.get("release_counter"):
            # only repositories that have releases cost a request for them
            repo.releases = await self._releases(base)
        for path in wanted:
            raw = await self.client.get(
                f"{base}/raw/{quote(path)}",
                params={"ref": repo.default_branch} if repo.default_branch else None,
                ok=(200, 404),
            )
            if raw.status_code == 200 and len(raw.content) <= MAX_FILE_BYTES:
                repo.files[path] = raw.content.decode("utf-8", errors="replace")
        return repo

    async def _releases(self, base: str) -> list[ReleaseData]:
        releases: list[ReleaseData] = []
        url: str | None = f"{base}/releases"
        params: dict[str, Any] | None = {"limit": PAGE_SIZE, "page": 1}
        while url:
            response = await self.client.get(url, params=params)
            for item in await self.client.json_of(response):
                releases.append(
                    ReleaseData(
                        tag=item["tag_name"],
                        name=item.get("name") or "",
                        published_at=parse_time(item.get("published_at")),
                        prerelease=bool(item.get("prerelease")),
                        draft=bool(item.get("draft")),
                    )
                )
            url, params = next_link(response), None
        return releases

    async def _tags(self, base: str) -> list[TagData]:
        tags: list[TagData] = []
        url: str | None = f"{base}/tags"
        params: dict[str, Any] | None = {"limit": PAGE_SIZE, "page": 1}
        while url:
            response = await self.client.get(url, params=params)
            for item in await self.client.json_of(response):
                commit = item.get("commit") or {}
                tags.append(
                    TagData(
                        item["name"], parse_time(commit.get("created")), commit.get("sha") or ""
                    )
                )
            url, params = next_link(response), None
        return tags

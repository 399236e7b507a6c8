"""GitLab REST v4, any instance (gitlab.com, gitlab.adullact.net, a city's own).

An account is a group; its projects are listed with ``include_subgroups=true`` (100 per
page, keyset pagination on ``id`` so that long listings stay cheap and stable). The listing
carries every field the catalogue keeps of a project, so per project there are only: the
tags (100 per page), the root tree (which of ``publiccode.yml``, the license files and a
REUSE ``LICENSES/`` directory exist), and the raw text of the files found there; no request
is spent on a file that is not there. GitLab's own license guess (``license=true``, a
request per project) is not asked: the texts of the license files are read and recognised
as on every forge. ``endpoint`` is the instance's web base; the API is ``{endpoint}/api/v4``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlsplit

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

__all__ = ["GitLabAdapter"]

PAGE_SIZE = 100


def _id(path: str) -> str:
    return quote(path.strip("/"), safe="")


class GitLabAdapter(ForgeAdapter):
    kind = "gitlab"

    def __init__(self, client: ForgeClient, endpoint: str = "https://gitlab.com") -> None:
        super().__init__(client, endpoint)
        self.api = f"{self.endpoint}/api/v4"
        client.set_auth_scheme(urlsplit(self.api).hostname or "", "private-token")

    async def account_pages(self, owner: str) -> AsyncIterator[list[RepoData]]:
        url: str | None = f"{self.api}/groups/{_id(owner)}/projects"
        params: dict[str, Any] | None = {
            "include_subgroups": "true",
            "per_page": PAGE_SIZE,
            "pagination": "keyset",
            "order_by": "id",
            "sort": "asc",
        }
        while url:
            try:
                response = await self.client.get(url, params=params)
            except ForgeHTTPError as error:
                if error.status_code == 404:
                    raise NotFoundError(
                        f"GitLab group {owner!r} not found at {self.endpoint}"
                    ) from None
                raise
            listed = await self.client.json_of(response)
            if not isinstance(listed, list):
                raise ForgeHTTPError(f"{url}: expected a list of projects")
            listed = await self.fresh(
                listed,
                lambda p: (str(p.get("id", "")), p.get("web_url", ""), p.get("last_activity_at")),
            )
            yield await self.gather_limited(
                listed, self._details, lambda p: str(p.get("path_with_namespace", p.get("id")))
            )
            url, params = next_link(response), None

    async def repository(self, path: str) -> RepoData:
        try:
            project = await self.client.get_json(f"{self.api}/projects/{_id(path)}")
        except ForgeHTTPError as error:
            if error.status_code == 404:
                raise NotFoundError(
                    f"GitLab project {path!r} not found at {self.endpoint}"
                ) from None
            raise
        return await self._details(project)

    async def _details(self, project: dict[str, Any]) -> RepoData:
        """A project as listed (or fetched), completed with its tags and files."""
        pid = project["id"]
        branch = project.get("default_branch") or ""
        repo = RepoData(
            forge_kind="gitlab",
            forge_id=str(pid),
            web_url=project["web_url"],
            path=project["path_with_namespace"],
            name=project.get("path") or project.get("name") or "",
            description=project.get("description") or "",
            default_branch=branch,
            topics=list(project.get("topics") or project.get("tag_list") or []),
            is_fork="forked_from_project" in project,
            is_archived=bool(project.get("archived")),
            pushed_at=parse_time(project.get("last_activity_at")),
            created_at=parse_time(project.get("created_at")),
        )
        if project.get("empty_repo"):
            return repo
        repo.tags, repo.releases = await self._tags(pid)
        await self._files(repo, pid, branch)
        return repo

    async def _tags(self, pid: int) -> tuple[list[TagData], list[ReleaseData]]:
        tags: list[TagData] = []
        releases: list[ReleaseData] = []
        url: str | None = f"{self.api}/projects/{pid}/repository/tags"
        params: dict[str, Any] | None = {"per_page": PAGE_SIZE}
        while url:
            response = await self.client.get(url, params=params)
            for item in await self.client.json_of(response):
                commit = item.get("commit") or {}
                date = item.get("created_at") or commit.get("committed_date")
                tags.append(TagData(item["name"], parse_time(date), commit.get("id") or ""))
                if item.get("release"):
                    # GitLab lists a tag's release with the tag: no request of its own
                    releases.append(ReleaseData(tag=item["name"]))
            url, params = next_link(response), None
        return tags, releases

    async def _tree(self, pid: int, ref: str, path: str = "") -> list[dict[str, Any]]:
        """The entries of one directory (all pages; an unknown ref lists nothing)."""
        entries: list[dict[str, Any]] = []
        url: str | None = f"{self.api}/projects/{pid}/repository/tree"
        params: dict[str, Any] | None = {"per_page": PAGE_SIZE}
        if ref:
            params["ref"] = ref
        if path:
            params["path"] = path
        while url:
            response = await self.client.get(url, params=params, ok=(200, 404))
            if response.status_code == 404:
                return entries
            listed = await self.client.json_of(response)
            entries += [e for e in listed if isinstance(e, dict)]
            url, params = next_link(response), None
        return entries

    async def _raw(self, pid: int, path: str, ref: str) -> str | None:
        url = f"{self.api}/projects/{pid}/repository/files/{_id(path)}/raw"
        response = await self.client.get(url, params={"ref": ref or "HEAD"}, ok=(200, 404))
        if response.status_code == 404 or len(response.content) > MAX_FILE_BYTES:
            return None
        return response.content.decode("utf-8", errors="replace")

    async def _files(self, repo: RepoData, pid: int, ref: str) -> None:
        root = await self._tree(pid, ref)
        blobs = [e["path"] for e in root if e.get("type") == "blob" and "path" in e]
        wanted = [n for n in PUBLICCODE_NAMES if n in blobs][:1]
        wanted += [p for p in blobs if is_license_path(p)]
        if any(e.get("type") == "tree" and e.get("path") == "LICENSES" for e in root):
            wanted += [
                e["path"]
                for e in await self._tree(pid, ref, "LICENSES")
                if e.get("type") == "blob" and is_license_path(e.get("path", ""))
            ]
        for path in wanted:
            text = await self._raw(pid, path, ref)
            if text is not None:
                repo.files[path] = text

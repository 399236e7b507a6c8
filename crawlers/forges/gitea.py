"""Gitea and Forgejo v1, any instance (codeberg.org, a city's own).

An account is an organisation (or a user). Its repositories are listed 50 per page (the
largest page Gitea serves). Per repository: the tags (50 per page), the releases when
``release_counter`` says there are some, and the files:

* Gitea 1.24+ (``Repository.licenses`` listed, ``file-contents`` served): one
  ``file-contents`` call asks the usual names of ``publiccode.yml`` and of root license
  files, and ``LICENSES``, at once; a REUSE ``LICENSES/`` directory is then listed and read,
  and a repository Gitea finds licensed but none of whose license files has a usual name is
  read as below. A root license file with an unusual name whose text Gitea does not
  recognise is not read.
* otherwise (Forgejo, older Gitea): the root directory listing says which files exist, and
  each is read raw.

Gitea reports the licenses it detects in ``Repository.licenses``; Forgejo reports none, and
the forge claim is then absent. ``endpoint`` is the instance's web base; the API is
``{endpoint}/api/v1``.
"""

from __future__ import annotations

import base64
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
#: Paths one ``file-contents`` call asks (Gitea answers at most 30): ``publiccode.yml``,
#: the usual names of root license files, and the REUSE directory
FILE_CANDIDATES = (
    *PUBLICCODE_NAMES,
    *(
        f"{stem}{suffix}"
        for stem in ("LICENSE", "LICENCE", "COPYING")
        for suffix in ("", ".md", ".txt", ".rst")
    ),
    "license",
    "license.md",
    "license.txt",
    "LICENSE-MIT",
    "LICENSE-APACHE",
    "COPYING.LESSER",
    "UNLICENSE",
    "LICENSES",
)


class GiteaAdapter(ForgeAdapter):
    kind = "gitea"
    whole_forge = True

    def __init__(self, client: ForgeClient, endpoint: str = "https://codeberg.org") -> None:
        super().__init__(client, endpoint)
        self.api = f"{self.endpoint}/api/v1"
        #: whether the forge serves ``file-contents`` (until it answers that it does not)
        self._batched = True

    async def account_pages(self, owner: str) -> AsyncIterator[list[RepoData]]:
        if not owner:
            async for page in self._instance_pages():
                yield page
            return
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
            yield await self._read_page(listed)
            url, params = next_link(response), None

    async def _read_page(self, listed: list[dict[str, Any]]) -> list[RepoData]:
        """The details of a listing page's repositories, those the catalogue holds unchanged
        (same id, address and ``updated_at``) left out."""
        listed = await self.fresh(
            listed, lambda r: (str(r.get("id", "")), r.get("html_url", ""), r.get("updated_at"))
        )
        return await self.gather_limited(
            listed, self._details, lambda r: str(r.get("full_name", r.get("id")))
        )

    async def _instance_pages(self) -> AsyncIterator[list[RepoData]]:
        """Every public repository of the instance: ``GET /repos/search`` (answered as
        ``{"ok": true, "data": [...]}``), by id so pages do not shift as repositories are
        added, private ones left out even when the token could see them."""
        url: str | None = f"{self.api}/repos/search"
        params: dict[str, Any] | None = {
            "limit": PAGE_SIZE,
            "page": 1,
            "sort": "id",
            "order": "asc",
            "private": "false",
        }
        listed_so_far = 0
        while url:
            try:
                response = await self.client.get(url, params=params)
            except ForgeHTTPError as error:
                if error.status_code == 404:
                    raise NotFoundError(
                        f"Gitea repository search not found at {self.endpoint}"
                    ) from None
                raise
            answer = await self.client.json_of(response)
            listed = answer.get("data") if isinstance(answer, dict) else None
            if not isinstance(listed, list) or (
                isinstance(answer, dict) and not answer.get("ok", True)
            ):
                raise ForgeHTTPError(f"{url}: expected search results with a list of repositories")
            listed = [r for r in listed if not r.get("private")]
            listed_so_far += len(listed)
            self.count_whole_forge(listed_so_far)
            yield await self._read_page(listed)
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
        repo.tags = await self._tags(base)
        if item.get("release_counter"):
            # only repositories that have releases cost a request for them
            repo.releases = await self._releases(base)
        if self._batched and "licenses" in item:
            claimed = bool(forge_license)
            if await self._files_batched(repo, base, claimed):
                return repo
        await self._files_listed(repo, base)
        return repo

    async def _file_contents(self, base: str, paths: list[str]) -> list[Any] | None:
        """``file-contents`` for ``paths`` (entries or ``None``, in order); None when the
        forge does not serve it (then it is not asked again)."""
        # POST, the documented form (GET takes the same JSON in a query parameter, which
        # makes a long URL to build and parse for every repository)
        response = await self.client.request(
            "POST",
            f"{base}/file-contents",
            json_body={"files": paths},
            conditional=False,
            ok=(200, 404, 405),
        )
        if response.status_code != 200:
            # the repository answered its tags a moment ago: the endpoint is missing
            self._batched = False
            return None
        entries = await self.client.json_of(response)
        return entries if isinstance(entries, list) else None

    async def _files_batched(self, repo: RepoData, base: str, claimed: bool) -> bool:
        """Read the files through ``file-contents``; False when the caller must list the
        root instead (no batch endpoint, or licenses Gitea found under an unusual name)."""
        entries = await self._file_contents(base, list(FILE_CANDIDATES))
        if entries is None:
            return False
        found: dict[str, dict[str, Any]] = {}
        reuse = False
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
                continue
            if entry.get("type") == "dir" and entry["path"] == "LICENSES":
                reuse = True
            elif entry.get("type") == "file":
                found[entry["path"]] = entry
        if reuse:
            listing = await self.client.get(f"{base}/contents/LICENSES", ok=(200, 404))
            if listing.status_code == 200:
                paths = [
                    f"LICENSES/{e['name']}"
                    for e in await self.client.json_of(listing)
                    if isinstance(e, dict) and e.get("type") == "file"
                ]
                for start in range(0, len(paths), 30):
                    more = await self._file_contents(base, paths[start : start + 30]) or []
                    found.update(
                        (e["path"], e)
                        for e in more
                        if isinstance(e, dict) and e.get("type") == "file"
                    )
        if claimed and not any(is_license_path(path) for path in found):
            return False
        publiccode = [n for n in PUBLICCODE_NAMES if n in found][:1]
        for path, entry in found.items():
            if path not in publiccode and not is_license_path(path):
                continue
            text = await self._entry_text(base, repo, entry)
            if text is not None:
                repo.files[path] = text
        return True

    async def _entry_text(self, base: str, repo: RepoData, entry: dict[str, Any]) -> str | None:
        """The text of a ``file-contents`` entry; a file too large for the batch comes
        without content and is read raw if it is under :data:`MAX_FILE_BYTES`."""
        size = entry.get("size") or 0
        if size > MAX_FILE_BYTES:
            return None
        content = entry.get("content")
        if isinstance(content, str) and entry.get("encoding") == "base64":
            try:
                return base64.b64decode(content).decode("utf-8", errors="replace")
            except ValueError:
                return None
        if size:
            raw = await self.client.get(
                f"{base}/raw/{quote(entry['path'])}",
                params={"ref": repo.default_branch} if repo.default_branch else None,
                ok=(200, 404),
            )
            if raw.status_code == 200 and len(raw.content) <= MAX_FILE_BYTES:
                return raw.content.decode("utf-8", errors="replace")
            return None
        return ""

    async def _files_listed(self, repo: RepoData, base: str) -> None:
        """Read the files the root directory listing names, one raw request each."""
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
        for path in wanted:
            raw = await self.client.get(
                f"{base}/raw/{quote(path)}",
                params={"ref": repo.default_branch} if repo.default_branch else None,
                ok=(200, 404),
            )
            if raw.status_code == 200 and len(raw.content) <= MAX_FILE_BYTES:
                repo.files[path] = raw.content.decode("utf-8", errors="replace")

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

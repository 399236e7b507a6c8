"""Bitbucket Cloud (REST 2.0).

An account is a workspace. Its repositories are listed 100 per page (Bitbucket's largest),
following the opaque ``next`` link, with a ``fields=`` partial response that keeps only what
:class:`~crawlers.forges.base.RepoData` needs. Per repository:

* the tags, 100 per page, as ``name``, ``date``, ``target.hash``, ``target.date`` only (the
  tag date is the tagger date of an annotated tag, else the commit date);
* the root directory listing of the main branch (``/src/{branch}/``), as ``path``, ``type``,
  ``size`` and the commit hash (the head commit), and the ``LICENSES/`` listing when there is
  such a directory;
* the raw bytes of each license file and of ``publiccode.yml`` (``/src/{commit}/{path}``).

So a repository costs 3 requests, plus one per metadata file and one for a REUSE directory
(the fixture accounts: 3 to 8); a repository whose root is empty costs one more, for the head
commit (``/refs/branches/{name}``). **Licenses come from files only**: Bitbucket's repository
object has no license field, so ``forge_license`` is always ``None`` and the catalogue's
license is whatever :func:`registry.licenses.detect_in_files` finds in ``files``. Bitbucket
has no archived flag and no topics either; a fork is a repository with a ``parent``.

``endpoint`` is the web base: ``https://bitbucket.org`` (API ``https://api.bitbucket.org/2.0``),
or another base such as the fake forge's ``http://127.0.0.1:PORT/bitbucket`` (API
``{endpoint}/2.0``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlsplit

from crawlers.forges.base import (
    MAX_FILE_BYTES,
    PUBLICCODE_NAMES,
    ForgeAdapter,
    RepoData,
    TagData,
    is_license_path,
    parse_time,
)
from crawlers.http import ForgeClient, ForgeHTTPError, decode_json
from registry.errors import NotFoundError

__all__ = ["LIST_FIELDS", "BitbucketAdapter"]

PAGE_SIZE = 100
#: What a listing asks for (also used for one repository, without the ``values.`` prefix).
REPOSITORY_FIELDS = (
    "uuid",
    "name",
    "slug",
    "full_name",
    "description",
    "language",
    "created_on",
    "updated_on",
    "mainbranch.name",
    "links.html.href",
    "parent.full_name",
)
LIST_FIELDS = ",".join(["next", *(f"values.{name}" for name in REPOSITORY_FIELDS)])
TAG_FIELDS = "next,values.name,values.date,values.target.hash,values.target.date"
SRC_FIELDS = "next,values.path,values.type,values.size,values.commit.hash"


def api_base(endpoint: str) -> str:
    """The REST 2.0 base for a web base (``bitbucket.org`` has its own API host)."""
    parts = urlsplit(endpoint)
    if parts.netloc.lower() in ("bitbucket.org", "www.bitbucket.org"):
        return "https://api.bitbucket.org/2.0"
    return f"{endpoint.rstrip('/')}/2.0"


class BitbucketAdapter(ForgeAdapter):
    kind = "bitbucket"

    def __init__(self, client: ForgeClient, endpoint: str = "https://bitbucket.org") -> None:
        super().__init__(client, endpoint)
        self.api = api_base(self.endpoint)

    async def account_pages(self, owner: str) -> AsyncIterator[list[RepoData]]:
        url: str | None = f"{self.api}/repositories/{quote(owner, safe='')}"
        params: dict[str, Any] | None = {"pagelen": PAGE_SIZE, "fields": LIST_FIELDS}
        first = True
        while url:
            try:
                response = await self.client.get(url, params=params)
            except ForgeHTTPError as error:
                if first and error.status_code == 404:
                    raise NotFoundError(
                        f"Bitbucket workspace {owner!r} not found at {self.endpoint}"
                    ) from None
                raise
            first = False
            page = decode_json(response)
            values = page.get("values") if isinstance(page, dict) else None
            if not isinstance(values, list):
                raise ForgeHTTPError(f"{url}: expected a page of repositories")
            yield await self.gather_limited(
                values, self._details, lambda r: str(r.get("full_name", r.get("uuid")))
            )
            # ``next`` is opaque and already carries pagelen and fields.
            url, params = page.get("next"), None

    async def repository(self, path: str) -> RepoData:
        fields = ",".join(REPOSITORY_FIELDS)
        try:
            item = await self.client.get_json(
                f"{self.api}/repositories/{path.strip('/')}", params={"fields": fields}
            )
        except ForgeHTTPError as error:
            if error.status_code == 404:
                raise NotFoundError(
                    f"Bitbucket repository {path!r} not found at {self.endpoint}"
                ) from None
            raise
        return await self._details(item)

    async def _details(self, item: dict[str, Any]) -> RepoData:
        full_name = item["full_name"]
        branch = (item.get("mainbranch") or {}).get("name") or ""
        web_url = ((item.get("links") or {}).get("html") or {}).get("href") or ""
        repo = RepoData(
            forge_kind="bitbucket",
            forge_id=item.get("uuid") or full_name,
            web_url=web_url or f"{self.endpoint}/{full_name}",
            path=full_name,
            name=item.get("name") or full_name.rsplit("/", 1)[-1],
            description=item.get("description") or "",
            default_branch=branch,
            language=item.get("language") or "",
            is_fork=bool(item.get("parent")),
            pushed_at=parse_time(item.get("updated_on")),
            created_at=parse_time(item.get("created_on")),
            forge_license=None,  # Bitbucket reports no license: files decide
        )
        base = f"{self.api}/repositories/{full_name}"
        repo.tags = await self._tags(base)
        if not branch:
            return repo  # an empty repository has no main branch and no files
        root = await self._listing(f"{base}/src/{quote(branch, safe='')}/")
        if root:
            repo.head_commit = root[0].get("commit", {}).get("hash") or ""
        else:  # no entry to read the head commit from: ask the branch
            branch_url = f"{base}/refs/branches/{quote(branch, safe='')}"
            response = await self.client.get(
                branch_url, params={"fields": "target.hash"}, ok=(200, 404)
            )
            if response.status_code == 200:
                repo.head_commit = (decode_json(response).get("target") or {}).get("hash") or ""
        names = [e["path"] for e in root if e.get("type") == "commit_file"]
        wanted = [n for n in PUBLICCODE_NAMES if n in names][:1]
        wanted += [n for n in names if is_license_path(n)]
        if any(e.get("type") == "commit_directory" and e["path"] == "LICENSES" for e in root):
            ref = quote(repo.head_commit or branch, safe="")
            licenses = await self._listing(f"{base}/src/{ref}/LICENSES/")
            wanted += [
                e["path"]
                for e in licenses
                if e.get("type") == "commit_file" and is_license_path(e["path"])
            ]
        sizes = {e["path"]: e.get("size") for e in root}
        ref = quote(repo.head_commit or branch, safe="")
        for path in wanted:
            size = sizes.get(path)
            if isinstance(size, int) and size > MAX_FILE_BYTES:
                continue
            raw = await self.client.get(f"{base}/src/{ref}/{quote(path)}", ok=(200, 404))
            if raw.status_code == 200 and len(raw.content) <= MAX_FILE_BYTES:
                repo.files[path] = raw.content.decode("utf-8", errors="replace")
        return repo

    async def _listing(self, url: str) -> list[dict[str, Any]]:
        """Every entry of a ``/src`` directory listing (404: an empty list)."""
        entries: list[dict[str, Any]] = []
        next_url: str | None = url
        params: dict[str, Any] | None = {"pagelen": PAGE_SIZE, "fields": SRC_FIELDS}
        while next_url:
            response = await self.client.get(next_url, params=params, ok=(200, 404))
            if response.status_code == 404:
                return entries
            page = decode_json(response)
            entries += [v for v in page.get("values") or [] if isinstance(v, dict) and "path" in v]
            next_url, params = page.get("next"), None
        return entries

    async def _tags(self, base: str) -> list[TagData]:
        tags: list[TagData] = []
        url: str | None = f"{base}/refs/tags"
        params: dict[str, Any] | None = {"pagelen": PAGE_SIZE, "fields": TAG_FIELDS}
        while url:
            page = decode_json(await self.client.get(url, params=params))
            for item in page.get("values") or []:
                target = item.get("target") or {}
                date = parse_time(item.get("date")) or parse_time(target.get("date"))
                tags.append(TagData(item["name"], date, target.get("hash") or ""))
            url, params = page.get("next"), None
        return tags

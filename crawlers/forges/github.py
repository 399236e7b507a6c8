"""GitHub through GraphQL: one query answers a page of 100 repositories with their
license, first 100 tags, releases, ``publiccode.yml`` and root file names.

Per page of repositories the crawl makes one query, plus one query fetching the texts of
the license files found in the page's root trees (texts of all root files would be
megabytes), plus, only when some repository has more than 100 tags, one query per further
100 tags batched across those repositories. REST is used for nothing: everything the
catalogue reads is in GraphQL.

``endpoint`` is the web base (``https://github.com`` or a GitHub Enterprise / fake forge
base such as ``http://127.0.0.1:8765/github``): the API is ``https://api.github.com/graphql``
for github.com and ``{endpoint}/api/graphql`` elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

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
from crawlers.http import ForgeClient, ForgeHTTPError, RateLimitedError
from registry.errors import NotFoundError

__all__ = ["GitHubAdapter"]

PAGE_SIZE = 100
TAG_PAGE = 100

_TAG_FIELDS = """
  totalCount
  pageInfo { hasNextPage endCursor }
  nodes {
    name
    target {
      __typename
      ... on Commit { oid committedDate }
      ... on Tag { tagger { date } target { ... on Commit { oid committedDate } } }
    }
  }
"""

REPO_FRAGMENT = f"""
fragment Repo on Repository {{
  databaseId name nameWithOwner url description homepageUrl isFork isArchived
  pushedAt createdAt
  defaultBranchRef {{ name target {{ ... on Commit {{ oid }} }} }}
  primaryLanguage {{ name }}
  licenseInfo {{ spdxId key name }}
  repositoryTopics(first: 20) {{ nodes {{ topic {{ name }} }} }}
  refs(refPrefix: "refs/tags/", first: {TAG_PAGE},
       orderBy: {{field: TAG_COMMIT_DATE, direction: DESC}}) {{ {_TAG_FIELDS} }}
  releases(first: 20, orderBy: {{field: CREATED_AT, direction: DESC}}) {{
    nodes {{ tagName name publishedAt isPrerelease isDraft }}
  }}
  publiccodeYml: object(expression: "HEAD:publiccode.yml") {{
    ... on Blob {{ text byteSize isTruncated }}
  }}
  publiccodeYaml: object(expression: "HEAD:publiccode.yaml") {{
    ... on Blob {{ text byteSize isTruncated }}
  }}
  root: object(expression: "HEAD:") {{ ... on Tree {{ entries {{ name type }} }} }}
  reuse: object(expression: "HEAD:LICENSES") {{
    ... on Tree {{ entries {{ name type object {{ ... on Blob {{ text byteSize }} }} }} }}
  }}
}}
"""

ACCOUNT_QUERY = (
    """
query($owner: String!, $after: String) {
  rateLimit { cost remaining resetAt }
  %s(login: $owner) {
    repositories(first: %d, after: $after, orderBy: {field: NAME, direction: ASC}) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { ...Repo }
    }
  }
}
"""
    + REPO_FRAGMENT
)

REPOSITORY_QUERY = (
    """
query($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) { ...Repo }
}
"""
    + REPO_FRAGMENT
)


def _literal(value: str) -> str:
    """A GraphQL string literal (JSON escaping is valid GraphQL)."""
    return json.dumps(value)


class GitHubAdapter(ForgeAdapter):
    kind = "github"

    def __init__(self, client: ForgeClient, endpoint: str = "https://github.com") -> None:
        super().__init__(client, endpoint)
        host = urlsplit(self.endpoint).hostname or ""
        self.graphql_url = (
            "https://api.github.com/graphql"
            if host in ("github.com", "www.github.com")
            else f"{self.endpoint}/api/graphql"
        )
        client.set_auth_scheme(urlsplit(self.graphql_url).hostname or "", "bearer")

    async def _query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        payload = {"query": query, "variables": variables or {}}
        for _attempt in range(self.client.max_retries + 1):
            response = await self.client.request(
                "POST", self.graphql_url, json_body=payload, conditional=False
            )
            body = await self.client.json_of(response, body=payload)
            if not isinstance(body, dict):
                raise ForgeHTTPError(f"{self.graphql_url}: a GraphQL answer must be an object")
            errors = body.get("errors") or []
            if not any(e.get("type") == "RATE_LIMITED" for e in errors if isinstance(e, dict)):
                break
            # GraphQL reports a used-up limit in a 200 body: wait for the window's reset
            await self.client.wait_for_reset(response)
        else:
            raise RateLimitedError(f"{self.graphql_url}: GraphQL rate limit used up")
        data = body.get("data")
        if data is None:
            message = "; ".join(str(e.get("message", e)) for e in errors if isinstance(e, dict))
            raise ForgeHTTPError(f"{self.graphql_url}: GraphQL error: {message or 'no data'}")
        return data

    async def account_pages(self, owner: str) -> AsyncIterator[list[RepoData]]:
        owner_kind = "organization"
        after: str | None = None
        while True:
            data = await self._query(
                ACCOUNT_QUERY % (owner_kind, PAGE_SIZE), {"owner": owner, "after": after}
            )
            account = data.get(owner_kind)
            if account is None:
                if owner_kind == "organization" and after is None:
                    owner_kind = "user"
                    continue
                raise NotFoundError(f"GitHub account {owner!r} not found at {self.endpoint}")
            connection = account["repositories"]
            nodes = [n for n in connection.get("nodes") or [] if n]
            page = [self._repo(node) for node in nodes]
            await self._complete(page, nodes)
            yield page
            info = connection.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return
            after = info.get("endCursor")

    async def repository(self, path: str) -> RepoData:
        owner, _, name = path.strip("/").partition("/")
        data = await self._query(REPOSITORY_QUERY, {"owner": owner, "name": name})
        node = data.get("repository")
        if node is None:
            raise NotFoundError(f"GitHub repository {path!r} not found at {self.endpoint}")
        repo = self._repo(node)
        await self._complete([repo], [node])
        return repo

    # -- reading one node -------------------------------------------------------------------

    def _repo(self, node: dict[str, Any]) -> RepoData:
        branch = node.get("defaultBranchRef") or {}
        license_info = node.get("licenseInfo")
        forge_license: str | None = None
        if license_info:
            spdx = license_info.get("spdxId") or ""
            forge_license = "" if spdx in ("", "NOASSERTION") else spdx
        files: dict[str, str] = {}
        for alias, name in zip(("publiccodeYml", "publiccodeYaml"), PUBLICCODE_NAMES, strict=True):
            blob = node.get(alias) or {}
            if blob.get("text") is not None and not blob.get("isTruncated"):
                files[name] = blob["text"]
        for entry in ((node.get("reuse") or {}).get("entries")) or []:
            blob = entry.get("object") or {}
            text = blob.get("text")
            if entry.get("type") == "blob" and text is not None and len(text) <= MAX_FILE_BYTES:
                files[f"LICENSES/{entry['name']}"] = text
        refs = node.get("refs") or {}
        return RepoData(
            forge_kind="github",
            forge_id=str(node.get("databaseId") or ""),
            web_url=node["url"],
            path=node["nameWithOwner"],
            name=node["name"],
            description=node.get("description") or "",
            homepage=node.get("homepageUrl") or "",
            default_branch=branch.get("name") or "",
            language=(node.get("primaryLanguage") or {}).get("name") or "",
            topics=[
                t["topic"]["name"]
                for t in ((node.get("repositoryTopics") or {}).get("nodes") or [])
                if t and t.get("topic")
            ],
            is_fork=bool(node.get("isFork")),
            is_archived=bool(node.get("isArchived")),
            pushed_at=parse_time(node.get("pushedAt")),
            created_at=parse_time(node.get("createdAt")),
            head_commit=(branch.get("target") or {}).get("oid") or "",
            tags=[_tag(n) for n in refs.get("nodes") or [] if n],
            releases=[
                ReleaseData(
                    tag=r["tagName"],
                    name=r.get("name") or "",
                    published_at=parse_time(r.get("publishedAt")),
                    prerelease=bool(r.get("isPrerelease")),
                    draft=bool(r.get("isDraft")),
                )
                for r in ((node.get("releases") or {}).get("nodes") or [])
                if r
            ],
            forge_license=forge_license,
            files=files,
        )

    # -- what one query cannot answer ---------------------------------------------------------

    async def _complete(self, page: list[RepoData], nodes: list[dict[str, Any]]) -> None:
        """Fetch root license file texts (one query for the page) and tags beyond the
        first 100 (one query per further 100, for the repositories that have more)."""
        wanted: list[tuple[int, str]] = []
        more_tags: dict[int, str] = {}
        for index, node in enumerate(nodes):
            for entry in ((node.get("root") or {}).get("entries")) or []:
                if entry.get("type") == "blob" and is_license_path(entry.get("name", "")):
                    wanted.append((index, entry["name"]))
            info = (node.get("refs") or {}).get("pageInfo") or {}
            if info.get("hasNextPage"):
                more_tags[index] = info.get("endCursor") or ""
        if wanted:
            await self._license_texts(page, wanted)
        while more_tags:
            more_tags = await self._more_tags(page, more_tags)

    async def _license_texts(self, page: list[RepoData], wanted: list[tuple[int, str]]) -> None:
        by_repo: dict[int, list[str]] = {}
        for index, name in wanted:
            by_repo.setdefault(index, []).append(name)
        parts = []
        for index, names in by_repo.items():
            owner, _, name = page[index].path.partition("/")
            files = " ".join(
                f"f{n}: object(expression: {_literal('HEAD:' + path)}) "
                "{ ... on Blob { text byteSize isTruncated } }"
                for n, path in enumerate(names)
            )
            parts.append(
                f"r{index}: repository(owner: {_literal(owner)}, name: {_literal(name)}) "
                f"{{ {files} }}"
            )
        data = await self._query("query {\n" + "\n".join(parts) + "\n}")
        for index, names in by_repo.items():
            node = data.get(f"r{index}") or {}
            for n, path in enumerate(names):
                blob = node.get(f"f{n}") or {}
                if blob.get("text") is not None and not blob.get("isTruncated"):
                    page[index].files[path] = blob["text"]

    async def _more_tags(self, page: list[RepoData], cursors: dict[int, str]) -> dict[int, str]:
        parts = []
        for index, cursor in cursors.items():
            owner, _, name = page[index].path.partition("/")
            parts.append(
                f"r{index}: repository(owner: {_literal(owner)}, name: {_literal(name)}) {{ "
                f'refs(refPrefix: "refs/tags/", first: {TAG_PAGE}, after: {_literal(cursor)}, '
                f"orderBy: {{field: TAG_COMMIT_DATE, direction: DESC}}) {{ {_TAG_FIELDS} }} }}"
            )
        data = await self._query("query {\n" + "\n".join(parts) + "\n}")
        following: dict[int, str] = {}
        for index in cursors:
            refs = (data.get(f"r{index}") or {}).get("refs") or {}
            page[index].tags.extend(_tag(n) for n in refs.get("nodes") or [] if n)
            info = refs.get("pageInfo") or {}
            if info.get("hasNextPage") and refs.get("nodes"):
                following[index] = info.get("endCursor") or ""
        return following


def _tag(node: dict[str, Any]) -> TagData:
    target = node.get("target") or {}
    if target.get("__typename") == "Tag":
        commit = target.get("target") or {}
        date = (target.get("tagger") or {}).get("date") or commit.get("committedDate")
        return TagData(node["name"], parse_time(date), commit.get("oid") or "")
    return TagData(node["name"], parse_time(target.get("committedDate")), target.get("oid") or "")

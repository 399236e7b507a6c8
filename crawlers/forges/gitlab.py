"""GitLab REST v4, any instance (gitlab.com, gitlab.adullact.net, a city's own).

An account is a group; its projects are listed with ``include_subgroups=true`` (100 per
page, keyset pagination on ``id`` so that long listings stay cheap and stable). The listing
carries every field the catalogue keeps of a project, so per project there are only the
tags (100 per page) and the metadata files: ``publiccode.yml``, the root license files and
a REUSE ``LICENSES/`` directory's files.

The files of a whole listing page are read with one GraphQL query (``POST /api/graphql``,
``Query.projects(ids:)``): per project the root tree's blob and tree paths, the
``LICENSES`` tree's blob paths, and ``Repository.blobs(paths:)`` with the texts of the usual
names of ``publiccode.yml`` and of root license files. A file the tree names but the query
did not read (a ``LICENSES/`` file, a license file of an unusual name) is read raw; a
project the query could not answer (repository not returned, a tree longer than one page)
is read through REST as below. An instance without GraphQL (an answer other than 200, or
``errors``) is read through REST for the rest of the crawl: per project the root tree
(``GET …/repository/tree``) says which files exist, and each is read raw; no request is
spent on a file that is not there. GitLab's own license guess (``license=true``, a request
per project) is not asked: the texts of the license files are read and recognised as on
every forge. ``endpoint`` is the instance's web base; the APIs are ``{endpoint}/api/v4``
and ``{endpoint}/api/graphql``.
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
from crawlers.forges.gitea import FILE_CANDIDATES
from crawlers.http import ForgeClient, ForgeError, ForgeHTTPError, RateLimitedError, next_link
from registry.errors import NotFoundError

__all__ = ["GitLabAdapter"]

PAGE_SIZE = 100
#: Paths ``Repository.blobs(paths:)`` reads for every project: the usual names of
#: ``publiccode.yml`` and of root license files (GitLab adds one complexity point a path)
BLOB_PATHS = tuple(p for p in FILE_CANDIDATES if p != "LICENSES")
#: Projects one GraphQL query asks (``Query.projects`` pages hold at most 100)
GRAPHQL_CHUNK = 100

#: Per project: the root tree's blobs and trees, the ``LICENSES`` tree's blobs, and the texts
#: of ``$paths`` at the default branch (no ``ref``: GitLab reads ``HEAD``, the root ref).
#: Types, fields and arguments as in GitLab's GraphQL reference: ``Query.projects``,
#: ``Project.repository``, ``Repository.tree``/``blobs``, ``Tree.blobs``/``trees``,
#: ``RepositoryBlob.path``/``rawBlob``/``size``.
FILES_QUERY = """
query CommunsFiles($ids: [ID!], $first: Int, $paths: [String!]!) {
  projects(ids: $ids, first: $first) {
    nodes {
      id
      repository {
        tree {
          blobs { pageInfo { hasNextPage } nodes { path } }
          trees { pageInfo { hasNextPage } nodes { path } }
        }
        reuse: tree(path: "LICENSES") {
          blobs { pageInfo { hasNextPage } nodes { path } }
        }
        blobs(paths: $paths) { nodes { path rawBlob size } }
      }
    }
  }
}
"""


def _id(path: str) -> str:
    return quote(path.strip("/"), safe="")


class GitLabAdapter(ForgeAdapter):
    kind = "gitlab"
    whole_forge = True

    def __init__(self, client: ForgeClient, endpoint: str = "https://gitlab.com") -> None:
        super().__init__(client, endpoint)
        self.api = f"{self.endpoint}/api/v4"
        client.set_auth_scheme(urlsplit(self.api).hostname or "", "private-token")
        self.graphql = f"{self.endpoint}/api/graphql"
        #: whether the instance answers GraphQL (until it answers that it does not)
        self._graphql_ok = True

    async def account_pages(self, owner: str) -> AsyncIterator[list[RepoData]]:
        """A group's projects (subgroups included), or with no owner every public project
        of the instance (``GET /projects?visibility=public``); keyset pages by id."""
        params: dict[str, Any] | None = {
            "per_page": PAGE_SIZE,
            "pagination": "keyset",
            "order_by": "id",
            "sort": "asc",
        }
        url: str | None
        if owner:
            url = f"{self.api}/groups/{_id(owner)}/projects"
            params = {"include_subgroups": "true", **params}
        else:
            url = f"{self.api}/projects"
            params = {"visibility": "public", **params}
        listed_so_far = 0
        while url:
            try:
                response = await self.client.get(url, params=params)
            except ForgeHTTPError as error:
                if error.status_code == 404:
                    what = f"group {owner!r}" if owner else "project listing"
                    raise NotFoundError(f"GitLab {what} not found at {self.endpoint}") from None
                raise
            listed = await self.client.json_of(response)
            if not isinstance(listed, list):
                raise ForgeHTTPError(f"{url}: expected a list of projects")
            if not owner:
                listed_so_far += len(listed)
                self.count_whole_forge(listed_so_far)
            listed = await self.fresh(
                listed,
                lambda p: (str(p.get("id", "")), p.get("web_url", ""), p.get("last_activity_at")),
            )
            files = await self._page_files(listed)
            yield await self.gather_limited(
                listed,
                lambda p, files=files: self._details(p, files.get(p["id"])),
                lambda p: str(p.get("path_with_namespace", p.get("id"))),
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

    async def _details(
        self, project: dict[str, Any], read: tuple[list[str], dict[str, str | None]] | None = None
    ) -> RepoData:
        """A project as listed (or fetched), completed with its tags and files; ``read`` is
        what the page's GraphQL query found (the paths wanted, the texts already read)."""
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
        if read is None:
            await self._files(repo, pid, branch)
        else:
            wanted, texts = read
            for path in wanted:
                text = texts[path] if path in texts else await self._raw(pid, path, branch)
                if text is not None:
                    repo.files[path] = text
        return repo

    async def _page_files(
        self, listed: list[dict[str, Any]]
    ) -> dict[int, tuple[list[str], dict[str, str | None]]]:
        """For each project of a page GraphQL could answer: the files wanted (as
        :meth:`_files` would choose them) and the texts the query read."""
        found: dict[int, tuple[list[str], dict[str, str | None]]] = {}
        ids = [p["id"] for p in listed if not p.get("empty_repo") and "id" in p]
        for start in range(0, len(ids), GRAPHQL_CHUNK):
            if not self._graphql_ok:
                break
            chunk = ids[start : start + GRAPHQL_CHUNK]
            variables = {
                "ids": [f"gid://gitlab/Project/{pid}" for pid in chunk],
                "first": len(chunk),
                "paths": list(BLOB_PATHS),
            }
            try:
                response = await self.client.request(
                    "POST",
                    self.graphql,
                    json_body={"query": FILES_QUERY, "variables": variables},
                    conditional=False,
                    ok=(200, 400, 401, 403, 404, 405, 422, 501),
                )
                answer = (
                    await self.client.json_of(response) if response.status_code == 200 else None
                )
            except RateLimitedError:
                raise  # as a listing request would: the crawl waits or stops, not REST
            except ForgeError:
                self._graphql_ok = False
                break
            nodes = _answered_nodes(answer)
            if nodes is None:
                # no GraphQL here (older or restricted instance), or a query it refuses
                self._graphql_ok = False
                break
            for node in nodes:
                pid, read = _read_node(node)
                if pid is not None and read is not None:
                    found[pid] = read
        return found

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
        reuse: list[str] = []
        if any(e.get("type") == "tree" and e.get("path") == "LICENSES" for e in root):
            reuse = [
                e["path"]
                for e in await self._tree(pid, ref, "LICENSES")
                if e.get("type") == "blob" and "path" in e
            ]
        for path in _wanted(blobs, reuse):
            text = await self._raw(pid, path, ref)
            if text is not None:
                repo.files[path] = text


def _wanted(root_blobs: list[str], reuse_blobs: list[str]) -> list[str]:
    """The files read of a project: its first ``publiccode.yml``, its root license files
    and the files of its REUSE ``LICENSES/`` directory, in that order."""
    wanted = [n for n in PUBLICCODE_NAMES if n in root_blobs][:1]
    wanted += [p for p in root_blobs if is_license_path(p)]
    wanted += [p for p in reuse_blobs if is_license_path(p)]
    return wanted


def _paths(connection: Any) -> list[str] | None:
    """The ``path`` of each node of a tree-entry connection; ``None`` when it is missing or
    has more than one page (the project is then read through REST)."""
    if not isinstance(connection, dict):
        return None
    if (connection.get("pageInfo") or {}).get("hasNextPage"):
        return None
    nodes = connection.get("nodes")
    if not isinstance(nodes, list):
        return None
    return [n["path"] for n in nodes if isinstance(n, dict) and isinstance(n.get("path"), str)]


def _read_node(node: Any) -> tuple[int | None, tuple[list[str], dict[str, str | None]] | None]:
    """A ``Project`` node of the files query: its numeric id, and the files wanted with the
    texts read (``None`` when the answer is incomplete)."""
    if not isinstance(node, dict):
        return None, None
    gid = str(node.get("id") or "")
    tail = gid.rsplit("/", 1)[-1]
    if not gid.startswith("gid://gitlab/Project/") or not tail.isdigit():
        return None, None
    repository = node.get("repository")
    if not isinstance(repository, dict):
        return int(tail), None
    tree = repository.get("tree")
    if not isinstance(tree, dict):
        # no tree at HEAD: nothing to read, as the REST tree's 404 says
        return int(tail), ([], {})
    root_blobs = _paths(tree.get("blobs"))
    root_trees = _paths(tree.get("trees"))
    if root_blobs is None or root_trees is None:
        return int(tail), None
    reuse: list[str] = []
    if "LICENSES" in root_trees:
        reuse_tree = repository.get("reuse")
        listed = _paths(reuse_tree.get("blobs")) if isinstance(reuse_tree, dict) else None
        if listed is None:
            return int(tail), None
        reuse = listed
    texts: dict[str, str | None] = {}
    blobs = repository.get("blobs")
    for blob in (blobs.get("nodes") or []) if isinstance(blobs, dict) else []:
        if not isinstance(blob, dict) or not isinstance(blob.get("path"), str):
            continue
        raw = blob.get("rawBlob")
        size = blob.get("size")
        too_big = isinstance(size, int | str) and str(size).isdigit() and int(size) > MAX_FILE_BYTES
        if too_big:
            texts[blob["path"]] = None  # as REST: a text this large is not kept
        elif isinstance(raw, str):
            texts[blob["path"]] = raw
    return int(tail), (_wanted(root_blobs, reuse), texts)


def _answered_nodes(answer: Any) -> list[Any] | None:
    """The ``Project`` nodes of a files query's answer, without those an error names (their
    projects are read through REST); ``None`` when the query as a whole failed."""
    if not isinstance(answer, dict) or not isinstance(answer.get("data"), dict):
        return None
    projects = answer["data"].get("projects")
    if not isinstance(projects, dict) or not isinstance(projects.get("nodes"), list):
        return None
    nodes: list[Any] = list(projects["nodes"])
    for error in answer.get("errors") or []:
        path = error.get("path") if isinstance(error, dict) else None
        if not (isinstance(path, list) and path[:2] == ["projects", "nodes"] and len(path) > 2):
            return None
        if isinstance(path[2], int) and 0 <= path[2] < len(nodes):
            nodes[path[2]] = None
    return nodes

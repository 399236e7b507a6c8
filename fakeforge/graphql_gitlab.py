"""A small GitLab GraphQL endpoint (``POST /gitlab/api/graphql``) for the crawler's queries.

Not a general GraphQL engine: the query language subset of :mod:`fakeforge.graphql_syntax`
(the GitHub endpoint's parser) and resolvers for the part of GitLab's schema a crawler reads,
as GitLab's GraphQL reference (docs.gitlab.com/api/graphql/reference) describes it:

* ``Query.projects(ids: [ID!], fullPaths: [String!], first, after, last, before)``: a
  ``ProjectConnection`` (``nodes``, ``edges { cursor node }``, ``pageInfo``, ``count``) of the
  projects whose global IDs (``gid://gitlab/Project/<id>``) or full paths are given;
  ``Query.project(fullPath:)``; ``Query.group(fullPath:)`` with
  ``Group.projects(includeSubgroups:, first:, after:)``.
* ``Project``: ``id`` (a global ID), ``name``, ``path``, ``fullPath``, ``description``,
  ``webUrl``, ``archived``, ``repository``.
* ``Repository``: ``rootRef``, ``empty``, ``exists``, ``tree(path: "", recursive: false,
  ref:)`` (``ref`` defaults to ``HEAD``), ``blobs(paths: [String!]!, ref:)``: the blobs that
  exist among ``paths``, as a ``RepositoryBlobConnection``.
* ``Tree``: ``blobs``, ``trees``, ``submodules``, connections of entries with ``id``,
  ``sha``, ``name``, ``path``, ``flatPath``, ``type`` (``blob``/``tree``), ``webPath``, ``webUrl``.
* ``RepositoryBlob``: ``id``, ``oid``, ``name``, ``path``, ``size``, ``rawSize``, ``rawBlob``,
  ``rawTextBlob``, ``webPath``, ``mode``.

Connections hold at most 100 nodes a page (GitLab's ``default_max_page_size``; a larger
``first`` is cut to 100) and need no ``first``. Query complexity: one point a field, and
``Repository.blobs`` one more per path asked (GitLab's ``BlobsResolver``); above 200 (250
with a token) the query is refused as GitLab does: HTTP 200, ``errors`` only, ``Query has
complexity of N, which exceeds max complexity of 200``. A field outside the subset is a
validation error in the same shape (``Field 'x' doesn't exist on type 'Y'``).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fakeforge.core import Request, Response, json_response
from fakeforge.graphql_exec import Context, Node, Schema, argument, start
from fakeforge.graphql_syntax import (
    Field,
    GraphQLError,
    InlineFragment,
)
from fakeforge.model import Account, Repository, git_blob_sha

if TYPE_CHECKING:
    from fakeforge.app import FakeForge

__all__ = ["MAX_COMPLEXITY", "MAX_PAGE_SIZE", "execute", "register"]

#: GitLab's ``default_max_page_size``
MAX_PAGE_SIZE = 100
#: GitLab's query complexity limits: without a token, and with one
MAX_COMPLEXITY = 200
MAX_COMPLEXITY_AUTHENTICATED = 250


# -- connections -----------------------------------------------------------------------------


def _cursor(index: int) -> str:
    return base64.b64encode(json.dumps({"offset": index}).encode()).decode()


def _offset(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        return int(json.loads(base64.b64decode(cursor))["offset"])
    except Exception as exc:
        raise GraphQLError("Invalid cursor provided") from exc


def connection(items: list[Any], args: dict[str, Any], wrap: Callable[[Any], Node]) -> Node:
    """A page of ``items``: ``first``/``after``/``last``/``before``, at most 100 nodes."""
    first, last = args.get("first"), args.get("last")
    for name, value in (("first", first), ("last", last)):
        if value is not None and value < 0:
            raise GraphQLError(f"Argument '{name}' on Field has an invalid value ({value}).")
    after, before = _offset(args.get("after")), _offset(args.get("before"))
    start = after + 1 if after is not None else 0
    stop = min(len(items), before) if before is not None else len(items)
    if first is not None:
        stop = min(stop, start + min(first, MAX_PAGE_SIZE))
    if last is not None:
        start = max(start, stop - min(last, MAX_PAGE_SIZE))
    if first is None and last is None:
        stop = min(stop, start + MAX_PAGE_SIZE)
    window = list(range(start, max(start, stop)))
    return Node(
        "Connection",
        {
            "nodes": [wrap(items[i]) for i in window],
            "edges": [Node("Edge", (_cursor(i), wrap(items[i]))) for i in window],
            "count": len(items),
            "pageInfo": Node(
                "PageInfo",
                {
                    "hasNextPage": bool(window) and window[-1] < len(items) - 1,
                    "hasPreviousPage": bool(window) and window[0] > 0,
                    "startCursor": _cursor(window[0]) if window else None,
                    "endCursor": _cursor(window[-1]) if window else None,
                },
            ),
        },
    )


# -- resolvers -------------------------------------------------------------------------------


def _web(ctx: Context) -> str:
    return f"{ctx.req.base_url}/gitlab"


def _project_gid(gid: Any) -> int:
    text = str(gid)
    tail = text.rsplit("/", 1)[-1]
    if not text.startswith("gid://gitlab/Project/") or not tail.isdigit():
        raise GraphQLError(f'"{text}" does not represent an instance of Project')
    return int(tail)


def _projects(ctx: Context, _obj: Any, args: dict[str, Any]) -> Node:
    world = ctx.app.world
    repos: list[Repository] = []
    ids, paths = args.get("ids"), args.get("fullPaths")
    if ids is not None:
        found = (world.repos_by_id.get(_project_gid(g)) for g in ids)
        repos = [r for r in found if r is not None]
    elif paths is not None:
        repos = [r for r in (world.repo_by_path(p) for p in paths) if r is not None]
    else:
        repos = list(world.repos_by_id.values())
    if paths is not None and ids is not None:
        wanted = {p.lower() for p in paths}
        repos = [r for r in repos if r.full_path.lower() in wanted]
    # ProjectsFinder's default order: newest id first
    repos = sorted({r.id: r for r in repos}.values(), key=lambda r: r.id, reverse=True)
    return connection(repos, args, lambda r: Node("Project", r))


def _project(ctx: Context, _obj: Any, args: dict[str, Any]) -> Node | None:
    repo = ctx.app.world.repo_by_path(str(args.get("fullPath", "")))
    return Node("Project", repo) if repo is not None else None


def _group(ctx: Context, _obj: Any, args: dict[str, Any]) -> Node | None:
    account = ctx.app.world.accounts.get(str(args.get("fullPath", "")).strip("/").lower())
    return Node("Group", account) if account is not None else None


def _group_projects(ctx: Context, account: Account, args: dict[str, Any]) -> Node:
    groups = [account]
    if args.get("includeSubgroups"):
        groups += list(account.descendants())
    repos = sorted((r for g in groups for r in g.repositories), key=lambda r: r.id)
    return connection(repos, args, lambda r: Node("Project", r))


@dataclass
class TreeAt:
    repo: Repository
    path: str
    ref: str
    recursive: bool


def _tree(ctx: Context, repo: Repository, args: dict[str, Any]) -> Node:
    path = str(args.get("path") or "").strip("/")
    return Node("Tree", TreeAt(repo, path, args.get("ref") or "HEAD", bool(args.get("recursive"))))


def _entries(tree: TreeAt) -> tuple[list[str], list[str]]:
    """The tree and blob paths below ``tree.path`` (an unknown ref or path: none)."""
    if not tree.repo.has_ref(tree.ref):
        return [], []
    prefix = f"{tree.path}/" if tree.path else ""
    trees: set[str] = set()
    blobs: set[str] = set()
    for name in tree.repo.files:
        if not name.startswith(prefix):
            continue
        parts = name[len(prefix) :].split("/")
        for depth in range(1, len(parts)):
            if depth == 1 or tree.recursive:
                trees.add(prefix + "/".join(parts[:depth]))
        if len(parts) == 1 or tree.recursive:
            blobs.add(name)
    return sorted(trees), sorted(blobs)


def _entry(kind: str) -> Callable[[tuple[TreeAt, str]], Node]:
    return lambda item: Node("TreeEntry" if kind == "tree" else "Blob", item)


def _entry_fields(kind: str) -> dict[str, Callable[..., Any]]:
    def sha(_c: Context, item: tuple[TreeAt, str], _a: Any) -> str:
        tree, path = item
        if kind == "blob":
            return git_blob_sha(tree.repo.files[path].encode())
        return hashlib.sha1(f"tree {tree.repo.full_name} {path}".encode()).hexdigest()

    def web_path(_c: Context, item: tuple[TreeAt, str], _a: Any) -> str:
        tree, path = item
        return f"/{tree.repo.full_path}/-/{kind}/{tree.repo.default_branch}/{path}"

    return {
        "id": lambda c, item, a: (
            "gid://gitlab/Gitlab::Graphql::Representation::TreeEntry/" + sha(c, item, a)
        ),
        "sha": sha,
        "name": lambda _c, item, _a: item[1].rsplit("/", 1)[-1],
        "path": lambda _c, item, _a: item[1],
        "flatPath": lambda _c, item, _a: item[1],
        "type": lambda _c, _item, _a: kind,
        "webPath": web_path,
        "webUrl": lambda c, item, a: f"{c.req.base_url}{web_path(c, item, a)}",
    }


def _blobs(ctx: Context, repo: Repository, args: dict[str, Any]) -> Node:
    paths = args.get("paths")
    if paths is None:
        raise GraphQLError("Field 'blobs' is missing required arguments: paths")
    if not repo.has_ref(args.get("ref") or "HEAD"):
        return connection([], args, lambda p: Node("RepositoryBlob", (repo, p)))
    found = [p for p in dict.fromkeys(str(p) for p in paths) if p in repo.files]
    return connection(found, args, lambda p: Node("RepositoryBlob", (repo, p)))


def _blob_fields() -> dict[str, Callable[..., Any]]:
    def data(item: tuple[Repository, str]) -> bytes:
        return item[0].files[item[1]].encode()

    def web_path(_c: Context, item: tuple[Repository, str], _a: Any) -> str:
        return f"/{item[0].full_path}/-/blob/{item[0].default_branch}/{item[1]}"

    return {
        "id": lambda _c, item, _a: f"gid://gitlab/Blob/{git_blob_sha(data(item))}",
        "oid": lambda _c, item, _a: git_blob_sha(data(item)),
        "name": lambda _c, item, _a: item[1].rsplit("/", 1)[-1],
        "path": lambda _c, item, _a: item[1],
        "size": lambda _c, item, _a: str(len(data(item))),  # BigInt: a string
        "rawSize": lambda _c, item, _a: str(len(data(item))),
        "rawBlob": lambda _c, item, _a: item[0].files[item[1]],
        "rawTextBlob": lambda _c, item, _a: item[0].files[item[1]],
        "webPath": web_path,
        "mode": lambda _c, _item, _a: "100644",
    }


_INTERFACES = {"Blob": {"Entry"}, "TreeEntry": {"Entry"}}

RESOLVERS: dict[str, dict[str, Callable[..., Any]]] = {
    "Query": {
        "projects": _projects,
        "project": _project,
        "group": _group,
    },
    "Group": {
        "id": lambda _c, a, _x: f"gid://gitlab/Group/{a.id}",
        "name": lambda _c, a, _x: a.name,
        "path": lambda _c, a, _x: a.login,
        "fullPath": lambda _c, a, _x: a.full_path,
        "webUrl": lambda c, a, _x: f"{_web(c)}/groups/{a.full_path}",
        "projects": _group_projects,
    },
    "Project": {
        "id": lambda _c, r, _a: f"gid://gitlab/Project/{r.id}",
        "name": lambda _c, r, _a: r.name,
        "path": lambda _c, r, _a: r.name,
        "fullPath": lambda _c, r, _a: r.full_path,
        "description": lambda _c, r, _a: r.description,
        "webUrl": lambda c, r, _a: f"{_web(c)}/{r.full_path}",
        "archived": lambda _c, r, _a: r.archived,
        "repository": lambda _c, r, _a: Node("Repository", r),
    },
    "Repository": {
        "rootRef": lambda _c, r, _a: r.default_branch,
        "empty": lambda _c, r, _a: not r.files,
        "exists": lambda _c, _r, _a: True,
        "tree": _tree,
        "blobs": _blobs,
    },
    "Tree": {
        "blobs": lambda _c, t, a: connection([(t, p) for p in _entries(t)[1]], a, _entry("blob")),
        "trees": lambda _c, t, a: connection([(t, p) for p in _entries(t)[0]], a, _entry("tree")),
        "submodules": lambda _c, _t, a: connection([], a, _entry("tree")),
    },
    "Blob": _entry_fields("blob"),
    "TreeEntry": _entry_fields("tree"),
    "RepositoryBlob": _blob_fields(),
    "Connection": {
        "nodes": lambda _c, page, _a: page["nodes"],
        "edges": lambda _c, page, _a: page["edges"],
        "pageInfo": lambda _c, page, _a: page["pageInfo"],
        "count": lambda _c, page, _a: page["count"],
    },
    "Edge": {
        "cursor": lambda _c, edge, _a: edge[0],
        "node": lambda _c, edge, _a: edge[1],
    },
    "PageInfo": {
        name: (lambda n: lambda _c, info, _a: info[n])(name)
        for name in ("hasNextPage", "hasPreviousPage", "startCursor", "endCursor")
    },
}

SCHEMA = Schema(RESOLVERS, _INTERFACES)


def complexity(ctx: Context, selections: list[Any]) -> int:
    """One point a field, and ``Repository.blobs`` one more per path asked."""
    total = 0
    for sel in selections:
        if isinstance(sel, Field):
            total += 1
            if sel.name == "blobs" and "paths" in sel.args:
                total += len(argument(ctx, sel.args["paths"]) or [])
            total += complexity(ctx, sel.selections)
        elif isinstance(sel, InlineFragment):
            total += complexity(ctx, sel.selections)
        elif sel.name in ctx.fragments:
            total += complexity(ctx, ctx.fragments[sel.name][1])
    return total


def execute(
    app: FakeForge,
    req: Request,
    query: str,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
) -> dict[str, Any]:
    """Run a query document: GitLab's ``{"data": ...}`` or ``{"errors": [...]}``."""
    try:
        ctx, selections = start(app, req, query, variables, operation_name)
        authenticated = bool(req.headers.get("authorization") or req.headers.get("private-token"))
        limit = MAX_COMPLEXITY_AUTHENTICATED if authenticated else MAX_COMPLEXITY
        score = complexity(ctx, selections)
        if score > limit:
            raise GraphQLError(
                f"Query has complexity of {score}, which exceeds max complexity of {limit}"
            )
        data = SCHEMA.resolve(ctx, Node("Query", None), selections)
    except GraphQLError as exc:
        return {"errors": [{"message": str(exc)}]}
    return {"data": data}


def graphql_endpoint(app: FakeForge, req: Request) -> Response:
    try:
        payload = json.loads(req.body or b"{}")
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        response = json_response({"errors": [{"message": "No query string was present"}]}, 422)
    else:
        variables = payload.get("variables")
        if isinstance(variables, str):
            variables = json.loads(variables or "{}")
        response = json_response(
            execute(app, req, payload["query"], variables, payload.get("operationName"))
        )
    response.cacheable = False
    return response


def register(app: FakeForge) -> None:
    app.route("gitlab", "POST", "/graphql", graphql_endpoint, prefix="/gitlab/api")

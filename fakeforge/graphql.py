"""A small GitHub GraphQL endpoint (``POST /github/api/graphql``) for the crawler's queries.

Not a general GraphQL engine: a parser of the query language subset a crawler sends (operations
with variables and defaults, fields, aliases, arguments, inline fragments, named fragments,
``@include``/``@skip``) and resolvers for the types of GitHub's schema a crawler reads
(``Query.organization``/``user``/``repository``/``rateLimit``, ``Repository``,
``Ref``, ``Commit``, ``Tag``, ``Blob``, ``Tree``, ``Release``, ``License``, connections and
``PageInfo``). Field names, nullability and connection arguments follow
``graphql_schema_excerpt.graphql`` (GitHub's public schema). A field outside that subset is a
validation error, answered like GitHub: HTTP 200 with ``errors`` and no ``data``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fakeforge.core import Request, Response, iso_z, json_response
from fakeforge.github import ordered_repos, web_base
from fakeforge.graphql_exec import Context, Node, Schema, argument, start
from fakeforge.graphql_syntax import (
    Field,
    GraphQLError,
    InlineFragment,
    parse,
)
from fakeforge.model import Account, Repository, Tag, git_blob_sha

if TYPE_CHECKING:
    from fakeforge.app import FakeForge

__all__ = ["GraphQLError", "execute", "parse", "register"]


# -- execution -------------------------------------------------------------------------------


_INTERFACES = {
    "Commit": {"GitObject", "Node"},
    "Tag": {"GitObject", "Node"},
    "Blob": {"GitObject", "Node"},
    "Tree": {"GitObject", "Node"},
    "Organization": {"RepositoryOwner", "Node", "Actor"},
    "User": {"RepositoryOwner", "Node", "Actor"},
    "Repository": {"Node", "RepositoryInfo"},
}


# -- connections -----------------------------------------------------------------------------


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(cursor).decode().rsplit(":", 1)[1]) + 1
    except Exception as exc:
        raise GraphQLError(f"`{cursor}` does not appear to be a valid cursor.") from exc


def connection(
    ctx: Context, connection_name: str, items: list[Any], args: dict[str, Any], wrap: Callable
) -> Node:
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise GraphQLError(
            f"You must provide a `first` or `last` value to properly paginate the "
            f"`{connection_name}` connection."
        )
    size = first if first is not None else last
    if not 0 <= size <= 100:
        raise GraphQLError(
            f"Requesting {size} records on the `{connection_name}` connection exceeds the "
            f"`{'first' if first is not None else 'last'}` limit of 100 records."
        )
    start = _offset(args.get("after"))
    stop = len(items)
    if args.get("before"):
        stop = min(stop, _offset(args["before"]) - 1)
    if first is not None:
        window = list(range(start, min(stop, start + first)))
    else:
        window = list(range(max(start, stop - last), stop))
    page = {
        "nodes": [wrap(items[i]) for i in window],
        "edges": [Node("Edge", (_cursor(i), wrap(items[i]))) for i in window],
        "totalCount": len(items),
        "pageInfo": Node(
            "PageInfo",
            {
                "hasNextPage": bool(window) and window[-1] < stop - 1,
                "hasPreviousPage": bool(window) and window[0] > 0,
                "startCursor": _cursor(window[0]) if window else None,
                "endCursor": _cursor(window[-1]) if window else None,
            },
        ),
    }
    return Node("Connection", page)


# -- resolvers -------------------------------------------------------------------------------


def _owner(ctx: Context, args: dict[str, Any]) -> Node | None:
    account = ctx.app.world.account(args.get("login", ""))
    if account is None:
        return None
    return Node("User" if account.type == "User" else "Organization", account)


def _repository(ctx: Context, _obj: Any, args: dict[str, Any]) -> Node | None:
    owner, name = args.get("owner", ""), args.get("name", "")
    repo = ctx.app.world.repo(owner, name) or ctx.app.world.moved(owner, name)
    return Node("Repository", repo) if repo else None


def _rate_limit(ctx: Context, _obj: Any, _args: dict[str, Any]) -> Node:
    return Node("RateLimit", ctx)


_REPO_ORDER = {
    "NAME": "full_name",
    "CREATED_AT": "created",
    "UPDATED_AT": "updated",
    "PUSHED_AT": "pushed",
}


def _org_repositories(ctx: Context, account: Account, args: dict[str, Any]) -> Node:
    order = args.get("orderBy") or {"field": "CREATED_AT", "direction": "ASC"}
    sort = _REPO_ORDER.get(order.get("field", "CREATED_AT"), "created")
    repos = ordered_repos(ctx.app, account, sort, (order.get("direction") or "ASC").lower())
    if args.get("isFork") is not None:
        repos = [r for r in repos if r.fork == args["isFork"]]
    if args.get("isArchived") is not None:
        repos = [r for r in repos if r.archived == args["isArchived"]]
    if args.get("privacy") == "PRIVATE":
        repos = []
    return connection(ctx, "repositories", repos, args, lambda r: Node("Repository", r))


def _account_fields() -> dict[str, Callable]:
    return {
        "login": lambda c, a, _: a.login,
        "name": lambda c, a, _: a.name,
        "description": lambda c, a, _: a.description,
        "url": lambda c, a, _: f"{web_base(c.req)}/{a.login}",
        "id": lambda c, a, _: base64.b64encode(f"04:Organization{a.id}".encode()).decode(),
        "databaseId": lambda c, a, _: a.id,
        "repositories": _org_repositories,
        "repository": lambda c, a, args: (
            Node("Repository", a.repo(args.get("name", "")))
            if a.repo(args.get("name", ""))
            else None
        ),
    }


def _license_info(ctx: Context, repo: Repository, _args: dict[str, Any]) -> Node | None:
    return Node("License", repo.license) if repo.license else None


def _object(ctx: Context, repo: Repository, args: dict[str, Any]) -> Node | None:
    expression = args.get("expression") or ""
    ref, sep, path = expression.partition(":")
    if not sep:
        return None
    if not repo.has_ref(ref):
        return None
    path = path.strip("/")
    if path in repo.files:
        return Node("Blob", repo.files[path])
    prefix = f"{path}/" if path else ""
    entries = sorted(
        {p[len(prefix) :].split("/", 1)[0] for p in repo.files if p.startswith(prefix)}
    )
    if not entries:
        return None
    return Node("Tree", (repo, path, entries))


def _refs(ctx: Context, repo: Repository, args: dict[str, Any]) -> Node:
    prefix = args.get("refPrefix", "")
    if prefix == "refs/tags/":
        items: list[tuple[str, Any]] = [("tag", t) for t in repo.tags]
    elif prefix == "refs/heads/":
        items = [("head", repo)]
    else:
        raise GraphQLError("refPrefix must be 'refs/tags/' or 'refs/heads/' on the fake forge")
    if args.get("query"):
        items = [i for i in items if args["query"] in _ref_name(i)]
    order = args.get("orderBy") or {"field": "ALPHABETICAL", "direction": "ASC"}
    if order.get("field") == "TAG_COMMIT_DATE":
        items.sort(key=lambda i: i[1].date if i[0] == "tag" else i[1].pushed_at)
    else:
        items.sort(key=_ref_name)
    if (order.get("direction") or "ASC") == "DESC":
        items.reverse()
    return connection(ctx, "refs", items, args, lambda i: Node("Ref", (repo, prefix, i)))


def _ref_name(item: tuple[str, Any]) -> str:
    return item[1].name if item[0] == "tag" else item[1].default_branch


def _ref_target(ctx: Context, ref: tuple[Repository, str, tuple[str, Any]], _a: Any) -> Node:
    repo, _prefix, (kind, value) = ref
    if kind == "head":
        return Node("Commit", (repo.head_commit, repo.pushed_at))
    tag: Tag = value
    if tag.annotated:
        return Node("Tag", (repo, tag))
    return Node("Commit", (tag.commit, tag.date))


def _releases(ctx: Context, repo: Repository, args: dict[str, Any]) -> Node:
    releases = sorted(repo.releases, key=lambda r: r.published_at, reverse=True)
    order = args.get("orderBy")
    if order and order.get("direction") == "ASC":
        releases.reverse()
    return connection(ctx, "releases", releases, args, lambda r: Node("Release", (repo, r)))


def _topics(ctx: Context, repo: Repository, args: dict[str, Any]) -> Node:
    return connection(
        ctx, "repositoryTopics", repo.topics, args, lambda t: Node("RepositoryTopic", (repo, t))
    )


def _languages(ctx: Context, repo: Repository, args: dict[str, Any]) -> Node:
    langs = [repo.language] if repo.language else []
    return connection(ctx, "languages", langs, args, lambda n: Node("Language", n))


def _blob_text(text: str) -> str | None:
    return None if "\0" in text else text


def _node_id(kind: str, ident: object) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{ident}".encode()).decode().rstrip("=")


RESOLVERS: dict[str, dict[str, Callable]] = {
    "Query": {
        "organization": lambda c, _o, a: (
            n if (n := _owner(c, a)) and n.type == "Organization" else None
        ),
        "user": lambda c, _o, a: n if (n := _owner(c, a)) and n.type == "User" else None,
        "repository": _repository,
        "rateLimit": _rate_limit,
    },
    "Organization": _account_fields(),
    # the schema excerpt lists only these User fields
    "User": {
        k: v
        for k, v in _account_fields().items()
        if k in ("id", "login", "repositories", "repository")
    },
    "Connection": {
        "nodes": lambda c, p, _: p["nodes"],
        "edges": lambda c, p, _: p["edges"],
        "totalCount": lambda c, p, _: p["totalCount"],
        "pageInfo": lambda c, p, _: p["pageInfo"],
    },
    "Edge": {"cursor": lambda c, e, _: e[0], "node": lambda c, e, _: e[1]},
    "PageInfo": {
        "hasNextPage": lambda c, p, _: p["hasNextPage"],
        "hasPreviousPage": lambda c, p, _: p["hasPreviousPage"],
        "startCursor": lambda c, p, _: p["startCursor"],
        "endCursor": lambda c, p, _: p["endCursor"],
    },
    "Repository": {
        "id": lambda c, r, _: _node_id("Repository", r.id),
        "databaseId": lambda c, r, _: r.id,
        "name": lambda c, r, _: r.name,
        "nameWithOwner": lambda c, r, _: r.full_name,
        "url": lambda c, r, _: f"{web_base(c.req)}/{r.full_name}",
        "description": lambda c, r, _: r.description,
        "homepageUrl": lambda c, r, _: None,
        "isFork": lambda c, r, _: r.fork,
        "isArchived": lambda c, r, _: r.archived,
        "isPrivate": lambda c, r, _: False,
        "isMirror": lambda c, r, _: False,
        "isTemplate": lambda c, r, _: False,
        "isDisabled": lambda c, r, _: False,
        "isLocked": lambda c, r, _: False,
        "visibility": lambda c, r, _: "PUBLIC",
        "stargazerCount": lambda c, r, _: 0,
        "forkCount": lambda c, r, _: 0,
        "pushedAt": lambda c, r, _: iso_z(r.pushed_at),
        "createdAt": lambda c, r, _: iso_z(r.created_at),
        "updatedAt": lambda c, r, _: iso_z(r.pushed_at),
        "owner": lambda c, r, _: Node(
            "User" if r.account.type == "User" else "Organization", r.account
        ),
        "parent": lambda c, r, _: None,
        "defaultBranchRef": lambda c, r, _: Node("Ref", (r, "refs/heads/", ("head", r))),
        "primaryLanguage": lambda c, r, _: Node("Language", r.language) if r.language else None,
        "languages": _languages,
        "licenseInfo": _license_info,
        "repositoryTopics": _topics,
        "refs": _refs,
        "releases": _releases,
        "object": _object,
    },
    "Ref": {
        "id": lambda c, ref, _: _node_id("Ref", f"{ref[0].id}:{ref[1]}{_ref_name(ref[2])}"),
        "name": lambda c, ref, _: _ref_name(ref[2]),
        "prefix": lambda c, ref, _: ref[1],
        "target": _ref_target,
    },
    "Commit": {
        "oid": lambda c, cm, _: cm[0],
        "abbreviatedOid": lambda c, cm, _: cm[0][:7],
        "committedDate": lambda c, cm, _: iso_z(cm[1]),
        "pushedDate": lambda c, cm, _: None,
        "message": lambda c, cm, _: "",
        "url": lambda c, cm, _: f"{c.req.base_url}/github/commit/{cm[0]}",
    },
    "Tag": {
        "oid": lambda c, t, _: git_blob_sha(f"tag {t[1].name}".encode()),
        "abbreviatedOid": lambda c, t, _: git_blob_sha(f"tag {t[1].name}".encode())[:7],
        "name": lambda c, t, _: t[1].name,
        "message": lambda c, t, _: t[1].message or t[1].name,
        "target": lambda c, t, _: Node("Commit", (t[1].commit, t[1].date)),
        "tagger": lambda c, t, _: Node("GitActor", t),
        "id": lambda c, t, _: _node_id("Tag", t[1].name),
    },
    "GitActor": {
        "date": lambda c, t, _: t[1].date.isoformat(timespec="seconds"),
        "name": lambda c, t, _: t[0].account.name,
        "email": lambda c, t, _: f"noreply@{t[0].account.login}.example",
    },
    "Blob": {
        "text": lambda c, text, _: _blob_text(text),
        "byteSize": lambda c, text, _: len(text.encode()),
        "isBinary": lambda c, text, _: "\0" in text,
        "isTruncated": lambda c, text, _: False,
        "oid": lambda c, text, _: git_blob_sha(text.encode()),
        "abbreviatedOid": lambda c, text, _: git_blob_sha(text.encode())[:7],
    },
    "Tree": {
        "oid": lambda c, t, _: git_blob_sha(("\n".join(t[2])).encode()),
        "entries": lambda c, t, _: [Node("TreeEntry", (t[0], t[1], name)) for name in t[2]],
    },
    "TreeEntry": {
        "name": lambda c, e, _: e[2],
        "path": lambda c, e, _: f"{e[1]}/{e[2]}" if e[1] else e[2],
        "type": lambda c, e, _: "blob" if _entry_path(e) in e[0].files else "tree",
        "oid": lambda c, e, _: git_blob_sha(e[0].files.get(_entry_path(e), "").encode()),
        "object": lambda c, e, _: _object(c, e[0], {"expression": f"HEAD:{_entry_path(e)}"}),
    },
    "License": {
        "spdxId": lambda c, lic, _: lic.spdx_id,
        "key": lambda c, lic, _: lic.key,
        "name": lambda c, lic, _: lic.name,
        "nickname": lambda c, lic, _: lic.nickname,
        "url": lambda c, lic, _: lic.html_url if lic.key != "other" else None,
        "id": lambda c, lic, _: _node_id("License", lic.key),
        "pseudoLicense": lambda c, lic, _: lic.key == "other",
    },
    "Language": {
        "name": lambda c, n, _: n,
        "color": lambda c, n, _: None,
        "id": lambda c, n, _: _node_id("Language", n),
    },
    "RepositoryTopic": {
        "topic": lambda c, t, _: Node("Topic", t[1]),
        "url": lambda c, t, _: f"{web_base(c.req)}/topics/{t[1]}",
    },
    "Topic": {"name": lambda c, n, _: n, "id": lambda c, n, _: _node_id("Topic", n)},
    "Release": {
        "tagName": lambda c, r, _: r[1].tag_name,
        "name": lambda c, r, _: r[1].name,
        "description": lambda c, r, _: r[1].body,
        "publishedAt": lambda c, r, _: None if r[1].draft else iso_z(r[1].published_at),
        "createdAt": lambda c, r, _: iso_z(r[1].published_at),
        "isPrerelease": lambda c, r, _: r[1].prerelease,
        "isDraft": lambda c, r, _: r[1].draft,
        "isLatest": lambda c, r, _: bool(r[0].releases) and r[0].releases[0] is r[1],
        "url": lambda c, r, _: f"{web_base(c.req)}/{r[0].full_name}/releases/tag/{r[1].tag_name}",
        "tagCommit": lambda c, r, _: (
            Node("Commit", (t.commit, t.date)) if (t := r[0].tag(r[1].tag_name)) else None
        ),
    },
    "RateLimit": {
        "cost": lambda c, ctx, _: _cost(ctx),
        "limit": lambda c, ctx, _: ctx.app.limiter.limit,
        "remaining": lambda c, ctx, _: ctx.app.limiter.remaining("github:graphql"),
        "used": lambda c, ctx, _: (
            ctx.app.limiter.limit - ctx.app.limiter.remaining("github:graphql")
        ),
        "resetAt": lambda c, ctx, _: iso_z(
            datetime.fromtimestamp(ctx.app.limiter.reset_epoch("github:graphql"), UTC)
        ),
        "nodeCount": lambda c, ctx, _: ctx.requests,
    },
}

SCHEMA = Schema(RESOLVERS, _INTERFACES)


def _entry_path(entry: tuple[Repository, str, str]) -> str:
    return f"{entry[1]}/{entry[2]}" if entry[1] else entry[2]


_CONNECTIONS = {"repositories", "refs", "releases", "repositoryTopics", "languages"}


def _count_requests(ctx: Context, selections: list[Any], multiplier: int) -> int:
    total = 0
    for sel in selections:
        if isinstance(sel, Field):
            if sel.name in _CONNECTIONS:
                total += multiplier
                size = argument(ctx, sel.args.get("first", sel.args.get("last", 1))) or 1
                total += _count_requests(ctx, sel.selections, multiplier * int(size))
            else:
                total += _count_requests(ctx, sel.selections, multiplier)
        elif isinstance(sel, InlineFragment):
            total += _count_requests(ctx, sel.selections, multiplier)
        elif sel.name in ctx.fragments:
            total += _count_requests(ctx, ctx.fragments[sel.name][1], multiplier)
    return total


def _cost(ctx: Context) -> int:
    """GitHub's documented formula: connection requests / 100, rounded, at least 1."""
    return max(1, round(ctx.requests / 100))


def execute(
    app: FakeForge,
    req: Request,
    query: str,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
) -> dict[str, Any]:
    """Run a query document; the result is GitHub's ``{"data": ...}`` or ``{"errors": [...]}``."""
    try:
        ctx, selections = start(app, req, query, variables, operation_name)
        ctx.requests = _count_requests(ctx, selections, 1)
        cost = _cost(ctx)
        if cost > 1:  # the dispatcher already counted one point
            app.limiter.used["github:graphql"] += cost - 1
        data = SCHEMA.resolve(ctx, Node("Query", None), selections)
    except GraphQLError as exc:
        return {"errors": [{"message": str(exc)}]}
    return {"data": data}


def graphql_endpoint(app: FakeForge, req: Request) -> Response:
    try:
        payload = json.loads(req.body or b"{}")
    except ValueError:
        return app.error("github-graphql", 400, "Problems parsing JSON")
    if not isinstance(payload, dict) or "query" not in payload:
        return app.error("github-graphql", 400, "A query attribute must be specified")
    result = execute(
        app, req, payload["query"], payload.get("variables"), payload.get("operationName")
    )
    response = json_response(result)
    response.cacheable = False
    return response


def register(app: FakeForge) -> None:
    app.route("github-graphql", "POST", "/graphql", graphql_endpoint)

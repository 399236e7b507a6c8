"""Bitbucket Cloud 2.0 shapes (``/bitbucket/2.0``, like ``https://api.bitbucket.org/2.0``).

Objects follow Atlassian's OpenAPI description (``tests/data/forge-api/bitbucket/``):
``workspace``, ``repository``, ``tag``, ``commit_file``/``commit_directory``, and the paginated
envelope ``{size, page, pagelen, next, previous, values}`` (``pagelen`` 10 by default, 10 to 100;
``next`` keeps every query parameter, as the real ``next`` links do). Also as documented:

* partial responses with ``fields=`` (``a.b`` keeps only the listed fields, ``-a.b`` removes,
  ``+a.b`` keeps the defaults, ``*`` matches a level; applied to the whole body, so a list
  asked for ``values.name`` gets neither ``page`` nor ``next`` unless asked too);
* ``q`` on repository lists for ``updated_on``/``created_on`` comparisons and ``name``/``slug``
  equality (anything else is a 400, as Bitbucket answers an invalid query), ``sort`` on
  ``name``, ``slug``, ``created_on``, ``updated_on`` (``-`` for descending);
* tags listed in ``git tag --list`` order (bytewise by name) by default, ``sort=name`` is
  natural ordering, ``sort=-target.date`` newest first; a lightweight tag has ``message``,
  ``date`` and ``tagger`` null (the description does not say; this is what the API sends);
* ``/src/{commit}/{path}``: raw bytes with a Content-Type from the extension and
  ``Content-Disposition: attachment``; a directory (or the root, ``/src/{commit}/``) is a
  paginated list of ``commit_file``/``commit_directory``; ``format=meta`` gives a file's JSON;
  ``{commit}`` may be a hash, a branch or a tag; ``GET /src`` redirects to the main branch's
  root listing, as documented;
* ``/refs/branches/{name}`` for the main branch (a ``branch`` object with its ``target``).

Bitbucket has no license field, no archived flag and no topics; a fork has a ``parent``.
``updated_on`` is the repository's last activity (a push, or a newer tag or release), since
any push, of a tag too, updates it.
Git smart HTTP is served at ``/bitbucket/{workspace}/{repo_slug}.git`` (counted under
``bitbucket-git``). Commit hashes in the API are the fixture's; Git has its own (see the
fake forge README).
"""

from __future__ import annotations

import mimetypes
import re
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fakeforge.core import Request, Response, json_response
from fakeforge.model import Account, Repository, Tag

if TYPE_CHECKING:
    from fakeforge.app import FakeForge

__all__ = ["PREFIX", "register"]

PREFIX = "/bitbucket/2.0"
_NAMESPACE = uuid.UUID("6f1d3c52-9a0e-4f54-9b8e-3c1c1b0b7b11")
_QUERY = re.compile(
    r'^\s*(?P<field>updated_on|created_on|name|slug)\s*(?P<op>>=|<=|!=|=|>|<)\s*"?(?P<value>[^"]*)"?\s*$'
)


def _uuid(kind: str, key: object) -> str:
    return "{" + str(uuid.uuid5(_NAMESPACE, f"{kind}:{key}")) + "}"


def _ts(value: datetime) -> str:
    """Bitbucket's timestamps: UTC with microseconds and ``+00:00``."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _api(req: Request) -> str:
    return f"{req.base_url}{PREFIX}"


def _web(req: Request) -> str:
    return f"{req.base_url}/bitbucket"


def _link(href: str) -> dict[str, str]:
    return {"href": href}


def error(status: int, message: str) -> Response:
    return json_response({"type": "error", "error": {"message": message}}, status)


def _slug(repo: Repository) -> str:
    return repo.name.lower()


# -- objects -----------------------------------------------------------------------------------


def workspace_object(account: Account, req: Request) -> dict[str, Any]:
    api = f"{_api(req)}/workspaces/{account.login}"
    return {
        "type": "workspace",
        "uuid": _uuid("workspace", account.id),
        "name": account.name,
        "slug": account.login.lower(),
        "is_private": False,
        "is_privacy_enforced": False,
        "forking_mode": "allow_forks",
        "created_on": _ts(account.created_at),
        "updated_on": _ts(account.created_at),
        "links": {
            "avatar": _link(f"{_web(req)}/workspaces/{account.login}/avatar/"),
            "html": _link(f"{_web(req)}/{account.login}/"),
            "members": _link(f"{api}/members"),
            "owners": _link(f"{api}/members?q=permission%3D%22owner%22"),
            "projects": _link(f"{api}/projects"),
            "repositories": _link(f"{_api(req)}/repositories/{account.login}"),
            "snippets": _link(f"{_api(req)}/snippets/{account.login}"),
            "self": _link(api),
        },
    }


def _owner(account: Account, req: Request) -> dict[str, Any]:
    return {
        "type": "team",
        "display_name": account.name,
        "uuid": _uuid("workspace", account.id),
        "created_on": _ts(account.created_at),
        "links": {"avatar": _link(f"{_web(req)}/workspaces/{account.login}/avatar/")},
    }


def _commit_ref(repo: Repository, sha: str, req: Request) -> dict[str, Any]:
    api = f"{_api(req)}/repositories/{repo.full_name}"
    return {
        "type": "commit",
        "hash": sha,
        "links": {
            "self": _link(f"{api}/commit/{sha}"),
            "html": _link(f"{_web(req)}/{repo.full_name}/commits/{sha}"),
        },
    }


def repository_object(repo: Repository, req: Request) -> dict[str, Any]:
    account: Account = repo.account  # type: ignore[assignment]
    api = f"{_api(req)}/repositories/{repo.full_name}"
    web = f"{_web(req)}/{repo.full_name}"
    host = req.base_url.split("://", 1)[1]
    obj: dict[str, Any] = {
        "type": "repository",
        "full_name": repo.full_name,
        "links": {
            "self": _link(api),
            "html": _link(web),
            "avatar": _link(f"{web}/avatar/32"),
            "pullrequests": _link(f"{api}/pullrequests"),
            "commits": _link(f"{api}/commits"),
            "forks": _link(f"{api}/forks"),
            "watchers": _link(f"{api}/watchers"),
            "downloads": _link(f"{api}/downloads"),
            "clone": [
                {"name": "https", "href": f"{web}.git"},
                {"name": "ssh", "href": f"git@{host}:bitbucket/{repo.full_name}.git"},
            ],
            "hooks": _link(f"{api}/hooks"),
        },
        "name": repo.name,
        "slug": _slug(repo),
        "description": repo.description or "",
        "scm": "git",
        "owner": _owner(account, req),
        "is_private": False,
        "project": {
            "type": "project",
            "key": account.login.upper()[:10],
            "uuid": _uuid("project", account.id),
            "name": account.name,
            "links": {
                "html": _link(f"{_web(req)}/{account.login}/workspace/projects/"),
                "avatar": _link(f"{_web(req)}/{account.login}/avatar/project"),
            },
        },
        "fork_policy": "allow_forks",
        "created_on": _ts(repo.created_at),
        "updated_on": _ts(repo.activity_at),
        "size": 1024 * (1 + len(repo.files)),
        "language": (repo.language or "").lower(),
        "uuid": _uuid("repository", repo.id),
        "mainbranch": {"type": "branch", "name": repo.default_branch},
        "has_issues": False,
        "has_wiki": False,
    }
    if repo.fork:
        # The fixtures do not say what a fork was forked from: a stand-in parent.
        obj["parent"] = {
            "type": "repository",
            "full_name": f"upstream/{_slug(repo)}",
            "name": repo.name,
            "uuid": _uuid("parent", repo.id),
            "links": {"html": _link(f"{_web(req)}/upstream/{_slug(repo)}")},
        }
    return obj


def tag_object(repo: Repository, tag: Tag, req: Request) -> dict[str, Any]:
    api = f"{_api(req)}/repositories/{repo.full_name}"
    author = f"{repo.account.name if repo.account else 'Forge'} <forge@example.org>"
    target = _commit_ref(repo, tag.commit, req)
    target.update(
        {
            "date": _ts(tag.date),
            "author": {"type": "author", "raw": author},
            "message": tag.message or f"Release {tag.name}\n",
            "parents": [],
        }
    )
    return {
        "type": "tag",
        "name": tag.name,
        "links": {
            "self": _link(f"{api}/refs/tags/{tag.name}"),
            "commits": _link(f"{api}/commits/{tag.name}"),
            "html": _link(f"{_web(req)}/{repo.full_name}/commits/tag/{tag.name}"),
        },
        "target": target,
        "message": (tag.message or f"{tag.name}\n") if tag.annotated else None,
        "date": _ts(tag.date) if tag.annotated else None,
        "tagger": {"type": "author", "raw": author} if tag.annotated else None,
    }


def _resolve(repo: Repository, ref: str) -> str:
    """The commit hash a served revision names (branch, tag, ``HEAD``, a hash or its prefix)."""
    if ref.removeprefix("refs/heads/") in ("HEAD", repo.default_branch):
        return repo.head_commit
    tag = repo.tag(ref.removeprefix("refs/tags/"))
    if tag is not None:
        return tag.commit
    for commit in [repo.head_commit, *(t.commit for t in repo.tags)]:
        if commit.startswith(ref):
            return commit
    return ref


def _tree_entry(repo: Repository, commit: str, path: str, req: Request) -> dict[str, Any]:
    commit = _resolve(repo, commit)
    src = f"{_api(req)}/repositories/{repo.full_name}/src/{commit}/{path}"
    is_file = path in repo.files
    obj: dict[str, Any] = {
        "type": "commit_file" if is_file else "commit_directory",
        "path": path,
        "commit": _commit_ref(repo, commit, req),
        "links": {
            "self": _link(src if is_file else f"{src}/"),
            "meta": _link(f"{src}?format=meta" if is_file else f"{src}/?format=meta"),
        },
    }
    if is_file:
        obj["links"]["history"] = _link(
            f"{_api(req)}/repositories/{repo.full_name}/filehistory/{commit}/{path}"
        )
        obj.update(
            {
                "escaped_path": path,
                "attributes": [],
                "size": len(repo.files[path].encode()),
                "mimetype": mimetypes.guess_type(path)[0],
            }
        )
    return obj


# -- envelope, fields, queries -----------------------------------------------------------------


def _pagelen(req: Request) -> int:
    return req.int_arg("pagelen", 10, low=10, high=100)


def _paginate(req: Request, items: list[Any], render: Any) -> dict[str, Any]:
    pagelen = _pagelen(req)
    page = req.int_arg("page", 1)
    start = (page - 1) * pagelen
    chunk = items[start : start + pagelen]
    body: dict[str, Any] = {
        "pagelen": pagelen,
        "size": len(items),
        "page": page,
        "values": [render(item) for item in chunk],
    }
    if start + pagelen < len(items):
        body["next"] = req.url_with(page=page + 1)
    if page > 1:
        body["previous"] = req.url_with(page=page - 1)
    return body


def _keep(value: Any, parts: list[str]) -> Any:
    """The part of ``value`` at ``parts`` (lists are walked through), or ``...`` if absent."""
    if isinstance(value, list):
        return [_keep(item, parts) for item in value]
    if not parts:
        return value
    if not isinstance(value, dict):
        return ...
    head, rest = parts[0], parts[1:]
    keys = list(value) if head == "*" else [head] if head in value else []
    kept = {}
    for key in keys:
        sub = _keep(value[key], rest)
        if sub is not ...:
            kept[key] = sub
    return kept if kept or not keys else ...


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        elif isinstance(value, list) and isinstance(into.get(key), list):
            for mine, theirs in zip(into[key], value, strict=False):
                if isinstance(mine, dict) and isinstance(theirs, dict):
                    _merge(mine, theirs)
        else:
            into[key] = value


def _remove(value: Any, parts: list[str]) -> None:
    if isinstance(value, list):
        for item in value:
            _remove(item, parts)
        return
    if not isinstance(value, dict) or not parts:
        return
    head, rest = parts[0], parts[1:]
    keys = list(value) if head == "*" else [head] if head in value else []
    for key in keys:
        if rest:
            _remove(value[key], rest)
        else:
            del value[key]


def apply_fields(body: Any, spec: str | None) -> Any:
    """Bitbucket's partial responses (see the module docstring)."""
    if not spec:
        return body
    names = [name.strip() for name in spec.split(",") if name.strip()]
    plain = [n for n in names if n[0] not in "+-"]
    result: Any = body
    if plain:
        result = {}
        for name in plain:
            sub = _keep(body, name.split("."))
            if isinstance(sub, dict):
                _merge(result, sub)
    for name in names:
        if name.startswith("-"):
            _remove(result, name[1:].split("."))
    return result


def _respond(req: Request, body: Any) -> Response:
    return json_response(apply_fields(body, req.query.get("fields")))


def _parse_time(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _filter_repos(repos: list[Repository], q: str) -> list[Repository] | None:
    """Repositories matching ``q`` (clauses joined by ``AND``); None when ``q`` is invalid."""
    result = repos
    for clause in re.split(r"\s+AND\s+", q.strip()):
        m = _QUERY.match(clause)
        if not m:
            return None
        field, op, raw = m["field"], m["op"], m["value"]
        if field in ("updated_on", "created_on"):
            when = _parse_time(raw)
            if when is None or op in ("=", "!="):
                return None

            def key(r: Repository, f: str = field) -> Any:
                return r.activity_at if f == "updated_on" else r.created_at

            compare = {
                ">": lambda a, b: a > b,
                ">=": lambda a, b: a >= b,
                "<": lambda a, b: a < b,
                "<=": lambda a, b: a <= b,
            }[op]
            result = [r for r in result if compare(key(r), when)]
        else:
            if op not in ("=", "!="):
                return None
            value = raw.lower() if field == "slug" else raw
            matches = [r for r in result if (_slug(r) if field == "slug" else r.name) == value]
            result = matches if op == "=" else [r for r in result if r not in matches]
    return result


_SORT_KEYS = {
    "name": lambda r: r.name.lower(),
    "slug": lambda r: _slug(r),
    "created_on": lambda r: r.created_at,
    "updated_on": lambda r: r.activity_at,
}


def _natural(name: str) -> list[Any]:
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", name) if p]


# -- handlers ----------------------------------------------------------------------------------


def _repo(app: FakeForge, req: Request) -> Repository | Response:
    repo = app.world.repo(req.params["workspace"], req.params["repo_slug"])
    if repo is None:
        return error(
            404, f"Repository {req.params['workspace']}/{req.params['repo_slug']} not found"
        )
    return repo


def get_workspace(app: FakeForge, req: Request) -> Response:
    account = app.world.account(req.params["workspace"])
    if account is None:
        return error(404, f"No workspace with identifier '{req.params['workspace']}'.")
    return _respond(req, workspace_object(account, req))


def list_repositories(app: FakeForge, req: Request) -> Response:
    account = app.world.account(req.params["workspace"])
    if account is None:
        return error(404, f"No workspace with identifier '{req.params['workspace']}'.")
    repos = list(account.repositories)
    if req.query.get("q"):
        filtered = _filter_repos(repos, req.query["q"])
        if filtered is None:
            return error(400, f"Invalid query: {req.query['q']}")
        repos = filtered
    sort = req.query.get("sort", "")
    if sort:
        key = _SORT_KEYS.get(sort.lstrip("-"))
        if key is None:
            return error(400, f"Invalid sort field: {sort}")
        repos = sorted(repos, key=key, reverse=sort.startswith("-"))

    def render(repo: Repository) -> Any:
        return repository_object(repo, req)

    return _respond(req, _paginate(req, repos, render))


def get_repository(app: FakeForge, req: Request) -> Response:
    repo = _repo(app, req)
    if isinstance(repo, Response):
        return repo
    return _respond(req, repository_object(repo, req))


def list_tags(app: FakeForge, req: Request) -> Response:
    repo = _repo(app, req)
    if isinstance(repo, Response):
        return repo
    sort = req.query.get("sort", "")
    tags = sorted(repo.tags, key=lambda t: t.name.encode())
    if sort.lstrip("-") == "name":
        tags = sorted(repo.tags, key=lambda t: _natural(t.name), reverse=sort.startswith("-"))
    elif sort.lstrip("-") == "target.date":
        tags = sorted(repo.tags, key=lambda t: (t.date, t.name), reverse=sort.startswith("-"))
    elif sort:
        return error(400, f"Invalid sort field: {sort}")
    return _respond(req, _paginate(req, tags, lambda tag: tag_object(repo, tag, req)))


def get_branch(app: FakeForge, req: Request) -> Response:
    """``/refs/branches/{name}``: the default branch only (the fixtures hold no other)."""
    repo = _repo(app, req)
    if isinstance(repo, Response):
        return repo
    if req.params["name"] != repo.default_branch:
        return error(404, f"Branch not found: {req.params['name']}")
    api = f"{_api(req)}/repositories/{repo.full_name}"
    target = _commit_ref(repo, repo.head_commit, req)
    target.update({"date": _ts(repo.pushed_at), "message": "Update\n", "parents": []})
    branch = {
        "type": "branch",
        "name": repo.default_branch,
        "links": {
            "self": _link(f"{api}/refs/branches/{repo.default_branch}"),
            "commits": _link(f"{api}/commits/{repo.default_branch}"),
            "html": _link(f"{_web(req)}/{repo.full_name}/branch/{repo.default_branch}"),
        },
        "target": target,
        "merge_strategies": ["merge_commit", "squash", "fast_forward"],
        "default_merge_strategy": "merge_commit",
    }
    return _respond(req, branch)


def src_root(app: FakeForge, req: Request) -> Response:
    repo = _repo(app, req)
    if isinstance(repo, Response):
        return repo
    response = Response(status=302, body=b"", content_type="", cacheable=False)
    query = f"?{req.query_string}" if req.query_string else ""
    location = f"{_api(req)}/repositories/{repo.full_name}/src/{repo.head_commit}/{query}"
    return response.header("Location", location)


def get_src(app: FakeForge, req: Request) -> Response:
    repo = _repo(app, req)
    if isinstance(repo, Response):
        return repo
    commit = req.params["commit"]
    if not repo.has_ref(commit):
        return error(404, f"Commit not found: {commit}")
    path = req.params.get("path", "")
    clean = path.strip("/")
    if clean in repo.files and not path.endswith("/"):
        if req.query.get("format") == "meta":
            return _respond(req, _tree_entry(repo, commit, clean, req))
        kind = mimetypes.guess_type(clean)[0] or "application/octet-stream"
        response = Response(body=repo.files[clean].encode(), content_type=kind)
        name = clean.rsplit("/", 1)[-1]
        return response.header("Content-Disposition", f'attachment; filename="{name}"')
    prefix = f"{clean}/" if clean else ""
    names = sorted(
        {p[len(prefix) :].split("/", 1)[0] for p in repo.files if p.startswith(prefix)},
        key=lambda n: (f"{n}/" if f"{prefix}{n}" not in repo.files else n).encode(),
    )
    if not names and clean:
        return error(404, f"No such file or directory: {clean}")
    if req.query.get("format") == "meta":
        return _respond(req, _tree_entry(repo, commit, clean, req))
    entries = [f"{prefix}{n}" for n in names]
    return _respond(req, _paginate(req, entries, lambda p: _tree_entry(repo, commit, p, req)))


def register(app: FakeForge) -> None:
    """Add the Bitbucket routes and its Git smart-HTTP routes to ``app``."""
    r = app.route
    forge = "bitbucket"
    r(forge, "GET", "/workspaces/{workspace}", get_workspace, prefix=PREFIX)
    r(forge, "GET", "/repositories/{workspace}", list_repositories, prefix=PREFIX)
    r(forge, "GET", "/repositories/{workspace}/{repo_slug}", get_repository, prefix=PREFIX)
    r(forge, "GET", "/repositories/{workspace}/{repo_slug}/refs/tags", list_tags, prefix=PREFIX)
    r(
        forge,
        "GET",
        "/repositories/{workspace}/{repo_slug}/refs/branches/{name}",
        get_branch,
        prefix=PREFIX,
    )
    r(forge, "GET", "/repositories/{workspace}/{repo_slug}/src", src_root, prefix=PREFIX)
    r(forge, "GET", "/repositories/{workspace}/{repo_slug}/src/", src_root, prefix=PREFIX)
    r(
        forge,
        "GET",
        "/repositories/{workspace}/{repo_slug}/src/{commit}/{path*}",
        get_src,
        prefix=PREFIX,
    )

    def git_route(app: FakeForge, req: Request) -> object:
        return app.git.serve(app, req, app.world.repo(req.params["owner"], req.params["repo"]))

    for method in ("GET", "POST"):
        app.route(
            "bitbucket-git",
            method,
            "/{owner}/{repo}.git/{rest*}",
            git_route,
            prefix="/bitbucket",
            git=True,
        )

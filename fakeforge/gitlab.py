"""GitLab REST v4 shapes, served under ``/gitlab/api/v4``.

Accounts are groups (nested groups are subgroups), repositories are projects; ``GET
/projects`` lists every project of the instance (all public). Groups and
projects are addressed by numeric id or URL-encoded full path (``top%2Fsub``). Offset pagination
sends ``Link`` (prev/next/first/last) and the ``x-*`` headers; keyset pagination
(``pagination=keyset&order_by=id``) sends only ``Link rel="next"`` with ``id_after``. The
``license`` object appears only on ``GET /projects/:id?license=true``; ``license_url`` is on
the single-project entity. ``GET /projects/:id/repository/tree`` lists a directory (entries
``id``, ``name``, ``type`` tree/blob, ``path``, ``mode``), with offset pagination.
GitLab's GraphQL API (``POST /gitlab/api/graphql``) is :mod:`fakeforge.graphql_gitlab`.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any

from fakeforge.core import (
    Request,
    Response,
    iso_ms_z,
    iso_offset,
    join_json_items,
    json_response,
    link_header,
    page_slice,
    raw_json_response,
)
from fakeforge.model import Account, Repository, git_blob_sha

if TYPE_CHECKING:
    from fakeforge.app import FakeForge

__all__ = ["COUNT_LIMIT", "register"]

#: above this many records GitLab stops counting: no x-total, x-total-pages or rel="last"
COUNT_LIMIT = 10_000


def web(req: Request) -> str:
    return f"{req.base_url}/gitlab"


def api(req: Request) -> str:
    return f"{req.base_url}/gitlab/api/v4"


def namespace(account: Account, req: Request) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "path": account.login,
        "kind": "group",
        "full_path": account.full_path,
        "parent_id": account.parent.id if account.parent else None,
        "avatar_url": None,
        "web_url": f"{web(req)}/groups/{account.full_path}",
    }


def project_object(
    repo: Repository, req: Request, *, simple: bool, single: bool = False
) -> dict[str, Any]:
    account = repo.account
    assert account is not None
    path = repo.full_path
    host = req.base_url.split("://", 1)[1]
    obj: dict[str, Any] = {
        "id": repo.id,
        "description": repo.description,
        "name": repo.name,
        "name_with_namespace": f"{account.full_name} / {repo.name}",
        "path": repo.name,
        "path_with_namespace": path,
        "created_at": iso_ms_z(repo.created_at),
        "default_branch": repo.default_branch,
        "tag_list": list(repo.topics),
        "topics": list(repo.topics),
        "ssh_url_to_repo": f"git@{host}:gitlab/{path}.git",
        "http_url_to_repo": f"{web(req)}/{path}.git",
        "web_url": f"{web(req)}/{path}",
        "readme_url": None,
        "forks_count": 0,
        "avatar_url": None,
        "star_count": 0,
        "last_activity_at": iso_ms_z(repo.activity_at),
        "namespace": namespace(account, req),
    }
    if simple:
        return obj
    obj.update(
        {
            "description_html": "" if repo.description is None else f"<p>{repo.description}</p>",
            "updated_at": iso_ms_z(repo.activity_at),
            "visibility": "public",
            "archived": repo.archived,
            "empty_repo": False,
            "issues_enabled": True,
            "merge_requests_enabled": True,
            "wiki_enabled": False,
            "jobs_enabled": True,
            "snippets_enabled": False,
            "shared_runners_enabled": True,
            "creator_id": account.id,
            "open_issues_count": 0,
            "public_jobs": True,
            "shared_with_groups": [],
            "request_access_enabled": False,
        }
    )
    if single:
        license_path = repo.license_file()
        obj["license_url"] = (
            f"{web(req)}/{path}/-/blob/{repo.default_branch}/{license_path}"
            if license_path
            else None
        )
        obj["repository_storage"] = "default"
        base = f"{api(req)}/projects/{repo.id}"
        obj["_links"] = {
            "self": base,
            "issues": f"{base}/issues",
            "merge_requests": f"{base}/merge_requests",
            "repo_branches": f"{base}/repository/branches",
            "labels": f"{base}/labels",
            "events": f"{base}/events",
            "members": f"{base}/members",
            "cluster_agents": f"{base}/cluster_agents",
        }
    return obj


def license_object(repo: Repository) -> dict[str, Any] | None:
    match = repo.license
    if match is None:
        return None
    return {
        "key": match.key,
        "name": match.name,
        "nickname": match.nickname,
        "html_url": match.html_url if match.key != "other" else None,
        "source_url": match.source_url,
    }


def group_object(account: Account, req: Request, *, details: bool = False) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": account.id,
        "name": account.name,
        "path": account.login,
        "description": account.description,
        "visibility": "public",
        "share_with_group_lock": False,
        "require_two_factor_authentication": False,
        "two_factor_grace_period": 48,
        "project_creation_level": "developer",
        "auto_devops_enabled": None,
        "subgroup_creation_level": "owner",
        "emails_disabled": None,
        "emails_enabled": None,
        "mentions_disabled": None,
        "lfs_enabled": True,
        "default_branch": None,
        "default_branch_protection": 2,
        "avatar_url": None,
        "web_url": f"{web(req)}/groups/{account.full_path}",
        "request_access_enabled": False,
        "repository_storage": "default",
        "full_name": account.full_name,
        "full_path": account.full_path,
        "file_template_project_id": None,
        "parent_id": account.parent.id if account.parent else None,
        "created_at": iso_ms_z(account.created_at),
    }
    if details:
        obj["shared_with_groups"] = []
        obj["prevent_sharing_groups_outside_hierarchy"] = False
        obj["projects"] = []  # deprecated in the API; list /groups/:id/projects instead
        obj["shared_projects"] = []
    return obj


def _group(app: FakeForge, ident: str) -> Account | None:
    if ident.isdigit():
        return app.world.accounts_by_id.get(int(ident))
    return app.world.accounts.get(ident.strip("/").lower())


def _project(app: FakeForge, ident: str) -> Repository | None:
    if ident.isdigit():
        return app.world.repos_by_id.get(int(ident))
    return app.world.repo_by_path(ident)


def _offset_headers(
    response: Response, req: Request, total: int, page: int, per_page: int, last: int
) -> None:
    links: list[tuple[str, str]] = []
    if page > 1:
        links.append(("prev", req.url_with(page=page - 1, per_page=per_page)))
    if page < last:
        links.append(("next", req.url_with(page=page + 1, per_page=per_page)))
    links.append(("first", req.url_with(page=1, per_page=per_page)))
    counted = total <= COUNT_LIMIT
    if counted:
        links.append(("last", req.url_with(page=last, per_page=per_page)))
    response.header("Link", link_header(links))
    response.header("x-next-page", str(page + 1) if page < last else "")
    response.header("x-page", str(page))
    response.header("x-per-page", str(per_page))
    response.header("x-prev-page", str(page - 1) if page > 1 else "")
    if counted:
        response.header("x-total", str(total))
        response.header("x-total-pages", str(last))


def _paginate(app: FakeForge, req: Request, items: list[Any], render: Any, key: str) -> Response:
    per_page = req.int_arg("per_page", 20, high=100)
    page = req.int_arg("page", 1)
    start, stop, last = page_slice(len(items), page, per_page)
    body = join_json_items(
        [app.cached((key, req.base_url, id(i)), lambda i=i: render(i)) for i in items[start:stop]]
    )
    response = raw_json_response(body)
    _offset_headers(response, req, len(items), page, per_page, last)
    return response


def get_group(app: FakeForge, req: Request) -> Response:
    account = _group(app, req.params["id"])
    if account is None:
        return app.error("gitlab", 404, "404 Group Not Found")
    return json_response(group_object(account, req, details=True))


def list_group_projects(app: FakeForge, req: Request) -> Response:
    account = _group(app, req.params["id"])
    if account is None:
        return app.error("gitlab", 404, "404 Group Not Found")
    groups = [account]
    if req.query.get("include_subgroups") == "true":
        groups += list(account.descendants())
    return _list_projects(app, req, [r for g in groups for r in g.repositories])


def list_projects(app: FakeForge, req: Request) -> Response:
    """``GET /projects``: every project of the instance the caller may see (all of them are
    public here, so ``visibility=public`` keeps them all and ``private``/``internal`` none),
    with the group listing's filters, order and offset or keyset pagination."""
    repos = list(app.world.repos_by_id.values())
    visibility = req.query.get("visibility")
    if visibility in ("private", "internal"):
        repos = []
    return _list_projects(app, req, repos)


def _list_projects(app: FakeForge, req: Request, repos: list[Repository]) -> Response:
    archived = req.query.get("archived")
    if archived in ("true", "false"):
        repos = [r for r in repos if r.archived == (archived == "true")]
    order_by = req.query.get("order_by", "created_at")
    sort = req.query.get("sort", "desc")
    simple = req.query.get("simple") == "true"
    key = "gl-simple" if simple else "gl-project"

    def render(r: Repository) -> dict[str, Any]:
        return project_object(r, req, simple=simple)

    if req.query.get("pagination") == "keyset":
        if order_by != "id":
            return app.error("gitlab", 405, "405 Method Not Allowed")
        repos = sorted(repos, key=lambda r: r.id, reverse=sort == "desc")
        per_page = req.int_arg("per_page", 20, high=100)
        after = req.query.get("id_after")
        before = req.query.get("id_before")
        if after:
            repos = [r for r in repos if r.id > int(after)]
        if before:
            repos = [r for r in repos if r.id < int(before)]
        page = repos[:per_page]
        body = join_json_items(
            [app.cached((key, req.base_url, id(r)), lambda r=r: render(r)) for r in page]
        )
        response = raw_json_response(body)
        if len(repos) > per_page:
            changes: dict[str, object] = {"id_after": None, "id_before": None}
            changes["id_before" if sort == "desc" else "id_after"] = page[-1].id
            url = req.url_with(**changes)
            response.header("Link", link_header([("next", url)]))
        return response
    sort_key = {
        "id": lambda r: r.id,
        "name": lambda r: (r.name.lower(), r.id),
        "path": lambda r: (r.name.lower(), r.id),
        "created_at": lambda r: (r.created_at, r.id),
        "updated_at": lambda r: (r.activity_at, r.id),
        "last_activity_at": lambda r: (r.activity_at, r.id),
    }.get(order_by, lambda r: (r.created_at, r.id))
    repos = sorted(repos, key=sort_key, reverse=sort == "desc")
    return _paginate(app, req, repos, render, key)


def list_subgroups(app: FakeForge, req: Request) -> Response:
    account = _group(app, req.params["id"])
    if account is None:
        return app.error("gitlab", 404, "404 Group Not Found")
    descendants = req.raw_path.endswith("/descendant_groups")
    groups = list(account.descendants()) if descendants else list(account.children)
    groups.sort(key=lambda g: g.full_path.lower())
    return _paginate(app, req, groups, lambda g: group_object(g, req), "gl-group")


def get_project(app: FakeForge, req: Request) -> Response:
    repo = _project(app, req.params["id"])
    if repo is None:
        return app.error("gitlab", 404, "404 Project Not Found")
    obj = project_object(repo, req, simple=False, single=True)
    if req.query.get("license") == "true":
        obj["license"] = license_object(repo)
    return json_response(obj)


def _commit(repo: Repository, sha: str, date: Any, title: str) -> dict[str, Any]:
    author = repo.account.name if repo.account else "Fake Forge"
    email = f"noreply@{repo.owner_login}.example"
    stamp = iso_offset(date)
    return {
        "id": sha,
        "short_id": sha[:8],
        "title": title,
        "created_at": stamp,
        "parent_ids": [],
        "message": title,
        "author_name": author,
        "author_email": email,
        "authored_date": stamp,
        "committer_name": author,
        "committer_email": email,
        "committed_date": stamp,
    }


def list_tags(app: FakeForge, req: Request) -> Response:
    """Tags, by default ordered by update date descending (the fixture's order)."""
    repo = _project(app, req.params["id"])
    if repo is None:
        return app.error("gitlab", 404, "404 Project Not Found")
    tags = list(repo.tags)
    if req.query.get("search"):
        tags = [t for t in tags if req.query["search"].lstrip("^") in t.name]
    if req.query.get("order_by") == "name":
        tags.sort(key=lambda t: t.name)
        if req.query.get("sort", "desc") == "desc":
            tags.reverse()
    elif req.query.get("sort") == "asc":
        tags.reverse()
    return _paginate(app, req, tags, lambda t: tag_object(repo, t), ("gl-tag", repo.id))


def tag_object(repo: Repository, tag: Any) -> dict[str, Any]:
    """A tag as GitLab shows it: annotated tags carry their own ``target``, ``message`` and
    ``created_at``; lightweight tags have the commit as ``target`` and nulls."""
    # GitLab has no draft releases: a fixture's drafts do not exist on this shape
    release = next((r for r in repo.releases if r.tag_name == tag.name and not r.draft), None)
    tag_sha = hashlib.sha1(f"tag {repo.full_name} {tag.name}".encode()).hexdigest()
    return {
        "commit": _commit(repo, tag.commit, tag.date, tag.name),
        "release": {"tag_name": tag.name, "description": release.body} if release else None,
        "name": tag.name,
        "target": tag_sha if tag.annotated else tag.commit,
        "message": (tag.message or tag.name) if tag.annotated else None,
        "protected": False,
        "created_at": iso_offset(tag.date) if tag.annotated else None,
    }


def get_tag(app: FakeForge, req: Request) -> Response:
    repo = _project(app, req.params["id"])
    if repo is None:
        return app.error("gitlab", 404, "404 Project Not Found")
    tag = repo.tag(req.params["tag_name"])
    if tag is None:
        return app.error("gitlab", 404, "404 Tag Not Found")
    return json_response(tag_object(repo, tag))


def list_releases(app: FakeForge, req: Request) -> Response:
    repo = _project(app, req.params["id"])
    if repo is None:
        return app.error("gitlab", 404, "404 Project Not Found")
    releases = sorted(
        (r for r in repo.releases if not r.draft),
        key=lambda r: r.published_at,
        reverse=req.query.get("sort", "desc") == "desc",
    )
    path = repo.full_path
    author = {
        "id": repo.account.id if repo.account else 1,
        "name": repo.account.name if repo.account else "",
        "username": repo.owner_login,
        "state": "active",
        "avatar_url": None,
        "web_url": f"{web(req)}/{repo.owner_login}",
    }

    def render(release: Any) -> dict[str, Any]:
        tag = repo.tag(release.tag_name)
        sha = tag.commit if tag else repo.head_commit
        archive = f"{web(req)}/{path}/-/archive/{release.tag_name}/{repo.name}-{release.tag_name}"
        return {
            "tag_name": release.tag_name,
            "description": release.body,
            "name": release.name,
            "created_at": iso_ms_z(release.published_at),
            "released_at": iso_ms_z(release.published_at),
            "author": author,
            "commit": _commit(
                repo, sha, tag.date if tag else release.published_at, release.tag_name
            ),
            "commit_path": f"/{path}/-/commit/{sha}",
            "tag_path": f"/{path}/-/tags/{release.tag_name}",
            "assets": {
                "count": 4,
                "sources": [
                    {"format": fmt, "url": f"{archive}.{fmt}"}
                    for fmt in ("zip", "tar.gz", "tar.bz2", "tar")
                ],
                "links": [],
            },
            "evidences": [],
            "_links": {
                "self": f"{web(req)}/{path}/-/releases/{release.tag_name}",
                "edit_url": f"{web(req)}/{path}/-/releases/{release.tag_name}/edit",
            },
        }

    return _paginate(app, req, releases, render, ("gl-release", repo.id))


def _file_or_error(
    app: FakeForge, req: Request, ref_required: bool
) -> tuple[Repository, str, str] | Response:
    repo = _project(app, req.params["id"])
    if repo is None:
        return app.error("gitlab", 404, "404 Project Not Found")
    ref = req.query.get("ref")
    if ref is None:
        if ref_required:
            return json_response({"error": "ref is missing"}, 400)
        ref = repo.default_branch
    if not repo.has_ref(ref):
        return app.error("gitlab", 404, "404 Commit Not Found")
    path = req.params["file_path"]
    if path not in repo.files:
        return app.error("gitlab", 404, "404 File Not Found")
    return repo, path, ref


def get_file(app: FakeForge, req: Request) -> Response:
    found = _file_or_error(app, req, ref_required=True)
    if isinstance(found, Response):
        return found
    repo, path, ref = found
    data = repo.files[path].encode()
    sha = repo.head_commit
    response = json_response(
        {
            "file_name": path.rsplit("/", 1)[-1],
            "file_path": path,
            "size": len(data),
            "encoding": "base64",
            "content": base64.b64encode(data).decode(),
            "content_sha256": hashlib.sha256(data).hexdigest(),
            "ref": ref,
            "blob_id": git_blob_sha(data),
            "commit_id": sha,
            "last_commit_id": sha,
            "execute_filemode": False,
        }
    )
    for name, value in (
        ("X-Gitlab-Blob-Id", git_blob_sha(data)),
        ("X-Gitlab-Commit-Id", sha),
        ("X-Gitlab-Content-Sha256", hashlib.sha256(data).hexdigest()),
        ("X-Gitlab-Encoding", "base64"),
        ("X-Gitlab-File-Name", path.rsplit("/", 1)[-1]),
        ("X-Gitlab-File-Path", path),
        ("X-Gitlab-Last-Commit-Id", sha),
        ("X-Gitlab-Ref", ref),
        ("X-Gitlab-Size", str(len(data))),
        ("X-Gitlab-Execute-Filemode", "false"),
    ):
        response.header(name, value)
    return response


def list_tree(app: FakeForge, req: Request) -> Response:
    """``GET /projects/:id/repository/tree``: the entries of a directory (``path``, root by
    default) at ``ref`` (default branch), or every entry below it with ``recursive=true``;
    ``tree`` entries before ``blob`` entries, each by name, paginated like other lists. An
    unknown ref is ``404 Tree Not Found``; a path that is not a directory lists nothing."""
    repo = _project(app, req.params["id"])
    if repo is None:
        return app.error("gitlab", 404, "404 Project Not Found")
    ref = req.query.get("ref") or repo.default_branch
    if not repo.has_ref(ref):
        return app.error("gitlab", 404, "404 Tree Not Found")
    path = req.query.get("path", "").strip("/")
    prefix = f"{path}/" if path else ""
    recursive = req.query.get("recursive") == "true"
    trees: set[str] = set()
    blobs: set[str] = set()
    for name in repo.files:
        if not name.startswith(prefix):
            continue
        parts = name[len(prefix) :].split("/")
        for depth in range(1, len(parts)):
            if depth == 1 or recursive:
                trees.add(prefix + "/".join(parts[:depth]))
        if len(parts) == 1 or recursive:
            blobs.add(name)

    def entry(item: tuple[str, str]) -> dict[str, Any]:
        kind, full = item
        if kind == "blob":
            sha, mode = git_blob_sha(repo.files[full].encode()), "100644"
        else:
            sha = hashlib.sha1(f"tree {repo.full_name} {full}".encode()).hexdigest()
            mode = "040000"
        return {
            "id": sha,
            "name": full.rsplit("/", 1)[-1],
            "type": kind,
            "path": full,
            "mode": mode,
        }

    items = [("tree", t) for t in sorted(trees)] + [("blob", b) for b in sorted(blobs)]
    per_page = req.int_arg("per_page", 20, high=100)
    page = req.int_arg("page", 1)
    start, stop, last = page_slice(len(items), page, per_page)
    response = json_response([entry(i) for i in items[start:stop]])
    _offset_headers(response, req, len(items), page, per_page, last)
    return response


def get_raw_file(app: FakeForge, req: Request) -> Response:
    found = _file_or_error(app, req, ref_required=False)
    if isinstance(found, Response):
        return found
    repo, path, _ref = found
    return Response(body=repo.files[path].encode(), content_type="text/plain; charset=utf-8")


def register(app: FakeForge) -> None:
    from fakeforge import graphql_gitlab

    graphql_gitlab.register(app)  # POST /gitlab/api/graphql
    r = app.route
    r("gitlab", "GET", "/groups/{id}", get_group)
    r("gitlab", "GET", "/groups/{id}/projects", list_group_projects)
    r("gitlab", "GET", "/groups/{id}/subgroups", list_subgroups)
    r("gitlab", "GET", "/groups/{id}/descendant_groups", list_subgroups)
    r("gitlab", "GET", "/projects", list_projects)
    r("gitlab", "GET", "/projects/{id}", get_project)
    r("gitlab", "GET", "/projects/{id}/repository/tree", list_tree)
    r("gitlab", "GET", "/projects/{id}/repository/tags", list_tags)
    r("gitlab", "GET", "/projects/{id}/repository/tags/{tag_name}", get_tag)
    r("gitlab", "GET", "/projects/{id}/releases", list_releases)
    r("gitlab", "GET", "/projects/{id}/repository/files/{file_path}/raw", get_raw_file)
    r("gitlab", "GET", "/projects/{id}/repository/files/{file_path}", get_file)

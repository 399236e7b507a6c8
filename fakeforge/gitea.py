"""Gitea (``/gitea/api/v1``) and Forgejo (``/forgejo/api/v1``) shapes.

Objects follow the swagger definitions (Gitea 1.27.1, Forgejo 16.0.1): ``Repository``,
``Organization``, ``Tag``, ``Release``, ``ContentsResponse``, ``ServerVersion``. Lists use
``page`` (1-based) and ``limit`` (default 30, max 50) with ``Link`` (comma-separated, no space)
and ``X-Total-Count``. Gitea reports licenses as ``Repository.licenses`` and
``GET /repos/{o}/{r}/licenses`` (arrays of SPDX ids); Forgejo has neither. Gitea (1.24+) also
answers ``file-contents``, several files' contents in one call; Forgejo does not.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from fakeforge.core import (
    Request,
    Response,
    iso_z,
    join_json_items,
    json_response,
    link_header,
    page_slice,
    raw_json_response,
)
from fakeforge.model import Account, Repository, git_blob_sha

if TYPE_CHECKING:
    from fakeforge.app import FakeForge

__all__ = ["register"]

VERSIONS = {"gitea": "1.27.1", "forgejo": "16.0.1+gitea-1.22.0"}
_ZERO = "0001-01-01T00:00:00Z"
_EPOCH = "1970-01-01T00:00:00Z"


def _web(req: Request) -> str:
    return f"{req.base_url}/{req.forge}"


def _api(req: Request) -> str:
    return f"{req.base_url}/{req.forge}/api/v1"


def user_object(account: Account, req: Request) -> dict[str, Any]:
    obj = {
        "id": account.id,
        "login": account.login,
        "login_name": "",
        "source_id": 0,
        "full_name": account.name,
        "email": "",
        "avatar_url": f"{_web(req)}/avatars/{account.login}",
        "html_url": f"{_web(req)}/{account.login}",
        "language": "",
        "is_admin": False,
        "last_login": _ZERO,
        "created": iso_z(account.created_at),
        "restricted": False,
        "active": False,
        "prohibit_login": False,
        "location": "",
        "website": "",
        "description": account.description,
        "visibility": "public",
        "followers_count": 0,
        "following_count": 0,
        "starred_repos_count": 0,
    }
    if req.forge == "forgejo":
        obj["pronouns"] = ""
    return obj


def repo_object(repo: Repository, req: Request) -> dict[str, Any]:
    forgejo = req.forge == "forgejo"
    web = f"{_web(req)}/{repo.full_name}"
    host = req.base_url.split("://", 1)[1]
    obj: dict[str, Any] = {
        "id": repo.id,
        "owner": user_object(repo.account, req),  # type: ignore[arg-type]
        "name": repo.name,
        "full_name": repo.full_name,
        "description": repo.description or "",
        "empty": False,
        "private": False,
        "fork": repo.fork,
        "template": False,
        "mirror": False,
        "size": 100,
        "language": repo.language or "",
        "languages_url": f"{_api(req)}/repos/{repo.full_name}/languages",
        "html_url": web,
        "url": f"{_api(req)}/repos/{repo.full_name}",
        "link": "",
        "ssh_url": f"git@{host}:{req.forge}/{repo.full_name}.git",
        "clone_url": f"{web}.git",
        "original_url": "",
        "website": "",
        "stars_count": 0,
        "forks_count": 0,
        "watchers_count": 0,
        "open_issues_count": 0,
        "open_pr_counter": 0,
        "release_counter": len(repo.releases),
        "default_branch": repo.default_branch,
        "archived": repo.archived,
        "created_at": iso_z(repo.created_at),
        "updated_at": iso_z(repo.activity_at),
        "archived_at": iso_z(repo.pushed_at) if repo.archived else _EPOCH,
        "permissions": {"admin": False, "push": False, "pull": True},
        "has_issues": True,
        "has_wiki": False,
        "has_pull_requests": True,
        "has_projects": False,
        "has_releases": True,
        "has_packages": False,
        "has_actions": False,
        "ignore_whitespace_conflicts": False,
        "allow_merge_commits": True,
        "allow_rebase": True,
        "allow_rebase_explicit": True,
        "allow_squash_merge": True,
        "allow_fast_forward_only_merge": False,
        "allow_rebase_update": True,
        "default_delete_branch_after_merge": False,
        "default_merge_style": "merge",
        "default_update_style": "merge",
        "default_allow_maintainer_edit": False,
        "avatar_url": "",
        "internal": False,
        "mirror_interval": "",
        "object_format_name": "sha1",
        "mirror_updated": _ZERO,
        "topics": list(repo.topics),
    }
    if forgejo:
        obj.update(
            {
                "wiki_branch": repo.default_branch,
                "globally_editable_wiki": False,
                "has_wiki_contents": False,
                "wiki_clone_url": f"{web}.wiki.git",
                "wiki_ssh_url": f"git@{host}:{req.forge}/{repo.full_name}.wiki.git",
            }
        )
    else:
        obj.update(
            {
                "has_code": True,
                "projects_mode": "all",
                "allow_manual_merge": False,
                "autodetect_manual_merge": False,
                "allow_merge_update": True,
                "default_target_branch": repo.default_branch,
                "mirror_last_sync_at": _ZERO,
                "branch_count": 1,
                "licenses": repo.spdx_licenses(),
            }
        )
    return obj


def _paginate(app: FakeForge, req: Request, items: list[Any], render: Any, key: Any) -> Response:
    limit = req.int_arg("limit", 30, high=50)
    page = req.int_arg("page", 1)
    start, stop, last = page_slice(len(items), page, limit)
    body = join_json_items(
        [
            app.cached((key, req.forge, req.base_url, id(i)), lambda i=i: render(i))
            for i in items[start:stop]
        ]
    )
    response = raw_json_response(body)
    links: list[tuple[str, str]] = []
    if page < last:
        links.append(("next", req.url_with(page=page + 1, limit=limit)))
        links.append(("last", req.url_with(page=last, limit=limit)))
    if page > 1:
        links.append(("first", req.url_with(page=1, limit=limit)))
        links.append(("prev", req.url_with(page=page - 1, limit=limit)))
    if links:
        response.header("Link", link_header(links, separator=","))
    response.header("X-Total-Count", str(len(items)))
    return response


def _account(app: FakeForge, req: Request) -> Account | Response:
    account = app.world.account(req.params.get("org") or req.params["username"])
    return account if account is not None else app.error(req.forge, 404)


def _repo(app: FakeForge, req: Request) -> Repository | Response:
    repo = app.world.repo(req.params["owner"], req.params["repo"])
    return repo if repo is not None else app.error(req.forge, 404)


def get_org(app: FakeForge, req: Request) -> Response:
    account = _account(app, req)
    if isinstance(account, Response):
        return account
    obj = {
        "id": account.id,
        "name": account.login,
        "username": account.login,
        "full_name": account.name,
        "email": "",
        "avatar_url": f"{_web(req)}/avatars/{account.login}",
        "description": account.description,
        "website": "",
        "location": "",
        "visibility": "public",
        "repo_admin_change_team_access": False,
    }
    if req.forge == "forgejo":
        obj["created"] = iso_z(account.created_at)
    return json_response(obj)


def list_repos(app: FakeForge, req: Request) -> Response:
    """An organisation's repositories by id, as Gitea lists them."""
    account = _account(app, req)
    if isinstance(account, Response):
        return account
    repos = sorted(account.repositories, key=lambda r: r.id)
    return _paginate(app, req, repos, lambda r: repo_object(r, req), "gt-repo")


def search_repos(app: FakeForge, req: Request) -> Response:
    """``GET /repos/search``: ``{"ok": true, "data": [...]}`` over every account, filtered by
    ``q`` (name, or description with ``includeDesc``; topics with ``topic``), ``uid`` (owner
    id), ``archived`` and ``mode`` (``fork``/``source``), sorted by ``sort``/``order``."""
    repos = [r for r in app.world.repos_by_id.values()]
    if req.query.get("uid"):
        try:
            uid = int(req.query["uid"])
        except ValueError:
            return app.error(req.forge, 422, "uid must be an integer")
        repos = [r for r in repos if r.account is not None and r.account.id == uid]
    keyword = req.query.get("q", "").lower()
    if keyword:
        if req.query.get("topic") == "true":
            repos = [r for r in repos if keyword in (t.lower() for t in r.topics)]
        else:
            desc = req.query.get("includeDesc") == "true"
            repos = [
                r
                for r in repos
                if keyword in r.name.lower() or (desc and keyword in (r.description or "").lower())
            ]
    if req.query.get("archived") in ("true", "false"):
        repos = [r for r in repos if r.archived == (req.query["archived"] == "true")]
    mode = req.query.get("mode")
    if mode == "fork":
        repos = [r for r in repos if r.fork]
    elif mode == "source":
        repos = [r for r in repos if not r.fork]
    sort_key = {
        "alpha": lambda r: r.name.lower(),
        "created": lambda r: r.created_at,
        "updated": lambda r: r.activity_at,
        "id": lambda r: r.id,
    }.get(req.query.get("sort", "alpha"), lambda r: r.name.lower())
    repos.sort(key=sort_key, reverse=req.query.get("order", "asc") == "desc")
    page = _paginate(app, req, repos, lambda r: repo_object(r, req), "gt-repo")
    page.body = b'{"ok":true,"data":' + page.body + b"}"
    return page


def get_repo(app: FakeForge, req: Request) -> Response:
    repo = _repo(app, req)
    if isinstance(repo, Response):
        return repo
    return raw_json_response(
        app.cached(("gt-repo", req.forge, req.base_url, id(repo)), lambda: repo_object(repo, req))
    )


def list_tags(app: FakeForge, req: Request) -> Response:
    repo = _repo(app, req)
    if isinstance(repo, Response):
        return repo
    web = f"{_web(req)}/{repo.full_name}"
    api = f"{_api(req)}/repos/{repo.full_name}"

    def render(tag: Any) -> dict[str, Any]:
        obj = {
            "name": tag.name,
            "message": (tag.message or tag.name) if tag.annotated else "",
            "id": git_blob_sha(f"tag {tag.name}".encode()) if tag.annotated else tag.commit,
            "commit": {
                "url": f"{api}/git/commits/{tag.commit}",
                "sha": tag.commit,
                "created": iso_z(tag.date),
            },
            "zipball_url": f"{web}/archive/{tag.name}.zip",
            "tarball_url": f"{web}/archive/{tag.name}.tar.gz",
        }
        if req.forge == "forgejo":
            obj["archive_download_count"] = {"zip": 0, "tar_gz": 0}
        return obj

    return _paginate(app, req, repo.tags, render, ("gt-tag", repo.id))


def list_releases(app: FakeForge, req: Request) -> Response:
    repo = _repo(app, req)
    if isinstance(repo, Response):
        return repo
    releases = sorted(repo.releases, key=lambda r: r.published_at, reverse=True)
    if req.query.get("draft") in ("true", "false"):
        releases = [r for r in releases if r.draft == (req.query["draft"] == "true")]
    if req.query.get("pre-release") in ("true", "false"):
        releases = [r for r in releases if r.prerelease == (req.query["pre-release"] == "true")]
    web = f"{_web(req)}/{repo.full_name}"
    api = f"{_api(req)}/repos/{repo.full_name}"

    def render(release: Any) -> dict[str, Any]:
        rid = abs(hash((repo.id, release.tag_name))) % 10**9
        obj = {
            "id": rid,
            "tag_name": release.tag_name,
            "target_commitish": repo.default_branch,
            "name": release.name,
            "body": release.body,
            "url": f"{api}/releases/{rid}",
            "html_url": f"{web}/releases/tag/{release.tag_name}",
            "tarball_url": f"{web}/archive/{release.tag_name}.tar.gz",
            "zipball_url": f"{web}/archive/{release.tag_name}.zip",
            "upload_url": f"{api}/releases/{rid}/assets",
            "draft": release.draft,
            "prerelease": release.prerelease,
            "created_at": iso_z(release.published_at),
            "published_at": iso_z(release.published_at),
            "author": user_object(repo.account, req),  # type: ignore[arg-type]
            "assets": [],
        }
        if req.forge == "forgejo":
            obj["archive_download_count"] = {"zip": 0, "tar_gz": 0}
            obj["hide_archive_links"] = False
        return obj

    return _paginate(app, req, releases, render, ("gt-release", repo.id))


def _contents_entry(
    repo: Repository, path: str, req: Request, *, with_content: bool
) -> dict[str, Any]:
    is_file = path in repo.files
    data = repo.files[path].encode() if is_file else b""
    sha = git_blob_sha(data if is_file else path.encode())
    api = f"{_api(req)}/repos/{repo.full_name}"
    web = f"{_web(req)}/{repo.full_name}"
    branch = repo.default_branch
    self_url = f"{api}/contents/{path}?ref={branch}"
    html = f"{web}/src/branch/{branch}/{path}"
    git = f"{api}/git/{'blobs' if is_file else 'trees'}/{sha}"
    obj: dict[str, Any] = {
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": sha,
        "last_commit_sha": repo.head_commit,
        "type": "file" if is_file else "dir",
        "size": len(data),
        "encoding": "base64" if with_content and is_file else None,
        "content": base64.b64encode(data).decode() if with_content and is_file else None,
        "target": None,
        "url": self_url,
        "html_url": html,
        "git_url": git,
        "download_url": f"{web}/raw/branch/{branch}/{path}" if is_file else None,
        "submodule_git_url": None,
        "_links": {"self": self_url, "git": git, "html": html},
    }
    if req.forge == "forgejo":
        obj["last_commit_when"] = iso_z(repo.pushed_at)
    else:
        obj["last_committer_date"] = iso_z(repo.pushed_at)
        obj["last_author_date"] = iso_z(repo.pushed_at)
        obj["last_commit_message"] = "Update"
    return obj


def get_contents(app: FakeForge, req: Request) -> Response:
    """A file as ``ContentsResponse`` (Base64); a directory as an array of entries."""
    repo = _repo(app, req)
    if isinstance(repo, Response):
        return repo
    ref = req.query.get("ref")
    if ref and not repo.has_ref(ref):
        return app.error(req.forge, 404)
    path = req.params.get("filepath", "").strip("/")
    if path in repo.files:
        return json_response(_contents_entry(repo, path, req, with_content=True))
    prefix = f"{path}/" if path else ""
    names = sorted({p[len(prefix) :].split("/", 1)[0] for p in repo.files if p.startswith(prefix)})
    if not names:
        return app.error(req.forge, 404)
    return json_response(
        [_contents_entry(repo, f"{prefix}{n}", req, with_content=False) for n in names]
    )


#: Gitea's ``[api] DEFAULT_PAGING_NUM``: the most files one ``file-contents`` call answers
FILE_CONTENTS_LIMIT = 30


def get_file_contents(app: FakeForge, req: Request) -> Response:
    """Gitea 1.24+ ``file-contents``: the metadata and contents of several files in one
    call, ``{"files": [...]}`` as the POST body or, for GET, JSON in the ``body`` query
    parameter. A path that cannot be read is ``null``; a directory is its entry without
    content; at most :data:`FILE_CONTENTS_LIMIT` entries are answered."""
    repo = _repo(app, req)
    if isinstance(repo, Response):
        return repo
    raw = req.body if req.method == "POST" else req.query.get("body", "").encode()
    try:
        options = json.loads(raw or b"null")
    except ValueError as error:
        return app.error(req.forge, 400, str(error))
    files = options.get("files") if isinstance(options, dict) else None
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return app.error(req.forge, 400, "files: a list of paths is required")
    ref = req.query.get("ref")
    if ref and not repo.has_ref(ref):
        return app.error(req.forge, 404)
    answer: list[dict[str, Any] | None] = []
    for path in files[:FILE_CONTENTS_LIMIT]:
        path = path.strip("/")
        prefix = f"{path}/"
        if path in repo.files:
            answer.append(_contents_entry(repo, path, req, with_content=True))
        elif path and any(p.startswith(prefix) for p in repo.files):
            answer.append(_contents_entry(repo, path, req, with_content=False))
        else:
            answer.append(None)
    return json_response(answer)


def get_raw(app: FakeForge, req: Request) -> Response:
    """File bytes; ``filepath`` may start with a ref (``{ref}/{filepath}``) as Gitea allows."""
    repo = _repo(app, req)
    if isinstance(repo, Response):
        return repo
    path = req.params["filepath"].strip("/")
    ref = req.query.get("ref")
    if path not in repo.files:
        head, _, rest = path.partition("/")
        if rest in repo.files and repo.has_ref(head):
            path = rest
        else:
            return app.error(req.forge, 404)
    if ref and not repo.has_ref(ref):
        return app.error(req.forge, 404)
    return Response(body=repo.files[path].encode(), content_type="application/octet-stream")


def get_licenses(app: FakeForge, req: Request) -> Response:
    repo = _repo(app, req)
    if isinstance(repo, Response):
        return repo
    return json_response(repo.spdx_licenses())


def get_languages(app: FakeForge, req: Request) -> Response:
    repo = _repo(app, req)
    if isinstance(repo, Response):
        return repo
    return json_response({repo.language: 1000} if repo.language else {})


def get_topics(app: FakeForge, req: Request) -> Response:
    repo = _repo(app, req)
    if isinstance(repo, Response):
        return repo
    return json_response({"topics": list(repo.topics)})


def get_version(app: FakeForge, req: Request) -> Response:
    return json_response({"version": VERSIONS[req.forge]})


def get_settings_api(app: FakeForge, req: Request) -> Response:
    return json_response(
        {
            "max_response_items": 50,
            "default_paging_num": 30,
            "default_git_trees_per_page": 1000,
            "default_max_blob_size": 10485760,
        }
    )


def register(app: FakeForge, forge: str) -> None:
    r = app.route
    r(forge, "GET", "/version", get_version)
    r(forge, "GET", "/settings/api", get_settings_api)
    r(forge, "GET", "/orgs/{org}", get_org)
    r(forge, "GET", "/orgs/{org}/repos", list_repos)
    r(forge, "GET", "/users/{username}/repos", list_repos)
    r(forge, "GET", "/repos/search", search_repos)
    r(forge, "GET", "/repos/{owner}/{repo}", get_repo)
    r(forge, "GET", "/repos/{owner}/{repo}/tags", list_tags)
    r(forge, "GET", "/repos/{owner}/{repo}/releases", list_releases)
    r(forge, "GET", "/repos/{owner}/{repo}/languages", get_languages)
    r(forge, "GET", "/repos/{owner}/{repo}/topics", get_topics)
    r(forge, "GET", "/repos/{owner}/{repo}/contents", get_contents)
    r(forge, "GET", "/repos/{owner}/{repo}/contents/{filepath*}", get_contents)
    r(forge, "GET", "/repos/{owner}/{repo}/raw/{filepath*}", get_raw)
    r(forge, "GET", "/repos/{owner}/{repo}/media/{filepath*}", get_raw)
    if forge == "gitea":
        r(forge, "GET", "/repos/{owner}/{repo}/licenses", get_licenses)
        r(forge, "GET", "/repos/{owner}/{repo}/file-contents", get_file_contents)
        r(forge, "POST", "/repos/{owner}/{repo}/file-contents", get_file_contents)

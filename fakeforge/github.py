"""GitHub REST v3 shapes, served under ``/github/api/v3``.

Objects follow GitHub's OpenAPI description (``full-repository``, ``minimal-repository``,
``tag``, ``release``, ``license-content``, ``content-file``, ``rate-limit-overview``) field for
field. URLs point back at the fake forge: the API at ``{base}/github/api/v3``, web pages and
clone URLs at ``{base}/github/{owner}/{repo}``.
"""

from __future__ import annotations

import base64
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
from fakeforge.licenses import LicenseMatch
from fakeforge.model import Account, Repository, git_blob_sha

if TYPE_CHECKING:
    from fakeforge.app import FakeForge

__all__ = ["register"]


def _node_id(kind: str, ident: int | str) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{ident}".encode()).decode().rstrip("=")


def api_base(req: Request) -> str:
    return f"{req.base_url}/github/api/v3"


def web_base(req: Request) -> str:
    return f"{req.base_url}/github"


def owner_object(account: Account, req: Request) -> dict[str, Any]:
    api = api_base(req)
    login = account.login
    user = f"{api}/users/{login}"
    return {
        "login": login,
        "id": account.id,
        "node_id": _node_id("Organization", account.id),
        "avatar_url": f"{req.base_url}/github/avatars/{login}.png",
        "gravatar_id": "",
        "url": user,
        "html_url": f"{web_base(req)}/{login}",
        "followers_url": f"{user}/followers",
        "following_url": f"{user}/following{{/other_user}}",
        "gists_url": f"{user}/gists{{/gist_id}}",
        "starred_url": f"{user}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{user}/subscriptions",
        "organizations_url": f"{user}/orgs",
        "repos_url": f"{user}/repos",
        "events_url": f"{user}/events{{/privacy}}",
        "received_events_url": f"{user}/received_events",
        "type": account.type,
        "site_admin": False,
    }


def license_simple(match: LicenseMatch | None, req: Request) -> dict[str, Any] | None:
    """GitHub's ``license-simple``: null when the repository has no license file."""
    if match is None:
        return None
    other = match.spdx_id == "NOASSERTION"
    return {
        "key": match.key,
        "name": match.name,
        "spdx_id": match.spdx_id,
        "url": None if other else f"{api_base(req)}/licenses/{match.key}",
        "node_id": _node_id("License", match.key),
    }


def repo_object(repo: Repository, req: Request, *, full: bool) -> dict[str, Any]:
    """``minimal-repository`` (lists) or ``full-repository`` (``GET /repos/{o}/{r}``)."""
    api = api_base(req)
    url = f"{api}/repos/{repo.full_name}"
    web = f"{web_base(req)}/{repo.full_name}"
    host = req.base_url.split("://", 1)[1]
    size = sum(len(t) for t in repo.files.values()) // 1024 if repo.generator is None else 100
    obj: dict[str, Any] = {
        "id": repo.id,
        "node_id": _node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "owner": owner_object(repo.account, req),  # type: ignore[arg-type]
        "private": False,
        "html_url": web,
        "description": repo.description,
        "fork": repo.fork,
        "url": url,
        "archive_url": f"{url}/{{archive_format}}{{/ref}}",
        "assignees_url": f"{url}/assignees{{/user}}",
        "blobs_url": f"{url}/git/blobs{{/sha}}",
        "branches_url": f"{url}/branches{{/branch}}",
        "collaborators_url": f"{url}/collaborators{{/collaborator}}",
        "comments_url": f"{url}/comments{{/number}}",
        "commits_url": f"{url}/commits{{/sha}}",
        "compare_url": f"{url}/compare/{{base}}...{{head}}",
        "contents_url": f"{url}/contents/{{+path}}",
        "contributors_url": f"{url}/contributors",
        "deployments_url": f"{url}/deployments",
        "downloads_url": f"{url}/downloads",
        "events_url": f"{url}/events",
        "forks_url": f"{url}/forks",
        "git_commits_url": f"{url}/git/commits{{/sha}}",
        "git_refs_url": f"{url}/git/refs{{/sha}}",
        "git_tags_url": f"{url}/git/tags{{/sha}}",
        "git_url": f"git://{host}/github/{repo.full_name}.git",
        "issue_comment_url": f"{url}/issues/comments{{/number}}",
        "issue_events_url": f"{url}/issues/events{{/number}}",
        "issues_url": f"{url}/issues{{/number}}",
        "keys_url": f"{url}/keys{{/key_id}}",
        "labels_url": f"{url}/labels{{/name}}",
        "languages_url": f"{url}/languages",
        "merges_url": f"{url}/merges",
        "milestones_url": f"{url}/milestones{{/number}}",
        "notifications_url": f"{url}/notifications{{?since,all,participating}}",
        "pulls_url": f"{url}/pulls{{/number}}",
        "releases_url": f"{url}/releases{{/id}}",
        "ssh_url": f"git@{host}:github/{repo.full_name}.git",
        "stargazers_url": f"{url}/stargazers",
        "statuses_url": f"{url}/statuses/{{sha}}",
        "subscribers_url": f"{url}/subscribers",
        "subscription_url": f"{url}/subscription",
        "tags_url": f"{url}/tags",
        "teams_url": f"{url}/teams",
        "trees_url": f"{url}/git/trees{{/sha}}",
        "clone_url": f"{web}.git",
        "mirror_url": None,
        "hooks_url": f"{url}/hooks",
        "svn_url": web,
        "homepage": None,
        "language": repo.language,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "size": size,
        "default_branch": repo.default_branch,
        "open_issues_count": 0,
        "is_template": False,
        "topics": list(repo.topics),
        "has_issues": True,
        "has_projects": True,
        "has_wiki": False,
        "has_pages": False,
        "has_downloads": True,
        "has_discussions": False,
        "archived": repo.archived,
        "disabled": False,
        "visibility": "public",
        "pushed_at": iso_z(repo.pushed_at),
        "created_at": iso_z(repo.created_at),
        "updated_at": iso_z(repo.pushed_at),
        "permissions": {
            "admin": False,
            "maintain": False,
            "push": False,
            "triage": False,
            "pull": True,
        },
    }
    if full:
        obj.update(
            {
                "allow_forking": True,
                "web_commit_signoff_required": False,
                "temp_clone_token": None,
                "subscribers_count": 0,
                "network_count": 0,
                "license": license_simple(repo.license, req),
                "organization": owner_object(repo.account, req),  # type: ignore[arg-type]
                "forks": 0,
                "open_issues": 0,
                "watchers": 0,
                "security_and_analysis": None,
            }
        )
    else:
        obj.update(
            {
                "license": license_simple(repo.license, req),
                "allow_forking": True,
                "web_commit_signoff_required": False,
                "forks": 0,
                "open_issues": 0,
                "watchers": 0,
            }
        )
    return obj


def _paginate(app: FakeForge, req: Request, items: list[Any], render: Any, key: str) -> Response:
    """GitHub ``page``/``per_page`` (default 30, max 100) with a ``Link`` header."""
    per_page = req.int_arg("per_page", 30, high=100)
    page = req.int_arg("page", 1)
    start, stop, last = page_slice(len(items), page, per_page)
    base = req.base_url
    body = join_json_items(
        [
            app.cached((key, base, id(item)), lambda item=item: render(item))
            for item in items[start:stop]
        ]
    )
    response = raw_json_response(body)
    links: list[tuple[str, str]] = []
    if page > 1:
        links.append(("prev", req.url_with(page=min(page - 1, last), per_page=per_page)))
    if page < last:
        links.append(("next", req.url_with(page=page + 1, per_page=per_page)))
        links.append(("last", req.url_with(page=last, per_page=per_page)))
    if page > 1:
        links.append(("first", req.url_with(page=1, per_page=per_page)))
    if links:
        response.header("Link", link_header(links))
    return response


def ordered_repos(
    app: FakeForge, account: Account, sort: str, direction: str | None
) -> list[Repository]:
    """The account's repositories in GitHub's list order (default: ``created``)."""
    if sort not in ("created", "updated", "pushed", "full_name"):
        sort = "created"
    if direction not in ("asc", "desc"):
        direction = "asc" if sort == "full_name" else "desc"
    key = (id(account), len(account.repositories), sort, direction)
    cached = app.orderings.get(key)
    if cached is None:
        sort_key = {
            "created": lambda r: (r.created_at, r.id),
            "updated": lambda r: (r.pushed_at, r.id),
            "pushed": lambda r: (r.pushed_at, r.id),
            "full_name": lambda r: (r.name.lower(), r.id),
        }[sort]
        cached = sorted(account.repositories, key=sort_key, reverse=direction == "desc")
        app.orderings[key] = cached
    return cached


def _account_or_404(app: FakeForge, req: Request, name: str) -> Account | Response:
    account = app.world.account(name)
    return account if account is not None else app.error("github", 404)


def _repo_or_404(app: FakeForge, req: Request) -> Repository | Response:
    repo = app.world.repo(req.params["owner"], req.params["repo"])
    return repo if repo is not None else app.error("github", 404)


def get_org(app: FakeForge, req: Request) -> Response:
    account = _account_or_404(app, req, req.params["org"])
    if isinstance(account, Response):
        return account
    api = api_base(req)
    login = account.login
    org_url = f"{api}/orgs/{login}"
    return json_response(
        {
            "login": login,
            "id": account.id,
            "node_id": _node_id("Organization", account.id),
            "url": org_url,
            "repos_url": f"{org_url}/repos",
            "events_url": f"{org_url}/events",
            "hooks_url": f"{org_url}/hooks",
            "issues_url": f"{org_url}/issues",
            "members_url": f"{org_url}/members{{/member}}",
            "public_members_url": f"{org_url}/public_members{{/member}}",
            "avatar_url": f"{req.base_url}/github/avatars/{login}.png",
            "description": account.description,
            "name": account.name,
            "company": "",
            "blog": "",
            "location": "",
            "email": "",
            "twitter_username": None,
            "is_verified": False,
            "has_organization_projects": True,
            "has_repository_projects": True,
            "public_repos": len(account.repositories),
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "html_url": f"{web_base(req)}/{login}",
            "created_at": iso_z(account.created_at),
            "updated_at": iso_z(account.created_at),
            "archived_at": None,
            "type": account.type,
        }
    )


def list_repos(app: FakeForge, req: Request) -> Response:
    account = _account_or_404(app, req, req.params.get("org") or req.params["username"])
    if isinstance(account, Response):
        return account
    sort = req.query.get("sort", "created")
    repos = ordered_repos(app, account, sort, req.query.get("direction"))
    kind = req.query.get("type", "all")
    if kind == "forks":
        repos = [r for r in repos if r.fork]
    elif kind == "sources":
        repos = [r for r in repos if not r.fork]
    elif kind in ("private", "internal", "member"):
        repos = []
    return _paginate(app, req, repos, lambda r: repo_object(r, req, full=False), "gh-min")


def get_repo(app: FakeForge, req: Request) -> Response:
    repo = _repo_or_404(app, req)
    if isinstance(repo, Response):
        return repo
    return raw_json_response(
        app.cached(("gh-full", req.base_url, id(repo)), lambda: repo_object(repo, req, full=True))
    )


def list_tags(app: FakeForge, req: Request) -> Response:
    repo = _repo_or_404(app, req)
    if isinstance(repo, Response):
        return repo
    api = f"{api_base(req)}/repos/{repo.full_name}"
    web = f"{web_base(req)}/{repo.full_name}"

    def render(tag: Any) -> dict[str, Any]:
        return {
            "name": tag.name,
            "commit": {"sha": tag.commit, "url": f"{api}/commits/{tag.commit}"},
            "zipball_url": f"{web}/zipball/refs/tags/{tag.name}",
            "tarball_url": f"{web}/tarball/refs/tags/{tag.name}",
            "node_id": _node_id("Ref", f"{repo.id}:refs/tags/{tag.name}"),
        }

    return _paginate(app, req, repo.tags, render, "gh-tag")


def list_releases(app: FakeForge, req: Request) -> Response:
    repo = _repo_or_404(app, req)
    if isinstance(repo, Response):
        return repo
    api = f"{api_base(req)}/repos/{repo.full_name}"
    web = f"{web_base(req)}/{repo.full_name}"
    owner = owner_object(repo.account, req)  # type: ignore[arg-type]
    releases = sorted(repo.releases, key=lambda r: r.published_at, reverse=True)

    def render(release: Any) -> dict[str, Any]:
        rid = abs(hash((repo.id, release.tag_name))) % 10**9
        return {
            "url": f"{api}/releases/{rid}",
            "html_url": f"{web}/releases/tag/{release.tag_name}",
            "assets_url": f"{api}/releases/{rid}/assets",
            "upload_url": f"{api}/releases/{rid}/assets{{?name,label}}",
            "tarball_url": f"{api}/tarball/{release.tag_name}",
            "zipball_url": f"{api}/zipball/{release.tag_name}",
            "id": rid,
            "node_id": _node_id("Release", rid),
            "tag_name": release.tag_name,
            "target_commitish": repo.default_branch,
            "name": release.name,
            "body": release.body,
            "draft": release.draft,
            "prerelease": release.prerelease,
            "immutable": False,
            "created_at": iso_z(release.published_at),
            "published_at": None if release.draft else iso_z(release.published_at),
            "updated_at": iso_z(release.published_at),
            "author": owner,
            "assets": [],
        }

    return _paginate(app, req, releases, render, "gh-release")


def content_file(repo: Repository, path: str, req: Request) -> dict[str, Any]:
    data = repo.files[path].encode()
    sha = git_blob_sha(data)
    api = f"{api_base(req)}/repos/{repo.full_name}"
    web = f"{web_base(req)}/{repo.full_name}"
    url = f"{api}/contents/{path}?ref={repo.default_branch}"
    html = f"{web}/blob/{repo.default_branch}/{path}"
    git = f"{api}/git/blobs/{sha}"
    encoded = base64.encodebytes(data).decode()
    return {
        "type": "file",
        "encoding": "base64",
        "size": len(data),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "content": encoded,
        "sha": sha,
        "url": url,
        "git_url": git,
        "html_url": html,
        "download_url": f"{web}/raw/{repo.default_branch}/{path}",
        "_links": {"self": url, "git": git, "html": html},
    }


def _dir_entries(repo: Repository, directory: str) -> list[str]:
    prefix = f"{directory}/" if directory else ""
    names: dict[str, str] = {}
    for path in repo.files:
        if path.startswith(prefix):
            rest = path[len(prefix) :]
            head = rest.split("/", 1)[0]
            names[head] = "dir" if "/" in rest else "file"
    return sorted(names, key=str.lower)


def get_contents(app: FakeForge, req: Request) -> Response:
    """A file as ``content-file`` JSON (Base64), or its bytes with a raw media type; a directory
    (the root or ``LICENSES``) as an array of entries without ``content``."""
    repo = _repo_or_404(app, req)
    if isinstance(repo, Response):
        return repo
    path = req.params.get("path", "").strip("/")
    ref = req.query.get("ref")
    if ref and not repo.has_ref(ref):
        return app.error("github", 404, "No commit found for the ref " + ref)
    accept = req.headers.get("accept", "")
    if path in repo.files:
        if "raw" in accept:
            return Response(
                body=repo.files[path].encode(), content_type="application/vnd.github.raw"
            )
        return json_response(content_file(repo, path, req))
    entries = _dir_entries(repo, path)
    if not entries:
        return app.error("github", 404)
    listing = []
    for name in entries:
        full = f"{path}/{name}" if path else name
        if full in repo.files:
            item = content_file(repo, full, req)
            item.pop("content")
            item.pop("encoding")
        else:
            api = f"{api_base(req)}/repos/{repo.full_name}"
            url = f"{api}/contents/{full}?ref={repo.default_branch}"
            html = f"{web_base(req)}/{repo.full_name}/tree/{repo.default_branch}/{full}"
            sha = git_blob_sha(full.encode())
            item = {
                "type": "dir",
                "size": 0,
                "name": name,
                "path": full,
                "sha": sha,
                "url": url,
                "git_url": f"{api}/git/trees/{sha}",
                "html_url": html,
                "download_url": None,
                "_links": {"self": url, "git": f"{api}/git/trees/{sha}", "html": html},
            }
        listing.append(item)
    return json_response(listing)


def get_license(app: FakeForge, req: Request) -> Response:
    """``license-content``: the root license file with its detected license; 404 without one."""
    repo = _repo_or_404(app, req)
    if isinstance(repo, Response):
        return repo
    path = repo.license_file()
    if path is None:
        return app.error("github", 404)
    obj = content_file(repo, path, req)
    obj["license"] = license_simple(repo.license, req)
    return json_response(obj)


def get_languages(app: FakeForge, req: Request) -> Response:
    repo = _repo_or_404(app, req)
    if isinstance(repo, Response):
        return repo
    return json_response({repo.language: 1000} if repo.language else {})


def get_topics(app: FakeForge, req: Request) -> Response:
    repo = _repo_or_404(app, req)
    if isinstance(repo, Response):
        return repo
    return json_response({"names": list(repo.topics)})


def rate_limit(app: FakeForge, req: Request) -> Response:
    """``rate-limit-overview``; this request itself is not counted, as on GitHub."""
    app.limiter.refund("github:core")
    resources = {}
    for name in ("core", "graphql", "search", "code_search"):
        bucket = f"github:{name}"
        limit = app.limiter.limit
        remaining = app.limiter.remaining(bucket)
        resources[name] = {
            "limit": limit,
            "used": limit - remaining,
            "remaining": remaining,
            "reset": app.limiter.reset_epoch(bucket),
        }
    response = json_response({"resources": resources, "rate": resources["core"]})
    response.cacheable = False
    return response


def register(app: FakeForge) -> None:
    r = app.route
    r("github", "GET", "/orgs/{org}", get_org)
    r("github", "GET", "/users/{org}", get_org)
    r("github", "GET", "/orgs/{org}/repos", list_repos)
    r("github", "GET", "/users/{username}/repos", list_repos)
    r("github", "GET", "/repos/{owner}/{repo}", get_repo)
    r("github", "GET", "/repos/{owner}/{repo}/tags", list_tags)
    r("github", "GET", "/repos/{owner}/{repo}/releases", list_releases)
    r("github", "GET", "/repos/{owner}/{repo}/license", get_license)
    r("github", "GET", "/repos/{owner}/{repo}/languages", get_languages)
    r("github", "GET", "/repos/{owner}/{repo}/topics", get_topics)
    r("github", "GET", "/repos/{owner}/{repo}/contents", get_contents)
    r("github", "GET", "/repos/{owner}/{repo}/contents/{path*}", get_contents)
    r("github", "GET", "/rate_limit", rate_limit)

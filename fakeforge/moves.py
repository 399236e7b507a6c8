"""Repositories renamed or deleted while the fake forge runs, answered as the forges document.

``app.rename_repository("owner/name", "new-name")`` keeps the repository's id (GitHub's
``id``/``databaseId``, GitLab's project id, Gitea's id): listings show the new name with the
same id. Asked by its old name:

* GitHub REST answers ``301 Moved Permanently`` with ``Location: {api}/repositories/{id}``
  (plus the rest of the path) and the body GitHub records (``tests/data/forge-api``:
  ``github/rest_conventions.md`` "Follow redirects", and the recorded ``rename-repository``
  exchange); ``GET /repositories/{id}[/...]`` serves the repository by id.
* GitHub GraphQL ``repository(owner:, name:)`` resolves the old name to the repository.
* GitLab answers ``301`` with ``Location: {api}/projects/{id}`` (GitLab 16.7+, "Redirects"
  in the REST conventions) and the plain-text body it documents.
* Gitea and Forgejo: 404 (their API descriptions document no redirect).

``app.delete_repository("owner/name")``: every forge answers 404 for it, listings drop it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fakeforge.core import Request, Response, Route, json_response

if TYPE_CHECKING:
    from fakeforge.app import FakeForge

__all__ = ["register"]

_GITHUB_API = "/github/api/v3"
_GITLAB_API = "/gitlab/api/v4"


def _github_redirect(app: FakeForge, req: Request) -> Response | None:
    owner, name = req.params.get("owner", ""), req.params.get("repo", "")
    if app.world.repo(owner, name) is not None:
        return None
    repo = app.world.moved(owner, name)
    if repo is None:
        return None
    prefix = f"{_GITHUB_API}/repos/"
    rest = req.raw_path[len(prefix) :].split("/", 2)[2:]
    suffix = "/" + rest[0] if rest else ""
    location = f"{req.base_url}{_GITHUB_API}/repositories/{repo.id}{suffix}"
    if req.query_string:
        location += "?" + req.query_string
    response = json_response(
        {
            "message": "Moved Permanently",
            "url": location,
            "documentation_url": "https://docs.github.com/v3/#http-redirects",
        },
        301,
    )
    response.cacheable = False
    return response.header("Location", location)


def _gitlab_redirect(app: FakeForge, req: Request) -> Response | None:
    ident = req.params.get("id", "")
    if ident.isdigit() or app.world.repo_by_path(ident) is not None:
        return None
    owner, _, name = ident.strip("/").rpartition("/")
    repo = app.world.moved(owner, name)
    if repo is None:
        return None
    prefix = f"{_GITLAB_API}/projects/"
    rest = req.raw_path[len(prefix) :].split("/", 1)[1:]
    suffix = "/" + rest[0] if rest else ""
    location = f"{req.base_url}{_GITLAB_API}/projects/{repo.id}{suffix}"
    if req.query_string:
        location += "?" + req.query_string
    body = f"This resource has been moved permanently to {location}".encode()
    response = Response(status=301, body=body, content_type="text/plain", cacheable=False)
    return response.header("Location", location)


def _wrap(route: Route, redirect: Any) -> None:
    handler = route.handler

    def wrapped(app: FakeForge, req: Request) -> Any:
        moved = redirect(app, req)
        return moved if moved is not None else handler(app, req)

    route.handler = wrapped


def _by_id(app: FakeForge, req: Request) -> Any:
    """``GET /repositories/{id}[/rest]``: the ``/repos/{owner}/{repo}[/rest]`` answer."""
    ident = req.params["id"]
    repo = app.world.repos_by_id.get(int(ident)) if ident.isdigit() else None
    if repo is None:
        return app.error("github", 404)
    rest = req.params.get("rest")
    path = f"{_GITHUB_API}/repos/{repo.full_name}" + (f"/{rest}" if rest else "")
    for route in app.routes:
        if route.forge != "github" or "/repositories/" in route.template:
            continue
        params = route.match(req.method, path)
        if params is not None:
            req.params = params
            req.raw_path = path
            return route.handler(app, req)
    return app.error("github", 404)


def register(app: FakeForge) -> None:
    """Wrap the repository routes of GitHub REST and GitLab with their redirects, and add
    GitHub's ``/repositories/{id}`` routes. Call after the forge shapes registered."""
    for route in app.routes:
        if route.git:
            continue
        if route.forge == "github" and route.template.startswith("/repos/{owner}/{repo}"):
            _wrap(route, _github_redirect)
        elif route.forge == "gitlab" and route.template.startswith("/projects/{id}"):
            _wrap(route, _gitlab_redirect)
    app.route("github", "GET", "/repositories/{id}", _by_id)
    app.route("github", "GET", "/repositories/{id}/{rest*}", _by_id)

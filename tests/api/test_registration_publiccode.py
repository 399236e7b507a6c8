"""Registering by a publiccode.yml URL: the file names its repository, which is crawled.

A file URL in a known forge layout names its repository without a request; any other
address of a publiccode.yml is read when the run executes and its ``url`` key decides.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from fakeforge.testing import serve
from registry.errors import URLError
from registry.services import registrations
from registry.settings import Settings
from registry.tables import Project, Repository
from tests.api.conftest import World, problem_of

FIXTURE = Path(__file__).parent.parent / "data" / "real-forges"
FIXTURE = FIXTURE / "github__lutece-secteur-public.json"


@pytest.mark.parametrize(
    ("url", "repository"),
    [
        (
            "https://github.com/italia/publiccode-editor/blob/main/publiccode.yml",
            "https://github.com/italia/publiccode-editor",
        ),
        (
            "https://raw.githubusercontent.com/lutece-platform/lutece-core/develop/publiccode.yml",
            "https://github.com/lutece-platform/lutece-core",
        ),
        (
            "https://gitlab.adullact.net/adullact/pristy/pristy-core/-/raw/develop/publiccode.yml",
            "https://gitlab.adullact.net/adullact/pristy/pristy-core",
        ),
        (
            "https://codeberg.org/ville/portail/src/branch/main/docs/publiccode.yaml",
            "https://codeberg.org/ville/portail",
        ),
        (
            "https://bitbucket.org/atelier/outil/src/master/publiccode.yml",
            "https://bitbucket.org/atelier/outil",
        ),
    ],
)
def test_a_file_url_in_a_forge_layout_names_its_repository(url: str, repository: str) -> None:
    assert registrations.repository_of_publiccode_url(url) == repository
    canonical, _kind = registrations.validate_url(url)
    assert canonical == registrations.validate_url(repository)[0]


def test_other_addresses_are_read_later_and_private_ones_refused_now() -> None:
    url = "https://ville.example.org/logiciels/portail/publiccode.yml"
    assert registrations.repository_of_publiccode_url(url) is None
    assert registrations.validate_url(url) == (url, "publiccode")
    for bad in (
        "http://10.0.0.7/publiccode.yml",
        "http://localhost/x/publiccode.yml",
        "https://user:secret@ville.example.org/publiccode.yml",
        "ftp://ville.example.org/publiccode.yml",
    ):
        with pytest.raises(URLError):
            registrations.validate_url(bad)


@contextmanager
def file_server(body: bytes) -> Iterator[str]:
    """A loopback web server answering ``body`` at /logiciels/publiccode.yml (404 else)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/logiciels/publiccode.yml"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "application/yaml")
            self.end_headers()
            self.wfile.write(body if found else b"not found")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def publiccode(url: str) -> bytes:
    return f"""publiccodeYmlVersion: "0.4"
name: Rendez-vous
url: "{url}"
platforms: [web]
developmentStatus: stable
softwareType: standalone/web
description:
  fr:
    shortDescription: Prise de rendez-vous en ligne
    longDescription: {"Prise de rendez-vous en ligne pour les services municipaux. " * 3}
    features: [rendez-vous]
legal:
  license: BSD-3-Clause
maintenance:
  type: community
  contacts:
    - name: Ville de Paris
localisation:
  localisationReady: true
  availableLanguages: [fr]
""".encode()


async def test_a_publiccode_url_registers_the_repository_it_names(
    client: AsyncTestClient[Any], world: World, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, allow_loopback=True, http_timeout=10)
    with serve([FIXTURE]) as forge:
        repository = f"{forge.url}/gitea/lutece-secteur-public/gru-plugin-appointment"
        with file_server(publiccode(repository)) as site:
            file_url = f"{site}/logiciels/publiccode.yml"
            run = await registrations.register(
                file_url, world.lyon, user_id=None, may_maintain=True, settings=settings
            )
            assert run.status == "queued" and run.target == file_url
            finished = await registrations.execute(run.id, settings)
    assert finished.status == "done", finished.error
    # the run now names the repository, whose project belongs to the publisher
    assert finished.target == registrations.validate_url(repository, allow_loopback=True)[0]
    repo = await Repository.select().where(Repository.url == finished.target).first()
    assert repo is not None and repo["project"] == finished.project_id
    project = await Project.select().where(Project.id == finished.project_id).first()
    assert project is not None and project["publisher"] == world.lyon


async def test_a_publiccode_url_that_names_no_repository_fails_with_the_reason(
    client: AsyncTestClient[Any], world: World, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, allow_loopback=True, http_timeout=10)
    before = await Repository.count()
    with file_server(b"name: [unclosed") as site:
        run = await registrations.register(
            f"{site}/logiciels/publiccode.yml",
            world.lyon,
            user_id=None,
            may_maintain=True,
            settings=settings,
        )
        finished = await registrations.execute(run.id, settings)
        assert finished.status == "failed"
        assert "names no repository" in finished.error
        missing = await registrations.register(
            f"{site}/ailleurs/publiccode.yml",
            world.lyon,
            user_id=None,
            may_maintain=True,
            settings=settings,
        )
        gone = await registrations.execute(missing.id, settings)
        assert gone.status == "failed" and "404" in gone.error
    assert await Repository.count() == before  # nothing stored from either


async def test_the_api_refuses_a_private_publiccode_address(
    client: AsyncTestClient[Any], world: World
) -> None:
    response = await client.post(
        "/api/v1/registrations",
        json={"url": "http://192.168.1.20/publiccode.yml", "publisher_id": world.lyon},
        headers=world.auth("lyon-maintainer"),
    )
    problem = problem_of(response, 422)
    assert "private" in str(problem)

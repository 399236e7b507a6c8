"""Helpers to run the fake forge as a real loopback server from tests and benchmarks.

``with serve(fixtures) as forge:`` starts uvicorn on a free port in a background thread and
yields a :class:`RunningForge` (``forge.url`` is ``http://127.0.0.1:<port>``, ``forge.app`` the
:class:`~fakeforge.app.FakeForge` for stats and faults, ``forge.base(name)`` a forge's API base).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fakeforge.app import PREFIXES, FakeForge, create_app

__all__ = ["RunningForge", "free_port", "serve", "serve_app"]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningForge:
    url: str
    app: FakeForge

    def __str__(self) -> str:
        return self.url

    def base(self, forge: str) -> str:
        """API base URL of ``forge`` (github, github-graphql, gitlab, gitea, forgejo)."""
        return self.url + PREFIXES[forge]

    def clone_url(self, forge: str, path: str) -> str:
        """Git smart-HTTP URL of ``owner/repo`` (GitLab: ``group/sub/repo``) on ``forge``."""
        return f"{self.url}/{forge}/{path}.git"


@contextmanager
def serve_app(app: FakeForge, host: str = "127.0.0.1") -> Iterator[RunningForge]:
    """Serve an existing app on a free port until the block exits."""
    import uvicorn

    port = free_port(host)
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"fakeforge:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake forge did not start")
        time.sleep(0.01)
    try:
        yield RunningForge(f"http://{host}:{port}", app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serve(
    fixtures: Sequence[str | Path | dict[str, Any]] = (),
    synthetic: Sequence[str] = (),
    **options: Any,
) -> Iterator[RunningForge]:
    """Build an app with :func:`fakeforge.create_app` (same arguments) and serve it."""
    app = create_app(fixtures, synthetic, **options)
    try:
        with serve_app(app) as running:
            yield running
    finally:
        app.git.cleanup()

"""`communs serve` as a user runs it: a subprocess on a free port with a fresh data dir."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMUNS_")}
    env.update(extra)
    return env


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    data_dir = tmp_path / "fresh"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "communs",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"communs serve exited: {process.stdout.read() if process.stdout else ''}"
                )
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("communs serve did not answer within 60 s")
            time.sleep(0.2)
        yield base, data_dir
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def test_serve_answers_the_openapi_schema_and_the_home_page(served: tuple[str, Path]) -> None:
    base, data_dir = served
    schema = httpx.get(f"{base}/schema/openapi.json", timeout=10)
    assert schema.status_code == 200
    document = schema.json()
    assert document["openapi"].startswith("3.1")
    assert "/api/v1/health" in document["paths"]
    home = httpx.get(f"{base}/", timeout=10)
    assert home.status_code == 200
    assert "text/html" in home.headers["content-type"]
    assert "reusable public-sector software" in home.text
    health = httpx.get(f"{base}/api/v1/health", timeout=10).json()
    assert health == {
        "status": "ok",
        "instance": "Communs",
        "database": "sqlite",
        "tasks": "in-process",
    }
    # the embedded default: an SQLite file in the data directory, migrated on start
    assert (data_dir / "communs.sqlite3").is_file()


def test_unknown_paths_answer_problem_details(served: tuple[str, Path]) -> None:
    base, _ = served
    response = httpx.get(f"{base}/api/v1/nothing-here", timeout=10)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 404


def test_a_foreign_host_header_is_refused(served: tuple[str, Path]) -> None:
    base, _ = served
    response = httpx.get(f"{base}/api/v1/health", headers={"Host": "evil.example"}, timeout=10)
    assert response.status_code == 400
    assert "not served here" in response.json()["detail"]


def test_an_unknown_web_path_answers_a_page_to_a_browser(served: tuple[str, Path]) -> None:
    base, _ = served
    response = httpx.get(f"{base}/nothing-here", headers={"Accept": "text/html"}, timeout=10)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Page not found" in response.text
    api = httpx.get(f"{base}/api/v1/nothing-here", headers={"Accept": "text/html"}, timeout=10)
    assert api.headers["content-type"].startswith("application/problem+json")

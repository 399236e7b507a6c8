"""The `communs` command line: help everywhere, users, tokens, clean errors."""

from __future__ import annotations

import os
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from communs.cli import main


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*prefix, name)))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("path", _commands(main), ids=lambda p: " ".join(p) or "communs")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    assert (command.help or "").strip(), f"`communs {' '.join(path)}` has no help text"


@pytest.fixture
def runner_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("COMMUNS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COMMUNS_DATA_DIR", str(tmp_path))
    from registry.settings import get_settings

    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_createuser_then_token_create_prints_a_token_that_authenticates(runner_env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["publishers", "import"]).exit_code == 0
    created = runner.invoke(
        main,
        [
            "createuser",
            "marie",
            "--email",
            "m@paris.fr",
            "--password",
            "correct horse",
            "--member-of",
            "pso-2bd1ef52-1b9c-4f97-babd-ab8b56f1b5a1",
        ],
    )
    assert created.exit_code == 1
    assert "no publisher with slug" in created.output
    created = runner.invoke(main, ["createuser", "marie", "--password", "correct horse"])
    assert created.exit_code == 0, created.output
    again = runner.invoke(main, ["createuser", "marie", "--password", "correct horse"])
    assert again.exit_code == 1 and "already exists" in again.output
    token = runner.invoke(main, ["token", "create", "marie", "--name", "laptop"])
    assert token.exit_code == 0, token.output
    clear = token.output.strip()
    assert clear.startswith("cmn_")

    import asyncio

    from registry import db
    from registry.services import accounts

    async def who() -> str:
        db.use_database(f"sqlite:///{runner_env / 'communs.sqlite3'}")
        return (await accounts.user_for_token(clear))["username"]

    assert asyncio.run(who()) == "marie"
    # nowhere in the database is the clear token
    assert clear.encode() not in (runner_env / "communs.sqlite3").read_bytes()


def test_worker_without_a_broker_says_why(runner_env: Path) -> None:
    result = CliRunner().invoke(main, ["worker"])
    assert result.exit_code == 2
    assert "COMMUNS_BROKER_URL is not set" in result.output


def test_a_malformed_publisher_file_exits_1_with_file_and_line(runner_env: Path) -> None:
    bad = runner_env / "bad.yml"
    bad.write_text("github.com:\n  forge: github\n  owners:\n    a:\n      pso_id: [1, 2]\n")
    result = CliRunner().invoke(main, ["publishers", "import", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:5: github.com/a: pso_id must be a single value" in result.output

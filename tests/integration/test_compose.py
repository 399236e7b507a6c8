"""compose.yaml cannot run here (no Docker engine), so it is checked against the code:
every Communs service runs a real `communs` command with options that command
accepts, and sets only variables that are settings."""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from communs.cli import main
from registry.settings import Settings

ROOT = Path(__file__).parents[2]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
COMMUNS_SERVICES = ("api", "worker", "beat")


def _resolve(argv: list[str]) -> tuple[click.Command, list[str]]:
    command: click.Command = main
    rest = list(argv)
    while isinstance(command, click.Group) and rest and rest[0] in command.commands:
        command = command.commands[rest.pop(0)]
    return command, rest


def test_the_production_layout_has_its_five_services_with_health_checks() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"api", "worker", "beat", "postgres", "redis"}
    for name in ("api", "worker", "postgres", "redis"):
        assert "healthcheck" in services[name], name
    assert services["api"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_every_service_command_is_a_real_communs_command() -> None:
    for name in COMMUNS_SERVICES:
        argv = COMPOSE["services"][name]["command"]
        assert argv[0] == "communs", name
        command, rest = _resolve(argv[1:])
        assert command is not main and not isinstance(command, click.Group), (name, argv)
        if name == "api":
            # options are parsed by the real command: an unknown one would fail here
            context = command.make_context("communs serve", rest, resilient_parsing=False)
            assert context.params["host"] == "0.0.0.0"
            assert context.params["port"] == 8000
        else:
            # worker and beat hand their arguments to Celery, which must know them
            from celery.bin.beat import beat as celery_beat
            from celery.bin.worker import worker as celery_worker

            celery_command = celery_worker if name == "worker" else celery_beat
            known = {opt for p in celery_command.params for opt in getattr(p, "opts", [])}
            assert {a for a in rest if a.startswith("--")} <= known, (name, rest)


def test_every_variable_set_is_a_setting() -> None:
    settings = set(Settings.names())
    for name in COMMUNS_SERVICES:
        env = COMPOSE["services"][name]["environment"]
        unknown = set(env) - settings
        assert not unknown, f"{name} sets variables Communs does not read: {unknown}"
        assert "COMMUNS_DATABASE_URL" in env and env["COMMUNS_DATABASE_URL"].startswith(
            "postgresql://"
        )
        assert env["COMMUNS_BROKER_URL"].startswith("redis://")

"""The one settings object."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.errors import ValidationError
from registry.settings import Settings

DOCS = Path(__file__).parents[2] / "docs" / "configuration.md"


def test_no_configuration_at_all_runs_on_sqlite_in_the_data_dir_with_tasks_in_process() -> None:
    settings = Settings.from_env({})
    assert settings.is_sqlite
    assert settings.effective_database_url.endswith("communs-data/communs.sqlite3")
    assert settings.tasks_in_process
    assert settings.effective_result_backend is None


def test_values_are_read_from_communs_variables_with_types() -> None:
    settings = Settings.from_env(
        {
            "COMMUNS_DATABASE_URL": "postgresql://u@db/communs",
            "COMMUNS_BROKER_URL": "redis://redis:6379/0",
            "COMMUNS_ALLOW_LOOPBACK": "true",
            "COMMUNS_HTTP_TIMEOUT": "5",
            "COMMUNS_GITHUB_TOKENS": "a, b,,c",
            "COMMUNS_DATA_DIR": "/var/lib/communs",
            "OTHER": "ignored",
        }
    )
    assert not settings.is_sqlite
    assert settings.effective_result_backend == "redis://redis:6379/0"
    assert settings.allow_loopback is True
    assert settings.http_timeout == 5
    assert settings.github_tokens == ("a", "b", "c")
    assert settings.data_dir == Path("/var/lib/communs")
    assert settings.unknown == ()


def test_a_misspelt_variable_is_reported_not_silently_ignored() -> None:
    assert Settings.from_env({"COMMUNS_DATABSE_URL": "x"}).unknown == ("COMMUNS_DATABSE_URL",)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("COMMUNS_HTTP_TIMEOUT", "soon", "whole number"),
        ("COMMUNS_ALLOW_LOOPBACK", "maybe", "true or false"),
    ],
)
def test_a_bad_value_names_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=f"{name}.*{message}"):
        Settings.from_env({name: value})


def test_the_secret_key_is_created_once_and_kept(tmp_path: Path) -> None:
    settings = Settings.from_env({"COMMUNS_DATA_DIR": str(tmp_path)})
    first = settings.effective_secret_key()
    assert len(first) > 40
    assert settings.effective_secret_key() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_forge_tokens_are_found_by_host() -> None:
    settings = Settings.from_env({"COMMUNS_FORGE_TOKENS": "gitlab.com=glpat-1,codeberg.org=x"})
    assert settings.token_for_host("GitLab.com") == "glpat-1"
    assert settings.token_for_host("example.org") is None


def test_every_setting_is_documented() -> None:
    text = DOCS.read_text()
    missing = [name for name in Settings.names() if f"`{name}`" not in text]
    assert not missing, f"undocumented in docs/configuration.md: {missing}"

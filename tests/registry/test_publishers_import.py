"""Importing publisher lists: the real French list, twice, and malformed files."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.errors import ImportFileError
from registry.services import changelog
from registry.services.publishers import default_list_path, import_account_list
from registry.tables import ForgeAccount, Publisher, PublisherIdentifier

FR_LIST = Path(__file__).parents[1] / "data" / "publishers" / "fr-comptes-organismes-publics.yml"


def test_the_shipped_default_list_is_the_french_list() -> None:
    assert default_list_path().read_bytes() == FR_LIST.read_bytes()


async def test_the_french_list_creates_about_300_owners_on_93_forges(database: str) -> None:
    report = await import_account_list(FR_LIST)
    owners = await ForgeAccount.count().where(ForgeAccount.owner != "")
    whole_forges = await ForgeAccount.count().where(ForgeAccount.owner == "")
    forges = {row["base_url"] for row in await ForgeAccount.select(ForgeAccount.base_url)}
    assert owners == 300
    assert whole_forges == 87
    assert len(forges) == 93
    assert report.accounts_created == 387
    # the City of Paris publishes Lutece under two GitHub accounts
    paris = await ForgeAccount.select().where(
        ForgeAccount.owner.is_in(["lutece-platform", "lutece-secteur-public"])
    )
    assert {(a["forge_kind"], a["base_url"]) for a in paris} == {("github", "https://github.com")}
    assert len({a["publisher"] for a in paris}) == 1
    # identifiers are kept
    assert await PublisherIdentifier.count().where(PublisherIdentifier.scheme == "pso_id") > 100
    gogs = await ForgeAccount.select().where(ForgeAccount.forge_kind == "gogs")
    assert [a["base_url"] for a in gogs] == ["https://gogs.univ-littoral.fr"]
    ignored = await ForgeAccount.count().where(ForgeAccount.ignored_since.is_not_null())
    assert ignored > 0
    # the real list has owners without pso_id, and a key given twice: said, not hidden
    assert any("no pso_id" in w for w in report.warnings)
    assert any("given twice" in w for w in report.warnings)


async def test_importing_the_same_list_twice_changes_nothing(database: str) -> None:
    await import_account_list(FR_LIST)
    publishers, accounts = await Publisher.count(), await ForgeAccount.count()
    logged = await changelog.count()
    again = await import_account_list(FR_LIST)
    assert not again.changed
    assert (await Publisher.count(), await ForgeAccount.count()) == (publishers, accounts)
    assert await changelog.count() == logged


BROKEN = {
    "unknown_forge.yml": (
        "github.com:\n  forge: github\n  owners:\n    a:\n      pso_id: x1\n"
        "example.org:\n  forge: svn\n",
        "7: example.org: unknown forge 'svn'",
    ),
    "bad_date.yml": (
        "github.com:\n  forge: github\n  owners:\n    a:\n      pso_id: x1\n"
        "    b:\n      pso_id: x2\n      ignored_since: last year\n",
        "8: github.com/b: ignored_since is not a date",
    ),
    "not_yaml.yml": ("github.com:\n  forge: github\n  owners: [a, b\n", "not valid YAML"),
    "owners_list.yml": (
        "github.com:\n  forge: github\n  owners:\n    - a\n",
        "owners must be a mapping",
    ),
    "bad_url.yml": (
        "github.com:\n  forge: github\n  owners:\n    a:\n      pso_id: x1\n"
        "      ospo_url: javascript:alert(1)\n",
        "6: github.com/a: ospo_url is not an http(s) URL",
    ),
    "listed_twice.yml": (
        "github.com:\n  forge: github\n  owners:\n    Etalab:\n      pso_id: x1\n"
        "    etalab:\n      pso_id: x1\n",
        "6: github.com/etalab: listed twice (first on line 4)",
    ),
    "empty.yml": ("", "the file is empty"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
async def test_a_malformed_list_names_file_line_and_problem_and_imports_nothing(
    database: str, tmp_path: Path, name: str
) -> None:
    text, expected = BROKEN[name]
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ImportFileError) as raised:
        await import_account_list(path)
    message = str(raised.value)
    assert message.startswith(str(path))
    assert expected in message
    assert await Publisher.count() == 0
    assert await ForgeAccount.count() == 0


async def test_a_binary_file_is_refused_cleanly(database: str, tmp_path: Path) -> None:
    path = tmp_path / "junk.yml"
    path.write_bytes(b"\xff\xfe\x00garbage\x00")
    with pytest.raises(ImportFileError, match="not UTF-8"):
        await import_account_list(path)


async def test_a_problem_late_in_the_file_imports_nothing_before_it(
    database: str, tmp_path: Path
) -> None:
    good = FR_LIST.read_text()
    path = tmp_path / "late.yml"
    path.write_text(good + "\nexample.org:\n  forge: mercurial\n")
    with pytest.raises(ImportFileError, match="unknown forge"):
        await import_account_list(path)
    assert await ForgeAccount.count() == 0

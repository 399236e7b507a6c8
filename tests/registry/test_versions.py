"""Tags to versions, on the spellings public-sector forges really use."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest

from registry.errors import InvalidVersionError
from registry.versions import (
    ParsedVersion,
    RejectedTag,
    TagInfo,
    latest_published,
    latest_stable,
    parse_tag,
    prefix_belongs_to,
    sort_by_precedence,
    summarise_tags,
)

DATA = Path(__file__).resolve().parent.parent / "data"
LUTECE_TSV = DATA / "versions" / "lutece-tags.tsv"
REAL_FORGES = DATA / "real-forges"


def _lutece_tags() -> dict[str, list[TagInfo]]:
    by_repo: dict[str, list[TagInfo]] = defaultdict(list)
    with LUTECE_TSV.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            by_repo[row["repo"]].append(
                TagInfo(row["tag"], datetime.fromisoformat(row["tag_creatordate"]), row["commit"])
            )
    return dict(by_repo)


def _real_forge_repositories() -> list[tuple[str, list[TagInfo]]]:
    repositories = []
    for path in sorted(REAL_FORGES.glob("*.json")):
        account = json.loads(path.read_text(encoding="utf-8"))
        for repo in account["repositories"]:
            tags = [
                TagInfo(t["name"], datetime.fromisoformat(t["date"]), t.get("commit"))
                for t in repo["tags"]
            ]
            repositories.append((repo["full_name"], tags))
    return repositories


@pytest.mark.parametrize(
    ("tag", "normalised", "prefix", "prerelease"),
    [
        ("1.2.3", "1.2.3", "", False),
        ("v1.2.3", "1.2.3", "", False),
        ("V1.2", "1.2.0", "", False),
        ("1.2", "1.2.0", "", False),
        ("1", "1.0.0", "", False),
        ("v.2.2.5", "2.2.5", "", False),
        ("lutece-core-7.0.5", "7.0.5", "lutece-core-", False),
        ("plugin-forms-3.1.4", "3.1.4", "plugin-forms-", False),
        ("lutece-form-plugin-forms-1.0.6", "1.0.6", "lutece-form-plugin-forms-", False),
        ("linkedevents-v3.29.4", "3.29.4", "linkedevents-", False),
        ("helm/v0.6.0", "0.6.0", "helm/", False),
        ("lutece-core-5.1.0-RC-01", "5.1.0-rc.1", "lutece-core-", True),
        ("1.0-rc1", "1.0.0-rc.1", "", True),
        ("v2.0.1-RC2", "2.0.1-rc.2", "", True),
        ("v1.32.3-rc.1", "1.32.3-rc.1", "", True),
        ("plugin-forms-3.1.4-beta-02", "3.1.4-beta.2", "plugin-forms-", True),
        ("1.0.0.alpha.3", "1.0.0-alpha.3", "", True),
        ("1.0rc1", "1.0.0-rc.1", "", True),
        ("3.2.0-SNAPSHOT", "3.2.0-snapshot", "", True),
        ("2.13-dev-produit-SNAPSHOT.1", "2.13.0-dev.produit.snapshot.1", "", True),
        ("v6.0.7-dev", "6.0.7-dev", "", True),
        ("1.0.0-main.56.ddeb32e", "1.0.0-main.56.ddeb32e", "", True),
        ("1.5.5-front", "1.5.5-front", "", True),
        ("v2.7.4+fix_browser", "2.7.4+fix.browser", "", False),
        ("v2.5.0+fa299e9", "2.5.0+fa299e9", "", False),
        ("6.12.4.1", "6.12.4+1", "", False),
        ("release-2020-01", "2020.1.0", "release-", False),
        ("rel_1_2_0", "1.2.0", "rel_", False),
        ("2024.03.1", "2024.3.1", "", False),
        ("refs/tags/v1.0.0", "1.0.0", "", False),
        ("x-2fa-1.0", "1.0.0", "x-2fa-", False),
    ],
)
def test_real_tag_spellings_read_as_semver(
    tag: str, normalised: str, prefix: str, prerelease: bool
) -> None:
    parsed = parse_tag(tag)
    assert parsed.tag == tag
    assert parsed.normalised == normalised
    assert parsed.prefix == prefix
    assert parsed.prerelease is prerelease
    assert parsed.stable is not prerelease


@pytest.mark.parametrize(
    ("tag", "branch", "normalised"),
    [
        ("plugin-forms-3.0.1-develop-3.0.x", "3.0.x", "3.0.1-develop.3.0.x"),
        ("lutece-core-7.1.8-beta-01-develop7.x", "7.x", "7.1.8-beta.1.develop.7.x"),
    ],
)
def test_maintenance_branch_builds_are_not_stable(tag: str, branch: str, normalised: str) -> None:
    parsed = parse_tag(tag)
    assert parsed.prerelease
    assert parsed.maintenance_branch == branch
    assert parsed.normalised == normalised
    assert any("maintenance-branch" in note for note in parsed.notes)


def test_changes_made_to_read_a_tag_are_noted() -> None:
    assert "zero-filled to three numbers" in parse_tag("V1.2").notes
    assert "leading zeros dropped" in parse_tag("2024.03.1").notes
    assert parse_tag("2024.03.1").calendar
    four = parse_tag("6.12.4.1")
    assert four.revision == 1
    assert any("revision" in note for note in four.notes)
    assert parse_tag("1.2.3").notes == ()


def test_repository_name_is_stripped_before_scanning() -> None:
    # Without the name, "v2" would be read as the version and "1.0.0" as a pre-release.
    assert parse_tag("api-v2-1.0.0").normalised == "2.0.0-1.0.0"
    parsed = parse_tag("api-v2-1.0.0", repository="example/api-v2")
    assert parsed.normalised == "1.0.0"
    assert parsed.prefix == "api-v2-"
    assert parse_tag("Plugin-X9-2.1", artifact="plugin-x9").normalised == "2.1.0"


@pytest.mark.parametrize(
    ("tag", "reason"),
    [
        ("", "empty"),
        ("latest", "no version number"),
        ("deprecated", "no version number"),
        ("r211109", "no version number"),
        ("PROD_20140604", "date or build stamp"),
        ("PREPROD_20130920_2", "date or build stamp"),
        ("1.2.3.4.5", "more than four numbers"),
        ("1.2.3-", "empty pre-release suffix"),
        ("v1.2.3-rc@1", "characters a version cannot contain"),
        ("1.2.3 final", "spaces or control characters"),
        ("v1.0\x00", "spaces or control characters"),
        ("release-2020-13", "month 13"),
        ("1." + "9" * 20, "longer than 9 digits"),
        ("v" + "1" * 300, "longer than 255 characters"),
        ("١٢٣", "no version number"),  # Arabic-Indic digits are not version digits
    ],
)
def test_tags_that_are_not_versions_say_why(tag: str, reason: str) -> None:
    with pytest.raises(InvalidVersionError) as caught:
        parse_tag(tag)
    assert reason in str(caught.value)
    assert caught.value.errors and caught.value.errors[0]["field"] == "tag"
    assert len(str(caught.value)) < 200


def test_non_text_is_refused_with_the_domain_error() -> None:
    with pytest.raises(InvalidVersionError, match="must be text"):
        parse_tag(b"1.2.3")  # type: ignore[arg-type]


def test_precedence_is_numeric_not_alphabetical() -> None:
    tags = [
        "lutece-core-7.0.2",
        "lutece-core-7.0.10",
        "lutece-core-7.0.0-RC-09",
        "lutece-core-7.0.0-RC-10",
        "lutece-core-7.0.0",
        "lutece-core-7.0.0-RC-02",
        "6.12.4.1",
        "6.12.4",
        "6.12.4-beta-01",
        "6.12.5-rc1",
    ]
    ordered = [p.tag for p in sort_by_precedence(parse_tag(t) for t in tags)]
    assert ordered == [
        "6.12.4-beta-01",
        "6.12.4",
        "6.12.4.1",
        "6.12.5-rc1",
        "lutece-core-7.0.0-RC-02",
        "lutece-core-7.0.0-RC-09",
        "lutece-core-7.0.0-RC-10",
        "lutece-core-7.0.0",
        "lutece-core-7.0.2",
        "lutece-core-7.0.10",
    ]


def test_every_lutece_tag_is_a_version() -> None:
    for repo, tags in _lutece_tags().items():
        summary = summarise_tags(tags, repository=repo)
        assert summary.rejected == (), repo
        assert summary.foreign == (), repo
        assert len(summary.versions) == len(tags)
    assert sum(len(tags) for tags in _lutece_tags().values()) == 201


@pytest.mark.parametrize(
    ("repo", "stable", "published"),
    [
        ("lutece-platform/lutece-core", "lutece-core-8.0.1", "lutece-core-7.1.8"),
        ("lutece-platform/lutece-form-plugin-forms", "plugin-forms-3.1.3", "plugin-forms-3.1.3"),
        ("lutece-platform/lutece-tech-plugin-rest", "plugin-rest-3.3.3", "plugin-rest-3.3.3"),
        (
            "lutece-platform/lutece-wf-module-workflow-forms",
            "module-workflow-forms-3.0.0",
            "module-workflow-forms-2.3.5",
        ),
        (
            "lutece-secteur-public/gru-plugin-appointment",
            "plugin-appointment-3.0.8",
            "plugin-appointment-3.0.8",
        ),
    ],
)
def test_lutece_latest_stable_and_latest_published(repo: str, stable: str, published: str) -> None:
    tags = _lutece_tags()[repo]
    best = latest_stable(tags, repository=repo)
    newest = latest_published(tags, repository=repo)
    assert best is not None and best.tag == stable
    assert newest is not None and newest.tag == published
    summary = summarise_tags(tags, repository=repo)
    assert summary.latest_stable == best
    assert summary.latest_published == newest


def test_lutece_core_maintenance_lines_interleave() -> None:
    tags = _lutece_tags()["lutece-platform/lutece-core"]
    by_tag = {t.tag: t for t in tags}
    assert by_tag["lutece-core-8.0.0"].date < by_tag["lutece-core-7.1.7"].date
    newest_any = latest_published(tags, include_prereleases=True)
    assert newest_any is not None and newest_any.tag == "lutece-core-7.1.9-beta-01"
    summary = summarise_tags(tags)
    assert [v.tag for v in summary.versions[:3]] == [
        "lutece-core-8.0.1",
        "lutece-core-8.0.0",
        "lutece-core-7.1.9-beta-01",
    ]


def test_no_develop_or_beta_tag_is_ever_latest_stable() -> None:
    for repo, tags in _lutece_tags().items():
        # every prefix of the history, as the crawler saw it over the years
        for end in range(1, len(tags) + 1):
            best = latest_stable(tags[:end], repository=repo)
            if best is None:
                continue
            lowered = best.tag.lower()
            assert "develop" not in lowered and "beta" not in lowered and "rc" not in lowered
            assert not best.prerelease


def test_plain_strings_are_accepted_as_tags_without_dates() -> None:
    summary = summarise_tags(["v1.0.0", "v1.1.0-rc.1", "latest", "v0.9.0"])
    assert summary.latest_stable is not None and summary.latest_stable.tag == "v1.0.0"
    assert summary.latest_published is None  # no dates, no "newest"
    assert [r.tag for r in summary.rejected] == ["latest"]
    assert [(r.tag, isinstance(r, RejectedTag)) for r in summary.per_tag] == [
        ("v1.0.0", False),
        ("v1.1.0-rc.1", False),
        ("latest", True),
        ("v0.9.0", False),
    ]


def test_equal_versions_prefer_the_newer_tag() -> None:
    old = TagInfo("1.2.0", datetime(2020, 1, 1))
    new = TagInfo("v1.2.0", datetime(2021, 1, 1))
    best = latest_stable([new, old])
    assert best is not None and best.tag == "v1.2.0"


def test_foreign_prefixes_are_kept_but_never_latest() -> None:
    assert prefix_belongs_to("lutece-maven-plugin-", "tools-maven-lutece-plugin")
    assert prefix_belongs_to("v", "anything")
    assert prefix_belongs_to("release-", "anything")
    assert not prefix_belongs_to("helm/v", "italia/developers-italia-api")
    assert not prefix_belongs_to("plugin-blog-", "lutece-wf-plugin-workflow")
    tags = ["helm/v9.0.0", "v1.4.0", "v1.3.0"]
    summary = summarise_tags(tags, repository="italia/developers-italia-api")
    assert [v.tag for v in summary.foreign] == ["helm/v9.0.0"]
    assert summary.latest_stable is not None and summary.latest_stable.tag == "v1.4.0"
    # without the repository name nothing is foreign
    assert summarise_tags(tags).latest_stable.tag == "helm/v9.0.0"  # type: ignore[union-attr]


REAL_NOT_VERSIONS = {
    # non-version names
    "latest",
    "assets",
    "deprecated",
    # entcore's deployment stamps
    *{f"PROD_{d}" for d in ("20140604", "20140521", "20140312", "20140219", "20140115")},
    *{f"PROD_{d}" for d in ("20131223", "20131211", "20131204", "20131120", "20131030")},
    "PROD_20131001",
    *{f"PREPROD_{d}" for d in ("20131212", "20130927", "20130925", "20130920", "20130916")},
    *{f"PREPROD_{d}" for d in ("20130911", "20130910", "20130909", "20130920_2")},
    "PREPROD_20130910_2",
}


def test_every_real_forge_tag_parses_or_says_why() -> None:
    repositories = _real_forge_repositories()
    total = sum(len(tags) for _, tags in repositories)
    assert total == 4124
    rejected = []
    for full_name, tags in repositories:
        summary = summarise_tags(tags, repository=full_name)
        assert len(summary.versions) + len(summary.foreign) + len(summary.rejected) == len(tags)
        for item in summary.rejected:
            assert item.reason
            rejected.append(item.tag)
        if summary.versions and any(v.stable for v in (s.parsed for s in summary.versions)):
            assert summary.latest_stable is not None and not summary.latest_stable.prerelease
    assert set(rejected) == REAL_NOT_VERSIONS
    assert len(rejected) == len(REAL_NOT_VERSIONS) == 24  # 24 of 4,124


@pytest.mark.parametrize(
    ("repo", "stable"),
    [
        ("edificeio/entcore", "6.15.4"),
        ("codegouvfr/react-dsfr", "v1.33.0"),
        ("italia/developers-italia-api", "v1.4.0"),
        ("italia/spid-saml-check", "v.2.2.5"),
        ("lutece-platform/lutece-wf-plugin-workflow", "plugin-workflow-7.0.1"),
        ("lutece-platform/tools-maven-lutece-plugin", "lutece-maven-plugin-7.1.0"),
    ],
)
def test_real_forge_latest_stable(repo: str, stable: str) -> None:
    tags = dict(_real_forge_repositories())[repo]
    best = latest_stable(tags, repository=repo)
    assert best is not None and best.tag == stable


def test_parsed_version_keeps_a_semver_version() -> None:
    parsed = parse_tag("lutece-core-7.1.8-beta-01-develop7.x")
    assert isinstance(parsed, ParsedVersion)
    assert parsed.version.major == 7 and parsed.version.minor == 1 and parsed.version.patch == 8
    assert parsed.version.prerelease == "beta.1.develop.7.x"


def test_a_working_copy_in_a_folder_of_another_name_still_has_its_latest_stable() -> None:
    # `communs check /tmp/chk` on a clone of lutece-core: the folder name is not the
    # repository's, so no tag prefix matches it; the tags' own prefix must be used.
    tags = ["lutece-core-7.1.8", "lutece-core-8.0.1", "lutece-core-8.0.2-RC-01"]
    assert latest_stable(tags, repository="chk").parsed.normalised == "8.0.1"
    summary = summarise_tags(tags, repository="chk")
    assert summary.foreign == ()
    assert summary.latest_stable.tag == "lutece-core-8.0.1"


def test_another_components_tags_stay_foreign_when_the_repository_has_its_own() -> None:
    tags = ["module-workflow-forms-2.3.5", "plugin-blog-9.9.9"]
    assert (
        latest_stable(tags, repository="lutece-wf-module-workflow-forms").tag
        == "module-workflow-forms-2.3.5"
    )

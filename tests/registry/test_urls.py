"""Canonical repository URLs: many spellings, one row; hostile input refused clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.errors import URLError, ValidationError
from registry.urls import (
    MAX_URL_LENGTH,
    canonical_url,
    forge_kind_hint,
    is_ip_literal,
    parse_repository_url,
)

REAL_FORGES = Path(__file__).resolve().parent.parent / "data" / "real-forges"

SAME_REPOSITORY = {
    "https://github.com/lutece-platform/lutece-core": [
        "https://github.com/lutece-platform/lutece-core",
        "https://github.com/Lutece-Platform/Lutece-Core.git",
        "https://github.com/lutece-platform/lutece-core/",
        "https://github.com/lutece-platform/lutece-core.git/",
        "http://github.com/lutece-platform/lutece-core",
        "https://www.github.com/lutece-platform/lutece-core",
        "HTTPS://GITHUB.COM/lutece-platform/lutece-core",
        "https://github.com:443/lutece-platform/lutece-core",
        "https://github.com./lutece-platform/lutece-core",
        "https://github.com//lutece-platform//lutece-core//",
        "https://github.com/lutece-platform/lutece-core?tab=readme#readme",
        "https://github.com/lutece-platform/lutece-core/tree/develop/src",
        "https://github.com/lutece-platform/lutece-core/releases/tag/lutece-core-8.0.1",
        "git@github.com:lutece-platform/lutece-core.git",
        "git@github.com:Lutece-Platform/lutece-core",
        "git@github.com:/lutece-platform/lutece-core.git",
        "ssh://git@github.com/lutece-platform/lutece-core.git",
        "ssh://git@github.com:22/lutece-platform/lutece-core",
        "git+ssh://git@github.com/lutece-platform/lutece-core.git",
        "git+https://github.com/lutece-platform/lutece-core.git",
        "git://github.com/lutece-platform/lutece-core.git",
        "github.com/lutece-platform/lutece-core",
        "www.github.com/lutece-platform/lutece-core",
        "https://someone@github.com/lutece-platform/lutece-core",
        "  https://github.com/lutece-platform/lutece-core\n",
        "https://github.com/lutece%2Dplatform/lutece-core",
    ],
    "https://gitlab.example.org/Group/Sub/repo": [
        "ssh://git@gitlab.example.org:22/Group/Sub/repo.git",
        "ssh://git@gitlab.example.org:2222/Group/Sub/repo.git",
        "git@gitlab.example.org:Group/Sub/repo.git",
        "https://gitlab.example.org/Group/Sub/repo",
        "https://GITLAB.example.org/Group/Sub/repo.git",
        "http://gitlab.example.org:80/Group/Sub/repo/",
        "https://gitlab.example.org/Group/Sub/repo/-/tree/main?ref_type=heads",
        "https://gitlab.example.org/Group/Sub/repo/-/merge_requests/12",
    ],
    "https://gitlab.com/lutece-secteur-public/group/sub/repo": [
        "https://gitlab.com/Lutece-Secteur-Public/Group/Sub/Repo",
        "git@gitlab.com:lutece-secteur-public/group/sub/repo.git",
        "https://www.gitlab.com/lutece-secteur-public/group/sub/repo/-/issues",
    ],
    "https://bitbucket.org/team/repo": [
        "https://user@bitbucket.org/Team/Repo.git",
        "git@bitbucket.org:team/repo.git",
        "https://bitbucket.org/team/repo/src/master/",
    ],
    "https://codeberg.org/org/repo": [
        "https://codeberg.org/Org/Repo.git",
        "git@codeberg.org:org/repo.git",
        "https://codeberg.org/org/repo/src/branch/main",
    ],
    "https://forge.example.fr:8443/Ville/Outil": [
        "https://forge.example.fr:8443/Ville/Outil.git",
        "http://forge.example.fr:8443/Ville/Outil/",
    ],
    "https://forge.example.fr/Ville/Outil": [
        "http://forge.example.fr:443/Ville/Outil",
        "https://forge.example.fr:443/Ville/Outil",
        "http://forge.example.fr:80/Ville/Outil",
    ],
    "https://xn--bcher-kva.example/a/b": [
        "https://bücher.example/a/b",
        "https://XN--BCHER-KVA.example/a/b.git",
    ],
    "https://[2001:db8::1]/org/repo": [
        "https://[2001:DB8:0:0:0:0:0:1]/org/repo",
        "git@[2001:db8::1]:org/repo.git",
        "ssh://git@[2001:db8::1]:2222/org/repo",
    ],
    "https://192.0.2.7:8080/org/repo": [
        "http://192.0.2.7:8080/org/repo.git",
    ],
}


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [(s, c) for c, spellings in SAME_REPOSITORY.items() for s in spellings],
)
def test_spellings_of_one_repository_give_one_canonical_url(spelling: str, canonical: str) -> None:
    assert canonical_url(spelling) == canonical
    # the canonical form is a fixed point
    assert canonical_url(canonical) == canonical


def test_self_hosted_paths_keep_their_case_and_known_forges_do_not() -> None:
    assert canonical_url("https://git.example.org/Ville/Outil") != canonical_url(
        "https://git.example.org/ville/outil"
    )
    assert canonical_url("https://github.com/Ville/Outil") == canonical_url(
        "https://github.com/ville/outil"
    )


def test_www_is_kept_on_self_hosted_forges() -> None:
    assert canonical_url("https://www.forge.example/a/b") == "https://www.forge.example/a/b"


def test_parse_repository_url_gives_a_crawler_the_parts() -> None:
    ref = parse_repository_url("ssh://git@gitlab.example.org:2222/Group/Sub/repo.git")
    assert (ref.host, ref.port, ref.path) == ("gitlab.example.org", None, "Group/Sub/repo")
    assert (ref.namespace, ref.owner, ref.name) == ("Group/Sub", "Group", "repo")
    assert ref.segments == ("Group", "Sub", "repo")
    assert ref.forge is None and not ref.ip_literal
    assert ref.url == "https://gitlab.example.org/Group/Sub/repo"

    gh = parse_repository_url("git@github.com:Lutece-Platform/Lutece-Core.git")
    assert (gh.forge, gh.owner, gh.name) == ("github", "lutece-platform", "lutece-core")

    ip = parse_repository_url("https://[2001:db8::1]:8443/org/repo")
    assert (ip.host, ip.port, ip.ip_literal) == ("2001:db8::1", 8443, True)


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("github.com", "github"),
        ("GitHub.com", "github"),
        ("www.github.com", "github"),
        ("gitlab.com", "gitlab"),
        ("codeberg.org", "gitea"),
        ("bitbucket.org", "bitbucket"),
        ("gitlab.example.org", None),
        ("github.com.evil.example", None),
        ("notgithub.com", None),
    ],
)
def test_forge_kind_hint_knows_only_the_well_known_hosts(host: str, kind: str | None) -> None:
    assert forge_kind_hint(host) == kind


def test_ip_literals_are_reported_not_refused() -> None:
    assert is_ip_literal("192.0.2.7")
    assert is_ip_literal("[2001:db8::1]")
    assert is_ip_literal("::1")
    assert not is_ip_literal("github.com")
    assert not is_ip_literal("192.0.2.7.example")
    assert parse_repository_url("http://127.0.0.1:8000/org/repo").ip_literal


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("https://", "no host"),
        ("https:///org/repo", "no host"),
        ("https://github.com/", "does not name a repository"),
        ("https://github.com/lutece-platform", "does not name a repository"),
        ("https://github.com/org/.git", "does not name a repository"),
        ("file:///srv/git/repo.git", "local file URL"),
        ("FILE:///srv/git/repo.git", "local file URL"),
        ("/srv/git/repo.git", "local path"),
        ("./repo", "local path"),
        ("~/repo", "local path"),
        ("C:\\repos\\x", "backslash"),
        ("ext::sh -c touch% /tmp/pwned", "remote-helper transport"),
        ("fd::17/foo", "remote-helper transport"),
        ("ftp://example.org/org/repo", "scheme 'ftp'"),
        ("javascript:alert(1)", "not a repository URL"),
        ("myalias:org/repo", "not a repository URL"),
        ("https://github.com/org/repo\x00", "control"),
        ("https://github.com/org/re po", "spaces"),
        ("https://git\u200bhub.com/org/repo", "invisible"),
        ("https://github.com/org/\u202erepo", "invisible"),
        ("https://example.org/org/../repo", "'..' that is not allowed"),
        ("https://example.org/org/%2e%2e/repo", "not allowed"),
        ("https://example.org/org%2Frepo/x", "not allowed"),
        ("https://example.org/org/r<e>po", "cannot contain"),
        ("https://example.org/org/r%00po", "cannot contain"),
        ("https://127.1/org/repo", "ambiguous numeric host"),
        ("https://2130706433/org/repo", "ambiguous numeric host"),
        ("https://0x7f.0.0.1/org/repo", "ambiguous numeric host"),
        ("https://exa_mple.org/org/repo", "host name that is not valid"),
        ("https://-bad-.org/org/repo", "host name that is not valid"),
        ("https://[2001:db8::zz]/org/repo", "invalid IPv6"),
        ("https://[2001:db8::1/org/repo", "IPv6"),
        ("https://example.org:99999/org/repo", "invalid port"),
        ("https://example.org:http/org/repo", "invalid port"),
        ("https://example.org/" + "a/" * 1100 + "b", f"longer than {MAX_URL_LENGTH}"),
    ],
)
def test_hostile_or_broken_urls_are_refused_with_a_clear_message(url: str, message: str) -> None:
    with pytest.raises(URLError) as caught:
        canonical_url(url)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValidationError)  # answered as 422 by the API
    assert caught.value.errors == [{"field": "url", "message": str(caught.value)}]
    assert len(str(caught.value)) < 250


@pytest.mark.parametrize(
    "url",
    [
        "https://user:ghp_secret123@github.com/org/repo",
        "https://oauth2:glpat-secret123@gitlab.com/group/repo.git",
        "deploy:secret123@gitlab.example.org:group/repo.git",
        "ssh://git:secret123@example.org/org/repo",
    ],
)
def test_credentials_are_refused_and_never_echoed(url: str) -> None:
    with pytest.raises(URLError, match="password or token") as caught:
        canonical_url(url)
    assert "secret123" not in str(caught.value)


def test_refusal_messages_do_not_echo_user_information() -> None:
    with pytest.raises(URLError) as caught:
        canonical_url("https://secret123@example.org/org/../repo")
    assert "secret123" not in str(caught.value)


def test_non_text_is_refused_with_the_domain_error() -> None:
    with pytest.raises(URLError, match="must be text"):
        canonical_url(None)  # type: ignore[arg-type]


def test_every_real_forge_repository_url_is_already_canonical() -> None:
    urls = []
    for path in sorted(REAL_FORGES.glob("*.json")):
        account = json.loads(path.read_text(encoding="utf-8"))
        for repo in account["repositories"]:
            urls.append(repo["html_url"])
            ref = parse_repository_url(repo["html_url"])
            assert ref.forge == "github"
            assert ref.path == repo["full_name"].lower()
            assert canonical_url(f"git@github.com:{repo['full_name']}.git") == ref.url
    assert len(urls) == 67
    assert len({canonical_url(u) for u in urls}) == 67


@settings(max_examples=400)
@given(
    st.one_of(
        st.text(max_size=200),
        st.text(alphabet="htps:/@gitlab.com-_.~%2e[]:0123456789vV", max_size=80),
        st.builds(
            lambda scheme, rest: scheme + rest,
            st.sampled_from(["https://", "ssh://git@", "git@", "git://", "file://", "ext::"]),
            st.text(max_size=80),
        ),
    )
)
def test_canonical_url_raises_only_url_error_and_is_idempotent(text: str) -> None:
    try:
        url = canonical_url(text)
    except URLError as error:
        assert str(error)
    else:
        assert url.startswith("https://")
        assert canonical_url(url) == url


_SEGMENT_TEXT = st.from_regex(r"[A-Za-z0-9._~+-]{1,12}", fullmatch=True).filter(
    lambda s: s not in (".", "..", "-") and s.lower() != ".git"
)


@st.composite
def _url_spellings(draw: st.DrawFn) -> str:
    host = draw(
        st.sampled_from(
            [
                "github.com",
                "www.github.com",
                "GitLab.com",
                "codeberg.org",
                "forge.example.fr",
                "www.forge.example.fr",
                "192.0.2.7",
                "[2001:db8::1]",
                "localhost",
            ]
        )
    )
    segments = draw(st.lists(_SEGMENT_TEXT, min_size=2, max_size=4))
    path = "/".join(segments) + draw(st.sampled_from(["", "/", ".git", ".git/", "?a=b#c"]))
    form = draw(st.sampled_from(["https", "http", "ssh", "git", "scp", "bare"]))
    port = draw(st.sampled_from(["", ":22", ":80", ":443", ":8443"]))
    if form == "scp":
        return f"git@{host}:{path}"
    if form == "bare":
        return f"{host}/{path}"
    user = "git@" if form == "ssh" else ""
    return f"{form}://{user}{host}{port}/{path}"


@settings(max_examples=400)
@given(_url_spellings())
def test_canonical_url_is_a_fixed_point_of_itself(spelling: str) -> None:
    try:
        url = canonical_url(spelling)
    except URLError as error:
        # only the two-segment rule of known forges or a bare IPv6 may refuse these
        assert "does not name a repository" in str(error) or "not a repository URL" in str(error)
        return
    assert canonical_url(url) == url
    ref = parse_repository_url(url)
    assert parse_repository_url(spelling) == ref

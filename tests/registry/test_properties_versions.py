"""Properties of registry.versions that must hold for any input, not just real tags."""

from __future__ import annotations

from datetime import UTC, datetime

import semver
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.errors import InvalidVersionError
from registry.versions import (
    MAX_TAG_LENGTH,
    TagInfo,
    latest_published,
    latest_stable,
    parse_tag,
    summarise_tags,
)

# Characters that appear in tags, plus separators, so random text often looks like one.
_TAGGY = st.text(alphabet="0123456789.-_+/vVrcRCbetaalphaSNAPSHOTdevelopx", max_size=40)
_ANY_TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=2000),
    _TAGGY,
    st.builds(lambda a, b: a + b, _TAGGY, st.text(max_size=20)),
)


@settings(max_examples=500)
@given(_ANY_TEXT)
def test_parse_tag_raises_only_its_own_error(text: str) -> None:
    try:
        parsed = parse_tag(text)
    except InvalidVersionError as error:
        assert str(error)
        assert error.errors
    else:
        assert parsed.tag == text
        assert len(text) <= MAX_TAG_LENGTH
        assert isinstance(parsed.version, semver.Version)
        # the SemVer reading is valid SemVer
        assert semver.Version.parse(str(parsed.version)) == parsed.version


@given(st.lists(_ANY_TEXT, max_size=20), st.one_of(st.none(), st.text(max_size=30)))
def test_summarise_tags_accounts_for_every_tag(tags: list[str], repository: str | None) -> None:
    summary = summarise_tags(tags, repository=repository)
    assert len(summary.versions) + len(summary.foreign) + len(summary.rejected) == len(tags)
    if summary.latest_stable is not None:
        assert not summary.latest_stable.prerelease


_NUMBER = st.integers(min_value=0, max_value=99_999)
_IDENT = st.one_of(
    st.integers(min_value=0, max_value=999).map(str),
    st.sampled_from(["alpha", "beta", "rc", "snapshot", "dev", "pre", "x", "develop"]),
)
_PRE = st.lists(_IDENT, min_size=0, max_size=4).map(".".join)


@st.composite
def _semver_text(draw: st.DrawFn) -> str:
    core = f"{draw(_NUMBER)}.{draw(_NUMBER)}.{draw(_NUMBER)}"
    pre = draw(_PRE)
    return f"{core}-{pre}" if pre else core


@given(_semver_text(), _semver_text(), st.sampled_from(["", "v", "my-app-", "rel_"]))
def test_precedence_agrees_with_semver(a: str, b: str, prefix: str) -> None:
    left, right = parse_tag(prefix + a), parse_tag(prefix + b)
    expected = semver.Version.parse(a).compare(b)
    got = (left.precedence > right.precedence) - (left.precedence < right.precedence)
    assert got == expected


@given(_semver_text())
def test_normalised_version_reads_back_to_itself(text: str) -> None:
    parsed = parse_tag(text)
    assert parse_tag(parsed.normalised).precedence == parsed.precedence
    assert parsed.normalised == str(semver.Version.parse(text))


_WORD = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,6}", fullmatch=True)
_PLAIN_TAG = st.builds(
    lambda words, seps, v, numbers: (
        "".join(w + s for w, s in zip(words, seps, strict=False)) + v + ".".join(numbers)
    ),
    st.lists(_WORD, max_size=3),
    st.lists(st.sampled_from("-_/"), min_size=3, max_size=3),
    st.sampled_from(["", "v", "V", "v."]),
    st.tuples(
        st.from_regex(r"0|[1-9][0-9]{0,4}", fullmatch=True),  # six digits is a stamp
        st.from_regex(r"0|[1-9][0-9]{0,8}", fullmatch=True),
        st.from_regex(r"0|[1-9][0-9]{0,8}", fullmatch=True),
    ),
)


@given(_PLAIN_TAG)
def test_fast_path_agrees_with_the_general_scan(tag: str) -> None:
    from registry import versions

    fast = parse_tag(tag)
    # the general scan, without the one-match shortcut parse_tag takes for plain releases
    slow = None
    for candidate in versions._CANDIDATE.finditer(tag):
        result = versions._parse_at(tag, tag, candidate.start(), tag[: candidate.start()])
        if isinstance(result, versions.ParsedVersion):
            slow = result
            break
    assert slow is not None
    assert (fast.version, fast.prefix, fast.notes, fast.calendar, fast.precedence) == (
        slow.version,
        slow.prefix,
        slow.notes,
        slow.calendar,
        slow.precedence,
    )


@given(_ANY_TEXT, st.one_of(st.none(), st.text(max_size=40)), st.one_of(st.none(), _TAGGY))
def test_names_given_with_the_tag_never_break_parsing(
    tag: str, repository: str | None, artifact: str | None
) -> None:
    try:
        parsed = parse_tag(tag, repository=repository, artifact=artifact)
    except InvalidVersionError:
        return
    assert parsed.tag == tag


_DATES = st.one_of(
    st.none(),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)),
    st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
    ),
)


@given(st.lists(st.builds(TagInfo, _TAGGY, _DATES), max_size=15))
def test_latest_answers_never_fail_on_mixed_or_missing_dates(tags: list[TagInfo]) -> None:
    stable = latest_stable(tags)
    newest = latest_published(tags, include_prereleases=True)
    if stable is not None:
        assert not stable.prerelease
        assert all(
            v.precedence <= stable.parsed.precedence
            for v in (s.parsed for s in summarise_tags(tags).versions)
            if not v.prerelease
        )
    if newest is not None:
        assert newest.date is not None

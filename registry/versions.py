"""Tags to versions: parsing, ordering, latest stable and latest published.

A forge gives us tag names; the catalogue wants versions it can sort and a "latest
stable" it can show. This module is pure (no database, no network) and fast: one
precompiled regular expression per step, no backtracking over the whole tag.

What the caller may rely on:

* :func:`parse_tag` returns a :class:`ParsedVersion` or raises
  :class:`~registry.errors.InvalidVersionError` (whose message says why); it raises
  nothing else, whatever the input.
* The original tag is never lost (``ParsedVersion.tag``); ``version`` is a
  :class:`semver.Version`; ``prerelease`` is ``True`` for anything that is not a plain
  release (``-rc1``, ``-beta-02``, ``-SNAPSHOT``, maintenance-branch builds such as
  ``plugin-forms-3.0.1-develop-3.0.x``...).
* ``ParsedVersion.precedence`` is a plain tuple that sorts like SemVer 2.0 precedence,
  extended with the fourth number of four-part versions (``6.12.4.1`` > ``6.12.4``).

Choices, documented once:

* ``1`` and ``1.2`` are zero-filled (``1.0.0``, ``1.2.0``); leading zeros are dropped
  (``2024.03.1`` -> ``2024.3.1``) and noted.
* A fourth number (``6.12.4.1``, seen in edificeio/entcore) is kept as ``revision`` and
  as the first build-metadata identifier of ``version`` (``6.12.4+1``). SemVer ignores
  build metadata, so ordering uses ``precedence``, which places it after the patch.
* Anything after a hyphen (or a ``.``/``_`` followed by letters, or a known
  pre-release word glued to the number as in ``1.0rc1``) is a SemVer pre-release:
  identifiers are lower-cased and split at letter/number boundaries of known words, so
  ``RC-01``, ``rc1`` and ``rc.1`` all become ``rc.1`` and sort numerically. This is
  strict SemVer: ``1.5.5-front`` or ``1.14.11-2`` are not stable either.
* ``+metadata`` is build metadata (characters SemVer refuses become ``-``); it does
  not make a release unstable.
* A trailing maintenance-line marker (``-develop-3.0.x``, ``-develop7.x``) is kept in
  the pre-release and reported as ``maintenance_branch`` (``3.0.x``, ``7.x``).
* Anything before the version is the ``prefix`` (``lutece-core-``, ``plugin-forms-``,
  ``v``, ``helm/v``, ``rel_``). ``release-2020-01`` is a calendar version
  (``2020.1.0``, ``calendar=True``).
* Not versions: tags with no number (``latest``), compact date or build stamps
  (``PROD_20140604``, a first number of six digits or more), more than four numbers,
  characters SemVer cannot express, over 255 characters.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

import semver

from registry.errors import InvalidVersionError

__all__ = [
    "MAX_TAG_LENGTH",
    "ParsedVersion",
    "RejectedTag",
    "TagInfo",
    "TagLike",
    "VersionSummary",
    "VersionedTag",
    "latest_published",
    "latest_stable",
    "parse_tag",
    "prefix_belongs_to",
    "sort_by_precedence",
    "summarise_tags",
]

#: Longer tags are refused outright (Git allows more; no real version tag comes close).
MAX_TAG_LENGTH = 255
#: Longest run of digits accepted in one numeric component.
_MAX_DIGITS = 9
#: A first number this long is a date or build stamp (``20140604``), not a major version.
_STAMP_DIGITS = 6

# A place where a version may start: the start of the tag, or just after - _ /,
# optionally with a v / V / v. in front of the first digit.
_CANDIDATE = re.compile(r"(?:^|(?<=[-_/]))(?:[vV]\.?)?(?=[0-9])", re.ASCII)
_CORE = re.compile(
    r"(?:[vV]\.?)?(?P<core>[0-9]+(?:_[0-9]+){1,3}(?![0-9])|[0-9]+(?:\.[0-9]+){0,3}(?![0-9]))",
    re.ASCII,
)
# release-2020-01, 2020_03_15: a year then a month (and day), glued by - or _.
_CALENDAR = re.compile(
    r"(?P<year>(?:19|20)[0-9]{2})[-_](?P<month>[0-9]{1,2})(?:[-_](?P<day>[0-9]{1,2}))?(?![0-9])",
    re.ASCII,
)
_PRE_WORDS = "alpha|beta|rc|pre|preview|dev|snapshot|milestone|a|b|m"
# A pre-release word glued to the number: 1.0rc1, 2.0b2, 3.1beta.
_GLUED_PRE = re.compile(rf"(?:{_PRE_WORDS})(?![a-z])", re.ASCII | re.IGNORECASE)
_WORD_NUMBER = re.compile(rf"(?P<word>{_PRE_WORDS}|develop)(?P<number>[0-9]+)", re.ASCII)
_SUFFIX_CHARS = re.compile(r"[0-9A-Za-z._-]+", re.ASCII)
_SEPARATORS = re.compile(r"[-._]+", re.ASCII)
_BUILD_INVALID = re.compile(r"[^0-9A-Za-z-]+", re.ASCII)
_MAINTENANCE = re.compile(
    r"(?:^|[-._])(?P<word>[A-Za-z]+)[-_.]?(?P<line>[0-9]+(?:\.[0-9]+)*\.[xX])$", re.ASCII
)
# The common case, read in one match: letter-led prefix words, an optional v, and a
# plain three-number release without leading zeros. It gives exactly what the
# general scan below would give, only faster.
_PLAIN = re.compile(
    r"(?P<prefix>(?:(?![vV]\.?[0-9])[A-Za-z][A-Za-z0-9]*[-_/])*)(?:[vV]\.?)?"
    r"(?P<major>0|[1-9][0-9]{0,4})\.(?P<minor>0|[1-9][0-9]{0,8})\.(?P<patch>0|[1-9][0-9]{0,8})",
    re.ASCII,
)
_NUMBER_SEPARATORS = re.compile(r"[._]", re.ASCII)
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f]")
_PREFIX_WORDS = re.compile(r"[a-z0-9]+")
#: Prefix words that say "this is a release" rather than name a component.
_GENERIC_PREFIX_WORDS = frozenset({"v", "r", "rel", "release", "releases", "version", "ver", "tag"})


@dataclass(frozen=True, slots=True)
class ParsedVersion:
    """A tag understood as a version.

    ``tag`` is the tag exactly as given; ``prefix`` what stood before the number
    (``""`` when nothing did); ``version`` the SemVer reading; ``revision`` the fourth
    number when there was one; ``prerelease`` ``True`` unless this is a plain release;
    ``maintenance_branch`` the line (``3.0.x``) of a maintenance-branch build;
    ``calendar`` ``True`` for year-based versions; ``notes`` what was changed to read it.
    """

    tag: str
    version: semver.Version
    prefix: str = ""
    prerelease: bool = False
    revision: int | None = None
    maintenance_branch: str | None = None
    calendar: bool = False
    notes: tuple[str, ...] = ()
    precedence: tuple[object, ...] = field(default=(), repr=False, compare=False)

    @property
    def normalised(self) -> str:
        """The SemVer string (``7.1.8-beta.1.develop.7.x``, ``6.12.4+1``)."""
        return str(self.version)

    @property
    def stable(self) -> bool:
        return not self.prerelease


@runtime_checkable
class TagLike(Protocol):
    """Anything with a tag name and an optional date (a forge release, a table row)."""

    @property
    def tag(self) -> str: ...

    @property
    def date(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class TagInfo:
    """A tag as a forge or ``git ls-remote`` reports it."""

    tag: str
    date: datetime | None = None
    commit: str | None = None


@dataclass(frozen=True, slots=True)
class VersionedTag:
    """A tag that is a version: where it came from and how it reads."""

    info: TagLike
    parsed: ParsedVersion

    @property
    def tag(self) -> str:
        return self.parsed.tag

    @property
    def date(self) -> datetime | None:
        return self.info.date

    @property
    def version(self) -> semver.Version:
        return self.parsed.version

    @property
    def prerelease(self) -> bool:
        return self.parsed.prerelease


@dataclass(frozen=True, slots=True)
class RejectedTag:
    """A tag that is not a version, and why."""

    info: TagLike
    reason: str

    @property
    def tag(self) -> str:
        return self.info.tag


@dataclass(frozen=True, slots=True)
class VersionSummary:
    """Everything the catalogue shows about a repository's tags.

    ``per_tag`` has one result per tag, in the order given (what an ingest stores);
    ``versions`` are sorted by precedence, highest first. ``foreign`` holds versions
    whose prefix names another component (``plugin-blog-3.0.1`` in the workflow
    plugin's repository, ``helm/v0.6.0`` charts); they are kept but never chosen as
    latest. ``rejected`` are the tags that are not versions, each with its reason.
    ``latest_stable`` is the highest plain release; ``latest_published`` the most
    recently dated plain release: maintenance lines interleave, so they often differ
    (Lutece tagged 8.0.0, then 7.1.7).
    """

    per_tag: tuple[VersionedTag | RejectedTag, ...]
    versions: tuple[VersionedTag, ...]
    rejected: tuple[RejectedTag, ...]
    foreign: tuple[VersionedTag, ...]
    latest_stable: VersionedTag | None
    latest_published: VersionedTag | None


def _fail(tag: str, reason: str) -> InvalidVersionError:
    shown = tag if len(tag) <= 80 else tag[:77] + "..."
    return InvalidVersionError(
        f"{shown!r} is not a version: {reason}",
        errors=[{"field": "tag", "message": reason}],
    )


def _number(text: str) -> int:
    # Callers guarantee len(text) <= _MAX_DIGITS, so int() is cheap and safe.
    return int(text)


def _pre_identifiers(text: str) -> list[str] | None:
    """SemVer pre-release identifiers for a suffix, or ``None`` if it has bad characters."""
    if not _SUFFIX_CHARS.fullmatch(text):
        return None
    identifiers: list[str] = []
    for part in _SEPARATORS.split(text.lower()):
        if not part:
            continue
        glued = _WORD_NUMBER.fullmatch(part)
        pieces = (glued["word"], glued["number"]) if glued else (part,)
        for piece in pieces:
            if piece.isdigit():
                # long numbers (dates, hashes) stay text: SemVer forbids leading zeros
                # in numeric identifiers, not in alphanumeric ones
                piece = "n" + piece if len(piece) > _MAX_DIGITS else str(int(piece))
            identifiers.append(piece)
    return identifiers


def _build_identifiers(text: str) -> list[str]:
    return [part for part in _BUILD_INVALID.sub(".", text).split(".") if part]


def _pre_key(identifiers: Iterable[str]) -> tuple[tuple[int, int, str], ...]:
    # SemVer 2.0 section 11: numeric identifiers sort numerically and before
    # alphanumeric ones; a shorter list sorts first when it is a prefix of the other.
    return tuple((0, int(i), "") if i.isdigit() else (1, 0, i) for i in identifiers)


def _strip_known_prefix(tag: str, names: tuple[str, ...]) -> tuple[str, str]:
    lowered = tag.lower()
    for name in names:
        if len(name) < len(tag) and lowered.startswith(name) and tag[len(name)] in "-_/":
            return tag[: len(name) + 1], tag[len(name) + 1 :]
    return "", tag


def parse_tag(
    tag: str, *, repository: str | None = None, artifact: str | None = None
) -> ParsedVersion:
    """Read ``tag`` as a version, or raise :class:`InvalidVersionError` saying why.

    ``repository`` (``name`` or ``owner/name``) and ``artifact`` are names the tag may
    start with; when given they are stripped first, which matters when a name itself
    ends with a number (``api-v2-1.0.0``). Without them the version is found by
    scanning for the first number after a ``-``, ``_`` or ``/`` that reads as one.
    A leading ``refs/tags/`` is ignored.
    """
    if not isinstance(tag, str):
        raise InvalidVersionError(
            f"a tag must be text, not {type(tag).__name__}",
            errors=[{"field": "tag", "message": "not text"}],
        )
    if not tag:
        raise _fail(tag, "the tag is empty")
    if len(tag) > MAX_TAG_LENGTH:
        raise _fail(tag, f"longer than {MAX_TAG_LENGTH} characters")
    if _FORBIDDEN.search(tag):
        raise _fail(tag, "contains spaces or control characters, which Git tags cannot")

    body = tag[10:] if tag.startswith("refs/tags/") else tag
    names: list[str] = []
    for name in (artifact, repository):
        if name:
            short = name.rsplit("/", 1)[-1].lower()
            if short:
                names.append(short)
    known_prefix, rest = _strip_known_prefix(body, tuple(sorted(names, key=len, reverse=True)))

    plain = _PLAIN.fullmatch(rest)
    if plain is not None:
        numbers = int(plain["major"]), int(plain["minor"]), int(plain["patch"])
        return ParsedVersion(
            tag=tag,
            version=semver.Version(*numbers),
            prefix=known_prefix + plain["prefix"],
            calendar=1900 <= numbers[0] <= 2100 and 1 <= numbers[1] <= 12,
            precedence=(*numbers, 0, 1, ()),
        )

    first_reason: str | None = None
    for candidate in _CANDIDATE.finditer(rest):
        start = candidate.start()
        result = _parse_at(tag, rest, start, known_prefix + rest[:start])
        if isinstance(result, ParsedVersion):
            return result
        reason, fatal = result
        if fatal:
            raise _fail(tag, reason)
        if first_reason is None:
            first_reason = reason
    raise _fail(tag, first_reason or "no version number in it")


def _parse_at(tag: str, text: str, start: int, prefix: str) -> ParsedVersion | tuple[str, bool]:
    """Parse ``text[start:]`` as a version; return it, or why not and whether to stop.

    A bad number (a stamp, too many parts) is final: a later number in the same tag
    (``PREPROD_20130920_2``) would only be a counter. A bad suffix is not: the scan
    goes on (``x-2fa-1.0`` is version 1.0 of ``x-2fa``).
    """
    notes: list[str] = []
    calendar = False
    digits = start
    if text[digits] in "vV":
        digits += 2 if text[digits + 1] == "." else 1
    m = _CALENDAR.match(text, digits)
    if m and (m.end() == len(text) or text[m.end()] in "-.+_"):
        year, month = int(m["year"]), int(m["month"])
        day = int(m["day"]) if m["day"] else 0
        if not 1 <= month <= 12:
            return f"month {month} of calendar version is not 1 to 12", True
        numbers = [year, month, day]
        end = m.end()
        calendar = True
        revision = None
        notes.append("calendar version (year-month)")
    else:
        m = _CORE.match(text, start)
        if m is None:
            return "no version number in it", False
        parts = _NUMBER_SEPARATORS.split(m["core"])
        if any(len(p) > _MAX_DIGITS for p in parts):
            return f"a number longer than {_MAX_DIGITS} digits", True
        if len(parts[0]) >= _STAMP_DIGITS:
            return f"{parts[0]} looks like a date or build stamp, not a version number", True
        end = m.end()
        if end < len(text) and text[end] == "." and end + 1 < len(text) and text[end + 1].isdigit():
            return "more than four numbers", True
        numbers = [_number(p) for p in parts]
        if len(numbers) < 3:
            notes.append("zero-filled to three numbers")
        if any(len(p) > 1 and p[0] == "0" for p in parts):
            notes.append("leading zeros dropped")
        if "_" in m["core"]:
            notes.append("numbers separated by underscores")
        revision = numbers[3] if len(numbers) == 4 else None
        numbers = [*numbers, 0, 0][:3]
        if 1900 <= numbers[0] <= 2100 and 1 <= numbers[1] <= 12:
            calendar = True

    rest = text[end:]
    build_text = ""
    if "+" in rest:
        rest, build_text = rest.split("+", 1)
    if rest:
        if rest[0] in "-._":
            pre_text = rest[1:]
        elif _GLUED_PRE.match(rest):
            pre_text = rest
        else:
            return f"unexpected {rest[0]!r} after the version number", False
        if not pre_text:
            return "empty pre-release suffix", False
        identifiers = _pre_identifiers(pre_text)
        if identifiers is None:
            return "the suffix has characters a version cannot contain", False
        if not identifiers:
            return "empty pre-release suffix", False
    else:
        pre_text = ""
        identifiers = []

    build = _build_identifiers(build_text)
    if revision is not None:
        build.insert(0, str(revision))
        notes.append("fourth number kept as revision (first build identifier)")
    maintenance = None
    if pre_text:
        branch = _MAINTENANCE.search(pre_text)
        if branch:
            maintenance = branch["line"].lower()
            notes.append(f"maintenance-branch build ({branch['word']} {maintenance})")
    try:
        version = semver.Version(
            *numbers,
            prerelease=".".join(identifiers) or None,
            build=".".join(build) or None,
        )
    except ValueError as error:  # pragma: no cover - identifiers are built valid above
        return f"SemVer refused it ({error})", False
    precedence = (*numbers, revision or 0, 0 if identifiers else 1, _pre_key(identifiers))
    return ParsedVersion(
        tag=tag,
        version=version,
        prefix=prefix,
        prerelease=bool(identifiers),
        revision=revision,
        maintenance_branch=maintenance,
        calendar=calendar,
        notes=tuple(notes),
        precedence=precedence,
    )


def prefix_belongs_to(prefix: str, repository: str) -> bool:
    """Whether a tag prefix names this repository rather than another component.

    True when every word of the prefix (``lutece-maven-plugin-``) is a word of the
    repository name (``tools-maven-lutece-plugin``), ignoring ``v``/``release``-like
    words; ``helm/v`` or ``plugin-blog-`` in another plugin's repository are not.
    """
    words = set(_PREFIX_WORDS.findall(prefix.lower())) - _GENERIC_PREFIX_WORDS
    if not words:
        return True
    repo_words = set(_PREFIX_WORDS.findall(repository.rsplit("/", 1)[-1].lower()))
    return words <= repo_words


def _as_info(item: TagLike | str) -> TagLike:
    return TagInfo(item) if isinstance(item, str) else item


def _classify(
    tags: Iterable[TagLike | str], repository: str | None
) -> Iterator[VersionedTag | RejectedTag]:
    for item in tags:
        info = _as_info(item)
        try:
            parsed = parse_tag(info.tag, repository=repository)
        except InvalidVersionError as error:
            yield RejectedTag(info, error.errors[0]["message"] if error.errors else str(error))
        else:
            yield VersionedTag(info, parsed)


def sort_by_precedence(versions: Iterable[ParsedVersion]) -> list[ParsedVersion]:
    """Versions from lowest to highest precedence (ties keep their order)."""
    return sorted(versions, key=lambda p: p.precedence)


def _stable_key(v: VersionedTag) -> tuple[object, ...]:
    stamp = v.date.timestamp() if v.date is not None else float("-inf")
    return (v.parsed.precedence, stamp, v.tag)


def _published_key(v: VersionedTag) -> tuple[object, ...]:
    assert v.date is not None
    return (v.date.timestamp(), v.parsed.precedence, v.tag)


def _pick(
    versions: Iterable[VersionedTag], include_prereleases: bool, by_date: bool
) -> VersionedTag | None:
    chosen = [v for v in versions if include_prereleases or not v.prerelease]
    if by_date:
        chosen = [v for v in chosen if v.date is not None]
        return max(chosen, key=_published_key, default=None)
    return max(chosen, key=_stable_key, default=None)


def _own_prefix_test(
    versioned: list[VersionedTag], repository: str | None
) -> Callable[[str], bool]:
    """Which prefixes are this repository's own.

    By name (:func:`prefix_belongs_to`); but when no tag at all carries a prefix of the
    repository's name, the name is not the one the tags were made with (a working copy
    cloned into another folder, a renamed repository), and the most common prefix is
    taken as the repository's own rather than calling every tag foreign.
    """
    if repository is None:
        return lambda prefix: True
    if any(prefix_belongs_to(v.parsed.prefix, repository) for v in versioned):
        return lambda prefix: prefix_belongs_to(prefix, repository)
    counts = Counter(v.parsed.prefix.lower() for v in versioned)
    dominant = counts.most_common(1)[0][0] if counts else ""
    return lambda prefix: prefix.lower() == dominant


def _own_versions(tags: Iterable[TagLike | str], repository: str | None) -> Iterator[VersionedTag]:
    versioned = [item for item in _classify(tags, repository) if isinstance(item, VersionedTag)]
    own = _own_prefix_test(versioned, repository)
    yield from (item for item in versioned if own(item.parsed.prefix))


def latest_stable(
    releases: Iterable[TagLike | str], *, repository: str | None = None
) -> VersionedTag | None:
    """The highest plain release by version precedence, or ``None``.

    Pre-releases (including maintenance-branch builds) and tags that are not versions
    are skipped; with ``repository``, so are tags prefixed with another component's
    name. Equal precedence (``v1.2.0`` and ``1.2.0``) goes to the newer tag.
    """
    return _pick(_own_versions(releases, repository), False, by_date=False)


def latest_published(
    releases: Iterable[TagLike | str],
    *,
    repository: str | None = None,
    include_prereleases: bool = False,
) -> VersionedTag | None:
    """The most recently dated release (plain releases only unless asked), or ``None``.

    Tags without a date are skipped. A date tie goes to the higher version.
    """
    return _pick(_own_versions(releases, repository), include_prereleases, by_date=True)


def summarise_tags(
    tags: Iterable[TagLike | str], *, repository: str | None = None
) -> VersionSummary:
    """Classify every tag once: versions, foreign-prefixed versions, rejected tags, and
    both "latest" answers (see :class:`VersionSummary`)."""
    versions: list[VersionedTag] = []
    foreign: list[VersionedTag] = []
    rejected: list[RejectedTag] = []
    per_tag = tuple(_classify(tags, repository))
    own = _own_prefix_test([t for t in per_tag if isinstance(t, VersionedTag)], repository)
    for item in per_tag:
        if isinstance(item, RejectedTag):
            rejected.append(item)
        elif not own(item.parsed.prefix):
            foreign.append(item)
        else:
            versions.append(item)
    versions.sort(key=_stable_key, reverse=True)
    foreign.sort(key=_stable_key, reverse=True)
    return VersionSummary(
        per_tag=per_tag,
        versions=tuple(versions),
        rejected=tuple(rejected),
        foreign=tuple(foreign),
        latest_stable=_pick(versions, False, by_date=False),
        latest_published=_pick(versions, False, by_date=True),
    )

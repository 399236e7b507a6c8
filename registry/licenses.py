"""License rules of the catalogue: SPDX expressions, license-file detection, official lists.

Pure functions, no database, no network. Reference data is vendored in
``registry/data/spdx/`` (see its README) and loaded lazily on first use, then cached.

Four things live here:

* :func:`normalise` turns any declared license (a forge's ``spdx_id``, a ``publiccode.yml``
  ``legal.license``, a package manifest, a person typing "Apache 2") into a canonical SPDX
  expression, or raises :class:`~registry.errors.LicenseError`.
* :func:`detect` recognises the text of one license file by word-set similarity (the method of
  GitHub's *licensee*): it names a license only at >= 98 % confidence and never guesses;
  :func:`detect_in_files` applies it to a repository's root license files and REUSE
  ``LICENSES/`` directory.
* :func:`flags` says whether an expression is OSI-approved, FSF-libre and on the French
  public-sector list of decree 2021-1559.
* :class:`LicenseFinding`, :func:`expression_for` and :func:`disagreements` keep where each
  license claim came from (forge API, license file, REUSE, ``publiccode.yml``) and say whether
  the sources agree, by expression equivalence rather than string comparison.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from license_expression import (
    AND,
    OR,
    ExpressionError,
    LicenseSymbol,
    LicenseWithExceptionSymbol,
    Licensing,
    get_spdx_licensing,
)

from registry.errors import LicenseError

__all__ = [
    "ACCEPT_CONFIDENCE",
    "Disagreement",
    "LicenseFinding",
    "LicenseFlags",
    "LicenseMatch",
    "detect",
    "detect_in_files",
    "disagreements",
    "expression_for",
    "flags",
    "is_equivalent",
    "normalise",
    "reference_ids",
    "similarity",
]

#: Minimum similarity (percent) at which :func:`detect` names a license, as licensee does.
ACCEPT_CONFIDENCE = 98.0

#: A text that scores this close (points) to two different licenses is reported as unknown:
#: AFL-3.0 and OSL-3.0 differ in a few clauses only (98.7 % similar to each other).
AMBIGUITY_MARGIN = 0.5

FindingSource = Literal["forge", "file", "reuse", "publiccode", "codemeta", "manifest"]

_DATA = resources.files("registry") / "data" / "spdx"

# --------------------------------------------------------------------------------------
# Metadata and SPDX expressions
# --------------------------------------------------------------------------------------


@functools.cache
def _metadata() -> dict[str, dict[str, Any]]:
    """SPDX id -> {name, osi, fsf, deprecated, fr?} from the vendored ``licenses.json``."""
    with (_DATA / "licenses.json").open(encoding="utf-8") as fh:
        return json.load(fh)["licenses"]


@functools.cache
def _ids_by_lower() -> dict[str, str]:
    return {key.lower(): key for key in _metadata()}


@functools.cache
def _licensing() -> Licensing:
    return get_spdx_licensing()


_LICENSE_REF = re.compile(r"^(?:DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-[A-Za-z0-9.-]+$")
_OPERATOR = re.compile(r"\s+(AND|OR|WITH)\s+|([()])", re.IGNORECASE)
_OR_LATER = re.compile(r"\s*(?:,\s*)?\b(?:or|and)\s+(?:any\s+)?later(?:\s+versions?)?\b", re.I)
_SLASH_OR = re.compile(r"\s*/\s*")

# Values that say "no usable license" rather than naming one. GitHub reports ``other`` (its
# API: spdx_id NOASSERTION) when a license file exists but it recognised none.
_NOT_A_LICENSE = {
    "noassertion": "NOASSERTION asserts no license; record the license as unknown",
    "none": "NONE declares that there is no license; record the license as unknown",
    "other": "'other' is a forge's word for a license file it could not recognise",
    "unknown": "'unknown' names no license",
    "unlicensed": "'unlicensed' names no license",
    "proprietary": "'proprietary' names no SPDX license (use a LicenseRef-...)",
}

# Common names that are neither SPDX ids nor SPDX names, keyed by :func:`_name_key`.
_ALIASES: dict[str, str] = {
    "asl2": "Apache-2.0",
    "apache2": "Apache-2.0",
    "al2": "Apache-2.0",
    "expat": "MIT",
    "mitx11": "MIT",
    "bsd2": "BSD-2-Clause",
    "simplifiedbsd": "BSD-2-Clause",
    "freebsd": "BSD-2-Clause",
    "bsd3": "BSD-3-Clause",
    "newbsd": "BSD-3-Clause",
    "modifiedbsd": "BSD-3-Clause",
    "revisedbsd": "BSD-3-Clause",
    "bsd4": "BSD-4-Clause",
    "ouverte2": "etalab-2.0",
    "ouverteopen2": "etalab-2.0",
    "open2": "etalab-2.0",
    "etalab2": "etalab-2.0",
    "etalabopen2": "etalab-2.0",
    "lo2": "etalab-2.0",
    "cecill21": "CECILL-2.1",
    "cecillv21": "CECILL-2.1",
    "cecillb1": "CECILL-B",
    "cecillc1": "CECILL-C",
    "mpl2": "MPL-2.0",
    "epl2": "EPL-2.0",
    "cc0": "CC0-1.0",
    "publicdomaincc0": "CC0-1.0",
    "wtfpl2": "WTFPL",
    "gpl3": "GPL-3.0-only",
    "gpl3+": "GPL-3.0-or-later",
    "gpl2": "GPL-2.0-only",
    "gpl2+": "GPL-2.0-or-later",
    "agpl3": "AGPL-3.0-only",
    "agpl3+": "AGPL-3.0-or-later",
    "affero3": "AGPL-3.0-only",
    "affero3+": "AGPL-3.0-or-later",
    "lgpl3": "LGPL-3.0-only",
    "lgpl3+": "LGPL-3.0-or-later",
    "lgpl21": "LGPL-2.1-only",
    "lgpl21+": "LGPL-2.1-or-later",
    "lgpl2": "LGPL-2.0-only",
    "lgpl2+": "LGPL-2.0-or-later",
    "python2": "Python-2.0",
    "psf2": "Python-2.0",
    "boost1": "BSL-1.0",
    "liliqp11": "LiLiQ-P-1.1",
    "liliqr11": "LiLiQ-R-1.1",
    "liliqr+11": "LiLiQ-Rplus-1.1",
    "liliqrplus11": "LiLiQ-Rplus-1.1",
}

# A bare family name says too little: refuse rather than pick a version.
_AMBIGUOUS = {"gpl", "lgpl", "agpl", "bsd", "cecill", "eupl", "mpl", "epl", "cc", "apache"}


def _name_key(term: str) -> str:
    """Fold a license name to a lookup key: "Apache License, Version 2.0" -> "apache2"."""
    key = term.lower().strip()
    key = re.sub(r"\bgnu\b|\bthe\b|\blicen[cs]e\b|\bversion\b", " ", key)
    key = re.sub(r"\b(?:v|vers?\.?)\s*(?=\d)|(?<=[a-z])v(?=\d)", " ", key)
    key = re.sub(r"(?:-|\s)only\b", " ", key)
    key = re.sub(r"[\s_,\-()\"'/:]+", "", key)
    key = key.replace("v.", "")
    while re.search(r"\d\.0(?=\D|$)", key) and not re.search(r"\d\.0\d", key):
        key = re.sub(r"(\d)\.0(?=\D|$)", r"\1", key, count=1)
    return key.replace(".", "")


@functools.cache
def _name_index() -> dict[str, str]:
    """Lookup key -> current SPDX id, from ids, names, deprecated ids and :data:`_ALIASES`."""
    index: dict[str, str] = {}
    meta = _metadata()
    current = {key: value for key, value in meta.items() if not value["deprecated"]}
    for spdx_id, entry in current.items():
        index.setdefault(_name_key(entry["name"]), spdx_id)
    for spdx_id, entry in meta.items():
        if entry["deprecated"]:
            replacement = _deprecated_replacement(spdx_id)
            if replacement:
                index[_name_key(spdx_id)] = replacement
    for spdx_id in current:
        index[_name_key(spdx_id)] = spdx_id
    index.update(_ALIASES)
    return index


def _deprecated_replacement(spdx_id: str) -> str | None:
    """Current id for a deprecated one, as license-expression maps it (GPL-2.0 -> -only)."""
    try:
        parsed = _licensing().parse(spdx_id, validate=True)
    except ExpressionError:
        return None
    rendered = str(parsed)
    return rendered if rendered in _metadata() and not _metadata()[rendered]["deprecated"] else None


def _resolve_term(term: str, declared: str) -> str:
    """One license (no operator) to its SPDX id, or raise :class:`LicenseError`."""
    raw = term.strip()
    if not raw:
        raise LicenseError(f"Empty license term in {declared!r}")
    if _LICENSE_REF.match(raw):
        return raw
    known = _ids_by_lower().get(raw.lower())
    if known and not _metadata()[known]["deprecated"]:
        return known
    plus = raw.endswith("+")
    key = _name_key(raw)
    if key.rstrip("+") in _AMBIGUOUS:
        raise LicenseError(
            f"{raw!r} names a license family without a version; "
            "give the SPDX identifier (for example GPL-3.0-or-later, BSD-3-Clause)."
        )
    index = _name_index()
    if key in index:
        return index[key]
    if plus and _name_key(raw[:-1]) in index:
        base = index[_name_key(raw[:-1])]
        later = re.sub(r"-only$", "", base) + "-or-later"
        if later in _metadata():
            return later
        return base + "+"
    try:
        parsed = _licensing().parse(raw, validate=True)
    except ExpressionError:
        parsed = None
    if parsed is not None and str(parsed) in _metadata():
        return str(parsed)
    if parsed is not None and str(parsed).lower() == raw.lower():
        # An SPDX id newer than the vendored list that license-expression knows: keep it
        # (it has no flags), but never one of license-expression's looser aliases.
        return str(parsed)
    raise LicenseError(f"Unknown license {raw!r} in {declared!r}: not an SPDX identifier or name")


@functools.lru_cache(maxsize=4096)
def normalise(declared: str) -> str:
    """Return the canonical SPDX expression for a declared license.

    Accepts SPDX ids in any case, deprecated ids (``GPL-2.0`` -> ``GPL-2.0-only``,
    ``LGPL-2.1+`` -> ``LGPL-2.1-or-later``), SPDX license names and common names ("Apache 2",
    "AGPLv3", "CeCILL v2.1", "EUPL v1.2", "Licence Ouverte 2.0"), ``or later`` spelled out,
    operators in any case, and the legacy ``MIT/Apache-2.0`` (meaning OR). ``LicenseRef-*``
    ids are kept as they are. The result is stable: ``normalise(normalise(x)) ==
    normalise(x)``. A bare version-less "GPL" or "BSD" and the names that assert no license
    (``NOASSERTION``, ``NONE``, GitHub's ``other``) raise :class:`LicenseError`: the caller
    records the license as unknown instead of guessing. A name with no version where SPDX has
    an "only"/"or later" pair (``AGPLv3``) becomes the ``-only`` id, as SPDX's own deprecated
    ids do.
    """
    if not isinstance(declared, str) or not declared.strip():
        raise LicenseError("Empty license: nothing to normalise")
    text = declared.strip()
    reason = _NOT_A_LICENSE.get(text.lower())
    if reason:
        raise LicenseError(f"{text!r} is not a license: {reason}")
    text = _OR_LATER.sub("+", text)
    if not _OPERATOR.search(text) and _name_key(text) in _name_index():
        return _name_index()[_name_key(text)]
    if "/" in text and not re.search(r"https?:|\bOR\b|\bAND\b", text, re.I):
        text = _SLASH_OR.sub(" OR ", text)
    parts: list[str] = []
    pos = 0
    after_with = False
    for match in _OPERATOR.finditer(text):
        term = text[pos : match.start()]
        if term.strip():
            parts.append(
                _exception(term, declared) if after_with else _resolve_term(term, declared)
            )
        operator = match.group(1)
        if operator:
            parts.append(operator.upper())
            after_with = operator.upper() == "WITH"
        else:
            parts.append(match.group(2))
            after_with = False
        pos = match.end()
    tail = text[pos:]
    if tail.strip():
        parts.append(_exception(tail, declared) if after_with else _resolve_term(tail, declared))
    joined = " ".join(parts).replace("( ", "(").replace(" )", ")")
    licensing = _licensing()
    try:
        parsed = licensing.parse(joined, validate=False, strict=True)
    except ExpressionError as exc:
        raise LicenseError(f"Cannot parse license expression {declared!r}: {exc}") from exc
    except (IndexError, TypeError, ValueError) as exc:  # license-expression on "()" and kin
        raise LicenseError(f"Cannot parse license expression {declared!r}") from exc
    if parsed is None:
        raise LicenseError(f"Empty license expression {declared!r}")
    unknown = [
        key
        for key in licensing.license_keys(parsed)
        if key not in _metadata() and not _LICENSE_REF.match(key) and not _is_known(key)
    ]
    if unknown:
        raise LicenseError(f"Unknown license or exception {', '.join(unknown)} in {declared!r}")
    return str(parsed)


def _exception(term: str, declared: str) -> str:
    """The canonical id of the license exception after a WITH, or :class:`LicenseError`."""
    wanted = term.strip().lower()
    for key, symbol in _licensing().known_symbols.items():
        if key.lower() == wanted and getattr(symbol, "is_exception", False):
            return key
    raise LicenseError(f"Unknown license exception {term.strip()!r} in {declared!r}")


def _is_known(key: str) -> bool:
    return key in _licensing().known_symbols


def _is_exception(key: str) -> bool:
    symbol = _licensing().known_symbols.get(key)
    return bool(symbol is not None and getattr(symbol, "is_exception", False))


def is_equivalent(first: str, second: str) -> bool:
    """Whether two declared licenses mean the same (``MIT OR Apache-2.0`` == ``Apache-2.0 OR
    MIT``, ``GPL-2.0`` == ``GPL-2.0-only``). Raises :class:`LicenseError` if either cannot be
    normalised."""
    licensing = _licensing()
    return bool(licensing.is_equivalent(normalise(first), normalise(second)))


# --------------------------------------------------------------------------------------
# Flags
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LicenseFlags:
    """What an expression is recognised as.

    ``fr_authorised``: on the list of software licenses French public bodies may use
    (article D. 323-2-1 CRPA, decree 2021-1559), with the versions of code.gouv.fr's list;
    ``fr_data``: one of the data licences of the same article (etalab-2.0, ODbL-1.0), which
    are not software licenses.
    """

    osi: bool
    fsf: bool
    fr_authorised: bool
    fr_data: bool = False


def flags(expression: str) -> LicenseFlags:
    """Flags of a declared license (normalised first; :class:`LicenseError` if impossible).

    Semantics, one flag at a time: a single license has its own flags; ``A OR B`` has a flag
    when any choice has it (the user may pick that one); ``A AND B`` only when every part has
    it; ``A WITH exception`` keeps the flags of ``A``. ``LicenseRef-*`` and ids the vendored
    list does not know have none.
    """
    licensing = _licensing()
    parsed = licensing.parse(normalise(expression), validate=False)
    osi, fsf, fr, data = (_flag(parsed, name) for name in ("osi", "fsf", "fr", "data"))
    return LicenseFlags(osi=osi, fsf=fsf, fr_authorised=fr, fr_data=data)


def _flag(node: Any, name: str) -> bool:
    if isinstance(node, LicenseWithExceptionSymbol):
        return _flag(node.license_symbol, name)
    if isinstance(node, OR):
        return any(_flag(arg, name) for arg in node.args)
    if isinstance(node, AND):
        return all(_flag(arg, name) for arg in node.args)
    if isinstance(node, LicenseSymbol):
        entry = _metadata().get(node.key)
        if entry is None:
            return False
        if name == "fr":
            return entry.get("fr") in ("permissive", "reciprocity")
        if name == "data":
            return entry.get("fr") == "data"
        return bool(entry[name])
    return False


# --------------------------------------------------------------------------------------
# Text normalisation and word sets
# --------------------------------------------------------------------------------------

# Everything below works on lower-cased text, without re.IGNORECASE: patterns that start
# with a literal are then searched quickly, which keeps a 35 kB GPL text within milliseconds.
_END_OF_TERMS = re.compile(r"end of (?:the )?terms and conditions\b")
# The closing notice of Creative Commons 4.0 texts "does not form part of the public licenses"
# and comes in several editions: cut it.
_CC_NOTICE = re.compile(r"creative\s+commons\s+is\s+not\s+a\s+party\s+to\s+its\s+public")
_COPYRIGHT_LINE = re.compile(
    r"(?:portions\s+)?(?:copyright\b.*?(?:\d{4}|\(c\)|©|<|\[|\byear\b)|\(c\)\s*(?:\d{4}|copyright)|©)"
)
_ALL_RIGHTS = re.compile(r"all rights reserved\W*$")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)\s]*\)")
_HTTP_ARTEFACT = re.compile(r"http\s*s?\s*:\s*/\s*/")
# Where a URL may be: the whole whitespace-delimited token around each hit is dropped.
_URL_HINT = re.compile(r"https?:|www\.|\.(?:org|com|net|fr|eu|info|io|gov)\b")
_WHITESPACE = re.compile(r"\s")
_BULLET = re.compile(r"(?:[-*+•·]|\(?(?:\d{1,3}|[a-z]|[ivx]{1,4})[.)]|\d+(?:\.\d+)+\.?)\s+")
_MARKUP_START = "#>*_-=~/ \t"
_RULE_CHARS = frozenset("=-*_/~# \t")
# Words are runs of letters: punctuation, markup, underscores and numbers (section numbering
# differs between editions, "1.Definitions") all separate words and are dropped.
_LETTERS = re.compile(r"[^\W\d_]+")
_SPELLING = {
    "licence": "license",
    "licences": "licenses",
    "licenced": "licensed",
    "licencee": "licensee",
    "acknowledgment": "acknowledgement",
    "authorised": "authorized",
    "authorisation": "authorization",
    "organisation": "organization",
    "organisations": "organizations",
    "offence": "offense",
    "favour": "favor",
    "centre": "center",
    "whilst": "while",
    "programme": "program",
    "judgment": "judgement",
    "owner": "holder",
    "owners": "holders",
    "catalogue": "catalog",
}
_SUBLICENSE = re.compile(r"sub[\s-]+licen[cs]")
_WORD = re.compile(r"[^\W_]+")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


def _strip_header(text: str) -> str:
    """Drop leading title, version and copyright paragraphs (up to five of them).

    A leading paragraph goes when it is short (at most 16 words) and does not end as a
    sentence: that is a title ("MIT License", "# GNU GENERAL PUBLIC LICENSE / Version 3,
    29 June 2007") or a notice, not license terms. Copyright lines are already gone.
    """
    start = 0
    dropped = 0
    text = text.lstrip()
    while dropped < 5:
        found = _PARAGRAPH_BREAK.search(text, start)
        end = found.start() if found else len(text)
        if end - start > 400:  # far more than 16 words: license terms, stop here
            break
        para = text[start:end].strip()
        words = _LETTERS.findall(para)
        short = len(words) <= 16 and not para.rstrip("*_# ").endswith((".", ":", ";"))
        if words and not short:
            break
        if not found:
            return ""
        if words:
            dropped += 1
        start = found.end()
    return text[start:]


def _clean_lines(text: str) -> str:
    """Line-level clean-up: markdown headings, quotes and rules, copyright lines, bullets."""
    kept: list[str] = []
    for line in text.split("\n"):
        body = line.lstrip(_MARKUP_START)
        if not body.strip():
            if line.strip() and len(line.strip()) >= 3 and set(line) <= _RULE_CHARS:
                kept.append("")  # a horizontal rule separates paragraphs
                continue
            kept.append("")
            continue
        if body[0] in "cp(©" and _COPYRIGHT_LINE.match(body):
            continue
        if body[0] == "a" and _ALL_RIGHTS.match(body):
            continue
        if body.startswith("version ") and len(body.split()) <= 6:
            continue  # "Version 3, 29 June 2007" under a title
        bullet = _BULLET.match(line.lstrip())
        if bullet:
            body = line.lstrip()[bullet.end() :]
        kept.append(body)
    return "\n".join(kept)


def _strip_urls(text: str) -> str:
    """Drop every whitespace-delimited token that holds a URL or a bare domain name."""
    pieces: list[str] = []
    pos = 0
    for hit in _URL_HINT.finditer(text):
        if hit.start() < pos:
            continue
        start = max(text.rfind(" ", 0, hit.start()), text.rfind("\n", 0, hit.start())) + 1
        after = _WHITESPACE.search(text, hit.end())
        end = after.start() if after else len(text)
        pieces.append(text[pos : max(start, pos)])
        pieces.append(" ")
        pos = end
    pieces.append(text[pos:])
    return "".join(pieces)


def _clean(text: str) -> str:
    """Text -> normalised word string (lowercase words separated by single spaces).

    Steps, applied the same way to a file and to every reference: lower case; cut at "end of
    terms and conditions" (what follows is how-to-apply advice) and at the Creative Commons
    closing notice; drop copyright and "all rights reserved" lines, markdown markup,
    horizontal rules, bullets and list numbers, leading title/version paragraphs and URLs;
    fold British spellings and "owner" to the American ones and "holder"; split on
    punctuation and whitespace; drop numbers (section numbering differs between editions).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff").lower()
    for marker in (_END_OF_TERMS, _CC_NOTICE):
        cut = marker.search(text)
        if cut:
            text = text[: cut.start()]
    if "](" in text:
        text = _MD_LINK.sub(r"\1", text)
    text = _strip_header(_clean_lines(text))
    if "http" in text:
        text = _HTTP_ARTEFACT.sub("http://", text)
    if "sub" in text:
        text = _SUBLICENSE.sub("sublicens", text)
    words = _LETTERS.findall(_strip_urls(text).replace("&", " and "))
    # A generator artefact of some SPDX texts: "not to s ue".
    return " ".join(words).replace(" s ue ", " sue ")


@dataclass(frozen=True, slots=True)
class _Normalised:
    words: frozenset[str]
    length: int


def _normalised(text: str) -> _Normalised:
    cleaned = _clean(text)
    words = frozenset(_SPELLING.get(word, word) for word in set(cleaned.split()))
    return _Normalised(words, len(cleaned))


# --------------------------------------------------------------------------------------
# Reference texts
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Reference:
    spdx_id: str
    variant: str  # file name of the reference, and which part of it
    norm: _Normalised


def _lgpl3_terms_only(text: str) -> str:
    """The LGPL-3.0 terms without the GPL-3.0 text SPDX appends to them (README of the data)."""
    match = re.search(r"^\s*GNU GENERAL PUBLIC LICENSE\s*$", text, re.M)
    return text[: match.start()] if match else text


@functools.cache
def _references() -> tuple[_Reference, ...]:
    """All reference texts, normalised once (about 55 files, a few tens of milliseconds)."""
    refs: list[_Reference] = []
    for entry in sorted((_DATA / "text").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".txt"):
            continue
        spdx_id = entry.name[: -len(".txt")]
        text = entry.read_text(encoding="utf-8")
        refs.append(_Reference(spdx_id, entry.name, _normalised(text)))
        if spdx_id == "LGPL-3.0-only":
            terms = _lgpl3_terms_only(text)
            refs.append(_Reference(spdx_id, entry.name + " (LGPL terms only)", _normalised(terms)))
    for entry in sorted((_DATA / "text-fr").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".fr.txt"):
            spdx_id = entry.name[: -len(".fr.txt")]
            text = entry.read_text(encoding="utf-8")
            refs.append(_Reference(spdx_id, "text-fr/" + entry.name, _normalised(text)))
    for entry in sorted((_DATA / "text-variants").iterdir(), key=lambda e: e.name):
        spdx_id = entry.name.rsplit(".", 2)[0]  # <SPDX-ID>.<edition>.<ext>
        text = entry.read_text(encoding="utf-8")
        refs.append(_Reference(spdx_id, "text-variants/" + entry.name, _normalised(text)))
    return tuple(refs)


def reference_ids() -> list[str]:
    """The SPDX ids :func:`detect` can recognise from a license text, sorted."""
    return sorted({ref.spdx_id for ref in _references()})


# --------------------------------------------------------------------------------------
# Detection
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LicenseMatch:
    """The outcome of :func:`detect` for one text.

    ``expression`` is the SPDX expression when recognised (``None`` when unknown);
    ``confidence`` is a percentage: 100 for an exact word match or an
    ``SPDX-License-Identifier`` line, the similarity otherwise. ``candidate`` and
    ``confidence`` are given for information even when ``expression`` is ``None``: they are
    the closest reference and its score, never an answer. ``method`` is ``"spdx-identifier"``,
    ``"exact"``, ``"dice"`` or ``"none"``.
    """

    expression: str | None
    confidence: float
    method: Literal["spdx-identifier", "exact", "dice", "none"]
    candidate: str | None = None
    file: str | None = None

    @property
    def recognised(self) -> bool:
        return self.expression is not None


_SPDX_HEADER = re.compile(r"SPDX-License-Identifier:\s*(.+?)\s*(?:\*/|-->|\*\)|$)", re.M)
_GRANT_LATER = re.compile(r"at\s+your\s+option\)?,?\s+any\s+later\s+version")
_HOW_TO_APPLY = re.compile(r"how\s+to\s+apply\s+these\s+terms")
_GNU_ONLY = re.compile(r"^(A?GPL|LGPL)-(\d\.\d)-only$")


def _or_later(spdx_id: str, text: str) -> str:
    """Tell ``-only`` from ``-or-later`` for GNU licenses, whose texts are identical.

    The license text itself cannot say which applies: only a notice can. A file that, outside
    the GNU "How to Apply These Terms" appendix (whose sample notice always says "or (at your
    option) any later version"), grants "(at your option) any later version" is reported as
    ``-or-later``; otherwise as ``-only``, the version the text names.
    """
    match = _GNU_ONLY.match(spdx_id)
    if not match:
        return spdx_id
    lowered = text.lower()
    appendix = _HOW_TO_APPLY.search(lowered)
    body = lowered[: appendix.start()] if appendix else lowered
    if _GRANT_LATER.search(body):
        return f"{match.group(1)}-{match.group(2)}-or-later"
    return spdx_id


def _score(file: _Normalised, ref: _Normalised) -> float:
    """Sørensen-Dice similarity of word sets (percent), lowered by the length difference.

    The length term (a quarter of the character difference added to the denominator, as
    licensee does) rules out a long file that merely contains a short license's words.
    """
    overlap = len(file.words & ref.words)
    total = len(file.words) + len(ref.words)
    if total == 0:
        return 0.0
    return overlap * 200.0 / (total + abs(file.length - ref.length) / 4)


_GNU_TITLE = re.compile(
    r"^[\s#*_]*GNU (?:AFFERO |LESSER |LIBRARY )?GENERAL PUBLIC LICEN[CS]E\s*$", re.M | re.I
)


def _without_gnu_notice(text: str) -> str:
    """The text from a GNU license title on, when a short notice precedes it.

    Projects often put their own notice ("This program is free software ... either version 3
    of the License, or (at your option) any later version.") above the GNU text; it says which
    version applies (see :func:`_or_later`) but is not license text, so it is left out of the
    comparison. Only a title within the first 4000 characters counts.
    """
    title = _GNU_TITLE.search(text[:4000])
    return text[title.start() :] if title and title.start() > 0 else text


def similarity(first: str, second: str) -> float:
    """The score :func:`detect` would give ``first`` against ``second`` as a reference (%)."""
    return _score(_normalised(first), _normalised(second))


def _bound(file: _Normalised, ref: _Normalised) -> float:
    """Upper bound of :func:`_score` from sizes alone (overlap <= the smaller word set)."""
    total = len(file.words) + len(ref.words)
    if total == 0:
        return 0.0
    return (
        min(len(file.words), len(ref.words)) * 200.0 / (total + abs(file.length - ref.length) / 4)
    )


def detect(text: str | bytes, *, filename: str | None = None) -> LicenseMatch | None:
    """Recognise the license of one license file's text; ``None`` for an empty text.

    An ``SPDX-License-Identifier:`` line whose value normalises wins at confidence 100 (all
    such lines of the file are combined with AND). Otherwise the text is compared with every
    reference by word-set similarity: the best reference is named only when its score is at
    least :data:`ACCEPT_CONFIDENCE` (98); below that, ``expression`` is ``None`` and the best
    candidate with its score is given for information. GNU texts are reported ``-only`` unless
    the file grants later versions (see :func:`_or_later`). When two different licenses score
    within :data:`AMBIGUITY_MARGIN` of each other (AFL-3.0 and OSL-3.0), nothing is named.
    Bytes are decoded as UTF-8, or ISO-8859-1 when not UTF-8. Fast: a few milliseconds for a
    35 kB GPL text once the references are loaded (about 0.2 s, on first use).
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            text = text.decode("iso-8859-1")
    headers = _SPDX_HEADER.findall(text)
    if headers:
        found: list[str] = []
        for value in headers:
            try:
                expression = normalise(value)
            except LicenseError:
                continue
            if expression not in found:
                found.append(expression)
        if found:
            combined = " AND ".join(f"({e})" if " " in e else e for e in found)
            expression = found[0] if len(found) == 1 else normalise(combined)
            return LicenseMatch(expression, 100.0, "spdx-identifier", expression, filename)
    norm = _normalised(_without_gnu_notice(text))
    if not norm.words:
        if _WORD.search(text):
            return LicenseMatch(None, 0.0, "none", None, filename)
        return None
    # Length pre-filter: a reference whose word-set size alone caps its score below the
    # second best license seen so far can change neither the answer nor the runner-up.
    scores: dict[str, float] = {}
    best_two = [-1.0, -1.0]
    for ref in _references():
        if ref.norm.words == norm.words:
            spdx_id = _or_later(ref.spdx_id, text)
            return LicenseMatch(spdx_id, 100.0, "exact", spdx_id, filename)
        if _bound(norm, ref.norm) < best_two[1]:
            continue
        score = _score(norm, ref.norm)
        if score > scores.get(ref.spdx_id, -1.0):
            scores[ref.spdx_id] = score
            best_two = [*sorted(scores.values(), reverse=True)[:2], -1.0]
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (best, best_score), runner_up = ranked[0], ranked[1][1] if len(ranked) > 1 else 0.0
    confidence = round(best_score, 2)
    if best_score >= ACCEPT_CONFIDENCE and best_score - runner_up >= AMBIGUITY_MARGIN:
        spdx_id = _or_later(best, text)
        return LicenseMatch(spdx_id, confidence, "dice", spdx_id, filename)
    return LicenseMatch(None, confidence, "none", best, filename)


# --------------------------------------------------------------------------------------
# Findings from several sources
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LicenseFinding:
    """One claim about a repository's license and where it came from.

    ``expression`` is a normalised SPDX expression, or ``None`` when the source exists but
    names no recognisable license (an unrecognised file, a forge's "other"). ``confidence``
    is a percentage (100 for a declaration). ``file`` is the path the claim was read from,
    when there is one; ``note`` explains anything a person should look at.
    """

    expression: str | None
    source: FindingSource
    confidence: float = 100.0
    file: str | None = None
    note: str | None = None


_ROOT_LICENSE = re.compile(r"^(?:un)?(?:licen[cs]e|copying)(?:[-._].*)?$", re.I)
_CODE_EXTENSIONS = {
    "py", "js", "ts", "go", "rb", "java", "c", "h", "rs", "json", "yml", "yaml", "xml",
    "toml", "php", "sh", "cs", "kt", "swift", "vue", "jsx", "tsx", "css", "scss", "lock",
}  # fmt: skip


def _is_root_license_file(path: str) -> bool:
    if "/" in path:
        return False
    if not _ROOT_LICENSE.match(path):
        return False
    extension = path.rsplit(".", 1)[1].lower() if "." in path else ""
    return extension not in _CODE_EXTENSIONS


def _reuse_id(stem: str) -> str | None:
    """The SPDX id a REUSE ``LICENSES/<stem>.<ext>`` file name declares, or ``None``.

    REUSE names each file after the id of the license it holds: a current or deprecated
    SPDX id (any case; deprecated ones are mapped to current ones) or a ``LicenseRef-``.
    """
    if _LICENSE_REF.match(stem):
        return stem
    known = _ids_by_lower().get(stem.lower())
    if known is None:
        return None
    if _metadata()[known]["deprecated"]:
        return _deprecated_replacement(known)
    return known


def detect_in_files(files: Mapping[str, str | bytes]) -> list[LicenseFinding]:
    """Findings for a repository's license files, sorted by path.

    ``files`` maps paths (relative to the repository root) to contents. Looked at: root files
    named LICENSE, LICENCE, COPYING or UNLICENSE in any case, with any suffix or extension
    except source code (``LICENSE.md``, ``COPYING.LESSER``, ``LICENSE-AGPLv3.txt``), and the
    files of a REUSE ``LICENSES/`` directory. Every such file yields a finding, an
    unrecognised one with ``expression=None`` (its best candidate is in ``note``).

    A REUSE file whose name is a valid id yields a ``"reuse"`` finding for that id. Its text
    is checked too: when the text is recognised as another license, a ``"file"`` finding for
    the text is added, so :func:`disagreements` shows the conflict. A REUSE file whose name is
    not an id (``LICENSES/LICENSE.CC-BY-4.0.txt``) is judged on its text alone. License
    exception files (``LICENSES/Classpath-exception-2.0.txt``) are skipped: they only mean
    something inside a ``WITH`` of a file header.
    """
    findings: list[LicenseFinding] = []
    for path in sorted(files):
        content = files[path]
        clean_path = path.strip("/")
        if _is_root_license_file(clean_path):
            findings.append(_file_finding(content, clean_path))
            continue
        directory, _, name = clean_path.rpartition("/")
        if directory != "LICENSES" or not name:
            continue
        stem = name.rsplit(".", 1)[0] if "." in name else name
        if _is_exception(stem):
            continue
        declared = _reuse_id(stem)
        if declared is None:
            finding = _file_finding(content, clean_path)
            note = f"REUSE file name {stem!r} is not an SPDX identifier; judged on its text"
            findings.append(_with_note(finding, note))
            continue
        findings.append(LicenseFinding(declared, "reuse", 100.0, clean_path))
        match = detect(content, filename=clean_path)
        if match and match.expression and not _same(match.expression, declared):
            note = f"the text of {clean_path} is {match.expression}, its name says {declared}"
            findings.append(
                LicenseFinding(match.expression, "file", match.confidence, clean_path, note)
            )
    return findings


def _with_note(finding: LicenseFinding, note: str) -> LicenseFinding:
    joined = f"{note}; {finding.note}" if finding.note else note
    return LicenseFinding(
        finding.expression, finding.source, finding.confidence, finding.file, joined
    )


def _file_finding(content: str | bytes, path: str) -> LicenseFinding:
    match = detect(content, filename=path)
    if match is None:
        return LicenseFinding(None, "file", 0.0, path, "empty license file")
    if match.expression is None:
        closest = f"closest: {match.candidate} at {match.confidence:.1f}%"
        note = f"not recognised ({closest})" if match.candidate else "not recognised"
        return LicenseFinding(None, "file", match.confidence, path, note)
    return LicenseFinding(match.expression, "file", match.confidence, path)


def _same(first: str, second: str) -> bool:
    if first == second:
        return True
    try:
        return is_equivalent(first, second)
    except LicenseError:
        return False


def expression_for(findings: Iterable[LicenseFinding]) -> str | None:
    """Combine the distinct recognised expressions of ``findings`` with AND, or ``None``.

    Meant for findings of one source, such as the files of a REUSE directory: several license
    files mean that several licenses apply together. Findings without an expression are
    skipped; equivalent expressions are kept once; the result is normalised and its parts
    are in the order first seen.
    """
    distinct: list[str] = []
    for finding in findings:
        if finding.expression and not any(_same(finding.expression, e) for e in distinct):
            distinct.append(finding.expression)
    if not distinct:
        return None
    if len(distinct) == 1:
        return distinct[0]
    return normalise(" AND ".join(f"({e})" if " " in e else e for e in distinct))


@dataclass(frozen=True, slots=True)
class Disagreement:
    """Two sources whose combined expressions are not equivalent."""

    sources: tuple[str, str]
    expressions: tuple[str, str]


def disagreements(findings: Iterable[LicenseFinding]) -> list[Disagreement]:
    """How the sources of ``findings`` disagree; an empty list when they agree.

    The findings of each source are combined with :func:`expression_for`, then each pair of
    sources is compared by expression equivalence (license-expression's boolean logic, so
    ``MIT OR Apache-2.0`` agrees with ``Apache-2.0 OR MIT`` and ``GPL-2.0`` with
    ``GPL-2.0-only``). A source with no recognised expression asserts nothing and disagrees
    with nobody. Pairs come in the order the sources were first seen.
    """
    by_source: dict[str, list[LicenseFinding]] = {}
    for finding in findings:
        by_source.setdefault(finding.source, []).append(finding)
    combined = [(source, expression_for(items)) for source, items in by_source.items()]
    known = [(source, expr) for source, expr in combined if expr is not None]
    result: list[Disagreement] = []
    for index, (source_a, expr_a) in enumerate(known):
        for source_b, expr_b in known[index + 1 :]:
            if not _same(expr_a, expr_b):
                result.append(Disagreement((source_a, source_b), (expr_a, expr_b)))
    return result

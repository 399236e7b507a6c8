"""Controlled vocabularies of the standard, read once from ``registry/data/publiccode/``.

Sources: ISO 639 (languages), ISO 3166-1 (countries) and ISO 15924 (scripts) come from
Debian's ``iso-codes`` package; categories, scopes and ``supports`` aliases from the
publiccode.yml standard's own lists; oEmbed URL schemes from oembed.com's providers.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from pathlib import Path

from license_expression import Licensing, get_spdx_licensing

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "publiccode"

CATEGORIES_DOC = (
    "https://github.com/publiccodeyml/publiccode.yml/blob/main/docs/standard/categories-list.rst"
)
SCOPES_DOC = (
    "https://github.com/publiccodeyml/publiccode.yml/blob/main/docs/standard/scope-list.rst"
)
ALIASES_DOC = (
    "https://github.com/publiccodeyml/publiccode.yml/blob/main/docs/standard/aliases-list.rst"
)
IPA_DOC = "https://github.com/publiccodeyml/italian-organizations-ipa-vocabulary"


@cache
def _words(name: str) -> frozenset[str]:
    lines = (DATA_DIR / name).read_text(encoding="utf-8").splitlines()
    return frozenset(s.strip() for s in lines if s.strip() and not s.startswith("#"))


def categories() -> frozenset[str]:
    return _words("categories.txt")


def scopes() -> frozenset[str]:
    return _words("scopes.txt")


def aliases() -> frozenset[str]:
    return _words("aliases.txt")


def countries() -> frozenset[str]:
    return _words("countries.txt")


def languages() -> frozenset[str]:
    return _words("languages.txt")


def scripts() -> frozenset[str]:
    return frozenset(s.lower() for s in _words("scripts.txt"))


@cache
def _oembed_patterns() -> tuple[re.Pattern[str], ...]:
    return tuple(
        re.compile("^" + re.escape(scheme).replace(r"\*", ".*") + "$")
        for scheme in sorted(_words("oembed_schemes.txt"))
    )


def is_oembed_video(url: str) -> bool:
    """True when ``url`` matches the URL scheme of a known oEmbed video provider."""
    return any(p.match(url) for p in _oembed_patterns())


def is_country(code: str) -> bool:
    """ISO 3166-1 alpha-2, upper or lower case (lower case is deprecated, not invalid)."""
    return len(code) == 2 and code.upper() in countries() and code in (code.upper(), code.lower())


_ALNUM = re.compile(r"^[A-Za-z0-9]+$")


def is_bcp47(tag: str) -> bool:
    """A well-formed BCP 47 tag whose language, script and region subtags are registered."""
    if not tag or not tag.isascii() or tag.strip() != tag:
        return False
    parts = tag.split("-")
    if not all(_ALNUM.match(p) for p in parts):
        return False
    language = parts[0].lower()
    if not (language.isalpha() and 2 <= len(language) <= 3 and language in languages()):
        return False
    rest = parts[1:]
    # extended language subtags (zh-yue) are registered 3-letter languages
    while rest and len(rest[0]) == 3 and rest[0].isalpha():
        if rest[0].lower() not in languages():
            return False
        rest = rest[1:]
    if rest and len(rest[0]) == 4 and rest[0].isalpha():
        if rest[0].lower() not in scripts():
            return False
        rest = rest[1:]
    if rest and (
        (len(rest[0]) == 2 and rest[0].isalpha()) or (len(rest[0]) == 3 and rest[0].isdigit())
    ):
        if rest[0].isalpha() and rest[0].upper() not in countries():
            return False
        rest = rest[1:]
    while rest and ((5 <= len(rest[0]) <= 8) or (len(rest[0]) == 4 and rest[0][0].isdigit())):
        rest = rest[1:]
    while rest and len(rest[0]) == 1:
        singleton = rest[0].lower()
        body = []
        rest = rest[1:]
        while rest and (len(rest[0]) >= 2 or singleton == "x") and len(rest[0]) <= 8:
            if singleton != "x" and len(rest[0]) == 1:
                break
            body.append(rest[0])
            rest = rest[1:]
        if not body:
            return False
        if singleton == "x":
            break
    return not rest


_IPA_CODE = re.compile(r"^[A-Za-z0-9_]{1,8}$")


def is_ipa_code(code: str) -> bool:
    """A well-formed code of the Italian public administrations index (iPA).

    The reference validator also checks membership in the index (~24,000 codes, which
    change monthly); this checks the form only: 1 to 8 letters, digits or underscores.
    """
    return bool(_IPA_CODE.match(code))


_URN = re.compile(r"^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:\S+$", re.IGNORECASE)
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


def is_urn(value: str) -> bool:
    return bool(_URN.match(value))


def is_uri(value: str) -> bool:
    return bool(_URI.match(value))


@cache
def _spdx() -> Licensing:
    # building the SPDX index takes ~0.1 s: once per process
    return get_spdx_licensing()


@lru_cache(maxsize=4096)
def is_spdx_expression(expression: str) -> bool:
    """A valid SPDX license expression (ids of the SPDX list, AND/OR/WITH, brackets)."""
    try:
        info = _spdx().validate(expression, strict=True)
    except Exception:  # the library raises odd errors on some malformed input
        return False
    return not info.errors


def text_length(text: str) -> int:
    """Length in user-perceived characters, as the reference's ``umax``/``umin`` count.

    Combining marks, variation selectors, emoji modifiers and what follows a zero-width
    joiner do not add a character.
    """
    count = 0
    joined = False
    for char in text:
        code = ord(char)
        if joined:
            joined = False
            continue
        if code == 0x200D:
            joined = True
            continue
        if (
            unicodedata.combining(char)
            or 0xFE00 <= code <= 0xFE0F
            or 0x1F3FB <= code <= 0x1F3FF
            or 0xE0100 <= code <= 0xE01EF
            or 0x1160 <= code <= 0x11FF
        ):
            continue
        count += 1
    return count

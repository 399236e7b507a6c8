"""Properties of registry.publiccode.parse on arbitrary input.

The documented behaviour: ``parse`` never raises for a bad document, whatever its
text or bytes; every problem is a result with a type, a key, a description and a
position inside the document (or 0:0 for the file as a whole).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.publiccode import PublicCodeReport, parse

MINIMAL = (
    Path(__file__).resolve().parent.parent
    / "data"
    / "publiccode"
    / "testdata"
    / "v0"
    / "valid"
    / "valid.minimal.yml"
).read_text(encoding="utf-8")
MINIMAL_DATA: dict[str, Any] = yaml.safe_load(MINIMAL)

KNOWN_KEYS = [
    *MINIMAL_DATA,
    "landingURL",
    "isBasedOn",
    "releaseDate",
    "logo",
    "monochromeLogo",
    "organisation",
    "fundedBy",
    "supports",
    "intendedAudience",
    "dependsOn",
    "IT",
    "it",
    "inputTypes",
    "roadmap",
]

PROFILE = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_report(report: PublicCodeReport, text: str | bytes) -> None:
    lines = (text if isinstance(text, str) else text.decode("utf-8", "replace")).count("\n") + 2
    for result in report.results:
        assert result.type in ("error", "warning")
        assert isinstance(result.key, str) and isinstance(result.description, str)
        assert result.description
        assert 0 <= result.line <= lines and result.column >= 0
    assert report.valid == (not report.errors)
    if report.data is None:
        assert report.errors


@PROFILE
@given(st.text(max_size=2000))
def test_parse_never_raises_on_any_text(text: str) -> None:
    _check_report(parse(text), text)


@PROFILE
@given(st.binary(max_size=2000))
def test_parse_never_raises_on_any_bytes(data: bytes) -> None:
    _check_report(parse(data), data)


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.dates(),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from([*KNOWN_KEYS, "en", "name", "uri", "id"]), inner, max_size=4
        ),
    ),
    max_leaves=20,
)


@PROFILE
@given(st.dictionaries(st.sampled_from(KNOWN_KEYS), _values, max_size=12))
def test_parse_never_raises_on_random_mappings(mapping: dict[str, Any]) -> None:
    text = yaml.safe_dump(mapping, allow_unicode=True)
    _check_report(parse(text), text)


@PROFILE
@given(st.sampled_from(sorted(MINIMAL_DATA)), _values)
def test_parse_never_raises_when_one_key_of_a_valid_document_is_replaced(
    key: str, value: Any
) -> None:
    document = {**MINIMAL_DATA, key: value}
    text = yaml.safe_dump(document, allow_unicode=True)
    report = parse(text)
    _check_report(report, text)
    assert report.data is not None or key == "publiccodeYmlVersion"


@PROFILE
@given(st.integers(min_value=0, max_value=len(MINIMAL) - 1), st.text(min_size=1, max_size=8))
def test_parse_never_raises_on_a_valid_document_with_text_spliced_in(at: int, junk: str) -> None:
    text = MINIMAL[:at] + junk + MINIMAL[at:]
    _check_report(parse(text), text)

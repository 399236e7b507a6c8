"""publiccode.yml validation: the reference validator's conformance suite, and more.

``tests/data/publiccode`` is a copy of the reference validator's test documents
(publiccode-parser-go, testdata/v0) and of the results it expects (``expected.json``).
Each expected case is one test: same results, same order, same type, key, line, column
and description. The only expected results not checked are those that need the
network (see :func:`needs_network`), because these tests run with the network off.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry.errors import PublicCodeError
from registry.publiccode import (
    MAX_BYTES,
    InvalidPublicCodeError,
    PublicCodeReport,
    ValidationResult,
    format_result,
    parse,
    require_valid,
    validate_command,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "publiccode"
TESTDATA = DATA / "testdata" / "v0"
EXAMPLES = DATA / "examples"

#: where each test group of the reference reads its documents
GROUP_DIRS = {
    "TestValidWithWarningTestcasesV0_NoNetwork": TESTDATA / "valid_with_warnings" / "no-network",
    "TestInvalidTestcasesV0_NoNetwork": TESTDATA / "invalid" / "no-network",
    "TestValidWithWarningsTestcasesV0": TESTDATA / "valid_with_warnings",
    "TestUrlMissingWithoutPath": TESTDATA / "invalid",
    "TestInvalidTestcasesV0": TESTDATA / "invalid",
}

#: the expected results that only a validator with network access can produce
NETWORK_ONLY = {
    ("TestInvalidTestcasesV0", "roadmap_invalid.yml", "roadmap"),
    (
        "TestInvalidTestcasesV0",
        "description_en_documentation_invalid.yml",
        "description.en.documentation",
    ),
    (
        "TestInvalidTestcasesV0",
        "description_en_apiDocumentation_invalid.yml",
        "description.en.apiDocumentation",
    ),
    ("TestInvalidTestcasesV0", "logo_missing_url.yml", "logo"),
}


def needs_network(expected: dict[str, object]) -> bool:
    """A reachability result: "'x' not reachable: ..." or "HTTP GET failed for ..."."""
    description = str(expected["description"])
    return " not reachable: " in description or description.startswith("HTTP GET failed for ")


def _expected_cases() -> list[tuple[str, str, list[dict[str, object]]]]:
    expected = json.loads((DATA / "expected.json").read_text(encoding="utf-8"))
    return [
        (group, name, results)
        for group, files in expected.items()
        for name, results in files.items()
    ]


CASES = _expected_cases()


def _result(**fields: object) -> dict[str, object]:
    return {
        "type": fields["type"],
        "key": fields["key"],
        "description": str(fields["description"]).replace("<CWD>", str(DATA)),
        "line": fields["line"],
        "column": fields["column"],
    }


@pytest.mark.parametrize(
    ("group", "name", "expected"), CASES, ids=[f"{g}/{n}" for g, n, _ in CASES]
)
def test_reference_conformance(group: str, name: str, expected: list[dict[str, object]]) -> None:
    document = GROUP_DIRS[group] / name
    report = parse(document.read_bytes(), base_dir=document.parent)
    wanted = [_result(**e) for e in expected if not needs_network(e)]
    assert [r.as_dict() for r in report.results] == wanted


def test_only_reachability_results_are_left_unchecked() -> None:
    skipped = {
        (group, name, str(e["key"]))
        for group, name, results in CASES
        for e in results
        if needs_network(e)
    }
    assert skipped == NETWORK_ONLY
    assert len(CASES) == 103


VALID = sorted([*TESTDATA.glob("valid/*.yml"), *TESTDATA.glob("valid/no-network/*.yml")])


@pytest.mark.parametrize("document", VALID, ids=[p.name for p in VALID])
def test_reference_valid_documents_give_no_result(document: Path) -> None:
    report = parse(document.read_bytes(), base_dir=document.parent)
    assert report.results == ()
    assert report.valid and report.data is not None


@pytest.mark.parametrize("version", ["0.2", "0.3", "0.4"])
def test_each_published_version_validates(version: str) -> None:
    report = parse((EXAMPLES / f"v{version}.yml").read_bytes(), base_dir=EXAMPLES)
    assert report.errors == []
    assert report.warnings[0] == ValidationResult(
        "warning",
        "publiccodeYmlVersion",
        f"v{version} is not the latest version, use '0'. Parsing this file as v0.7.",
        2,
        1,
    )
    assert report.data is not None and report.data.publiccode_yml_version == version


def test_a_0_2_document_keeps_its_deprecated_keys_as_warnings() -> None:
    report = parse((EXAMPLES / "v0.2.yml").read_bytes())
    assert [r.key for r in report.warnings] == [
        "publiccodeYmlVersion",
        "legal.repoOwner",
        "description.ita.genericName",
        "intendedAudience.countries[0]",
        "it",
        "it.conforme",
        "it.riuso.codiceIPA",
    ]


@pytest.mark.parametrize("version", ["0", "0.5", "0.5.0", "0.7", "0.7.0", "0.2.2"])
def test_every_supported_version_string_is_accepted(version: str) -> None:
    text = (TESTDATA / "valid" / "valid.minimal.yml").read_text().replace('"0"', f'"{version}"', 1)
    assert parse(text).errors == []


def test_extracts_what_the_catalogue_uses() -> None:
    data = require_valid((TESTDATA / "valid" / "valid.yml").read_bytes())
    assert data.name == "Medusa"
    assert data.url == "https://github.com/italia/developers.italia.it.git"
    assert data.landing_url == "https://developers.italia.it"
    assert data.is_based_on == ("https://github.com/italia/developers.italia.it.git",)
    assert data.software_version == "1.0"
    assert str(data.release_date) == "2017-04-15"
    assert data.license == "AGPL-3.0-or-later"
    assert data.platforms == ("android", "ios", "custom_platform")
    assert len(data.categories) == 105 and data.categories[0] == "accounting"
    assert data.used_by == ("Comune di Firenze", "Comune di Roma")
    assert data.development_status == "development"
    assert data.software_type == "standalone/other"
    assert data.countries == ("IT", "DE") and data.unsupported_countries == ("US",)
    english = data.descriptions["en"]
    assert english.short_description == "A really interesting software."
    assert english.long_description is not None and len(english.long_description) > 600
    assert english.documentation == "https://docs.italia.it"
    assert english.api_documentation == "https://developers.italia.it/it/api"
    assert english.features[0] == "Very important feature"
    assert data.maintenance.type == "contract"
    assert data.maintenance.contractors[0].name == "Fornitore Privato SPA"
    assert str(data.maintenance.contractors[0].until) == "2019-01-01"
    assert [c.name for c in data.maintenance.contacts] == [
        "Francesco Rossi",
        "Dario Bianchi",
        "Giancarlo Verdi",
    ]
    assert data.maintenance.contacts[0].email == "francesco.rossi@example.org"
    assert data.organisation is not None and data.organisation.uri == "urn:x-italian-pa:c_h501"
    assert data.localisation_ready is True
    assert data.available_languages == ("en", "it", "fr", "de", "sl-IT-nedis")
    assert [d.name for d in data.depends_on.open] == ["MySQL", "PostgreSQL"]
    assert data.depends_on.open[0].version_min == "1.1" and data.depends_on.open[0].optional
    assert data.depends_on.hardware[0].name == "NFC Reader"
    assert data.country_sections["IT"] == {
        "piattaforme": {"spid": True, "pagopa": True, "cie": True, "anpr": True, "io": True}
    }


def test_require_valid_raises_a_publiccode_error_listing_the_errors() -> None:
    with pytest.raises(InvalidPublicCodeError) as caught:
        require_valid((TESTDATA / "invalid" / "maintenance_type_invalid.yml").read_bytes())
    assert isinstance(caught.value, PublicCodeError)
    assert caught.value.errors == [
        {
            "field": "maintenance.type",
            "message": 'type must be one of the following: "internal", "contract", '
            '"community" or "none"',
            "line": 45,
        }
    ]


def test_results_print_like_the_reference() -> None:
    result = ValidationResult("error", "url", "url is a required field", 1, 1)
    assert format_result(result) == "publiccode.yml:1:1: error: url: url is a required field"


def test_invalid_document_still_yields_the_data_it_has() -> None:
    report = parse((TESTDATA / "invalid" / "url_missing.yml").read_bytes())
    assert not report.valid
    assert report.data is not None and report.data.name == "Medusa" and report.data.url is None


def test_without_base_dir_relative_files_are_not_checked() -> None:
    report = parse((TESTDATA / "invalid" / "logo_missing_file.yml").read_bytes())
    assert report.results == ()


def test_a_relative_path_out_of_the_repository_is_refused_not_probed(tmp_path: Path) -> None:
    text = (TESTDATA / "valid" / "valid.minimal.yml").read_text() + "logo: ../../../etc/hosts.png\n"
    report = parse(text, base_dir=tmp_path)
    assert [(r.key, r.description) for r in report.errors] == [
        ("logo", "path leads outside the repository: ../../../etc/hosts.png")
    ]


def test_png_logo_narrower_than_120_pixels_is_refused(tmp_path: Path) -> None:
    header = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (64).to_bytes(4, "big") * 2
    (tmp_path / "logo.png").write_bytes(header + b"\x08\x06\x00\x00\x00")
    text = (TESTDATA / "valid" / "valid.minimal.yml").read_text() + "logo: logo.png\n"
    report = parse(text, base_dir=tmp_path)
    assert [r.description for r in report.errors] == [
        f"invalid image size of 64 (min 120px of width): {tmp_path / 'logo.png'}"
    ]


# -- hostile and broken input -----------------------------------------------------------


def _only_error(report: PublicCodeReport) -> ValidationResult:
    assert report.data is None
    assert len(report.results) == 1 and report.results[0].type == "error"
    return report.results[0]


def test_oversized_file_is_refused_unread() -> None:
    error = _only_error(parse(b"a: " + b"x" * MAX_BYTES))
    assert error.description.startswith("file too large:")
    assert (error.key, error.line, error.column) == ("", 0, 0)


def test_python_tags_are_refused_without_constructing_anything() -> None:
    text = 'publiccodeYmlVersion: "0"\nname: !!python/object/apply:os.system ["echo pwned"]\n'
    error = _only_error(parse(text))
    assert error.description.startswith(
        "unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'"
    )
    assert (error.key, error.line, error.column) == ("name", 2, 7)


def test_billion_laughs_is_refused_fast() -> None:
    lines = ['publiccodeYmlVersion: "0"', 'l0: &l0 ["lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    started = time.perf_counter()
    error = _only_error(parse("\n".join(lines)))
    assert time.perf_counter() - started < 1.0
    assert error.description == (
        "the document has more than 100000 YAML nodes once its aliases are expanded "
        "(an alias bomb?): refused"
    )


@pytest.mark.parametrize(
    "tail",
    [
        "usedBy:\n" + "".join("  - {a: 1}\n" for _ in range(20000)),
        "".join(f"unknown{i}: 1\n" for i in range(40000)),
        "categories:\n" + "".join(f"  - nope{i}\n" for i in range(40000)),
    ],
    ids=["wrong-types", "unknown-keys", "bad-values"],
)
def test_tens_of_thousands_of_results_take_seconds_not_hours(tail: str) -> None:
    text = (TESTDATA / "valid" / "valid.minimal.yml").read_text().replace("categories:", "c:")
    started = time.perf_counter()
    report = parse(text + tail)
    assert time.perf_counter() - started < 10.0
    assert len(report.errors) >= 20000


def test_recursive_alias_is_refused() -> None:
    error = _only_error(parse('publiccodeYmlVersion: "0"\nname: &a [*a]\n'))
    assert "recursive aliases" in error.description


def test_utf16_is_refused_with_a_clear_message() -> None:
    data = 'publiccodeYmlVersion: "0"\n'.encode("utf-16")
    error = _only_error(parse(data))
    assert (
        error.description
        == "Invalid UTF-8: the file is UTF-16 encoded; publiccode.yml must be UTF-8"
    )


def test_latin1_is_refused_with_a_clear_message() -> None:
    error = _only_error(parse('publiccodeYmlVersion: "0"\nname: Système\n'.encode("latin-1")))
    assert error.description.startswith("Invalid UTF-8: byte 0xE8 on line 2 (offset 36)")


def test_utf8_byte_order_mark_is_accepted() -> None:
    data = b"\xef\xbb\xbf" + (TESTDATA / "valid" / "valid.minimal.yml").read_bytes()
    assert parse(data).results == ()


@pytest.mark.parametrize(
    ("data", "description", "line"),
    [
        (b"", "the file is empty", 0),
        (b"# only a comment\n", "the file is empty", 0),
        (b"- a\n- b\n", "the document must be a mapping of keys to values", 1),
        (b"just text", "the document must be a mapping of keys to values", 1),
        (b"\x00\x01\x02\xff\xfe", None, 0),
        (b"a: b\x00c\n", None, 1),
        (b"a: [1, 2\n", None, 2),
        (b"a: 1\n---\nb: 2\n", None, 2),
        (b"a: 1\na: 2\n", 'mapping key "a" already defined at line 1', 2),
        (b"[" * 5000, None, None),
    ],
)
def test_broken_documents_give_one_clean_error(
    data: bytes, description: str | None, line: int | None
) -> None:
    error = _only_error(parse(data))
    assert error.key == ""
    if description is not None:
        assert error.description == description
    if line is not None:
        assert error.line == line


def test_top_level_problems_in_the_reference_manner() -> None:
    missing = _only_error(parse("name: Medusa\n"))
    assert (missing.key, missing.description, missing.line, missing.column) == (
        "publiccodeYmlVersion",
        "publiccodeYmlVersion is a required field",
        0,
        0,
    )


def test_anchors_aliases_and_merge_keys_are_read() -> None:
    text = (TESTDATA / "valid" / "valid.minimal.yml").read_text()
    text = text.replace(
        "maintenance:\n",
        "maintenance: &m\n  <<: {type: community}\n",
    ).replace('  type: "community"\n', "")
    report = parse(text)
    assert report.results == ()
    assert report.data is not None and report.data.maintenance.type == "community"


# -- network (opt-in), against a real loopback server ------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/ok" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_base() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_network_checks_report_unreachable_urls(http_base: str) -> None:
    text = (
        (TESTDATA / "valid" / "valid.minimal.yml")
        .read_text()
        .replace(
            'url: "https://github.com/italia/developers.italia.it.git"', f'url: "{http_base}/ok"'
        )
    )
    text += f'roadmap: "{http_base}/missing"\n'
    assert parse(text).results == ()
    report = parse(text, network=True)
    assert [(r.key, r.description, r.line) for r in report.results] == [
        (
            "roadmap",
            f"'{http_base}/missing' not reachable: HTTP GET returned 404 for "
            f"{http_base}/missing; 200 was expected",
            51,
        )
    ]


def test_network_checks_match_the_reference_for_scheme_less_urls() -> None:
    document = TESTDATA / "invalid" / "roadmap_invalid.yml"
    report = parse(document.read_bytes(), network=True, http_get=lambda url: 200)
    assert [(r.key, r.description) for r in report.results] == [
        ("roadmap", "roadmap must be an HTTP URL"),
        ("roadmap", "'foobar' not reachable: missing URL scheme"),
    ]


# -- command line -------------------------------------------------------------------------


def test_validate_command_prints_results_and_fails_on_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = validate_command(
        str(TESTDATA / "invalid" / "monochromeLogo_unsupported_extension.yml"),
        as_json=False,
        network=False,
    )
    assert code == 1
    assert capsys.readouterr().out.splitlines() == [
        "publiccode.yml:18:1: warning: monochromeLogo: This key is DEPRECATED and will be "
        "removed in the future. Use 'logo' instead",
        "publiccode.yml:18:1: error: monochromeLogo: invalid file extension for: "
        f"{TESTDATA / 'invalid' / 'monochromeLogo.mpg'}",
    ]


def test_validate_command_json_has_exactly_the_five_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = validate_command(
        str(TESTDATA / "valid_with_warnings" / "valid_with_legal_repoOwner.yml"),
        as_json=True,
        network=False,
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out) == [
        {
            "type": "warning",
            "key": "legal.repoOwner",
            "description": "This key is DEPRECATED and will be removed in the future. "
            "Use 'organisation.name' instead",
            "line": 70,
            "column": 3,
        }
    ]


def test_validate_command_on_a_valid_file_prints_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (
        validate_command(str(TESTDATA / "valid" / "valid.yml"), as_json=False, network=False) == 0
    )
    assert capsys.readouterr().out == ""


def test_validate_command_on_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert validate_command(str(tmp_path / "nope.yml"), as_json=False, network=False) == 1
    assert "cannot read" in capsys.readouterr().err


# -- rules beyond the reference suite ------------------------------------------------------

MINIMAL = (TESTDATA / "valid" / "valid.minimal.yml").read_text()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "license: AGPL-3.0-or-later",
            "license: GPL-2.0-only WITH MIT",
            (
                "legal.license",
                "license must be a valid license (see https://spdx.org/licenses)",
                39,
                3,
            ),
        ),
        (
            "license: AGPL-3.0-or-later",
            "license: Proprietary-Thing",
            (
                "legal.license",
                "license must be a valid license (see https://spdx.org/licenses)",
                39,
                3,
            ),
        ),
        (
            "developmentStatus: development",
            "developmentStatus: alpha",
            (
                "developmentStatus",
                'developmentStatus must be one of the following: "concept", "development", '
                '"beta", "stable" or "obsolete"',
                12,
                1,
            ),
        ),
        (
            "    - name: Francesco Rossi",
            "    - name: Francesco Rossi\n      email: francesco@",
            ("maintenance.contacts[0].email", "email must be a valid email address", 46, 7),
        ),
        (
            "    - en\n",
            "    - en\n    - en-ZZ\n",
            (
                "localisation.availableLanguages[1]",
                "availableLanguages[1] must be a valid BCP 47 language",
                51,
                7,
            ),
        ),
        (
            "name: Medusa",
            "name: Medusa\nIT:\n  countryExtensionVersion: '2.0'",
            (
                "IT.countryExtensionVersion",
                'countryExtensionVersion must be one of the following: "0.2" or "1.0"',
                5,
                3,
            ),
        ),
        (
            "name: Medusa",
            "name: Medusa\nsupports:\n  - id: not a uri",
            ("supports[0].id", "id is not a valid URI", 5, 5),
        ),
        (
            "name: Medusa",
            "name: Medusa\nreleaseDate: 2023-02-30",
            ("releaseDate", "releaseDate must be a date with format 'YYYY-MM-DD'", 4, 1),
        ),
        (
            "name: Medusa",
            "name: Medusa\norganisation:\n  uri: urn:x-italian-pa:not-a-code!",
            ("organisation.uri", "uri is not a valid URI", 5, 3),
        ),
        (
            "platforms:\n  - web",
            "platforms: web",
            ("platforms", "wrong type for this field", 6, 1),
        ),
    ],
)
def test_rule_messages_follow_the_reference_wording(
    old: str, new: str, expected: tuple[str, str, int, int]
) -> None:
    assert old in MINIMAL
    report = parse(MINIMAL.replace(old, new, 1))
    assert [(r.key, r.description, r.line, r.column) for r in report.errors][:1] == [expected]


@pytest.mark.parametrize(
    ("tag", "valid"),
    [
        ("en", True),
        ("en-GB", True),
        ("ita", True),
        ("zh-Hant-TW", True),
        ("sl-IT-nedis", True),
        ("de-CH-1996", True),
        ("es-419", True),
        ("en-x-private", True),
        ("xxx", False),
        ("en-ZZ", False),
        ("en-Abcd", False),
        ("english", False),
        ("no such language", False),
        ("en-", False),
        ("", False),
    ],
)
def test_bcp47_language_tags(tag: str, valid: bool) -> None:
    from registry.publiccode._vocab import is_bcp47

    assert is_bcp47(tag) is valid

"""Parse and validate a publiccode.yml: the one entry point, :func:`parse`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, ScalarNode

from registry.errors import PublicCodeError
from registry.publiccode._decode import Decoder
from registry.publiccode._files import HttpGet, UrlCheck, urllib_get
from registry.publiccode._model import (
    Contact,
    Contractor,
    Dependency,
    DependsOn,
    Description,
    Maintenance,
    Organisation,
    PublicCode,
    PublicCodeReport,
    ValidationResult,
)
from registry.publiccode._rules import Checker, is_date
from registry.publiccode._yaml import DocumentProblem, NodeIndex, compose, decode_text, line_col

#: the version the reference parses every 0.x document as
LATEST_VERSION = "0.7"
#: what the reference accepts in ``publiccodeYmlVersion``, in its order
SUPPORTED_VERSIONS = (
    "0",
    "0.2",
    "0.2.0",
    "0.2.1",
    "0.2.2",
    "0.3",
    "0.3.0",
    "0.4",
    "0.4.0",
    "0.5.0",
    "0.5",
    "0.7.0",
    "0.7",
)
_CURRENT = ("0", "0.7", "0.7.0")


class InvalidPublicCodeError(PublicCodeError):
    """A publiccode.yml with errors; ``results`` holds them all, ``errors`` as dicts."""

    def __init__(self, results: list[ValidationResult]) -> None:
        errors = [r for r in results if r.type == "error"]
        first = errors[0].format() if errors else "invalid publiccode.yml"
        more = f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else ""
        super().__init__(
            first + more,
            errors=[{"field": r.key, "message": r.description, "line": r.line} for r in errors],
        )
        self.results = results


def parse(
    text: str | bytes,
    *,
    network: bool = False,
    base_dir: Path | None = None,
    http_get: HttpGet | None = None,
) -> PublicCodeReport:
    """Validate a publiccode.yml and extract what the catalogue uses.

    Never raises for a bad document, whatever its bytes: every problem is a result
    (key ``""`` with the line of a YAML error, or ``0, 0`` when the file as a whole is
    refused: over 1 MiB, not UTF-8, alias bombs, foreign YAML tags...).

    ``base_dir`` is where relative paths (logo, screenshots, authors file) are looked
    for; without it they are not checked. ``network`` turns on the reference's network
    checks (URLs answer 200); ``http_get`` replaces the urllib client for them. The
    network checks fetch whatever URL the document names, loopback and private
    addresses included: turn them on for a person's own file (the command line), not
    for untrusted documents on a server, where the crawler's guarded client belongs.
    """
    try:
        root = compose(decode_text(text))
    except DocumentProblem as problem:
        return PublicCodeReport(None, (problem.result,))
    if not isinstance(root, MappingNode):
        line, column = line_col(root)
        error = ValidationResult(
            "error", "", "the document must be a mapping of keys to values", line, column
        )
        return PublicCodeReport(None, (error,))

    results: list[ValidationResult] = []
    index = NodeIndex(root)
    key, version = index.get(root, "publiccodeYmlVersion")
    if key is None or version is None:
        error = ValidationResult(
            "error", "publiccodeYmlVersion", "publiccodeYmlVersion is a required field", 0, 0
        )
        return PublicCodeReport(None, (error,))
    value = version.value if isinstance(version, ScalarNode) else ""
    if value not in SUPPORTED_VERSIONS:
        error = ValidationResult(
            "error",
            "publiccodeYmlVersion",
            f"unsupported version: '{value}'. Supported versions: {', '.join(SUPPORTED_VERSIONS)}",
            0,
            0,
        )
        return PublicCodeReport(None, (error,))
    if value not in _CURRENT:
        line, column = line_col(key)
        results.append(
            ValidationResult(
                "warning",
                "publiccodeYmlVersion",
                f"v{value} is not the latest version, use '0'. "
                f"Parsing this file as v{LATEST_VERSION}.",
                line,
                column,
            )
        )

    decoder = Decoder(index)
    document = decoder.decode_document()
    results.extend(decoder.results)
    checker = Checker(index, document)
    checker.check_struct()
    url_check = UrlCheck(http_get or urllib_get) if network else None
    checker.check_fields(base_dir, url_check)
    results.extend(checker.results)
    return PublicCodeReport(extract(value, document), tuple(results))


def require_valid(
    text: str | bytes, *, network: bool = False, base_dir: Path | None = None
) -> PublicCode:
    """The extracted data of a document without errors, else :class:`InvalidPublicCodeError`."""
    report = parse(text, network=network, base_dir=base_dir)
    if not report.valid or report.data is None:
        raise InvalidPublicCodeError(list(report.results))
    return report.data


def _s(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str))
    return ()


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) and is_date(value) else None


def extract(version: str, doc: dict[str, Any]) -> PublicCode:
    """Build :class:`PublicCode` from decoded data; tolerant of anything missing."""
    descriptions = {
        language: Description(
            language=language,
            localised_name=_s(d.get("localisedName")),
            generic_name=_s(d.get("genericName")),
            short_description=_s(d.get("shortDescription")),
            long_description=_s(d.get("longDescription")),
            documentation=_s(d.get("documentation")),
            api_documentation=_s(d.get("apiDocumentation")),
            features=_strings(d.get("features")),
            screenshots=_strings(d.get("screenshots")),
            videos=_strings(d.get("videos")),
            awards=_strings(d.get("awards")),
        )
        for language, value in _d(doc.get("description")).items()
        for d in (_d(value),)
    }
    maintenance = _d(doc.get("maintenance"))
    depends_on = _d(doc.get("dependsOn"))
    audience = _d(doc.get("intendedAudience"))
    legal = _d(doc.get("legal"))
    localisation = _d(doc.get("localisation"))
    organisation = doc.get("organisation")
    sections = {name: doc[name] for name in ("it", "IT") if isinstance(doc.get(name), dict)}

    def dependencies(kind: str) -> tuple[Dependency, ...]:
        return tuple(
            Dependency(
                name=_s(d.get("name")) or "",
                version_min=_s(d.get("versionMin")),
                version_max=_s(d.get("versionMax")),
                version=_s(d.get("version")),
                optional=d.get("optional") is True,
            )
            for d in _items(depends_on.get(kind))
        )

    return PublicCode(
        publiccode_yml_version=version,
        name=_s(doc.get("name")),
        application_suite=_s(doc.get("applicationSuite")),
        url=_s(doc.get("url")),
        landing_url=_s(doc.get("landingURL")),
        is_based_on=_strings(doc.get("isBasedOn")),
        software_version=_s(doc.get("softwareVersion")),
        release_date=_date(doc.get("releaseDate")),
        logo=_s(doc.get("logo")),
        platforms=_strings(doc.get("platforms")),
        categories=_strings(doc.get("categories")),
        used_by=_strings(doc.get("usedBy")),
        roadmap=_s(doc.get("roadmap")),
        development_status=_s(doc.get("developmentStatus")),
        software_type=_s(doc.get("softwareType")),
        organisation=(
            Organisation(_s(organisation.get("name")), _s(organisation.get("uri")))
            if isinstance(organisation, dict)
            else None
        ),
        funded_by=tuple(
            Organisation(_s(f.get("name")), _s(f.get("uri"))) for f in _items(doc.get("fundedBy"))
        ),
        supports=tuple(s for s in (_s(i.get("id")) for i in _items(doc.get("supports"))) if s),
        countries=tuple(c.upper() for c in _strings(audience.get("countries"))),
        unsupported_countries=tuple(
            c.upper() for c in _strings(audience.get("unsupportedCountries"))
        ),
        scope=_strings(audience.get("scope")),
        descriptions=descriptions,
        license=_s(legal.get("license")),
        main_copyright_owner=_s(legal.get("mainCopyrightOwner")),
        maintenance=Maintenance(
            type=_s(maintenance.get("type")),
            contacts=tuple(
                Contact(
                    name=_s(c.get("name")) or "",
                    email=_s(c.get("email")),
                    phone=_s(c.get("phone")),
                    affiliation=_s(c.get("affiliation")),
                )
                for c in _items(maintenance.get("contacts"))
            ),
            contractors=tuple(
                Contractor(
                    name=_s(c.get("name")) or "",
                    until=_date(c.get("until")),
                    email=_s(c.get("email")),
                    website=_s(c.get("website")),
                )
                for c in _items(maintenance.get("contractors"))
            ),
        ),
        localisation_ready=(
            localisation.get("localisationReady")
            if isinstance(localisation.get("localisationReady"), bool)
            else None
        ),
        available_languages=_strings(localisation.get("availableLanguages")),
        depends_on=DependsOn(
            open=dependencies("open"),
            proprietary=dependencies("proprietary"),
            hardware=dependencies("hardware"),
        ),
        country_sections={name.upper(): value for name, value in sections.items()},
    )

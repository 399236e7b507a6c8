"""Result types of the publiccode.yml validator and the data the catalogue keeps."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

ResultType = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """One finding about a publiccode.yml, placed like the reference validator places it.

    ``key`` is the dotted path of the key (``maintenance.contacts[0].email``), or ``""``
    for problems of the document as a whole (not YAML, too big...). ``line`` and
    ``column`` are 1-based; ``0, 0`` means "no position", exactly as the reference
    validator (publiccode-parser-go) reports keys that are missing from the file.
    """

    type: ResultType
    key: str
    description: str
    line: int
    column: int

    def format(self, filename: str = "publiccode.yml") -> str:
        """``publiccode.yml:LINE:COLUMN: error|warning: KEY: DESCRIPTION``, as the reference."""
        return f"{filename}:{self.line}:{self.column}: {self.type}: {self.key}: {self.description}"

    def as_dict(self) -> dict[str, str | int]:
        """The five fields, for JSON output."""
        return {
            "type": self.type,
            "key": self.key,
            "description": self.description,
            "line": self.line,
            "column": self.column,
        }


def format_result(result: ValidationResult, filename: str = "publiccode.yml") -> str:
    """Format one result as the reference validator prints it."""
    return result.format(filename)


@dataclass(frozen=True, slots=True)
class Description:
    """The texts of one language (``description.<lang>``)."""

    language: str
    localised_name: str | None = None
    generic_name: str | None = None
    short_description: str | None = None
    long_description: str | None = None
    documentation: str | None = None
    api_documentation: str | None = None
    features: tuple[str, ...] = ()
    screenshots: tuple[str, ...] = ()
    videos: tuple[str, ...] = ()
    awards: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    email: str | None = None
    phone: str | None = None
    affiliation: str | None = None


@dataclass(frozen=True, slots=True)
class Contractor:
    name: str
    until: dt.date | None = None
    email: str | None = None
    website: str | None = None


@dataclass(frozen=True, slots=True)
class Maintenance:
    type: str | None = None
    contacts: tuple[Contact, ...] = ()
    contractors: tuple[Contractor, ...] = ()


@dataclass(frozen=True, slots=True)
class Dependency:
    name: str
    version_min: str | None = None
    version_max: str | None = None
    version: str | None = None
    optional: bool = False


@dataclass(frozen=True, slots=True)
class DependsOn:
    open: tuple[Dependency, ...] = ()
    proprietary: tuple[Dependency, ...] = ()
    hardware: tuple[Dependency, ...] = ()


@dataclass(frozen=True, slots=True)
class Organisation:
    name: str | None = None
    uri: str | None = None


@dataclass(frozen=True, slots=True)
class PublicCode:
    """What the catalogue keeps from a publiccode.yml.

    Fields hold the values as written (strings stripped of nothing), except
    ``release_date`` (a date, or ``None`` when absent or malformed) and the country
    codes of ``countries``/``unsupported_countries`` (upper-cased). A field whose key
    was missing or of the wrong type is ``None`` or empty.
    """

    publiccode_yml_version: str
    name: str | None = None
    application_suite: str | None = None
    url: str | None = None
    landing_url: str | None = None
    is_based_on: tuple[str, ...] = ()
    software_version: str | None = None
    release_date: dt.date | None = None
    logo: str | None = None
    platforms: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    used_by: tuple[str, ...] = ()
    roadmap: str | None = None
    development_status: str | None = None
    software_type: str | None = None
    organisation: Organisation | None = None
    funded_by: tuple[Organisation, ...] = ()
    supports: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    unsupported_countries: tuple[str, ...] = ()
    scope: tuple[str, ...] = ()
    descriptions: dict[str, Description] = field(default_factory=dict)
    license: str | None = None
    main_copyright_owner: str | None = None
    maintenance: Maintenance = field(default_factory=Maintenance)
    localisation_ready: bool | None = None
    available_languages: tuple[str, ...] = ()
    depends_on: DependsOn = field(default_factory=DependsOn)
    #: country-specific sections (``IT``, ``FR``...) as plain data, keyed upper-case
    country_sections: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PublicCodeReport:
    """The outcome of :func:`registry.publiccode.parse`.

    ``data`` is ``None`` only when the document could not be read at all (not UTF-8,
    not YAML, not a mapping, too big, missing or unsupported ``publiccodeYmlVersion``);
    otherwise it holds whatever could be extracted, even when ``valid`` is false.
    ``results`` are in the reference validator's order.
    """

    data: PublicCode | None
    results: tuple[ValidationResult, ...]

    @property
    def errors(self) -> list[ValidationResult]:
        return [r for r in self.results if r.type == "error"]

    @property
    def warnings(self) -> list[ValidationResult]:
        return [r for r in self.results if r.type == "warning"]

    @property
    def valid(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors


#: the name the brief and older callers use for the report
Verdict = PublicCodeReport

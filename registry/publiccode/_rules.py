"""The rules of the standard, checked on decoded data, in the reference's order.

:func:`check_struct` mirrors the reference's struct validation (required keys,
enumerations, formats), field by field in the order of its Go struct; :func:`check_fields`
mirrors its second pass (deprecations, files next to the document, URLs on the network).
Messages are the reference's wording.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from registry.publiccode import _vocab as vocab
from registry.publiccode._files import FileCheck, UrlCheck
from registry.publiccode._model import ResultType, ValidationResult
from registry.publiccode._yaml import NodeIndex, format_path
from registry.publiccode._yaml import Path as KeyPath

DEVELOPMENT_STATUSES = ("concept", "development", "beta", "stable", "obsolete")
SOFTWARE_TYPES = (
    "standalone/mobile",
    "standalone/iot",
    "standalone/desktop",
    "standalone/web",
    "standalone/backend",
    "standalone/other",
    "addon",
    "library",
    "configurationFiles",
)
MAINTENANCE_TYPES = ("internal", "contract", "community", "none")
IT_EXTENSION_VERSIONS = ("0.2", "1.0")

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_MIME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$")
_DEPRECATED = "This key is DEPRECATED and will be removed in the future."


def one_of(values: tuple[str, ...]) -> str:
    quoted = [f'"{v}"' for v in values]
    return "must be one of the following: " + ", ".join(quoted[:-1]) + " or " + quoted[-1]


def is_date(value: str) -> bool:
    """``YYYY-MM-DD`` and a real day; nothing else of ISO 8601."""
    if not _DATE.match(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def is_url(value: str) -> bool:
    """An absolute URL with a scheme and a host (the reference's ``url_url``)."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*$", parts.scheme)) and bool(parts.netloc)


def is_http_url(value: str) -> bool:
    """An ``http``/``https`` URL with a host (the reference's ``url_http_url``)."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def is_organisation_uri(value: str) -> bool:
    """An HTTP(S) URL, a URN, or ``urn:x-italian-pa:<iPA code>``."""
    if value.lower().startswith("urn:x-italian-pa:"):
        return vocab.is_ipa_code(value[len("urn:x-italian-pa:") :])
    return vocab.is_urn(value) or is_http_url(value)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _blank(value: Any) -> bool:
    return value is None or value == ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class Checker:
    """Collects results for one document; positions come from the node graph."""

    def __init__(self, index: NodeIndex, document: dict[str, Any]) -> None:
        self.index = index
        self.doc = document
        self.results: list[ValidationResult] = []

    def add(self, kind: ResultType, path: KeyPath, description: str) -> None:
        line, column = self.index.position(path)
        self.results.append(ValidationResult(kind, format_path(path), description, line, column))

    def error(self, path: KeyPath, description: str) -> None:
        self.add("error", path, description)

    def warning(self, path: KeyPath, description: str) -> None:
        self.add("warning", path, description)

    @staticmethod
    def name(path: KeyPath) -> str:
        """The field as the reference names it in a message: ``countries[2]``."""
        last = path[-1]
        if isinstance(last, int):
            return f"{path[-2]}[{last}]"
        return last

    # -- struct validation -------------------------------------------------------------

    def required(self, path: KeyPath, value: Any) -> bool:
        if _blank(value):
            self.error(path, f"{self.name(path)} is a required field")
            return False
        return True

    def not_empty(self, path: KeyPath, value: Any) -> bool:
        if not value:
            self.error(path, f"{self.name(path)} must contain more than 0 items")
            return False
        return True

    def http_url(self, path: KeyPath, value: Any) -> None:
        if value is not None and not is_http_url(_text(value)):
            self.error(path, f"{self.name(path)} must be an HTTP URL")

    def check_struct(self) -> None:
        doc = self.doc
        self.required(("name",), doc.get("name"))
        if self.required(("url",), doc.get("url")) and not is_url(doc["url"]):
            self.error(("url",), "url must be a valid URL")
        self.http_url(("landingURL",), doc.get("landingURL"))
        based_on = doc.get("isBasedOn")
        if isinstance(based_on, str) and not is_url(based_on):
            self.error(("isBasedOn",), "isBasedOn must be a valid URL")
        for i, url in enumerate(_list(based_on)):
            if not is_url(_text(url)):
                self.error(("isBasedOn", i), f"isBasedOn[{i}] must be a valid URL")
        date = doc.get("releaseDate")
        if date is not None and not is_date(date):
            self.error(("releaseDate",), "releaseDate must be a date with format 'YYYY-MM-DD'")
        if isinstance(doc.get("organisation"), dict):
            self._organisation(("organisation",), doc["organisation"])
        for key in ("inputTypes", "outputTypes"):
            for i, mime in enumerate(_list(doc.get(key))):
                if not _MIME.match(_text(mime)):
                    self.error((key, i), f"{key}[{i}] is not a valid MIME type")
        self.not_empty(("platforms",), doc.get("platforms"))
        for i, category in enumerate(_list(doc.get("categories"))):
            if _text(category) not in vocab.categories():
                self.error(
                    ("categories", i),
                    f"categories[{i}] must be a valid category (see {vocab.CATEGORIES_DOC})",
                )
        for i, funder in enumerate(_list(doc.get("fundedBy"))):
            self._organisation(("fundedBy", i), _dict(funder))
        self.http_url(("roadmap",), doc.get("roadmap"))
        for key, allowed in (
            ("developmentStatus", DEVELOPMENT_STATUSES),
            ("softwareType", SOFTWARE_TYPES),
        ):
            if self.required((key,), doc.get(key)) and doc[key] not in allowed:
                self.error((key,), f"{key} {one_of(allowed)}")
        for i, item in enumerate(_list(doc.get("supports"))):
            self._supports(("supports", i, "id"), _dict(item).get("id"))
        audience = _dict(doc.get("intendedAudience"))
        for i, scope in enumerate(_list(audience.get("scope"))):
            if _text(scope) not in vocab.scopes():
                self.error(
                    ("intendedAudience", "scope", i),
                    f"scope[{i}] must be a valid scope (see {vocab.SCOPES_DOC})",
                )
        for key in ("countries", "unsupportedCountries"):
            for i, country in enumerate(_list(audience.get(key))):
                if not vocab.is_country(_text(country)):
                    self.error(
                        ("intendedAudience", key, i),
                        f"{key}[{i}] must be a valid ISO 3166-1 alpha-2 two-letter country code",
                    )
        self._description()
        self._legal()
        self._maintenance()
        self._localisation()
        depends_on = _dict(doc.get("dependsOn"))
        for kind in ("open", "proprietary", "hardware"):
            for i, dependency in enumerate(_list(depends_on.get(kind))):
                self.required(("dependsOn", kind, i, "name"), _dict(dependency).get("name"))
        for section in ("IT", "it"):
            self._italy(section, doc.get(section))

    def _organisation(self, path: KeyPath, organisation: dict[str, Any]) -> None:
        uri = organisation.get("uri")
        if self.required((*path, "uri"), uri) and not is_organisation_uri(_text(uri)):
            self.error((*path, "uri"), "uri is not a valid URI")

    def _supports(self, path: KeyPath, identifier: Any) -> None:
        if not self.required(path, identifier):
            return
        identifier = _text(identifier)
        if identifier.startswith("alias:"):
            if identifier[len("alias:") :] not in vocab.aliases():
                self.error(path, f"id contains an unknown alias (see {vocab.ALIASES_DOC})")
        elif not vocab.is_uri(identifier):
            self.error(path, "id is not a valid URI")

    def _description(self) -> None:
        descriptions = self.doc.get("description")
        if not self.not_empty(("description",), descriptions):
            return
        if not all(vocab.is_bcp47(language) for language in descriptions):
            self.error(("description",), "description must be a valid BCP 47 language")
        for language, value in descriptions.items():
            desc = _dict(value)
            base: KeyPath = ("description", language)
            generic = desc.get("genericName")
            if generic is not None and vocab.text_length(generic) > 35:
                self.error(
                    (*base, "genericName"),
                    "genericName must be a maximum of 35 characters in length",
                )
            short = desc.get("shortDescription")
            if self.required((*base, "shortDescription"), short) and vocab.text_length(short) > 150:
                self.error(
                    (*base, "shortDescription"),
                    "shortDescription must be a maximum of 150 characters in length",
                )
            long = desc.get("longDescription")
            if self.required((*base, "longDescription"), long):
                if vocab.text_length(long) < 150:
                    self.error(
                        (*base, "longDescription"),
                        "longDescription must be at least 150 characters in length",
                    )
                elif vocab.text_length(long) > 10000:
                    self.error(
                        (*base, "longDescription"),
                        "longDescription must be a maximum of 10000 characters in length",
                    )
            self.http_url((*base, "documentation"), desc.get("documentation"))
            self.http_url((*base, "apiDocumentation"), desc.get("apiDocumentation"))
            self.not_empty((*base, "features"), desc.get("features"))
            for i, video in enumerate(_list(desc.get("videos"))):
                self.http_url((*base, "videos", i), video)

    def _legal(self) -> None:
        license_ = _dict(self.doc.get("legal")).get("license")
        if self.required(("legal", "license"), license_) and not vocab.is_spdx_expression(license_):
            self.error(
                ("legal", "license"),
                "license must be a valid license (see https://spdx.org/licenses)",
            )

    def _maintenance(self) -> None:
        maintenance = _dict(self.doc.get("maintenance"))
        kind = maintenance.get("type")
        if self.required(("maintenance", "type"), kind) and kind not in MAINTENANCE_TYPES:
            self.error(("maintenance", "type"), f"type {one_of(MAINTENANCE_TYPES)}")
        contractors = maintenance.get("contractors")
        path: KeyPath = ("maintenance", "contractors")
        if kind == "contract" and contractors is None:
            self.error(path, 'contractors is a required field when "type" is "contract"')
        elif kind != "contract" and contractors is not None:
            self.error(path, 'contractors must not be present unless "type" is "contract"')
        else:
            for i, value in enumerate(_list(contractors)):
                contractor = _dict(value)
                self.required((*path, i, "name"), contractor.get("name"))
                self._email((*path, i, "email"), contractor.get("email"))
                self.http_url((*path, i, "website"), contractor.get("website"))
                until = contractor.get("until")
                if self.required((*path, i, "until"), until) and not is_date(until):
                    self.error((*path, i, "until"), "until must be a date with format 'YYYY-MM-DD'")
        contacts = maintenance.get("contacts")
        path = ("maintenance", "contacts")
        if kind in ("internal", "community") and contacts is None:
            self.error(path, f'contacts is a required field when "type" is "{kind}"')
            return
        for i, value in enumerate(_list(contacts)):
            contact = _dict(value)
            self.required((*path, i, "name"), contact.get("name"))
            self._email((*path, i, "email"), contact.get("email"))

    def _email(self, path: KeyPath, value: Any) -> None:
        if not _blank(value) and not _EMAIL.match(value):
            self.error(path, "email must be a valid email address")

    def _localisation(self) -> None:
        localisation = _dict(self.doc.get("localisation"))
        self.required(("localisation", "localisationReady"), localisation.get("localisationReady"))
        languages = localisation.get("availableLanguages")
        path: KeyPath = ("localisation", "availableLanguages")
        if languages is None:
            self.error(path, "availableLanguages is a required field")
        elif self.not_empty(path, languages):
            for i, language in enumerate(languages):
                if not vocab.is_bcp47(_text(language)):
                    self.error(
                        (*path, i), f"availableLanguages[{i}] must be a valid BCP 47 language"
                    )

    def _italy(self, section: str, value: Any) -> None:
        italy = _dict(value)
        version = italy.get("countryExtensionVersion")
        if version is not None and version not in IT_EXTENSION_VERSIONS:
            self.error(
                (section, "countryExtensionVersion"),
                f"countryExtensionVersion {one_of(IT_EXTENSION_VERSIONS)}",
            )
        code = _dict(italy.get("riuso")).get("codiceIPA")
        if not _blank(code) and not vocab.is_ipa_code(code):
            self.error(
                (section, "riuso", "codiceIPA"),
                "codiceIPA must be a valid Italian Public Administration Code (iPA) "
                f"(see {vocab.IPA_DOC})",
            )

    # -- second pass: deprecations, files, network --------------------------------------

    def check_fields(self, base_dir: Path | None, url_check: UrlCheck | None) -> None:
        doc = self.doc
        files = FileCheck(base_dir, url_check)
        if url_check is not None:
            for key in ("url", "landingURL", "roadmap"):
                self._reachable((key,), doc.get(key), url_check)
        for key in ("logo", "monochromeLogo"):
            value = doc.get(key)
            if value is None:
                continue
            if key == "monochromeLogo":
                self.warning((key,), f"{_DEPRECATED} Use 'logo' instead")
            problem = files.logo(value)
            if problem:
                self.error((key,), problem)
        for key in ("inputTypes", "outputTypes"):
            if doc.get(key) is not None:
                self.warning((key,), f"{_DEPRECATED} It's safe to drop it")
        legal = _dict(doc.get("legal"))
        if legal.get("authorsFile") is not None:
            self.warning(("legal", "authorsFile"), f"{_DEPRECATED} It's safe to drop it")
            problem = files.exists(legal["authorsFile"])
            if problem:
                shown = files.display(legal["authorsFile"])
                self.error(("legal", "authorsFile"), f"'{shown}' does not exist: {problem}")
        if legal.get("repoOwner") is not None:
            self.warning(("legal", "repoOwner"), f"{_DEPRECATED} Use 'organisation.name' instead")
        for language, value in _dict(doc.get("description")).items():
            self._description_fields(("description", language), _dict(value), files, url_check)
        audience = _dict(doc.get("intendedAudience"))
        for key in ("countries", "unsupportedCountries"):
            for i, country in enumerate(_list(audience.get(key))):
                if isinstance(country, str) and vocab.is_country(country) and country.islower():
                    self.warning(
                        ("intendedAudience", key, i),
                        "Lowercase country codes are DEPRECATED. "
                        f"Use uppercase instead ('{country.upper()}')",
                    )
        self._italy_fields()

    def _reachable(self, path: KeyPath, value: Any, url_check: UrlCheck) -> None:
        if value is None:
            return
        problem = url_check.problem(_text(value))
        if problem:
            self.error(path, f"'{value}' not reachable: {problem}")

    def _description_fields(
        self, base: KeyPath, desc: dict[str, Any], files: FileCheck, url_check: UrlCheck | None
    ) -> None:
        if desc.get("genericName") is not None:
            self.warning((*base, "genericName"), f"{_DEPRECATED} It's safe to drop it")
        if url_check is not None:
            for key in ("documentation", "apiDocumentation"):
                self._reachable((*base, key), desc.get(key), url_check)
        for i, screenshot in enumerate(_list(desc.get("screenshots"))):
            problem = files.image(_text(screenshot))
            if problem:
                self.error((*base, "screenshots", i), f"'{screenshot}' is not an image: {problem}")
        for i, video in enumerate(_list(desc.get("videos"))):
            if isinstance(video, str) and is_http_url(video) and not vocab.is_oembed_video(video):
                self.error(
                    (*base, "videos", i),
                    f"'{video}' is not a valid video URL supporting oEmbed: "
                    f"invalid oEmbed link: {video}",
                )

    def _italy_fields(self) -> None:
        doc = self.doc
        if "it" in doc:
            self.warning(
                ("it",),
                "Lowercase country codes are DEPRECATED and will be removed in the future. "
                "Use 'IT' instead",
            )
            if "IT" in doc:
                self.error(("it",), "'IT' key already present. Remove this key")
        for section in ("IT", "it"):
            italy = _dict(doc.get(section))
            if italy.get("conforme") is not None:
                self.warning((section, "conforme"), f"{_DEPRECATED} It's safe to drop it")
            code = _dict(italy.get("riuso")).get("codiceIPA")
            if not _blank(code) and vocab.is_ipa_code(code):
                self.warning(
                    (section, "riuso", "codiceIPA"),
                    f"{_DEPRECATED} Use 'organisation.uri' and set it to "
                    f"'urn:x-italian-pa:{code}' instead",
                )

"""Typed decoding of the node graph, the way the reference decodes into its Go structs.

The reference validator first decodes the YAML into typed structs; what does not fit
becomes "wrong type for this field" (at the line of the value, column 1, named after
the key found on that line) and keys it does not know become 'unknown field "x"'.
A top-level key whose value holds a type error is then left out entirely, so the
validation that follows sees it missing (``url: []`` is both the wrong type and
missing), exactly like the reference's expected results show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from registry.publiccode._model import ValidationResult
from registry.publiccode._yaml import NodeIndex, is_null, key_text


class Str:
    """Any scalar, kept as written."""


class Bool:
    """``true``/``false`` of YAML 1.2 only (``yes``, ``on``, ``"true"`` are refused)."""


class StrOrList:
    """A string or a list of strings (``isBasedOn``)."""


@dataclass(frozen=True)
class ListOf:
    item: Any


@dataclass(frozen=True)
class MapOf:
    value: Any


@dataclass(frozen=True)
class Struct:
    fields: dict[str, Any]


STR, BOOL = Str(), Bool()
_YAML12_TRUE = {"true", "True", "TRUE"}
_YAML12_FALSE = {"false", "False", "FALSE"}

_DEPENDENCY = Struct(
    {"name": STR, "versionMin": STR, "versionMax": STR, "optional": BOOL, "version": STR}
)
_ORGANISATION = Struct({"name": STR, "uri": STR})
_DESCRIPTION = Struct(
    {
        "localisedName": STR,
        "genericName": STR,
        "shortDescription": STR,
        "longDescription": STR,
        "documentation": STR,
        "apiDocumentation": STR,
        "features": ListOf(STR),
        "screenshots": ListOf(STR),
        "videos": ListOf(STR),
        "awards": ListOf(STR),
    }
)
_IT_SECTION = Struct(
    {
        "countryExtensionVersion": STR,
        "conforme": Struct(
            {
                "lineeGuidaDesign": BOOL,
                "modelloInteroperabilita": BOOL,
                "misureMinimeSicurezza": BOOL,
                "gdpr": BOOL,
            }
        ),
        "riuso": Struct({"codiceIPA": STR}),
        "piattaforme": Struct(
            {"spid": BOOL, "pagopa": BOOL, "cie": BOOL, "anpr": BOOL, "io": BOOL}
        ),
    }
)

#: publiccode.yml 0.x, as the reference parses every 0.x version (its "v0.7" layout)
SCHEMA_V0 = Struct(
    {
        "publiccodeYmlVersion": STR,
        "name": STR,
        "applicationSuite": STR,
        "url": STR,
        "landingURL": STR,
        "isBasedOn": StrOrList(),
        "softwareVersion": STR,
        "releaseDate": STR,
        "logo": STR,
        "monochromeLogo": STR,
        "organisation": _ORGANISATION,
        "inputTypes": ListOf(STR),
        "outputTypes": ListOf(STR),
        "platforms": ListOf(STR),
        "categories": ListOf(STR),
        "usedBy": ListOf(STR),
        "fundedBy": ListOf(_ORGANISATION),
        "roadmap": STR,
        "developmentStatus": STR,
        "softwareType": STR,
        "supports": ListOf(Struct({"id": STR})),
        "intendedAudience": Struct(
            {
                "scope": ListOf(STR),
                "countries": ListOf(STR),
                "unsupportedCountries": ListOf(STR),
            }
        ),
        "description": MapOf(_DESCRIPTION),
        "legal": Struct(
            {"license": STR, "mainCopyrightOwner": STR, "repoOwner": STR, "authorsFile": STR}
        ),
        "maintenance": Struct(
            {
                "type": STR,
                "contractors": ListOf(
                    Struct({"name": STR, "email": STR, "website": STR, "until": STR})
                ),
                "contacts": ListOf(
                    Struct({"name": STR, "email": STR, "affiliation": STR, "phone": STR})
                ),
            }
        ),
        "localisation": Struct({"localisationReady": BOOL, "availableLanguages": ListOf(STR)}),
        "dependsOn": Struct(
            {
                "open": ListOf(_DEPENDENCY),
                "proprietary": ListOf(_DEPENDENCY),
                "hardware": ListOf(_DEPENDENCY),
            }
        ),
        "IT": _IT_SECTION,
        # deprecated spelling, still read (with a warning) like the reference does
        "it": _IT_SECTION,
    }
)


class Decoder:
    """Decode the root mapping against :data:`SCHEMA_V0`, collecting results."""

    def __init__(self, index: NodeIndex) -> None:
        self.index = index
        self.root = index.root
        self.results: list[ValidationResult] = []
        self._type_errors = 0

    def decode_document(self) -> dict[str, Any]:
        """Plain data (dict/list/str/bool/None) of the known top-level keys."""
        document: dict[str, Any] = {}
        for key, value in self.index.pairs(self.root):
            name = key_text(key)
            schema = SCHEMA_V0.fields.get(name)
            if schema is None:
                self._unknown(key)
                continue
            before = self._type_errors
            decoded = self._decode(value, schema)
            if self._type_errors == before:
                document[name] = decoded
        return document

    def _wrong_type(self, node: Node) -> None:
        line = node.start_mark.line + 1
        self._type_errors += 1
        self.results.append(
            ValidationResult(
                "error", self.index.key_at_line(line), "wrong type for this field", line, 1
            )
        )

    def _unknown(self, key: Node) -> None:
        line = key.start_mark.line + 1
        self.results.append(
            ValidationResult(
                "error", self.index.key_at_line(line), f'unknown field "{key_text(key)}"', line, 1
            )
        )

    def _decode(self, node: Node, schema: Any) -> Any:
        if is_null(node):
            return None
        if isinstance(schema, Str):
            if isinstance(node, ScalarNode):
                return node.value
            return self._wrong_type(node)
        if isinstance(schema, Bool):
            if isinstance(node, ScalarNode) and not node.style:  # plain (libyaml says "")
                if node.value in _YAML12_TRUE:
                    return True
                if node.value in _YAML12_FALSE:
                    return False
            return self._wrong_type(node)
        if isinstance(schema, StrOrList):
            if isinstance(node, ScalarNode):
                return node.value
            return self._decode(node, ListOf(STR))
        if isinstance(schema, ListOf):
            if isinstance(node, SequenceNode):
                return [self._decode(item, schema.item) for item in node.value]
            return self._wrong_type(node)
        if isinstance(schema, MapOf):
            if isinstance(node, MappingNode):
                return {
                    key_text(k): self._decode(v, schema.value) for k, v in self.index.pairs(node)
                }
            return self._wrong_type(node)
        if isinstance(schema, Struct):
            if not isinstance(node, MappingNode):
                return self._wrong_type(node)
            out: dict[str, Any] = {}
            for key, value in self.index.pairs(node):
                name = key_text(key)
                if name not in schema.fields:
                    self._unknown(key)
                    continue
                out[name] = self._decode(value, schema.fields[name])
            return out
        raise AssertionError(f"unknown schema {schema!r}")

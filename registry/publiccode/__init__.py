"""publiccode.yml: parse and validate every published 0.x version of the standard.

Behaves like the reference validator, publiccode-parser-go (Developers Italia): the
same keys, kinds (error or warning), positions and, as near as can be, messages; see
``tests/registry/test_publiccode.py`` for the conformance suite it passes. Pure
functions: no database, and no network unless asked for.

>>> report = parse(open("publiccode.yml", "rb").read())  # doctest: +SKIP
>>> report.valid, report.data.name  # doctest: +SKIP
"""

from registry.publiccode._files import HttpGet
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
    Verdict,
    format_result,
)
from registry.publiccode._parse import (
    LATEST_VERSION,
    SUPPORTED_VERSIONS,
    InvalidPublicCodeError,
    parse,
    require_valid,
)
from registry.publiccode._yaml import MAX_BYTES, MAX_DEPTH, MAX_EXPANDED_NODES
from registry.publiccode.cli import validate_command

__all__ = [
    "LATEST_VERSION",
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_EXPANDED_NODES",
    "SUPPORTED_VERSIONS",
    "Contact",
    "Contractor",
    "Dependency",
    "DependsOn",
    "Description",
    "HttpGet",
    "InvalidPublicCodeError",
    "Maintenance",
    "Organisation",
    "PublicCode",
    "PublicCodeReport",
    "ValidationResult",
    "Verdict",
    "format_result",
    "parse",
    "require_valid",
    "validate_command",
]

"""``communs publiccode validate``: the command-line face of the validator.

Not wired to click here; the CLI module calls :func:`validate_command`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from registry.publiccode._parse import parse
from registry.publiccode._yaml import MAX_BYTES


def validate_command(path: str, *, as_json: bool, network: bool) -> int:
    """Validate the publiccode.yml at ``path`` and print the results.

    Each result is printed as ``publiccode.yml:LINE:COLUMN: error|warning: KEY:
    DESCRIPTION`` (the reference validator's format), or, with ``as_json``, the
    whole list as a JSON array of objects with exactly ``type``, ``key``,
    ``description``, ``line`` and ``column``. Relative paths in the document are
    checked against the file's folder. Returns 0 when there is no error (warnings
    allowed), 1 otherwise, including when the file cannot be read.
    """
    file = Path(path)
    try:
        with file.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        print(f"{path}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return 1
    report = parse(data, network=network, base_dir=file.resolve().parent)
    if as_json:
        print(json.dumps([r.as_dict() for r in report.results], ensure_ascii=False, indent=2))
    else:
        for result in report.results:
            print(result.format())
    return 0 if report.valid else 1

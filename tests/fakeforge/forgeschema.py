"""Check JSON bodies against the published API descriptions copied in tests/data/forge-api."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

API = Path(__file__).resolve().parents[1] / "data" / "forge-api"
#: the real-forges account fixtures
REAL = sorted((API.parent / "real-forges").glob("*.json"))


def github_schema(name: str) -> dict[str, Any]:
    return json.loads((API / "github" / f"{name}.json").read_text())["response_schema"]


def gitea_definitions(forgejo: bool = False) -> dict[str, Any]:
    path = API / "gitea" / ("forgejo/definitions.json" if forgejo else "definitions.json")
    return json.loads(path.read_text())["definitions"]


_TYPES = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "object": dict,
    "array": list,
}


def violations(
    value: Any,
    schema: dict[str, Any],
    path: str = "$",
    *,
    defs: dict[str, Any] | None = None,
    null_ok: bool = False,
) -> list[str]:
    """Where ``value`` breaks ``schema`` (OpenAPI 3 / Swagger 2 subset): wrong types, missing
    required keys, and keys the schema does not declare. ``null_ok`` accepts null anywhere
    (Swagger 2 has no nullable; Gitea's Go pointers serialise as null)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if defs is None or name not in defs:
            return []  # recursive reference left unresolved by the extraction
        schema = defs[name]
    if value is None:
        ok = null_ok or schema.get("nullable") or "type" not in schema
        return [] if ok else [f"{path}: null where {schema.get('type')} expected"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            branches = [violations(value, s, path, defs=defs, null_ok=null_ok) for s in schema[key]]
            return [] if any(not b for b in branches) else min(branches, key=len)
    errors: list[str] = []
    for sub in schema.get("allOf", []):
        errors += violations(value, sub, path, defs=defs, null_ok=null_ok)
    kind = schema.get("type")
    if kind in _TYPES:
        expected = _TYPES[kind]
        if not isinstance(value, expected) or (
            kind in ("integer", "number") and isinstance(value, bool)
        ):
            return [*errors, f"{path}: {type(value).__name__} where {kind} expected"]
    if isinstance(value, dict) and "properties" in schema:
        props = schema["properties"]
        for req in schema.get("required", []):
            if req not in value:
                errors.append(f"{path}: missing required {req!r}")
        for key, item in value.items():
            if key not in props:
                errors.append(f"{path}: undeclared key {key!r}")
            else:
                errors += violations(item, props[key], f"{path}.{key}", defs=defs, null_ok=null_ok)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += violations(item, schema["items"], f"{path}[{i}]", defs=defs, null_ok=null_ok)
    return errors


def gitlab_examples(doc: str) -> list[Any]:
    """The JSON examples of a GitLab API doc page, with its ``//`` comments and ``...`` removed."""
    text = (API / "gitlab" / doc).read_text()
    examples = []
    for block in re.findall(r"```json\n(.*?)```", text, re.S):
        cleaned = re.sub(r"(?<=\s)//[^\n]*", "", block)
        cleaned = re.sub(r"^\s*\.\.\.\s*$", "", cleaned, flags=re.M)
        cleaned = re.sub(r",\s*([}\]])", r"\1", cleaned)
        cleaned = re.sub(r"\{\s*,", "{", cleaned)
        try:
            examples.append(json.loads(cleaned))
        except ValueError:
            continue
    return examples


def documented_keys(doc: str, pick: Any) -> set[str]:
    keys: set[str] = set()
    for example in gitlab_examples(doc):
        for obj in example if isinstance(example, list) else [example]:
            if isinstance(obj, dict) and pick(obj):
                keys |= set(obj)
    return keys

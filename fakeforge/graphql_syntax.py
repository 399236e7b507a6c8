"""Parser of the GraphQL query-language subset the fake forge answers.

Operations (``query``, with variable definitions and defaults, directives), selection sets,
fields with aliases and arguments, inline fragments, named fragments and spreads, and values
(variables, numbers, strings, block strings, booleans, null, enums, lists, objects). Type
references in variable definitions are read and ignored: the resolvers check what they use.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Document",
    "Field",
    "FragmentSpread",
    "GraphQLError",
    "InlineFragment",
    "Variable",
    "parse",
]


class GraphQLError(Exception):
    """A syntax or validation error; the message is what GitHub-like clients show."""


_TOKEN = re.compile(
    r'(?P<ws>[\s,\ufeff]+|#[^\n]*)|(?P<block>"""(?:[^"\\]|\\.|"(?!""))*""")'
    r'|(?P<str>"(?:[^"\\\n]|\\.)*")|(?P<spread>\.\.\.)|(?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)'
    r"|(?P<name>[_A-Za-z][_0-9A-Za-z]*)|(?P<punct>[!$():=@\[\]{}|&])"
)


@dataclass
class Field:
    name: str
    alias: str
    args: dict[str, Any]
    selections: list[Any]
    directives: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class InlineFragment:
    type_condition: str | None
    selections: list[Any]
    directives: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class FragmentSpread:
    name: str
    directives: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Variable:
    name: str


@dataclass
class Document:
    operations: dict[str | None, tuple[str, list[Any], dict[str, Any]]]
    fragments: dict[str, tuple[str, list[Any]]]


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                raise GraphQLError(f"Parse error on {text[pos : pos + 10]!r} at offset {pos}")
            pos = m.end()
            kind = m.lastgroup or ""
            if kind != "ws":
                self.tokens.append((kind, m.group()))
        self.i = 0

    def peek(self, value: str | None = None) -> bool:
        if self.i >= len(self.tokens):
            return False
        return value is None or self.tokens[self.i][1] == value

    def take(self, value: str | None = None) -> tuple[str, str]:
        if self.i >= len(self.tokens):
            raise GraphQLError("Parse error: unexpected end of document")
        token = self.tokens[self.i]
        if value is not None and token[1] != value:
            raise GraphQLError(f"Parse error on {token[1]!r}: expected {value!r}")
        self.i += 1
        return token

    def name(self) -> str:
        kind, value = self.take()
        if kind != "name":
            raise GraphQLError(f"Parse error on {value!r}: expected a name")
        return value

    def document(self) -> Document:
        ops: dict[str | None, tuple[str, list[Any], dict[str, Any]]] = {}
        frags: dict[str, tuple[str, list[Any]]] = {}
        while self.i < len(self.tokens):
            if self.peek("{"):
                ops[None] = ("query", self.selection_set(), {})
                continue
            keyword = self.name()
            if keyword == "fragment":
                name = self.name()
                self.take("on")
                frags[name] = (self.name(), self.selection_set())
                continue
            if keyword not in ("query", "mutation", "subscription"):
                raise GraphQLError(f"Parse error on {keyword!r}")
            op_name = self.name() if self.tokens[self.i][0] == "name" else None
            defaults: dict[str, Any] = {}
            if self.peek("("):
                self.take("(")
                while not self.peek(")"):
                    self.take("$")
                    var = self.name()
                    self.take(":")
                    self.type_ref()
                    if self.peek("="):
                        self.take("=")
                        defaults[var] = self.value()
                self.take(")")
            self.directives()
            ops[op_name] = (keyword, self.selection_set(), defaults)
        if not ops:
            raise GraphQLError("No operation in the document")
        return Document(ops, frags)

    def type_ref(self) -> None:
        if self.peek("["):
            self.take("[")
            self.type_ref()
            self.take("]")
        else:
            self.name()
        if self.peek("!"):
            self.take("!")

    def directives(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        while self.peek("@"):
            self.take("@")
            name = self.name()
            found[name] = self.arguments()
        return found

    def arguments(self) -> dict[str, Any]:
        args: dict[str, Any] = {}
        if self.peek("("):
            self.take("(")
            while not self.peek(")"):
                key = self.name()
                self.take(":")
                args[key] = self.value()
            self.take(")")
        return args

    def value(self) -> Any:
        kind, token = self.take()
        if token == "$":
            return Variable(self.name())
        if kind == "num":
            return float(token) if any(c in token for c in ".eE") else int(token)
        if kind == "str":
            return json.loads(token)
        if kind == "block":
            return token[3:-3]
        if token == "[":
            items = []
            while not self.peek("]"):
                items.append(self.value())
            self.take("]")
            return items
        if token == "{":
            obj = {}
            while not self.peek("}"):
                key = self.name()
                self.take(":")
                obj[key] = self.value()
            self.take("}")
            return obj
        if kind == "name":
            return {"true": True, "false": False, "null": None}.get(token, token)
        raise GraphQLError(f"Parse error on {token!r}: expected a value")

    def selection_set(self) -> list[Any]:
        self.take("{")
        selections: list[Any] = []
        while not self.peek("}"):
            if self.peek("..."):
                self.take("...")
                if self.peek("on"):
                    self.take("on")
                    cond = self.name()
                    directives = self.directives()
                    selections.append(InlineFragment(cond, self.selection_set(), directives))
                elif self.peek("{") or self.peek("@"):
                    directives = self.directives()
                    selections.append(InlineFragment(None, self.selection_set(), directives))
                else:
                    name = self.name()
                    selections.append(FragmentSpread(name, self.directives()))
                continue
            alias = name = self.name()
            if self.peek(":"):
                self.take(":")
                name = self.name()
            args = self.arguments()
            directives = self.directives()
            sub = self.selection_set() if self.peek("{") else []
            selections.append(Field(name, alias, args, sub, directives))
        self.take("}")
        return selections


def parse(text: str) -> Document:
    """Parse a query document; raises :class:`GraphQLError` on what the subset cannot read."""
    return _Parser(text).document()

"""Executing a parsed GraphQL selection against a forge's resolvers.

One executor for the fake forge's GraphQL endpoints (GitHub's in ``graphql.py``, GitLab's in
``graphql_gitlab.py``); each endpoint brings its :class:`Schema` (resolvers per type and the
interfaces each type implements), its cursors and its error wording. Both forges run
graphql-ruby, so field errors read the same.

A resolver is ``resolver(ctx, obj, args) -> value``; a value is a scalar, a :class:`Node`
(an object of a GraphQL type wrapping a Python object), or a list of either.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fakeforge.core import Request
from fakeforge.graphql_syntax import Field, FragmentSpread, GraphQLError, Variable, parse

if TYPE_CHECKING:
    from fakeforge.app import FakeForge

Resolver = Callable[..., Any]


@dataclass
class Node:
    """A value of GraphQL object type ``type`` wrapping a Python object."""

    type: str
    obj: Any


@dataclass
class Context:
    """One query's execution: the variables and fragments it brought."""

    app: FakeForge
    req: Request
    variables: dict[str, Any]
    fragments: dict[str, tuple[str, list[Any]]]
    requests: int = 0  # GitHub's "requests needed" for its cost formula


def argument(ctx: Context, value: Any) -> Any:
    """An argument's value with the query's variables substituted."""
    if isinstance(value, Variable):
        return ctx.variables.get(value.name)
    if isinstance(value, list):
        return [argument(ctx, v) for v in value]
    if isinstance(value, dict):
        return {k: argument(ctx, v) for k, v in value.items()}
    return value


def included(ctx: Context, directives: dict[str, dict[str, Any]]) -> bool:
    """``@skip(if:)`` and ``@include(if:)``."""
    if "skip" in directives and argument(ctx, directives["skip"].get("if")):
        return False
    return not ("include" in directives and not argument(ctx, directives["include"].get("if")))


@dataclass(frozen=True)
class Schema:
    """The resolvers of each object type and the interfaces each type implements."""

    resolvers: Mapping[str, Mapping[str, Resolver]]
    interfaces: Mapping[str, Collection[str]]

    def collect(self, ctx: Context, type_name: str, selections: list[Any]) -> list[Field]:
        """The fields a selection asks of ``type_name``, fragments expanded."""
        fields: list[Field] = []
        for sel in selections:
            if not included(ctx, sel.directives):
                continue
            if isinstance(sel, Field):
                fields.append(sel)
                continue
            if isinstance(sel, FragmentSpread):
                if sel.name not in ctx.fragments:
                    raise GraphQLError(f"Fragment {sel.name} was used, but not defined")
                cond, sub = ctx.fragments[sel.name]
            else:
                cond, sub = sel.type_condition, sel.selections
            if cond is None or cond == type_name or cond in self.interfaces.get(type_name, ()):
                fields.extend(self.collect(ctx, type_name, sub))
        return fields

    def resolve(self, ctx: Context, node: Node, selections: list[Any]) -> dict[str, Any]:
        """The JSON object a selection makes of ``node``."""
        resolvers = self.resolvers[node.type]
        out: dict[str, Any] = {}
        for f in self.collect(ctx, node.type, selections):
            if f.name == "__typename":
                out[f.alias] = node.type
                continue
            resolver = resolvers.get(f.name)
            if resolver is None:
                raise GraphQLError(f"Field '{f.name}' doesn't exist on type '{node.type}'")
            value = resolver(ctx, node.obj, {k: argument(ctx, v) for k, v in f.args.items()})
            if not f.selections and _has_objects(value):
                returns = value.type if isinstance(value, Node) else "a list of objects"
                raise GraphQLError(
                    f"Field must have selections (field '{f.name}' returns {returns} but has "
                    f"no selections. Did you mean '{f.name} {{ ... }}'?)"
                )
            out[f.alias] = self.complete(ctx, value, f.selections)
        return out

    def complete(self, ctx: Context, value: Any, selections: list[Any]) -> Any:
        if isinstance(value, list):
            return [self.complete(ctx, v, selections) for v in value]
        if isinstance(value, Node):
            return self.resolve(ctx, value, selections)
        return value


def _has_objects(value: Any) -> bool:
    if isinstance(value, Node):
        return True
    return isinstance(value, list) and any(isinstance(v, Node) for v in value)


def start(
    app: FakeForge,
    req: Request,
    query: str,
    variables: dict[str, Any] | None,
    operation_name: str | None,
) -> tuple[Context, list[Any]]:
    """Parse a query document and pick its operation: the execution context and the
    operation's selections. Only queries are answered (a crawler sends no mutation)."""
    doc = parse(query)
    if operation_name is None and len(doc.operations) > 1:
        raise GraphQLError("An operation name is required when sending multiple operations")
    key = operation_name if operation_name in doc.operations else next(iter(doc.operations))
    kind, selections, defaults = doc.operations[key]
    if kind != "query":
        raise GraphQLError(f"The fake forge answers queries only, not {kind}s")
    return Context(app, req, {**defaults, **(variables or {})}, doc.fragments), selections

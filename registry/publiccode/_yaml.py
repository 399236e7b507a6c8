"""Reading a publiccode.yml into a YAML node graph, safely, with positions.

Only PyYAML's composer runs (``yaml.compose`` with the ``SafeLoader``): no Python
object is ever constructed from the document, whatever tags it carries. Hostile input
is turned into a :class:`DocumentProblem` that carries the one result to report.
"""

from __future__ import annotations

import codecs

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from registry.publiccode._model import ValidationResult

#: a publiccode.yml is a few kilobytes; anything over this is refused unread
MAX_BYTES = 1024 * 1024
#: nodes visited when every alias is expanded ("billion laughs" guard)
MAX_EXPANDED_NODES = 100_000
#: nesting depth of collections once aliases are expanded
MAX_DEPTH = 64

Path = tuple[str | int, ...]

_STANDARD_TAGS = frozenset(
    "tag:yaml.org,2002:" + name
    for name in (
        "str",
        "int",
        "float",
        "bool",
        "null",
        "timestamp",
        "binary",
        "seq",
        "map",
        "merge",
    )
)
MERGE_TAG = "tag:yaml.org,2002:merge"

#: libyaml's safe loader when PyYAML was built with it (15 times faster on big files),
#: else PyYAML's own; either way only the composer runs, never a constructor
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
NULL_TAG = "tag:yaml.org,2002:null"

# PyYAML's wording of the two indentation mistakes people make most, in the words of
# the reference validator (which uses another YAML library), so that its users
# recognise them.
_REFERENCE_WORDING = {
    "expected <block end>, but found '<block mapping start>'": (
        "value is not allowed in this context. map key-value is pre-defined"
    ),
    "did not find expected key": (
        "value is not allowed in this context. map key-value is pre-defined"
    ),
    "mapping values are not allowed here": (
        "value is not allowed in this context. map key-value is pre-defined"
    ),
}


class DocumentProblem(Exception):
    """The document cannot be validated at all; ``result`` says why and where."""

    def __init__(self, result: ValidationResult) -> None:
        super().__init__(result.description)
        self.result = result


def _problem(description: str, line: int = 0, column: int = 0, key: str = "") -> DocumentProblem:
    return DocumentProblem(ValidationResult("error", key, description, line, column))


def decode_text(data: str | bytes) -> str:
    """Return the document as text, refusing oversized and non-UTF-8 input."""
    if isinstance(data, str):
        size = len(data.encode("utf-8", "surrogatepass"))
        if size > MAX_BYTES:
            raise _problem(f"file too large: {size} bytes (the limit is {MAX_BYTES} bytes)")
        return data.removeprefix("\ufeff")
    if len(data) > MAX_BYTES:
        raise _problem(f"file too large: {len(data)} bytes (the limit is {MAX_BYTES} bytes)")
    for bom, name in (
        (codecs.BOM_UTF32_LE, "UTF-32"),
        (codecs.BOM_UTF32_BE, "UTF-32"),
        (codecs.BOM_UTF16_LE, "UTF-16"),
        (codecs.BOM_UTF16_BE, "UTF-16"),
    ):
        if data.startswith(bom):
            raise _problem(
                f"Invalid UTF-8: the file is {name} encoded; publiccode.yml must be UTF-8"
            )
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        byte, line = data[exc.start], data.count(b"\n", 0, exc.start) + 1
        raise _problem(
            f"Invalid UTF-8: byte 0x{byte:02X} on line {line} (offset {exc.start}) "
            "(publiccode.yml must be UTF-8; was it saved as Latin-1?)"
        ) from None


def compose(text: str) -> Node:
    """Compose the single YAML document of ``text`` and check it is safe to walk."""
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        description = _REFERENCE_WORDING.get(problem, problem)
        if description == problem and exc.problem and exc.context:
            description = f"{problem} ({exc.context.strip()})"
        raise _problem(description, mark.line + 1 if mark else 0, 1 if mark else 0) from None
    except yaml.reader.ReaderError as exc:
        char = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or " ")
        # libyaml counts bytes of the UTF-8 text, PyYAML characters
        source = text.encode("utf-8", "surrogatepass") if _LOADER is not yaml.SafeLoader else text
        line = source.count("\n" if isinstance(source, str) else b"\n", 0, exc.position) + 1
        raise _problem(f"unacceptable character #x{char:04x}: {exc.reason}", line, 1) from None
    except yaml.YAMLError as exc:
        raise _problem(f"invalid YAML: {exc}") from None
    except RecursionError:
        raise _problem("invalid YAML: the document nests too deeply") from None
    if root is None:
        raise _problem("the file is empty")
    _check_graph(root)
    return root


def _check_graph(root: Node) -> None:
    """Walk the graph with aliases expanded: refuse bombs, cycles and foreign tags."""
    visited = 0
    stack: list[tuple[Node, int, Path]] = [(root, 0, ())]
    while stack:
        node, depth, path = stack.pop()
        visited += 1
        if visited > MAX_EXPANDED_NODES:
            raise _problem(
                f"the document has more than {MAX_EXPANDED_NODES} YAML nodes once its "
                "aliases are expanded (an alias bomb?): refused"
            )
        if depth > MAX_DEPTH:
            raise _problem(
                f"the document nests more than {MAX_DEPTH} levels deep (recursive aliases?)",
                node.start_mark.line + 1,
                node.start_mark.column + 1,
                format_path(path),
            )
        if node.tag not in _STANDARD_TAGS:
            raise _problem(
                f"unsupported YAML tag {node.tag!r}: only standard YAML types are allowed",
                node.start_mark.line + 1,
                node.start_mark.column + 1,
                format_path(path),
            )
        if isinstance(node, MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                if isinstance(key, ScalarNode) and key.tag != MERGE_TAG:
                    if key.value in seen:
                        raise _problem(
                            f'mapping key "{key.value}" already defined at line {seen[key.value]}',
                            key.start_mark.line + 1,
                            1,
                        )
                    seen[key.value] = key.start_mark.line + 1
                stack.append((key, depth + 1, path))
                name = key.value if isinstance(key, ScalarNode) else "?"
                stack.append((value, depth + 1, (*path, name)))
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                stack.append((item, depth + 1, (*path, index)))


def format_path(path: Path) -> str:
    """``("maintenance", "contacts", 0, "name")`` -> ``maintenance.contacts[0].name``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == NULL_TAG


def key_text(node: Node) -> str:
    return node.value if isinstance(node, ScalarNode) else "?"


def pairs(node: MappingNode) -> list[tuple[Node, Node]]:
    """The key/value pairs of a mapping, with ``<<`` merge keys applied.

    Explicit keys win over merged ones, as YAML merge keys specify.
    """
    explicit: list[tuple[Node, Node]] = []
    merged: list[tuple[Node, Node]] = []
    for key, value in node.value:
        if key.tag == MERGE_TAG:
            sources = value.value if isinstance(value, SequenceNode) else [value]
            for source in sources:
                if isinstance(source, MappingNode):
                    merged.extend(pairs(source))
        else:
            explicit.append((key, value))
    seen = {key_text(k) for k, _ in explicit}
    for key, value in merged:
        if key_text(key) not in seen:
            seen.add(key_text(key))
            explicit.append((key, value))
    return explicit


def line_col(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class NodeIndex:
    """Lookups in one document's node graph, each built once.

    Every result needs a position or a key name; with thousands of results in a large
    hostile document, looking them up by walking the graph each time would take
    quadratic time, so mappings and lines are indexed on first use.
    """

    def __init__(self, root: Node) -> None:
        self.root = root
        self._pairs: dict[int, tuple[list[tuple[Node, Node]], dict[str, tuple[Node, Node]]]] = {}
        self._lines: dict[int, str] | None = None

    def _mapping(
        self, node: MappingNode
    ) -> tuple[list[tuple[Node, Node]], dict[str, tuple[Node, Node]]]:
        cached = self._pairs.get(id(node))
        if cached is None:
            listed = pairs(node)
            by_name: dict[str, tuple[Node, Node]] = {}
            for key, value in listed:
                by_name.setdefault(key_text(key), (key, value))
            cached = (listed, by_name)
            self._pairs[id(node)] = cached
        return cached

    def pairs(self, node: MappingNode) -> list[tuple[Node, Node]]:
        """:func:`pairs`, computed once per mapping."""
        return self._mapping(node)[0]

    def get(self, node: Node | None, name: str) -> tuple[Node | None, Node | None]:
        """The (key node, value node) of ``name`` in a mapping node, or ``(None, None)``."""
        if isinstance(node, MappingNode):
            return self._mapping(node)[1].get(name, (None, None))
        return None, None

    def position(self, path: Path) -> tuple[int, int]:
        """Where the reference validator reports a key: see ``getPositionInFile``.

        The position of the last key (or of the list item); when that key is missing,
        the position of its parent mapping; when a parent is missing, ``(0, 0)``.
        """
        steps = _steps(path)
        node: Node | None = self.root
        for name, index in steps[:-1]:
            _, node = self.get(node, name) if name is not None else (None, node)
            if index is not None:
                node = _item(node, index)
            if node is None:
                return 0, 0
        name, index = steps[-1]
        parent = node
        key, value = self.get(parent, name) if name is not None else (None, parent)
        if index is not None:
            item = _item(value, index)
            if item is not None:
                return line_col(item)
        elif key is not None:
            return line_col(key)
        assert parent is not None
        return line_col(parent)

    def key_at_line(self, line: int) -> str:
        """The key path of the first key or list item found at ``line`` (1-based).

        The reference validator only knows the line of a type error, and names the key
        it finds on that line (depth first, in document order); this does the same so
        that keys match.
        """
        if self._lines is None:
            self._lines = {}
            self._index_lines(self.root, ())
        return self._lines.get(line, "")

    def _index_lines(self, node: Node, path: Path) -> None:
        assert self._lines is not None
        children: list[tuple[Node, Node | None, Path]] = []
        if isinstance(node, MappingNode):
            children = [(k, v, (*path, key_text(k))) for k, v in self.pairs(node)]
        elif isinstance(node, SequenceNode):
            children = [(item, item, (*path, i)) for i, item in enumerate(node.value)]
        for marker, value, sub in children:
            self._lines.setdefault(marker.start_mark.line + 1, format_path(sub))
            if value is not None and not isinstance(value, ScalarNode):
                self._index_lines(value, sub)


def _item(node: Node | None, index: int) -> Node | None:
    if isinstance(node, SequenceNode) and 0 <= index < len(node.value):
        return node.value[index]
    return None


def _steps(path: Path) -> list[tuple[str | None, int | None]]:
    """Group a path as the reference splits keys on dots: ``name`` or ``name[index]``."""
    steps: list[tuple[str | None, int | None]] = []
    for part in path:
        if isinstance(part, int) and steps and steps[-1][1] is None:
            steps[-1] = (steps[-1][0], part)
        elif isinstance(part, int):
            steps.append((None, part))
        else:
            steps.append((part, None))
    return steps

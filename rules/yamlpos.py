"""YAML parsing with positions, and the only place that turns ruamel's 0-based marks into
1-based lines and columns.

Documents are composed, never constructed: the result is ruamel's node graph (MappingNode,
SequenceNode, ScalarNode), so custom tags such as ``!!python/object`` never build anything, and
``on:`` stays the string "on" (YAML 1.2). The C composer is used when ruamel.yaml.clib is
installed; it is about ten times faster than the pure-Python one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
import re

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from rules.model import Location

# Limits that keep a hostile file from exhausting the process (documented in the README).
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ALIASES = 1000
MAX_DEPTH = 200
MAX_NODES = 500_000

Route = tuple[str | int, ...]

__all__ = [
    "MappingNode",
    "Node",
    "ParseError",
    "Route",
    "ScalarNode",
    "SequenceNode",
    "YamlDocument",
    "parse_yaml",
]


class ParseError(Exception):
    """A file that is not YAML we can analyse. line/column are 1-based when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.message} (line {self.line}, column {self.column or 1})"
        return self.message


def _make_composer() -> YAML:
    try:
        yaml = YAML(typ="safe", pure=False)
    except Exception:  # pragma: no cover - only without the C extension
        yaml = YAML(typ="safe", pure=True)
    yaml.allow_duplicate_keys = True
    return yaml


_YAML = _make_composer()


def parse_yaml(text: str) -> Node | None:
    """Compose one YAML document. Raises ParseError with the parser's position.

    Returns None for an empty document.
    """
    if len(text) > MAX_FILE_BYTES:
        raise ParseError(f"file is larger than the {MAX_FILE_BYTES // (1024 * 1024)} MiB limit")
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        raise ParseError("file contains NUL bytes; it is not a text file")
    try:
        root = _YAML.compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if mark is not None:
            raise ParseError(f"invalid YAML: {problem}", mark.line + 1, mark.column + 1) from None
        raise ParseError(f"invalid YAML: {problem}") from None
    except YAMLError as exc:
        raise ParseError(f"invalid YAML: {exc}") from None
    except RecursionError:
        raise ParseError("YAML nesting is too deep to analyse") from None
    if root is not None:
        _check_limits(root)
    return root


def _check_limits(root: Node) -> None:
    """Reject alias bombs and absurd nesting before any rule walks the graph."""
    seen: set[int] = set()
    aliases = 0
    nodes = 0
    stack: list[tuple[Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ParseError(f"YAML nesting deeper than {MAX_DEPTH} levels")
        if id(node) in seen:
            aliases += 1
            if aliases > MAX_ALIASES:
                raise ParseError(f"more than {MAX_ALIASES} YAML aliases (alias expansion bomb?)")
            continue
        seen.add(id(node))
        nodes += 1
        if nodes > MAX_NODES:
            raise ParseError(f"more than {MAX_NODES} YAML nodes")
        if isinstance(node, MappingNode):
            for key, value in node.value:
                stack.append((key, depth + 1))
                stack.append((value, depth + 1))
        elif isinstance(node, SequenceNode):
            for item in node.value:
                stack.append((item, depth + 1))


# --- node helpers -----------------------------------------------------------------------------


def is_mapping(node: Node | None) -> bool:
    return isinstance(node, MappingNode)


def is_sequence(node: Node | None) -> bool:
    return isinstance(node, SequenceNode)


def is_scalar(node: Node | None) -> bool:
    return isinstance(node, ScalarNode)


def scalar(node: Node | None) -> str | None:
    """The text of a scalar node (None for anything else, and for YAML null)."""
    if isinstance(node, ScalarNode):
        if node.tag.endswith(":null") and node.style is None:
            return None
        return node.value
    return None


def items(node: Node | None) -> Iterator[tuple[ScalarNode, Node]]:
    """Key/value pairs of a mapping whose keys are scalars; nothing for other nodes."""
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode):
                yield key, value


def get(node: Node | None, key: str) -> Node | None:
    """The value of key in a mapping (the last one wins, as in GitHub's parser)."""
    found = None
    for k, value in items(node):
        if k.value == key:
            found = value
    return found


def get_key(node: Node | None, key: str) -> ScalarNode | None:
    found = None
    for k, _ in items(node):
        if k.value == key:
            found = k
    return found


def seq(node: Node | None) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def string_list(node: Node | None) -> list[tuple[str, Node]]:
    """A scalar or a sequence of scalars as (text, node) pairs."""
    if isinstance(node, ScalarNode):
        text = scalar(node)
        return [(text, node)] if text is not None else []
    out = []
    for item in seq(node):
        text = scalar(item)
        if text is not None:
            out.append((text, item))
    return out


def follow(root: Node | None, route: Route) -> Node | None:
    node = root
    for part in route:
        if isinstance(part, int):
            values = seq(node)
            if not 0 <= part < len(values):
                return None
            node = values[part]
        else:
            node = get(node, part)
        if node is None:
            return None
    return node


# --- positions --------------------------------------------------------------------------------


def line_of(node: Node) -> int:
    """The 1-based line where a node starts."""
    return node.start_mark.line + 1


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """A parsed file: its text, its lines and its root node (None when empty).

    Positions come from here: block collections and block scalars end where their last
    character is, not where the parser's next token starts.
    """

    path: str
    text: str
    root: Node | None
    lines: tuple[str, ...] = ()

    @classmethod
    def from_text(cls, path: str, text: str) -> YamlDocument:
        root = parse_yaml(text)
        if text.startswith("\ufeff"):
            text = text[1:]
        return cls(path, text, root, tuple(text.splitlines(keepends=True)))

    def line_text(self, line: int) -> str:
        """Line number `line` (1-based) with its line ending, or "" past the end."""
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""

    def last_line(self, node: Node) -> int:
        """The last 1-based line that holds text of the node."""
        while isinstance(node, MappingNode | SequenceNode) and not node.flow_style and node.value:
            last = node.value[-1]
            node = last[1] if isinstance(last, tuple) else last
        end = node.end_mark
        line = end.line + 1 if end.column > 0 or end.line == node.start_mark.line else end.line
        if isinstance(node, ScalarNode) and node.style in ("|", ">"):
            while line > node.start_mark.line + 1 and not self.line_text(line).strip():
                line -= 1
        return max(line, node.start_mark.line + 1)

    def node_location(self, node: Node) -> Location:
        start_line = node.start_mark.line + 1
        start_column = node.start_mark.column + 1
        end_line = self.last_line(node)
        if end_line == node.end_mark.line + 1:
            end_column = node.end_mark.column + 1
        else:
            end_column = len(self.line_text(end_line).rstrip("\r\n")) + 1
        if (end_line, end_column) < (start_line, start_column):
            end_line, end_column = start_line, start_column
        return Location(self.path, start_line, start_column, end_line, end_column)

    def locate(self, route: Route) -> Location | None:
        """The location of the value at route (None when the route does not exist)."""
        node = follow(self.root, route)
        return None if node is None else self.node_location(node)

    def locate_key(self, route: Route) -> Location | None:
        """The location of the last key of route (the key itself, not its value)."""
        if not route or isinstance(route[-1], int):
            return self.locate(route)
        key = get_key(follow(self.root, route[:-1]), route[-1])
        return None if key is None else self.node_location(key)


_INDENT_RE = re.compile(r"[ \t]*")


def indentation(line_text: str) -> str:
    match = _INDENT_RE.match(line_text)
    return match.group(0) if match else ""

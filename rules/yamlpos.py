"""YAML parsing with positions, and the only place that turns ruamel's 0-based marks into
1-based lines and columns.

Documents are composed, never constructed: the result is ruamel's node graph (MappingNode,
SequenceNode, ScalarNode), so custom tags such as ``!!python/object`` never build anything, and
``on:`` stays the string "on" (YAML 1.2 resolution, even under a ``%YAML 1.1`` directive).

The composer here is our own, driven by the events of libyaml's C parser (ruamel.yaml.clib;
the pure-Python parser when the wheel is missing). It is iterative, so no nesting depth can
overflow a stack, and it enforces the limits below while it builds the graph, so a hostile file
is stopped before it costs memory. It is also about twice as fast as ruamel's own composer,
which calls a Python resolver for every scalar. An alias shares the anchored node (nothing is
ever copied), an alias to an enclosing node is rejected (the graph has no cycles), and the
number of nodes a walker would visit when it follows every alias is bounded, so a rule that
recurses through the graph cannot be made to expand an alias bomb. Limits and their reasons
are documented in docs/reliability.md.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass
import gc
import re

from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.resolver import Resolver
from ruamel.yaml.tag import Tag

from rules.model import Location

try:
    from ruamel.yaml.cyaml import CParser
except ImportError:  # pragma: no cover - only without ruamel.yaml.clib
    CParser = None

# Limits that keep a hostile file from exhausting the process (docs/reliability.md).
MAX_FILE_BYTES = 2 * 1024 * 1024  # UTF-8 bytes of one file; real workflows are under 100 KB
MAX_DEPTH = 200  # nested collections; real workflows nest about 10 deep
MAX_ALIASES = 1000  # `*alias` references in one file
MAX_NODES = 100_000  # nodes actually built; the largest real workflows have about 15,000
MAX_EXPANDED_NODES = 200_000  # nodes a walker visits when it follows every alias

Route = tuple[str | int, ...]

__all__ = [
    "MAX_ALIASES",
    "MAX_DEPTH",
    "MAX_EXPANDED_NODES",
    "MAX_FILE_BYTES",
    "MAX_NODES",
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
    """A file that is not YAML we can analyse. line/column are 1-based when known.

    ``limit`` names the limit that stopped the parse (e.g. "MAX_DEPTH"), None for a plain
    syntax error.
    """

    def __init__(
        self,
        message: str,
        line: int | None = None,
        column: int | None = None,
        limit: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.limit = limit

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.message} (line {self.line}, column {self.column or 1})"
        return self.message


@dataclass(frozen=True, slots=True)
class Composed:
    """What the composer returns: the root (None for an empty file) and the keys that repeat
    a key of the same mapping (YAML forbids them; GitHub rejects such a workflow)."""

    root: Node | None
    duplicate_keys: tuple[tuple[ScalarNode, ScalarNode], ...] = ()  # (first, repeated)


_RESOLVER = Resolver()  # YAML 1.2 core schema, as GitHub reads workflows
_STR_TAG = Tag(suffix="tag:yaml.org,2002:str")
_SEQ_TAG = Tag(suffix="tag:yaml.org,2002:seq")
_MAP_TAG = Tag(suffix="tag:yaml.org,2002:map")
_PLAIN_TAGS: dict[str, Tag] = {}  # keys and short values repeat across files: `name`, `true`


def _implicit_table() -> dict[str, tuple[tuple[Tag, re.Pattern], ...]]:
    """ruamel's implicit resolvers by first character, compiled once (ruamel evaluates them
    lazily on every call and rebuilds the candidate list for each scalar)."""
    table = {}
    anywhere = [
        (Tag(suffix=tag), re.compile(rx.pattern, rx.flags))
        for tag, rx in _RESOLVER.yaml_implicit_resolvers.get(None, [])
    ]
    for first, resolvers in _RESOLVER.yaml_implicit_resolvers.items():
        if first is not None:
            compiled = [
                (Tag(suffix=tag), re.compile(rx.pattern, rx.flags)) for tag, rx in resolvers
            ]
            table[first] = tuple(compiled + anywhere)
    table[None] = tuple(anywhere)
    return table


_IMPLICIT = _implicit_table()


def _plain_tag(value: str) -> Tag:
    """The tag of a plain scalar, as ruamel's YAML 1.2 resolver gives it."""
    tag = _PLAIN_TAGS.get(value)
    if tag is not None:
        return tag
    tag = _STR_TAG
    for candidate, pattern in _IMPLICIT.get(value[:1], _IMPLICIT[None]):
        if pattern.match(value):
            tag = candidate
            break
    if len(value) <= 64 and len(_PLAIN_TAGS) < 8192:
        _PLAIN_TAGS[value] = tag
    return tag


def _events(text: str) -> Iterator:
    if CParser is not None:
        parser = CParser(text)
        try:
            while True:
                event = parser.get_event()
                yield event
                if type(event) is StreamEndEvent:
                    return
        finally:
            parser.dispose()
    else:  # pragma: no cover - only without ruamel.yaml.clib
        from ruamel.yaml import YAML

        yield from YAML(typ="safe", pure=True).parse(text)


# Where str.splitlines breaks a line besides "\n".
_OTHER_BREAKS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def split_lines(text: str) -> list[str]:
    """Lines as git and GitHub count them: ended by "\n" only, each keeping its ending.

    str.splitlines would also break at form feeds, NEL, U+2028 and lone carriage returns,
    which shifts every later line number away from the diff's.
    """
    if not _OTHER_BREAKS.search(text):  # the usual case: splitlines is the same, in C
        return text.splitlines(keepends=True)
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


# libyaml breaks lines at these too; git and GitHub do not.
_FOREIGN_BREAKS = re.compile("\r(?!\n)|[\x85\u2028\u2029]")


class LineMark:
    """A mark re-counted on "\n"-only lines (see _MarkMapper); the fields ruamel's marks have."""

    __slots__ = ("column", "index", "line", "name")

    def __init__(self, index: int, line: int, column: int):
        self.name = "<unicode string>"
        self.index = index
        self.line = line
        self.column = column

    def __repr__(self) -> str:
        return f"LineMark(line={self.line}, column={self.column})"


class _MarkMapper:
    """Turns libyaml's marks into marks on git's lines, for the rare text where they differ."""

    def __init__(self, text: str):
        self.starts = [0]
        self.starts.extend(match.end() for match in re.finditer("\n", text))
        self.cache: dict[int, LineMark] = {}

    def __call__(self, mark):
        if mark is None:
            return None
        found = self.cache.get(mark.index)
        if found is None:
            line = bisect.bisect_right(self.starts, mark.index) - 1
            found = LineMark(mark.index, line, mark.index - self.starts[line])
            self.cache[mark.index] = found
        return found


def _mark_mapper(text: str) -> _MarkMapper | None:
    return _MarkMapper(text) if _FOREIGN_BREAKS.search(text) else None


def _position(mark) -> tuple[int | None, int | None]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (None, None)


def _limit(message: str, mark, limit: str) -> ParseError:
    line, column = _position(mark)
    return ParseError(message, line, column, limit=limit)


def _syntax_error(exc: MarkedYAMLError, text: str) -> ParseError:
    mark = exc.problem_mark or exc.context_mark
    remap = _mark_mapper(text)
    if remap is not None:
        mark = remap(mark)
    problem = exc.problem or exc.context or "invalid YAML"
    message = f"invalid YAML: {problem}"
    if mark is not None:
        lines = text.split("\n")
        if 0 <= mark.line < len(lines) and "\t" in lines[mark.line][: mark.column + 1]:
            message += " (YAML does not allow tabs for indentation)"
    line, column = _position(mark)
    return ParseError(message, line, column)


def compose_yaml(text: str) -> Composed:
    """Compose one YAML document within the limits. Raises ParseError."""
    if len(text) > MAX_FILE_BYTES or (
        len(text) * 4 > MAX_FILE_BYTES and len(text.encode("utf-8", "replace")) > MAX_FILE_BYTES
    ):
        size = len(text.encode("utf-8", "replace")) / (1024 * 1024)
        raise ParseError(
            f"file is {size:.1f} MiB, over the {MAX_FILE_BYTES // (1024 * 1024)} MiB limit",
            limit="MAX_FILE_BYTES",
        )
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        raise ParseError("file contains NUL bytes; it is not a text file")
    # The graph is acyclic (an alias to an enclosing node is refused), so pausing the cyclic
    # garbage collector while it is built loses nothing; on a large file the collector would
    # otherwise rescan the growing graph again and again (half the time at 100,000 nodes).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _compose(text)
    except ParseError:
        raise
    except MarkedYAMLError as exc:
        raise _syntax_error(exc, text) from None
    except ReaderError as exc:
        # A character YAML does not allow at all (a control character, a lone surrogate).
        position = min(max(exc.position, 0), len(text))
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        character = text[position] if position < len(text) else ""
        code = f"U+{ord(character):04X}" if character else f"#x{exc.character:04x}"
        raise ParseError(
            f"invalid YAML: character {code} is not allowed in YAML", line, column
        ) from None
    except YAMLError as exc:
        raise ParseError(f"invalid YAML: {str(exc).splitlines()[0]}") from None
    except RecursionError:  # pragma: no cover - the composer is iterative; the pure parser?
        raise ParseError("YAML nesting is too deep to analyse", limit="MAX_DEPTH") from None
    finally:
        if collecting:
            gc.enable()


_new_node = Node.__new__


def _compose(text: str) -> Composed:
    # A stack entry: [collection node, pending mapping key or None, expanded size so far].
    stack: list[list] = []
    anchors: dict[str, tuple[Node, int]] = {}
    open_anchors: set[str] = set()
    duplicates: list[tuple[ScalarNode, ScalarNode]] = []
    root: Node | None = None
    documents = 0
    nodes = 0
    aliases = 0
    remap = _mark_mapper(text)
    for event in _events(text):
        kind = type(event)
        if remap is not None:
            event.start_mark = remap(event.start_mark)
            event.end_mark = remap(event.end_mark)
        if kind is ScalarEvent:
            tag = event.ctag
            if tag is None or str(tag) == "!":
                tag = _plain_tag(event.value) if event.implicit[0] else _STR_TAG
            elif type(tag) is not Tag:
                tag = Tag(suffix=tag)
            # What ScalarNode() does, without its two Python-level __init__ calls: most nodes
            # are scalars, and this is the composer's hottest line.
            node = _new_node(ScalarNode)
            node.ctag = tag
            node.value = event.value
            node.start_mark = event.start_mark
            node.end_mark = event.end_mark
            node.comment = None
            node.anchor = event.anchor
            # The C parser reports a plain scalar's style as ""; the Python one (and every
            # helper here) as None.
            node.style = event.style or None
            size = 1
            if event.anchor is not None:
                anchors[event.anchor] = (node, 1)
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if len(stack) >= MAX_DEPTH:
                raise _limit(
                    f"YAML nesting deeper than {MAX_DEPTH} levels", event.start_mark, "MAX_DEPTH"
                )
            tag = event.ctag
            if tag is None or str(tag) == "!":
                tag = _MAP_TAG if kind is MappingStartEvent else _SEQ_TAG
            elif type(tag) is not Tag:
                tag = Tag(suffix=tag)
            if kind is MappingStartEvent:
                collection = _new_node(MappingNode)
                collection.merge = None
            else:
                collection = _new_node(SequenceNode)
            collection.ctag = tag
            collection.value = []
            collection.start_mark = event.start_mark
            collection.end_mark = None
            collection.comment = None
            collection.anchor = event.anchor
            collection.flow_style = event.flow_style
            if event.anchor is not None:
                open_anchors.add(event.anchor)
            stack.append([collection, None, 1])
            nodes += 1
            if nodes > MAX_NODES:
                raise _limit(f"more than {MAX_NODES:,} YAML nodes", event.start_mark, "MAX_NODES")
            continue
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            node, _, size = stack.pop()
            node.end_mark = event.end_mark
            if kind is MappingEndEvent and len(node.value) > 1:
                _find_duplicates(node, duplicates)
            if node.anchor is not None:
                open_anchors.discard(node.anchor)
                anchors[node.anchor] = (node, size)
        elif kind is AliasEvent:
            aliases += 1
            if aliases > MAX_ALIASES:
                raise _limit(
                    f"more than {MAX_ALIASES:,} YAML aliases", event.start_mark, "MAX_ALIASES"
                )
            if event.anchor in open_anchors:
                line, column = _position(event.start_mark)
                raise ParseError(
                    f"invalid YAML: alias '*{event.anchor}' refers to a node that contains it",
                    line,
                    column,
                )
            if event.anchor not in anchors:
                line, column = _position(event.start_mark)
                raise ParseError(
                    f"invalid YAML: found undefined alias '*{event.anchor}'", line, column
                )
            node, size = anchors[event.anchor]
        elif kind is DocumentStartEvent:
            documents += 1
            if documents > 1:
                line, column = _position(event.start_mark)
                raise ParseError(
                    "invalid YAML: expected a single document in the stream, found another",
                    line,
                    column,
                )
            continue
        else:
            continue
        if kind is ScalarEvent:  # collections were counted at their start
            nodes += 1
            if nodes > MAX_NODES:
                raise _limit(f"more than {MAX_NODES:,} YAML nodes", event.start_mark, "MAX_NODES")
        if not stack:
            root = node
            continue
        top = stack[-1]
        top[2] += size
        if top[2] > MAX_EXPANDED_NODES:
            raise _limit(
                f"YAML aliases expand to more than {MAX_EXPANDED_NODES:,} nodes "
                "(an alias expansion bomb)",
                event.start_mark,
                "MAX_EXPANDED_NODES",
            )
        parent = top[0]
        if type(parent) is SequenceNode:
            parent.value.append(node)
        elif top[1] is None:
            top[1] = node
        else:
            parent.value.append((top[1], node))
            top[1] = None
    return Composed(root, tuple(duplicates))


def _find_duplicates(mapping: MappingNode, out: list[tuple[ScalarNode, ScalarNode]]) -> None:
    seen: dict[str, ScalarNode] = {}
    for key, _ in mapping.value:
        if type(key) is not ScalarNode:
            continue
        first = seen.setdefault(key.value, key)
        if first is not key:
            out.append((first, key))


def parse_yaml(text: str) -> Node | None:
    """Compose one YAML document. Raises ParseError with the parser's position, or naming
    the limit that was hit.

    Returns None for an empty document.
    """
    return compose_yaml(text).root


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
        # Only a plain null spelling can be null; the tag (a str built on each access) is
        # looked at for those alone, so that `!!str null` stays a string.
        if node.style is None and node.value in _NULL_SPELLINGS and node.tag.endswith(":null"):
            return None
        return node.value
    return None


_NULL_SPELLINGS = frozenset({"", "~", "null", "Null", "NULL"})


def items(node: Node | None) -> Iterator[tuple[ScalarNode, Node]]:
    """Key/value pairs of a mapping whose keys are scalars; nothing for other nodes."""
    if type(node) is MappingNode or isinstance(node, MappingNode):
        return iter([pair for pair in node.value if type(pair[0]) is ScalarNode])
    return iter(())


# get and get_key are the rules' hottest helpers: they scan from the end, because the last of
# duplicate keys wins (as in GitHub's parser), and a non-scalar key's value is a list, which
# never equals a str.


def get(node: Node | None, key: str) -> Node | None:
    """The value of key in a mapping (the last one wins, as in GitHub's parser)."""
    if type(node) is MappingNode or isinstance(node, MappingNode):
        for k, value in reversed(node.value):
            if k.value == key and type(k) is ScalarNode:
                return value
    return None


def get_key(node: Node | None, key: str) -> ScalarNode | None:
    if type(node) is MappingNode or isinstance(node, MappingNode):
        for k, _ in reversed(node.value):
            if k.value == key and type(k) is ScalarNode:
                return k
    return None


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
    # (first, repeated) key pairs of one mapping; the last value wins, as in `get`.
    duplicate_keys: tuple[tuple[ScalarNode, ScalarNode], ...] = ()

    @classmethod
    def from_text(cls, path: str, text: str) -> YamlDocument:
        composed = compose_yaml(text)
        if text.startswith("\ufeff"):
            text = text[1:]
        lines = tuple(split_lines(text))
        return cls(path, text, composed.root, lines, composed.duplicate_keys)

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

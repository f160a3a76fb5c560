"""GitHub Actions expressions (``${{ ... }}``), evaluated over what can be known statically.

A value is either a tuple of *alternatives* (the values it can take over the runs of the
workflow) or ``UNKNOWN`` (opaque: an input, a secret, another job's output). An alternative
is a plain Python value (None, bool, float, str, list, dict) or ``ANY``: a value that differs
between runs and that we cannot name, such as ``github.ref``. The difference matters: a push
guarded by ``github.event_name != 'pull_request'`` happens in some run, while a push guarded
by ``inputs.push`` may never happen, and an unknown must never produce a finding on its own.

Semantics follow GitHub's documentation: ``&&``/``||`` return operand values, ``==`` compares
strings case-insensitively and coerces mixed types to numbers, property access on a missing
key gives null.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
import math
import re
from typing import Any

__all__ = [
    "ANY",
    "MARK",
    "UNKNOWN",
    "Context",
    "ExpressionError",
    "Several",
    "Value",
    "equal",
    "evaluate",
    "is_unknown",
    "known",
    "may_be_true",
    "parse",
    "single",
    "to_text",
    "truthy",
]


class _Any:
    """A value that varies between runs (github.ref, github.sha...)."""

    _instance: _Any | None = None

    def __new__(cls) -> _Any:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ANY"


class _Unknown:
    """A value we know nothing about (inputs, secrets, outputs of other steps and jobs)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"


ANY = _Any()
UNKNOWN = _Unknown()

# Stands for an unknown part of a text (a tag from a secret, a host from an input).
MARK = "\ue000"


class Several(tuple):
    """Returned by a Context for a property with several possible values."""


Value = Any  # tuple of alternatives, or UNKNOWN
MAX_ALTERNATIVES = 32


class ExpressionError(ValueError):
    """Text that is not a valid expression."""


# --- values -----------------------------------------------------------------------------------


def known(value: Any) -> tuple:
    """A value with exactly one alternative."""
    return (value,)


def is_unknown(value: Value) -> bool:
    return value is UNKNOWN


def single(value: Value) -> Any:
    """The one concrete alternative of a value, or UNKNOWN when there is not exactly one."""
    if value is UNKNOWN or len(value) != 1 or value[0] is ANY:
        return UNKNOWN
    return value[0]


def _key(item: Any) -> Any:
    """Alternatives with the same key are one alternative: the type and the JSON text.

    Plain scalars, by far the most common, get a tuple that tells apart exactly what their
    JSON text would (a float by its repr, which is what json writes), without encoding."""
    kind = type(item)
    if kind is str or kind is bool or kind is int:
        return (kind, item)
    if kind is float:
        return (kind, repr(item))
    if item is None:
        return _NONE_KEY
    if item is ANY:
        return "\x00any"
    import json  # lists and dicts only: most runs never need the module

    try:
        return type(item).__name__ + ":" + json.dumps(item, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        return repr(item)


_NONE_KEY = (type(None),)


def _alternatives(items: list[Any]) -> Value:
    seen: dict[Any, Any] = {}
    for item in items:
        if item is UNKNOWN:
            return UNKNOWN
        for one in item if isinstance(item, Several) else (item,):
            seen.setdefault(_key(one), one)
    if len(seen) > MAX_ALTERNATIVES:
        return (ANY,)
    return tuple(seen.values())


def truthy(item: Any) -> bool | None:
    """GitHub's truthiness of one alternative (None for ANY)."""
    if item is ANY:
        return None
    if item is None or item is False:
        return False
    if isinstance(item, int | float) and not isinstance(item, bool):
        return not (item == 0 or math.isnan(item))
    if isinstance(item, str):
        if item and not item.replace(MARK, ""):
            return None  # only unknown parts: it may be empty
        return item != ""
    return True


def _opaque(item: Any) -> bool:
    """A text with unknown parts: comparing it proves nothing."""
    return isinstance(item, str) and MARK in item


def may_be_true(value: Value) -> bool | None:
    """True when some run makes the value truthy, False when none does, None when unknown."""
    if value is UNKNOWN:
        return None
    flags = [truthy(item) for item in value]
    if any(flag is True for flag in flags) or any(item is ANY for item in value):
        return True
    if any(flag is None for flag in flags):
        return None
    return False


def to_text(item: Any) -> str | None:
    """The text an alternative becomes when substituted into a string (None for ANY)."""
    if item is ANY or item is UNKNOWN:
        return None
    if item is None:
        return ""
    if item is True:
        return "true"
    if item is False:
        return "false"
    if isinstance(item, float):
        if math.isnan(item):
            return "NaN"
        if item.is_integer():
            return str(int(item))
        return repr(item)
    if isinstance(item, int):
        return str(item)
    if isinstance(item, list):
        return "Array"
    if isinstance(item, dict):
        return "Object"
    return str(item)


def _to_number(item: Any) -> float:
    if item is None:
        return 0.0
    if isinstance(item, bool):
        return 1.0 if item else 0.0
    if isinstance(item, int | float):
        return float(item)
    if isinstance(item, str):
        text = item.strip()
        if text == "":
            return 0.0
        try:
            if text.lower().startswith(("0x", "-0x")):
                return float(int(text, 16))
            return float(text)
        except ValueError:
            return math.nan
    return math.nan


def equal(a: Any, b: Any) -> bool:
    """GitHub's `==` on two concrete values."""
    return _equal(a, b)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    if type(a) is type(b) or (
        isinstance(a, int | float)
        and isinstance(b, int | float)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        if isinstance(a, list | dict):
            return a is b
        return a == b
    if isinstance(a, list | dict) or isinstance(b, list | dict):
        return False
    return _to_number(a) == _to_number(b)


def _compare(op: str, a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        x, y = a.casefold(), b.casefold()
    else:
        x, y = _to_number(a), _to_number(b)
        if math.isnan(x) or math.isnan(y):
            return False
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


# --- parsing ----------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"""
    \s*(?:
      (?P<string>'(?:[^']|'')*')
    | (?P<number>-?(?:0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))
    | (?P<op>==|!=|<=|>=|&&|\|\||[!<>()\[\],.*])
    | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Node:
    kind: str  # literal, context, prop, index, call, not, binary, star
    value: Any = None
    args: tuple[_Node, ...] = ()


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None or match.end() == pos:
            raise ExpressionError(f"unexpected character {text[pos:].strip()[:1]!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise ExpressionError(f"expected {value or 'a value'}")
        self.pos += 1
        return token

    def accept(self, value: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "op" and token[1] == value:
            self.pos += 1
            return True
        return False

    def parse(self) -> _Node:
        node = self.or_()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()[1]!r}")
        return node

    def or_(self) -> _Node:
        node = self.and_()
        while self.accept("||"):
            node = _Node("binary", "||", (node, self.and_()))
        return node

    def and_(self) -> _Node:
        node = self.equality()
        while self.accept("&&"):
            node = _Node("binary", "&&", (node, self.equality()))
        return node

    def equality(self) -> _Node:
        node = self.comparison()
        while True:
            for op in ("==", "!="):
                if self.accept(op):
                    node = _Node("binary", op, (node, self.comparison()))
                    break
            else:
                return node

    def comparison(self) -> _Node:
        node = self.unary()
        while True:
            for op in ("<=", ">=", "<", ">"):
                if self.accept(op):
                    node = _Node("binary", op, (node, self.unary()))
                    break
            else:
                return node

    def unary(self) -> _Node:
        if self.accept("!"):
            return _Node("not", None, (self.unary(),))
        return self.postfix(self.primary())

    def postfix(self, node: _Node) -> _Node:
        while True:
            if self.accept("."):
                if self.accept("*"):
                    node = _Node("star", None, (node,))
                else:
                    kind, name = self.take()
                    if kind != "name":
                        raise ExpressionError("expected a property name after '.'")
                    node = _Node("prop", name, (node,))
            elif self.accept("["):
                index = self.or_()
                self.take("]")
                node = _Node("index", None, (node, index))
            else:
                return node

    def primary(self) -> _Node:
        token = self.peek()
        if token is None:
            raise ExpressionError("expression ends too early")
        kind, text = token
        if kind == "string":
            self.pos += 1
            return _Node("literal", text[1:-1].replace("''", "'"))
        if kind == "number":
            self.pos += 1
            number = float(int(text, 16)) if "x" in text.lower() else float(text)
            return _Node("literal", number)
        if kind == "op" and text == "(":
            self.pos += 1
            node = self.or_()
            self.take(")")
            return node
        if kind == "name":
            self.pos += 1
            lowered = text.lower()
            if lowered in ("true", "false"):
                return _Node("literal", lowered == "true")
            if lowered == "null":
                return _Node("literal", None)
            if self.accept("("):
                args: list[_Node] = []
                if not self.accept(")"):
                    args.append(self.or_())
                    while self.accept(","):
                        args.append(self.or_())
                    self.take(")")
                return _Node("call", lowered, tuple(args))
            return _Node("context", lowered)
        raise ExpressionError(f"unexpected {text!r}")


_PARSED: dict[str, _Node] = {}


def parse(text: str) -> _Node:
    """Parse one expression (without the ``${{ }}``); raises ExpressionError."""
    node = _PARSED.get(text)
    if node is None:
        node = _Parser(text).parse()
        if len(_PARSED) < 4096:
            _PARSED[text] = node
    return node


# --- evaluation -------------------------------------------------------------------------------

Lookup = Callable[[str], Any]
"""Resolves a context name (lower case) to an object: a dict, a Context, ANY or UNKNOWN."""


class Context:
    """A context whose properties are computed on demand (env, github...)."""

    def get(self, name: str) -> Any:  # pragma: no cover - interface
        raise NotImplementedError


def evaluate(text: str, lookup: Lookup) -> Value:
    """Evaluate an expression; text that does not parse is UNKNOWN."""
    try:
        node = parse(text)
    except ExpressionError:
        return UNKNOWN
    try:
        return _eval(node, lookup)
    except RecursionError:
        return UNKNOWN


def _property(obj: Any, name: str) -> Any:
    if obj is ANY or obj is UNKNOWN:
        return obj
    if isinstance(obj, Context):
        return obj.get(name)
    if isinstance(obj, Mapping):
        if name in obj:
            return obj[name]
        lowered = name.lower()
        for key, value in obj.items():
            if isinstance(key, str) and key.lower() == lowered:
                return value
        return None
    return None


def _index(obj: Any, index: Any) -> Any:
    if obj is ANY or index is ANY:
        return ANY
    if isinstance(obj, list):
        number = _to_number(index)
        if math.isnan(number) or number < 0 or int(number) >= len(obj):
            return None
        return obj[int(number)]
    text = to_text(index)
    return _property(obj, text) if text is not None else None


def _map1(value: Value, fn: Callable[[Any], Any]) -> Value:
    if value is UNKNOWN:
        return UNKNOWN
    return _alternatives([fn(item) for item in value])


def _map2(a: Value, b: Value, fn: Callable[[Any, Any], Any]) -> Value:
    if a is UNKNOWN or b is UNKNOWN:
        return UNKNOWN
    results = [fn(x, y) for x in a for y in b]
    if any(result is UNKNOWN for result in results):
        return UNKNOWN
    return _alternatives(results)


def _both_bools(fn: Callable[[Any, Any], bool]) -> Callable[[Any, Any], Any]:
    def wrapped(x: Any, y: Any) -> Any:
        if _opaque(x) or _opaque(y):
            return UNKNOWN
        if x is ANY or y is ANY:
            return ANY
        return fn(x, y)

    return wrapped


def _flatten_bool(value: Value) -> Value:
    """ANY results of comparisons are booleans we cannot name: true or false."""
    if value is UNKNOWN:
        return UNKNOWN
    items: list[Any] = []
    for item in value:
        items.extend((True, False) if item is ANY else (item,))
    return _alternatives(items)


def _eval(node: _Node, lookup: Lookup) -> Value:
    kind = node.kind
    if kind == "literal":
        return (node.value,)
    if kind == "context":
        obj = lookup(node.value)
        return UNKNOWN if obj is UNKNOWN else _alternatives([obj])
    if kind == "prop":
        return _map_obj(_eval(node.args[0], lookup), lambda o: _property(o, node.value))
    if kind == "index":
        base = _eval(node.args[0], lookup)
        index = _eval(node.args[1], lookup)
        if base is UNKNOWN or index is UNKNOWN:
            return UNKNOWN
        items = [_index(b, i) for b in base for i in index]
        return UNKNOWN if any(i is UNKNOWN for i in items) else _alternatives(items)
    if kind == "star":
        return _map_obj(_eval(node.args[0], lookup), _star)
    if kind == "not":
        operand = _eval(node.args[0], lookup)
        if operand is UNKNOWN:
            return UNKNOWN
        results = [_not(item) for item in operand]
        if any(result is UNKNOWN for result in results):
            return UNKNOWN
        return _flatten_bool(_alternatives(results))
    if kind == "binary":
        return _binary(node, lookup)
    if kind == "call":
        return _call(node.value, [_eval(arg, lookup) for arg in node.args])
    return UNKNOWN  # pragma: no cover


def _map_obj(value: Value, fn: Callable[[Any], Any]) -> Value:
    if value is UNKNOWN:
        return UNKNOWN
    items: list[Any] = []
    for item in value:
        result = fn(item)
        if result is UNKNOWN:
            return UNKNOWN
        items.extend(result if isinstance(result, Several) else (result,))
    return _alternatives(items)


def _star(obj: Any) -> Any:
    if obj is ANY or obj is UNKNOWN:
        return obj
    if isinstance(obj, Mapping):
        return list(obj.values())
    if isinstance(obj, list):
        return list(obj)
    return []


def _not(item: Any) -> Any:
    flag = truthy(item)
    if flag is None:
        return UNKNOWN if _opaque(item) else ANY
    return not flag


def _binary(node: _Node, lookup: Lookup) -> Value:
    op = node.value
    left = _eval(node.args[0], lookup)
    if op in ("&&", "||"):
        if left is UNKNOWN:
            return UNKNOWN
        out: list[Any] = []
        right: Value | None = None
        for item in left:
            flag = truthy(item)
            short_circuits = flag is (op == "||")
            if short_circuits:
                out.append(item)
                continue
            if right is None:
                right = _eval(node.args[1], lookup)
            if right is UNKNOWN:
                return UNKNOWN
            if flag is None:
                out.append(item)
            out.extend(right)
        return _alternatives(out)
    right = _eval(node.args[1], lookup)
    if op == "==":
        return _flatten_bool(_map2(left, right, _both_bools(_equal)))
    if op == "!=":
        return _flatten_bool(_map2(left, right, _both_bools(lambda x, y: not _equal(x, y))))
    return _flatten_bool(_map2(left, right, _both_bools(lambda x, y: _compare(op, x, y))))


# --- functions --------------------------------------------------------------------------------


def _contains(search: Any, item: Any) -> Any:
    if _opaque(search) or _opaque(item):
        return UNKNOWN
    if search is ANY or item is ANY:
        return ANY
    if isinstance(search, list):
        return any(_equal(element, item) for element in search)
    text, part = to_text(search), to_text(item)
    if text is None or part is None:
        return ANY
    return part.casefold() in text.casefold()


def _starts(a: Any, b: Any) -> Any:
    if _opaque(a) or _opaque(b):
        return UNKNOWN
    x, y = to_text(a), to_text(b)
    if x is None or y is None:
        return ANY
    return x.casefold().startswith(y.casefold())


def _ends(a: Any, b: Any) -> Any:
    if _opaque(a) or _opaque(b):
        return UNKNOWN
    x, y = to_text(a), to_text(b)
    if x is None or y is None:
        return ANY
    return x.casefold().endswith(y.casefold())


def _format(fmt: Any, *args: Any) -> Any:
    text = to_text(fmt)
    if text is None:
        return ANY
    out: list[str] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if text.startswith("{{", pos):
            out.append("{")
            pos += 2
        elif text.startswith("}}", pos):
            out.append("}")
            pos += 2
        elif char == "{":
            end = text.find("}", pos)
            if end < 0 or not text[pos + 1 : end].isdigit():
                return UNKNOWN
            index = int(text[pos + 1 : end])
            if index >= len(args):
                return UNKNOWN
            piece = to_text(args[index])
            if piece is None:
                return ANY
            out.append(piece)
            pos = end + 1
        else:
            out.append(char)
            pos += 1
    return "".join(out)


def _join(array: Any, separator: Any = ",") -> Any:
    if array is ANY or separator is ANY:
        return ANY
    sep = to_text(separator)
    if isinstance(array, list):
        parts = [to_text(item) for item in array]
        if any(part is None for part in parts) or sep is None:
            return ANY
        return sep.join(parts)  # type: ignore[arg-type]
    return to_text(array)


def _to_json(item: Any) -> Any:
    if item is ANY:
        return ANY
    import json

    try:
        return json.dumps(item, indent=2)
    except (TypeError, ValueError):
        return ANY


def _from_json(item: Any) -> Any:
    if item is ANY:
        return ANY
    text = to_text(item)
    if text is None:
        return ANY
    import json

    try:
        return _normalise_json(json.loads(text))
    except ValueError:
        return UNKNOWN


def _normalise_json(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list):
        return [_normalise_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _normalise_json(v) for k, v in value.items()}
    return value


def _case(*args: Any) -> Any:
    for index in range(0, len(args) - 1, 2):
        flag = truthy(args[index])
        if flag is None:
            return ANY
        if flag:
            return args[index + 1]
    return args[-1] if len(args) % 2 == 1 else None


_STATUS = {"success": True, "always": True, "failure": False, "cancelled": False}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "contains": _contains,
    "startswith": _starts,
    "endswith": _ends,
    "format": _format,
    "join": _join,
    "tojson": _to_json,
    "fromjson": _from_json,
    "case": _case,
}


def _call(name: str, args: list[Value]) -> Value:
    if name in _STATUS:
        # Steps we look at run on the path where the build or push step itself runs, which
        # (by default) means every earlier step succeeded.
        return (_STATUS[name],)
    if name == "hashfiles":
        return (ANY,)
    fn = _FUNCTIONS.get(name)
    if fn is None or any(arg is UNKNOWN for arg in args):
        return UNKNOWN
    combos: list[list[Any]] = [[]]
    for arg in args:
        combos = [[*combo, item] for combo in combos for item in arg]
        if len(combos) > MAX_ALTERNATIVES:
            return (ANY,)
    try:
        results = [fn(*combo) for combo in combos]
    except TypeError:
        return UNKNOWN
    if any(result is UNKNOWN for result in results):
        return UNKNOWN
    if name in ("contains", "startswith", "endswith"):
        return _flatten_bool(_alternatives(results))
    return _alternatives(results)


# --- templates --------------------------------------------------------------------------------

_TEMPLATE_RE = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


def split_template(text: str) -> list[tuple[bool, str]]:
    """Split text into literal parts (False, text) and expressions (True, expression)."""
    parts: list[tuple[bool, str]] = []
    pos = 0
    for match in _TEMPLATE_RE.finditer(text):
        if match.start() > pos:
            parts.append((False, text[pos : match.start()]))
        parts.append((True, match.group(1).strip()))
        pos = match.end()
    if pos < len(text):
        parts.append((False, text[pos:]))
    return parts


def whole_expression(text: str) -> str | None:
    """The expression when text is exactly one ``${{ ... }}`` (surrounding blanks allowed)."""
    parts = split_template(text.strip())
    if len(parts) == 1 and parts[0][0]:
        return parts[0][1]
    return None

"""GitHub's filter-pattern syntax for `paths`, `paths-ignore`, `branches` and `tags`.

From GitHub's "Filter pattern cheat sheet": `*` matches any characters except `/`, `**`
matches any characters including `/`, `?` makes the preceding character optional, `+` repeats
it, `[...]` is a character class (ranges allowed), `\\` escapes, and a leading `!` negates. A
pattern matches the whole path. Patterns are evaluated in order: the last one that matches a
path decides whether it is in or out.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
import functools
import re


class GlobSyntaxError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class FilterPattern:
    text: str
    negated: bool
    regex: re.Pattern[str]

    def matches(self, path: str) -> bool:
        return self.regex.fullmatch(path) is not None


_SPECIAL = set("*?+[]!\\")


@functools.lru_cache(maxsize=4096)
def compile_pattern(text: str) -> FilterPattern:
    """Compile one filter pattern; raises GlobSyntaxError with a human reason."""
    negated = text.startswith("!")
    body = text[1:] if negated else text
    if not body:
        raise GlobSyntaxError("empty pattern")
    atoms: list[str] = []
    can_repeat: list[bool] = []  # whether `?`/`+` may follow the atom
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            if i + 1 >= len(body):
                raise GlobSyntaxError("pattern ends with an escape character '\\'")
            atoms.append(re.escape(body[i + 1]))
            can_repeat.append(True)
            i += 2
        elif char == "*":
            if body.startswith("**/", i):
                atoms.append("(?:.*/)?")
                i += 3
            elif body.startswith("**", i):
                atoms.append(".*")
                i += 2
            else:
                atoms.append("[^/]*")
                i += 1
            can_repeat.append(False)
        elif char in "?+":
            if not atoms or not can_repeat[-1]:
                raise GlobSyntaxError(
                    f"{char!r} must follow a plain character or a character class, "
                    f"at position {i + 1}"
                )
            atoms[-1] = f"(?:{atoms[-1]}){char}"
            can_repeat[-1] = False
            i += 1
        elif char == "[":
            end = body.find("]", i + 1)
            if end == -1:
                raise GlobSyntaxError(f"unclosed character class '[' at position {i + 1}")
            atoms.append(_char_class(body[i + 1 : end], i + 1))
            can_repeat.append(True)
            i = end + 1
        elif char == "]":
            raise GlobSyntaxError(f"unmatched ']' at position {i + 1}")
        else:
            atoms.append(re.escape(char))
            can_repeat.append(True)
            i += 1
    return FilterPattern(text, negated, re.compile("".join(atoms), re.DOTALL))


def _char_class(content: str, position: int) -> str:
    if not content:
        raise GlobSyntaxError(f"empty character class '[]' at position {position}")
    parts: list[str] = []
    i = 0
    while i < len(content):
        if i + 2 < len(content) and content[i + 1] == "-":
            low, high = content[i], content[i + 2]
            if low > high:
                raise GlobSyntaxError(
                    f"character range {low}-{high} is reversed ({low!r} comes after {high!r})"
                )
            parts.append(f"{re.escape(low)}-{re.escape(high)}")
            i += 3
        else:
            parts.append(re.escape(content[i]))
            i += 1
    return "[" + "".join(parts) + "]"


def filter_matches(patterns: Iterable[str], path: str) -> bool:
    """Whether path is selected by an ordered pattern list (the last matching pattern wins).

    Invalid patterns are skipped here; rules report them separately.
    """
    selected = False
    for text in patterns:
        try:
            pattern = compile_pattern(text)
        except GlobSyntaxError:
            continue
        if pattern.matches(path):
            selected = not pattern.negated
    return selected


_REGEX_HINTS = re.compile(r"(^\^)|(\$$)|(\.\*)|(\\[dws.])|(\(\?)|(\.\+)|(\|)")


def looks_like_regex(text: str) -> bool:
    """Patterns such as `^src/.*\\.py$` that were written as regular expressions."""
    body = text[1:] if text.startswith("!") else text
    return bool(_REGEX_HINTS.search(body))


def has_special(text: str) -> bool:
    return any(char in _SPECIAL for char in text)


_WILDCARDS = "*?+[\\"


def literal_prefix(text: str) -> str:
    """The folder (ending in `/`, or "") that every path a pattern matches starts with.

    A `?` or `+` changes the character before it, so the prefix stops before that one too.
    """
    body = text[1:] if text.startswith("!") else text
    first = next((i for i, char in enumerate(body) if char in _WILDCARDS), None)
    if first is None:
        return body[: body.rfind("/") + 1]
    if body[first] in "?+":
        first -= 1
    return body[: body.rfind("/", 0, max(first, 0)) + 1]


class PathIndex:
    """All paths of a tree, for answering "does this pattern match anything?" fast.

    Answers are cached per pattern; a search stops at the first match and only walks the
    sorted range of paths under the pattern's literal leading folder.
    """

    __slots__ = ("_children", "_first", "_paths", "_set")

    def __init__(self, paths: Iterable[str]) -> None:
        self._paths = sorted(paths)
        self._set = frozenset(self._paths)
        self._first: dict[str, str | None] = {}
        self._children: dict[str, set[str]] | None = None

    def __len__(self) -> int:
        return len(self._paths)

    def __contains__(self, path: object) -> bool:
        return path in self._set

    def under(self, folder: str) -> Iterable[str]:
        """Paths that start with folder (which ends in `/`, or is "" for all)."""
        if not folder:
            yield from self._paths
            return
        start = bisect.bisect_left(self._paths, folder)
        for path in self._paths[start:]:
            if not path.startswith(folder):
                return
            yield path

    def first_match(self, pattern: FilterPattern) -> str | None:
        """The first path the pattern (its negation ignored) matches, or None."""
        key = pattern.text[1:] if pattern.negated else pattern.text
        if key in self._first:
            return self._first[key]
        found = None
        if not has_special(key):
            found = key if key in self._set else None
        else:
            fullmatch = pattern.regex.fullmatch
            for path in self.under(literal_prefix(key)):
                if fullmatch(path) is not None:
                    found = path
                    break
        self._first[key] = found
        return found

    def matches(self, pattern: FilterPattern, limit: int = 3) -> list[str]:
        """Up to limit paths the pattern (its negation ignored) matches."""
        key = pattern.text[1:] if pattern.negated else pattern.text
        out = []
        for path in self.under(literal_prefix(key)):
            if pattern.regex.fullmatch(path) is not None:
                out.append(path)
                if len(out) >= limit:
                    break
        return out

    def is_folder(self, path: str) -> bool:
        """Whether some path lies below path/ (a folder implied by the tree)."""
        folder = path.rstrip("/") + "/"
        start = bisect.bisect_left(self._paths, folder)
        return start < len(self._paths) and self._paths[start].startswith(folder)

    def children(self, folder: str) -> set[str]:
        """Names of files and folders directly inside folder ("" for the root)."""
        if self._children is None:
            children: dict[str, set[str]] = {}
            for path in self._paths:
                parts = path.split("/")
                for depth in range(len(parts)):
                    parent = "/".join(parts[:depth])
                    children.setdefault(parent, set()).add(parts[depth])
            self._children = children
        return self._children.get(folder.rstrip("/"), set())

"""GitHub's filter-pattern syntax for `paths`, `paths-ignore`, `branches` and `tags`.

From GitHub's "Filter pattern cheat sheet": `*` matches any characters except `/`, `**`
matches any characters including `/`, `?` makes the preceding character optional, `+` repeats
it, `[...]` is a character class (ranges allowed), `\\` escapes, and a leading `!` negates. A
pattern matches the whole path. Patterns are evaluated in order: the last one that matches a
path decides whether it is in or out.
"""

from __future__ import annotations

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
                    f"character range {low}-{high} is reversed "
                    f"({low!r} comes after {high!r})"
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

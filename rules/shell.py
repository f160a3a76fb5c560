"""Just enough of POSIX shell to find the commands in a `run:` script.

The script is split into simple commands (at newlines, `;`, `&&`, `||`, `|`, `&`, parentheses),
each a list of words with quotes removed and variables expanded. Variables come from the
step's environment and from assignments earlier in the script; anything else (command
substitution, positional parameters, `${x/a/b}`, loop variables, what `source` may set)
becomes ``MARK``. Here-documents and comments are skipped. The parse never fails: odd input
gives odd words, which the callers ignore.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import re

from rules.expressions import MARK

__all__ = ["Command", "commands"]

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\+?=(.*)", re.DOTALL)
_PREFIX_WORDS = frozenset(
    {
        "then",
        "do",
        "done",
        "else",
        "elif",
        "if",
        "while",
        "until",
        "!",
        "{",
        "}",
        "time",
        "exec",
        "fi",
        "esac",
    }
)
_DECLARE_WORDS = frozenset({"export", "declare", "local", "readonly", "typeset"})


@dataclass(frozen=True, slots=True)
class Command:
    words: tuple[str, ...]
    line: int  # 0-based line of the script where the command starts
    text: str  # that line, stripped, to find it again in the YAML


class _Scanner:
    def __init__(self, script: str, variables: Mapping[str, str]):
        self.text = script
        self.pos = 0
        self.line = 0
        self.variables: dict[str, str | None] = dict(variables)
        self.lines = script.splitlines()
        self.commands: list[Command] = []
        self.words: list[str] = []
        self.word: list[str] = []
        self.word_started = False
        self.command_line = 0
        self.skip_next_word = False
        self.pending_heredocs: list[tuple[str, bool]] = []
        self.current_word_line = 0

    # --- words ----------------------------------------------------------------------------

    def end_word(self) -> None:
        if self.word or self.word_started:
            word = "".join(self.word)
            if self.skip_next_word:
                self.skip_next_word = False
            else:
                if not self.words:
                    self.command_line = self.current_word_line
                self.words.append(word)
        self.word = []
        self.word_started = False

    def add(self, text: str) -> None:
        if not self.word and not self.word_started:
            self.current_word_line = self.line
        self.word.append(text)
        self.word_started = True

    def end_command(self) -> None:
        self.end_word()
        self.skip_next_word = False
        if self.words:
            self.finish(self.words, self.command_line)
        self.words = []

    # --- commands ---------------------------------------------------------------------------

    def finish(self, words: list[str], line: int) -> None:
        while words and words[0] in _PREFIX_WORDS:
            words = words[1:]
        if not words:
            return
        if words[0] == "for" and len(words) >= 2:
            self.variables[words[1]] = None
            return
        if words[0] in ("read", "mapfile", "readarray"):
            for word in words[1:]:
                if _NAME_RE.fullmatch(word):
                    self.variables[word] = None
            return
        if words[0] == "unset":
            for word in words[1:]:
                self.variables.pop(word, None)
            return
        if words[0] in ("source", "."):
            self.variables = {name: None for name in self.variables}
            return
        declaring = words[0] in _DECLARE_WORDS
        if declaring:
            words = [w for w in words[1:] if not w.startswith("-")]
        assignments = []
        while words and (match := _ASSIGNMENT_RE.fullmatch(words[0])):
            assignments.append(match)
            words = words[1:]
        if declaring or not words:
            for match in assignments:
                self.variables[match.group(1)] = match.group(2)
            if declaring:
                for word in words:
                    if _NAME_RE.fullmatch(word) and word not in self.variables:
                        self.variables[word] = None
            return
        text = self.lines[line].strip() if line < len(self.lines) else ""
        self.commands.append(Command(tuple(words), line, text))

    # --- expansion --------------------------------------------------------------------------

    def lookup(self, name: str) -> str:
        value = self.variables.get(name)
        return MARK if value is None else value

    def parameter(self) -> str:
        """At `$`: expand a parameter and return its text."""
        text = self.text
        nxt = text[self.pos + 1] if self.pos + 1 < len(text) else ""
        if nxt == "(":
            self.pos = self.skip_balanced(self.pos + 1, "(", ")")
            return MARK
        if nxt == "{":
            end = self.skip_balanced(self.pos + 1, "{", "}")
            body = text[self.pos + 2 : end - 1]
            self.pos = end
            match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-=])(.*))?", body, re.DOTALL)
            if match is None:
                return MARK
            name, operator, default = match.groups()
            if name in self.variables:
                value = self.variables[name]
                if value is None:
                    return MARK
                if operator and (value == "" and operator.startswith(":")):
                    return default
                return value
            if operator and not name.startswith(("GITHUB_", "RUNNER_")):
                return default  # most likely unset
            return MARK
        match = _NAME_RE.match(text, self.pos + 1)
        if match:
            self.pos = match.end()
            return self.lookup(match.group(0))
        if nxt and (nxt.isdigit() or nxt in "@*#?$!-"):
            self.pos += 2
            return MARK
        self.pos += 1
        return "$"

    def skip_balanced(self, start: int, open_char: str, close_char: str) -> int:
        """The position after the bracket that closes the one at start."""
        depth = 0
        pos = start
        quote = ""
        while pos < len(self.text):
            char = self.text[pos]
            if char == "\n":
                self.line += 1
            if quote:
                if char == quote:
                    quote = ""
                elif char == "\\" and quote == '"':
                    pos += 1
            elif char in "'\"":
                quote = char
            elif char == "\\":
                pos += 1
            elif char == open_char:
                depth += 1
            elif char == close_char:
                depth -= 1
                if depth == 0:
                    return pos + 1
            pos += 1
        return pos

    # --- the scan ---------------------------------------------------------------------------

    def skip_heredocs(self) -> None:
        """At the start of a line: skip the bodies of pending here-documents."""
        while self.pending_heredocs:
            delimiter, strip_tabs = self.pending_heredocs.pop(0)
            while self.pos < len(self.text):
                end = self.text.find("\n", self.pos)
                end = len(self.text) if end < 0 else end
                body_line = self.text[self.pos : end]
                self.pos = min(end + 1, len(self.text))
                self.line += 1
                check = body_line.lstrip("\t") if strip_tabs else body_line
                if check.rstrip("\r") == delimiter:
                    break

    def heredoc(self) -> None:
        """At `<<`: read the delimiter word."""
        self.pos += 2
        strip_tabs = False
        if self.pos < len(self.text) and self.text[self.pos] == "<":
            self.pos += 1  # a here-string: <<<
            self.skip_next_word = True
            return
        if self.pos < len(self.text) and self.text[self.pos] == "-":
            strip_tabs = True
            self.pos += 1
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1
        match = re.match(r"""(['"]?)([^\s'";&|<>()]+)\1""", self.text[self.pos :])
        if match:
            self.pending_heredocs.append((match.group(2), strip_tabs))
            self.pos += match.end()

    def run(self) -> list[Command]:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char == "\\":
                if self.pos + 1 < len(text) and text[self.pos + 1] == "\n":
                    self.pos += 2
                    self.line += 1
                    continue
                if self.pos + 1 < len(text):
                    self.add(text[self.pos + 1])
                self.pos += 2
                continue
            if char == "'":
                end = text.find("'", self.pos + 1)
                end = len(text) if end < 0 else end
                chunk = text[self.pos + 1 : end]
                self.add(chunk)
                self.line += chunk.count("\n")
                self.pos = end + 1
                continue
            if char == '"':
                self.double_quoted()
                continue
            if char == "$":
                self.add(self.parameter())
                continue
            if char == "`":
                end = text.find("`", self.pos + 1)
                end = len(text) if end < 0 else end
                self.line += text[self.pos : end].count("\n")
                self.add(MARK)
                self.pos = end + 1
                continue
            if char == "\n":
                self.end_command()
                self.pos += 1
                self.line += 1
                self.skip_heredocs()
                continue
            if char in " \t\r":
                self.end_word()
                self.pos += 1
                continue
            if char == "#" and not self.word and not self.word_started:
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
                continue
            if char in ";&|()":
                self.end_command()
                self.pos += 1
                continue
            if char in "<>":
                if self.word and "".join(self.word).isdigit():
                    self.word = []
                    self.word_started = False
                self.end_word()
                if text.startswith("<<", self.pos):
                    self.heredoc()
                    continue
                while self.pos < len(text) and text[self.pos] in "<>&":
                    self.pos += 1
                if self.pos < len(text) and text[self.pos].isdigit():
                    self.pos += 1  # 2>&1
                    continue
                self.skip_next_word = True
                continue
            self.add(char)
            self.pos += 1
        self.end_command()
        return self.commands

    def double_quoted(self) -> None:
        text = self.text
        self.pos += 1
        self.add("")
        while self.pos < len(text):
            char = text[self.pos]
            if char == '"':
                self.pos += 1
                return
            if char == "\\" and self.pos + 1 < len(text) and text[self.pos + 1] in '"\\$`\n':
                if text[self.pos + 1] != "\n":
                    self.add(text[self.pos + 1])
                else:
                    self.line += 1
                self.pos += 2
                continue
            if char == "$":
                self.add(self.parameter())
                continue
            if char == "`":
                end = text.find("`", self.pos + 1)
                end = len(text) if end < 0 else end
                self.add(MARK)
                self.pos = end + 1
                continue
            if char == "\n":
                self.line += 1
            self.add(char)
            self.pos += 1


def commands(script: str, variables: Mapping[str, str] | None = None) -> list[Command]:
    """The simple commands of a script, in order, with words expanded."""
    return list(_commands(script, tuple((variables or {}).items())))


# The same script is read once per matrix leg and per called workflow, usually with the same
# variables: scanning is the costly part, and Commands are immutable.
_SCANNED: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[Command, ...]] = {}
_MAX_SCANNED = 1024
_MAX_SCANNED_SCRIPT = 64 * 1024  # a bigger script is scanned again rather than kept


def _commands(script: str, variables: tuple[tuple[str, str], ...]) -> tuple[Command, ...]:
    key = (script, variables)
    found = _SCANNED.get(key)
    if found is None:
        found = tuple(_Scanner(script, dict(variables)).run())
        if len(script) > _MAX_SCANNED_SCRIPT:
            return found
        if len(_SCANNED) >= _MAX_SCANNED:
            _SCANNED.clear()
        _SCANNED[key] = found
    return found

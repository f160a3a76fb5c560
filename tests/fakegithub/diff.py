"""Unified diffs the way GitHub's `/pulls/{n}/files` shows them, and the hunk rules GitHub uses
to accept or refuse a review comment. Written independently of bot.diffmap on purpose: the fake
must catch the App's placement mistakes, not share them."""

from __future__ import annotations

from dataclasses import dataclass
import difflib
import re

_HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def is_binary(data: bytes) -> bool:
    return b"\x00" in data[:8000]


def make_patch(old: bytes | None, new: bytes | None, context: int = 3) -> str | None:
    """GitHub's `patch`: hunks only (no ---/+++), no trailing newline; None for binary."""
    if (old is not None and is_binary(old)) or (new is not None and is_binary(new)):
        return None
    old_lines = _lines(old)
    new_lines = _lines(new)
    if old_lines == new_lines:
        return None
    out: list[str] = []
    for line in difflib.unified_diff(old_lines, new_lines, lineterm="", n=context):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            out.append(line)
            continue
        text = line
        if text.endswith("\\NO_EOL"):
            out.append(text[: -len("\\NO_EOL")])
            out.append("\\ No newline at end of file")
        else:
            out.append(text)
    return "\n".join(out)


def _lines(data: bytes | None) -> list[str]:
    if data is None:
        return []
    text = data.decode("utf-8", errors="replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
        return lines
    # The last line has no newline: mark it so the patch says so, as git does.
    lines[-1] = lines[-1] + "\\NO_EOL"
    return lines


@dataclass(frozen=True, slots=True)
class Hunk:
    right: frozenset[int]
    left: frozenset[int]


def parse_hunks(patch: str | None) -> list[Hunk]:
    if not patch:
        return []
    hunks: list[Hunk] = []
    right: set[int] = set()
    left: set[int] = set()
    old_no = new_no = 0
    started = False
    for line in patch.split("\n"):
        match = _HUNK_RE.match(line)
        if match:
            if started:
                hunks.append(Hunk(frozenset(right), frozenset(left)))
            right, left = set(), set()
            old_no, new_no = int(match.group(1)), int(match.group(3))
            started = True
            continue
        if not started or line.startswith("\\"):
            continue
        tag = line[:1]
        if tag == "+":
            right.add(new_no)
            new_no += 1
        elif tag == "-":
            left.add(old_no)
            old_no += 1
        else:
            right.add(new_no)
            left.add(old_no)
            new_no += 1
            old_no += 1
    if started:
        hunks.append(Hunk(frozenset(right), frozenset(left)))
    return hunks


def comment_error(
    patch: str | None, line: int | None, side: str, start_line: int | None, start_side: str | None
) -> str | None:
    """The 422 message GitHub gives for this comment position, or None when it is accepted."""
    if line is None:
        return "pull_request_review_thread.line is required"
    if start_line is not None and start_line >= line:
        return "pull_request_review_thread.start_line must precede the end line."
    hunks = parse_hunks(patch)

    def hunk_index(number: int, which: str) -> int | None:
        for index, hunk in enumerate(hunks):
            lines = hunk.right if which == "RIGHT" else hunk.left
            if number in lines:
                return index
        return None

    end = hunk_index(line, side)
    if end is None:
        return "Pull request review thread line must be part of the diff"
    if start_line is not None:
        start = hunk_index(start_line, start_side or side)
        if start is None or start != end:
            return (
                "pull_request_review_thread.start_line must be part of the same hunk as the line."
            )
    return None

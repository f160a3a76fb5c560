"""Where a finding can be shown on a pull request's diff (reviewdog's diff filter).

GitHub accepts a review comment only on a line of a hunk, on the new (RIGHT) side, and a
multi-line comment only when its whole range lies in one hunk; one bad comment fails the whole
review with a 422. So every finding gets a placement decided here, from the hunks alone:
``inline`` when its anchor range lies inside one hunk, ``file`` when the file is in the diff but
the lines are not, ``summary`` otherwise. The App and ``preflight review`` both call ``place``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
import enum
import logging
import re

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from rules.model import Applicability, Edit, Finding

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FilePatch:
    """One entry of GET /pulls/{n}/files, or one file of `git diff`."""

    path: str
    status: str  # added|modified|removed|renamed|copied|changed|unchanged
    previous_path: str | None
    patch: str | None  # GitHub's `patch` text (starts at the first @@), None when missing


@dataclass(frozen=True, slots=True)
class _Hunk:
    """The new-side lines of one hunk: a hunk's RIGHT lines are always one contiguous run."""

    first: int
    last: int  # inclusive; last < first for a hunk that only deletes

    def __contains__(self, line: int) -> bool:
        return self.first <= line <= self.last


class DiffIndex:
    """The commentable new-side lines of every file of a diff."""

    def __init__(self) -> None:
        self.files: dict[str, FilePatch] = {}
        self.errors: list[tuple[str, str]] = []  # (path, reason) for patches that failed to parse
        self._hunks: dict[str, list[_Hunk]] = {}

    @classmethod
    def from_patches(cls, patches: Iterable[FilePatch]) -> DiffIndex:
        """Index GitHub `/pulls/{n}/files` entries, whose patches lack the ---/+++ headers."""
        index = cls()
        for file_patch in patches:
            index.files[file_patch.path] = file_patch
            if not file_patch.patch:
                # Binary, too large, or a pure rename: in the diff, but no line is commentable.
                index._hunks[file_patch.path] = []
                continue
            source = (
                "/dev/null"
                if file_patch.status == "added"
                else f"a/{file_patch.previous_path or file_patch.path}"
            )
            target = "/dev/null" if file_patch.status == "removed" else f"b/{file_patch.path}"
            text = file_patch.patch if file_patch.patch.endswith("\n") else file_patch.patch + "\n"
            index._add_parsed(file_patch.path, f"--- {source}\n+++ {target}\n{text}")
        return index

    @classmethod
    def from_unified_diff(cls, text: str) -> DiffIndex:
        """Index `git diff` output, one parse per file so a bad file loses only itself."""
        index = cls()
        for chunk in _split_git_diff(text):
            try:
                patched = PatchSet(chunk)
            except (UnidiffParseError, ValueError, IndexError) as exc:
                path = _path_of_chunk(chunk)
                index.errors.append((path, f"could not parse the diff: {exc}"))
                index.files.setdefault(path, FilePatch(path, "modified", None, None))
                index._hunks.setdefault(path, [])
                continue
            for patched_file in patched:
                path = _strip_prefix(patched_file.path)
                previous = _strip_prefix(patched_file.source_file)
                if patched_file.is_added_file:
                    status, previous_path = "added", None
                elif patched_file.is_removed_file:
                    status, previous_path = "removed", None
                elif patched_file.is_rename and previous != path:
                    status, previous_path = "renamed", previous
                else:
                    status, previous_path = "modified", None
                hunks_text = "".join(str(hunk) for hunk in patched_file) or None
                index.files[path] = FilePatch(path, status, previous_path, hunks_text)
                index._hunks[path] = [_hunk_of(hunk) for hunk in patched_file]
        return index

    def _add_parsed(self, path: str, text: str) -> None:
        try:
            patched = PatchSet(text)
            hunks = [_hunk_of(hunk) for patched_file in patched for hunk in patched_file]
        except (UnidiffParseError, ValueError, IndexError) as exc:
            log.warning("could not parse the patch of %s: %s", path, exc)
            self.errors.append((path, f"could not parse the diff: {exc}"))
            hunks = []
        self._hunks[path] = hunks

    def in_diff(self, path: str) -> bool:
        return path in self.files

    def hunk_of(self, path: str, line: int) -> int | None:
        """The index of the hunk whose RIGHT side holds line (1-based), or None."""
        for number, hunk in enumerate(self._hunks.get(path, ())):
            if line in hunk:
                return number
        return None

    def commentable(self, path: str, start_line: int, end_line: int) -> bool:
        """Whether start_line..end_line all lie on the RIGHT side of ONE hunk."""
        if end_line < start_line:
            return False
        hunk = self.hunk_of(path, start_line)
        return hunk is not None and end_line in self._hunks[path][hunk]


def _hunk_of(hunk) -> _Hunk:
    # target_length counts added and context lines, exactly the RIGHT-side commentable lines.
    return _Hunk(hunk.target_start, hunk.target_start + hunk.target_length - 1)


_DIFF_GIT = re.compile(r"^diff --git ", re.MULTILINE)


def _split_git_diff(text: str) -> list[str]:
    starts = [match.start() for match in _DIFF_GIT.finditer(text)]
    if not starts:
        return [text] if text.strip() else []
    ends = [*starts[1:], len(text)]
    chunks = [text[start:end] for start, end in zip(starts, ends, strict=True)]
    return [chunk if chunk.endswith("\n") else chunk + "\n" for chunk in chunks]


def _path_of_chunk(chunk: str) -> str:
    for line in chunk.splitlines():
        if line.startswith("+++ ") and not line.startswith("+++ /dev/null"):
            return _strip_prefix(line[4:].strip())
    header = chunk.splitlines()[0] if chunk else ""
    if " b/" in header:
        return header.rsplit(" b/", 1)[1].strip()
    return header.removeprefix("diff --git ").strip()


def _strip_prefix(path: str) -> str:
    path = _unquote(path)
    if path.startswith(("a/", "b/")):
        return path[2:]
    return path


_C_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def _unquote(path: str) -> str:
    """Undo git's C-style quoting of unusual paths ("a/tab\\tname", octal UTF-8 bytes)."""
    if len(path) < 2 or not (path.startswith('"') and path.endswith('"')):
        return path
    body, out, index = path[1:-1], bytearray(), 0
    while index < len(body):
        char = body[index]
        if char != "\\" or index + 1 == len(body):
            out += char.encode("utf-8")
            index += 1
            continue
        octal = body[index + 1 : index + 4]
        if len(octal) == 3 and all(digit in "01234567" for digit in octal):
            out.append(int(octal, 8) & 0xFF)
            index += 4
        elif body[index + 1] in _C_ESCAPES:
            out.append(_C_ESCAPES[body[index + 1]])
            index += 2
        else:
            out += body[index + 1].encode("utf-8")
            index += 2
    return out.decode("utf-8", "surrogateescape")


class Placement(enum.Enum):
    INLINE = "inline"
    FILE = "file"
    SUMMARY = "summary"


@dataclass(frozen=True, slots=True)
class PlacedFinding:
    finding: Finding
    placement: Placement
    line: int | None  # comment line (RIGHT side) for INLINE
    start_line: int | None  # None for single-line comments (GitHub 422s on start_line == line)
    suggestion: Edit | None  # the edit rendered as ```suggestion (range == comment range)


def suggestion_edit(finding: Finding) -> Edit | None:
    """The edit a GitHub suggestion can carry: one edit, in the finding's own file, of a fix
    that may be applied (a suggestion cannot move a file)."""
    fix = finding.fix
    if fix is None or fix.applicability is Applicability.DISPLAY_ONLY or fix.moves:
        return None
    if len(fix.edits) != 1 or fix.edits[0].path != finding.path:
        return None
    return fix.edits[0]


def place(
    findings: Sequence[Finding], diff: DiffIndex, *, max_inline: int = 30, max_file: int = 10
) -> list[PlacedFinding]:
    """Decide where each finding goes, in the given order (see the module docstring).

    A finding with a suggestion-capable fix is anchored on the edit's range so the suggestion
    replaces exactly those lines; if that range is not commentable, or another suggestion
    already covers one of its lines (GitHub applies one suggestion per line in a batch), the
    finding falls back to its own range without a suggestion.

    File-level comments cannot ride in the review (each is a request of its own, and GitHub's
    content-creation limit is about 80 a minute), so past max_file they go to the summary too.
    """
    placed: list[PlacedFinding] = []
    suggested: dict[str, list[Edit]] = {}
    inline_count = 0
    file_count = 0
    for finding in findings:
        path = finding.path
        if inline_count >= max_inline:
            placed.append(_off_diff(finding, Placement.SUMMARY))
            continue
        edit = suggestion_edit(finding)
        if (
            edit is not None
            and diff.commentable(path, edit.start_line, edit.end_line)
            and not any(edit.overlaps(other) for other in suggested.get(path, ()))
        ):
            suggested.setdefault(path, []).append(edit)
            placed.append(_inline(finding, edit.start_line, edit.end_line, edit))
            inline_count += 1
            continue
        location = finding.location
        if diff.commentable(path, location.line, location.end_line):
            placed.append(_inline(finding, location.line, location.end_line, None))
            inline_count += 1
        elif diff.commentable(path, location.line, location.line):
            placed.append(_inline(finding, location.line, location.line, None))
            inline_count += 1
        elif diff.in_diff(path) and file_count < max_file:
            placed.append(_off_diff(finding, Placement.FILE))
            file_count += 1
        else:
            placed.append(_off_diff(finding, Placement.SUMMARY))
    return placed


def _inline(finding: Finding, start: int, end: int, edit: Edit | None) -> PlacedFinding:
    return PlacedFinding(finding, Placement.INLINE, end, start if start < end else None, edit)


def _off_diff(finding: Finding, placement: Placement) -> PlacedFinding:
    return PlacedFinding(finding, placement, None, None, None)

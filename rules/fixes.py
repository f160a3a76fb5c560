"""Making fixes fit together, and applying them.

A review can carry one suggestion per line range, and GitHub applies only one suggestion per
line in a batch. So before findings leave the engine, each fix is reduced to one edit per file
(the span of its edits), and fixes whose spans overlap are merged into one edit carried by the
first finding; the other findings point to it. Two changes to the very same lines that cannot
both hold are not merged: the later fix is kept for display only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
import difflib

from rules.model import Applicability, Edit, Finding, Fix, Move

LinesOf = Callable[[str], Sequence[str] | None]


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def span_edit(edits: Sequence[Edit], lines: Sequence[str]) -> Edit:
    """One edit covering several edits of one file (the original lines in between kept)."""
    ordered = sorted(edits, key=lambda e: e.start_line)
    if len(ordered) == 1:
        return ordered[0]
    start, end = ordered[0].start_line, max(e.end_line for e in ordered)
    out: list[str] = []
    cursor = start
    for edit in ordered:
        out.extend(lines[cursor - 1 : edit.start_line - 1])
        out.append(edit.new_text)
        cursor = edit.end_line + 1
    out.extend(lines[cursor - 1 : end])
    return Edit(ordered[0].path, start, end, "".join(out))


def single_edit_per_file(fix: Fix, lines_of: LinesOf) -> Fix:
    by_path: dict[str, list[Edit]] = {}
    for edit in fix.edits:
        by_path.setdefault(edit.path, []).append(edit)
    if all(len(group) == 1 for group in by_path.values()):
        return fix
    edits = []
    for path, group in by_path.items():
        lines = lines_of(path)
        if lines is None:
            return fix
        edits.append(span_edit(group, lines))
    return replace(fix, edits=tuple(edits))


@dataclass(frozen=True, slots=True)
class _Change:
    start: int  # 0-based index into the base lines
    end: int  # exclusive
    new: tuple[str, ...]


def _changes(base: list[str], version: list[str]) -> list[_Change]:
    matcher = difflib.SequenceMatcher(a=base, b=version, autojunk=False)
    return [
        _Change(i1, i2, tuple(version[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def merge_edits(first: Edit, second: Edit, lines: Sequence[str]) -> Edit | None:
    """Merge two overlapping edits of one file into one, or None when they conflict."""
    start = min(first.start_line, second.start_line)
    end = max(first.end_line, second.end_line)
    base = list(lines[start - 1 : end])

    def version(edit: Edit) -> list[str]:
        before = list(lines[start - 1 : edit.start_line - 1])
        after = list(lines[edit.end_line : end])
        return before + _lines(edit.new_text) + after

    merged: list[_Change] = []
    for change in sorted(
        _changes(base, version(first)) + _changes(base, version(second)),
        key=lambda c: (c.start, c.end),
    ):
        if merged:
            last = merged[-1]
            if change == last:
                continue
            both_inserts = last.start == last.end == change.start == change.end
            if both_inserts:
                merged[-1] = _Change(last.start, last.end, last.new + change.new)
                continue
            if change.start < last.end:
                return None
        merged.append(change)
    out: list[str] = []
    cursor = 0
    for change in merged:
        out.extend(base[cursor : change.start])
        out.extend(change.new)
        cursor = change.end
    out.extend(base[cursor:])
    return Edit(first.path, start, end, "".join(out))


def _weaker(a: Applicability, b: Applicability) -> Applicability:
    order = [Applicability.SAFE, Applicability.UNSAFE, Applicability.DISPLAY_ONLY]
    return max(a, b, key=order.index)


def combine_fixes(findings: Sequence[Finding], lines_of: LinesOf) -> list[Finding]:
    """Give every finding a fix that does not overlap any other finding's fix.

    Findings are processed in order; a later fix that overlaps an earlier one is merged into
    the earlier finding's fix, and the later finding records where its fix went.
    """
    out: list[Finding] = []
    for finding in findings:
        fix = finding.fix
        if fix is None or fix.applicability is Applicability.DISPLAY_ONLY or not fix.edits:
            out.append(finding)
            continue
        fix = single_edit_per_file(fix, lines_of)
        finding = replace(finding, fix=fix)
        carrier_index = None
        for index, earlier in enumerate(out):
            other = earlier.fix
            if other is None or other.applicability is Applicability.DISPLAY_ONLY:
                continue
            if any(a.overlaps(b) for a in fix.edits for b in other.edits):
                carrier_index = index
                break
        if carrier_index is None:
            out.append(finding)
            continue
        carrier = out[carrier_index]
        merged = _merge_fixes(carrier.fix, fix, lines_of)
        if merged is None:
            demoted = replace(fix, applicability=Applicability.DISPLAY_ONLY)
            out.append(replace(finding, fix=demoted))
            continue
        out[carrier_index] = replace(carrier, fix=merged)
        out.append(replace(finding, fix=None, fix_carried_by=carrier.location))
    return out


def _merge_fixes(first: Fix, second: Fix, lines_of: LinesOf) -> Fix | None:
    edits = list(first.edits)
    for edit in second.edits:
        for index, existing in enumerate(edits):
            if existing.overlaps(edit):
                lines = lines_of(edit.path)
                if lines is None:
                    return None
                merged = merge_edits(existing, edit, lines)
                if merged is None:
                    return None
                edits[index] = merged
                break
        else:
            edits.append(edit)
    moves = tuple(dict.fromkeys(first.moves + second.moves))
    try:
        return Fix(
            title=f"{first.title}; {second.title[:1].lower()}{second.title[1:]}",
            applicability=_weaker(first.applicability, second.applicability),
            edits=tuple(edits),
            moves=moves,
        )
    except ValueError:
        return None


# --- applying ---------------------------------------------------------------------------------


@dataclass(slots=True)
class AppliedFixes:
    texts: dict[str, str]  # new text of every edited file, by its path before moves
    moves: list[Move]
    applied: list[Finding]
    skipped: list[Finding]


def apply_fixes(
    texts: Mapping[str, str], findings: Iterable[Finding], *, unsafe: bool = False
) -> AppliedFixes:
    """Apply the applicable fixes of findings to file texts (edits first, then moves).

    An edit that overlaps one already taken is skipped (its finding is reported as skipped);
    a move whose target is already taken is skipped too.
    """
    taken: dict[str, list[Edit]] = {}
    moves: list[Move] = []
    applied: list[Finding] = []
    skipped: list[Finding] = []
    for finding in findings:
        fix = finding.fix
        if fix is None or (not fix.is_applicable(unsafe) and not _move_only(fix)):
            continue
        if any(e.overlaps(t) for e in fix.edits for t in taken.get(e.path, [])) or any(
            e.path not in texts for e in fix.edits
        ):
            skipped.append(finding)
            continue
        for edit in fix.edits:
            taken.setdefault(edit.path, []).append(edit)
        for move in fix.moves:
            if move not in moves:
                moves.append(move)
        applied.append(finding)
    new_texts: dict[str, str] = {}
    for path, edits in taken.items():
        lines = _lines(texts[path])
        if lines and not lines[-1].endswith("\n"):
            # An edit may add lines after the last one; end it as the file ends its others.
            lines[-1] += "\r\n" if lines[0].endswith("\r\n") else "\n"
        for edit in sorted(edits, key=lambda e: e.start_line, reverse=True):
            lines[edit.start_line - 1 : edit.end_line] = _lines(edit.new_text)
        new_texts[path] = "".join(lines)
    return AppliedFixes(new_texts, moves, applied, skipped)


def _move_only(fix: Fix) -> bool:
    """A move is display-only in a review (a suggestion cannot rename a file) but `--fix`
    performs it: a fix made only of moves is applied."""
    return bool(fix.moves) and not fix.edits

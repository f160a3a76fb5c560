"""bot.diffmap: which lines of a diff take a comment, and where each finding goes.

The golden cases in tests/diffmap/ pair a `git diff` (<case>.diff) with the files, parse errors,
commentable ranges and hunk numbers it must give (<case>.json), as reviewdog does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.diffmap import DiffIndex, FilePatch, Placement, place
from rules.model import Applicability, Edit, Finding, Fix, Location, Move, Severity

CASES = Path(__file__).parent / "diffmap"


@pytest.mark.parametrize("case", sorted(p.stem for p in CASES.glob("*.diff")))
def test_golden_unified_diff(case: str) -> None:
    index = DiffIndex.from_unified_diff((CASES / f"{case}.diff").read_text())
    expected = json.loads((CASES / f"{case}.json").read_text())
    got_files = {
        path: {"status": patch.status, "previous_path": patch.previous_path}
        for path, patch in index.files.items()
    }
    assert got_files == expected["files"]
    assert sorted(path for path, _ in index.errors) == sorted(expected["errors"])
    for path, start, end, commentable in expected["commentable"]:
        assert index.commentable(path, start, end) is commentable, (path, start, end)
    for path, line, hunk in expected["hunk_of"]:
        assert index.hunk_of(path, line) == hunk, (path, line)


GITHUB_PATCH = (
    "@@ -1,3 +1,4 @@\n name: ci\n+on: push\n jobs:\n   a: {}\n@@ -10,2 +11,2 @@\n x\n-y\n+z"
)


def test_github_patch_without_headers_or_final_newline() -> None:
    index = DiffIndex.from_patches([FilePatch("ci.yml", "modified", None, GITHUB_PATCH)])
    assert index.errors == []
    assert index.commentable("ci.yml", 1, 4)
    assert index.commentable("ci.yml", 11, 12)
    assert not index.commentable("ci.yml", 4, 11)  # crosses hunks
    assert not index.commentable("ci.yml", 5, 5)
    assert index.hunk_of("ci.yml", 12) == 1


def test_added_and_removed_files_get_dev_null_headers() -> None:
    added = FilePatch(".github/a.yml", "added", None, "@@ -0,0 +1,2 @@\n+on: push\n+jobs: {}")
    removed = FilePatch("gone.yml", "removed", None, "@@ -1,2 +0,0 @@\n-a\n-b\n")
    index = DiffIndex.from_patches([added, removed])
    assert index.errors == []
    assert index.commentable(".github/a.yml", 1, 2)
    assert index.in_diff("gone.yml")
    assert index.hunk_of("gone.yml", 1) is None


def test_renamed_file_uses_previous_path_and_rename_without_patch_is_in_diff() -> None:
    renamed = FilePatch("new.yml", "renamed", "old.yml", "@@ -1,2 +1,2 @@\n a\n-b\n+c\n")
    pure_rename = FilePatch("b.yml", "renamed", "a.yml", None)
    index = DiffIndex.from_patches([renamed, pure_rename])
    assert index.commentable("new.yml", 1, 2)
    assert index.in_diff("b.yml")
    assert not index.commentable("b.yml", 1, 1)
    assert not index.in_diff("a.yml")


def test_truncated_hunk_is_an_error_for_that_file_only() -> None:
    broken = FilePatch("bad.yml", "modified", None, "@@ -1,9 +1,9 @@\n a\n-b\n+c\n")
    good = FilePatch("good.yml", "modified", None, "@@ -1 +1 @@\n-a\n+b\n")
    index = DiffIndex.from_patches([broken, good])
    assert [path for path, _ in index.errors] == ["bad.yml"]
    assert "diff" in index.errors[0][1]
    assert index.in_diff("bad.yml")
    assert not index.commentable("bad.yml", 1, 1)
    assert index.commentable("good.yml", 1, 1)


def test_empty_diff() -> None:
    index = DiffIndex.from_unified_diff("")
    assert index.files == {} and index.errors == []


# --- place -------------------------------------------------------------------------------------


def finding(
    path: str,
    line: int,
    end_line: int | None = None,
    fix: Fix | None = None,
    rule: str = "unmatched-paths-filter",
) -> Finding:
    end = end_line or line
    return Finding(
        rule=rule,
        severity=Severity.ERROR,
        location=Location(path, line, 3, end, 9),
        message=f"something at {line}",
        fix=fix,
        route=("on", line),
    )


def edit_fix(path: str, start: int, end: int, applicability=Applicability.SAFE) -> Fix:
    return Fix("do it", applicability, edits=(Edit(path, start, end, "new: text\n"),))


@pytest.fixture
def diff() -> DiffIndex:
    # ci.yml: new-side hunks at lines 1-4 and 11-12; other.yml is in the diff with no hunks.
    return DiffIndex.from_patches(
        [
            FilePatch("ci.yml", "modified", None, GITHUB_PATCH),
            FilePatch("other.yml", "renamed", "was.yml", None),
        ]
    )


def test_inline_single_line_has_no_start_line(diff: DiffIndex) -> None:
    [placed] = place([finding("ci.yml", 2)], diff)
    assert placed.placement is Placement.INLINE
    assert (placed.line, placed.start_line, placed.suggestion) == (2, None, None)


def test_inline_range_inside_one_hunk(diff: DiffIndex) -> None:
    [placed] = place([finding("ci.yml", 2, 4)], diff)
    assert (placed.placement, placed.start_line, placed.line) == (Placement.INLINE, 2, 4)


def test_range_crossing_hunks_shrinks_to_first_line(diff: DiffIndex) -> None:
    [placed] = place([finding("ci.yml", 3, 11)], diff)
    assert (placed.placement, placed.start_line, placed.line) == (Placement.INLINE, None, 3)


def test_line_outside_hunks_is_a_file_comment(diff: DiffIndex) -> None:
    [placed] = place([finding("ci.yml", 7)], diff)
    assert placed.placement is Placement.FILE and placed.line is None
    [renamed] = place([finding("other.yml", 1)], diff)  # a rename without a patch
    assert renamed.placement is Placement.FILE


def test_file_not_in_diff_goes_to_summary(diff: DiffIndex) -> None:
    [placed] = place([finding(".github/workflows/untouched.yml", 2)], diff)
    assert placed.placement is Placement.SUMMARY


def test_suggestion_anchors_on_the_edit_range(diff: DiffIndex) -> None:
    fix = edit_fix("ci.yml", 3, 4)
    [placed] = place([finding("ci.yml", 2, fix=fix)], diff)
    assert placed.placement is Placement.INLINE
    assert (placed.start_line, placed.line) == (3, 4)
    assert placed.suggestion == fix.edits[0]


def test_unsafe_fix_is_still_a_suggestion(diff: DiffIndex) -> None:
    fix = edit_fix("ci.yml", 2, 2, Applicability.UNSAFE)
    [placed] = place([finding("ci.yml", 2, fix=fix)], diff)
    assert placed.suggestion == fix.edits[0] and placed.start_line is None


@pytest.mark.parametrize(
    "fix",
    [
        edit_fix("ci.yml", 2, 2, Applicability.DISPLAY_ONLY),
        Fix("move", Applicability.SAFE, (Edit("ci.yml", 2, 2, "x\n"),), (Move("ci.yml", "b.yml"),)),
        Fix("elsewhere", Applicability.SAFE, (Edit("other.yml", 1, 1, "x\n"),)),
        Fix(
            "two files",
            Applicability.SAFE,
            (Edit("ci.yml", 2, 2, "x\n"), Edit("other.yml", 1, 1, "x\n")),
        ),
    ],
    ids=["display-only", "with-move", "other-file", "two-files"],
)
def test_fixes_a_suggestion_cannot_carry(diff: DiffIndex, fix: Fix) -> None:
    [placed] = place([finding("ci.yml", 2, fix=fix)], diff)
    assert placed.placement is Placement.INLINE
    assert placed.suggestion is None and placed.line == 2


def test_edit_outside_the_diff_falls_back_to_the_finding_range(diff: DiffIndex) -> None:
    [placed] = place([finding("ci.yml", 2, fix=edit_fix("ci.yml", 6, 7))], diff)
    assert (placed.placement, placed.line, placed.suggestion) == (Placement.INLINE, 2, None)


def test_never_two_suggestions_on_one_line(diff: DiffIndex) -> None:
    first = finding("ci.yml", 2, fix=edit_fix("ci.yml", 2, 3))
    second = finding("ci.yml", 3, fix=edit_fix("ci.yml", 3, 3), rule="misplaced-workflow")
    placed = place([first, second], diff)
    assert placed[0].suggestion is not None
    assert placed[1].placement is Placement.INLINE and placed[1].suggestion is None
    lines = [
        set(range(p.suggestion.start_line, p.suggestion.end_line + 1))
        for p in placed
        if p.suggestion
    ]
    assert len(lines) == 1


def test_beyond_max_inline_the_rest_go_to_summary(diff: DiffIndex) -> None:
    findings = [finding("ci.yml", line) for line in (1, 2, 3, 4)]
    placed = place(findings, diff, max_inline=3)
    assert [p.placement for p in placed] == [Placement.INLINE] * 3 + [Placement.SUMMARY]


def test_beyond_max_file_the_rest_go_to_summary(diff: DiffIndex) -> None:
    # Lines 30..33 are in ci.yml, which is in the diff, but outside its hunks.
    findings = [finding("ci.yml", line) for line in (30, 31, 32, 33)]
    placed = place(findings, diff, max_file=2)
    assert [p.placement for p in placed] == [Placement.FILE] * 2 + [Placement.SUMMARY] * 2

"""bot.review: comment bodies, the sticky summary and the check conclusion."""

from __future__ import annotations

import re

from bot.diffmap import DiffIndex, FilePatch, PlacedFinding, Placement, place
from bot.review import (
    FINGERPRINT_RE,
    SUMMARY_MARKER,
    DraftComment,
    compose,
    fence_for,
    render_markdown,
)
from rules.config import Config
from rules.model import Applicability, Edit, FileError, Finding, Fix, Location, Move, Severity

PATCH = "@@ -0,0 +1,6 @@\n+name: ci\n+on: push\n+jobs:\n+  a:\n+    runs-on: x\n+    steps: []\n"


def make(
    line: int,
    *,
    severity: Severity = Severity.ERROR,
    fix: Fix | None = None,
    path: str = ".github/ci.yml",
    rule: str = "misplaced-workflow",
    subject: str = "",
    carried: Location | None = None,
) -> Finding:
    return Finding(
        rule=rule,
        severity=severity,
        location=Location(path, line, 1, line, 5),
        message=f'value "x{line}" is wrong',
        fix=fix,
        docs_url=f"https://example.invalid/rules.md#{rule}",
        route=("jobs", "a", line),
        subject=subject,
        fix_carried_by=carried,
    )


def diff() -> DiffIndex:
    return DiffIndex.from_patches([FilePatch(".github/ci.yml", "added", None, PATCH)])


def test_fence_is_longer_than_any_backtick_run() -> None:
    assert fence_for("plain") == "```"
    assert fence_for("a ``` b") == "````"
    assert fence_for("`````") == "``````"


def test_inline_suggestion_comment() -> None:
    fix = Fix("rename the key", Applicability.SAFE, (Edit(".github/ci.yml", 2, 3, "on: [push]\n"),))
    draft = compose(place([make(2, fix=fix)], diff()))
    [comment] = draft.comments
    assert (comment.line, comment.start_line, comment.subject_type) == (3, 2, "line")
    assert comment.body.startswith("**error** · misplaced-workflow")
    assert 'value "x2" is wrong' in comment.body
    assert "```suggestion\non: [push]\n```" in comment.body
    assert "rename the key" in comment.body
    assert "https://example.invalid/rules.md#misplaced-workflow" in comment.body
    assert comment.body.endswith(f"<!-- preflight:fp={make(2).fingerprint()} -->")
    assert FINGERPRINT_RE.search(comment.body).group(1) == comment.fingerprint
    assert comment.as_review_comment() == {
        "path": ".github/ci.yml",
        "body": comment.body,
        "line": 3,
        "side": "RIGHT",
        "start_line": 2,
        "start_side": "RIGHT",
    }


def test_single_line_comment_never_sends_start_line() -> None:
    draft = compose(place([make(4)], diff()))
    review_comment = draft.comments[0].as_review_comment()
    assert review_comment["line"] == 4 and "start_line" not in review_comment


def test_deletion_suggestion_is_an_empty_block_and_backticks_lengthen_the_fence() -> None:
    delete = Fix("drop it", Applicability.SAFE, (Edit(".github/ci.yml", 2, 2, ""),))
    ticks = Fix("quote", Applicability.SAFE, (Edit(".github/ci.yml", 4, 4, "  a: '```'\n"),))
    draft = compose(place([make(2, fix=delete), make(4, fix=ticks)], diff()))
    assert "```suggestion\n```" in draft.comments[0].body
    assert "````suggestion\n  a: '```'\n````" in draft.comments[1].body


def test_display_only_move_shows_git_mv_and_no_suggestion() -> None:
    fix = Fix(
        "move the workflow into .github/workflows/",
        Applicability.DISPLAY_ONLY,
        moves=(Move(".github/ci.yml", ".github/workflows/ci.yml"),),
    )
    draft = compose(place([make(1, fix=fix)], diff()))
    body = draft.comments[0].body
    assert "suggestion" not in body
    assert "git mv .github/ci.yml .github/workflows/ci.yml" in body
    assert "move the workflow into .github/workflows/" in body


def test_display_only_edit_is_a_diff_block() -> None:
    fix = Fix(
        "maybe", Applicability.DISPLAY_ONLY, (Edit(".github/ci.yml", 5, 5, "    runs-on: y\n"),)
    )
    body = compose(place([make(5, fix=fix)], diff())).comments[0].body
    assert "```diff\n+    runs-on: y\n```" in body and "line 5" in body


def test_unsafe_suggestion_says_so() -> None:
    fix = Fix(
        "add a step", Applicability.UNSAFE, (Edit(".github/ci.yml", 6, 6, "    steps: [1]\n"),)
    )
    body = compose(place([make(6, fix=fix)], diff())).comments[0].body
    assert "unsafe" in body and "```suggestion" in body


def test_carried_fix_points_at_the_suggestion() -> None:
    carrier = make(
        2, fix=Fix("both", Applicability.SAFE, (Edit(".github/ci.yml", 2, 3, "x: 1\n"),))
    )
    other = make(3, rule="unmatched-paths-filter", carried=carrier.location)
    draft = compose(place([carrier, other], diff()))
    assert "the suggestion on lines 2-3 also fixes this" in draft.comments[1].body.lower()


def test_file_and_summary_findings_are_listed_in_the_summary() -> None:
    index = DiffIndex.from_patches(
        [
            FilePatch(".github/ci.yml", "added", None, PATCH),
            FilePatch("b.yml", "renamed", "a.yml", None),
        ]
    )
    findings = [
        make(2),
        make(9, path="b.yml", severity=Severity.WARNING),
        make(3, path=".github/workflows/untouched.yml", severity=Severity.NOTE),
    ]
    placed = place(findings, index)
    assert [p.placement for p in placed] == [Placement.INLINE, Placement.FILE, Placement.SUMMARY]
    draft = compose(placed, head_sha="0123456789abcdef0123")
    assert [c.path for c in draft.comments] == [".github/ci.yml"]
    [file_comment] = draft.file_comments
    assert file_comment.subject_type == "file" and file_comment.line is None
    assert file_comment.as_review_comment() == {
        "path": "b.yml",
        "body": file_comment.body,
        "subject_type": "file",
    }
    summary = draft.summary_body
    assert summary.startswith(SUMMARY_MARKER)
    assert "1 error, 1 warning, 1 note" in summary
    assert "0123456789ab" in summary
    assert "`b.yml` line 9" in summary and "untouched.yml` line 3" in summary
    assert ".github/ci.yml` line 2" not in summary  # inline ones stay on the diff
    assert "/preflight" in summary and "/preflight help" in summary
    assert draft.counts == {"error": 1, "warning": 1, "note": 1}


def test_errors_and_notes_are_in_the_summary() -> None:
    draft = compose(
        [],
        errors=[FileError(".github/x.yml", "could not parse: bad indent\nat line 3")],
        notes=["config changes in this PR are not applied"],
    )
    assert "`.github/x.yml`: could not parse: bad indent at line 3" in draft.summary_body
    assert "config changes in this PR are not applied" in draft.summary_body


def test_conclusion_follows_the_fail_level() -> None:
    def conclusion(severities, config=None):
        placed = [
            PlacedFinding(make(i + 1, severity=s), Placement.SUMMARY, None, None, None)
            for i, s in enumerate(severities)
        ]
        return compose(placed, config=config or Config()).conclusion

    assert conclusion([]) == "success"
    assert conclusion([Severity.ERROR]) == "failure"
    assert conclusion([Severity.WARNING]) == "success"
    assert conclusion([Severity.NOTE, Severity.NOTE]) == "neutral"
    assert conclusion([Severity.WARNING], Config(fail_level="warning")) == "failure"
    assert conclusion([Severity.ERROR], Config(fail_level="never")) == "success"


def test_all_clear_summary() -> None:
    draft = compose([])
    assert draft.summary_body.startswith(SUMMARY_MARKER)
    assert "all clear" in draft.summary_body.lower()
    assert draft.comments == [] and draft.file_comments == []


def test_render_markdown_shows_summary_then_every_comment_with_its_place() -> None:
    fix = Fix("fix it", Applicability.SAFE, (Edit(".github/ci.yml", 2, 3, "on: [push]\n"),))
    index = DiffIndex.from_patches(
        [
            FilePatch(".github/ci.yml", "added", None, PATCH),
            FilePatch("b.yml", "modified", None, None),
        ]
    )
    draft = compose(place([make(2, fix=fix), make(5), make(1, path="b.yml")], index))
    text = render_markdown(draft)
    assert text.startswith(draft.summary_body.rstrip("\n"))
    headings = re.findall(r"^#### (.*)$", text, re.MULTILINE)
    assert headings == [
        "`.github/ci.yml` lines 2-3",
        "`.github/ci.yml` line 5",
        "`b.yml` (file comment)",
    ]
    for comment in [*draft.comments, *draft.file_comments]:
        assert comment.body.rstrip("\n") in text


def test_draft_comment_is_frozen() -> None:
    comment = DraftComment("a", "b", "0" * 16, 1, None, "line")
    try:
        comment.line = 2  # type: ignore[misc]
    except AttributeError:
        return
    raise AssertionError("DraftComment must be frozen")


def test_a_file_error_fails_the_check_run_by_its_severity() -> None:
    broken = FileError(".github/workflows/x.yml", "invalid YAML (line 3, column 1)")
    skipped = FileError(".github/workflows/y.yml", "a symbolic link", severity=Severity.NOTE)
    assert compose([], errors=[broken]).conclusion == "failure"
    assert compose([], errors=[skipped]).conclusion == "success"
    assert compose([], errors=[broken], config=Config(fail_level="never")).conclusion == "success"

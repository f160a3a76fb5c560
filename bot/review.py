"""The review Preflight posts: comment bodies, the sticky summary, the check conclusion.

Pure text from placed findings, shared by the App and ``preflight review --format markdown`` so
both always show the same review. Every comment ends with a hidden fingerprint marker that
does not depend on line numbers, so a re-run can recognise what it already said.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import re

from bot.diffmap import PlacedFinding, Placement
from rules.config import DEFAULT_CONFIG, Config
from rules.model import Applicability, Edit, FileError, Finding, Fix, Location, Severity

SUMMARY_MARKER = "<!-- preflight:summary -->"
FINGERPRINT_RE = re.compile(r"<!-- preflight:fp=([0-9a-f]{16}) -->")

# GitHub rejects comment bodies longer than 65 536 characters; keep a margin for the marker.
MAX_BODY = 65_000
COMMANDS = "Comment `/preflight` to re-check this pull request, `/preflight help` for the commands."

_SEVERITY_ORDER = (Severity.ERROR, Severity.WARNING, Severity.NOTE)


@dataclass(frozen=True, slots=True)
class DraftComment:
    path: str
    body: str  # ends with the hidden fingerprint marker
    fingerprint: str  # Finding.fingerprint()
    line: int | None  # None for a file-level comment
    start_line: int | None
    subject_type: str  # "line" or "file"

    def as_review_comment(self) -> dict:
        """The entry for a review's comments[] (or, for a file-level comment, the fields of a
        single POST /pulls/{n}/comments, which is the only way to post one)."""
        if self.subject_type == "file" or self.line is None:
            return {"path": self.path, "body": self.body, "subject_type": "file"}
        comment: dict = {"path": self.path, "body": self.body, "line": self.line, "side": "RIGHT"}
        if self.start_line is not None and self.start_line < self.line:
            comment["start_line"] = self.start_line
            comment["start_side"] = "RIGHT"
        return comment


@dataclass(frozen=True, slots=True)
class ReviewDraft:
    review_body: str  # the body of the one COMMENT review (short)
    comments: list[DraftComment]  # inline, go in the review's comments[]
    file_comments: list[DraftComment]  # subject_type=file, posted one by one
    summary_body: str  # the sticky PR conversation comment, starts with SUMMARY_MARKER
    counts: dict[str, int]  # by severity value
    conclusion: str  # check-run conclusion: failure | success | neutral


def fingerprint_marker(fingerprint: str) -> str:
    return f"<!-- preflight:fp={fingerprint} -->"


def fence_for(text: str, minimum: int = 3) -> str:
    """A backtick fence longer than any backtick run inside text."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(minimum, longest + 1)


def severity_badge(finding: Finding) -> str:
    return f"**{finding.severity.value}** · {finding.rule}"


def _rule_title(rule_id: str) -> str:
    from rules import registry  # the rule list is only needed when a comment is written

    module = registry.BY_ID.get(rule_id)
    return module.RULE.title if module is not None else ""


def _lines_label(start: int, end: int) -> str:
    return f"line {start}" if start == end else f"lines {start}-{end}"


def _code_block(text: str, language: str) -> str:
    fence = fence_for(text)
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"{fence}{language}\n{body}{fence}"


def _edit_as_diff(edit: Edit) -> str:
    """A display-only edit: which lines it replaces, and the new lines as a diff."""
    if not edit.new_text:
        return f"Delete {_lines_label(edit.start_line, edit.end_line)} of `{edit.path}`."
    added = "".join(f"+{line}" for line in edit.new_text.splitlines(keepends=True))
    label = _lines_label(edit.start_line, edit.end_line)
    return f"Replace {label} of `{edit.path}` with:\n\n{_code_block(added, 'diff')}"


def _moves_block(fix: Fix) -> str:
    """The `git mv` lines to copy, unless the fix title already spells them all out."""
    commands = [f"git mv {_shell_quote(m.source)} {_shell_quote(m.target)}" for m in fix.moves]
    if all(command in fix.title for command in commands):
        return ""
    return _code_block("".join(f"{command}\n" for command in commands), "sh")


def _shell_quote(path: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./@%+=:,-]+", path):
        return path
    return "'" + path.replace("'", "'\"'\"'") + "'"


def _applicability_note(fix: Fix) -> str:
    if fix.applicability is Applicability.UNSAFE:
        return " (unsafe: it may change what the workflow does, check before applying)"
    return ""


def _fix_section(placed: PlacedFinding, carriers: dict[Location, PlacedFinding]) -> str:
    finding = placed.finding
    fix = finding.fix
    if fix is None:
        if finding.fix_carried_by is None:
            return ""
        carrier = carriers.get(finding.fix_carried_by)
        if carrier is not None and carrier.suggestion is not None and carrier.line is not None:
            start = carrier.start_line or carrier.line
            where = _lines_label(start, carrier.line)
            return f"The suggestion on {where} also fixes this."
        loc = finding.fix_carried_by
        return f"The fix of the finding at `{loc.path}` line {loc.line} also fixes this."
    if placed.suggestion is not None:
        return (
            f"**Suggested fix:** {fix.title}{_applicability_note(fix)}\n\n"
            f"{_code_block(placed.suggestion.new_text, 'suggestion')}"
        )
    parts = [f"**Fix:** {fix.title}{_applicability_note(fix)}"]
    if fix.moves and (block := _moves_block(fix)):
        parts.append(block)
    parts.extend(_edit_as_diff(edit) for edit in fix.edits)
    return "\n\n".join(parts)


def comment_body(placed: PlacedFinding, carriers: dict[Location, PlacedFinding]) -> str:
    finding = placed.finding
    title = _rule_title(finding.rule)
    heading = severity_badge(finding) + (f": {title}" if title else "")
    parts = [heading, finding.message]
    fix_text = _fix_section(placed, carriers)
    if fix_text:
        parts.append(fix_text)
    if finding.docs_url:
        parts.append(
            f"<sub>[About {finding.rule}]({finding.docs_url}) · silence it with "
            f"`# preflight: ignore[{finding.rule}] reason`</sub>"
        )
    body = "\n\n".join(parts)
    marker = fingerprint_marker(finding.fingerprint())
    if len(body) > MAX_BODY:
        body = body[:MAX_BODY] + "\n\n… (cut: the comment was too long)"
    return f"{body}\n\n{marker}"


def compose(
    placed: Sequence[PlacedFinding],
    *,
    errors: Sequence[FileError] = (),
    config: Config = DEFAULT_CONFIG,
    head_sha: str = "",
    notes: Sequence[str] = (),
) -> ReviewDraft:
    """The review, the file comments, the summary and the check conclusion."""
    carriers = {p.finding.location: p for p in placed if p.finding.fix is not None}
    comments: list[DraftComment] = []
    file_comments: list[DraftComment] = []
    for item in placed:
        finding = item.finding
        if item.placement is Placement.INLINE:
            comments.append(
                DraftComment(
                    path=finding.path,
                    body=comment_body(item, carriers),
                    fingerprint=finding.fingerprint(),
                    line=item.line,
                    start_line=item.start_line,
                    subject_type="line",
                )
            )
        elif item.placement is Placement.FILE:
            file_comments.append(
                DraftComment(
                    path=finding.path,
                    body=comment_body(item, carriers),
                    fingerprint=finding.fingerprint(),
                    line=None,
                    start_line=None,
                    subject_type="file",
                )
            )
    findings = [item.finding for item in placed]
    counts = {severity.value: 0 for severity in _SEVERITY_ORDER}
    for finding in findings:
        counts[finding.severity.value] += 1
    if any(config.fails(finding.severity) for finding in findings) or any(
        config.fails(error.severity) for error in errors
    ):
        conclusion = "failure"
    elif findings and all(finding.severity is Severity.NOTE for finding in findings):
        conclusion = "neutral"
    else:
        conclusion = "success"
    summary = _summary(placed, errors, counts, head_sha, notes, carriers)
    return ReviewDraft(
        review_body=_review_body(counts, len(comments), len(placed) - len(comments)),
        comments=comments,
        file_comments=file_comments,
        summary_body=summary,
        counts=counts,
        conclusion=conclusion,
    )


def _count_phrase(counts: dict[str, int]) -> str:
    parts = []
    for severity in _SEVERITY_ORDER:
        number = counts.get(severity.value, 0)
        if number:
            parts.append(f"{number} {severity.value}{'' if number == 1 else 's'}")
    return ", ".join(parts) if parts else "no problems"


def _review_body(counts: dict[str, int], inline: int, elsewhere: int) -> str:
    text = f"Preflight found {_count_phrase(counts)} in the CI files of this pull request."
    if elsewhere:
        text += f" {elsewhere} of them are listed in the summary comment, not on the diff."
    return text


def _summary(
    placed: Sequence[PlacedFinding],
    errors: Sequence[FileError],
    counts: dict[str, int],
    head_sha: str,
    notes: Sequence[str],
    carriers: dict[Location, PlacedFinding],
) -> str:
    lines = [SUMMARY_MARKER, "## Preflight", ""]
    commit = f" at `{head_sha[:12]}`" if head_sha else ""
    if not placed and not errors:
        lines.append(f"All clear{commit}: no problems found in the CI files of this change.")
    else:
        lines.append(f"**{_count_phrase(counts).capitalize()}**{commit}.")
        inline = sum(1 for p in placed if p.placement is Placement.INLINE)
        if inline:
            lines.append("")
            lines.append(
                f"{inline} {'finding is' if inline == 1 else 'findings are'} commented inline "
                "on the diff."
            )
    elsewhere = [p for p in placed if p.placement is not Placement.INLINE]
    if elsewhere:
        lines += ["", "### Not on the changed lines", ""]
        for item in elsewhere:
            lines.append(_summary_entry(item, carriers))
    if errors:
        lines += ["", "### Files that could not be checked", ""]
        for error in errors:
            who = f" (rule {error.rule})" if error.rule else ""
            lines.append(f"- `{error.path or '(repository)'}`{who}: {_one_line(error.message)}")
    if notes:
        lines += ["", "### Notes", ""]
        lines.extend(f"- {note}" for note in notes)
    lines += ["", f"<sub>{COMMANDS}</sub>"]
    text = "\n".join(lines) + "\n"
    if len(text) > MAX_BODY:
        text = text[:MAX_BODY] + "\n\n… (cut: the summary was too long)\n"
    return text


def _summary_entry(item: PlacedFinding, carriers: dict[Location, PlacedFinding]) -> str:
    finding = item.finding
    loc = finding.location
    where = "file comment" if item.placement is Placement.FILE else "not in the diff"
    entry = (
        f"- {severity_badge(finding)} `{loc.path}` line {loc.line} ({where}): "
        f"{_one_line(finding.message)}"
    )
    fix = finding.fix
    if fix is not None:
        entry += f"\n  - fix: {fix.title}{_applicability_note(fix)}"
        for move in fix.moves:
            entry += f"\n    `git mv {_shell_quote(move.source)} {_shell_quote(move.target)}`"
    elif finding.fix_carried_by is not None:
        carried = finding.fix_carried_by
        entry += f"\n  - fixed by the fix of `{carried.path}` line {carried.line}"
    return entry


def _one_line(text: str) -> str:
    return " ".join(text.split())


def render_markdown(draft: ReviewDraft) -> str:
    """Exactly what `preflight review --format markdown` prints: the summary, then every
    comment with its place."""
    parts = [draft.summary_body.rstrip("\n")]
    if draft.comments or draft.file_comments:
        parts.append("---")
        parts.append(f"**Review** (COMMENT): {draft.review_body}")
    for comment in draft.comments:
        line = comment.line or 0
        parts.append(f"#### `{comment.path}` {_lines_label(comment.start_line or line, line)}")
        parts.append(comment.body.rstrip("\n"))
    for comment in draft.file_comments:
        parts.append(f"#### `{comment.path}` (file comment)")
        parts.append(comment.body.rstrip("\n"))
    return "\n\n".join(parts) + "\n"

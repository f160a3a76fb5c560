"""The CLI's output formats: json (version 1), text, sarif (2.1.0) and github annotations.

Every renderer takes the findings and errors of a run and a way to read the files' lines at
the checked state (for code frames and exact SARIF regions). Review mode passes placements.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
import os
import sys
from typing import TYPE_CHECKING, Any

from rules.model import Edit, FileError, Finding, Fix, Severity

if TYPE_CHECKING:
    from bot.diffmap import PlacedFinding

LinesOf = Callable[[str], Sequence[str] | None]

JSON_VERSION = 1
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_URI = "https://github.com/preflight-ci/preflight"


# --- json -------------------------------------------------------------------------------------


def fix_json(fix: Fix | None) -> dict[str, Any] | None:
    if fix is None:
        return None
    return {
        "title": fix.title,
        "applicability": fix.applicability.value,
        "edits": [
            {
                "path": edit.path,
                "start_line": edit.start_line,
                "end_line": edit.end_line,
                "new_text": edit.new_text,
            }
            for edit in fix.edits
        ],
        "moves": [{"from": move.source, "to": move.target} for move in fix.moves],
    }


def finding_json(finding: Finding, placed: PlacedFinding | None = None) -> dict[str, Any]:
    loc = finding.location
    out: dict[str, Any] = {
        "rule": finding.rule,
        "severity": finding.severity.value,
        "path": loc.path,
        "line": loc.line,
        "column": loc.column,
        "end_line": loc.end_line,
        "end_column": loc.end_column,
        "message": finding.message,
        "fix": fix_json(finding.fix),
    }
    if placed is not None:
        out["placement"] = placed.placement.value
        out["comment"] = {"line": placed.line, "start_line": placed.start_line}
    return out


def render_json(
    findings: Sequence[Finding],
    errors: Sequence[FileError],
    placed: Sequence[PlacedFinding] | None = None,
) -> str:
    if placed is not None:
        items = [finding_json(p.finding, p) for p in placed]
    else:
        items = [finding_json(f) for f in findings]
    document = {
        "version": JSON_VERSION,
        "findings": items,
        "errors": [{"path": e.path, "message": e.message} for e in errors],
    }
    import json  # only for the JSON and SARIF formats: the text format starts faster

    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --- text -------------------------------------------------------------------------------------


def use_color(stream: Any = None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    stream = stream if stream is not None else sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


class _Paint:
    CODES = {
        "bold": "1",
        "dim": "2",
        "red": "31",
        "green": "32",
        "yellow": "33",
        "blue": "34",
        "cyan": "36",
    }

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles:
            return text
        codes = ";".join(self.CODES[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"


_SEVERITY_STYLE = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.NOTE: "cyan"}
_FRAME_LINES = 3


def _strip_eol(line: str) -> str:
    return line.rstrip("\r\n")


def code_frame(finding: Finding, lines: Sequence[str] | None, paint: _Paint) -> list[str]:
    """The flagged lines with their numbers, and a caret underline under the flagged text."""
    loc = finding.location
    if not lines or loc.line > len(lines):
        return []
    last = min(loc.end_line, loc.line + _FRAME_LINES - 1, len(lines))
    width = len(str(last))
    gutter = " " * width + " |"
    out = [paint(gutter, "blue")]
    for number in range(loc.line, last + 1):
        text = _strip_eol(lines[number - 1]).expandtabs(1)
        out.append(paint(f"{number:>{width}} |", "blue") + (f" {text}" if text else ""))
        if number == loc.line:
            start = loc.column
            end = loc.end_column if loc.end_line == loc.line else len(text) + 1
            carets = "^" * max(1, end - start)
            style = _SEVERITY_STYLE[finding.severity]
            out.append(paint(gutter, "blue") + " " + " " * (start - 1) + paint(carets, style))
    if last < loc.end_line:
        out.append(paint(gutter, "blue") + " ...")
    return out


def edit_diff(edit: Edit, lines: Sequence[str] | None) -> list[str]:
    """One edit as a unified diff hunk (without context: the edit replaces exactly these)."""
    old = [_strip_eol(line) for line in (lines or [])[edit.start_line - 1 : edit.end_line]]
    new = [_strip_eol(line) for line in edit.new_text.splitlines()]
    out = [f"--- a/{edit.path}", f"+++ b/{edit.path}"]
    new_start = edit.start_line if new else edit.start_line - 1
    out.append(f"@@ -{edit.start_line},{len(old)} +{new_start},{len(new)} @@")
    out += [f"-{line}" for line in old]
    out += [f"+{line}" for line in new]
    return out


def fix_lines(finding: Finding, lines_of: LinesOf, paint: _Paint) -> list[str]:
    fix = finding.fix
    if fix is None:
        if finding.fix_carried_by is not None:
            carrier = finding.fix_carried_by
            return [f"  = fix: part of the fix at {carrier.path}:{carrier.line}"]
        return []
    out = [f"  = fix ({fix.applicability.value}): {fix.title}"]
    for move in fix.moves:
        command = f"git mv {move.source} {move.target}"
        if command not in fix.title:
            out.append("    " + paint(command, "bold"))
    for edit in fix.edits:
        for line in edit_diff(edit, lines_of(edit.path)):
            style = (
                "green"
                if line.startswith("+") and not line.startswith("+++")
                else "red"
                if line.startswith("-") and not line.startswith("---")
                else "dim"
            )
            out.append("    " + paint(line, style))
    return out


def render_text(
    findings: Sequence[Finding],
    errors: Sequence[FileError],
    lines_of: LinesOf,
    *,
    color: bool = False,
    placed: Sequence[PlacedFinding] | None = None,
    fixable_hint: bool = True,
) -> str:
    paint = _Paint(color)
    out: list[str] = []
    placements = {id(p.finding): p for p in placed or ()}
    for finding in findings:
        loc = finding.location
        style = _SEVERITY_STYLE[finding.severity]
        head = (
            paint(f"{loc.path}:{loc.line}:{loc.column}:", "bold")
            + " "
            + paint(finding.severity.value, style, "bold")
            + f" [{finding.rule}] {finding.message}"
        )
        out.append(head)
        where = placements.get(id(finding))
        if where is not None:
            out.append(f"  = placement: {_placement_text(where)}")
        out += code_frame(finding, lines_of(loc.path), paint)
        out += fix_lines(finding, lines_of, paint)
        out.append("")
    for error in errors:
        out.append(paint(f"{error.path or '(repository)'}:", "bold") + " " + error.message)
    if errors:
        out.append("")
    out.append(summary_line(findings, errors, fixable_hint=fixable_hint))
    return "\n".join(out) + "\n"


def _placement_text(placed: PlacedFinding) -> str:
    kind = placed.placement.value
    if placed.line is None:
        return kind
    where = (
        f"line {placed.line}"
        if placed.start_line is None
        else f"lines {placed.start_line}-{placed.line}"
    )
    return f"{kind}, {where}" + (" with a suggestion" if placed.suggestion is not None else "")


def summary_line(
    findings: Sequence[Finding], errors: Sequence[FileError], *, fixable_hint: bool = True
) -> str:
    if not findings and not errors:
        return "No problems found."
    counts = {s: 0 for s in (Severity.ERROR, Severity.WARNING, Severity.NOTE)}
    for finding in findings:
        counts[finding.severity] += 1
    parts = [f"{n} {s.value}{'' if n == 1 else 's'}" for s, n in counts.items() if n]
    total = len(findings)
    text = f"Found {total} problem{'' if total == 1 else 's'}"
    if parts:
        text += f" ({', '.join(parts)})"
    if errors:
        text += f"; {len(errors)} file{'' if len(errors) == 1 else 's'} could not be checked"
    text += "."
    if fixable_hint:
        safe = sum(1 for f in findings if f.fix is not None and _fixable(f.fix, unsafe=False))
        unsafe = sum(1 for f in findings if f.fix is not None and _fixable(f.fix, unsafe=True))
        if safe:
            text += f" {safe} fixable with --fix."
        if unsafe > safe:
            text += f" {unsafe - safe} more with --fix --unsafe-fixes."
    return text


def _fixable(fix: Fix, *, unsafe: bool) -> bool:
    return fix.is_applicable(unsafe) or (bool(fix.moves) and not fix.edits)


# --- sarif ------------------------------------------------------------------------------------

_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}


def _pascal(rule_id: str) -> str:
    return "".join(part.capitalize() for part in rule_id.split("-"))


def _char_region(edit: Edit, lines: Sequence[str] | None) -> dict[str, int]:
    """The exact characters an edit replaces (whole lines with their line breaks)."""
    if lines is None:
        return {"startLine": edit.start_line, "endLine": edit.end_line}
    offset = sum(len(line) for line in lines[: edit.start_line - 1])
    length = sum(len(line) for line in lines[edit.start_line - 1 : edit.end_line])
    return {"charOffset": offset, "charLength": length}


def render_sarif(
    findings: Sequence[Finding],
    errors: Sequence[FileError],
    lines_of: LinesOf,
    rules_meta: Sequence[Mapping[str, str]],
    *,
    version: str = "",
) -> str:
    rule_index = {meta["id"]: index for index, meta in enumerate(rules_meta)}
    driver: dict[str, Any] = {
        "name": "preflight",
        "informationUri": TOOL_URI,
        "rules": [
            {
                "id": meta["id"],
                "name": _pascal(meta["id"]),
                "shortDescription": {"text": meta["title"]},
                "helpUri": meta["help_uri"],
                "defaultConfiguration": {"level": meta["level"]},
            }
            for meta in rules_meta
        ],
    }
    if version:
        driver["version"] = version
    results = []
    for finding in findings:
        loc = finding.location
        result: dict[str, Any] = {
            "ruleId": finding.rule,
            "level": _SARIF_LEVEL[finding.severity],
            "message": {"text": finding.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": loc.path, "uriBaseId": "%SRCROOT%"},
                        "region": {
                            "startLine": loc.line,
                            "startColumn": loc.column,
                            "endLine": loc.end_line,
                            "endColumn": loc.end_column,
                        },
                    }
                }
            ],
            "partialFingerprints": {"preflightFingerprint/v1": finding.fingerprint()},
        }
        if finding.rule in rule_index:
            result["ruleIndex"] = rule_index[finding.rule]
        fix = finding.fix
        if fix is not None and fix.edits:
            by_path: dict[str, list[Edit]] = {}
            for edit in fix.edits:
                by_path.setdefault(edit.path, []).append(edit)
            description = f"{fix.title} ({fix.applicability.value})"
            if fix.moves:
                moves = ", ".join(f"git mv {m.source} {m.target}" for m in fix.moves)
                description += f"; then {moves}"
            result["fixes"] = [
                {
                    "description": {"text": description},
                    "artifactChanges": [
                        {
                            "artifactLocation": {"uri": path, "uriBaseId": "%SRCROOT%"},
                            "replacements": [
                                {
                                    "deletedRegion": _char_region(edit, lines_of(path)),
                                    "insertedContent": {"text": edit.new_text},
                                }
                                for edit in edits
                            ],
                        }
                        for path, edits in by_path.items()
                    ],
                }
            ]
        results.append(result)
    notifications = [
        {
            "level": "error",
            "message": {"text": error.message},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": error.path or "."}}}],
        }
        for error in errors
    ]
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "results": results,
        "columnKind": "unicodeCodePoints",
        "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "the repository root"}}},
        "invocations": [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": notifications,
            }
        ],
    }
    document = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    import json  # only for the JSON and SARIF formats: the text format starts faster

    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --- github workflow commands ------------------------------------------------------------------

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(findings: Sequence[Finding], errors: Sequence[FileError]) -> str:
    out = []
    for finding in findings:
        loc = finding.location
        props = [("file", loc.path), ("line", str(loc.line))]
        single_line = loc.end_line == loc.line
        if single_line:
            props.append(("col", str(loc.column)))
        props.append(("endLine", str(loc.end_line)))
        if single_line:
            # Annotations take columns on one line only; GitHub's end column is inclusive.
            props.append(("endColumn", str(max(loc.column, loc.end_column - 1))))
        props.append(("title", finding.rule))
        message = finding.message
        if finding.fix is not None:
            message += f"\nfix ({finding.fix.applicability.value}): {finding.fix.title}"
        joined = ",".join(f"{key}={escape_property(value)}" for key, value in props)
        out.append(f"::{_COMMAND[finding.severity]} {joined}::{escape_data(message)}")
    for error in errors:
        prefix = f"file={escape_property(error.path)}," if error.path else ""
        out.append(f"::error {prefix}title=preflight::{escape_data(error.message)}")
    return "".join(line + "\n" for line in out)

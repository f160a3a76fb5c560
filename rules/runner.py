"""Runs the rules over a snapshot: choose the files, parse each once, isolate failures,
honour suppressions and configuration, and make the fixes fit together."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
import gc
from itertools import islice
import logging
import re

from rules import registry
from rules.config import DEFAULT_CONFIG, Config
from rules.context import FileContext, RepoContext
from rules.fixes import combine_fixes
from rules.globs import filter_matches
from rules.model import FileError, Finding, Severity
from rules.snapshot import RepoSnapshot, is_candidate_path, is_yaml_path
from rules.yamlpos import YamlDocument

# One rule's findings in one file: past this, a generated or hostile file would only bury the
# review (and a pull request can hold at most a few hundred comments anyway).
MAX_FINDINGS_PER_FILE = 200

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Report:
    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    config: Config = DEFAULT_CONFIG

    @property
    def failed(self) -> bool:
        return any(self.config.fails(f.severity) for f in self.findings)


def default_targets(snapshot: RepoSnapshot) -> list[str]:
    """A review checks every changed YAML file that still exists (wherever it lies, plus a
    file named `.github`); a whole-repository check discovers candidates itself."""
    if snapshot.changes is not None:
        return sorted(
            change.path
            for change in snapshot.changes
            if change.exists_at_head
            and (is_yaml_path(change.path) or is_candidate_path(change.path))
        )
    return sorted(path for path in snapshot.paths if is_candidate_path(path))


def run(
    snapshot: RepoSnapshot,
    *,
    targets: Iterable[str] | None = None,
    config: Config = DEFAULT_CONFIG,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] = (),
) -> Report:
    """Check the target files (default: see default_targets) and return every finding."""
    with _fewer_collections():
        return _run(snapshot, targets=targets, config=config, select=select, ignore=ignore)


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """A run allocates hundreds of thousands of small, long-lived, acyclic objects (nodes,
    marks, models). At the default threshold the cyclic collector runs every 700 of them and
    keeps rescanning the graphs already built: a third of the run's time on 1,000 files.
    Collections still happen, only rarer; the threshold is restored afterwards."""
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], 50_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def _run(
    snapshot: RepoSnapshot,
    *,
    targets: Iterable[str] | None,
    config: Config,
    select: Sequence[str] | None,
    ignore: Sequence[str],
) -> Report:
    chosen = sorted(dict.fromkeys(targets if targets is not None else default_targets(snapshot)))
    chosen = [path for path in chosen if not filter_matches(config.ignore, path)]
    rules = [
        module
        for module in registry.ALL
        if config.rule(module.RULE.id).enabled
        and (select is None or module.RULE.id in select)
        and module.RULE.id not in ignore
    ]
    repo = RepoContext(snapshot, tuple(chosen))
    report = Report(config=config)
    raw: list[Finding] = []
    for path in chosen:
        document = repo.document(path)
        if document is None:
            continue
        report.checked.append(path)
        context = FileContext(repo, document)
        for module in rules:
            try:
                found = list(islice(module.check(context), MAX_FINDINGS_PER_FILE + 1))
                if len(found) > MAX_FINDINGS_PER_FILE:
                    found.pop()
                    repo.errors.append(
                        FileError(
                            path,
                            f"rule {module.RULE.id} reported more than {MAX_FINDINGS_PER_FILE} "
                            "findings in this file; only the first ones are shown",
                            module.RULE.id,
                            severity=Severity.WARNING,
                        )
                    )
                raw.extend(found)
            except Exception as exc:  # one rule failing must not sink the review
                log.exception("rule %s failed on %s", module.RULE.id, path)
                repo.errors.append(
                    FileError(path, f"rule {module.RULE.id} failed: {exc!r}", module.RULE.id)
                )
    for module in rules:
        hook = getattr(module, "check_repository", None)
        if hook is None:
            continue
        try:
            raw.extend(hook(repo))
        except Exception as exc:
            log.exception("rule %s failed on the repository", module.RULE.id)
            repo.errors.append(
                FileError("", f"rule {module.RULE.id} failed: {exc!r}", module.RULE.id)
            )
    findings = [
        _configured(finding, config)
        for finding in raw
        if not _suppressed(finding, repo) and not filter_matches(config.ignore, finding.path)
    ]
    findings = [_with_file_line_endings(finding, repo) for finding in findings]
    findings.sort(key=Finding.sort_key)
    findings = combine_fixes(findings, lambda path: _lines(repo, path))
    report.findings = findings
    report.errors = repo.errors
    return report


def _lines(repo: RepoContext, path: str) -> list[str] | None:
    document = repo.document(path)
    return list(document.lines) if document is not None else None


def _with_file_line_endings(finding: Finding, repo: RepoContext) -> Finding:
    """Rules write fix text with "\n"; a file with CRLF endings gets CRLF in its edits, so a
    suggestion or `--fix` never leaves it with mixed line endings."""
    fix = finding.fix
    if fix is None or not fix.edits:
        return finding
    edits = []
    for edit in fix.edits:
        document = repo.document(edit.path)
        if document is not None and edit.new_text and _uses_crlf(document, edit.start_line):
            edit = replace(edit, new_text=_LONE_LF.sub("\r\n", edit.new_text))
        edits.append(edit)
    return replace(finding, fix=replace(fix, edits=tuple(edits)))


_LONE_LF = re.compile(r"(?<!\r)\n")


def _uses_crlf(document: YamlDocument, line: int) -> bool:
    """The ending of the line an edit replaces (of the last line for an edit past the end)."""
    if "\r\n" not in document.text:
        return False
    probe = document.line_text(min(line, len(document.lines)))
    return probe.endswith("\r\n") or not probe.endswith("\n")


def _configured(finding: Finding, config: Config) -> Finding:
    override = config.rule(finding.rule).severity
    return replace(finding, severity=override) if override else finding


_IGNORE_RE = re.compile(r"#\s*preflight:\s*ignore\[([^\]]*)\]")


def _ignored_rules(line_text: str) -> set[str]:
    if "preflight" not in line_text:
        return set()
    found: set[str] = set()
    for match in _IGNORE_RE.finditer(line_text):
        found.update(part.strip() for part in match.group(1).split(",") if part.strip())
    return found


def suppression_lines(finding: Finding, repo: RepoContext) -> list[int]:
    """The lines where an ignore comment silences this finding: the flagged line, and the
    first line of the enclosing step and job."""
    lines = [finding.location.line]
    document = repo.document(finding.path)
    route = finding.route
    if document is not None and len(route) >= 2 and route[0] == "jobs":
        job_key = document.locate_key(route[:2])
        if job_key is not None:
            lines.append(job_key.line)
        if len(route) >= 4 and route[2] == "steps" and isinstance(route[3], int):
            step = document.locate(route[:4])
            if step is not None:
                lines.append(step.line)
    return lines


def _suppressed(finding: Finding, repo: RepoContext) -> bool:
    document = repo.document(finding.path)
    if document is None:
        return False
    for line in suppression_lines(finding, repo):
        ids = _ignored_rules(document.line_text(line))
        if finding.rule in ids or "all" in ids:
            return True
    return False

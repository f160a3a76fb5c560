"""The fix property (issue 2, §6): for every finding whose fix is not display-only, applying
that one fix alone gives YAML that parses and a tree where that finding is gone.

Inputs: every golden `bad` case of every rule, and every file of ../shared/corpus/real at the
path it had in its repository (skipped when the corpus is absent).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from rules.fixes import apply_fixes
from rules.model import Applicability, Finding
from rules.runner import run
from rules.snapshot import ChangedFile, RepoSnapshot, is_yaml_path
from rules.yamlpos import ParseError, parse_yaml
from tests.rules.golden import case_files, discover, parse_changes

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "real"


def golden_inputs() -> list[pytest.param]:
    params = []
    for case in discover():
        if case.kind != "bad":
            continue
        changes = None
        if case.changes_path.exists():
            changes = parse_changes(case.changes_path.read_text(encoding="utf-8"))
        params.append(pytest.param(case_files(case), changes, id=case.id))
    return params


def corpus_inputs() -> list[pytest.param]:
    sources = CORPUS / "SOURCES.tsv"
    if not sources.is_file():
        return [pytest.param(None, None, id="corpus-absent")]
    with sources.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [
        pytest.param(
            {row["path"]: (CORPUS / row["file"]).read_text(encoding="utf-8")},
            None,
            id=f"corpus/{row['file']}",
        )
        for row in rows
    ]


def applicable(finding: Finding) -> bool:
    fix = finding.fix
    return fix is not None and fix.applicability is not Applicability.DISPLAY_ONLY


def _moved_changes(
    changes: list[ChangedFile] | None, moves: dict[str, str]
) -> list[ChangedFile] | None:
    if changes is None:
        return None
    return [ChangedFile(moves.get(c.path, c.path), c.status, c.previous_path) for c in changes]


def check_fix_property(files: dict[str, str], changes: list[ChangedFile] | None) -> int:
    """Apply each applicable fix alone; return how many were checked."""
    report = run(RepoSnapshot.from_files(files, changes))
    checked = 0
    for finding in filter(applicable, report.findings):
        result = apply_fixes(files, [finding], unsafe=True)
        assert finding in result.applied, f"fix of {finding.rule} at {finding.location} skipped"
        tree = dict(files)
        tree.update(result.texts)
        moved: dict[str, str] = {}
        for move in result.moves:
            assert move.target not in tree, f"move onto an existing file: {move}"
            tree[move.target] = tree.pop(move.source)
            moved[move.source] = move.target
        for path in result.texts:
            path = moved.get(path, path)
            if is_yaml_path(path):
                try:
                    parse_yaml(tree[path])
                except ParseError as exc:
                    pytest.fail(f"fix {finding.fix.title!r} of {finding.rule} breaks {path}: {exc}")
        after = run(RepoSnapshot.from_files(tree, _moved_changes(changes, moved)))
        remaining = {f.fingerprint() for f in after.findings}
        assert finding.fingerprint() not in remaining, (
            f"{finding.rule} at {finding.location} is still reported after its own fix "
            f"{finding.fix.title!r}"
        )
        checked += 1
    return checked


@pytest.mark.parametrize(("files", "changes"), golden_inputs())
def test_golden_fixes_parse_and_remove_their_finding(files, changes) -> None:
    check_fix_property(files, changes)


@pytest.mark.parametrize(("files", "changes"), corpus_inputs())
def test_corpus_fixes_parse_and_remove_their_finding(files, changes) -> None:
    if files is None:
        pytest.skip("../shared/corpus/real is not present")
    check_fix_property(files, changes)


def test_the_property_is_exercised() -> None:
    """Guard against a vacuous pass: some golden case must offer an applicable fix."""
    assert sum(check_fix_property(*param.values) for param in golden_inputs()) > 0

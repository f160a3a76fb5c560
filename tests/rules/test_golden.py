"""Every golden case: `good/` gives no finding of any rule, `bad/` gives exactly its
`.expected` lines, and its fixes give exactly its `.fixed/` tree, where the fixed findings are
gone and the YAML still parses."""

from __future__ import annotations

import pytest

from rules.runner import run
from rules.yamlpos import parse_yaml
from tests.rules.golden import (
    Case,
    discover,
    fixed_tree,
    read_tree,
    render_report,
    run_case,
    snapshot_of,
    write_tree,
)

CASES = discover()


@pytest.mark.parametrize("case", [c for c in CASES if c.kind == "good"], ids=lambda c: c.id)
def test_good_case_has_no_finding(case: Case) -> None:
    _, _, report = run_case(case)
    assert render_report(report) == ""


@pytest.mark.parametrize("case", [c for c in CASES if c.kind == "bad"], ids=lambda c: c.id)
def test_bad_case_matches_expected(case: Case, update_goldens: bool) -> None:
    files, changes, report = run_case(case)
    rendered = render_report(report)
    assert any(f.rule == case.rule for f in report.findings), (
        f"a bad case of {case.rule} must produce at least one {case.rule} finding"
    )
    if update_goldens or not case.expected_path.exists():
        case.expected_path.write_text(rendered, encoding="utf-8")
    assert rendered == case.expected_path.read_text(encoding="utf-8")

    fixable = [f for f in report.findings if f.fix is not None and (f.fix.edits or f.fix.moves)]
    if not fixable:
        assert not case.fixed_path.exists(), "a .fixed tree without any fix"
        return
    tree, applied = fixed_tree(files, report)
    if update_goldens or not case.fixed_path.exists():
        write_tree(case.fixed_path, tree)
    assert tree == read_tree(case.fixed_path)
    for path, text in tree.items():
        if path.endswith((".yml", ".yaml")) and text != files.get(path):
            parse_yaml(text)  # fixed files stay valid YAML
    again = run(snapshot_of(tree, changes))
    moved = {m.source: m.target for f in applied for m in f.fix.moves}
    remaining = {(f.rule, f.path, f.route, f.subject) for f in again.findings}
    for finding in applied:
        path = moved.get(finding.path, finding.path)
        assert (finding.rule, path, finding.route, finding.subject) not in remaining, (
            f"fix did not remove: {finding.message}"
        )

"""The runner: crash isolation, suppression comments, configuration, target choice."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rules import registry
from rules.config import load_config
from rules.model import Rule, Severity
from rules.runner import run
from rules.snapshot import ChangedFile, ChangeStatus, RepoSnapshot

WORKFLOW = """\
on: push
jobs:
  build:  # preflight: ignore[job-rule] reason given
    runs-on: ubuntu-latest
    steps:
      - name: one  # preflight: ignore[step-rule]
        run: echo one
      - name: two
        run: echo two  # preflight: ignore[line-rule, other]
"""


def rule_module(rule_id: str, route: tuple, crash: bool = False) -> SimpleNamespace:
    rule = Rule(rule_id, "test rule", Severity.WARNING)

    def check(ctx):
        if crash:
            raise RuntimeError("boom")
        location = ctx.document.locate(route)
        yield rule.finding(location, f"{rule_id} fired", route=route)

    return SimpleNamespace(RULE=rule, check=check)


@pytest.fixture
def rules(monkeypatch):
    def install(*modules):
        monkeypatch.setattr(registry, "ALL", tuple(modules))

    return install


def snapshot(files=None, changes=None) -> RepoSnapshot:
    return RepoSnapshot.from_files(files or {".github/workflows/ci.yml": WORKFLOW}, changes)


def test_ignore_comments_on_line_step_and_job(rules):
    step_one = ("jobs", "build", "steps", 0, "run")
    step_two_run = ("jobs", "build", "steps", 1, "run")
    rules(
        rule_module("job-rule", step_two_run),
        rule_module("step-rule", step_one),
        rule_module("line-rule", step_two_run),
        rule_module("other", step_one),  # its ignore is on a different line
    )
    report = run(snapshot())
    assert [f.rule for f in report.findings] == ["other"]


def test_a_crashing_rule_becomes_an_error_and_others_still_run(rules):
    rules(rule_module("crashes", (), crash=True), rule_module("other", ("jobs",)))
    report = run(snapshot())
    assert [f.rule for f in report.findings] == ["other"]
    assert len(report.errors) == 1
    assert "crashes" in report.errors[0].message and "boom" in report.errors[0].message
    assert report.errors[0].path == ".github/workflows/ci.yml"


def test_a_broken_file_is_reported_and_the_others_are_checked(rules):
    rules(rule_module("other", ("jobs",)))
    report = run(
        snapshot({".github/workflows/ci.yml": WORKFLOW, ".github/workflows/bad.yml": "a: [\n"})
    )
    assert [f.path for f in report.findings] == [".github/workflows/ci.yml"]
    assert report.errors[0].path == ".github/workflows/bad.yml"
    assert "line 2" in report.errors[0].message


def test_config_overrides_severity_disables_and_ignores_paths(rules):
    rules(rule_module("other", ("jobs",)), rule_module("off", ("jobs",)))
    config = load_config(
        "rules:\n  other:\n    severity: error\n  off:\n    enabled: false\n", ("other", "off")
    )
    report = run(snapshot(), config=config)
    assert [(f.rule, f.severity) for f in report.findings] == [("other", Severity.ERROR)]
    assert report.failed
    ignored = load_config("ignore: ['.github/workflows/*.yml']\n", ("other",))
    assert run(snapshot(), config=ignored).findings == []


def test_select_and_ignore(rules):
    rules(rule_module("a", ("jobs",)), rule_module("b", ("jobs",)))
    assert [f.rule for f in run(snapshot(), select=["b"]).findings] == ["b"]
    assert [f.rule for f in run(snapshot(), ignore=["b"]).findings] == ["a"]


def test_review_checks_changed_yaml_files_wherever_they_are(rules):
    rules(rule_module("a", ()))
    files = {
        "ci/build.yml": "x: 1\n",
        "src/app.py": "print()\n",
        ".github/workflows/ci.yml": WORKFLOW,
    }
    changes = [
        ChangedFile("ci/build.yml", ChangeStatus.ADDED),
        ChangedFile("src/app.py", ChangeStatus.MODIFIED),
        ChangedFile("old.yml", ChangeStatus.REMOVED),
    ]
    report = run(snapshot(files, changes))
    assert report.checked == ["ci/build.yml"]


def test_check_discovers_candidates(rules):
    rules(rule_module("a", ()))
    files = {
        ".github/workflows/ci.yml": WORKFLOW,
        ".github/x.yml": "x: 1\n",
        "github/workflows/y.yaml": "x: 1\n",
        "workflows/z.yml": "x: 1\n",
        "docs/conf.yml": "x: 1\n",
        ".github": "x: 1\n",
    }
    report = run(snapshot(files))
    assert report.checked == [
        ".github",
        ".github/workflows/ci.yml",
        ".github/x.yml",
        "github/workflows/y.yaml",
        "workflows/z.yml",
    ]

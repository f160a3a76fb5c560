"""Shared pieces of the hardening tests: a deterministic probe rule, a witness file whose real
finding must survive next to any hostile file, and a runner call that records what it read."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import SimpleNamespace

import pytest

from rules import registry, yamlpos
from rules.model import Applicability, Edit, Fix, Rule, Severity
from rules.runner import Report, run
from rules.snapshot import EntryKind, RepoSnapshot

# A workflow that GitHub never loads (it sits in .github/, not .github/workflows/): the real
# misplaced-workflow rule flags it, so its finding proves the rest of the review was produced.
WITNESS_PATH = ".github/build.yml"
WITNESS = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: make
"""

GOOD = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make test
"""

PROBE = Rule("probe", "marks the `jobs` key of every file it sees", Severity.WARNING)


def probe_check(ctx) -> Iterator:
    """One finding per file on the `jobs` key, with a fix that appends a comment to it."""
    location = ctx.document.locate_key(("jobs",))
    if location is None:
        return
    line = ctx.document.line_text(location.line)
    fix = Fix(
        "mark the jobs key",
        Applicability.SAFE,
        (Edit(ctx.path, location.line, location.line, line.rstrip("\r\n") + "  # probed\n"),),
    )
    yield PROBE.finding(location, "probe saw `jobs`", fix=fix, route=("jobs",), subject="jobs")


@pytest.fixture
def probe_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run only the probe rule (deterministic findings, independent of the real rules)."""
    monkeypatch.setattr(registry, "ALL", (SimpleNamespace(RULE=PROBE, check=probe_check),))


@pytest.fixture(params=["c", "pure"])
def composer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with libyaml's C parser and again with ruamel's pure-Python parser."""
    if request.param == "pure":
        monkeypatch.setattr(yamlpos, "CParser", None)
    elif yamlpos.CParser is None:
        pytest.skip("ruamel.yaml.clib is not installed")
    return request.param


class RecordingReader:
    """A snapshot reader that remembers every path it was asked for."""

    def __init__(self, files: Mapping[str, str | bytes]):
        self.files = dict(files)
        self.asked: list[str] = []

    def __call__(self, path: str) -> str | bytes | None:
        self.asked.append(path)
        return self.files.get(path)


def check(
    files: Mapping[str, str | bytes],
    kinds: Mapping[str, EntryKind] | None = None,
    *,
    witness: bool = True,
) -> tuple[Report, RecordingReader]:
    """Check files (plus the witness) the way `preflight check` does: discovery, all rules."""
    files = dict(files)
    if witness:
        files[WITNESS_PATH] = WITNESS
    tree = {path: EntryKind.FILE for path in files}
    tree.update(kinds or {})
    reader = RecordingReader(files)
    return run(RepoSnapshot(tree=tree, reader=reader)), reader


def errors_for(report: Report, path: str) -> list[str]:
    return [error.message for error in report.errors if error.path == path]


def assert_rest_of_review_produced(report: Report) -> None:
    """The witness was checked and its real finding is there; no rule crashed."""
    assert WITNESS_PATH in report.checked
    witness_rules = {f.rule for f in report.findings if f.path == WITNESS_PATH}
    assert "misplaced-workflow" in witness_rules
    crashes = [e.message for e in report.errors if " failed: " in e.message]
    assert crashes == []

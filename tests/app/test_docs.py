"""The App's public surface is documented: the environment, the manifest, the Dockerfile."""

from __future__ import annotations

from pathlib import Path
import re

from ruamel.yaml import YAML

from bot.settings import ENVIRONMENT

ROOT = Path(__file__).resolve().parents[2]


def app_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## The GitHub App")
    following = text.find("\n## ", start + 1)
    return text[start:] if following == -1 else text[start:following]


def test_every_environment_variable_is_in_the_readme_table():
    rows = set(re.findall(r"^\| `([A-Z_]+)` \|", app_section(), re.MULTILINE))
    assert rows == {name for name, _, _ in ENVIRONMENT}


def test_the_manifest_asks_for_the_events_and_permissions_the_app_uses():
    manifest = YAML(typ="safe").load((ROOT / "app.yml").read_text())
    assert {"name", "url", "description", "hook_attributes"} <= set(manifest)
    assert manifest["public"] is False
    assert manifest["hook_attributes"]["url"].endswith("/api/github/webhooks")
    assert set(manifest["default_events"]) == {"pull_request", "issue_comment", "check_run"}
    assert manifest["default_permissions"] == {
        "pull_requests": "write",
        "issues": "write",
        "checks": "write",
        "contents": "read",
        "metadata": "read",
    }
    section = app_section()
    for permission in ("Pull requests", "Issues", "Checks", "Contents", "Metadata"):
        assert f"| {permission} |" in section


def test_the_image_runs_serve_as_a_non_root_user_with_a_health_check():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.\d+-slim", dockerfile, re.MULTILINE)
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE)
    assert 'CMD ["preflight", "serve"]' in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "tests"} <= set(ignored)

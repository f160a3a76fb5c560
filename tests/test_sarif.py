"""`preflight check --format sarif` validates against the official SARIF 2.1.0 schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from bot.cli import main
from rules.registry import ALL

SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"

MISPLACED = """\
name: build
on:
  pull_request:
    paths:
      - ".github/workflows/build.yml"
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: docker/build-push-action@v6
        with:
          file: ./docker/Dockerfile
          platforms: linux/arm64
          push: true
          tags: quay.io/example/app:latest
"""


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def sarif_of(root: Path, capsys) -> tuple[int, dict]:
    status = main(["check", "--root", str(root), "--format", "sarif"])
    return status, json.loads(capsys.readouterr().out)


def write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")


def test_schema_is_the_official_one() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]


def test_findings_fixes_and_errors_validate(tmp_path: Path, capsys, validator) -> None:
    write(
        tmp_path,
        {
            ".github/build.yml": MISPLACED,
            "docker/Dockerfile": "FROM alpine\nRUN true\n",
            ".github/workflows/broken.yml": "on: [\n",
        },
    )
    status, document = sarif_of(tmp_path, capsys)
    assert status == 1
    errors = sorted(validator.iter_errors(document), key=str)
    assert not errors, "\n".join(e.message for e in errors[:5])
    run = document["runs"][0]
    assert document["version"] == "2.1.0"
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [m.RULE.id for m in ALL]
    for rule in rules:
        assert rule["name"] and rule["shortDescription"]["text"]
        assert rule["helpUri"].endswith(f"#{rule['id']}")
    results = run["results"]
    assert any(r["ruleId"] == "misplaced-workflow" for r in results)
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        region = result["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
    notifications = run["invocations"][0]["toolExecutionNotifications"]
    assert any(
        n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == ".github/workflows/broken.yml"
        for n in notifications
    )


def test_fix_replacements_rebuild_the_fixed_file(tmp_path: Path, capsys, validator) -> None:
    """Applying a result's replacements (character regions) gives the same text as the
    engine's own fix: the SARIF regions are exact."""
    from rules.fixes import apply_fixes
    from rules.runner import run
    from rules.snapshot import RepoSnapshot

    text = MISPLACED.replace(".github/workflows/build.yml", "src/**")
    files = {".github/workflows/build.yml": text, "docker/Dockerfile": "FROM alpine\n"}
    write(tmp_path, files)
    _, document = sarif_of(tmp_path, capsys)
    assert not list(validator.iter_errors(document))
    with_fixes = [r for r in document["runs"][0]["results"] if r.get("fixes")]
    if not with_fixes:
        pytest.skip("no rule offers an edit fix on this workflow yet")
    report = run(RepoSnapshot.from_files(files))
    by_fingerprint = {f.fingerprint(): f for f in report.findings}
    for result in with_fixes:
        finding = by_fingerprint[result["partialFingerprints"]["preflightFingerprint/v1"]]
        [change] = result["fixes"][0]["artifactChanges"]
        path = change["artifactLocation"]["uri"]
        rebuilt = files[path]
        for replacement in sorted(
            change["replacements"], key=lambda r: r["deletedRegion"]["charOffset"], reverse=True
        ):
            region = replacement["deletedRegion"]
            start, length = region["charOffset"], region["charLength"]
            rebuilt = (
                rebuilt[:start] + replacement["insertedContent"]["text"] + rebuilt[start + length :]
            )
        expected = apply_fixes(files, [finding], unsafe=True).texts[path]
        assert rebuilt == expected


def test_clean_tree_is_valid_sarif_with_no_results(tmp_path: Path, capsys, validator) -> None:
    write(tmp_path, {".github/workflows/ok.yml": MISPLACED.replace("build.yml", "ok.yml")})
    status, document = sarif_of(tmp_path, capsys)
    assert not list(validator.iter_errors(document))
    if status == 0:
        assert document["runs"][0]["results"] == []

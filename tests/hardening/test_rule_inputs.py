"""Hostile rule inputs (issue 5): values no rule can resolve, a megabyte of shell, a matrix
with millions of legs. Every rule runs to the end, crashes nothing and claims no error it
cannot know."""

from __future__ import annotations

import re

import pytest

from rules.model import Severity
from tests.hardening.conftest import assert_rest_of_review_produced, check, errors_for

WORKFLOW = ".github/workflows/ci.yml"

EVERYWHERE = """\
name: ${{ E }}
run-name: ${{ E }}
on:
  push:
    branches: ${{ E }}
    paths: ${{ E }}
  pull_request:
    paths:
      - ${{ E }}
      - '!${{ E }}'
  workflow_call:
    inputs:
      z: {type: string}
permissions: ${{ E }}
env: ${{ E }}
defaults: ${{ E }}
concurrency: ${{ E }}
jobs:
  whole:
    runs-on: ${{ E }}
    container: ${{ E }}
    services: ${{ E }}
    strategy: ${{ E }}
    env: ${{ E }}
    if: ${{ E }}
    steps: ${{ E }}
  parts:
    needs: [whole]
    name: ${{ E }}
    runs-on: [self-hosted, '${{ E }}']
    timeout-minutes: ${{ E }}
    strategy:
      fail-fast: ${{ E }}
      matrix:
        platform: ${{ E }}
        os: ['${{ E }}', '${{ E }}']
        include: ${{ E }}
        exclude: ${{ E }}
    container:
      image: ${{ E }}
      credentials: ${{ E }}
    steps:
      - uses: docker/setup-qemu-action@v3
        if: ${{ E }}
        with:
          platforms: ${{ E }}
      - uses: docker/login-action@v3
        if: ${{ E }}
        with:
          registry: ${{ E }}
          username: ${{ E }}
          password: ${{ E }}
      - uses: docker/setup-buildx-action@v3
        with: ${{ E }}
      - id: meta
        uses: docker/metadata-action@v5
        with:
          images: ${{ E }}
          tags: ${{ E }}
      - uses: docker/build-push-action@v6
        if: ${{ E }}
        env: ${{ E }}
        with:
          context: ${{ E }}
          file: ${{ E }}
          platforms: ${{ E }}
          push: ${{ E }}
          load: ${{ E }}
          outputs: ${{ E }}
          tags: ${{ E }}
          labels: ${{ steps.meta.outputs.labels }}
      - uses: docker/bake-action@v5
        with:
          targets: ${{ E }}
          push: ${{ E }}
          set: ${{ E }}
          files: ${{ E }}
      - run: ${{ E }}
        shell: ${{ E }}
        working-directory: ${{ E }}
      - run: |
          docker buildx build --platform ${{ E }} --push -t ${{ E }} ${{ E }}
          docker push ${{ E }}
          echo ${{ E }} | docker login ${{ E }} -u ${{ E }} --password-stdin
      - uses: ${{ E }}
  called:
    uses: ./.github/workflows/${{ E }}.yml
    with: ${{ E }}
    secrets: ${{ E }}
  matrix-called:
    strategy:
      matrix: ${{ E }}
    uses: ${{ E }}
"""

UNRESOLVABLE = ["fromJSON(needs.x.outputs.y)", "inputs.z", "matrix.nothing", "secrets.X"]


@pytest.mark.parametrize("expression", UNRESOLVABLE)
@pytest.mark.parametrize("place", [WORKFLOW, ".github/misplaced.yml"])
def test_unresolvable_expressions_everywhere(expression: str, place: str) -> None:
    text = EVERYWHERE.replace("${{ E }}", "${{ " + expression + " }}")
    report, _ = check({place: text})
    assert errors_for(report, place) == []
    # An error needs certainty: nothing here is certain except where the file lies.
    errors = [
        f
        for f in report.findings
        if f.path == place and f.severity is Severity.ERROR and f.rule != "misplaced-workflow"
    ]
    assert errors == []
    assert_rest_of_review_produced(report)


def megabyte_of_shell() -> str:
    chunk = (
        "set -euo pipefail\n"
        'for arch in amd64 arm64; do\n  docker buildx build --platform "linux/$arch" \\\n'
        "    -t \"quay.io/org/app:${GITHUB_SHA}-$arch\" --push . <<'EOF'\n"
        '  heredoc ${{ not_an_expression }} $(echo nested "quotes \' inside")\nEOF\n'
        "done\n"
        "echo '${{ secrets.TOKEN }}' | docker login quay.io -u \"$USER\" --password-stdin\n"
        'if [[ "$x" =~ ^[a-z]+$ ]]; then echo "{[(" ; fi\n'
        "cat <<< \"unterminated ' quote\n"
    )
    return chunk * (1024 * 1024 // len(chunk) + 1)


def test_a_megabyte_run_script() -> None:
    script = megabyte_of_shell()
    assert len(script) > 1024 * 1024
    indented = "".join("          " + line + "\n" for line in script.splitlines())
    text = (
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: |\n" + indented + "      - run: " + script.splitlines()[2] + "\n"
    )
    report, _ = check({WORKFLOW: text})
    assert errors_for(report, WORKFLOW) == []
    assert WORKFLOW in report.checked
    assert_rest_of_review_produced(report)


def test_a_megabyte_on_one_line() -> None:
    text = (
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo " + "x" * 1024 * 1024 + " && docker push quay.io/org/app:x\n"
    )
    report, _ = check({WORKFLOW: text})
    assert errors_for(report, WORKFLOW) == []
    assert_rest_of_review_produced(report)


def test_thousands_of_commands_on_one_line() -> None:
    # Commands are placed on their line in linear time, and a step's search is capped (see
    # docs/reliability.md); 1,000 commands keep this test quick.
    text = (
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: " + "docker push quay.io/org/app:x && " * 1_000 + "true\n"
    )
    report, _ = check({WORKFLOW: text})
    assert errors_for(report, WORKFLOW) == []
    assert len([f for f in report.findings if f.path == WORKFLOW]) <= 200
    assert_rest_of_review_produced(report)


def huge_matrix(values: int) -> str:
    axis = "[" + ", ".join(f"v{i}" for i in range(values)) + "]"
    includes = "".join(f"          - a: v{i}\n            extra: x{i}\n" for i in range(values))
    return (
        "on: push\njobs:\n  build:\n    runs-on: ${{ matrix.os }}\n    strategy:\n      matrix:\n"
        f"        a: {axis}\n        b: {axis}\n        c: {axis}\n"
        "        os: [ubuntu-latest, ubuntu-24.04-arm, windows-latest]\n"
        "        include:\n" + includes + "    steps:\n"
        "      - uses: docker/build-push-action@v6\n        with:\n"
        "          platforms: linux/${{ matrix.a }}\n          push: true\n"
        "          tags: quay.io/org/app:${{ matrix.b }}\n"
    )


def test_a_huge_matrix_finishes() -> None:
    text = huge_matrix(200)  # 200**3 * 3 = 24 million legs
    report, _ = check({WORKFLOW: text})
    crashes = [e for e in errors_for(report, WORKFLOW) if "failed" in e]
    assert crashes == []
    assert WORKFLOW in report.checked
    assert_rest_of_review_produced(report)


def test_a_huge_matrix_says_its_expansion_was_capped() -> None:
    report, _ = check({WORKFLOW: huge_matrix(200)})
    said = [e for e in errors_for(report, WORKFLOW)] + [
        f.message for f in report.findings if f.path == WORKFLOW
    ]
    assert any(re.search(r"matrix", m) and re.search(r"\d{3}|cap|limit|more than", m) for m in said)

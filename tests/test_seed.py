"""The seed case (verl #6022, first revision), rebuilt in our own words as a small repository.

A throw-away test workflow was committed in `.github/` instead of `.github/workflows/`, its
`paths` filter named the place it should have been, it built an arm64 image on an x86 runner
without QEMU, and it pushed to quay.io without logging in. Preflight must report all four,
offer the QEMU and the login fix as one suggestion (both insert a step at the buildx setup),
and the fixed repository must give none of them.
"""

from __future__ import annotations

import pytest

from rules import registry
from rules.context import FileContext, RepoContext
from rules.fixes import apply_fixes, combine_fixes
from rules.model import Applicability, Severity
from rules.runner import run
from rules.snapshot import RepoSnapshot
from rules.yamlpos import YamlDocument, parse_yaml

WORKFLOW_PATH = ".github/npu-image-build_test.yml"
WORKFLOW_HOME = ".github/workflows/npu-image-build_test.yml"
DOCKERFILE = "docker/npu/Dockerfile.npu-a3"

WORKFLOW = """\
name: npu-image-build

on:
  pull_request:
    branches:
      - main
      - release/*
    paths:
      - ".github/workflows/npu-image-build_test.yml"

jobs:
  build-npu-image:
    if: ${{ github.repository_owner == 'example-org' }}
    runs-on: ubuntu-latest
    concurrency:
      group: ${{ github.workflow }}-${{ github.ref }}-npu-image
      cancel-in-progress: true
    steps:
      - name: Make room on the runner
        uses: jlumbroso/free-disk-space@v1.3.1
        with:
          tool-cache: true

      - name: Check out the code
        uses: actions/checkout@v4

      - name: Install Python
        uses: actions/setup-python@v5
        with:
          python-version: "3.11"

      - name: Set up Docker Buildx
        uses: docker/setup-buildx-action@v3

      - name: Free the Docker cache
        run: |
          docker system prune -af --volumes || true

      - name: Build and push the NPU image
        uses: docker/build-push-action@v6
        with:
          context: .
          platforms: linux/arm64
          file: ./docker/npu/Dockerfile.npu-a3
          push: true
          tags: |
            quay.io/example-org/trainer:npu-a3-py3.11
          cache-from: type=gha
          cache-to: type=gha,mode=max
"""

DOCKER_TEXT = """\
FROM registry.example.com/npu/base:8.5-py3.11
RUN apt-get update && apt-get install -y --no-install-recommends git \\
    && rm -rf /var/lib/apt/lists/*
COPY . /workspace/trainer
RUN pip install -e /workspace/trainer
"""

SEED_RULES = (
    "misplaced-workflow",
    "unmatched-paths-filter",
    "multi-arch-without-qemu",
    "push-without-registry-login",
)


def seed_files() -> dict[str, str]:
    return {WORKFLOW_PATH: WORKFLOW, DOCKERFILE: DOCKER_TEXT}


def line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in text")


def require_rules(*rule_ids: str) -> None:
    """The path rules are written by another helper at the same time; mark only what
    depends on them as expected to fail while they are missing."""
    for rule_id in rule_ids:
        module = registry.BY_ID[rule_id]
        probe = run(
            RepoSnapshot.from_files({WORKFLOW_PATH: WORKFLOW, DOCKERFILE: DOCKER_TEXT}),
            select=[rule_id],
        )
        if not probe.findings and "TODO(helper)" in (module.__doc__ or ""):
            pytest.xfail(f"rule {rule_id} is not implemented yet")


def test_the_seed_gives_all_four_findings() -> None:
    require_rules("misplaced-workflow", "unmatched-paths-filter")
    report = run(RepoSnapshot.from_files(seed_files()))
    assert report.errors == []
    by_rule = {}
    for finding in report.findings:
        by_rule.setdefault(finding.rule, []).append(finding)
    assert set(by_rule) == set(SEED_RULES)
    assert [f.location.line for f in by_rule["misplaced-workflow"]] == [1]
    # The filter names the place the file should be in (and, as a note, misses the
    # Dockerfile the job builds): at least the first is reported on the entry itself.
    paths_entry = line_of(WORKFLOW, '- ".github/workflows/npu-image-build_test.yml"')
    assert paths_entry in [f.location.line for f in by_rule["unmatched-paths-filter"]]
    assert len(by_rule["multi-arch-without-qemu"]) == 1
    assert len(by_rule["push-without-registry-login"]) == 1


def test_docker_findings_of_the_seed() -> None:
    report = run(
        RepoSnapshot.from_files(seed_files()),
        select=["multi-arch-without-qemu", "push-without-registry-login"],
    )
    qemu, login = report.findings
    assert qemu.rule == "multi-arch-without-qemu"
    assert qemu.location.line == line_of(WORKFLOW, "platforms: linux/arm64")
    # setup-buildx is there, so BuildKit's fallback emulators make this a warning
    assert qemu.severity is Severity.WARNING
    assert '"linux/arm64" on x64 runner "ubuntu-latest"' in qemu.message
    assert 'step "Build and push the NPU image"' in qemu.message
    assert '"ubuntu-24.04-arm"' in qemu.message
    assert f'"{DOCKERFILE}" line 2' in qemu.message

    assert login.rule == "push-without-registry-login"
    assert login.severity is Severity.ERROR
    assert login.location.line == line_of(WORKFLOW, "quay.io/example-org/trainer")
    assert 'no login to "quay.io"' in login.message
    assert "secrets are not available to pull requests from forks" in login.message
    assert "push: ${{ github.event_name != 'pull_request' }}" in login.message


def test_the_two_docker_fixes_are_one_suggestion_on_the_buildx_step() -> None:
    report = run(
        RepoSnapshot.from_files(seed_files()),
        select=["multi-arch-without-qemu", "push-without-registry-login"],
    )
    carrier, carried = report.findings
    assert carried.fix is None
    assert carried.fix_carried_by == carrier.location
    assert carrier.fix is not None and carrier.fix.applicability is Applicability.SAFE
    (edit,) = carrier.fix.edits
    buildx = line_of(WORKFLOW, "- name: Set up Docker Buildx")
    assert (edit.start_line, edit.end_line) == (buildx, buildx + 1)
    assert edit.new_text == (
        "      - name: Set up QEMU\n"
        "        uses: docker/setup-qemu-action@v3\n"
        "\n"
        "      - name: Set up Docker Buildx\n"
        "        uses: docker/setup-buildx-action@v3\n"
        "\n"
        "      - name: Log in to Quay.io\n"
        "        uses: docker/login-action@v3\n"
        "        with:\n"
        "          registry: quay.io\n"
        "          username: ${{ secrets.QUAY_USERNAME }}\n"
        "          password: ${{ secrets.QUAY_PASSWORD }}\n"
    )


def test_the_merge_does_not_depend_on_finding_order() -> None:
    report = run(
        RepoSnapshot.from_files(seed_files()),
        select=["multi-arch-without-qemu", "push-without-registry-login"],
    )
    document = YamlDocument.from_text(WORKFLOW_PATH, WORKFLOW)

    def lines(path: str) -> list[str]:
        return list(document.lines)

    # The rules' own fixes, before the engine combines them, merged in both orders.
    repo = RepoContext(RepoSnapshot.from_files(seed_files()), (WORKFLOW_PATH,))
    originals = []
    for rule_id in ("multi-arch-without-qemu", "push-without-registry-login"):
        originals.extend(registry.get(rule_id).check(FileContext(repo, document)))
    assert all(f.fix is not None for f in originals)
    forward = combine_fixes(originals, lines)
    backward = combine_fixes(list(reversed(originals)), lines)
    merged_forward = next(f.fix for f in forward if f.fix)
    merged_backward = next(f.fix for f in backward if f.fix)
    assert merged_forward.edits == merged_backward.edits
    assert merged_forward.edits == next(f.fix for f in report.findings if f.fix).edits


def fixed_seed() -> dict[str, str]:
    files = seed_files()
    report = run(RepoSnapshot.from_files(files))
    result = apply_fixes(files, report.findings, unsafe=True)
    tree = dict(files)
    tree.update(result.texts)
    for move in result.moves:
        tree[move.target] = tree.pop(move.source)
    return tree


def test_the_fixed_seed_is_valid_and_in_order() -> None:
    files = seed_files()
    report = run(
        RepoSnapshot.from_files(files),
        select=["multi-arch-without-qemu", "push-without-registry-login"],
    )
    result = apply_fixes(files, report.findings)
    text = result.texts[WORKFLOW_PATH]
    parse_yaml(text)
    qemu = line_of(text, "docker/setup-qemu-action@v3")
    buildx = line_of(text, "docker/setup-buildx-action@v3")
    login = line_of(text, "docker/login-action@v3")
    build = line_of(text, "docker/build-push-action@v6")
    assert qemu < buildx < login < build
    again = run(RepoSnapshot.from_files({**files, **result.texts}))
    assert not [f for f in again.findings if f.rule in SEED_RULES[2:]]


def test_the_fixed_seed_gives_none_of_the_four() -> None:
    require_rules("misplaced-workflow", "unmatched-paths-filter")
    tree = fixed_seed()
    assert WORKFLOW_HOME in tree and WORKFLOW_PATH not in tree
    parse_yaml(tree[WORKFLOW_HOME])
    again = run(RepoSnapshot.from_files(tree))
    assert [f for f in again.findings if f.rule in SEED_RULES] == []

"""Property: applying any offered fix, alone, to a random valid workflow keeps every file valid
YAML and removes that finding (the check itself is tests/test_fix_property.py's, run here on
workflows generated from strategies instead of the golden cases).

The workflows are built from the pieces the rules look at: runner labels of both
architectures, a matrix, Docker's setup, login and build-push actions with platforms, push
and tags on several registries, `docker push` in scripts, and `paths` filters that name the
workflow's own path or another; the file lies in `.github/workflows/` or, like the seed PR's,
in `.github/`.
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from rules.snapshot import ChangedFile, ChangeStatus
from rules.yamlpos import parse_yaml
from tests.test_fix_property import check_fix_property

RUNNERS = (
    "ubuntu-latest",
    "ubuntu-24.04",
    "ubuntu-24.04-arm",
    "macos-14",
    "[self-hosted, linux, x64]",
    "[self-hosted, linux, arm64]",
    "${{ matrix.os }}",
)
REGISTRIES = ("", "docker.io/acme/", "ghcr.io/acme/", "quay.io/acme/", "registry.example.com/")
PLATFORMS = (
    "linux/amd64",
    "linux/arm64",
    "linux/amd64,linux/arm64",
    "linux/arm/v7",
    "${{ matrix.platform }}",
)
PUSH = ("true", "false", "${{ github.event_name != 'pull_request' }}")
PATHS = (".github/workflows/build.yml", ".github/docker-build.yml", ".github/workflows/ci.yaml")


def step_lines(kind: str, draw) -> list[str]:
    if kind == "checkout":
        return ["- uses: actions/checkout@v4"]
    if kind == "qemu":
        return ["- uses: docker/setup-qemu-action@v3"]
    if kind == "buildx":
        return ["- uses: docker/setup-buildx-action@v3"]
    if kind == "login":
        registry = draw(st.sampled_from(REGISTRIES)).split("/")[0]
        lines = ["- uses: docker/login-action@v3", "  with:"]
        if registry:
            lines.append(f"    registry: {registry}")
        return [*lines, "    username: ${{ github.actor }}", "    password: ${{ secrets.TOKEN }}"]
    if kind == "build":
        lines = ["- uses: docker/build-push-action@v6", "  with:", "    context: ."]
        if draw(st.booleans()):
            lines.append(f"    platforms: {draw(st.sampled_from(PLATFORMS))}")
        if draw(st.booleans()):
            lines.append(f"    push: {draw(st.sampled_from(PUSH))}")
        tag = f"{draw(st.sampled_from(REGISTRIES))}image:latest"
        return [*lines, f"    tags: {tag}"]
    if kind == "push":
        return [f"- run: docker push {draw(st.sampled_from(REGISTRIES))}image:latest"]
    return ["- run: make test"]


@st.composite
def workflows(draw) -> tuple[dict[str, str], list[ChangedFile]]:
    path = draw(st.sampled_from(PATHS))
    lines = ["name: build", "on:"]
    if draw(st.booleans()):
        filters = draw(
            st.lists(
                st.sampled_from(
                    (path, "src/**", ".github/workflows/*.yml", "Dockerfile", "docs/**")
                ),
                min_size=1,
                max_size=3,
                unique=True,
            )
        )
        lines += ["  pull_request:", "    paths:", *[f"      - '{p}'" for p in filters]]
    else:
        lines += ["  pull_request:"]
    lines += ["  push:", "    branches: [main]", "jobs:"]
    for job in range(draw(st.integers(1, 3))):
        lines += [f"  job{job}:", f"    runs-on: {draw(st.sampled_from(RUNNERS))}"]
        if draw(st.booleans()):
            lines += [
                "    strategy:",
                "      matrix:",
                "        platform: [linux/amd64, linux/arm64]",
                "        os: [ubuntu-latest, ubuntu-24.04-arm]",
            ]
        kinds = draw(
            st.lists(
                st.sampled_from(("checkout", "qemu", "buildx", "login", "build", "push", "run")),
                min_size=1,
                max_size=6,
            )
        )
        lines.append("    steps:")
        for kind in kinds:
            lines += [f"      {line}" for line in step_lines(kind, draw)]
    dockerfile = "FROM python:3.12-slim\n" + draw(st.sampled_from(("", "RUN pip install .\n")))
    files = {path: "\n".join(lines) + "\n", "Dockerfile": dockerfile}
    return files, [ChangedFile(path, ChangeStatus.ADDED, None)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows())
def test_each_offered_fix_keeps_yaml_valid_and_removes_its_finding(case):
    files, changes = case
    for text in files.values():
        if text.startswith("name:"):
            parse_yaml(text)  # the generator only makes valid workflows
    check_fix_property(files, changes)


def test_the_generator_reaches_fixable_findings():
    """Guard against a vacuous pass: some generated workflow has a fix to check."""
    found = find(
        workflows(),
        lambda case: check_fix_property(*case) > 0,
        settings=settings(max_examples=300, deadline=None, phases=[Phase.generate]),
    )
    assert found

"""The job model: runners, matrix legs, values each step sees, expressions, call bindings."""

from __future__ import annotations

import textwrap

import pytest

from rules import expressions as ex
from rules.expressions import ANY, MARK, UNKNOWN
from rules.jobmodel import (
    Arch,
    Binding,
    Leg,
    Scope,
    Workflow,
    call_binding,
    expand_matrix,
    github_env_writes,
    runner,
    runner_for_labels,
    walk,
)
from rules.yamlpos import YamlDocument


def workflow(text: str, path: str = ".github/workflows/ci.yml") -> Workflow:
    return Workflow(YamlDocument.from_text(path, textwrap.dedent(text)))


def job_scope(wf: Workflow, job_id: str, leg: int = 0) -> Scope:
    job = wf.job(job_id)
    assert job is not None
    return Scope(wf, job, wf.legs(job)[leg], None)


def step_scope(wf: Workflow, job_id: str, step: int, leg: int = 0) -> Scope:
    job = wf.job(job_id)
    assert job is not None
    walked = walk(wf, job, wf.legs(job)[leg])
    assert walked is not None
    for candidate, scope, _ in walked.steps:
        if candidate.index == step:
            return scope
    raise AssertionError(f"step {step} does not run")


# --- runners ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "arch", "hosted"),
    [
        (["ubuntu-latest"], Arch.X64, True),
        (["ubuntu-22.04"], Arch.X64, True),
        (["ubuntu-slim"], Arch.X64, True),
        (["ubuntu-24.04-arm"], Arch.ARM64, True),
        (["ubuntu-22.04-arm"], Arch.ARM64, True),
        (["windows-latest"], Arch.X64, True),
        (["windows-2025"], Arch.X64, True),
        (["windows-11-arm"], Arch.ARM64, True),
        (["macos-latest"], Arch.ARM64, True),
        (["macos-14"], Arch.ARM64, True),
        (["macos-15"], Arch.ARM64, True),
        (["macos-26"], Arch.ARM64, True),
        (["macos-13"], Arch.X64, True),
        (["macos-12"], Arch.X64, True),
        (["macos-14-large"], Arch.X64, True),
        (["macos-latest-large"], Arch.X64, True),
        (["macos-13-xlarge"], Arch.ARM64, True),
        (["macos-15-xlarge"], Arch.ARM64, True),
        (["self-hosted", "linux", "ARM64"], Arch.ARM64, False),
        (["self-hosted", "Linux", "X64"], Arch.X64, False),
        (["self-hosted", "linux", "aarch64"], Arch.ARM64, False),
        (["linux-aarch64-a2-4"], Arch.ARM64, False),
        (["linux-amd64-cpu-4"], Arch.X64, False),
        (["arm64"], Arch.ARM64, False),
        (["self-hosted", "x86_64"], Arch.X64, False),
        (["self-hosted", "armv7"], Arch.ARM, False),
    ],
)
def test_runner_architecture_from_labels(labels: list[str], arch: Arch, hosted: bool) -> None:
    machine = runner_for_labels(labels)
    assert (machine.arch, machine.hosted) == (arch, hosted)


@pytest.mark.parametrize(
    "labels",
    [
        ["self-hosted", "gpu"],  # says nothing about the CPU
        ["self-hosted", "arm"],  # GitHub's ARM is 32-bit, people often mean arm64
        ["self-hosted", "ARM64", "X64"],  # disagree
        ["self-hosted", "ubuntu-latest"],  # a self-hosted runner named like a hosted one
        ["big-runner-16-cores"],
        [MARK],
        [],
    ],
)
def test_runner_architecture_stays_unknown(labels: list[str]) -> None:
    assert runner_for_labels(labels).arch is None


def test_runs_on_forms_per_leg() -> None:
    wf = workflow(
        """
        on: push
        jobs:
          listed:
            runs-on: [self-hosted, linux, ARM64]
            steps: [{run: "true"}]
          grouped:
            runs-on:
              group: arm-fleet
              labels: [linux, arm64]
            steps: [{run: "true"}]
          chosen:
            runs-on: ${{ contains(matrix.platform, 'arm') && 'arm64' || 'ubuntu-latest' }}
            strategy:
              matrix:
                platform: [linux/amd64, linux/arm64]
            steps: [{run: "true"}]
          from-input:
            runs-on: ${{ inputs.runner }}
            steps: [{run: "true"}]
          from-list-expression:
            runs-on: ${{ fromJSON('["self-hosted", "X64"]') }}
            steps: [{run: "true"}]
        """
    )
    assert runner(job_scope(wf, "listed")).arch is Arch.ARM64
    assert runner(job_scope(wf, "grouped")).arch is Arch.ARM64
    assert runner(job_scope(wf, "chosen", 0)).labels == ("ubuntu-latest",)
    assert runner(job_scope(wf, "chosen", 1)).labels == ("arm64",)
    assert runner(job_scope(wf, "chosen", 1)).arch is Arch.ARM64
    assert runner(job_scope(wf, "from-input")).arch is None
    assert runner(job_scope(wf, "from-list-expression")).arch is Arch.X64


# --- matrix -----------------------------------------------------------------------------------


def test_matrix_product_exclude_and_include() -> None:
    legs = expand_matrix(
        {
            "os": ["ubuntu-latest", "ubuntu-24.04-arm"],
            "arch": ["amd64", "arm64"],
            "exclude": [{"os": "ubuntu-latest", "arch": "arm64"}],
            "include": [
                {"os": "ubuntu-24.04-arm", "extra": "yes"},  # extends the matching legs
                {"arch": "amd64", "os": "windows-latest"},  # would overwrite: a new leg
                {"variant": "slim"},  # extends every leg
            ],
        }
    )
    assert legs == [
        {"os": "ubuntu-latest", "arch": "amd64", "variant": "slim"},
        {"os": "ubuntu-24.04-arm", "arch": "amd64", "extra": "yes", "variant": "slim"},
        {"os": "ubuntu-24.04-arm", "arch": "arm64", "extra": "yes", "variant": "slim"},
        {"arch": "amd64", "os": "windows-latest"},
    ]


def test_matrix_of_includes_only() -> None:
    legs = expand_matrix({"include": [{"a": "1"}, {"a": "2", "b": "x"}]})
    assert legs == [{"a": "1"}, {"a": "2", "b": "x"}]


def test_matrix_legs_of_a_job() -> None:
    wf = workflow(
        """
        on: push
        jobs:
          literal-json:
            runs-on: ubuntu-latest
            strategy:
              matrix: ${{ fromJSON('{"platform":["linux/amd64","linux/arm64"]}') }}
            steps: [{run: "true"}]
          from-other-job:
            runs-on: ubuntu-latest
            strategy:
              matrix:
                platform: ${{ fromJSON(needs.prepare.outputs.platforms) }}
            steps: [{run: "true"}]
          whole-matrix-unknown:
            runs-on: ubuntu-latest
            strategy:
              matrix: ${{ fromJSON(needs.prepare.outputs.matrix) }}
            steps: [{run: "true"}]
          include-unknown:
            runs-on: ubuntu-latest
            strategy:
              matrix:
                include: ${{ fromJSON(needs.prepare.outputs.include) }}
            steps: [{run: "true"}]
          none:
            runs-on: ubuntu-latest
            steps: [{run: "true"}]
        """
    )
    assert wf.legs(wf.job("include-unknown")) == [Leg(None)]
    legs = wf.legs(wf.job("literal-json"))
    assert [leg.values for leg in legs] == [
        {"platform": "linux/amd64"},
        {"platform": "linux/arm64"},
    ]
    (leg,) = wf.legs(wf.job("from-other-job"))
    assert leg.values == {"platform": UNKNOWN}
    assert leg.describe() == "platform=?"
    assert wf.legs(wf.job("whole-matrix-unknown")) == [Leg(None)]
    assert wf.legs(wf.job("none")) == [Leg({})]
    assert job_scope(wf, "whole-matrix-unknown").evaluate("matrix.platform") is UNKNOWN


# --- values -----------------------------------------------------------------------------------

ENV_WORKFLOW = """
on:
  push:
  pull_request:
env:
  REGISTRY: ghcr.io
  IMAGE: ${{ github.repository }}
  FROM_SECRET: ${{ secrets.NAME }}
  PUSH: ${{ github.event_name != 'pull_request' }}
jobs:
  build:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        arch: [amd64, arm64]
    env:
      REGISTRY: quay.io
      PLATFORM: linux/${{ matrix.arch }}
    steps:
      - run: echo "TAG=$(date +%s)" >> "$GITHUB_ENV"
      - env:
          IMAGE: example/app
        run: "true"
      - run: "true"
"""


def test_env_precedence_and_matrix_per_leg() -> None:
    wf = workflow(ENV_WORKFLOW)
    step = step_scope(wf, "build", 1, leg=1)
    assert step.env_value("REGISTRY") == "quay.io"  # job beats workflow
    assert step.env_value("IMAGE") == "example/app"  # step beats job and workflow
    assert step.env_value("PLATFORM") == "linux/arm64"
    assert step_scope(wf, "build", 1, leg=0).env_value("PLATFORM") == "linux/amd64"
    assert step_scope(wf, "build", 2).env_value("IMAGE") is ANY  # github.repository
    assert step.env_value("FROM_SECRET") is UNKNOWN
    assert step.env_value("NEVER_DEFINED") is UNKNOWN  # an action may have exported it
    assert set(step.evaluate("env.PUSH")) == {"true", "false"}  # env values are strings
    assert step.text("${{ env.REGISTRY }}/${{ env.IMAGE }}:1") == "quay.io/example/app:1"


def test_github_env_writes_make_values_unknown_for_later_steps() -> None:
    wf = workflow(ENV_WORKFLOW)
    job = wf.job("build")
    assert github_env_writes(job.steps[0]) == frozenset({"TAG"})
    assert step_scope(wf, "build", 0).runtime_env == frozenset()
    later = step_scope(wf, "build", 2)
    assert "TAG" in later.runtime_env
    assert later.env_value("TAG") is UNKNOWN
    assert later.shell_variables()["REGISTRY"] == "quay.io"
    assert "FROM_SECRET" not in later.shell_variables()


def test_event_name_takes_the_values_of_the_triggers() -> None:
    wf = workflow(ENV_WORKFLOW)
    scope = job_scope(wf, "build")
    assert set(scope.evaluate("github.event_name")) == {"push", "pull_request"}
    assert set(scope.evaluate("github.event_name != 'pull_request'")) == {True, False}
    assert scope.may_run("github.event_name == 'release'") is False
    assert scope.may_run("${{ github.event_name == 'push' }}") is True
    assert scope.may_run("github.ref == 'refs/heads/main'") is True  # some run
    assert scope.may_run("inputs.publish") is None  # unknown, never a finding
    assert scope.may_run("false") is False
    assert scope.may_run("always()") is True
    assert scope.may_run(None) is True
    called = workflow("on: workflow_call\njobs: {a: {runs-on: x, steps: [{run: t}]}}")
    assert called.event_names == (ANY,)


def test_a_leg_whose_job_or_step_condition_is_false_is_skipped() -> None:
    wf = workflow(
        """
        on: push
        jobs:
          build:
            if: github.event_name == 'schedule'
            runs-on: ubuntu-latest
            steps: [{run: "true"}]
          per-leg:
            runs-on: ubuntu-latest
            strategy:
              matrix:
                arch: [amd64, arm64]
            steps:
              - if: matrix.arch == 'arm64'
                run: "true"
              - run: "true"
        """
    )
    job = wf.job("build")
    assert walk(wf, job, wf.legs(job)[0]) is None
    per_leg = wf.job("per-leg")
    amd, arm = (walk(wf, per_leg, leg) for leg in wf.legs(per_leg))
    assert [step.index for step, _, _ in amd.steps] == [1]
    assert [step.index for step, _, _ in arm.steps] == [0, 1]


def test_texts_keep_alternatives_and_mark_unknown_parts() -> None:
    wf = workflow(ENV_WORKFLOW)
    scope = job_scope(wf, "build")
    assert scope.texts("${{ github.event_name == 'push' && 'a' || 'b' }}-x") == ["b-x", "a-x"]
    assert scope.text("${{ github.event_name == 'push' && 'a' || 'b' }}") == MARK
    assert scope.text("img:${{ secrets.TAG }}") == f"img:{MARK}"
    assert scope.text("plain") == "plain"


def test_step_lines_in_both_step_styles() -> None:
    wf = workflow(
        """
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - name: one
                run: "true"
              -
                name: two
                run: "true"
              # a comment
              -
                # another
                uses: actions/checkout@v4
        """
    )
    steps = wf.job("a").steps
    assert [(s.first_line, s.last_line) for s in steps] == [(7, 8), (9, 11), (13, 15)]
    assert steps[2].action == "actions/checkout" and steps[2].ref == "v4"
    assert steps[2].display == "actions/checkout@v4"


# --- reusable workflows -----------------------------------------------------------------------


def test_call_binding_passes_values_defaults_and_alternatives() -> None:
    caller = workflow(
        """
        on:
          push:
          pull_request:
        jobs:
          call:
            uses: ./.github/workflows/build.yml
            strategy:
              matrix:
                arch: [arm64]
            with:
              platforms: linux/${{ matrix.arch }}
              push: ${{ github.event_name != 'pull_request' }}
              flag: "true"
              secret-ish: ${{ secrets.X }}
        """
    )
    callee = workflow(
        """
        on:
          workflow_call:
            inputs:
              platforms: {type: string}
              push: {type: boolean, default: false}
              flag: {type: boolean}
              image: {type: string, default: quay.io/example/app}
              tag: {type: string}
              secret-ish: {type: string}
        jobs:
          build: {runs-on: ubuntu-latest, steps: [{run: "true"}]}
        """,
        ".github/workflows/build.yml",
    )
    job = caller.job("call")
    binding = call_binding(caller, job, caller.legs(job)[0], callee)
    inputs = binding.inputs
    assert inputs["platforms"] == "linux/arm64"
    assert isinstance(inputs["push"], ex.Several) and set(inputs["push"]) == {True, False}
    assert inputs["flag"] is True
    assert inputs["image"] == "quay.io/example/app"
    assert inputs["tag"] == ""
    assert inputs["secret-ish"] is UNKNOWN
    assert set(binding.events) == {"push", "pull_request"}
    bound = callee.bound(binding)
    scope = job_scope(bound, "build")
    assert set(scope.evaluate("inputs.push")) == {True, False}
    assert scope.text("${{ inputs.image }}:${{ inputs.tag }}") == "quay.io/example/app:"
    unbound = job_scope(callee, "build")
    assert unbound.evaluate("inputs.push") is UNKNOWN
    assert Binding().inputs is None


# --- expressions ------------------------------------------------------------------------------


def lookup(name: str):
    return {
        "matrix": {"os": "Ubuntu-Latest", "n": 3.0, "list": ["a", "b"]},
        "github": ANY,
        "secrets": UNKNOWN,
    }.get(name, UNKNOWN)


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("matrix.os == 'ubuntu-latest'", (True,)),  # strings compare case-insensitively
        ("matrix['os']", ("Ubuntu-Latest",)),
        ("matrix.missing", (None,)),
        ("matrix.n == '3'", (True,)),  # mixed types compare as numbers
        ("matrix.n > 2 && matrix.n < 4", (True,)),
        ("!matrix.missing", (True,)),
        ("contains(matrix.list, 'B')", (True,)),
        ("contains('linux/arm64', 'ARM')", (True,)),
        ("startsWith('refs/tags/v1', 'refs/tags/')", (True,)),
        ("endsWith('app.yml', '.yaml')", (False,)),
        ("format('{0}/{1}:{{x}}', 'ghcr.io', 'app')", ("ghcr.io/app:{x}",)),
        ("join(matrix.list, '+')", ("a+b",)),
        ("fromJSON('{\"a\": [1, true]}').a[1]", (True,)),
        ("toJSON('x')", ('"x"',)),
        ("matrix.missing || 'fallback'", ("fallback",)),
        ("matrix.os && 'yes'", ("yes",)),
        ("github.ref == 'refs/heads/main'", (True, False)),
        ("github.sha", (ANY,)),
        ("github.ref && 'a' || 'b'", ("a", ANY, "b")),
        ("secrets.TOKEN != ''", UNKNOWN),
        ("secrets.TOKEN || 'x'", UNKNOWN),
        ("'a' || secrets.TOKEN", ("a",)),
        ("case(matrix.n == 3, 'three', 'other')", ("three",)),
        ("success() && failure()", (False,)),
        ("unknownFunction(1)", UNKNOWN),
        ("matrix.os ==", UNKNOWN),  # not an expression
    ],
)
def test_expression_values(expression: str, value) -> None:
    result = ex.evaluate(expression, lookup)
    if value is UNKNOWN:
        assert result is UNKNOWN
    else:
        assert result is not UNKNOWN
        assert sorted(map(repr, result)) == sorted(map(repr, value))


def test_texts_with_unknown_parts_compare_as_unknown() -> None:
    def with_marked(name: str):
        return {"env": {"IMAGE": f"ghcr.io/{MARK}"}}.get(name, UNKNOWN)

    assert ex.evaluate("env.IMAGE == 'ghcr.io/x'", with_marked) is UNKNOWN
    assert ex.evaluate("contains(env.IMAGE, 'ghcr')", with_marked) is UNKNOWN
    assert ex.may_be_true(ex.evaluate("env.IMAGE", with_marked)) is True  # non-empty
    assert ex.may_be_true((MARK,)) is None


def test_may_be_true() -> None:
    assert ex.may_be_true((False, "")) is False
    assert ex.may_be_true((False, ANY)) is True
    assert ex.may_be_true((0.0, "x")) is True
    assert ex.may_be_true(UNKNOWN) is None

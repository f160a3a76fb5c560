"""A job builds an image for a CPU its runner cannot run, and no QEMU is set up first.

What it does
------------
Finds image builds (docker/build-push-action `platforms`, docker/bake-action
`set: *.platform=...`, `docker buildx build --platform ...` / `docker build --platform ...`
in `run:`, and reusable workflows in the same repository that get platforms through
`with:`) for a platform the job's runner does not execute natively, with no
`docker/setup-qemu-action` step (or other binfmt/QEMU install) earlier in the same job.
Every matrix leg is checked with its own runner and platforms.

The finding is an error when the job has no `docker/setup-buildx-action` either, and a
warning when it has one: BuildKit's container driver ships fallback emulators that work for
some builds and fail for others. Builds on a native runner (arm64 on `ubuntu-24.04-arm`,
amd64 on `ubuntu-latest`, or a matrix that puts each platform on its own native runner)
are fine, and so is anything that cannot be resolved (platforms from an input, a runner
label that does not say its architecture, a remote builder). When the build's Dockerfile
can be read and runs commands only in `FROM --platform=$BUILDPLATFORM` stages (it
cross-compiles), nothing runs emulated and nothing is flagged. Steps of composite actions in
the repository count as steps of the job.

Why it matters
--------------
`RUN` instructions of a foreign-architecture image execute that architecture's binaries.
Without binfmt handlers for QEMU the build fails with `exec format error`, or, with the
builder's built-in fallback, fails only for some images (mixed-architecture stages,
programs that check argv[0]).

Bad
---
```yaml
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: docker/setup-buildx-action@v3
      - uses: docker/build-push-action@v6
        with:
          platforms: linux/amd64,linux/arm64
```

Good
----
```yaml
    steps:
      - uses: docker/setup-qemu-action@v3
      - uses: docker/setup-buildx-action@v3
      - uses: docker/build-push-action@v6
        with:
          platforms: linux/amd64,linux/arm64
```
or build `linux/arm64` on a native arm runner such as `ubuntu-24.04-arm`.

Fix safety
----------
Safe: the fix inserts a `Set up QEMU` step (docker/setup-qemu-action, at the version the
file's other docker actions use; a tag, with a note, when they are pinned to commit SHAs)
before the buildx setup, or before the build when there is none, written in the file's own
step style. In a matrix with native legs the step is conditioned on the foreign legs.
Installing emulators changes nothing for native builds. For a reusable workflow the fix
edits the called workflow. Steps written in flow style (`steps: [...]`) get no fix.

References
----------
- https://docs.docker.com/build/ci/github-actions/multi-platform/
- https://github.com/docker/setup-qemu-action
- https://docs.github.com/en/actions/using-github-hosted-runners/about-github-hosted-runners
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
import itertools
import logging
import re
from typing import Any

from rules import docker
from rules.context import FileContext
from rules.docker import Build, BuilderSetup, Place, QemuSetup
from rules.jobmodel import (
    MARK,
    Job,
    Leg,
    Runner,
    Step,
    Workflow,
    runner,
    shared_workflow,
)
from rules.model import Applicability, Finding, Fix, FixAvailability, Location, Rule, Severity
from rules.stepedit import insert_step, yaml_scalar
from rules.yamlpos import get

log = logging.getLogger(__name__)

RULE = Rule(
    id="multi-arch-without-qemu",
    title="foreign-architecture image build without QEMU",
    severity=Severity.ERROR,
    fix_availability=FixAvailability.SOMETIMES,  # not for steps written in flow style
)

NATIVE_ARM_RUNNER = "ubuntu-24.04-arm"
NATIVE_X64_RUNNER = "ubuntu-latest"


@dataclass(frozen=True, slots=True)
class _Offence:
    leg: Leg
    runner: Runner
    platforms: tuple[str, ...]  # the foreign ones, as written
    archs: tuple[str, ...]
    builds_native_too: bool
    has_builder: bool
    place: Place
    anchor: Step
    evidence: str = ""  # where the Dockerfile runs target-platform code, when known
    narrow_qemu: bool = False  # QEMU was set up, but for other platforms only


@dataclass(slots=True)
class Problem:
    """A job that builds for a foreign platform before any QEMU setup."""

    workflow: Workflow
    job: Job
    step: Step  # the first such build
    offences: list[_Offence] = field(default_factory=list)
    other_sites: list[Place] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, int]:
        return (self.job.id, self.step.index)

    @property
    def place(self) -> Place:
        return self.offences[0].place

    @property
    def severity(self) -> Severity:
        if all(offence.has_builder for offence in self.offences):
            return Severity.WARNING
        return Severity.ERROR


def problems(workflow: Workflow) -> list[Problem]:
    """Once per workflow and binding: a reusable workflow's own check and its callers share
    the result (nothing changes a Problem once it is made)."""
    return workflow.memo((RULE.id, "problems"), lambda: _problems(workflow))


def _problems(workflow: Workflow) -> list[Problem]:
    found: list[Problem] = []
    for job in workflow.jobs:
        if job.calls:
            continue
        problem = _job_problem(workflow, job)
        if problem is not None:
            found.append(problem)
    return found


def _job_problem(workflow: Workflow, job: Job) -> Problem | None:
    by_step: dict[int, list[_Offence]] = {}
    for leg in workflow.legs(job):
        steps = docker.leg_effects(workflow, job, leg)
        if steps is None:
            continue
        machine = runner(steps.scope)
        if machine.arch is None:
            continue
        qemu: list[frozenset[str] | None] = []
        builder: str | None = None
        builder_step: Step | None = None
        for step, _, found in steps.steps:
            for effect in found:
                if isinstance(effect, QemuSetup):
                    qemu.append(effect.archs)
                elif isinstance(effect, BuilderSetup):
                    builder = effect.kind
                    builder_step = step if step.action == "docker/setup-buildx-action" else None
                elif isinstance(effect, Build):
                    if effect.remote or builder == "remote":
                        continue
                    evidence = _target_run(workflow, effect)
                    if evidence is False:
                        continue
                    offence = _offence(effect, machine, qemu, builder, builder_step, step, leg)
                    if offence is not None and evidence:
                        offence = replace(offence, evidence=evidence)
                    if offence is not None:
                        by_step.setdefault(step.index, []).append(offence)
    if not by_step:
        return None
    first = min(by_step)
    step = next(step for step in job.steps if step.index == first)
    problem = Problem(workflow, job, step, by_step[first])
    for index in sorted(by_step)[1:]:
        problem.other_sites.append(by_step[index][0].place)
    return problem


def _target_run(workflow: Workflow, build: Build) -> str | bool | None:
    """Where the build's Dockerfile runs target-platform code ("Dockerfile" line 7), False
    when it runs commands only in stages of the build platform (`FROM
    --platform=$BUILDPLATFORM`: a cross-compiling Dockerfile needs no emulator), None when
    the Dockerfile cannot be read."""
    if build.dockerfile is None or workflow.texts is None:
        return None
    text = workflow.texts(build.dockerfile)
    if text is None:
        return None
    run = docker.target_run(text)
    if run is None:
        return False
    return f'"{build.dockerfile}" line {run.line}'


def _offence(
    build: Build,
    machine: Runner,
    qemu: list[frozenset[str] | None],
    builder: str | None,
    builder_step: Step | None,
    step: Step,
    leg: Leg,
) -> _Offence | None:
    assert machine.arch is not None
    foreign: list[str] = []
    archs: list[str] = []
    native_too = False
    for text in build.platforms:
        platform = docker.normalise_platform(text)
        if platform is None or platform[0] != "linux":
            continue
        arch = platform[1]
        is_native = docker.native(machine.arch.value, machine.hosted, arch)
        if is_native:
            native_too = True
        if is_native is not False:
            continue
        if any(covered is None or arch in covered for covered in qemu):
            continue
        if text.strip() not in foreign:
            foreign.append(text.strip())
            archs.append(arch)
    if not foreign:
        return None
    return _Offence(
        leg=leg,
        runner=machine,
        platforms=tuple(foreign),
        archs=tuple(archs),
        builds_native_too=native_too,
        has_builder=builder == "container",
        place=build.place,
        anchor=builder_step or step,
        narrow_qemu=bool(qemu),
    )


# --- messages ---------------------------------------------------------------------------------


def _quoted(values: list[str] | tuple[str, ...]) -> str:
    return ", ".join(f'"{v}"' for v in values)


def _describe_offences(offences: list[_Offence]) -> str:
    pairs: dict[tuple[tuple[str, ...], str], None] = {}
    for offence in offences:
        machine = offence.runner
        arch = machine.arch.value if machine.arch else "unknown"
        pairs[(offence.platforms, f'{arch} runner "{machine.label_text}"')] = None
    return " and ".join(f"{_quoted(p)} on {r}" for p, r in pairs)


def _alternative(offences: list[_Offence]) -> str:
    archs = {arch for o in offences for arch in o.archs}
    runner_archs = {o.runner.arch.value for o in offences if o.runner.arch}
    native_too = any(o.builds_native_too for o in offences)
    if archs == {"arm64"} and runner_archs == {"x64"}:
        if native_too:
            return (
                "; alternatively build each platform on a native runner "
                f'("{NATIVE_ARM_RUNNER}" for "linux/arm64")'
            )
        return f'; alternatively run on a native arm runner such as "{NATIVE_ARM_RUNNER}"'
    if archs == {"amd64"} and runner_archs == {"arm64"}:
        return f'; alternatively build "linux/amd64" on an x64 runner such as "{NATIVE_X64_RUNNER}"'
    return ""


def _other_qemu(workflow: Workflow, problem: Problem, where: str) -> str:
    job = problem.job
    for step in job.steps:
        if step.index > problem.step.index and step.action == "docker/setup-qemu-action":
            return (
                f"; the docker/setup-qemu-action step at line {step.first_line}{where} "
                "runs after it"
            )
    for other in workflow.jobs:
        if other.id == job.id:
            continue
        if any(step.action == "docker/setup-qemu-action" for step in other.steps):
            return (
                f'; the docker/setup-qemu-action step in job "{other.id}" does not carry over '
                "to this job"
            )
    return ""


def message(problem: Problem, where: str = "") -> str:
    """The finding's text; `where` follows line numbers that are not in the flagged file."""
    step = problem.step
    if all(offence.narrow_qemu for offence in problem.offences):
        text = (
            f'job "{problem.job.id}" builds {_describe_offences(problem.offences)} but the '
            f'QEMU set up before step "{step.display}" (line {step.first_line}{where}) '
            "emulates other platforms only"
        )
    else:
        text = (
            f'job "{problem.job.id}" builds {_describe_offences(problem.offences)} but no '
            f'docker/setup-qemu-action step runs before step "{step.display}" '
            f"(line {step.first_line}{where})"
        )
    evidence = problem.offences[0].evidence
    if evidence:
        text += f"; {evidence} runs commands in the target platform's image"
    text += _other_qemu(problem.workflow, problem, where)
    if problem.severity is Severity.WARNING:
        text += "; the buildx builder's own emulators are only a fallback"
    text += _alternative(problem.offences)
    version = docker.action_version(problem.workflow.document, "docker/setup-qemu-action")
    if version.tag_for_pinned_file:
        tag = version.uses.split("@", 1)[1]
        text += (
            f'; the fix uses the tag "{tag}": pin it to a commit SHA like the file\'s other '
            "docker actions"
        )
    return text


# --- the fix ----------------------------------------------------------------------------------


def _leg_condition(workflow: Workflow, problem: Problem) -> str | None:
    """`matrix.<key> == '<value>'` selecting exactly the foreign legs, when some legs of the
    job build natively; None when every leg needs QEMU or no key tells them apart."""
    offending = [o.leg.values for o in problem.offences if o.leg.values]
    if not offending:
        return None
    all_legs = [leg.values for leg in workflow.legs(problem.job) if leg.values is not None]
    others = [values for values in all_legs if values not in offending]
    if not others:
        return None
    preferred = _mentioned_keys(problem)
    order = list(offending[0].keys())
    keys = sorted(order, key=lambda k: (k not in preferred, order.index(k)))
    for size in (1, 2):
        for chosen in itertools.combinations(keys, size):
            wanted = _combos(offending, chosen)
            rest = _combos(others, chosen)
            if wanted is None or rest is None or set(wanted) & set(rest):
                continue
            terms = [
                " && ".join(
                    f"matrix.{key} == {_expression_string(value)}"
                    for key, value in zip(chosen, combo, strict=True)
                )
                for combo in wanted
            ]
            if size > 1 and len(terms) > 1:
                terms = [f"({term})" for term in terms]
            return " || ".join(terms)
    return None


def _mentioned_keys(problem: Problem) -> set[str]:
    texts = [problem.workflow.document.line_text(problem.place.line)]
    runs_on = get(problem.job.node, "runs-on")
    if runs_on is not None:
        texts.append(problem.workflow.document.line_text(runs_on.start_mark.line + 1))
    return {m for text in texts for m in re.findall(r"matrix\.([A-Za-z0-9_-]+)", text)}


def _combos(legs: list[Any], keys: tuple[str, ...]) -> list[tuple[str, ...]] | None:
    """The distinct values of keys over legs (None when one is not a known string)."""
    combos: list[tuple[str, ...]] = []
    for values_of_leg in legs:
        combo = tuple(values_of_leg.get(key) for key in keys)
        if not all(isinstance(v, str) and MARK not in v for v in combo):
            return None
        if combo not in combos:
            combos.append(combo)  # type: ignore[arg-type]
    return combos  # type: ignore[return-value]


def _expression_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def fix(problem: Problem) -> Fix | None:
    workflow = problem.workflow
    job = problem.job
    if job.steps_node is None:
        return None
    anchor = problem.offences[0].anchor
    version = docker.action_version(workflow.document, "docker/setup-qemu-action")
    fields: list[tuple[str, Any]] = [("name", "Set up QEMU")]
    condition = _leg_condition(workflow, problem)
    if condition:
        fields.append(("if", yaml_scalar(condition)))
    fields.append(("uses", version.uses))
    edit = insert_step(workflow.document, job.steps_node, anchor.node, fields, before=True)
    if edit is None:
        return None
    tag = version.uses.split(" ")[0]
    return Fix(
        title=f'insert a "Set up QEMU" step ({tag}) before step "{anchor.display}"',
        applicability=Applicability.SAFE,
        edits=(edit,),
    )


# --- the rule ---------------------------------------------------------------------------------


def _location(path: str, place: Place) -> Location:
    return Location(path, place.line, place.column, place.end_line, place.end_column)


def check(ctx: FileContext) -> Iterator[Finding]:
    if not ctx.is_workflow:
        return
    workflow = shared_workflow(ctx.repo, ctx.document, ctx.repo.document, ctx.repo.snapshot.read)
    found = problems(workflow)
    docker.note_capped_matrices(ctx.repo, workflow)
    for problem in found:
        yield RULE.finding(
            _location(ctx.path, problem.place),
            message(problem),
            fix=fix(problem),
            severity=problem.severity,
            route=problem.place.route,
            subject=",".join(problem.offences[0].platforms),
            related=[_location(ctx.path, place) for place in problem.other_sites],
        )
    yield from _caller_findings(ctx, workflow)


def _caller_findings(ctx: FileContext, workflow: Workflow) -> Iterator[Finding]:
    """Problems that appear in a reusable workflow of this repository only with the inputs
    this file passes to it; reported at the call."""
    for job, path, problem in docker.problems_in_callees(ctx.repo, workflow, problems):
        yield _caller_finding(ctx, job, path, problem)


def _caller_finding(ctx: FileContext, job: Job, path: str, problem: Problem) -> Finding:
    document = ctx.document
    with_node = get(job.node, "with")
    platforms = get(with_node, "platforms")
    if platforms is not None:
        route: tuple = ("jobs", job.id, "with", "platforms")
        location = document.node_location(platforms)
    else:
        route = ("jobs", job.id, "uses")
        location = document.node_location(get(job.node, "uses"))
    text = f'job "{job.id}" calls "{job.calls}", where ' + message(problem, f" of {path}")
    return RULE.finding(
        location,
        text,
        fix=fix(problem),
        severity=problem.severity,
        route=route,
        subject=f"{path}:{problem.job.id}:{','.join(problem.offences[0].platforms)}",
    )

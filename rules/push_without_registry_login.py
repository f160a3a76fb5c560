"""A job pushes an image to a registry it never logged in to.

What it does
------------
Finds pushes (docker/build-push-action `push: true` or an expression that can be true,
`outputs: type=image,...,push=true` or `type=registry`, docker/bake-action pushes,
`docker push`, `docker buildx build --push`, `docker buildx imagetools create`, and
reusable workflows in the same repository that push with the inputs given in `with:`),
works out the registry of every pushed image reference (its first component when that has
a dot or a colon or is `localhost`, Docker Hub otherwise; docker/metadata-action tags are
followed to the step's `images:`), and checks that a login to that registry runs earlier in
the same job.

Logins that count: docker/login-action (no `registry:` means Docker Hub), `docker login
[host]` in `run:` (with `--password-stdin` too), aws-actions/amazon-ecr-login for ECR hosts,
`gcloud auth configure-docker` for gcr.io and `*-docker.pkg.dev`, azure/docker-login,
redhat-actions/podman-login, build-push-action v1's own `username`/`password`, other
actions whose name says they log in, and logins inside composite actions of the repository.
A login to another registry does not count; registries on the runner (`localhost`,
`127.0.0.1`, a service container of the job) need none. A push whose target or whose
`push:` value cannot be resolved gives no finding, and neither does a push that only other
tools know about (GoReleaser, `make push`). The finding is an error on GitHub-hosted
runners and a warning when the job runs only on self-hosted runners, which may have been
logged in beforehand.

Why it matters
--------------
The push fails with `unauthorized` or `denied`, usually after a long build, and often only
on the branch or tag that publishes. Logins do not carry over between jobs.

Bad
---
```yaml
    steps:
      - uses: docker/build-push-action@v6
        with:
          push: true
          tags: quay.io/acme/app:latest
```

Good
----
```yaml
    steps:
      - uses: docker/login-action@v3
        with:
          registry: quay.io
          username: ${{ secrets.QUAY_USERNAME }}
          password: ${{ secrets.QUAY_PASSWORD }}
      - uses: docker/build-push-action@v6
        with:
          push: true
          tags: quay.io/acme/app:latest
```

Fix safety
----------
Safe: the fix inserts a docker/login-action step for the registry before the push (after
the buildx setup when there is one), written in the file's own step style, with the
credentials the file already uses for that registry, or `secrets.<REGISTRY>_USERNAME` and
`secrets.<REGISTRY>_PASSWORD` (`github.actor` and `GITHUB_TOKEN` for ghcr.io). The secrets
must exist. On `pull_request` events from forks secrets are empty; the message suggests
`push: ${{ github.event_name != 'pull_request' }}` for that, which the fix does not apply
because it changes what the workflow publishes. Steps written in flow style get no fix.

References
----------
- https://github.com/docker/login-action
- https://docs.docker.com/build/ci/github-actions/push-multi-registries/
- https://docs.github.com/en/actions/security-for-github-actions/security-guides/using-secrets-in-github-actions
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
import logging
import re
from typing import Any

from rules import docker
from rules.context import FileContext
from rules.docker import ImageRef, Login, Place, Push
from rules.jobmodel import (
    MARK,
    Binding,
    Job,
    Step,
    Workflow,
    runner,
    shared_workflow,
)
from rules.model import Applicability, Finding, Fix, FixAvailability, Location, Rule, Severity
from rules.stepedit import insert_step, yaml_scalar
from rules.yamlpos import MappingNode, ScalarNode, get, scalar

log = logging.getLogger(__name__)

RULE = Rule(
    id="push-without-registry-login",
    title="image push without a login to its registry",
    severity=Severity.ERROR,
    fix_availability=FixAvailability.SOMETIMES,  # not for steps written in flow style
)


@dataclass(slots=True)
class Problem:
    """A job that pushes to `registry` before any login to it."""

    workflow: Workflow
    job: Job
    registry: str
    step: Step  # the first push to the registry without a login
    ref: ImageRef
    push: Push
    other_logins: list[tuple[Login, Step]] = field(default_factory=list)
    # Some leg that pushes runs on a GitHub-hosted runner, which is never logged in
    # beforehand; a self-hosted runner may be (E4 of the seed notes), so only a warning.
    hosted: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.job.id, self.registry)

    @property
    def severity(self) -> Severity:
        return Severity.ERROR if self.hosted else Severity.WARNING


def problems(workflow: Workflow) -> list[Problem]:
    """Once per workflow and binding: a reusable workflow's own check and its callers share
    the result (nothing changes a Problem once it is made)."""
    return workflow.memo((RULE.id, "problems"), lambda: _problems(workflow))


def _problems(workflow: Workflow) -> list[Problem]:
    found: list[Problem] = []
    for job in workflow.jobs:
        if not job.calls:
            found.extend(_job_problems(workflow, job))
    return found


def _job_problems(workflow: Workflow, job: Job) -> list[Problem]:
    by_registry: dict[str, Problem] = {}
    for leg in workflow.legs(job):
        steps = docker.leg_effects(workflow, job, leg)
        if steps is None:
            continue
        hosted = runner(steps.scope).hosted
        logins: list[tuple[Login, Step]] = []
        for step, _, found in steps.steps:
            for effect in found:
                if isinstance(effect, Login):
                    logins.append((effect, step))
                elif isinstance(effect, Push) and effect.may_push is True:
                    for ref in effect.refs:
                        host = docker.registry_of(ref.text)
                        if host is None or docker.is_local_registry(host, job.services):
                            continue
                        if any(login.covers(host) for login, _ in logins):
                            continue
                        if any(login.covers(host) for login in effect.own_logins):
                            continue
                        current = by_registry.get(host)
                        if current is None or step.index < current.step.index:
                            by_registry[host] = current = Problem(
                                workflow, job, host, step, ref, effect, list(logins)
                            )
                        current.hosted = current.hosted or hosted
    return sorted(by_registry.values(), key=lambda p: (p.step.index, p.ref.place.line, p.registry))


# --- messages ---------------------------------------------------------------------------------


def _display_ref(text: str) -> str:
    return text.replace(MARK, "*")


def _permissions_grant_packages(job: Job, workflow: Workflow) -> bool:
    for node in (get(job.node, "permissions"), get(workflow.root, "permissions")):
        if node is None:
            continue
        if isinstance(node, ScalarNode):
            return (scalar(node) or "") == "write-all"
        if isinstance(node, MappingNode):
            return (scalar(get(node, "packages")) or "") == "write"
    return False


def _pushes_on_pull_request(problem: Problem) -> bool:
    workflow = problem.workflow
    events = workflow.event_names
    if "pull_request" not in events:
        return False
    narrowed = workflow.bound(
        Binding(workflow.binding.inputs, ("pull_request",), workflow.binding.depth)
    )
    job = narrowed.job(problem.job.id)
    if job is None:
        return False
    return any(p.registry == problem.registry for p in _job_problems(narrowed, job))


def _login_elsewhere(problem: Problem) -> str:
    for other in problem.workflow.jobs:
        if other.id == problem.job.id or other.calls:
            continue
        for leg in problem.workflow.legs(other)[:1]:
            steps = docker.leg_effects(problem.workflow, other, leg)
            if steps is None:
                continue
            for step, _, found in steps.steps:
                for effect in found:
                    if isinstance(effect, Login) and effect.covers(problem.registry):
                        return (
                            f'; the login in job "{other.id}" (line {step.first_line}) does not '
                            "carry over to this job"
                        )
    return ""


def message(problem: Problem, where: str = "") -> str:
    step = problem.step
    text = (
        f'job "{problem.job.id}" pushes "{_display_ref(problem.ref.text)}" but no login to '
        f'"{problem.registry}" runs before step "{step.display}" (line {step.first_line}{where})'
    )
    others = [
        (login, login_step)
        for login, login_step in problem.other_logins
        if login.hosts and login.kind != "own"
    ]
    if others:
        login, login_step = others[-1]
        text += (
            f"; the login to {login.describe()} at line {login_step.first_line}{where} "
            "is for another registry"
        )
    text += _login_elsewhere(problem)
    if not problem.hosted:
        text += "; unless the self-hosted runner is logged in already"
    if problem.registry == "ghcr.io" and not _permissions_grant_packages(
        problem.job, problem.workflow
    ):
        text += '; pushing with GITHUB_TOKEN also needs "permissions: packages: write" on the job'
    if _pushes_on_pull_request(problem):
        text += (
            "; the workflow runs on pull_request, and secrets are not available to pull "
            "requests from forks: consider push: ${{ github.event_name != 'pull_request' }} "
            "and the same condition on the login step"
        )
    return text


# --- the fix ----------------------------------------------------------------------------------

_REGISTRY_NAMES = {
    "docker.io": "Docker Hub",
    "ghcr.io": "GitHub Container Registry",
    "quay.io": "Quay.io",
    "public.ecr.aws": "Amazon ECR Public",
}
_NOISE_LABELS = frozenset({"registry", "docker", "cr", "hub", "www", "containers", "container"})


def _secret_prefix(host: str) -> str:
    if host == "docker.io":
        return "DOCKERHUB"
    labels = host.split(":")[0].split(".")
    meaningful = [label for label in labels[:-1] if label not in _NOISE_LABELS] or labels[:1]
    return re.sub(r"[^A-Z0-9]+", "_", meaningful[0].upper()).strip("_") or "REGISTRY"


def _existing_credentials(workflow: Workflow, host: str) -> tuple[str, str] | None:
    """username/password of a docker/login-action step for host elsewhere in the file."""
    for job in workflow.jobs:
        for step in job.steps:
            if step.action != "docker/login-action":
                continue
            registry = scalar(step.with_node("registry"))
            resolved = docker.normalise_host(registry) if registry else docker.DOCKER_HUB
            if registry and "${{" in registry:
                continue
            if resolved != host:
                continue
            username = scalar(step.with_node("username"))
            password = scalar(step.with_node("password"))
            if username and password and "\n" not in username + password:
                return username, password
    return None


def _secret_names_in_file(workflow: Workflow, prefix: str) -> tuple[str | None, str | None]:
    names = set(re.findall(r"secrets\.([A-Za-z0-9_]+)", workflow.document.text))
    user = next((f"{prefix}_{s}" for s in ("USERNAME", "USER") if f"{prefix}_{s}" in names), None)
    secret = next(
        (f"{prefix}_{s}" for s in ("PASSWORD", "TOKEN", "PAT") if f"{prefix}_{s}" in names), None
    )
    return user, secret


def _credentials(workflow: Workflow, host: str) -> tuple[str, str]:
    existing = _existing_credentials(workflow, host)
    if existing:
        return existing
    if host == "ghcr.io":
        return "${{ github.actor }}", "${{ secrets.GITHUB_TOKEN }}"
    if docker.ECR_PRIVATE.fullmatch(host) or host == docker.ECR_PUBLIC:
        return "${{ secrets.AWS_ACCESS_KEY_ID }}", "${{ secrets.AWS_SECRET_ACCESS_KEY }}"
    if docker.GOOGLE_REGISTRY.fullmatch(host):
        key = "GAR_JSON_KEY" if host.endswith("pkg.dev") else "GCR_JSON_KEY"
        return "_json_key", f"${{{{ secrets.{key} }}}}"
    if host.endswith(".azurecr.io"):
        return "${{ secrets.AZURE_CLIENT_ID }}", "${{ secrets.AZURE_CLIENT_SECRET }}"
    prefix = _secret_prefix(host)
    user, secret = _secret_names_in_file(workflow, prefix)
    return (
        f"${{{{ secrets.{user or prefix + '_USERNAME'} }}}}",
        f"${{{{ secrets.{secret or prefix + '_PASSWORD'} }}}}",
    )


def _anchor(problem: Problem) -> tuple[Step, bool]:
    """Where the login goes: right after the last buildx setup before the push (the usual
    order: buildx, login, build), else right before the push step. Returns (step, before)."""
    buildx = [
        step
        for step in problem.job.steps
        if step.index < problem.step.index and step.action == "docker/setup-buildx-action"
    ]
    if buildx:
        return buildx[-1], False
    return problem.step, True


def fix(problem: Problem) -> Fix | None:
    workflow = problem.workflow
    job = problem.job
    if job.steps_node is None:
        return None
    host = problem.registry
    username, password = _credentials(workflow, host)
    version = docker.action_version(workflow.document, "docker/login-action")
    inputs: list[tuple[str, str]] = []
    if host != docker.DOCKER_HUB:
        inputs.append(("registry", yaml_scalar(host)))
    inputs += [("username", yaml_scalar(username)), ("password", yaml_scalar(password))]
    fields: list[tuple[str, Any]] = [
        ("name", yaml_scalar(f"Log in to {_REGISTRY_NAMES.get(host, host)}")),
        ("uses", version.uses),
        ("with", inputs),
    ]
    anchor, before = _anchor(problem)
    edit = insert_step(workflow.document, job.steps_node, anchor.node, fields, before=before)
    if edit is None:
        return None
    where = "before" if before else "after"
    return Fix(
        title=(f'insert a docker/login-action step for "{host}" {where} step "{anchor.display}"'),
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
        place = problem.ref.place
        related = []
        if problem.push.place != place:
            related.append(_location(ctx.path, problem.push.place))
        yield RULE.finding(
            _location(ctx.path, place),
            message(problem),
            fix=fix(problem),
            severity=problem.severity,
            route=place.route,
            subject=problem.registry,
            related=related,
        )
    yield from _caller_findings(ctx, workflow)


def _caller_findings(ctx: FileContext, workflow: Workflow) -> Iterator[Finding]:
    """Problems that appear in a reusable workflow of this repository only with the inputs
    this file passes to it; reported at the call."""
    for job, path, problem in docker.problems_in_callees(ctx.repo, workflow, problems):
        yield RULE.finding(
            ctx.document.node_location(get(job.node, "uses")),
            f'job "{job.id}" calls "{job.calls}", where ' + message(problem, f" of {path}"),
            fix=fix(problem),
            severity=problem.severity,
            route=("jobs", job.id, "uses"),
            subject=f"{path}:{problem.job.id}:{problem.registry}",
        )

"""A workflow file in a place GitHub never loads it from.

What it does
------------
Flags a file whose content is a GitHub Actions workflow (top-level `on` and `jobs`, a job
with `runs-on`, `uses` or `steps`) that lies where GitHub will never load it: anything that is
not a `.yml`/`.yaml` file directly inside `.github/workflows/` at the repository root. The
shapes seen in real repositories: `.github/ci.yml`, `.github/workflow/ci.yml` (singular),
`.github/workflows/sub/ci.yml`, `github/workflows/ci.yml`, `workflows/ci.yml`,
`.github/workflows/ci.yml.txt`, and a file literally named `.github`.

It also flags a job that calls a local reusable workflow (`uses: ./ci/build.yml`) stored
anywhere but directly in `.github/workflows/`, and that called file itself.

Never flagged: composite and Docker actions, dependabot, labeler and issue-template files,
config data and compose files (none of them look like a workflow); org `workflow-templates/`,
GitHub starter workflows (`$default-branch` placeholders) and template trees (`templates/`,
`{{cookiecutter...}}` folders, `.tt`/`.j2`/`.tmpl`/`.example` names); a workflow-looking file
outside `.github/`, `github/` and `workflows/` that no workflow calls (examples, fixtures,
vendored projects); and `.github/` folders below the repository root, which belong to
vendored projects and fixtures far more often than to mistakes.

Deliberately parked workflows (a subfolder such as `.github/workflows/.stash/`, `disabled/`,
`archive/`, `old/`, or a name such as `ci.yml.disabled`) get a note only.

NOTE: `.YML`/`.YAML` (upper case) names directly inside `.github/workflows/` are not flagged:
whether GitHub loads them is not documented.

Why it matters
--------------
GitHub silently ignores the file: no error, no run, no check. The author believes the
workflow guards the branch, builds the image or runs the tests, and nothing happens. A call
to a reusable workflow outside `.github/workflows/` fails the calling workflow.

Bad
---
```yaml
# .github/docker-build.yml
on:
  push:
    branches: [main]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
```

Good
----
The same file at `.github/workflows/docker-build.yml`.

Fix safety
----------
The fix is a move to `.github/workflows/<name>` (an extra suffix such as `.txt` dropped; a
file named `.github` takes its name from the workflow's `name:`). A review suggestion cannot
rename a file, so the fix is display-only there and its title carries the `git mv` line;
`preflight check --fix` performs the move. When `.github/workflows/<name>` already exists,
no move is offered: the existing file is usually the live copy of the same workflow (a stray
duplicate next to it is the common story), and moving the stray one under a suffixed name
would make both run. The message says so and leaves the choice to a human.

For a caller of a misplaced reusable workflow, the fix points `uses:` at the new place and
carries the same move (safe: it makes the call do what it evidently meant).

A parked file gets no fix: it was parked on purpose, and moving it back switches it on.

References
----------
- https://docs.github.com/en/actions/writing-workflows/about-workflows#about-workflows
- https://docs.github.com/en/actions/sharing-automations/reusing-workflows#creating-a-reusable-workflow
"""

from __future__ import annotations

from collections.abc import Iterator
import logging
import posixpath

from rules.context import FileContext, RepoContext, looks_like_workflow
from rules.model import (
    Applicability,
    Edit,
    Finding,
    Fix,
    FixAvailability,
    Location,
    Move,
    Rule,
    Severity,
)
from rules.snapshot import is_workflow_location
from rules.workflow_places import (
    WORKFLOWS_DIR,
    Place,
    Placement,
    Shape,
    classify,
    move_command,
    workflow_target,
)
from rules.yamlpos import Node, YamlDocument, get, is_mapping, items, scalar, seq

log = logging.getLogger(__name__)

RULE = Rule(
    id="misplaced-workflow",
    title="workflow file in a place GitHub never loads",
    severity=Severity.ERROR,
    fix_availability=FixAvailability.SOMETIMES,
)


def placement_of(document: YamlDocument) -> Placement:
    """Where this workflow-shaped document lies (shared with unmatched-paths-filter)."""
    name = scalar(get(document.root, "name"))
    return classify(document.path, document.text, name)


def whole_file_location(document: YamlDocument) -> Location:
    first = document.line_text(1).rstrip("\r\n")
    return Location(document.path, 1, 1, 1, len(first) + 1)


def move_fix(repo: RepoContext, source: str, target: str) -> Fix:
    folder_exists = any(is_workflow_location(path) for path in repo.snapshot.paths)
    command = move_command(source, target, folder_exists)
    return Fix(
        title=f'Move the file to "{target}": {command}',
        applicability=Applicability.DISPLAY_ONLY,
        moves=(Move(source, target),),
    )


def planned_move(repo: RepoContext, document: YamlDocument) -> Move | None:
    """The move misplaced-workflow offers for this document, if any (other rules use it so
    that their fixes agree with it)."""
    placement = placement_of(document)
    if placement.place is not Place.MISPLACED or placement.target is None:
        return None
    if repo.snapshot.exists(placement.target):
        return None
    return Move(document.path, placement.target)


def check(ctx: FileContext) -> Iterator[Finding]:
    document = ctx.document
    if not looks_like_workflow(document.root):
        return
    placement = placement_of(document)
    if placement.place is Place.MISPLACED:
        yield _misplaced(ctx, placement)
    elif placement.place is Place.PARKED:
        yield RULE.finding(
            whole_file_location(document),
            f'workflow is parked in "{placement.parked_by}" where GitHub does not load it, '
            "so it never runs"
            if placement.parked_by.endswith("/")
            else f'workflow file name ends in "{placement.parked_by}", so GitHub does not load '
            "it and it never runs",
            severity=Severity.NOTE,
            subject=document.path,
        )
    elif placement.place is Place.UNRELATED:
        finding = _called_from_elsewhere(ctx)
        if finding is not None:
            yield finding
    if placement.place in (Place.LOADED, Place.MISPLACED):
        yield from _local_calls(ctx)


def _misplaced(ctx: FileContext, placement: Placement) -> Finding:
    path = ctx.path
    target = placement.target or workflow_target(path)
    shape = placement.shape
    if shape is Shape.DOT_GITHUB_FILE:
        message = (
            'workflow is a file named ".github"; GitHub runs workflows only from files inside '
            f'the "{WORKFLOWS_DIR}/" folder, so it never runs'
        )
    elif shape is Shape.SUBFOLDER:
        folder = posixpath.dirname(path)
        message = (
            f'workflow is in the subfolder "{folder}/"; GitHub does not load workflows from '
            f'subfolders of "{WORKFLOWS_DIR}/", so it never runs'
        )
    elif shape is Shape.EXTENSION:
        message = (
            f'workflow file name "{posixpath.basename(path)}" does not end in ".yml" or '
            '".yaml", so GitHub never loads it'
        )
    else:
        folder = posixpath.dirname(path) or "."
        message = (
            f'workflow is in "{folder}/", not directly inside "{WORKFLOWS_DIR}/", so GitHub '
            "never runs it"
        )
    fix = None
    if ctx.repo.snapshot.exists(target):
        message += f'; "{target}" already exists, so compare the two and keep one'
    else:
        fix = move_fix(ctx.repo, path, target)
    return RULE.finding(whole_file_location(ctx.document), message, fix=fix, subject=path)


def _called_from_elsewhere(ctx: FileContext) -> Finding | None:
    """A reusable workflow outside any workflow-ish folder, called by some workflow."""
    on = get(ctx.root, "on")
    if "workflow_call" not in _event_names(on):
        return None
    reference = f"./{ctx.path}"
    for caller in sorted(ctx.repo.workflow_paths()):
        text = ctx.repo.snapshot.read(caller)
        if not text or reference not in text:
            continue
        document = ctx.repo.document(caller)
        if document is None:
            continue
        for job_id, uses, _ in _local_uses(document):
            if _normalise_local(uses) == ctx.path:
                target = workflow_target(ctx.path)
                message = (
                    f'reusable workflow is called by job "{job_id}" of "{caller}" but is not '
                    f'directly inside "{WORKFLOWS_DIR}/"; GitHub runs reusable workflows only '
                    "from there"
                )
                fix = None
                if ctx.repo.snapshot.exists(target):
                    message += f'; "{target}" already exists, so compare the two and keep one'
                else:
                    fix = move_fix(ctx.repo, ctx.path, target)
                return RULE.finding(
                    whole_file_location(ctx.document), message, fix=fix, subject=ctx.path
                )
    return None


def _event_names(on: Node | None) -> set[str]:
    """The events of `on:` in any of its three forms (string, list, mapping)."""
    text = scalar(on)
    if text is not None:
        return {text}
    if is_mapping(on):
        return {key.value for key, _ in items(on)}
    return {name for item in seq(on) if (name := scalar(item))}


def _normalise_local(uses: str) -> str:
    return posixpath.normpath(uses[2:]) if uses.startswith("./") else uses


def _local_uses(document: YamlDocument) -> Iterator[tuple[str, str, Node]]:
    for job_key, job in items(get(document.root, "jobs")):
        node = get(job, "uses")
        uses = scalar(node)
        if uses and uses.startswith("./"):
            yield job_key.value, uses, node


def _local_calls(ctx: FileContext) -> Iterator[Finding]:
    """Jobs that call a local reusable workflow stored outside .github/workflows/."""
    document = ctx.document
    snapshot = ctx.repo.snapshot
    for job_id, uses, node in _local_uses(document):
        callee = _normalise_local(uses)
        if is_workflow_location(callee):
            continue
        target = workflow_target(callee)
        location = document.node_location(node)
        message = (
            f'job "{job_id}" calls reusable workflow "{uses}", which is not directly inside '
            f'"{WORKFLOWS_DIR}/"; GitHub runs reusable workflows only from there'
        )
        fix = None
        if snapshot.exists(target):
            message += f'; "{target}" already exists'
        elif snapshot.exists(callee) and location.line == location.end_line:
            line = document.line_text(location.line)
            start, end = location.column - 1, location.end_column - 1
            quote = line[start] if line[start] in "'\"" else ""
            new_line = f"{line[:start]}{quote}./{target}{quote}{line[end:]}"
            folder_exists = any(is_workflow_location(p) for p in snapshot.paths)
            fix = Fix(
                title=(
                    f'Call "./{target}" and move the reusable workflow there: '
                    f"{move_command(callee, target, folder_exists)}"
                ),
                applicability=Applicability.SAFE,
                edits=(Edit(ctx.path, location.line, location.line, new_line),),
                moves=(Move(callee, target),),
            )
        yield RULE.finding(location, message, fix=fix, route=("jobs", job_id, "uses"), subject=uses)

"""Where a workflow file lies, and where GitHub would load it from.

GitHub loads workflows only from `.yml`/`.yaml` files directly inside `.github/workflows/` at
the repository root. This module sorts every other place a workflow-shaped file can be found
into: misplaced by mistake (with the place it was meant for), parked on purpose, a template,
or a place that says nothing about intent (examples, fixtures, vendored projects).

Both `misplaced-workflow` and `unmatched-paths-filter` use it, so that their findings and
fixes always agree on where the file belongs.
"""

from __future__ import annotations

from dataclasses import dataclass
import enum
import posixpath
import re

from rules.snapshot import YAML_SUFFIXES, is_workflow_location

WORKFLOWS_DIR = ".github/workflows"


class Place(enum.Enum):
    LOADED = "loaded"  # GitHub loads it
    MISPLACED = "misplaced"  # meant to be a workflow, in a place GitHub never loads
    PARKED = "parked"  # deliberately kept where GitHub does not load it
    TEMPLATE = "template"  # a template for generating workflows, not one itself
    UNRELATED = "unrelated"  # a place that says nothing about being meant as a workflow


class Shape(enum.Enum):
    """How a misplaced workflow went wrong; the message explains each differently."""

    DOT_GITHUB_FILE = "a file named .github"
    OUTSIDE = "outside .github/workflows"
    SUBFOLDER = "in a subfolder of .github/workflows"
    EXTENSION = "a name not ending in .yml or .yaml"


@dataclass(frozen=True, slots=True)
class Placement:
    place: Place
    shape: Shape | None = None
    # The folder or suffix that marks a parked file, e.g. ".github/workflows/.stash/".
    parked_by: str = ""
    # Where the file belongs: `.github/workflows/<name>` (misplaced files only).
    target: str | None = None


# Folder names and name suffixes people use to switch a workflow off on purpose.
PARKING_FOLDERS = frozenset(
    {
        "stash",
        "disabled",
        "disable",
        "archive",
        "archived",
        "deprecate",
        "deprecated",
        "old",
        "unused",
        "inactive",
        "backup",
        "backups",
        "bak",
        "attic",
        "obsolete",
        "retired",
        "legacy",
        "paused",
        "draft",
        "drafts",
        "wip",
        "off",
        "trash",
        "graveyard",
    }
)
PARKING_SUFFIXES = frozenset(
    {
        "disabled",
        "disable",
        "bak",
        "backup",
        "old",
        "off",
        "orig",
        "skip",
        "save",
        "unused",
        "inactive",
        "deprecated",
        "archived",
        "stash",
        "draft",
        "wip",
    }
)
TEMPLATE_FOLDERS = frozenset(
    {
        "workflow-templates",
        "template",
        "templates",
        "skeleton",
        "skeletons",
        "scaffold",
        "scaffolds",
        "scaffolding",
        "boilerplate",
        "blueprint",
        "blueprints",
        "starter-workflows",
    }
)
TEMPLATE_SUFFIXES = frozenset(
    {
        "tt",
        "tmpl",
        "tpl",
        "template",
        "j2",
        "jinja",
        "jinja2",
        "njk",
        "erb",
        "ejs",
        "hbs",
        "mustache",
        "liquid",
        "example",
        "examples",
        "sample",
        "dist",
        "in",
        "gotmpl",
    }
)
# Top-level folders whose name says "this is where my workflows go".
_INTENT_ROOTS = frozenset({".github", "github", "workflows", "workflow", ".workflows"})

# Placeholders of GitHub starter workflows and org workflow templates, and template-engine
# markers (cookiecutter, copier, jinja, erb, go templates).
_TEMPLATE_TEXT_RE = re.compile(
    r"\$(?:default-branch|protected-branches|cron-[a-z]+)\b"
    r"|\{\{\s*(?:cookiecutter|copier)\."
    r"|^[ \t]*(?:\{%|<%)",
    re.MULTILINE,
)
# Template engines put their markers in folder names: `{{cookiecutter.slug}}`, `<%= name %>`.
_TEMPLATE_PATH_RE = re.compile(r"\{\{|\{%|<%|^_?cookiecutter")


def _folder_is_template(name: str) -> bool:
    lowered = name.lower()
    return (
        lowered.lstrip("._") in TEMPLATE_FOLDERS or bool(_TEMPLATE_PATH_RE.search(lowered))
    ) and lowered != ".github"


def _folder_is_parking(name: str) -> bool:
    """`.stash`, `disabled`, `workflows-disabled`, `old_workflows`..."""
    return any(word in PARKING_FOLDERS for word in re.split(r"[-_.\s]+", name.lower()))


def yaml_name(name: str) -> tuple[str, list[str]]:
    """Split a file name into its `.yml`/`.yaml` stem name and the suffixes after it:
    `x.yml.txt` -> (`x.yml`, [`txt`]); `x.txt` -> (`x.txt`, [])."""
    lowered = name.lower()
    for suffix in YAML_SUFFIXES:
        index = lowered.rfind(suffix + ".")
        if index > 0:
            cut = index + len(suffix)
            return name[:cut], name[cut + 1 :].split(".")
    return name, []


def workflow_target(path: str, preferred_name: str | None = None) -> str:
    """`.github/workflows/<name>` for a misplaced file: its own yaml name, with any extra
    suffix dropped (`x.yml.txt` -> `x.yml`)."""
    name, _ = yaml_name(posixpath.basename(path))
    if not name.lower().endswith(YAML_SUFFIXES):
        name = preferred_name or "workflow.yml"
    return f"{WORKFLOWS_DIR}/{name}"


def slug_name(title: str | None) -> str:
    """A file name from a workflow's `name:` ("Docker CI" -> "docker-ci.yml")."""
    slug = re.sub(r"[^a-z0-9]+", "-", (title or "").lower()).strip("-")
    return f"{slug or 'workflow'}.yml"


def looks_like_template_text(text: str) -> bool:
    return bool(_TEMPLATE_TEXT_RE.search(text))


def classify(path: str, text: str = "", workflow_name: str | None = None) -> Placement:
    """Where a workflow-shaped file at path lies. `text` is the file's text (for template
    placeholders); `workflow_name` its `name:` (to name the target of a file called
    `.github`)."""
    if is_workflow_location(path):
        return Placement(Place.LOADED)
    parts = path.split("/")
    if text and looks_like_template_text(text):
        return Placement(Place.TEMPLATE)
    if any(_folder_is_template(part) for part in parts[:-1]):
        return Placement(Place.TEMPLATE)
    name = parts[-1]
    stem, extra = yaml_name(name)
    lowered_extra = [part.lower() for part in extra]
    if any(part in TEMPLATE_SUFFIXES for part in lowered_extra):
        return Placement(Place.TEMPLATE)
    if path == ".github":
        return Placement(
            Place.MISPLACED,
            Shape.DOT_GITHUB_FILE,
            target=f"{WORKFLOWS_DIR}/{slug_name(workflow_name)}",
        )
    if parts[0].lower() not in _INTENT_ROOTS or len(parts) < 2:
        return Placement(Place.UNRELATED)
    if not stem.lower().endswith(YAML_SUFFIXES):
        # Only yaml-named files (and the file `.github`) are taken for workflows.
        return Placement(Place.UNRELATED)
    in_workflows = parts[0] == ".github" and len(parts) > 2 and parts[1] == "workflows"
    if in_workflows and len(parts) == 3 and not extra:
        # `ci.YML`: whether GitHub loads upper-case extensions is not documented.
        return Placement(Place.UNRELATED)
    for depth, part in enumerate(parts[1:-1], start=1):
        if _folder_is_parking(part):
            return Placement(Place.PARKED, parked_by="/".join(parts[: depth + 1]) + "/")
    if any(part in PARKING_SUFFIXES for part in lowered_extra):
        return Placement(Place.PARKED, parked_by=f".{'.'.join(extra)}")
    if in_workflows and len(parts) > 3:
        shape = Shape.SUBFOLDER
    elif extra and in_workflows:
        shape = Shape.EXTENSION
    else:
        shape = Shape.OUTSIDE
    return Placement(Place.MISPLACED, shape, target=workflow_target(path))


def move_command(source: str, target: str, folder_exists: bool) -> str:
    """The shell line that performs the move (a file named `.github` must make way for the
    folder of the same name first)."""
    if source == ".github":
        temp = posixpath.basename(target)
        return f"git mv .github {temp} && mkdir -p {WORKFLOWS_DIR} && git mv {temp} {target}"
    prefix = "" if folder_exists else f"mkdir -p {WORKFLOWS_DIR} && "
    return f"{prefix}git mv {source} {target}"

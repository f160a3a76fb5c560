"""What a job is at run time, as far as the YAML tells: its matrix legs, the runner's
architecture in each leg, its steps in order, and the values each step sees.

Values come from ``rules.expressions``: ``${{ matrix.x }}`` is resolved per leg (``include``
and ``exclude`` too), ``${{ env.X }}`` from the step, job and workflow ``env``, ``inputs``
from the caller of a reusable workflow when there is one. Whatever cannot be resolved (an
input, a secret, another job's output, a variable an earlier step wrote to ``$GITHUB_ENV``)
is unknown. In text, an unknown part is replaced by ``MARK``; callers treat text with a
mark as partly known (a registry host can be known while the tag is not).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
import enum
import itertools
import logging
import math
import re
from typing import Any, Protocol, TypeVar

from rules import expressions as ex
from rules.expressions import ANY, MARK, UNKNOWN
from rules.stepedit import dash_line
from rules.yamlpos import (
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
    YamlDocument,
    get,
    items,
    scalar,
)

log = logging.getLogger(__name__)

__all__ = [
    "MARK",
    "Arch",
    "Binding",
    "Job",
    "Leg",
    "Runner",
    "Scope",
    "Step",
    "Workflow",
    "runner_for_labels",
]

MAX_LEGS = 256
MAX_ALTERNATIVE_TEXTS = 16


# --- runners ----------------------------------------------------------------------------------


class Arch(enum.Enum):
    X64 = "x64"
    ARM64 = "arm64"
    ARM = "arm"  # 32-bit
    X86 = "x86"


@dataclass(frozen=True, slots=True)
class Runner:
    """The machine of one matrix leg. arch is None when the labels do not say."""

    labels: tuple[str, ...]
    arch: Arch | None
    hosted: bool  # a GitHub-hosted image, whose hardware is known

    @property
    def label_text(self) -> str:
        return ", ".join(label.replace(MARK, "?") for label in self.labels)


_HOSTED_X64 = re.compile(
    r"ubuntu-(latest|slim|\d+\.\d+)|windows-(latest|\d{4})|macos-(latest|\d+)-large"
    r"|macos-(1[0-3]|[0-9])(\.\d+)?"
)
_HOSTED_ARM64 = re.compile(
    r"ubuntu-(latest|\d+\.\d+)-arm|windows-(latest|\d+)-arm|macos-latest|macos-(latest|\d+)-xlarge"
    r"|macos-(1[4-9]|[2-9]\d)(\.\d+)?|macos-\d+-arm64"
)
_LABEL_ARCH = (
    (re.compile(r"(?<![a-z0-9])(arm64|aarch64|armv8)(?![a-z0-9])"), Arch.ARM64),
    (re.compile(r"(?<![a-z0-9])(x64|amd64|x86[-_]64)(?![a-z0-9])"), Arch.X64),
    (re.compile(r"(?<![a-z0-9])(armv7l?|armhf|arm32)(?![a-z0-9])"), Arch.ARM),
)


def hosted_arch(label: str) -> Arch | None:
    """The architecture of a GitHub-hosted runner label, or None for other labels."""
    text = label.strip().lower()
    if _HOSTED_ARM64.fullmatch(text):
        return Arch.ARM64
    if _HOSTED_X64.fullmatch(text):
        return Arch.X64
    return None


def runner_for_labels(labels: list[str]) -> Runner:
    """The runner a `runs-on` label list selects.

    A GitHub-hosted label decides alone. Otherwise (self-hosted and custom larger runners)
    the architecture comes from labels such as `ARM64`, `aarch64`, `X64` or `linux-amd64-4`;
    a plain `arm` is ambiguous (GitHub's own label means 32-bit, people often mean arm64)
    and stays unknown, and so do labels that disagree.
    """
    clean = tuple(label.strip() for label in labels if label.strip())
    if not clean or any(MARK in label for label in clean):
        return Runner(clean, None, False)
    hosted = {hosted_arch(label) for label in clean} - {None}
    if len(hosted) == 1 and not any(label.lower() == "self-hosted" for label in clean):
        return Runner(clean, hosted.pop(), True)
    found: set[Arch] = set()
    for label in clean:
        lowered = label.lower()
        for pattern, arch in _LABEL_ARCH:
            if pattern.search(lowered):
                found.add(arch)
    if len(found) == 1:
        return Runner(clean, found.pop(), False)
    return Runner(clean, None, False)


# --- the workflow -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Binding:
    """What a caller fixes when it calls a reusable workflow: its inputs and its event."""

    inputs: Mapping[str, Any] | None = None  # None: not called from a known caller
    events: tuple[str, ...] | None = None  # github.event_name of the caller's run
    depth: int = 0


@dataclass(frozen=True, slots=True)
class Step:
    index: int
    node: MappingNode
    route: tuple[str | int, ...]
    uses: str | None  # the raw `uses:` value
    action: str | None  # lower-case owner/repo[/path] of `uses`, without the ref
    ref: str | None
    run: ScalarNode | None
    id: str | None
    name: str | None
    condition: str | None
    first_line: int  # the line of the step's dash
    last_line: int

    def with_node(self, key: str) -> Node | None:
        return get(get(self.node, "with"), key)

    def with_keys(self) -> list[str]:
        return [key.value for key, _ in items(get(self.node, "with"))]

    @property
    def display(self) -> str:
        if self.name:
            return self.name
        if self.uses:
            return self.uses
        if self.run is not None:
            first = (self.run.value or "").strip().splitlines()
            text = first[0] if first else ""
            return text if len(text) <= 40 else text[:37] + "..."
        return f"#{self.index + 1}"


@dataclass(frozen=True, slots=True)
class Leg:
    """One matrix combination. values is None when the matrix cannot be resolved."""

    values: Mapping[str, Any] | None

    def describe(self) -> str:
        if not self.values:
            return ""
        parts = []
        for key, value in self.values.items():
            text = ex.to_text(value) if value is not UNKNOWN else None
            parts.append(f"{key}={text if text is not None else '?'}")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    node: MappingNode
    steps: tuple[Step, ...]
    steps_node: SequenceNode | None
    calls: str | None  # `uses:` of a reusable-workflow job

    @property
    def route(self) -> tuple[str, ...]:
        return ("jobs", self.id)

    @property
    def condition(self) -> str | None:
        return _condition_text(get(self.node, "if"))

    @property
    def services(self) -> frozenset[str]:
        return frozenset(key.value.lower() for key, _ in items(get(self.node, "services")))


def _condition_text(node: Node | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, ScalarNode):
        if node.tag.endswith(":bool"):
            return node.value.lower()
        return node.value
    return None


def _split_uses(uses: str) -> tuple[str, str | None]:
    target, _, ref = uses.partition("@")
    return target.strip().lower(), (ref.strip() or None)


DocumentReader = Callable[[str], "YamlDocument | None"]
TextReader = Callable[[str], "str | None"]


def make_step(
    document: YamlDocument, route: tuple[str | int, ...], index: int, node: MappingNode
) -> Step:
    keys: dict[str, Node] = {}
    for key, value in items(node):
        keys[key.value] = value  # the last one wins, as in get()
    uses = scalar(keys.get("uses"))
    action, ref = _split_uses(uses) if uses else (None, None)
    run = keys.get("run")
    name = scalar(keys.get("name"))
    return Step(
        index=index,
        node=node,
        route=route,
        uses=uses,
        action=action,
        ref=ref,
        run=run if isinstance(run, ScalarNode) else None,
        id=scalar(keys.get("id")),
        name=name.strip() if name else None,
        condition=_condition_text(keys.get("if")),
        first_line=dash_line(document, node),
        last_line=document.last_line(node),
    )


class Workflow:
    """A parsed workflow file with the binding it is analysed under."""

    def __init__(
        self,
        document: YamlDocument,
        binding: Binding | None = None,
        documents: DocumentReader | None = None,
        texts: TextReader | None = None,
        *,
        _family: _Family | None = None,
    ):
        self.document = document
        self.binding = binding or Binding()
        # Read other files of the repository (local actions, Dockerfiles); None when there is
        # no repository to read from.
        self.documents = documents
        self.texts = texts
        root = document.root
        self.root = root
        self.triggers = _triggers(get(root, "on"))
        # The jobs and steps depend on the document only: every binding of it shares them.
        if _family is None:
            _family = _Family(tuple(self._jobs()))
        self._family = _family
        self.jobs = _family.jobs
        self._legs: dict[int, tuple[Job, list[Leg]]] = {}
        self._memo: dict[Any, Any] = {}

    @property
    def path(self) -> str:
        return self.document.path

    def bound(self, binding: Binding) -> Workflow:
        """The workflow under another binding; equal bindings give the same object, so what
        is memoised on it (legs, effects, problems) is worked out once."""
        key = _binding_key(binding)
        if key is None:
            return Workflow(
                self.document, binding, self.documents, self.texts, _family=self._family
            )
        found = self._family.bound.get(key)
        if found is None:
            found = Workflow(
                self.document, binding, self.documents, self.texts, _family=self._family
            )
            self._family.bound[key] = found
        return found

    def memo(self, key: Any, factory: Callable[[], _T]) -> _T:
        """factory(), once per key for this workflow under this binding."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = factory()
            return value

    @property
    def capped_jobs(self) -> frozenset[str]:
        """Jobs (of any binding of this document) whose matrix had more legs than MAX_LEGS."""
        return frozenset(self._family.capped)

    @property
    def event_names(self) -> ex.Value:
        """The values github.event_name can take in runs of this workflow."""
        if self.binding.events is not None:
            return tuple(self.binding.events) or (ANY,)
        if "workflow_call" in self.triggers or not self.triggers:
            return (ANY,)
        return tuple(sorted(self.triggers))

    def input_definitions(self) -> dict[str, MappingNode | None]:
        """The inputs of `on.workflow_call` (name -> its definition)."""
        call = get(get(self.root, "on"), "workflow_call")
        return {key.value: value for key, value in items(get(call, "inputs"))}

    def _jobs(self) -> Iterator[Job]:
        for key, node in items(get(self.root, "jobs")):
            if not isinstance(node, MappingNode):
                continue
            steps_node = get(node, "steps")
            steps = []
            if isinstance(steps_node, SequenceNode):
                for index, step_node in enumerate(steps_node.value):
                    if isinstance(step_node, MappingNode):
                        steps.append(self._step(key.value, index, step_node))
            calls = scalar(get(node, "uses"))
            yield Job(
                key.value,
                node,
                tuple(steps),
                steps_node if isinstance(steps_node, SequenceNode) else None,
                calls,
            )

    def _step(self, job_id: str, index: int, node: MappingNode) -> Step:
        return make_step(self.document, ("jobs", job_id, "steps", index), index, node)

    def job(self, job_id: str) -> Job | None:
        for job in self.jobs:
            if job.id == job_id:
                return job
        return None

    # --- matrix -------------------------------------------------------------------------------

    def legs(self, job: Job) -> list[Leg]:
        """Every matrix leg of a job (one leg without values when there is no matrix); the
        same Leg objects on every call."""
        cached = self._legs.get(id(job))
        if cached is None or cached[0] is not job:
            cached = self._legs[id(job)] = (job, self._expand_legs(job))
        return list(cached[1])

    def _expand_legs(self, job: Job) -> list[Leg]:
        matrix = get(get(job.node, "strategy"), "matrix")
        if matrix is None:
            return [Leg({})]
        scope = Scope(self, job, Leg({}), None)
        value = scope.node_value(matrix)
        combos, capped = _expand_matrix(value) if isinstance(value, dict) else (None, False)
        if capped:
            self._family.capped.add(job.id)
        if combos is None:
            return [Leg(None)]
        return [Leg(combo) for combo in combos] or [Leg({})]


class _Family:
    """What the Workflows of one document under different bindings share."""

    __slots__ = ("bound", "capped", "jobs")

    def __init__(self, jobs: tuple[Job, ...]):
        self.jobs = jobs
        self.bound: dict[Any, Workflow] = {}
        self.capped: set[str] = set()


_T = TypeVar("_T")


def _binding_key(binding: Binding) -> Any:
    """A hashable stand-in for a binding, equal only for bindings that evaluate alike; None
    when that cannot be told cheaply (lists and dicts among the inputs compare by identity in
    expressions, so they are never shared)."""
    inputs = None
    if binding.inputs is not None:
        parts = []
        for name, value in binding.inputs.items():
            frozen = _scalar_key(value)
            if frozen is None:
                return None
            parts.append((name, frozen))
        inputs = tuple(parts)
    events = None
    if binding.events is not None:
        events = tuple(_scalar_key(event) for event in binding.events)
        if None in events:
            return None
    return (inputs, events, binding.depth)


def _scalar_key(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is bool or kind is int or value is None:
        return (kind, value)
    if kind is float:
        return (kind, repr(value))
    if value is UNKNOWN or value is ANY:
        return (value,)
    if kind is ex.Several:
        parts = tuple(_scalar_key(item) for item in value)
        return None if None in parts else (kind, parts)
    return None


class _Memo(Protocol):
    def memo(self, key: Any, factory: Callable[[], Any]) -> Any: ...


def shared_workflow(
    repo: _Memo, document: YamlDocument, documents: DocumentReader | None, texts: TextReader | None
) -> Workflow:
    """The unbound Workflow of a document, built once per run (repo is the run's
    RepoContext): the rules of the file itself and the callers of a reusable workflow share
    it, and with it its bound variants and everything memoised on them."""
    document_id, workflow = repo.memo(
        ("jobmodel.workflow", id(document)),
        lambda: (document, Workflow(document, None, documents, texts)),
    )
    if document_id is not document:  # cannot happen while the run holds its documents
        return Workflow(document, None, documents, texts)
    return workflow


def _triggers(node: Node | None) -> frozenset[str]:
    if isinstance(node, ScalarNode):
        return frozenset({node.value}) if node.value else frozenset()
    if isinstance(node, SequenceNode):
        return frozenset(scalar(item) for item in node.value if scalar(item))
    if isinstance(node, MappingNode):
        return frozenset(key.value for key, _ in items(node))
    return frozenset()


def expand_matrix(matrix: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """GitHub's matrix expansion: the product of the keys, minus `exclude`, plus `include`.

    An include entry extends every combination whose original values it does not
    overwrite; an entry that extends none becomes a combination of its own. None when
    `include` itself cannot be resolved. At most MAX_LEGS combinations.
    """
    return _expand_matrix(matrix)[0]


def _expand_matrix(matrix: Mapping[str, Any]) -> tuple[list[dict[str, Any]] | None, bool]:
    """expand_matrix, and whether combinations past MAX_LEGS were left out."""
    keys = [k for k in matrix if k not in ("include", "exclude")]
    axes = []
    for key in keys:
        value = matrix[key]
        if value is UNKNOWN:
            axes.append([UNKNOWN])
        elif isinstance(value, list):
            axes.append(value)
        else:
            axes.append([value])
    combos: list[dict[str, Any]] = []
    capped = False
    if keys:
        capped = math.prod(len(axis) for axis in axes) > MAX_LEGS
        for values in itertools.islice(itertools.product(*axes), MAX_LEGS):
            combos.append(dict(zip(keys, values, strict=True)))
    excludes = matrix.get("exclude")
    if isinstance(excludes, list):
        combos = [
            combo
            for combo in combos
            if not any(isinstance(e, dict) and _matches(combo, e) for e in excludes)
        ]
    includes = matrix.get("include")
    extra: list[dict[str, Any]] = []
    if isinstance(includes, list):
        original = set(keys)
        for entry in includes:
            if not isinstance(entry, dict):
                continue
            added = False
            for combo in combos:
                if all(k not in original or _same(combo.get(k), v) for k, v in entry.items()):
                    combo.update(entry)
                    added = True
            if not added:
                extra.append(dict(entry))
    elif includes is UNKNOWN:
        return None, capped
    legs = combos + extra
    return legs[:MAX_LEGS], capped or len(legs) > MAX_LEGS


def _same(a: Any, b: Any) -> bool:
    if a is UNKNOWN or b is UNKNOWN:
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a == b
    return ex.equal(a, b)


def _matches(combo: Mapping[str, Any], pattern: Mapping[str, Any]) -> bool:
    for key, value in pattern.items():
        if key not in combo:
            return False
        actual = combo[key]
        if isinstance(value, dict) and isinstance(actual, dict):
            if not _matches(actual, value):
                return False
        elif not _same(actual, value):
            return False
    return True


# --- scopes -----------------------------------------------------------------------------------


class _EnvContext(ex.Context):
    def __init__(self, scope: Scope):
        self.scope = scope

    def get(self, name: str) -> Any:
        return self.scope.env_value(name)


class _GithubContext(ex.Context):
    def __init__(self, workflow: Workflow):
        self.workflow = workflow

    def get(self, name: str) -> Any:
        lowered = name.lower()
        if lowered == "event_name":
            return ex.Several(self.workflow.event_names)
        if lowered == "event":
            return _EventContext()
        return ANY


class _EventContext(ex.Context):
    def get(self, name: str) -> Any:
        # workflow_dispatch inputs are chosen by a person: opaque like other inputs.
        return UNKNOWN if name.lower() == "inputs" else ANY


class Scope:
    """What one step (or the job itself, step=None) sees in one matrix leg."""

    def __init__(
        self,
        workflow: Workflow,
        job: Job | None,
        leg: Leg,
        step: Step | None,
        runtime_env: frozenset[str] = frozenset(),
        inputs: Mapping[str, Any] | None = None,
    ):
        self.workflow = workflow
        self.job = job
        self.leg = leg
        self.step = step
        # The inputs of a composite action the step belongs to (else the workflow's).
        self.inputs = inputs
        # Names earlier steps of the job wrote to $GITHUB_ENV: their values are unknown.
        self.runtime_env = runtime_env
        self._env_cache: dict[str, Any] = {}
        self._resolving: set[str] = set()

    def for_step(self, step: Step | None, runtime_env: frozenset[str] = frozenset()) -> Scope:
        return Scope(self.workflow, self.job, self.leg, step, runtime_env, self.inputs)

    def for_action(self, step: Step, inputs: Mapping[str, Any]) -> Scope:
        """The scope of a step of a composite action called with `inputs`."""
        return Scope(self.workflow, self.job, self.leg, step, self.runtime_env, inputs)

    # --- contexts -------------------------------------------------------------------------

    def lookup(self, name: str) -> Any:
        if name == "matrix":
            if self.leg.values is None:
                return UNKNOWN
            return dict(self.leg.values)
        if name == "env":
            return _EnvContext(self)
        if name == "github":
            return _GithubContext(self.workflow)
        if name == "inputs":
            inputs = self.inputs if self.inputs is not None else self.workflow.binding.inputs
            return UNKNOWN if inputs is None else dict(inputs)
        if name in ("runner", "job", "strategy"):
            return ANY
        return UNKNOWN  # secrets, vars, steps, needs, and anything new

    def evaluate(self, expression: str) -> ex.Value:
        return ex.evaluate(expression, self.lookup)

    # --- text -----------------------------------------------------------------------------

    def texts(self, text: str) -> list[str]:
        """Every text the template can become (unknown parts replaced by MARK)."""
        results = [""]
        for is_expression, part in ex.split_template(text):
            if not is_expression:
                results = [r + part for r in results]
                continue
            value = self.evaluate(part)
            options: list[str]
            if value is UNKNOWN:
                options = [MARK]
            else:
                options = []
                for item in value:
                    piece = ex.to_text(item)
                    options.append(MARK if piece is None else piece)
            results = list(dict.fromkeys(r + o for r in results for o in options))
            if len(results) > MAX_ALTERNATIVE_TEXTS:
                return [MARK]  # too many to tell apart: unknown
        return results

    def text(self, text: str) -> str:
        """The one text a template becomes, or MARK when it can become several."""
        options = self.texts(text)
        return options[0] if len(options) == 1 else MARK

    def value(self, text: str) -> ex.Value:
        """A YAML scalar as an expression value: a whole `${{ }}` is evaluated (keeping
        non-string results), anything else is text."""
        expression = ex.whole_expression(text)
        if expression is not None:
            return self.evaluate(expression)
        options = self.texts(text)
        return tuple(options)

    def node_value(self, node: Node | None) -> Any:
        """A YAML node as a Python value, with expressions in scalars evaluated."""
        if node is None:
            return None
        if isinstance(node, MappingNode):
            return {key.value: self.node_value(value) for key, value in items(node)}
        if isinstance(node, SequenceNode):
            out: list[Any] = []
            for item in node.value:
                value = self.node_value(item)
                if value is UNKNOWN and isinstance(item, ScalarNode) and "${{" in item.value:
                    return UNKNOWN
                out.append(value)
            return out
        if isinstance(node, ScalarNode):
            text = scalar(node)
            if text is None:
                return None
            if node.style is None and node.tag.endswith(":bool"):
                return text.lower() == "true"
            if node.style is None and node.tag.endswith((":int", ":float")):
                try:
                    return float(text)
                except ValueError:
                    return text
            if "${{" not in text:
                return text
            value = self.value(text)
            return ex.single(value) if value is not UNKNOWN else UNKNOWN
        return None

    # --- env ------------------------------------------------------------------------------

    def env_value(self, name: str) -> Any:
        """env.NAME: a string (possibly with MARK), ANY, several of those (ex.Several), or
        UNKNOWN."""
        key = name.lower()
        if key in self._env_cache:
            return self._env_cache[key]
        if key in self._resolving:
            return UNKNOWN
        self._resolving.add(key)
        try:
            result = self._env_lookup(name)
        finally:
            self._resolving.discard(key)
        self._env_cache[key] = result
        return result

    def _env_lookup(self, name: str) -> Any:
        """Step env, then what earlier steps wrote to $GITHUB_ENV, then job and workflow env."""
        wanted = name.lower()

        def find(level: Node | None) -> Node | None:
            found = None
            for key, value in items(level):
                if key.value.lower() == wanted:
                    found = value
            return found

        if self.step is not None and (node := find(get(self.step.node, "env"))) is not None:
            return self._env_entry(node)
        if wanted in {written.lower() for written in self.runtime_env}:
            return UNKNOWN
        if self.job is not None and (node := find(get(self.job.node, "env"))) is not None:
            return self._env_entry(node)
        if (node := find(get(self.workflow.root, "env"))) is not None:
            return self._env_entry(node)
        # Not defined in the YAML: an action may have exported it, so it is unknown.
        return UNKNOWN

    def _env_entry(self, node: Node) -> Any:
        if not isinstance(node, ScalarNode):
            return UNKNOWN
        text = scalar(node)
        if text is None:
            return ""
        if node.style is None and node.tag.endswith(":bool"):
            return text.lower()
        if "${{" not in text:
            return text
        value = self.value(text)
        if value is UNKNOWN:
            return UNKNOWN
        # Environment variables are strings; several possible values stay several.
        options = []
        for item in value:
            converted = ex.to_text(item)
            options.append(ANY if converted is None else converted)
        options = list(dict.fromkeys(options))
        return options[0] if len(options) == 1 else ex.Several(options)

    def shell_variables(self) -> dict[str, str]:
        """Environment variables a `run:` script starts with (known ones only)."""
        names: dict[str, None] = {}
        for level in (
            get(self.workflow.root, "env"),
            get(self.job.node, "env") if self.job else None,
            get(self.step.node, "env") if self.step else None,
        ):
            for key, _ in items(level):
                names[key.value] = None
        out: dict[str, str] = {}
        for name in names:
            value = self.env_value(name)
            if isinstance(value, str):
                out[name] = value
        return out

    # --- conditions -----------------------------------------------------------------------

    def may_run(self, condition: str | None) -> bool | None:
        """Whether an `if:` lets the step or job run in some run of this leg: False only
        when it is false in every run we can imagine; None when unknown."""
        if condition is None:
            return True
        text = condition.strip()
        expression = ex.whole_expression(text)
        if expression is None:
            if "${{" in text:
                # Text around an expression is a non-empty string: always true.
                return True
            expression = text
        return ex.may_be_true(self.evaluate(expression))


# --- per-leg facts ----------------------------------------------------------------------------


def runner(scope: Scope) -> Runner:
    """The runner of the scope's job in the scope's leg."""
    assert scope.job is not None
    node = get(scope.job.node, "runs-on")
    labels: list[str] = []
    if isinstance(node, MappingNode):
        node = get(node, "labels")
    if isinstance(node, ScalarNode):
        text = scalar(node) or ""
        expression = ex.whole_expression(text)
        if expression is not None:
            value = scope.evaluate(expression)
            item = ex.single(value)
            if isinstance(item, list):
                labels = [ex.to_text(v) or MARK for v in item]
            elif item is UNKNOWN:
                labels = [MARK]
            else:
                labels = [ex.to_text(item) or MARK]
        else:
            labels = [scope.text(text)]
    elif isinstance(node, SequenceNode):
        for item in node.value:
            if isinstance(item, ScalarNode):
                labels.append(scope.text(item.value))
            else:
                labels.append(MARK)
    return runner_for_labels(labels)


_GITHUB_ENV_RE = re.compile(r"GITHUB_ENV")
_ENV_NAME_RE = re.compile(r"(?:^|[\s\"'])([A-Za-z_][A-Za-z0-9_]*)(?:=|<<)")


def github_env_writes(step: Step) -> frozenset[str]:
    """Variable names a `run:` step writes to $GITHUB_ENV (their later values are unknown)."""
    if step.run is None or not _GITHUB_ENV_RE.search(step.run.value or ""):
        return frozenset()
    names: set[str] = set()
    for line in (step.run.value or "").splitlines():
        if "GITHUB_ENV" in line:
            names.update(_ENV_NAME_RE.findall(line.split(">>")[0]))
    return frozenset(names)


@dataclass(slots=True)
class LegWalk:
    """The steps of a job in one leg, each with the scope it sees, skipping steps whose
    `if:` is false in this leg."""

    scope: Scope
    steps: list[tuple[Step, Scope, bool | None]] = field(default_factory=list)


def walk(workflow: Workflow, job: Job, leg: Leg) -> LegWalk | None:
    """The leg's steps in order; None when the job cannot run in this leg."""
    scope = Scope(workflow, job, leg, None)
    if scope.may_run(job.condition) is False:
        return None
    result = LegWalk(scope)
    written: frozenset[str] = frozenset()
    for step in job.steps:
        step_scope = scope.for_step(step, written)
        runs = step_scope.may_run(step.condition)
        if runs is not False:
            result.steps.append((step, step_scope, runs))
        written = written | github_env_writes(step)
    return result


# --- reusable workflows -----------------------------------------------------------------------

MAX_CALL_DEPTH = 3


def local_call_path(job: Job) -> str | None:
    """The repository path of a reusable workflow the job calls in the same repository
    (`uses: ./.github/workflows/x.yml`); None for other repositories, which we cannot see."""
    if not job.calls:
        return None
    target = job.calls.strip()
    if not target.startswith("./") or "@" in target:
        return None
    return target[2:]


def call_binding(caller: Workflow, job: Job, leg: Leg, callee: Workflow) -> Binding:
    """The inputs a caller job passes in one of its legs (defaults filled in), and the
    events the callee runs under."""
    scope = Scope(caller, job, leg, None)
    given = input_values(scope, get(job.node, "with"))
    definitions = callee.input_definitions()
    defaults_scope = Scope(callee.bound(Binding({}, caller.event_names)), None, Leg({}), None)
    inputs = with_defaults(given, definitions, defaults_scope)
    return Binding(inputs, tuple(caller.event_names), caller.binding.depth + 1)


def callee_workflow(caller: Workflow, document: YamlDocument) -> Workflow:
    """A reusable workflow of the repository, read the way the caller reads files."""
    return Workflow(document, None, caller.documents, caller.texts)


def with_defaults(
    given: Mapping[str, Any], definitions: Mapping[str, Node | None], scope: Scope
) -> dict[str, Any]:
    """Inputs as the callee sees them: given values, else defaults, else empty; booleans
    typed."""
    inputs: dict[str, Any] = {}
    for name, definition in definitions.items():
        kind = (scalar(get(definition, "type")) or "string").lower()
        if name.lower() in given:
            value = given[name.lower()]
        elif get(definition, "default") is not None:
            value = _input_value(scope, get(definition, "default"))
        else:
            value = {"boolean": False, "number": 0.0}.get(kind, "")
        if kind == "boolean" and isinstance(value, str) and MARK not in value:
            value = value.strip().lower() == "true"
        inputs[name] = value
    for name, value in given.items():
        inputs.setdefault(name, value)
    return inputs


def input_values(scope: Scope, node: Node | None) -> dict[str, Any]:
    """The `with:` mapping of a call, as input values (lower-case names)."""
    return {key.value.lower(): _input_value(scope, value) for key, value in items(node)}


def _input_value(scope: Scope, node: Node) -> Any:
    """An input value; several possible values are kept as ex.Several."""
    if isinstance(node, ScalarNode) and "${{" in (node.value or ""):
        value = scope.value(node.value)
        if value is UNKNOWN:
            return UNKNOWN
        if len(value) == 1:
            return value[0]
        return ex.Several(value)
    return scope.node_value(node)

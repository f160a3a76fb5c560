"""What a step does with container images: builds (for which platforms), pushes (to which
registries), logins, QEMU and builder setup.

``effects(step, scope, ...)`` turns one step, seen in one matrix leg, into the effects it has,
in order. Actions are recognised by name (docker/build-push-action, docker/bake-action,
docker/login-action, ...); `run:` scripts through ``rules.shell``. Anything that cannot be
resolved stays unknown (``MARK`` in a text, ``None`` in a flag), and the rules give no finding
for unknowns.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
import csv
from dataclasses import dataclass, replace
import itertools
import posixpath
import re
from typing import Protocol, TypeVar, Union

from rules import expressions as ex
from rules.context import RepoContext, looks_like_workflow
from rules.expressions import ANY, MARK, UNKNOWN
from rules.jobmodel import (
    MAX_CALL_DEPTH,
    MAX_LEGS,
    Job,
    Leg,
    Scope,
    Step,
    Workflow,
    call_binding,
    input_values,
    local_call_path,
    make_step,
    shared_workflow,
    walk,
    with_defaults,
)
from rules.model import FileError, Severity
from rules.shell import Command, commands
from rules.yamlpos import (
    MappingNode,
    Node,
    ParseError,
    ScalarNode,
    SequenceNode,
    YamlDocument,
    get,
    items,
    parse_yaml,
    scalar,
)

__all__ = [
    "Build",
    "BuilderSetup",
    "ImageRef",
    "Login",
    "Place",
    "Push",
    "QemuSetup",
    "effects",
    "is_local_registry",
    "native",
    "normalise_platform",
    "registry_of",
]

DOCKER_HUB = "docker.io"
_DOCKER_HUB_ALIASES = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0"})
ECR_PRIVATE = re.compile(r"\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")
ECR_PUBLIC = "public.ecr.aws"
GOOGLE_REGISTRY = re.compile(r"([a-z0-9-]+\.)?gcr\.io|[a-z0-9-]+-docker\.pkg\.dev")


# --- places -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Place:
    """Where an effect is written: a YAML route and a 1-based span."""

    route: tuple[str | int, ...]
    line: int
    column: int
    end_line: int
    end_column: int


def _node_place(document: YamlDocument, route: tuple, node: Node) -> Place:
    loc = document.node_location(node)
    return Place(route, loc.line, loc.column, loc.end_line, loc.end_column)


_LEADING_SPACE = re.compile(r"\s*")


def _line_place(document: YamlDocument, route: tuple, line: int, needle: str = "") -> Place:
    # Without copying the line: it may be a megabyte long, and placed once per command.
    text = document.line_text(line)
    end = len(text)
    while end and text[end - 1] in "\r\n":
        end -= 1
    column = text.find(needle, 0, end) + 1 if needle else 0
    if column <= 0:
        column = min(_LEADING_SPACE.match(text, 0, end).end(), end) + 1  # type: ignore[union-attr]
    return Place(route, line, column, line, max(end + 1, column))


def _find_line(document: YamlDocument, node: Node, needle: str) -> int | None:
    """The first line of node's text that contains needle.

    One search of the document's text from the node's first line, and a bisection to turn
    the offset into a line: time linear in the distance to the match, not in lines times
    their length (a script of thousands of commands on one line searched it per command)."""
    first = node.start_mark.line + 1
    last = document.last_line(node)
    if not needle or first > last or first > len(document.lines):
        return _find_line_slowly(document, first, last, needle)
    starts = _line_starts(document)
    if "\n" in needle or starts[-1] != len(document.text):
        return _find_line_slowly(document, first, last, needle)
    end = starts[min(last, len(document.lines))]
    found = document.text.find(needle, starts[first - 1], end)
    if found < 0:
        return None
    return bisect.bisect_right(starts, found)


def _find_line_slowly(document: YamlDocument, first: int, last: int, needle: str) -> int | None:
    for line in range(first, last + 1):
        if needle in document.line_text(line):
            return line
    return None


_STARTS: list[tuple[YamlDocument, list[int]]] = []


def _line_starts(document: YamlDocument) -> list[int]:
    """Offsets in document.text where each line starts, and the text's length."""
    for cached, starts in _STARTS:
        if cached is document:
            return starts
    starts = [0, *itertools.accumulate(len(line) for line in document.lines)]
    _STARTS.insert(0, (document, starts))
    del _STARTS[2:]
    return starts


# --- image references -------------------------------------------------------------------------


def normalise_host(host: str) -> str:
    host = host.strip().lower()
    for scheme in ("https://", "http://", "docker://", "oci://"):
        if host.startswith(scheme):
            host = host[len(scheme) :]
    host = host.split("/", 1)[0]
    return DOCKER_HUB if host in _DOCKER_HUB_ALIASES else host


def registry_of(reference: str) -> str | None:
    """The registry host of an image reference, or None when it cannot be known.

    The first path component is a host when it has a dot or a colon or is `localhost`;
    otherwise the image lives on Docker Hub.
    """
    ref = reference.strip()
    for scheme in ("docker://", "oci://"):
        if ref.startswith(scheme):
            ref = ref[len(scheme) :]
    if not ref or any(c.isspace() for c in ref):
        return None
    first, slash, _ = ref.partition("/")
    if not slash:
        name = re.split(r"[:@]", ref, maxsplit=1)[0]
        return None if not name or MARK in name else DOCKER_HUB
    if MARK in first or not first:
        return None
    if "." in first or ":" in first or first == "localhost":
        return normalise_host(first)
    return DOCKER_HUB


def is_local_registry(host: str, services: frozenset[str] = frozenset()) -> bool:
    """A registry on the runner itself (or in one of the job's service containers)."""
    bare = host
    if host.startswith("["):
        bare = host.split("]")[0] + "]"
    elif host.count(":") == 1:
        bare = host.split(":")[0]
    return bare in _LOCAL_HOSTS or bare.startswith("127.") or bare in services


# --- platforms --------------------------------------------------------------------------------

_ARCH_ALIASES = {
    "aarch64": "arm64",
    "arm64": "arm64",
    "x86_64": "amd64",
    "x86-64": "amd64",
    "amd64": "amd64",
    "386": "386",
    "i386": "386",
    "i686": "386",
    "x86": "386",
    "arm": "arm",
    "armhf": "arm",
    "armel": "arm",
}


def normalise_platform(text: str) -> tuple[str, str] | None:
    """`linux/arm64/v8` -> ("linux", "arm64"); None for unknown or unparsable text."""
    text = text.strip().strip("\"'")
    if not text or MARK in text:
        return None
    parts = text.lower().split("/")
    if len(parts) == 1:
        os_name, arch = "linux", parts[0]
    else:
        os_name, arch = parts[0], parts[1]
    arch = _ARCH_ALIASES.get(arch, arch)
    if not re.fullmatch(r"[a-z0-9_]+", arch):
        return None
    return os_name, arch


def native(runner_arch: str, hosted: bool, platform_arch: str) -> bool | None:
    """Whether a runner runs code of a platform without emulation (None: cannot tell)."""
    if runner_arch == "x64":
        return platform_arch in ("amd64", "386")
    if runner_arch == "arm64":
        if platform_arch == "arm64":
            return True
        if platform_arch == "arm" and not hosted:
            return None  # some arm64 CPUs still execute 32-bit code
        return False
    if runner_arch == "arm":
        return platform_arch == "arm"
    if runner_arch == "x86":
        return platform_arch == "386"
    return None


def _split_list(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,\n]", text) if part.strip()]


# --- effects ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Build:
    platforms: tuple[str, ...]  # as written, resolved (may hold MARK)
    place: Place
    remote: bool = False  # built by another machine (docker -H, a remote builder)
    dockerfile: str | None = None  # its repository path, when known


@dataclass(frozen=True, slots=True)
class ImageRef:
    text: str
    place: Place


@dataclass(frozen=True, slots=True)
class Login:
    """A login. hosts None means a registry we cannot resolve: it may be any."""

    hosts: frozenset[str] | None
    place: Place
    patterns: tuple[re.Pattern[str], ...] = ()
    kind: str = "login"

    def covers(self, host: str) -> bool:
        if self.hosts is None or host in self.hosts:
            return True
        return any(pattern.fullmatch(host) for pattern in self.patterns)

    def describe(self) -> str:
        if self.hosts:
            return ", ".join(f'"{h}"' for h in sorted(self.hosts))
        return "a registry"


@dataclass(frozen=True, slots=True)
class Push:
    refs: tuple[ImageRef, ...]
    may_push: bool | None  # True: some run pushes; False: never; None: cannot tell
    place: Place
    own_logins: tuple[Login, ...] = ()  # build-push-action v1 logs in by itself


@dataclass(frozen=True, slots=True)
class QemuSetup:
    archs: frozenset[str] | None  # None: every architecture
    place: Place


@dataclass(frozen=True, slots=True)
class BuilderSetup:
    kind: str  # "container" (BuildKit in a container), "docker", or "remote"
    place: Place


Effect = Union[Build, Push, Login, QemuSetup, BuilderSetup]  # noqa: UP007


@dataclass(slots=True)
class _StepView:
    """One step in one leg, with helpers to read its inputs."""

    step: Step
    scope: Scope
    document: YamlDocument
    job: Job

    def input_node(self, key: str) -> Node | None:
        return self.step.with_node(key)

    def input_route(self, key: str) -> tuple:
        return (*self.step.route, "with", key)

    def input_text(self, key: str) -> str | None:
        node = self.input_node(key)
        if node is None:
            return None
        if isinstance(node, SequenceNode):
            return "\n".join(self.scope.text(scalar(item) or "") for item in node.value)
        if isinstance(node, ScalarNode):
            raw = scalar(node)
            if raw is None:
                return None
            if node.style is None and node.tag.endswith(":bool"):
                return raw.lower()
            return self.scope.text(raw)
        return MARK

    def input_entries(self, key: str) -> list[tuple[str, str]]:
        """A list input as (raw entry, resolved entry) pairs: YAML lists, newline- or
        comma-separated strings."""
        node = self.input_node(key)
        raws: list[str] = []
        if isinstance(node, SequenceNode):
            raws = [scalar(item) or "" for item in node.value]
        elif isinstance(node, ScalarNode) and scalar(node) is not None:
            raws = _split_keeping_expressions(scalar(node) or "")
        out = []
        for raw in raws:
            raw = raw.strip()
            if raw:
                out.append((raw, self.scope.text(raw)))
        return out

    def input_entries_lines(self, key: str) -> list[tuple[str, str]]:
        """Like input_entries, but a string splits on newlines only (bake `set` values
        hold commas)."""
        node = self.input_node(key)
        raws: list[str] = []
        if isinstance(node, SequenceNode):
            raws = [scalar(item) or "" for item in node.value]
        elif isinstance(node, ScalarNode) and scalar(node) is not None:
            raws = (scalar(node) or "").splitlines()
        return [(raw.strip(), self.scope.text(raw.strip())) for raw in raws if raw.strip()]

    def flag(self, key: str, default: bool = False) -> bool | None:
        """A boolean input: True when some run sets it, None when unknown."""
        node = self.input_node(key)
        if node is None:
            return default
        if not isinstance(node, ScalarNode):
            return None
        raw = scalar(node) or ""
        if node.style is None and node.tag.endswith(":bool"):
            return raw.lower() == "true"
        value = self.scope.value(raw)
        return _may_be_true_flag(value)

    def place(self, key: str | None = None, needle: str | None = None) -> Place:
        if key is None:
            return _line_place(self.document, self.step.route, self.step.first_line)
        node = self.input_node(key)
        route = self.input_route(key)
        if node is None:
            return _line_place(self.document, self.step.route, self.step.first_line)
        if needle and isinstance(node, ScalarNode | SequenceNode):
            if isinstance(node, SequenceNode):
                for index, item in enumerate(node.value):
                    if needle in (scalar(item) or ""):
                        return _node_place(self.document, (*route, index), item)
            line = _find_line(self.document, node, needle)
            if line is not None:
                return _line_place(self.document, route, line, needle)
        return _node_place(self.document, route, node)


def _may_be_true_flag(value: ex.Value) -> bool | None:
    """An action's boolean input (`true`/`false` strings) over a value's alternatives."""
    if value is UNKNOWN:
        return None
    flags = []
    for item in value:
        if item is ANY:
            flags.append(True)
        elif isinstance(item, bool):
            flags.append(item)
        elif isinstance(item, str):
            if MARK in item:
                flags.append(None)
            else:
                flags.append(item.strip().lower() == "true")
        else:
            flags.append(ex.truthy(item))
    if any(flag is True for flag in flags):
        return True
    if any(flag is None for flag in flags):
        return None
    return False


def _split_keeping_expressions(text: str) -> list[str]:
    """Split on newlines and commas, but not inside `${{ }}`."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    index = 0
    while index < len(text):
        if text.startswith("${{", index):
            depth += 1
            current.append("${{")
            index += 3
            continue
        if depth and text.startswith("}}", index):
            depth -= 1
            current.append("}}")
            index += 2
            continue
        char = text[index]
        if not depth and char in ",\n":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


_METADATA_TAGS_RE = re.compile(r"\$\{\{\s*steps\.([A-Za-z0-9_-]+)\.outputs\.tags\s*\}\}")


def _metadata_images(view: _StepView, step_id: str) -> list[str] | None:
    """The images a docker/metadata-action step (by id, earlier in the job) tags."""
    for step in view.job.steps:
        if step.index >= view.step.index:
            break
        if step.id != step_id or step.action != "docker/metadata-action":
            continue
        meta = _StepView(
            step, view.scope.for_step(step, view.scope.runtime_env), view.document, view.job
        )
        images = []
        node = meta.input_node("images")
        raws: list[str] = []
        if isinstance(node, SequenceNode):
            raws = [scalar(item) or "" for item in node.value]
        elif isinstance(node, ScalarNode):
            raws = (scalar(node) or "").splitlines()
        for raw in raws:
            raw = raw.strip()
            if not raw or raw.startswith("#"):
                continue
            if "name=" in raw or "enable=" in raw:
                attributes = _csv_attributes(meta.scope.text(raw))
                name = attributes.get("name", "")
                if meta.scope.may_run(_enable_expression(raw)) is False:
                    continue
                if name:
                    images.extend(_split_list(name))
            else:
                images.extend(_split_list(meta.scope.text(raw)))
        return images
    return None


def _enable_expression(raw: str) -> str | None:
    match = re.search(r"enable=(\$\{\{.*?\}\}|[^,]*)", raw)
    return match.group(1) if match else None


def _csv_attributes(text: str) -> dict[str, str]:
    """`type=image,"name=a,b",push=true` -> {"type": "image", "name": "a,b", "push": "true"}."""
    try:
        fields = next(csv.reader([text], skipinitialspace=True))
    except (csv.Error, StopIteration):
        return {}
    out: dict[str, str] = {}
    for item in fields:
        key, sep, value = item.partition("=")
        if sep:
            out[key.strip().lower()] = value.strip().strip('"')
        elif key.strip():
            out.setdefault("type", key.strip().lower())
    return out


def _output_push(attributes: dict[str, str]) -> bool | None:
    kind = attributes.get("type", "")
    if kind == "registry":
        return True
    if kind in ("image", "oci", "docker") and "push" in attributes:
        value = attributes["push"]
        if MARK in value:
            return None
        return value.lower() == "true"
    return False


def _refs_from_entries(view: _StepView, key: str) -> list[ImageRef]:
    refs: list[ImageRef] = []
    for raw, resolved in view.input_entries(key):
        match = _METADATA_TAGS_RE.fullmatch(raw)
        if match:
            images = _metadata_images(view, match.group(1))
            if images is None:
                continue
            place = view.place(key, raw)
            refs.extend(ImageRef(f"{image}:{MARK}", place) for image in images)
            continue
        place = view.place(key, raw.split("${{")[0] or raw)
        for text in _split_list(resolved):
            refs.append(ImageRef(text, place))
    return refs


# --- actions ----------------------------------------------------------------------------------


def _major(ref: str | None) -> int | None:
    match = re.fullmatch(r"v?(\d+)(\.\d+)*", ref or "")
    return int(match.group(1)) if match else None


def _build_push_action(view: _StepView) -> list[Effect]:
    out: list[Effect] = []
    major = _major(view.step.ref)
    legacy = major == 1 or (major is None and view.input_node("repository") is not None)
    if legacy:
        return _build_push_v1(view)
    platforms = view.input_text("platforms")
    if platforms:
        out.append(
            Build(
                tuple(_split_list(platforms)),
                view.place("platforms"),
                dockerfile=_dockerfile_path(view),
            )
        )
    tags = _refs_from_entries(view, "tags")
    push = view.flag("push")
    if push is not False and tags:
        place = view.place("push") if view.input_node("push") is not None else tags[0].place
        out.append(Push(tuple(tags), push, place))
    for raw, resolved in view.input_entries_lines("outputs"):
        attributes = _csv_attributes(resolved)
        pushes = _output_push(attributes)
        if pushes is False:
            continue
        names = _split_list(attributes.get("name", ""))
        place = view.place("outputs", raw.split("${{")[0] or raw)
        refs = [ImageRef(name, place) for name in names] or tags
        if refs:
            out.append(Push(tuple(refs), pushes, place))
    return out


def _dockerfile_path(view: _StepView) -> str | None:
    """The repository path of the Dockerfile a build-push-action step builds, if known."""
    context = view.input_text("context")
    if context is None or context in ("", "."):
        context = ""
    elif context.startswith("{{defaultContext}}:"):
        context = context.split(":", 1)[1]
    elif MARK in context or "://" in context or context.startswith("git@"):
        return None
    file = view.input_text("file")
    if file is not None and MARK in file:
        return None
    path = file if file else posixpath.join(context, "Dockerfile")
    path = posixpath.normpath(path.strip())
    if path.startswith(("/", "..")):
        return None
    return path


def _build_push_v1(view: _StepView) -> list[Effect]:
    registry = view.input_text("registry") or DOCKER_HUB
    repository = view.input_text("repository")
    push = view.flag("push", default=True)
    if not repository or push is False:
        return []
    ref = repository if registry == DOCKER_HUB else f"{registry}/{repository}"
    place = view.place("repository")
    own: tuple[Login, ...] = ()
    if view.input_node("username") is not None and view.input_node("password") is not None:
        host = normalise_host(registry) if MARK not in registry else None
        own = (Login(None if host is None else frozenset({host}), place, kind="own"),)
    return [Push((ImageRef(f"{ref}:{MARK}", place),), push, place, own)]


def _bake_action(view: _StepView) -> list[Effect]:
    out: list[Effect] = []
    platforms: list[str] = []
    tags: list[ImageRef] = []
    output_push: bool | None = False
    output_names: list[ImageRef] = []
    platform_place: Place | None = None
    for raw, resolved in view.input_entries_lines("set"):
        target_key, sep, value = resolved.partition("=")
        if not sep:
            continue
        attribute = target_key.rsplit(".", 1)[-1].strip().lower()
        place = view.place("set", raw.split("${{")[0] or raw)
        if attribute == "platform":
            platforms.extend(_split_list(value))
            platform_place = platform_place or place
        elif attribute == "tags":
            tags.extend(ImageRef(t, place) for t in _split_list(value))
        elif attribute == "output":
            attributes = _csv_attributes(value)
            pushes = _output_push(attributes)
            if pushes is not False:
                output_push = True if pushes else (output_push or pushes)
                output_names.extend(
                    ImageRef(n, place) for n in _split_list(attributes.get("name", ""))
                )
    if platforms and platform_place is not None:
        out.append(Build(tuple(platforms), platform_place))
    push = view.flag("push")
    if push is not False and tags:
        out.append(Push(tuple(tags), push, view.place("push")))
    if output_push is not False and (output_names or tags):
        out.append(Push(tuple(output_names or tags), output_push, view.place("set", "output")))
    return out


def _login_action(view: _StepView) -> list[Effect]:
    place = view.place()
    auth = view.input_node("registry-auth")
    if auth is not None:
        hosts = _registry_auth_hosts(view)
        return [Login(hosts, place)]
    registry = view.input_text("registry")
    if registry is None or registry == "":
        return [Login(frozenset({DOCKER_HUB}), place)]
    if MARK in registry:
        return [Login(None, place)]
    return [Login(frozenset({normalise_host(registry)}), place)]


def _registry_auth_hosts(view: _StepView) -> frozenset[str] | None:
    text = view.input_text("registry-auth")
    if not text:
        return None
    try:
        root = parse_yaml(text)
    except ParseError:
        return None
    hosts: set[str] = set()
    entries = root.value if isinstance(root, SequenceNode) else []
    for entry in entries:
        host = scalar(get(entry, "registry")) if isinstance(entry, MappingNode) else None
        if host is None:
            hosts.add(DOCKER_HUB)
        elif MARK in host:
            return None
        else:
            hosts.add(normalise_host(host))
    return frozenset(hosts) if hosts else None


def _ecr_login(view: _StepView) -> list[Effect]:
    kind = (view.input_text("registry-type") or "private").lower()
    if MARK in kind:
        return [Login(frozenset({ECR_PUBLIC}), view.place(), (ECR_PRIVATE,), "ecr")]
    if kind == "public":
        return [Login(frozenset({ECR_PUBLIC}), view.place(), (), "ecr")]
    return [Login(frozenset(), view.place(), (ECR_PRIVATE,), "ecr")]


def _azure_login(view: _StepView) -> list[Effect]:
    server = view.input_text("login-server") or "index.docker.io"
    if MARK in server:
        return [Login(None, view.place())]
    return [Login(frozenset({normalise_host(server)}), view.place())]


def _podman_login(view: _StepView) -> list[Effect]:
    registry = view.input_text("registry")
    if not registry or MARK in registry:
        return [Login(None, view.place())]
    return [Login(frozenset({normalise_host(registry)}), view.place())]


def _qemu_action(view: _StepView) -> list[Effect]:
    return [QemuSetup(_qemu_archs(view.input_text("platforms")), view.place())]


def _qemu_archs(text: str | None) -> frozenset[str] | None:
    if not text or MARK in text:
        return None
    archs: set[str] = set()
    for entry in _split_list(text):
        if entry.lower() == "all":
            return None
        platform = normalise_platform(entry)
        if platform is None:
            return None
        archs.add(platform[1])
    return frozenset(archs)


def _buildx_action(view: _StepView) -> list[Effect]:
    driver = (view.input_text("driver") or "docker-container").strip().lower()
    remote = (
        MARK in driver
        or driver in ("remote", "kubernetes", "cloud")
        or view.input_node("endpoint") is not None
        or view.input_node("append") is not None
    )
    if remote:
        kind = "remote"
    elif driver == "docker":
        kind = "docker"
    else:
        kind = "container"
    return [BuilderSetup(kind, view.place())]


_ACTIONS = {
    "docker/build-push-action": _build_push_action,
    "docker/bake-action": _bake_action,
    "docker/login-action": _login_action,
    "aws-actions/amazon-ecr-login": _ecr_login,
    "azure/docker-login": _azure_login,
    "redhat-actions/podman-login": _podman_login,
    "docker/setup-qemu-action": _qemu_action,
    "docker/setup-buildx-action": _buildx_action,
}


# --- run scripts ------------------------------------------------------------------------------

_DOCKER_GLOBAL_VALUE_FLAGS = frozenset(
    {"--config", "-c", "--context", "-H", "--host", "-l", "--log-level", "--tlscacert"}
    | {"--tlscert", "--tlskey"}
)
_BUILDERS = ("docker", "podman", "buildah", "nerdctl")


def _program(word: str) -> str:
    return word.rsplit("/", 1)[-1]


def _option_values(words: list[str], *names: str) -> list[str]:
    values = []
    for index, word in enumerate(words):
        for name in names:
            if word == name and index + 1 < len(words):
                values.append(words[index + 1])
            elif name.startswith("--") and word.startswith(name + "="):
                values.append(word[len(name) + 1 :])
            elif not name.startswith("--") and word.startswith(name) and len(word) > len(name):
                values.append(word[len(name) :].lstrip("="))
    return values


def _positionals(words: list[str], value_flags: frozenset[str]) -> list[str]:
    out = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word.startswith("-") and word != "-":
            if word in value_flags:
                skip = True
            continue
        out.append(word)
    return out


def _strip_prefixes(words: list[str]) -> list[str]:
    while words:
        head = _program(words[0])
        if head == "sudo":
            words = words[1:]
            while words and words[0].startswith("-"):
                words = words[1:]
            continue
        if head in ("env", "command", "nohup", "eval"):
            words = words[1:]
            while words and (words[0].startswith("-") or re.match(r"\w+=", words[0])):
                words = words[1:]
            continue
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0], re.DOTALL):
            words = words[1:]
            continue
        break
    return words


# A script that mentions none of these has no effect we model (checked before parsing it).
_INTERESTING_RUN = re.compile(
    r"docker|podman|buildah|nerdctl|crane|skopeo|gcloud|\baz\b|qemu|binfmt|login|\$\{\{"
)


# Characters of YAML lines one step's script may search for the words it places.
_MAX_SEARCHED_PER_STEP = 32 * 1024 * 1024


def _continues(line: str) -> bool:
    """The line ends in a backslash (before trailing blanks): line.rstrip().endswith("\\")
    without copying a long line."""
    end = len(line)
    while end and line[end - 1].isspace():
        end -= 1
    return end > 0 and line[end - 1] == "\\"


class _RunReader:
    def __init__(self, view: _StepView):
        self.view = view
        self.route = (*view.step.route, "run")
        self.remote_host = False
        # A script of thousands of commands places the same command text again and again.
        self._places: dict[tuple[int, str, tuple[str, ...]], Place] = {}
        self._spans: dict[tuple[int, str], list[int]] = {}
        self._search_budget = _MAX_SEARCHED_PER_STEP

    def place(self, command: Command, *needles: str) -> Place:
        """The line of the command that holds the first of needles found (a continued
        command spans lines); the command's first line otherwise."""
        key = (command.line, command.text, needles)
        found = self._places.get(key)
        if found is None:
            found = self._places[key] = self._place(command, needles)
        return found

    def _place(self, command: Command, needles: tuple[str, ...]) -> Place:
        document = self.view.document
        wanted = [needle for needle in needles if needle and MARK not in needle]
        span = self._span(command)
        for needle in wanted:
            for line in span:
                text = document.line_text(line)
                self._search_budget -= len(text)
                if self._search_budget < 0:
                    # Thousands of different commands on one huge line: searching it for
                    # each would take minutes. Their places are the line, not the word.
                    return _line_place(document, self.route, span[0])
                if needle in text:
                    return _line_place(document, self.route, line, needle)
        return _line_place(document, self.route, span[0])

    def _span(self, command: Command) -> list[int]:
        """The lines of the YAML the command is written on."""
        key = (command.line, command.text)
        span = self._spans.get(key)
        if span is not None:
            return span
        node = self.view.step.run
        document = self.view.document
        assert node is not None
        if node.style == "|":
            last = document.last_line(node)
            span = [node.start_mark.line + 2 + command.line]
            while span[-1] < last and _continues(document.line_text(span[-1])):
                span.append(span[-1] + 1)
        else:
            found = _find_line(document, node, command.text) if command.text else None
            span = [found or node.start_mark.line + 1]
        self._spans[key] = span
        return span

    def read(self) -> list[Effect]:
        node = self.view.step.run
        if node is None or not _INTERESTING_RUN.search(node.value or ""):
            return []
        script = self._resolved_script(node.value or "")
        variables = self.view.scope.shell_variables()
        docker_host = variables.get("DOCKER_HOST", "")
        self.remote_host = bool(docker_host) and not docker_host.startswith("unix://")
        out: list[Effect] = []
        for command in commands(script, variables):
            out.extend(self.command(command))
        raw = node.value or ""
        if re.search(r"ecr\s+get-login(?!-password)", raw):
            line = next(i for i, t in enumerate(raw.splitlines()) if "get-login" in t)
            fake = Command(("aws",), line, raw.splitlines()[line].strip())
            out.insert(0, Login(frozenset(), self.place(fake, "get-login"), (ECR_PRIVATE,), "ecr"))
        return out

    def _resolved_script(self, text: str) -> str:
        """Substitute expressions line by line, keeping the line count."""
        if "${{" not in text:
            return text
        lines = []
        for line in text.split("\n"):
            lines.append(self.view.scope.text(line).replace("\n", " ") if "${{" in line else line)
        return "\n".join(lines)

    def command(self, command: Command) -> list[Effect]:
        words = _strip_prefixes(list(command.words))
        if not words:
            return []
        program = _program(words[0])
        rest = words[1:]
        if program in _BUILDERS:
            return self.container_cli(program, rest, command)
        if program == "crane" and rest[:2] == ["auth", "login"]:
            return self.login_words(_positionals(rest[2:], frozenset({"-u", "-p"})), command)
        if program == "skopeo" and rest[:1] == ["login"]:
            return self.login_words(_positionals(rest[1:], frozenset({"-u", "-p"})), command)
        if program == "gcloud" and rest[:2] == ["auth", "configure-docker"]:
            hosts = []
            for word in _positionals(rest[2:], frozenset()):
                hosts.extend(_split_list(word))
            place = self.place(command, "configure-docker")
            if any(MARK in host for host in hosts):
                return [Login(None, place)]
            if hosts:
                return [Login(frozenset(normalise_host(h) for h in hosts), place, (), "gcloud")]
            return [Login(frozenset(), place, (GOOGLE_REGISTRY,), "gcloud")]
        if program == "az" and rest[:2] == ["acr", "login"]:
            names = _option_values(rest, "--name", "-n")
            place = self.place(command, "acr login")
            if not names or MARK in names[0]:
                return [Login(None, place)]
            return [Login(frozenset({f"{names[0].lower()}.azurecr.io"}), place)]
        if "login" in program or (
            program in ("make", "just", "task") and any("login" in word for word in rest)
        ):
            # A script or make target that says it logs in: trust it rather than guess.
            return [Login(None, self.place(command), kind="other")]
        if program in ("apt-get", "apt", "yum", "dnf", "apk") and any(
            "qemu-user" in word for word in rest
        ):
            return [QemuSetup(None, self.place(command))]
        if program == "update-binfmts":
            return [QemuSetup(None, self.place(command))]
        return []

    def login_words(self, positionals: list[str], command: Command) -> list[Effect]:
        place = self.place(command, "login")
        if not positionals:
            return [Login(frozenset({DOCKER_HUB}), place)]
        host = positionals[0]
        if MARK in host.split("/")[0]:
            return [Login(None, place)]
        return [Login(frozenset({normalise_host(host)}), place)]

    def container_cli(self, program: str, words: list[str], command: Command) -> list[Effect]:
        remote = self.remote_host
        while words and words[0].startswith("-"):
            flag = words[0].split("=")[0]
            if flag in ("-H", "--host", "-c", "--context"):
                remote = True
            if flag in _DOCKER_GLOBAL_VALUE_FLAGS and "=" not in words[0]:
                words = words[1:]
            words = words[1:]
        if not words:
            return []
        sub = words[0]
        args = words[1:]
        if program == "docker" and sub == "buildx":
            while args and args[0].startswith("-"):
                skip = 2 if args[0] == "--builder" else 1
                args = args[skip:]
            if not args:
                return []
            sub, args = args[0], args[1:]
            if sub in ("build", "b"):
                return self.build(args, command, remote, buildx=True)
            if sub == "bake":
                return self.bake(args, command, remote)
            if sub == "create":
                return [self.buildx_create(args, command)]
            if sub == "imagetools" and args[:1] == ["create"]:
                if "--dry-run" in args:
                    return []
                tags = _option_values(args[1:], "-t", "--tag")
                return self.push(tags, command, "-t", "--tag")
            return []
        if sub in ("image", "builder") and args:
            sub, args = args[0], args[1:]
        if sub in ("build", "bud"):
            return self.build(args, command, remote, buildx=False, program=program)
        if sub == "push":
            value_flags = frozenset({"--platform", "--creds", "--authfile", "--format", "-f"})
            targets = _positionals(args, value_flags)
            if program in ("podman", "buildah") and len(targets) >= 2:
                targets = targets[1:2]
            return self.push(targets[:1], command)
        if sub == "manifest" and args[:1] == ["push"]:
            targets = _positionals(args[1:], frozenset())
            if program in ("podman", "buildah") and len(targets) >= 2:
                targets = targets[1:2]
            return self.push(targets[:1], command)
        if sub == "login":
            value_flags = frozenset({"-u", "--username", "-p", "--password", "--authfile"})
            return self.login_words(_positionals(args, value_flags), command)
        if sub == "run" and any(
            "tonistiigi/binfmt" in word or "qemu-user-static" in word for word in args
        ):
            return [QemuSetup(None, self.place(command))]
        if sub == "context" and args[:1] == ["use"] and args[1:2] != ["default"]:
            return [BuilderSetup("remote", self.place(command))]
        return []

    def build(
        self,
        args: list[str],
        command: Command,
        remote: bool,
        buildx: bool,
        program: str = "docker",
    ) -> list[Effect]:
        out: list[Effect] = []
        platforms: list[str] = []
        for value in _option_values(args, "--platform"):
            platforms.extend(_split_list(value))
        if program == "buildah":
            for value in _option_values(args, "--arch"):
                platforms.extend(_split_list(value))
        if platforms:
            out.append(Build(tuple(platforms), self.place(command, "--platform"), remote))
        tags = _option_values(args, "-t", "--tag")
        pushes: bool | None = "--push" in args
        for output in _option_values(args, "-o", "--output"):
            attributes = _csv_attributes(output)
            result = _output_push(attributes)
            if result is not False:
                names = _split_list(attributes.get("name", ""))
                if names:
                    out.extend(self.push(names, command, "--output", "-o", pushes=result))
                else:
                    pushes = True if result else (pushes or result)
        if pushes is not False and tags:
            out.extend(self.push(tags, command, "--push", "--output", "-o", pushes=pushes))
        return out

    def bake(self, args: list[str], command: Command, remote: bool) -> list[Effect]:
        out: list[Effect] = []
        platforms: list[str] = []
        tags: list[str] = []
        pushes: bool | None = "--push" in args
        for value in _option_values(args, "--set"):
            target_key, _, setting = value.partition("=")
            attribute = target_key.rsplit(".", 1)[-1].lower()
            if attribute == "platform":
                platforms.extend(_split_list(setting))
            elif attribute == "tags":
                tags.extend(_split_list(setting))
            elif attribute == "output":
                result = _output_push(_csv_attributes(setting))
                if result is not False:
                    pushes = True if result else (pushes or result)
        if platforms:
            out.append(Build(tuple(platforms), self.place(command, "platform"), remote))
        if pushes is not False and tags:
            out.extend(self.push(tags, command, "--push", "--set", pushes=pushes))
        return out

    def buildx_create(self, args: list[str], command: Command) -> BuilderSetup:
        driver = (_option_values(args, "--driver") or ["docker-container"])[0].lower()
        value_flags = frozenset(
            {"--driver", "--name", "--platform", "--driver-opt", "--buildkitd-flags"}
            | {"--config", "--buildkitd-config", "--node", "--bootstrap"}
        )
        endpoints = [w for w in _positionals(args, value_flags) if "://" in w or MARK in w]
        remote = "--append" in args or endpoints or driver not in ("docker-container", "docker")
        kind = "remote" if remote else ("docker" if driver == "docker" else "container")
        return BuilderSetup(kind, self.place(command, "create"))

    def push(
        self, targets: list[str], command: Command, *needles: str, pushes: bool | None = True
    ) -> list[Effect]:
        """A push of targets; each reference is placed on the line that names it."""
        if not targets:
            return []
        place = self.place(command, *needles)
        refs = tuple(ImageRef(t, self.place(command, t, *needles)) for t in targets)
        return [Push(refs, pushes, place)]


MAX_ACTION_DEPTH = 2


@dataclass(frozen=True, slots=True)
class LegEffects:
    """A job's steps in one matrix leg (see jobmodel.walk), each with its effects."""

    scope: Scope  # the job's own scope in the leg
    steps: tuple[tuple[Step, Scope, tuple[Effect, ...]], ...]


def leg_effects(workflow: Workflow, job: Job, leg: Leg) -> LegEffects | None:
    """The effects of every step that can run in the leg, in order; None when the job
    cannot run in it. Worked out once per workflow binding, job and leg: both Docker rules,
    and every caller that binds a reusable workflow alike, read the same result."""
    cached_job, cached_leg, result = workflow.memo(
        ("docker.leg_effects", id(job), id(leg)),
        lambda: (job, leg, _leg_effects(workflow, job, leg)),
    )
    if cached_job is not job or cached_leg is not leg:  # a Leg not from workflow.legs()
        return _leg_effects(workflow, job, leg)
    return result


class _Keyed(Protocol):
    @property
    def key(self) -> object: ...


P = TypeVar("P", bound=_Keyed)


def problems_in_callees(
    repo: RepoContext, workflow: Workflow, problems: Callable[[Workflow], list[P]]
) -> Iterator[tuple[Job, str, P]]:
    """Problems that a reusable workflow of this repository has only with the inputs this
    workflow passes to it: (calling job, callee path, problem), each problem key once.

    Both Docker rules report these at the call, since the caller chose the inputs."""
    if workflow.binding.depth >= MAX_CALL_DEPTH:
        return
    for job in workflow.jobs:
        path = local_call_path(job)
        if path is None:
            continue
        document = repo.document(path)
        if document is None or not looks_like_workflow(document.root):
            continue
        callee = shared_workflow(repo, document, workflow.documents, workflow.texts)
        own = {problem.key for problem in problems(callee)}
        reported: set = set()
        for leg in workflow.legs(job):
            bound = callee.bound(call_binding(workflow, job, leg, callee))
            found = problems(bound)
            note_capped_matrices(repo, bound)
            for problem in found:
                if problem.key in own or problem.key in reported:
                    continue
                reported.add(problem.key)
                yield job, path, problem


def note_capped_matrices(repo: RepoContext, workflow: Workflow) -> None:
    """Say (once per run, job and file) that a matrix had more legs than were checked."""
    for job_id in sorted(workflow.capped_jobs):
        repo.memo(
            ("docker.capped", workflow.path, job_id),
            lambda job_id=job_id: repo.errors.append(
                FileError(
                    workflow.path,
                    f'the matrix of job "{job_id}" has more than {MAX_LEGS} combinations '
                    f"(GitHub runs at most {MAX_LEGS}); only the first {MAX_LEGS} were checked",
                    severity=Severity.NOTE,
                )
            ),
        )


def _leg_effects(workflow: Workflow, job: Job, leg: Leg) -> LegEffects | None:
    walked = walk(workflow, job, leg)
    if walked is None:
        return None
    steps = tuple(
        (step, scope, tuple(effects(step, scope, workflow.document, job)))
        for step, scope, _ in walked.steps
    )
    return LegEffects(walked.scope, steps)


def effects(
    step: Step, scope: Scope, document: YamlDocument, job: Job, depth: int = 0
) -> list[Effect]:
    """What the step does with images in the scope's leg, in order."""
    view = _StepView(step, scope, document, job)
    if step.run is not None:
        return _RunReader(view).read()
    if step.action is None or step.uses is None:
        return []
    if step.uses.startswith("./"):
        return _local_action(view, depth)
    handler = _ACTIONS.get(step.action)
    if handler is not None:
        return handler(view)
    # Other actions whose name says what they do: count them rather than flag a job
    # that logs in or installs emulators in a way we do not model.
    name = step.action.rsplit("/", 1)[-1]
    if "login" in name:
        return [Login(None, view.place(), kind="other")]
    if "qemu" in name or "binfmt" in name:
        return [QemuSetup(None, view.place())]
    return []


def _local_action(view: _StepView, depth: int) -> list[Effect]:
    """A composite action of the repository: the effects of its steps, placed at the step
    that uses it. An action we cannot read may log in or set up QEMU for all we know."""
    place = view.place()
    opaque: list[Effect] = [Login(None, place, kind="other"), QemuSetup(None, place)]
    reader = view.scope.workflow.documents
    if reader is None or depth >= MAX_ACTION_DEPTH:
        return opaque
    folder = (view.step.uses or "")[2:].split("@")[0].rstrip("/")
    action = None
    for name in ("action.yml", "action.yaml"):
        action = reader(f"{folder}/{name}" if folder else name)
        if action is not None:
            break
    runs = get(action.root, "runs") if action is not None else None
    if action is None or (scalar(get(runs, "using")) or "").lower() != "composite":
        return opaque
    given = input_values(view.scope, get(view.step.node, "with"))
    definitions = {key.value: value for key, value in items(get(action.root, "inputs"))}
    inputs = with_defaults(given, definitions, view.scope)
    out: list[Effect] = []
    steps_node = get(runs, "steps")
    for index, node in enumerate(steps_node.value if isinstance(steps_node, SequenceNode) else []):
        if not isinstance(node, MappingNode):
            continue
        inner = make_step(action, ("runs", "steps", index), index, node)
        inner_scope = view.scope.for_action(inner, inputs)
        if inner_scope.may_run(inner.condition) is False:
            continue
        for effect in effects(inner, inner_scope, action, view.job, depth + 1):
            out.append(_moved(effect, place))
    return out


def _moved(effect: Effect, place: Place) -> Effect:
    if isinstance(effect, Push):
        refs = tuple(replace(ref, place=place) for ref in effect.refs)
        own = tuple(replace(login, place=place) for login in effect.own_logins)
        return replace(effect, refs=refs, place=place, own_logins=own)
    return replace(effect, place=place)


def step_uses(document: YamlDocument) -> list[tuple[str, str | None, str]]:
    """Every `uses:` of a step in the file: (action, ref, the rest of its line after the
    value, e.g. a `# v4.1.0` comment)."""
    out = []
    for _, job in items(get(document.root, "jobs")):
        for step in get(job, "steps").value if isinstance(get(job, "steps"), SequenceNode) else []:
            node = get(step, "uses")
            uses = scalar(node)
            if not uses or not isinstance(node, ScalarNode):
                continue
            target, _, ref = uses.partition("@")
            line = document.line_text(node.end_mark.line + 1)
            tail = line[node.end_mark.column :].strip()
            out.append((target.strip().lower(), ref.strip() or None, tail))
    return out


# --- versions for inserted steps --------------------------------------------------------------

# Docker's actions are released in generations; the majors of one generation work together
# (build-push-action v5/v6 came with setup-qemu-action v3, login-action v3, ...).
_GENERATIONS = {
    "docker/setup-qemu-action": {1: 1, 2: 2, 3: 3, 4: 4},
    "docker/setup-buildx-action": {1: 1, 2: 2, 3: 3, 4: 4},
    "docker/login-action": {1: 1, 2: 2, 3: 3, 4: 4},
    "docker/build-push-action": {1: 1, 2: 1, 3: 2, 4: 2, 5: 3, 6: 3, 7: 4},
    "docker/metadata-action": {3: 1, 4: 2, 5: 3, 6: 4},
    "docker/bake-action": {1: 1, 2: 2, 3: 2, 4: 3, 5: 3, 6: 3},
}
_PRIORITY = (
    "docker/setup-buildx-action",
    "docker/setup-qemu-action",
    "docker/login-action",
    "docker/build-push-action",
    "docker/metadata-action",
    "docker/bake-action",
)
LATEST_GENERATION = 4
_SHA_RE = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True, slots=True)
class ActionVersion:
    uses: str  # e.g. "docker/setup-qemu-action@v3", maybe followed by a `# v3.6.0` comment
    tag_for_pinned_file: bool  # the file pins actions to SHAs but this is a tag


def action_version(document: YamlDocument, action: str) -> ActionVersion:
    """The `uses:` text for a docker action to insert into the file: the exact reference
    the file already uses for it, else the major of the same generation as the file's
    other docker actions, else the latest."""
    uses = step_uses(document)
    for name, ref, tail in uses:
        if name == action and ref:
            comment = f" {tail}" if tail.startswith("#") else ""
            return ActionVersion(f"{action}@{ref}{comment}", False)
    pinned = any(
        name.startswith("docker/") and ref and _SHA_RE.fullmatch(ref) for name, ref, _ in uses
    )
    for candidate in _PRIORITY:
        for name, ref, tail in uses:
            if name != candidate or not ref:
                continue
            major = _major(ref)
            if major is None and _SHA_RE.fullmatch(ref):
                match = re.search(r"v(\d+)(\.\d+)*", tail)
                major = int(match.group(1)) if match else None
            generation = _GENERATIONS[candidate].get(major or -1)
            if generation:
                return ActionVersion(f"{action}@v{generation}", pinned)
    return ActionVersion(f"{action}@v{LATEST_GENERATION}", pinned)


# --- Dockerfiles ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TargetRun:
    """A RUN instruction that executes in an image of the target platform."""

    line: int  # 1-based, in the Dockerfile


def _logical_lines(text: str) -> list[tuple[int, str]]:
    escape = "\\"
    lines = text.splitlines()
    for line in lines[:5]:
        match = re.match(r"\s*#\s*escape\s*=\s*(\S)", line)
        if match:
            escape = match.group(1)
    out: list[tuple[int, str]] = []
    current: list[str] = []
    start = 0
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        if not current:
            start = number
        if stripped.endswith(escape):
            current.append(stripped[: -len(escape)])
            continue
        current.append(stripped)
        out.append((start, " ".join(current)))
        current = []
    if current:
        out.append((start, " ".join(current)))
    return out


def target_run(text: str) -> TargetRun | None:
    """The first RUN that executes in a stage of the target platform, or None when every
    stage that runs commands is pinned to the build platform (a cross-compiling
    Dockerfile needs no emulation)."""
    in_target_stage = False
    for line, instruction in _logical_lines(text):
        word, _, rest = instruction.partition(" ")
        keyword = word.upper()
        if keyword == "FROM":
            platform = re.search(r"--platform=(\S+)", rest)
            in_target_stage = platform is None or "BUILDPLATFORM" not in platform.group(1)
            image = re.sub(r"--\S+", "", rest).split()
            if image and image[0].lower() == "scratch":
                in_target_stage = False
        elif keyword == "RUN" and in_target_stage:
            return TargetRun(line)
    return None

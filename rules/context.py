"""What a rule sees: the repository snapshot, and the one file it is checking, parsed once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from rules.model import FileError, Severity
from rules.snapshot import NOT_READ, EntryKind, RepoSnapshot, is_workflow_location
from rules.yamlpos import (
    Node,
    ParseError,
    YamlDocument,
    get,
    is_mapping,
    is_sequence,
    items,
    line_of,
    scalar,
)


def looks_like_workflow(root: Node | None) -> bool:
    """A GitHub Actions workflow: top-level `on` and `jobs`, with at least one job that has
    `runs-on`, `uses` or `steps`."""
    if not is_mapping(root):
        return False
    if get(root, "on") is None and not any(k.value == "on" for k, _ in items(root)):
        return False
    jobs = get(root, "jobs")
    if not is_mapping(jobs):
        return False
    return any(
        is_mapping(job) and any(k.value in ("runs-on", "uses", "steps") for k, _ in items(job))
        for _, job in items(jobs)
    )


def _notes(document: YamlDocument) -> list[FileError]:
    """What is wrong with a file that parsed but that GitHub would reject; it is still checked.

    Shape notes are for workflow locations only: elsewhere a list or a scalar at the top is
    ordinary configuration (a labels file), not a broken workflow.
    """
    notes = []
    root = document.root
    if is_workflow_location(document.path) and not is_mapping(root):
        if root is None or (scalar(root) is None and not getattr(root, "value", None)):
            what = "the workflow file is empty"
        elif is_sequence(root):
            what = f"the top level is a list (line {line_of(root)})"
        else:
            what = f"the top level is a scalar (line {line_of(root)})"
        notes.append(
            FileError(document.path, f"{what}; GitHub needs a mapping with `on` and `jobs`")
        )
    # GitHub rejects a workflow with duplicate keys; elsewhere they are only suspicious.
    duplicate_severity = Severity.ERROR if is_workflow_location(document.path) else Severity.WARNING
    for first, repeated in document.duplicate_keys[:MAX_DUPLICATE_NOTES]:
        notes.append(
            FileError(
                document.path,
                f"duplicate key {repeated.value!r} at line {line_of(repeated)}, column "
                f"{repeated.start_mark.column + 1} (first at line {line_of(first)}); GitHub "
                "rejects a workflow with duplicate keys; the last value was checked",
                severity=duplicate_severity,
            )
        )
    extra = len(document.duplicate_keys) - MAX_DUPLICATE_NOTES
    if extra > 0:
        notes.append(
            FileError(document.path, f"{extra} more duplicate keys", severity=duplicate_severity)
        )
    return notes


MAX_DUPLICATE_NOTES = 5

_T = TypeVar("_T")


@dataclass(slots=True)
class RepoContext:
    """The whole run: the snapshot and a cache of parsed documents."""

    snapshot: RepoSnapshot
    targets: tuple[str, ...] = ()
    _documents: dict[str, YamlDocument | None] = field(default_factory=dict)
    errors: list[FileError] = field(default_factory=list)
    _target_set: frozenset[str] = field(default=frozenset(), init=False, repr=False)
    _memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._target_set = frozenset(self.targets)

    @property
    def is_review(self) -> bool:
        return self.snapshot.changes is not None

    def document(self, path: str) -> YamlDocument | None:
        """The parsed file at head, or None (missing, unreadable, invalid, a link or a
        submodule: errors recorded once, for target files only)."""
        if path in self._documents:
            return self._documents[path]
        document = None
        is_target = path in self._target_set
        kind = self.snapshot.kind(path)
        if kind is EntryKind.SYMLINK or kind is EntryKind.SUBMODULE:
            if is_target:
                self.errors.append(FileError(path, NOT_READ[kind], severity=Severity.NOTE))
            self._documents[path] = None
            return None
        text = self.snapshot.read(path)
        if text is None:
            reason = self.snapshot.read_error(path)
            if reason and is_target:
                self.errors.append(FileError(path, reason))
        else:
            try:
                document = YamlDocument.from_text(path, text)
            except ParseError as exc:
                if is_target:
                    self.errors.append(FileError(path, f"{exc}: not checked"))
            else:
                if is_target:
                    self.errors.extend(_notes(document))
        self._documents[path] = document
        return document

    def memo(self, key: Any, factory: Callable[[], _T]) -> _T:
        """What factory() returns, computed once per run for key: rules of different files
        (or different rules of one file) share models built from the same documents."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = factory()
            return value

    def workflow_paths(self) -> Iterator[str]:
        """Every path at head where GitHub loads workflows from."""
        return (path for path in self.snapshot.paths if is_workflow_location(path))


@dataclass(slots=True)
class FileContext:
    """One target file. `document` is never None here: the runner skips unparsable files."""

    repo: RepoContext
    document: YamlDocument

    @property
    def path(self) -> str:
        return self.document.path

    @property
    def root(self) -> Node | None:
        return self.document.root

    @property
    def is_workflow(self) -> bool:
        return looks_like_workflow(self.document.root)

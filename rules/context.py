"""What a rule sees: the repository snapshot, and the one file it is checking, parsed once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from rules.model import FileError
from rules.snapshot import RepoSnapshot, is_workflow_location
from rules.yamlpos import Node, ParseError, YamlDocument, get, is_mapping, items


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


@dataclass(slots=True)
class RepoContext:
    """The whole run: the snapshot and a cache of parsed documents."""

    snapshot: RepoSnapshot
    targets: tuple[str, ...] = ()
    _documents: dict[str, YamlDocument | None] = field(default_factory=dict)
    errors: list[FileError] = field(default_factory=list)

    @property
    def is_review(self) -> bool:
        return self.snapshot.changes is not None

    def document(self, path: str) -> YamlDocument | None:
        """The parsed file at head, or None (missing, unreadable, invalid: errors recorded
        once, for target files only)."""
        if path in self._documents:
            return self._documents[path]
        document = None
        text = self.snapshot.read(path)
        if text is None:
            reason = self.snapshot.read_error(path)
            if reason and path in self.targets:
                self.errors.append(FileError(path, reason))
        else:
            try:
                document = YamlDocument.from_text(path, text)
            except ParseError as exc:
                if path in self.targets:
                    self.errors.append(FileError(path, str(exc)))
        self._documents[path] = document
        return document

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

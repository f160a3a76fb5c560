"""A read-only picture of a repository at one commit, as the rules see it.

The CLI builds one from a folder or from git; the App builds one from the GitHub API. Rules
read file texts through ``read`` so that the App fetches only what a rule actually asks for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
import enum
import posixpath

from rules.yamlpos import MAX_FILE_BYTES


class EntryKind(enum.Enum):
    FILE = "file"
    SYMLINK = "symlink"
    SUBMODULE = "submodule"


class ChangeStatus(enum.Enum):
    ADDED = "added"
    MODIFIED = "modified"
    REMOVED = "removed"
    RENAMED = "renamed"
    COPIED = "copied"
    CHANGED = "changed"
    UNCHANGED = "unchanged"

    @classmethod
    def parse(cls, text: str) -> ChangeStatus:
        try:
            return cls(text)
        except ValueError:
            return cls.MODIFIED


@dataclass(frozen=True, slots=True)
class ChangedFile:
    path: str
    status: ChangeStatus
    previous_path: str | None = None

    @property
    def exists_at_head(self) -> bool:
        return self.status is not ChangeStatus.REMOVED


class FileUnavailable(Exception):
    """A file the snapshot lists but whose text cannot be had (too large, binary, gone)."""


Reader = Callable[[str], "str | bytes | None"]


@dataclass(slots=True)
class RepoSnapshot:
    """Every path at head, a way to read file texts, and (for a review) what changed.

    ``tree`` maps each path to its kind; folders are implied by the paths. ``changes`` is
    None for a whole-repository check and a tuple for a review.
    """

    tree: Mapping[str, EntryKind]
    reader: Reader
    changes: tuple[ChangedFile, ...] | None = None
    truncated: bool = False  # the tree listing is incomplete (GitHub's `truncated`)
    _texts: dict[str, str | None] = field(default_factory=dict)
    _read_errors: dict[str, str] = field(default_factory=dict)
    # A review of 3,000 changed files asks for changes by path once per workflow.
    _changes_by_path: dict[str, ChangedFile] | None = field(default=None, repr=False)

    @classmethod
    def from_files(
        cls,
        files: Mapping[str, str],
        changes: Iterable[ChangedFile] | None = None,
        extra_paths: Iterable[str] = (),
    ) -> RepoSnapshot:
        """A snapshot held in memory (tests, the demo, the App after prefetching)."""
        tree = {path: EntryKind.FILE for path in files}
        for path in extra_paths:
            tree.setdefault(path, EntryKind.FILE)
        return cls(
            tree=tree,
            reader=lambda path: files.get(path),
            changes=None if changes is None else tuple(changes),
        )

    @property
    def paths(self) -> Iterable[str]:
        return self.tree.keys()

    def exists(self, path: str) -> bool:
        return path in self.tree

    def kind(self, path: str) -> EntryKind | None:
        return self.tree.get(path)

    def read(self, path: str) -> str | None:
        """The text of a file at head, or None when it does not exist or cannot be read.

        Read errors are remembered; ``read_error(path)`` says why.
        """
        if path in self._texts:
            return self._texts[path]
        text: str | None
        if self.tree.get(path) is EntryKind.SUBMODULE:
            self._read_errors[path] = NOT_READ[EntryKind.SUBMODULE]
            self._texts[path] = None
            return None
        try:
            raw = self.reader(path)
        except FileUnavailable as exc:
            self._read_errors[path] = str(exc) or "file is not available"
            raw = None
        if isinstance(raw, bytes):
            text = decode_text(raw)
            if text is None:
                self._read_errors[path] = undecodable_reason(raw)
        else:
            text = raw[1:] if raw and raw.startswith("\ufeff") else raw
        self._texts[path] = text
        return text

    def read_error(self, path: str) -> str | None:
        return self._read_errors.get(path)

    def change(self, path: str) -> ChangedFile | None:
        if self._changes_by_path is None:
            self._changes_by_path = {change.path: change for change in self.changes or ()}
        return self._changes_by_path.get(path)

    def renamed_from(self, path: str) -> str | None:
        change = self.change(path)
        return change.previous_path if change else None


# Why the engine does not parse an entry of these kinds (see RepoContext.document). Reading
# a link's target is the reader's policy (the CLI follows a link that stays inside the
# repository, for rules that look at a linked Dockerfile); parsing a link as a file to check
# is not: the link may lead anywhere, and a target inside the repository is checked at its
# own path.
NOT_READ = {
    EntryKind.SYMLINK: (
        "symbolic link: not followed; a target inside the repository is checked at its own path"
    ),
    EntryKind.SUBMODULE: "submodule: another repository, not a file here; not checked",
}


def decode_text(raw: bytes) -> str | None:
    """UTF-8 text without its byte-order mark, or None for binary, oversized or non-UTF-8
    bytes (undecodable_reason says which)."""
    if len(raw) > MAX_FILE_BYTES or b"\x00" in raw[:8192]:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text[1:] if text.startswith("\ufeff") else text


def undecodable_reason(raw: bytes) -> str:
    """Why decode_text refused these bytes, precisely enough to find the culprit."""
    if len(raw) > MAX_FILE_BYTES:
        size = len(raw) / (1024 * 1024)
        return f"file is {size:.1f} MiB, over the {MAX_FILE_BYTES // (1024 * 1024)} MiB limit"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "file is UTF-16 text; workflows must be UTF-8: not checked"
    if b"\x00" in raw[:8192]:
        return "binary file (it contains NUL bytes): not checked"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        column = len(raw[line_start : exc.start].decode("utf-8", "replace")) + 1
        return (
            f"file is not UTF-8: invalid byte 0x{raw[exc.start]:02x} at line {line}, "
            f"column {column}: not checked"
        )
    return "file is not UTF-8 text: not checked"


YAML_SUFFIXES = (".yml", ".yaml")


def is_yaml_path(path: str) -> bool:
    return path.lower().endswith(YAML_SUFFIXES)


def is_workflow_location(path: str) -> bool:
    """True when GitHub loads a workflow from this path: directly in .github/workflows/,
    ending in .yml or .yaml."""
    folder, name = posixpath.split(path)
    return folder == ".github/workflows" and name.endswith(YAML_SUFFIXES)


_CANDIDATE_ROOTS = (".github/", "github/", "workflows/")


def is_candidate_path(path: str) -> bool:
    """Files `preflight check` looks at when no path is named: YAML anywhere under .github/,
    github/ or workflows/ (at any depth of the repository), and a file named `.github`."""
    if posixpath.basename(path) == ".github":
        return True
    if not (is_yaml_path(path) or ".yml." in path or ".yaml." in path):
        return False
    probe = "/" + path
    return any(f"/{root}" in probe for root in _CANDIDATE_ROOTS)

"""A pull request's view of a local git repository, through git plumbing only.

`preflight review` must see exactly what the App sees on GitHub: the tree at head, the files
that changed since the merge base, and their patches. Nothing is checked out and no code from
the repository runs: no hooks, no external diff drivers, no textconv, no filters; blobs are read
with `git cat-file`.
"""

from __future__ import annotations

from dataclasses import dataclass
import logging
import os
from pathlib import Path
import posixpath
import subprocess

from bot.localrepo import SAFE_GIT
from rules.snapshot import ChangedFile, ChangeStatus, EntryKind, FileUnavailable, RepoSnapshot

log = logging.getLogger(__name__)

# The reader's safe git, plus no external diff driver: this module also runs `git diff`.
GIT = (*SAFE_GIT, "-c", "diff.external=", "--no-pager")
MAX_READ_BYTES = 8 * 1024 * 1024

_STATUS = {
    "A": ChangeStatus.ADDED,
    "M": ChangeStatus.MODIFIED,
    "D": ChangeStatus.REMOVED,
    "R": ChangeStatus.RENAMED,
    "C": ChangeStatus.COPIED,
    "T": ChangeStatus.CHANGED,
}


class GitError(RuntimeError):
    """A git command failed; the message says which and why."""


@dataclass(frozen=True, slots=True)
class TreeEntry:
    mode: str
    kind: EntryKind
    object_id: str
    size: int | None


class GitRepo:
    def __init__(self, path: Path) -> None:
        self.path = path
        top = self.run("rev-parse", "--show-toplevel", "--is-bare-repository").splitlines()
        if not top:
            raise GitError(f"{str(path)!r} is not a git repository")

    def run(self, *args: str, input_text: str | None = None) -> str:
        env = dict(os.environ)
        env.pop("GIT_EXTERNAL_DIFF", None)
        env["GIT_TERMINAL_PROMPT"] = "0"
        try:
            done = subprocess.run(
                [*GIT, "-C", str(self.path), *args],
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="surrogateescape",
                input=input_text,
                check=False,
                env=env,
                stdin=None if input_text is not None else subprocess.DEVNULL,
            )
        except OSError as exc:
            raise GitError(f"cannot run git: {exc}") from None
        if done.returncode != 0:
            message = done.stderr.strip().splitlines()
            raise GitError(f"git {args[0]} failed: {message[-1] if message else done.returncode}")
        return done.stdout

    def commit(self, revision: str) -> str:
        try:
            return self.run("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").strip()
        except GitError:
            raise GitError(f"unknown revision {revision!r}") from None

    def merge_base(self, base: str, head: str) -> str:
        try:
            return self.run("merge-base", base, head).strip()
        except GitError:
            raise GitError(f"{base[:12]} and {head[:12]} have no common ancestor") from None

    def tree(self, commit: str) -> dict[str, TreeEntry]:
        entries: dict[str, TreeEntry] = {}
        for record in self.run("ls-tree", "-r", "-z", "--long", "--full-tree", commit).split("\0"):
            if not record:
                continue
            meta, _, path = record.partition("\t")
            mode, _type, object_id, size = meta.split(maxsplit=3)
            if mode == "120000":
                kind = EntryKind.SYMLINK
            elif mode == "160000":
                kind = EntryKind.SUBMODULE
            else:
                kind = EntryKind.FILE
            entries[path] = TreeEntry(mode, kind, object_id, int(size) if size.isdigit() else None)
        return entries

    def blob(self, object_id: str) -> bytes:
        try:
            done = subprocess.run(
                [*GIT, "-C", str(self.path), "cat-file", "blob", object_id],
                capture_output=True,
                check=True,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.CalledProcessError) as exc:
            raise FileUnavailable(f"cannot read blob {object_id[:12]}: {exc}") from None
        return done.stdout

    def changes(self, base: str, head: str) -> list[ChangedFile]:
        out = self.run("diff", "--name-status", "-z", "-M", "--no-ext-diff", base, head)
        fields = [part for part in out.split("\0")]
        changes: list[ChangedFile] = []
        index = 0
        while index < len(fields) and fields[index]:
            code = fields[index]
            letter = code[:1]
            if letter in ("R", "C"):
                old, new = fields[index + 1], fields[index + 2]
                changes.append(ChangedFile(new, _STATUS[letter], old))
                index += 3
            else:
                changes.append(
                    ChangedFile(fields[index + 1], _STATUS.get(letter, ChangeStatus.MODIFIED))
                )
                index += 2
        return changes

    def unified_diff(self, base: str, head: str) -> str:
        return self.run(
            "diff",
            "-M",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            "--unified=3",
            base,
            head,
        )

    def snapshot(self, head: str, changes: list[ChangedFile]) -> RepoSnapshot:
        entries = self.tree(head)

        def read(path: str) -> bytes | None:
            entry = entries.get(path)
            if entry is None:
                return None
            if entry.kind is EntryKind.SUBMODULE:
                raise FileUnavailable("is a git submodule")
            if entry.kind is EntryKind.SYMLINK:
                target = _symlink_target(path, self.blob(entry.object_id), entries)
                if target is None:
                    raise FileUnavailable("is a symbolic link that leaves the repository")
                entry = entries[target]
            if entry.size is not None and entry.size > MAX_READ_BYTES:
                raise FileUnavailable(f"is larger than {MAX_READ_BYTES // (1024 * 1024)} MiB")
            return self.blob(entry.object_id)

        return RepoSnapshot(
            tree={path: entry.kind for path, entry in entries.items()},
            reader=read,
            changes=tuple(changes),
        )

    def show(self, commit: str, path: str) -> bytes | None:
        """A file's bytes at a commit, or None when it is not there."""
        entry = self._entry(commit, path)
        if entry is None or entry.kind is not EntryKind.FILE:
            return None
        return self.blob(entry.object_id)

    def _entry(self, commit: str, path: str) -> TreeEntry | None:
        out = self.run("ls-tree", "-z", "--long", "--full-tree", commit, "--", path)
        for record in out.split("\0"):
            meta, _, found = record.partition("\t")
            if found == path:
                mode, _type, object_id, size = meta.split(maxsplit=3)
                kind = {"120000": EntryKind.SYMLINK, "160000": EntryKind.SUBMODULE}.get(
                    mode, EntryKind.FILE
                )
                return TreeEntry(mode, kind, object_id, int(size) if size.isdigit() else None)
        return None


def _symlink_target(path: str, raw: bytes, entries: dict[str, TreeEntry]) -> str | None:
    """The file a symbolic link names, when it is a regular file of the tree (one hop; a link
    that leaves the repository or leads to another link is not followed)."""
    text = raw.decode("utf-8", "surrogateescape")
    if not text or posixpath.isabs(text):
        return None
    target = posixpath.normpath(posixpath.join(posixpath.dirname(path), text))
    if target == ".." or target.startswith("../"):
        return None
    entry = entries.get(target)
    return target if entry is not None and entry.kind is EntryKind.FILE else None

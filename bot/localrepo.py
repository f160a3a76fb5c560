"""A RepoSnapshot of a folder on disk, as `preflight check` sees it.

The tree is every file under the root except `.git`, and except what git ignores when the root
is a git work tree (a virtualenv or node_modules is not part of the repository, and vendored
`.github` folders inside them are not ours to judge). Symbolic links are entries of their own
and are only ever read when they point at a file inside the root. A folder that holds a `.git`
of its own, and a gitlink of the index, is a submodule: an entry, never descended into.
"""

from __future__ import annotations

from collections.abc import Iterable
import logging
import os
from pathlib import Path
import posixpath
import subprocess

from rules.snapshot import EntryKind, FileUnavailable, RepoSnapshot

log = logging.getLogger(__name__)

# Larger files are not read at all; the YAML parser has its own, smaller limit.
MAX_READ_BYTES = 8 * 1024 * 1024

# Never let git run anything configured for the repository while we only read it.
SAFE_GIT = (
    "git",
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.quotePath=false",
)


class LocalRepo:
    """The files under one root folder, with safe reads."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.tree: dict[str, EntryKind] = {}
        self._scan()

    def snapshot(self) -> RepoSnapshot:
        return RepoSnapshot(tree=dict(self.tree), reader=self.read)

    # --- scanning ---------------------------------------------------------------------------

    def _scan(self) -> None:
        gitlinks, ignored_dirs, ignored_files = self._git_facts()
        root = str(self.root)
        for folder, dirnames, filenames in os.walk(root, followlinks=False):
            relative_folder = os.path.relpath(folder, root)
            prefix = "" if relative_folder == "." else relative_folder.replace(os.sep, "/") + "/"
            kept = []
            for name in sorted(dirnames):
                if name == ".git":
                    continue
                path = prefix + name
                full = os.path.join(folder, name)
                if path in ignored_dirs:
                    continue
                if os.path.islink(full):
                    self.tree[path] = EntryKind.SYMLINK
                elif path in gitlinks or os.path.lexists(os.path.join(full, ".git")):
                    self.tree[path] = EntryKind.SUBMODULE
                else:
                    kept.append(name)
            dirnames[:] = kept
            for name in filenames:
                path = prefix + name
                if path in ignored_files or (name == ".git" and prefix == ""):
                    continue
                full = os.path.join(folder, name)
                self.tree[path] = EntryKind.SYMLINK if os.path.islink(full) else EntryKind.FILE
        for path in gitlinks:
            # An uninitialised submodule is an empty folder, or nothing at all.
            self.tree[path] = EntryKind.SUBMODULE

    def _git_facts(self) -> tuple[set[str], set[str], set[str]]:
        """Gitlinks of the index, and the ignored folders and files, when root is a work tree."""
        if not (self.root / ".git").exists():
            return set(), set(), set()
        gitlinks: set[str] = set()
        listing = _git(self.root, "ls-files", "-s", "-z")
        for record in _split_z(listing):
            meta, _, path = record.partition("\t")
            if meta.startswith("160000 "):
                gitlinks.add(path)
        ignored = _git(
            self.root,
            "ls-files",
            "-z",
            "--others",
            "--ignored",
            "--exclude-standard",
            "--directory",
        )
        ignored_dirs: set[str] = set()
        ignored_files: set[str] = set()
        for path in _split_z(ignored):
            if path.endswith("/"):
                ignored_dirs.add(path.rstrip("/"))
            else:
                ignored_files.add(path)
        return gitlinks, ignored_dirs, ignored_files

    # --- reading ----------------------------------------------------------------------------

    def read(self, path: str) -> bytes | None:
        kind = self.tree.get(path)
        if kind is None:
            return None
        if kind is EntryKind.SUBMODULE:
            raise FileUnavailable("is a git submodule")
        full = self.root / path
        if kind is EntryKind.SYMLINK:
            target = self.resolve_inside(path)
            if target is None:
                raise FileUnavailable("is a symbolic link that leaves the repository")
            full = target
        try:
            if full.stat().st_size > MAX_READ_BYTES:
                raise FileUnavailable(f"is larger than {MAX_READ_BYTES // (1024 * 1024)} MiB")
            return full.read_bytes()
        except FileUnavailable:
            raise
        except OSError as exc:
            raise FileUnavailable(f"cannot be read: {exc.strerror or exc}") from None

    def resolve_inside(self, path: str) -> Path | None:
        """The regular file a symbolic link leads to, when it stays inside the root."""
        try:
            target = (self.root / path).resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if not target.is_relative_to(self.root) or not target.is_file():
            return None
        if (self.root / ".git") in (target, *target.parents):
            return None
        return target

    def relative(self, path: str | os.PathLike[str]) -> str:
        """A user-given path as a tree path (relative to the root, '/'-separated).

        Relative paths are taken relative to the root; raises ValueError outside it."""
        given = Path(path)
        full = given if given.is_absolute() else self.root / given
        normal = Path(os.path.normpath(full))
        try:
            relative = normal.relative_to(self.root)
        except ValueError:
            raise ValueError(f"{str(path)!r} is outside the root {str(self.root)!r}") from None
        text = relative.as_posix()
        return "" if text == "." else text

    def paths_under(self, folder: str) -> Iterable[str]:
        prefix = folder.rstrip("/") + "/" if folder else ""
        return (p for p in self.tree if p.startswith(prefix))


def _split_z(text: str) -> list[str]:
    return [part for part in text.split("\0") if part]


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            [*SAFE_GIT, "-C", str(root), *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except OSError as exc:  # git is not installed: the folder is still checkable
        log.debug("git not available: %s", exc)
        return ""
    if done.returncode != 0:
        log.debug("git %s failed: %s", " ".join(args), done.stderr.strip())
        return ""
    return done.stdout


def safe_join(root: Path, path: str) -> Path:
    """root/path, refusing anything that would leave root (absolute, '..', a symlinked folder)."""
    if not path or posixpath.isabs(path) or ".." in path.split("/"):
        raise ValueError(f"refusing the path {path!r}: it leaves the repository")
    full = root / path
    parent = full.parent.resolve()
    if not parent.is_relative_to(root.resolve()):
        raise ValueError(f"refusing the path {path!r}: it leaves the repository")
    return full

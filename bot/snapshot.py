"""A pull request's head as the rules see it, built from as few GitHub requests as possible.

The payload gives the PR; one paged listing gives the changed files and their patches; one
recursive tree listing gives every path at head. File texts are fetched only when a rule reads
them (the reader runs in the rules' worker thread and may block), at the head sha, never the
head branch (it lives in the fork for fork PRs). A file the PR adds needs no request at all when
its patch holds the whole text: the text is rebuilt from the patch and checked against the blob
sha GitHub lists for it. Texts are cached by blob sha across runs, so a re-check of an unchanged
file costs nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
import hashlib
import logging
import re
import threading

from bot.github import (
    CONTENTS_API_LIMIT,
    FileTooLarge,
    GitHubError,
    NotFound,
    PullFile,
    RepoClient,
    Tree,
)
from rules.snapshot import (
    ChangedFile,
    ChangeStatus,
    EntryKind,
    FileUnavailable,
    RepoSnapshot,
    is_candidate_path,
    is_yaml_path,
)

log = logging.getLogger(__name__)

# GraphQL's Blob.text is cut for large files; bigger files are read with the contents API.
GRAPHQL_TEXT_LIMIT = 256 * 1024


class BlobCache:
    """File bytes by (repository, blob sha), bounded by total size; shared across runs."""

    def __init__(self, max_bytes: int = 32 * 1024 * 1024):
        self._items: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._bytes = 0
        self._max = max_bytes
        self._lock = threading.Lock()

    def get(self, repo: str, sha: str) -> bytes | None:
        with self._lock:
            data = self._items.get((repo, sha))
            if data is not None:
                self._items.move_to_end((repo, sha))
            return data

    def put(self, repo: str, sha: str, data: bytes) -> None:
        if len(data) > self._max // 4:
            return
        with self._lock:
            if (repo, sha) in self._items:
                return
            self._items[(repo, sha)] = data
            self._bytes += len(data)
            while self._bytes > self._max:
                _, old = self._items.popitem(last=False)
                self._bytes -= len(old)


def git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


_ADDED_HUNK_RE = re.compile(r"@@ -0,0 \+1(?:,(\d+))? @@")


def text_of_added_file(patch: str | None) -> bytes | None:
    """The whole text of an added file from its patch, or None when the patch does not hold
    exactly that (several hunks, a context line, a line count that does not add up)."""
    if not patch:
        return None
    lines = patch.split("\n")
    match = _ADDED_HUNK_RE.match(lines[0])
    if match is None:
        return None
    expected = int(match.group(1)) if match.group(1) is not None else 1
    body: list[str] = []
    final_newline = True
    last = len(lines) - 1
    for number, line in enumerate(lines[1:], start=1):
        if line.startswith("+"):
            body.append(line[1:])
        elif line.startswith("\\"):
            final_newline = False
        elif not (line == "" and number == last):
            return None
    if len(body) != expected:
        return None
    text = "\n".join(body) + ("\n" if final_newline and body else "")
    return text.encode("utf-8")


def changed_files(files: Iterable[PullFile]) -> tuple[ChangedFile, ...]:
    return tuple(ChangedFile(f.path, ChangeStatus.parse(f.status), f.previous_path) for f in files)


def touches_ci(files: Sequence[PullFile]) -> bool:
    """Whether the rules have anything to look at: a changed YAML file that still exists, or
    any change (a removal or a rename too) where CI files live."""
    for f in files:
        if f.status != "removed" and (is_yaml_path(f.path) or is_candidate_path(f.path)):
            return True
        if is_candidate_path(f.path) or (f.previous_path and is_candidate_path(f.previous_path)):
            return True
    return False


def tree_kinds(tree: Tree) -> dict[str, EntryKind]:
    kinds: dict[str, EntryKind] = {}
    for entry in tree.entries:
        if entry.type == "blob":
            kinds[entry.path] = EntryKind.SYMLINK if entry.mode == "120000" else EntryKind.FILE
        elif entry.type == "commit":
            kinds[entry.path] = EntryKind.SUBMODULE
    return kinds


class HeadReader:
    """Reads file bytes at the head commit for the rules; counts what it fetched."""

    def __init__(
        self,
        client: RepoClient,
        head_sha: str,
        tree: Tree,
        files: Sequence[PullFile],
        cache: BlobCache,
    ):
        self._client = client
        self._head = head_sha
        self._entries = {entry.path: entry for entry in tree.entries}
        self._truncated = tree.truncated
        self._files = {f.path: f for f in files}
        self._cache = cache
        self.fetched: list[str] = []

    def __call__(self, path: str) -> bytes | None:
        entry = self._entries.get(path)
        if entry is None and not self._truncated:
            return None  # not in the tree: the file does not exist at head
        if entry is not None:
            if entry.type != "blob":
                return None
            if entry.size is not None and entry.size > CONTENTS_API_LIMIT:
                raise FileUnavailable(
                    f"file is {entry.size} bytes; GitHub serves files up to 1 MB, so it was "
                    "not checked"
                )
            if entry.size == 0:
                return b""
            cached = self._cache.get(self._client.full_name, entry.sha)
            if cached is not None:
                return cached
            rebuilt = self._from_patch(path, entry.sha)
            if rebuilt is not None:
                self._cache.put(self._client.full_name, entry.sha, rebuilt)
                return rebuilt
        try:
            self.fetched.append(path)
            data = self._client.read_file_sync(path, self._head)
        except NotFound:
            return None
        except FileTooLarge as exc:
            raise FileUnavailable(f"{exc.message}, so it was not checked") from None
        except GitHubError as exc:
            raise FileUnavailable(f"could not be read from GitHub ({exc})") from None
        sha = entry.sha if entry is not None else git_blob_sha(data)
        self._cache.put(self._client.full_name, sha, data)
        return data

    def prefetchable(self, paths: Iterable[str], limit: int = 50) -> list[str]:
        """Of these paths, those worth reading in the GraphQL query the run makes anyway:
        text-sized blobs that are neither cached nor rebuilt from their patch."""
        chosen = []
        for path in paths:
            entry = self._entries.get(path)
            if entry is None or entry.type != "blob" or not entry.size:
                continue
            if entry.size > GRAPHQL_TEXT_LIMIT:
                continue
            if self._cache.get(self._client.full_name, entry.sha) is not None:
                continue
            if self._from_patch(path, entry.sha) is not None:
                continue
            chosen.append(path)
        return chosen[:limit]

    def offer(self, path: str, text: str) -> bool:
        """Accept a file's text fetched another way, if it is exactly the blob at head."""
        entry = self._entries.get(path)
        data = text.encode("utf-8")
        if entry is None or git_blob_sha(data) != entry.sha:
            return False
        self._cache.put(self._client.full_name, entry.sha, data)
        return True

    def blob_sha(self, path: str) -> str | None:
        entry = self._entries.get(path)
        return entry.sha if entry is not None and entry.type == "blob" else None

    def _from_patch(self, path: str, sha: str) -> bytes | None:
        changed = self._files.get(path)
        if changed is None or changed.status != "added":
            return None
        text = text_of_added_file(changed.patch)
        if text is None or git_blob_sha(text) != sha:
            return None
        return text


def build_snapshot(
    client: RepoClient,
    head_sha: str,
    files: Sequence[PullFile],
    tree: Tree,
    cache: BlobCache,
) -> tuple[RepoSnapshot, HeadReader]:
    reader = HeadReader(client, head_sha, tree, files, cache)
    snapshot = RepoSnapshot(
        tree=tree_kinds(tree),
        reader=reader,
        changes=changed_files(files),
        truncated=tree.truncated,
    )
    return snapshot, reader

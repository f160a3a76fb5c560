"""What the fake GitHub knows: repositories, commits, pull requests and everything posted on
them. Tests change it directly to play the humans (push a commit, resolve a thread, comment)."""

from __future__ import annotations

from dataclasses import dataclass, field
import hashlib
import itertools
import posixpath
from typing import Any

from tests.fakegithub.diff import make_patch

SUBMODULE = object()  # a tree entry that is a submodule (type "commit")


def blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class User:
    login: str
    type: str = "User"  # User | Bot
    id: int = 0

    def json(self) -> dict[str, Any]:
        return {"login": self.login, "id": self.id, "type": self.type}


@dataclass
class ReviewComment:
    id: int
    pull: int
    review_id: int | None
    user: User
    body: str
    path: str
    commit_id: str
    line: int | None
    side: str | None
    start_line: int | None
    start_side: str | None
    subject_type: str
    in_reply_to_id: int | None = None
    thread_id: str = ""


@dataclass
class Thread:
    id: str
    pull: int
    path: str
    comment_ids: list[int] = field(default_factory=list)
    is_resolved: bool = False
    resolved_by: User | None = None


@dataclass
class Review:
    id: int
    pull: int
    user: User
    body: str
    state: str  # PENDING | COMMENTED | APPROVED | CHANGES_REQUESTED
    commit_id: str


@dataclass
class IssueComment:
    id: int
    number: int
    user: User
    body: str
    via_app: bool = False
    reactions: list[tuple[str, str]] = field(default_factory=list)  # (login, content)


@dataclass
class CheckRun:
    id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    external_id: str
    output: dict[str, Any]
    annotations: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Pull:
    number: int
    title: str
    author: User
    head_sha: str
    base_sha: str
    head_ref: str
    base_ref: str
    head_repo: str | None  # full name of the repository holding the head branch
    draft: bool = False
    state: str = "open"
    renames: dict[str, str] = field(default_factory=dict)  # new path -> old path
    commits: list[str] = field(default_factory=list)  # every head it ever had
    reviews: list[Review] = field(default_factory=list)
    comments: list[ReviewComment] = field(default_factory=list)
    threads: list[Thread] = field(default_factory=list)


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    installation_id: int
    private: bool = False
    default_branch: str = "main"
    commits: dict[str, dict[str, Any]] = field(default_factory=dict)  # sha -> {path: bytes}
    pulls: dict[int, Pull] = field(default_factory=dict)
    issue_comments: dict[int, IssueComment] = field(default_factory=dict)
    check_runs: dict[int, CheckRun] = field(default_factory=dict)
    collaborators: dict[str, str] = field(default_factory=dict)  # login -> role
    next_number: int = 1

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


class World:
    """All the fake's data, guarded by the server's lock."""

    def __init__(self, app_id: int, slug: str):
        self.app_id = app_id
        self.slug = slug
        self.repos: dict[str, Repo] = {}
        self._ids = itertools.count(1000)
        self._commits = itertools.count(1)
        self.bot = User(f"{slug}[bot]", "Bot", 41898282)

    def new_id(self) -> int:
        return next(self._ids)

    # -- repositories and commits ---------------------------------------------------------------

    def add_repo(self, full_name: str, installation_id: int = 1, private: bool = False) -> Repo:
        owner, name = full_name.split("/")
        repo = Repo(self.new_id(), owner, name, installation_id, private)
        self.repos[full_name] = repo
        return repo

    def commit(self, repo: Repo, files: dict[str, Any]) -> str:
        """Store a commit whose tree is exactly files; return its sha."""
        serial = next(self._commits)
        digest = hashlib.sha1(f"{repo.full_name}:{serial}".encode())
        for path in sorted(files):
            content = files[path]
            digest.update(path.encode())
            digest.update(b"<submodule>" if content is SUBMODULE else content)
        sha = digest.hexdigest()
        repo.commits[sha] = dict(files)
        return sha

    def tree(self, repo: Repo, sha: str) -> list[dict[str, Any]] | None:
        files = repo.commits.get(sha)
        if files is None:
            return None
        entries: dict[str, dict[str, Any]] = {}
        for path, content in files.items():
            folder = posixpath.dirname(path)
            while folder and folder not in entries:
                entries[folder] = {
                    "path": folder,
                    "mode": "040000",
                    "type": "tree",
                    "sha": hashlib.sha1(folder.encode()).hexdigest(),
                }
                folder = posixpath.dirname(folder)
            if content is SUBMODULE:
                entries[path] = {
                    "path": path,
                    "mode": "160000",
                    "type": "commit",
                    "sha": hashlib.sha1(path.encode()).hexdigest(),
                }
            else:
                entries[path] = {
                    "path": path,
                    "mode": "100644",
                    "type": "blob",
                    "sha": blob_sha(content),
                    "size": len(content),
                }
        return [entries[key] for key in sorted(entries)]

    # -- pull requests --------------------------------------------------------------------------

    def open_pull(
        self,
        repo: Repo,
        base: dict[str, Any],
        head: dict[str, Any],
        *,
        author: str = "octocat",
        title: str = "Update CI",
        head_repo: str | None = None,
        head_ref: str = "feature",
        draft: bool = False,
        renames: dict[str, str] | None = None,
    ) -> Pull:
        base_sha = self.commit(repo, base)
        head_sha = self.commit(repo, head)
        number = repo.next_number
        repo.next_number += 1
        pull = Pull(
            number=number,
            title=title,
            author=User(author, "User", self.new_id()),
            head_sha=head_sha,
            base_sha=base_sha,
            head_ref=head_ref,
            base_ref=repo.default_branch,
            head_repo=head_repo if head_repo is not None else repo.full_name,
            draft=draft,
            renames=dict(renames or {}),
            commits=[head_sha],
        )
        repo.pulls[number] = pull
        return pull

    def push(self, repo: Repo, pull: Pull, changes: dict[str, Any]) -> str:
        """A new head commit: the old head's files with changes applied (None deletes)."""
        files = dict(repo.commits[pull.head_sha])
        for path, content in changes.items():
            if content is None:
                files.pop(path, None)
            else:
                files[path] = content
        sha = self.commit(repo, files)
        pull.head_sha = sha
        pull.commits.append(sha)
        return sha

    def pull_files(self, repo: Repo, pull: Pull, max_patch_lines: int) -> list[dict[str, Any]]:
        """GitHub's `/pulls/{n}/files` entries, computed from the base and head trees."""
        base = repo.commits[pull.base_sha]
        head = repo.commits[pull.head_sha]
        old_paths = set(pull.renames.values())
        out = []
        for path in sorted(set(base) | set(head)):
            if path in old_paths and path not in head:
                continue  # shown as the rename's previous_filename
            old = base.get(path)
            new = head.get(path)
            previous = None
            if path in pull.renames and path in head:
                previous = pull.renames[path]
                old = base.get(previous)
                status = "renamed"
            elif old is None:
                status = "added"
            elif new is None:
                status = "removed"
            elif old == new:
                continue
            else:
                status = "modified"
            if old is SUBMODULE or new is SUBMODULE:
                continue
            patch = make_patch(old, new)
            entry: dict[str, Any] = {
                "sha": blob_sha(new) if new is not None else "0" * 40,
                "filename": path,
                "status": status,
                "additions": 0,
                "deletions": 0,
                "changes": 0,
            }
            if previous:
                entry["previous_filename"] = previous
            if patch is not None and patch.count("\n") < max_patch_lines:
                entry["patch"] = patch
                entry["additions"] = sum(1 for ln in patch.split("\n") if ln.startswith("+"))
                entry["deletions"] = sum(1 for ln in patch.split("\n") if ln.startswith("-"))
                entry["changes"] = entry["additions"] + entry["deletions"]
            out.append(entry)
        return out

    # -- playing a human ------------------------------------------------------------------------

    def resolve_thread(self, pull: Pull, thread_id: str, by: str = "octocat") -> None:
        for thread in pull.threads:
            if thread.id == thread_id:
                thread.is_resolved = True
                thread.resolved_by = User(by)
                return
        raise KeyError(thread_id)

    def human_issue_comment(self, repo: Repo, number: int, login: str, body: str) -> IssueComment:
        comment = IssueComment(self.new_id(), number, User(login, "User", self.new_id()), body)
        repo.issue_comments[comment.id] = comment
        return comment

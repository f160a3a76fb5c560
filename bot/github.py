"""The one module that talks to GitHub (PyGithub lives here and nowhere else).

PyGithub is synchronous, so every call made from the event loop goes through
``asyncio.to_thread``; the ``*_sync`` methods are for code that already runs in a worker thread
(the rules read files lazily from theirs). The App authenticates with a JWT, exchanges it for
installation tokens (PyGithub caches and refreshes them), and talks to ``GITHUB_API_URL``, so
GitHub Enterprise Server and the test server work alike. Reads are retried on 5xx; writes are
never retried by the HTTP layer (a retried POST can post twice) and are made idempotent by the
hidden markers the review run looks for instead.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
import logging
import threading
from typing import Any

from github import Auth, Github, GithubException, GithubIntegration, GithubRetry

from bot.settings import Settings

log = logging.getLogger(__name__)

CONTENTS_API_LIMIT = 1024 * 1024  # the contents API serves files up to 1 MB
ANNOTATIONS_PER_REQUEST = 50  # GitHub rejects more in one check-run request
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class GitHubError(Exception):
    """A GitHub request failed; ``status`` is the HTTP status (0 when none)."""

    def __init__(self, status: int, message: str, errors: Sequence[str] = ()):
        super().__init__(f"{status} {message}" + (f": {'; '.join(errors)}" if errors else ""))
        self.status = status
        self.message = message
        self.errors = tuple(errors)


class NotFound(GitHubError):
    pass


class Rejected(GitHubError):
    """422: GitHub refused the content (a comment outside the diff, a body too long, ...)."""


class FileTooLarge(GitHubError):
    pass


def _wrap(exc: GithubException) -> GitHubError:
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or exc.message or "request failed")
    errors = []
    for item in data.get("errors") or ():
        if isinstance(item, dict):
            errors.append(str(item.get("message") or item.get("code") or item))
        else:
            errors.append(str(item))
    kind = {404: NotFound, 422: Rejected}.get(exc.status, GitHubError)
    return kind(exc.status, message, errors)


@dataclass(frozen=True, slots=True)
class AppIdentity:
    id: int
    slug: str
    name: str

    @property
    def bot_login(self) -> str:
        return f"{self.slug}[bot]"

    def is_us(self, login: str | None) -> bool:
        """GraphQL names a bot without the "[bot]" suffix that REST and webhooks add."""
        return login in (self.bot_login, self.slug)


@dataclass(frozen=True, slots=True)
class PullRequestInfo:
    repo: str  # the base repository's full name: every call goes there, fork or not
    number: int
    head_sha: str
    base_sha: str
    base_ref: str
    head_repo: str | None  # None when the fork was deleted
    author: str
    draft: bool
    state: str
    title: str = ""

    @property
    def is_fork(self) -> bool:
        return self.head_repo != self.repo

    @classmethod
    def from_json(cls, data: dict[str, Any], repo: str) -> PullRequestInfo:
        head, base = data["head"], data["base"]
        head_repo = head.get("repo") or None
        return cls(
            repo=repo,
            number=int(data["number"]),
            head_sha=head["sha"],
            base_sha=base["sha"],
            base_ref=base.get("ref", ""),
            head_repo=head_repo.get("full_name") if head_repo else None,
            author=(data.get("user") or {}).get("login", ""),
            draft=bool(data.get("draft")),
            state=data.get("state", "open"),
            title=data.get("title") or "",
        )


@dataclass(frozen=True, slots=True)
class PullFile:
    path: str
    status: str
    previous_path: str | None
    patch: str | None
    sha: str | None


@dataclass(frozen=True, slots=True)
class TreeEntry:
    path: str
    type: str  # blob | tree | commit (submodule)
    mode: str
    sha: str
    size: int | None


@dataclass(frozen=True, slots=True)
class Tree:
    sha: str
    entries: tuple[TreeEntry, ...]
    truncated: bool


@dataclass(frozen=True, slots=True)
class Author:
    login: str
    is_bot: bool


@dataclass(frozen=True, slots=True)
class ThreadInfo:
    id: str
    path: str
    is_resolved: bool
    resolved_by: str | None
    first_comment_id: int | None
    first_body: str
    first_author: Author | None
    last_body: str
    last_author: Author | None


@dataclass(frozen=True, slots=True)
class IssueCommentInfo:
    id: int
    body: str
    author: Author | None


@dataclass(frozen=True, slots=True)
class ReviewInfo:
    id: int
    body: str
    author: Author | None
    state: str
    commit_sha: str | None


@dataclass(frozen=True, slots=True)
class PullState:
    """What is already on the PR (our threads, summary, reviews) and the base's config file."""

    config_text: str | None
    config_problem: str | None
    threads: tuple[ThreadInfo, ...]
    issue_comments: tuple[IssueCommentInfo, ...]
    reviews: tuple[ReviewInfo, ...]
    config_oid: str | None = None
    texts: dict[str, str] = field(default_factory=dict)  # path -> text at head, when asked


@dataclass(frozen=True, slots=True)
class Annotation:
    path: str
    start_line: int
    end_line: int
    level: str  # notice | warning | failure
    message: str
    title: str = ""
    start_column: int | None = None
    end_column: int | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "annotation_level": self.level,
            "message": self.message[:65000],
        }
        if self.title:
            data["title"] = self.title[:255]
        if self.start_line == self.end_line and self.start_column and self.end_column:
            data["start_column"] = self.start_column
            data["end_column"] = self.end_column
        return data


def make_retry(settings: Settings) -> GithubRetry | None:
    """Retry reads on 5xx and rate limits; never a write (a retried POST can post twice)."""
    if settings.retries == 0:
        return None
    return GithubRetry(
        total=settings.retries,
        backoff_factor=0.5,
        allowed_methods=_READ_METHODS,
        secondary_rate_wait=settings.secondary_rate_wait,
        max_rate_limit_wait=120,
    )


class GitHubApp:
    """The App itself (JWT) and a cache of per-installation clients."""

    def __init__(self, settings: Settings, *, max_installations: int = 512):
        self.settings = settings
        self._app_auth = Auth.AppAuth(settings.app_id, settings.private_key)
        self._options: dict[str, Any] = {
            "base_url": settings.github_api_url,
            "timeout": settings.http_timeout,
            "user_agent": "preflight-app",
            "per_page": 100,
            "retry": make_retry(settings),
            "seconds_between_requests": settings.request_delay,
            "seconds_between_writes": settings.write_delay,
        }
        self._integration = GithubIntegration(auth=self._app_auth, **self._options)
        self._installations: OrderedDict[int, Github] = OrderedDict()
        self._max_installations = max_installations
        self._lock = threading.Lock()

    async def identity(self) -> AppIdentity:
        """GET /app: the App's id, slug and name; the bot login follows from the slug."""
        return await asyncio.to_thread(self._identity_sync)

    def _identity_sync(self) -> AppIdentity:
        try:
            app = self._integration.get_app()
        except GithubException as exc:
            raise _wrap(exc) from None
        return AppIdentity(id=int(app.id), slug=app.slug, name=app.name)

    def client(self, installation_id: int) -> Github:
        with self._lock:
            gh = self._installations.get(installation_id)
            if gh is None:
                # The installation auth fetches its token on first use and refreshes it shortly
                # before it expires; one Github per installation keeps that cache alive.
                auth = self._app_auth.get_installation_auth(int(installation_id))
                gh = Github(auth=auth, lazy=True, **self._options)
                self._installations[installation_id] = gh
                while len(self._installations) > self._max_installations:
                    _, old = self._installations.popitem(last=False)
                    old.close()
            else:
                self._installations.move_to_end(installation_id)
            return gh

    def repository(self, installation_id: int, full_name: str) -> RepoClient:
        return RepoClient(self.client(installation_id), full_name)

    def close(self) -> None:
        with self._lock:
            for gh in self._installations.values():
                gh.close()
            self._installations.clear()
        self._integration.close()


class RepoClient:
    """Calls on one repository through one installation. Objects are lazy: building the repo,
    the pull request or a commit costs no request; only the calls below do."""

    def __init__(self, gh: Github, full_name: str):
        self._gh = gh
        self.full_name = full_name
        self.owner, self.name = full_name.split("/", 1)
        self._repo = gh.get_repo(full_name)  # lazy: the client was made with lazy=True

    async def _call(self, function, *args, **kwargs):
        return await asyncio.to_thread(self._guard, function, *args, **kwargs)

    @staticmethod
    def _guard(function, *args, **kwargs):
        try:
            return function(*args, **kwargs)
        except GithubException as exc:
            raise _wrap(exc) from None

    # -- reading a pull request ---------------------------------------------------------------

    async def get_pull(self, number: int) -> PullRequestInfo:
        return await self._call(self._get_pull, number)

    def _get_pull(self, number: int) -> PullRequestInfo:
        _, data = self._gh.requester.requestJsonAndCheck("GET", f"{self._repo.url}/pulls/{number}")
        return PullRequestInfo.from_json(data, self.full_name)

    async def list_files(self, number: int) -> list[PullFile]:
        return await self._call(self._list_files, number)

    def _list_files(self, number: int) -> list[PullFile]:
        pull = self._repo.get_pull(number)
        files = []
        for item in pull.get_files():
            raw = item.raw_data
            files.append(
                PullFile(
                    path=raw["filename"],
                    status=raw.get("status", "modified"),
                    previous_path=raw.get("previous_filename"),
                    patch=raw.get("patch"),
                    sha=raw.get("sha"),
                )
            )
        return files

    async def get_tree(self, sha: str) -> Tree:
        return await self._call(self._get_tree, sha)

    def _get_tree(self, sha: str) -> Tree:
        tree = self._repo.get_git_tree(sha, recursive=True)
        entries = tuple(
            TreeEntry(
                path=element.path,
                type=element.type,
                mode=element.mode,
                sha=element.sha,
                size=element.size,
            )
            for element in tree.tree
        )
        return Tree(sha=tree.sha, entries=entries, truncated=bool(tree.raw_data.get("truncated")))

    def read_file_sync(self, path: str, ref: str) -> bytes:
        """The bytes of a file at a commit (blocking; called from a worker thread)."""
        return self._guard(self._read_file, path, ref)

    async def read_file(self, path: str, ref: str) -> bytes:
        return await self._call(self._read_file, path, ref)

    def _read_file(self, path: str, ref: str) -> bytes:
        content = self._repo.get_contents(path, ref=ref)
        if isinstance(content, list):
            raise NotFound(404, f"{path} is a folder, not a file")
        if content.encoding != "base64" or (content.size or 0) > CONTENTS_API_LIMIT:
            raise FileTooLarge(
                413, f"{path} is {content.size or 0} bytes; the contents API serves up to 1 MB"
            )
        return content.decoded_content

    # -- what is already there ------------------------------------------------------------------

    async def pull_state(
        self,
        number: int,
        config_path: str,
        base_sha: str,
        *,
        head_sha: str = "",
        files: Sequence[str] = (),
    ) -> PullState:
        """Our threads, comments and reviews on the PR, the config file at the base, and the
        texts of `files` at the head, in one GraphQL query (plus pages past 100 items)."""
        return await self._call(self._pull_state, number, config_path, base_sha, head_sha, files)

    def _graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        _, data = self._gh.requester.graphql_query(query, variables)
        return data["data"]

    def _pull_state(self, number, config_path, base_sha, head_sha, files) -> PullState:
        variables = {
            "owner": self.owner,
            "name": self.name,
            "number": number,
            "config": f"{base_sha}:{config_path}",
        }
        for index, path in enumerate(files):
            variables[f"f{index}"] = f"{head_sha}:{path}"
        data = self._graphql(state_query(len(files)), variables)["repository"]
        pull = data["pullRequest"]
        if pull is None:
            raise NotFound(404, f"pull request {number} not found")
        collected: dict[str, list[dict[str, Any]]] = {}
        for connection in ("reviewThreads", "comments", "reviews"):
            page = pull[connection]
            nodes = list(page["nodes"])
            while page["pageInfo"]["hasNextPage"]:
                more = self._graphql(
                    MORE_QUERIES[connection],
                    {
                        "owner": self.owner,
                        "name": self.name,
                        "number": number,
                        "after": page["pageInfo"]["endCursor"],
                    },
                )
                page = more["repository"]["pullRequest"][connection]
                nodes.extend(page["nodes"])
            collected[connection] = nodes
        config_text, problem = _blob_text(data.get("config"), config_path)
        texts = {}
        for index, path in enumerate(files):
            text, _ = _blob_text(data.get(f"f{index}"), path)
            if text is not None:
                texts[path] = text
        return PullState(
            config_text=config_text,
            config_problem=problem,
            config_oid=(data.get("config") or {}).get("oid"),
            texts=texts,
            threads=tuple(_thread(node) for node in collected["reviewThreads"]),
            issue_comments=tuple(
                IssueCommentInfo(int(n["databaseId"]), n["body"] or "", _author(n.get("author")))
                for n in collected["comments"]
            ),
            reviews=tuple(
                ReviewInfo(
                    id=int(n["databaseId"]),
                    body=n["body"] or "",
                    author=_author(n.get("author")),
                    state=n["state"],
                    commit_sha=(n.get("commit") or {}).get("oid"),
                )
                for n in collected["reviews"]
            ),
        )

    async def read_config(self, config_path: str, base_sha: str) -> str | None:
        """The config file at the base commit, or None when there is none."""
        try:
            raw = await self.read_file(config_path, base_sha)
        except NotFound:
            return None
        return raw.decode("utf-8", errors="replace")

    # -- writing ---------------------------------------------------------------------------------

    async def create_check_run(
        self,
        head_sha: str,
        *,
        name: str,
        external_id: str,
        status: str = "in_progress",
        conclusion: str | None = None,
        title: str = "",
        summary: str = "",
    ) -> int:
        return await self._call(
            self._create_check_run, head_sha, name, external_id, status, conclusion, title, summary
        )

    def _create_check_run(self, head_sha, name, external_id, status, conclusion, title, summary):
        body: dict[str, Any] = {
            "name": name,
            "head_sha": head_sha,
            "external_id": external_id,
            "status": status,
        }
        if conclusion:
            body["conclusion"] = conclusion
        if title:
            body["output"] = {"title": title, "summary": _clip(summary, 65535)}
        _, data = self._gh.requester.requestJsonAndCheck(
            "POST", f"{self._repo.url}/check-runs", input=body
        )
        return int(data["id"])

    async def complete_check_run(
        self,
        check_run_id: int,
        *,
        conclusion: str,
        title: str,
        summary: str,
        annotations: Sequence[Annotation] = (),
    ) -> None:
        await self._call(
            self._complete_check_run, check_run_id, conclusion, title, summary, annotations
        )

    def _complete_check_run(self, check_run_id, conclusion, title, summary, annotations):
        url = f"{self._repo.url}/check-runs/{check_run_id}"
        output = {"title": title[:255], "summary": _clip(summary, 65535)}
        batches = [
            annotations[i : i + ANNOTATIONS_PER_REQUEST]
            for i in range(0, len(annotations), ANNOTATIONS_PER_REQUEST)
        ]
        # GitHub appends the annotations of each PATCH; the last one completes the run so the
        # check never shows "completed" with half its annotations.
        for batch in batches[:-1]:
            self._gh.requester.requestJsonAndCheck(
                "PATCH",
                url,
                input={"output": {**output, "annotations": [a.as_json() for a in batch]}},
            )
        last = {**output}
        if batches:
            last["annotations"] = [a.as_json() for a in batches[-1]]
        self._gh.requester.requestJsonAndCheck(
            "PATCH", url, input={"status": "completed", "conclusion": conclusion, "output": last}
        )

    async def create_review(
        self, number: int, head_sha: str, body: str, comments: Sequence[dict[str, Any]]
    ) -> int:
        return await self._call(self._create_review, number, head_sha, body, comments)

    def _create_review(self, number, head_sha, body, comments) -> int:
        pull = self._repo.get_pull(number)
        review = pull.create_review(
            commit=self._repo.get_commit(head_sha),
            body=body,
            event="COMMENT",
            comments=list(comments),
        )
        return int(review.id)

    async def delete_pending_review(self, number: int, review_id: int) -> None:
        await self._call(
            self._gh.requester.requestJsonAndCheck,
            "DELETE",
            f"{self._repo.url}/pulls/{number}/reviews/{review_id}",
        )

    async def create_file_comment(self, number: int, head_sha: str, path: str, body: str) -> int:
        return await self._call(self._create_file_comment, number, head_sha, path, body)

    def _create_file_comment(self, number, head_sha, path, body) -> int:
        pull = self._repo.get_pull(number)
        comment = pull.create_review_comment(
            body=body, commit=head_sha, path=path, subject_type="file"
        )
        return int(comment.id)

    async def reply_to_review_comment(self, number: int, comment_id: int, body: str) -> int:
        return await self._call(self._reply, number, comment_id, body)

    def _reply(self, number: int, comment_id: int, body: str) -> int:
        pull = self._repo.get_pull(number)
        return int(pull.create_review_comment_reply(comment_id, body).id)

    async def resolve_thread(self, thread_id: str) -> None:
        await self._call(self._graphql, RESOLVE_MUTATION, {"thread": thread_id})

    async def create_issue_comment(self, number: int, body: str) -> int:
        return await self._call(self._create_issue_comment, number, body)

    def _create_issue_comment(self, number: int, body: str) -> int:
        return int(self._repo.get_issue(number).create_comment(body).id)

    async def edit_issue_comment(self, number: int, comment_id: int, body: str) -> None:
        await self._call(self._edit_issue_comment, number, comment_id, body)

    def _edit_issue_comment(self, number: int, comment_id: int, body: str) -> None:
        self._repo.get_issue(number).get_comment(comment_id).edit(body)

    async def add_reaction(self, number: int, comment_id: int, content: str) -> None:
        await self._call(self._add_reaction, number, comment_id, content)

    def _add_reaction(self, number: int, comment_id: int, content: str) -> None:
        self._repo.get_issue(number).get_comment(comment_id).create_reaction(content)

    async def permission(self, login: str) -> str:
        """admin, write, read or none (maintain shows as write)."""
        try:
            return await self._call(self._repo.get_collaborator_permission, login)
        except NotFound:
            return "none"


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 40] + "\n\n…(cut to fit GitHub's limit)"


def _author(node: dict[str, Any] | None) -> Author | None:
    if not node:
        return None  # a deleted account ("ghost")
    return Author(login=node["login"], is_bot=node.get("__typename") == "Bot")


def _thread(node: dict[str, Any]) -> ThreadInfo:
    first = (node.get("first") or {}).get("nodes") or [{}]
    last = (node.get("last") or {}).get("nodes") or [{}]
    return ThreadInfo(
        id=node["id"],
        path=node.get("path") or "",
        is_resolved=bool(node["isResolved"]),
        resolved_by=(node.get("resolvedBy") or {}).get("login"),
        first_comment_id=first[0].get("databaseId"),
        first_body=first[0].get("body") or "",
        first_author=_author(first[0].get("author")),
        last_body=last[0].get("body") or "",
        last_author=_author(last[0].get("author")),
    )


def _blob_text(node: dict[str, Any] | None, path: str) -> tuple[str | None, str | None]:
    if node is None:
        return None, None
    if node.get("__typename") != "Blob":
        return None, f"{path} is not a file"
    if node.get("isBinary") or node.get("text") is None:
        return None, f"{path} is not text"
    if node.get("isTruncated"):
        return None, f"{path} is too large to read"
    return node["text"], None


_AUTHOR = "author { __typename login }"
_THREAD_FIELDS = f"""
  id isResolved path resolvedBy {{ login }}
  first: comments(first: 1) {{ nodes {{ databaseId body {_AUTHOR} }} }}
  last: comments(last: 1) {{ nodes {{ databaseId body {_AUTHOR} }} }}
"""
_COMMENT_FIELDS = f"databaseId body {_AUTHOR}"
_REVIEW_FIELDS = f"databaseId body state commit {{ oid }} {_AUTHOR}"
_PAGE = "pageInfo { hasNextPage endCursor }"

_BLOB = "__typename ... on Blob { oid text isBinary isTruncated byteSize }"


def state_query(files: int) -> str:
    """The one query that reads what is on the PR, the base config and (aliases f0, f1, ...)
    the texts of `files` files."""
    params = "$owner: String!, $name: String!, $number: Int!, $config: String!"
    params += "".join(f", $f{i}: String!" for i in range(files))
    blobs = "".join(f"\n    f{i}: object(expression: $f{i}) {{ {_BLOB} }}" for i in range(files))
    return f"""
query PreflightPullState({params}) {{
  repository(owner: $owner, name: $name) {{
    config: object(expression: $config) {{ {_BLOB} }}{blobs}
    pullRequest(number: $number) {{
      reviewThreads(first: 100) {{ {_PAGE} nodes {{ {_THREAD_FIELDS} }} }}
      comments(first: 100) {{ {_PAGE} nodes {{ {_COMMENT_FIELDS} }} }}
      reviews(first: 100) {{ {_PAGE} nodes {{ {_REVIEW_FIELDS} }} }}
    }}
  }}
}}
"""


def _more(connection: str, fields: str) -> str:
    return f"""
query PreflightMore($owner: String!, $name: String!, $number: Int!, $after: String!) {{
  repository(owner: $owner, name: $name) {{
    pullRequest(number: $number) {{
      {connection}(first: 100, after: $after) {{ {_PAGE} nodes {{ {fields} }} }}
    }}
  }}
}}
"""


MORE_QUERIES = {
    "reviewThreads": _more("reviewThreads", _THREAD_FIELDS),
    "comments": _more("comments", _COMMENT_FIELDS),
    "reviews": _more("reviews", _REVIEW_FIELDS),
}

RESOLVE_MUTATION = """
mutation PreflightResolve($thread: ID!) {
  resolveReviewThread(input: {threadId: $thread}) { thread { id isResolved } }
}
"""

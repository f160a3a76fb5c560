"""The one module that talks to GitHub (PyGithub lives here and nowhere else).

PyGithub is synchronous, so every call made from the event loop goes through
``asyncio.to_thread``; the ``*_sync`` methods are for code that already runs in a worker thread
(the rules read files lazily from theirs). PyGithub signs the App's JWTs and carries the
requests; what to do when one fails is decided here, one request at a time, because only here
is it known whether a request may be repeated:

- A read (and a write that is safe to repeat: an edit, a reaction, resolving a thread) that
  meets a 5xx, a timeout or a reset connection is tried again, a bounded number of times, after
  an exponential backoff with jitter.
- A write that creates something (a review, a comment, a check run) is never repeated blindly:
  its outcome is unknown, so before trying again the client looks for what it may already have
  posted (every such write names a hidden marker it carries) and keeps that instead.
  PyGithub's own retry, which repeats POSTs, is turned off.
- A rate limit (a 403 or 429 with ``Retry-After``, ``x-ratelimit-remaining: 0`` with its reset
  time, or a secondary-limit message) stops every request of that installation for as long as
  GitHub says, up to a cap; a longer wait raises ``RateLimited`` and the job queue puts the
  work off. Writes of one installation go one at a time.
- A 401 on an installation token (it expired or was revoked early) fetches a new token once.
- 404, 410 and 422 are final: ``NotFound``, ``Gone``, ``Rejected``.

Nothing secret reaches a log or an error message: PyGithub's debug log prints response bodies
(the token exchange's holds the token), so its loggers get a filter that masks tokens, JWTs and
private keys, and every error message made here goes through the same ``redact``.
"""

from __future__ import annotations

import asyncio
import base64
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext, suppress
from dataclasses import dataclass, field
import datetime as dt
import email.utils
import logging
import random
import re
import threading
import time
from typing import Any
from urllib.parse import quote

from github import Auth, Github, GithubException, GithubIntegration
import requests

from bot.metrics import Metrics, status_class
from bot.settings import Settings

log = logging.getLogger(__name__)

CONTENTS_API_LIMIT = 1024 * 1024  # the contents API serves files up to 1 MB
ANNOTATIONS_PER_REQUEST = 50  # GitHub rejects more in one check-run request
BACKOFF_CAP = 30.0  # seconds: the longest pause between two tries of one request


# -- secrets never leave this process ------------------------------------------------------------

_SECRET_PATTERNS = (
    (
        re.compile(
            r"-----BEGIN[A-Z ]*PRIVATE KEY-----.*?(?:-----END[A-Z ]*PRIVATE KEY-----|\Z)", re.S
        ),
        "[private key redacted]",
    ),
    (re.compile(r"\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*"), "[JWT redacted]"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9_]{8,}"), "[token redacted]"),
    (re.compile(r"\bv1\.[0-9a-f]{40}\b"), "[token redacted]"),
    (re.compile(r"(?i)\b(token|bearer)\s+[A-Za-z0-9_.\-]{20,}"), r"\1 [redacted]"),
)


def redact(text: str) -> str:
    """text with installation tokens, JWTs and private keys masked."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's message and traceback before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


REDACTING_FILTER = RedactingFilter()
# Loggers that can see request or response bodies. A filter on a logger applies to the records
# it creates, so each one that creates records is named.
_NOISY_LOGGERS = (
    "github",
    "github.Requester",
    "github.GithubRetry",
    "urllib3",
    "urllib3.connectionpool",
    "requests",
)


def install_redaction() -> None:
    for name in _NOISY_LOGGERS:
        logger = logging.getLogger(name)
        if REDACTING_FILTER not in logger.filters:
            logger.addFilter(REDACTING_FILTER)


# -- errors ----------------------------------------------------------------------------------------


class GitHubError(Exception):
    """A GitHub request failed; ``status`` is the HTTP status (0 when no answer came).

    ``transient``: trying the whole job again later may succeed (the job queue re-queues it);
    otherwise the failure is final and the job stops, saying why."""

    transient = False

    def __init__(self, status: int, message: str, errors: Sequence[str] = ()):
        message = redact(message)
        errors = tuple(redact(str(e)) for e in errors)
        super().__init__(f"{status} {message}" + (f": {'; '.join(errors)}" if errors else ""))
        self.status = status
        self.message = message
        self.errors = errors


class NotFound(GitHubError):
    """404: the repository, pull request or file is gone (or the App lost access)."""


class Gone(GitHubError):
    """410: GitHub removed the resource (e.g. issues turned off)."""


class Rejected(GitHubError):
    """422: GitHub refused the content (a comment outside the diff, a body too long, ...)."""


class FileTooLarge(GitHubError):
    pass


class Unavailable(GitHubError):
    """5xx, timeouts and reset connections that outlasted the retries."""

    transient = True


class WriteUncertain(Unavailable):
    """A write got no clear answer: it may or may not have happened."""


class RateLimited(GitHubError):
    """GitHub asked us to wait longer than we wait in place; ``retry_after`` seconds."""

    transient = True

    def __init__(self, status: int, message: str, retry_after: float):
        super().__init__(status, message)
        self.retry_after = retry_after


class Stopping(GitHubError):
    """The App is shutting down: a wait was cut short."""

    transient = True


def _wrap(exc: GithubException) -> GitHubError:
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or exc.message or "request failed")
    errors = []
    for item in data.get("errors") or ():
        if isinstance(item, dict):
            errors.append(str(item.get("message") or item.get("code") or item))
        else:
            errors.append(str(item))
    kind = {404: NotFound, 410: Gone, 422: Rejected}.get(exc.status, GitHubError)
    if exc.status >= 500:
        kind = Unavailable
    return kind(exc.status, message, errors)


def rate_limit_wait(
    status: int, headers: dict[str, Any], message: str, *, secondary_wait: float, now: float
) -> float | None:
    """Seconds GitHub asks us to wait, or None when the answer is not a rate limit.

    GitHub's rules: `retry-after` when present; else, with `x-ratelimit-remaining: 0`, until
    `x-ratelimit-reset`; else (a secondary limit) at least a minute."""
    if status not in (403, 429):
        return None
    headers = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    retry_after = headers.get("retry-after")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            when = email.utils.parsedate_to_datetime(retry_after)
            return max(0.0, when.timestamp() - now) if when else secondary_wait
    if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset"):
        try:
            return max(0.0, float(headers["x-ratelimit-reset"]) - now)
        except ValueError:
            return secondary_wait
    if status == 429 or "rate limit" in message.lower():
        return secondary_wait
    return None  # a plain 403: a permission the App lacks


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
    head_sha: str | None = None  # the PR's head when the state was read
    open: bool = True


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


# -- how requests are made -------------------------------------------------------------------------

READ = "read"  # GET, and GraphQL queries
SAFE_WRITE = "safe-write"  # a write that can be repeated: PATCH, DELETE, reactions, resolving
CREATE = "create"  # a POST that makes something new: never repeated blindly


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int = 3  # further tries of one request after the first
    backoff: float = 1.0  # the first pause in seconds; it doubles on every try (0: no pause)
    max_rate_limit_wait: float = 60.0  # a longer wait defers the job instead
    secondary_rate_wait: float = 60.0  # GitHub's advice when a limit names no time

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            retries=settings.retries,
            backoff=settings.retry_backoff,
            max_rate_limit_wait=settings.max_rate_limit_wait,
            secondary_rate_wait=settings.secondary_rate_wait,
        )

    def pause(self, attempt: int) -> float:
        """Exponential backoff with jitter: between half and all of backoff * 2**attempt, so
        clients that failed together do not come back together."""
        if self.backoff <= 0:
            return 0.0
        ceiling = min(BACKOFF_CAP, self.backoff * 2**attempt)
        return random.uniform(ceiling / 2, ceiling)


class _Gate:
    """What one installation's requests share: the time until which GitHub asked us to wait,
    and a lock that keeps its writes one at a time (GitHub's advice against secondary limits)."""

    def __init__(self) -> None:
        self.write_lock = threading.Lock()
        self._lock = threading.Lock()
        self._until = 0.0

    def block(self, seconds: float) -> None:
        with self._lock:
            self._until = max(self._until, time.time() + seconds)

    def remaining(self) -> float:
        with self._lock:
            return max(0.0, self._until - time.time())


class _Transport:
    """Sends one request through a PyGithub requester and decides what a failure means."""

    def __init__(self, app: GitHubApp, requester: Any, gate: _Gate, auth: _InstallationAuth | None):
        self.app = app
        self.requester = requester
        self.gate = gate
        self.auth = auth

    @property
    def policy(self) -> RetryPolicy:
        return self.app.policy

    def sleep(self, seconds: float) -> None:
        """Pause, unless the App is shutting down (then stop waiting and say so)."""
        if seconds > 0 and self.app.stopping.wait(seconds):
            raise Stopping(0, "the App is shutting down")
        if self.app.stopping.is_set():
            raise Stopping(0, "the App is shutting down")

    def _count(self, method: str, status: int) -> None:
        self.app.metrics.inc(
            "preflight_github_requests_total", method=method, status=status_class(status)
        )

    def _retry(self, reason: str) -> None:
        self.app.metrics.inc("preflight_retries_total", reason=reason)

    def _wait_for_gate(self) -> None:
        remaining = self.gate.remaining()
        if remaining <= 0:
            return
        if remaining > self.policy.max_rate_limit_wait:
            raise RateLimited(
                429, f"GitHub asked this installation to wait {remaining:.0f} s more", remaining
            )
        self.sleep(remaining)

    def call(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        kind: str = READ,
        graphql: bool = False,
    ) -> tuple[dict[str, Any], Any]:
        attempt = 0
        refreshed = False
        what = f"{method} {url.split('?', 1)[0]}"
        while True:
            self._wait_for_gate()
            try:
                with self.gate.write_lock if kind != READ else nullcontext():
                    if graphql:
                        headers, data = self.requester.graphql_query(
                            body["query"], body["variables"]
                        )
                    else:
                        headers, data = self.requester.requestJsonAndCheck(
                            method, url, parameters=params, input=body
                        )
            except GithubException as exc:
                if not getattr(exc, "_preflight_counted", False):
                    self._count(method, exc.status)
                message = _message(exc)
                if exc.status == 401 and self.auth is not None and not refreshed:
                    # The token expired or was revoked before its time: a new one, once.
                    refreshed = True
                    self.auth.invalidate()
                    self._retry("token_refresh")
                    log.info("%s: 401 %s; fetching a new installation token", what, message)
                    continue
                wait = rate_limit_wait(
                    exc.status,
                    exc.headers or {},
                    message + " " + _graphql_error_types(exc),
                    secondary_wait=self.policy.secondary_rate_wait,
                    now=time.time(),
                )
                if wait is not None:
                    self.gate.block(wait)
                    if wait > self.policy.max_rate_limit_wait or attempt >= self.policy.retries:
                        log.warning(
                            "%s: rate limited (%s %s); GitHub asks for %.0f s, more than we "
                            "wait in place",
                            what,
                            exc.status,
                            message,
                            wait,
                        )
                        raise RateLimited(exc.status, message, wait) from None
                    log.warning(
                        "%s: rate limited (%s %s); waiting %.1f s", what, exc.status, message, wait
                    )
                    self._retry("rate_limit")
                    attempt += 1
                    continue
                if exc.status >= 500:
                    attempt = self._transient(what, kind, attempt, f"{exc.status} {message}")
                    continue
                raise _wrap(exc) from None
            except (requests.Timeout, requests.ConnectionError) as exc:
                self._count(method, 0)
                reason = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
                attempt = self._transient(what, kind, attempt, f"{reason} ({type(exc).__name__})")
                continue
            self._count(method, 200)
            return headers, data

    def _transient(self, what: str, kind: str, attempt: int, reason: str) -> int:
        """A 5xx or no answer: try a read again after a pause; a creating write's outcome is
        unknown, which its caller must settle (WriteUncertain)."""
        if kind == CREATE:
            raise WriteUncertain(0, f"{what}: {reason}")
        if attempt >= self.policy.retries:
            raise Unavailable(0, f"{what}: {reason}, {attempt + 1} tries")
        pause = self.policy.pause(attempt)
        log.info("%s: %s; trying again in %.1f s", what, reason, pause)
        self._retry("server_error" if reason[:1].isdigit() else "connection")
        self.sleep(pause)
        return attempt + 1


def _message(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    return redact(str(data.get("message") or exc.message or "request failed"))


def _graphql_error_types(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    types = [str(e.get("type")) for e in data.get("errors") or () if isinstance(e, dict)]
    return "rate limit" if "RATE_LIMITED" in types else ""


class _InstallationAuth(Auth.AppInstallationAuth):
    """An installation token, fetched through the App's own client (so it is counted and
    retried like any request), cached, refreshed shortly before it expires, and dropped on
    demand when GitHub refuses it."""

    def __init__(self, app_auth: Auth.AppAuth, installation_id: int, fetch: Callable[[int], Any]):
        super().__init__(app_auth, installation_id)
        self._fetch = fetch
        self._authorization: Any = None
        self._token_lock = threading.Lock()

    @property
    def token(self) -> str:
        with self._token_lock:
            current = self._authorization
            if current is None or current.expires_at - _REFRESH_BEFORE < _utcnow():
                current = self._authorization = self._fetch(self.installation_id)
            return current.token

    def invalidate(self) -> None:
        with self._token_lock:
            self._authorization = None


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_REFRESH_BEFORE = dt.timedelta(seconds=20)  # as PyGithub: a token this close to expiry is renewed


@dataclass(slots=True)
class _Installation:
    gh: Github
    auth: _InstallationAuth
    gate: _Gate
    transport: _Transport


class GitHubApp:
    """The App itself (JWT) and a cache of per-installation clients."""

    def __init__(
        self, settings: Settings, *, metrics: Metrics | None = None, max_installations: int = 512
    ):
        install_redaction()
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.policy = RetryPolicy.from_settings(settings)
        self.stopping = threading.Event()
        self.me: AppIdentity | None = None
        self._app_auth = Auth.AppAuth(settings.app_id, settings.private_key)
        self._options: dict[str, Any] = {
            "base_url": settings.github_api_url,
            "timeout": settings.http_timeout,
            "user_agent": "preflight-app",
            "per_page": 100,
            # No retry in the HTTP layer: it would repeat POSTs. _Transport decides instead.
            "retry": None,
            "seconds_between_requests": settings.request_delay,
            "seconds_between_writes": settings.write_delay,
        }
        self._integration = GithubIntegration(auth=self._app_auth, **self._options)
        self._app_transport = _Transport(self, self._integration.requester, _Gate(), None)
        self._installations: OrderedDict[int, _Installation] = OrderedDict()
        self._max_installations = max_installations
        self._lock = threading.Lock()

    async def identity(self) -> AppIdentity:
        """GET /app: the App's id, slug and name; the bot login follows from the slug."""
        return await asyncio.to_thread(self._identity_sync)

    def _identity_sync(self) -> AppIdentity:
        _, data = self._app_transport.call("GET", "/app")
        self.me = AppIdentity(id=int(data["id"]), slug=data["slug"], name=data.get("name") or "")
        return self.me

    def _fetch_token(self, installation_id: int) -> Any:
        try:
            authorization = self._integration.get_access_token(installation_id)
        except GithubException as exc:
            self.metrics.inc(
                "preflight_github_requests_total", method="POST", status=status_class(exc.status)
            )
            exc._preflight_counted = True  # type: ignore[attr-defined]
            raise
        self.metrics.inc("preflight_github_requests_total", method="POST", status="2xx")
        return authorization

    def _installation(self, installation_id: int) -> _Installation:
        with self._lock:
            found = self._installations.get(installation_id)
            if found is None:
                auth = _InstallationAuth(self._app_auth, int(installation_id), self._fetch_token)
                gh = Github(auth=auth, lazy=True, **self._options)
                gate = _Gate()
                found = _Installation(gh, auth, gate, _Transport(self, gh.requester, gate, auth))
                self._installations[installation_id] = found
                while len(self._installations) > self._max_installations:
                    _, old = self._installations.popitem(last=False)
                    old.gh.close()
            else:
                self._installations.move_to_end(installation_id)
            return found

    def client(self, installation_id: int) -> Github:
        return self._installation(installation_id).gh

    def repository(self, installation_id: int, full_name: str) -> RepoClient:
        return RepoClient(self, self._installation(installation_id), full_name)

    def stop(self) -> None:
        """Cut every pause short: the App is shutting down."""
        self.stopping.set()

    def close(self) -> None:
        self.stopping.set()
        with self._lock:
            for installation in self._installations.values():
                installation.gh.close()
            self._installations.clear()
        self._integration.close()


def _next_link(header: str | None) -> str | None:
    for part in (header or "").split(","):
        url, _, rel = part.partition(";")
        if 'rel="next"' in rel:
            return url.strip().strip("<>")
    return None


class RepoClient:
    """Calls on one repository through one installation; one method, one kind of request."""

    def __init__(self, app: GitHubApp, installation: _Installation, full_name: str):
        self._app = app
        self._t = installation.transport
        self.full_name = full_name
        self.owner, self.name = full_name.split("/", 1)
        self._base = f"/repos/{quote(self.owner, safe='')}/{quote(self.name, safe='')}"

    async def _call(self, function, *args, **kwargs):
        return await asyncio.to_thread(function, *args, **kwargs)

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._t.call("GET", self._base + path, params=params)[1]

    def _pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        url: str | None = self._base + path
        query: dict[str, Any] | None = {"per_page": 100, **(params or {})}
        while url:
            headers, data = self._t.call("GET", url, params=query)
            yield from data or ()
            url, query = _next_link(headers.get("link")), None  # the link carries the query

    def _mine(self, item: dict[str, Any]) -> bool:
        me = self._app.me
        login = ((item or {}).get("user") or {}).get("login")
        return me is not None and me.is_us(login)

    def _create(self, what: str, path: str, body: dict[str, Any], probe: Callable[[], Any]) -> Any:
        """POST something new. When GitHub gives no clear answer, look for it (probe) before
        trying again, so a review or comment is never posted twice."""
        last: WriteUncertain | None = None
        for attempt in range(self._app.policy.retries + 1):
            try:
                return self._t.call("POST", self._base + path, body=body, kind=CREATE)[1]
            except WriteUncertain as exc:
                last = exc
                log.warning("%s: %s; looking for it before trying again", what, exc)
                self._t.sleep(self._app.policy.pause(attempt))
                found = probe()
                if found is not None:
                    log.info("%s had been made after all; not making it again", what)
                    return found
                self._app.metrics.inc("preflight_retries_total", reason="write")
        assert last is not None
        raise last

    # -- reading a pull request ---------------------------------------------------------------

    async def get_pull(self, number: int) -> PullRequestInfo:
        return await self._call(self._get_pull, number)

    def _get_pull(self, number: int) -> PullRequestInfo:
        return PullRequestInfo.from_json(self._get(f"/pulls/{int(number)}"), self.full_name)

    async def list_files(self, number: int) -> list[PullFile]:
        return await self._call(self._list_files, number)

    def _list_files(self, number: int) -> list[PullFile]:
        return [
            PullFile(
                path=raw["filename"],
                status=raw.get("status", "modified"),
                previous_path=raw.get("previous_filename"),
                patch=raw.get("patch"),
                sha=raw.get("sha"),
            )
            for raw in self._pages(f"/pulls/{int(number)}/files")
        ]

    async def get_tree(self, sha: str) -> Tree:
        return await self._call(self._get_tree, sha)

    def _get_tree(self, sha: str) -> Tree:
        data = self._get(f"/git/trees/{quote(sha, safe='')}", {"recursive": 1})
        entries = tuple(
            TreeEntry(
                path=item["path"],
                type=item["type"],
                mode=item["mode"],
                sha=item["sha"],
                size=item.get("size"),
            )
            for item in data.get("tree") or ()
        )
        return Tree(sha=data["sha"], entries=entries, truncated=bool(data.get("truncated")))

    def read_file_sync(self, path: str, ref: str) -> bytes:
        """The bytes of a file at a commit (blocking; called from a worker thread)."""
        return self._read_file(path, ref)

    async def read_file(self, path: str, ref: str) -> bytes:
        return await self._call(self._read_file, path, ref)

    def _read_file(self, path: str, ref: str) -> bytes:
        content = self._get(f"/contents/{quote(path)}", {"ref": ref})
        if isinstance(content, list) or content.get("type") != "file":
            raise NotFound(404, f"{path} is not a file")
        size = int(content.get("size") or 0)
        if content.get("encoding") != "base64" or size > CONTENTS_API_LIMIT:
            raise FileTooLarge(413, f"{path} is {size} bytes; the contents API serves up to 1 MB")
        return base64.b64decode(content.get("content") or "")

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
        """Our threads, comments and reviews on the PR, its head and state now, the config
        file at the base, and the texts of `files` at the head, in one GraphQL query (plus
        pages past 100 items)."""
        return await self._call(self._pull_state, number, config_path, base_sha, head_sha, files)

    def _graphql(self, query: str, variables: dict[str, Any], kind: str = READ) -> dict[str, Any]:
        _, data = self._t.call(
            "POST",
            "graphql",
            body={"query": query, "variables": variables},
            kind=kind,
            graphql=True,
        )
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
            head_sha=pull.get("headRefOid"),
            open=pull.get("state", "OPEN") == "OPEN",
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

        def probe() -> dict[str, Any] | None:
            data = self._get(
                f"/commits/{quote(head_sha, safe='')}/check-runs",
                {"check_name": name, "filter": "all", "per_page": 100},
            )
            me = self._app.me
            for run in data.get("check_runs") or ():
                if (
                    me is not None
                    and (run.get("app") or {}).get("id") == me.id
                    and run.get("external_id") == external_id
                    and (run.get("conclusion") == conclusion if conclusion else True)
                    and (run.get("status") != "completed" if not conclusion else True)
                ):
                    return run
            return None

        return int(self._create("creating the check run", "/check-runs", body, probe)["id"])

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
        path = f"/check-runs/{int(check_run_id)}"
        output = {"title": title[:255], "summary": _clip(summary, 65535)}
        batches = [
            annotations[i : i + ANNOTATIONS_PER_REQUEST]
            for i in range(0, len(annotations), ANNOTATIONS_PER_REQUEST)
        ] or [()]
        # GitHub appends the annotations of each PATCH; the last one completes the run so the
        # check never shows "completed" with half its annotations. A PATCH that adds
        # annotations is not safe to repeat, so its outcome is checked by counting them.
        sent = 0
        for index, batch in enumerate(batches):
            body: dict[str, Any] = {"output": dict(output)}
            if batch:
                body["output"]["annotations"] = [a.as_json() for a in batch]
            if index == len(batches) - 1:
                body.update(status="completed", conclusion=conclusion)
            expected = sent + len(batch)
            self._patch_check_run(path, body, expected if batch else None)
            sent = expected

    def _patch_check_run(self, path: str, body: dict[str, Any], annotations: int | None) -> None:
        """One check-run PATCH. One that adds annotations is not safe to repeat (GitHub appends
        them), so when its outcome is unknown the run's annotation count says whether it
        landed; if it did and the run is still not completed, only the completion is sent."""
        kind = CREATE if annotations is not None else SAFE_WRITE
        last: WriteUncertain | None = None
        for attempt in range(self._app.policy.retries + 1):
            try:
                self._t.call("PATCH", self._base + path, body=body, kind=kind)
                return
            except WriteUncertain as exc:
                last = exc
                log.warning("updating the check run: %s; looking at it before trying again", exc)
                self._t.sleep(self._app.policy.pause(attempt))
                run = self._get(path)
                landed = int((run.get("output") or {}).get("annotations_count") or 0)
                if annotations is not None and landed >= annotations:
                    if "conclusion" not in body or run.get("status") == "completed":
                        return
                    output = {k: v for k, v in body["output"].items() if k != "annotations"}
                    body = {**body, "output": output}
                    kind = SAFE_WRITE
                self._app.metrics.inc("preflight_retries_total", reason="write")
        assert last is not None
        raise last

    async def create_review(
        self,
        number: int,
        head_sha: str,
        body: str,
        comments: Sequence[dict[str, Any]],
        *,
        marker: str,
    ) -> int:
        """A COMMENT review. `marker` is a text in `body` that only this review carries: when
        GitHub gives no clear answer, a review of ours holding it means the review was posted."""
        return await self._call(self._create_review, number, head_sha, body, comments, marker)

    def _create_review(self, number, head_sha, body, comments, marker) -> int:
        def probe() -> dict[str, Any] | None:
            for review in self._pages(f"/pulls/{int(number)}/reviews"):
                if self._mine(review) and marker in (review.get("body") or ""):
                    return review
            return None

        payload = {
            "commit_id": head_sha,
            "body": body,
            "event": "COMMENT",
            "comments": list(comments),
        }
        return int(
            self._create("posting the review", f"/pulls/{int(number)}/reviews", payload, probe)[
                "id"
            ]
        )

    async def delete_pending_review(self, number: int, review_id: int) -> None:
        await self._call(self._delete_pending_review, number, review_id)

    def _delete_pending_review(self, number: int, review_id: int) -> None:
        with suppress(NotFound):  # already gone: a repeated DELETE after a lost answer
            self._t.call(
                "DELETE",
                f"{self._base}/pulls/{int(number)}/reviews/{int(review_id)}",
                kind=SAFE_WRITE,
            )

    def _find_review_comment(self, number: int, test: Callable[[dict[str, Any]], bool]):
        for comment in self._pages(f"/pulls/{int(number)}/comments"):
            if self._mine(comment) and test(comment):
                return comment
        return None

    async def create_file_comment(
        self, number: int, head_sha: str, path: str, body: str, *, marker: str
    ) -> int:
        return await self._call(self._create_file_comment, number, head_sha, path, body, marker)

    def _create_file_comment(self, number, head_sha, path, body, marker) -> int:
        payload = {"body": body, "commit_id": head_sha, "path": path, "subject_type": "file"}
        found = self._create(
            f"commenting on {path}",
            f"/pulls/{int(number)}/comments",
            payload,
            lambda: self._find_review_comment(
                number,
                lambda c: (
                    c.get("path") == path
                    and not c.get("in_reply_to_id")
                    and marker in (c.get("body") or "")
                ),
            ),
        )
        return int(found["id"])

    async def reply_to_review_comment(
        self, number: int, comment_id: int, body: str, *, marker: str
    ) -> int:
        return await self._call(self._reply, number, comment_id, body, marker)

    def _reply(self, number: int, comment_id: int, body: str, marker: str) -> int:
        found = self._create(
            "replying to a review thread",
            f"/pulls/{int(number)}/comments/{int(comment_id)}/replies",
            {"body": body},
            lambda: self._find_review_comment(
                number,
                lambda c: c.get("in_reply_to_id") == comment_id and marker in (c.get("body") or ""),
            ),
        )
        return int(found["id"])

    async def resolve_thread(self, thread_id: str) -> None:
        await self._call(self._graphql, RESOLVE_MUTATION, {"thread": thread_id}, SAFE_WRITE)

    async def create_issue_comment(self, number: int, body: str, *, marker: str) -> int:
        """A conversation comment; `marker` is a text only this comment carries (see
        create_review)."""
        return await self._call(self._create_issue_comment, number, body, marker)

    def _create_issue_comment(self, number: int, body: str, marker: str) -> int:
        def probe() -> dict[str, Any] | None:
            for comment in self._pages(f"/issues/{int(number)}/comments"):
                if self._mine(comment) and marker in (comment.get("body") or ""):
                    return comment
            return None

        return int(
            self._create("commenting", f"/issues/{int(number)}/comments", {"body": body}, probe)[
                "id"
            ]
        )

    async def edit_issue_comment(self, number: int, comment_id: int, body: str) -> None:
        await self._call(
            self._t.call,
            "PATCH",
            f"{self._base}/issues/comments/{int(comment_id)}",
            body={"body": body},
            kind=SAFE_WRITE,
        )

    async def add_reaction(self, number: int, comment_id: int, content: str) -> None:
        # GitHub answers 200 with the existing reaction when it is there: safe to repeat.
        await self._call(
            self._t.call,
            "POST",
            f"{self._base}/issues/comments/{int(comment_id)}/reactions",
            body={"content": content},
            kind=SAFE_WRITE,
        )

    async def permission(self, login: str) -> str:
        """admin, write, read or none (maintain shows as write)."""
        try:
            data = await self._call(self._get, f"/collaborators/{quote(login, safe='')}/permission")
        except NotFound:
            return "none"
        return str(data.get("permission") or "none")


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
      headRefOid state
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

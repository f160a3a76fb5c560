"""A fake GitHub REST + GraphQL API on 127.0.0.1 that behaves like GitHub where it matters.

It runs aiohttp in a thread of its own (PyGithub is synchronous and the tests' loop must stay
free), writes its own address into every `url` field and Link header (PyGithub follows them),
checks App JWTs and installation tokens, pages lists, refuses what GitHub refuses with the same
422s, and records every request so a test can assert on exactly what GitHub would receive.
Faults (a status for a route, a delay) can be injected per route.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from dataclasses import dataclass, field
import datetime as dt
import json
import re
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
import jwt

from tests.fakegithub.diff import comment_error
from tests.fakegithub.graphql_api import GraphQLApi
from tests.fakegithub.keys import app_key_pair
from tests.fakegithub.state import (
    CheckRun,
    IssueComment,
    Pull,
    Repo,
    Review,
    ReviewComment,
    Thread,
    User,
    World,
)

CONTENTS_LIMIT = 1024 * 1024
_BODY = web.RequestKey("body", object)
REACTIONS = {"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}
REVIEW_COMMENT_KEYS = {"path", "body", "line", "side", "start_line", "start_side", "position"}


@dataclass
class Recorded:
    method: str
    path: str  # without the API prefix
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    status: int = 0
    at: float = field(default_factory=time.perf_counter)  # when the request arrived
    landed: bool | None = None  # for a fault injected after the work: whether it was done
    done_at: float = 0.0  # when the answer was ready

    @property
    def is_write(self) -> bool:
        return self.method != "GET" and not (
            self.path.endswith("graphql") and "mutation" not in json.dumps(self.body)
        )

    def __repr__(self) -> str:
        return f"<{self.method} {self.path} -> {self.status}>"


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int = 500
    # The answer's JSON; a callable gets the request's headers (to echo them, as a careless
    # proxy might).
    body: dict[str, Any] | Callable[[dict[str, str]], dict[str, Any]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1  # how many requests it hits; -1 for all
    delay: float = 0.0
    # The connection is dropped instead of answered (a reset, as a proxy or a crash does).
    reset: bool = False
    # The request is carried out first, and only then is the answer replaced by the fault:
    # GitHub did the work but the client never learns it (a 502 or a reset after the write).
    after: bool = False


class ApiError(Exception):
    def __init__(self, status: int, message: str, errors: list[Any] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeGitHub:
    def __init__(
        self,
        *,
        app_id: int = 4242,
        slug: str = "preflight-test",
        prefix: str = "",
        token_ttl: float = 3600.0,
        tree_limit: int | None = None,
        max_patch_lines: int = 20000,
    ):
        self.app_id = app_id
        self.slug = slug
        self.prefix = prefix.rstrip("/")
        self.graphql_path = "/api/graphql" if self.prefix.endswith("/v3") else "/graphql"
        self.private_key, self.public_key = app_key_pair()
        self.token_ttl = token_ttl
        self.tree_limit = tree_limit
        self.max_patch_lines = max_patch_lines
        self.world = World(app_id, slug)
        self.graphql = GraphQLApi(self.world)
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self.latency = 0.0  # seconds added to every request (benchmarks of slow networks)
        self.reject_comment: Callable[[dict[str, Any]], bool] | None = None
        self.tokens: dict[str, tuple[int, float]] = {}  # token -> (installation, expiry)
        self.lock = threading.RLock()
        self.origin = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The API base URL to give the App (GITHUB_API_URL)."""
        return self.origin + self.prefix

    def start(self) -> FakeGitHub:
        started = threading.Event()
        self._loop = asyncio.new_event_loop()

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._start_server())
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, name="fake-github", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the fake GitHub did not start")
        return self

    async def _start_server(self) -> None:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.origin = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self._loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
        future.result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test helpers ---------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        pattern: str,
        status: int = 500,
        *,
        times: int = 1,
        body: dict[str, Any] | Callable[[dict[str, str]], dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        reset: bool = False,
        after: bool = False,
    ) -> Fault:
        fault = Fault(
            method.upper(),
            re.compile(pattern),
            status,
            body,
            headers or {},
            times,
            delay,
            reset,
            after,
        )
        with self.lock:
            self.faults.append(fault)
        return fault

    def calls(self, method: str | None = None, pattern: str | None = None) -> list[Recorded]:
        with self.lock:
            found = list(self.requests)
        if method:
            found = [r for r in found if r.method == method.upper()]
        if pattern:
            found = [r for r in found if re.search(pattern, r.path)]
        return found

    def reset_calls(self) -> None:
        with self.lock:
            self.requests.clear()

    def expire_tokens(self) -> None:
        """Every installation token issued so far stops working now (it expired or was
        revoked before the time it announced), as a client that cached one finds out."""
        with self.lock:
            for token, (installation, _) in list(self.tokens.items()):
                self.tokens[token] = (installation, 0.0)

    def statuses(self, method: str | None = None, pattern: str | None = None) -> list[int]:
        return [r.status for r in self.calls(method, pattern)]

    def repo(self, full_name: str) -> Repo:
        return self.world.repos[full_name]

    # -- plumbing -------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler):
        path = request.path
        local = path[len(self.prefix) :] if self.prefix and path.startswith(self.prefix) else path
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        request[_BODY] = body
        record = Recorded(request.method, local, dict(request.query), body, dict(request.headers))
        with self.lock:
            self.requests.append(record)
            fault = self._take_fault(request.method, local)
        delay = self.latency + (fault.delay if fault else 0.0)
        if delay:
            await asyncio.sleep(delay)
        faulty = fault is not None and (fault.status or fault.reset)
        if faulty and not fault.after:
            record.done_at = time.perf_counter()
            return self._fault_response(request, record, fault)
        try:
            response = await handler(request)
        except ApiError as exc:
            payload: dict[str, Any] = {
                "message": exc.message,
                "documentation_url": "https://docs.github.com/rest",
            }
            if exc.errors is not None:
                payload["errors"] = exc.errors
            response = web.json_response(payload, status=exc.status)
        record.done_at = time.perf_counter()
        if faulty:
            record.landed = response.status < 400
            return self._fault_response(request, record, fault)
        record.status = response.status
        return response

    def _fault_response(self, request: web.Request, record: Recorded, fault: Fault):
        if fault.reset:
            record.status = -1  # no answer at all
            if request.transport is not None:
                request.transport.abort()
            raise ConnectionResetError("injected reset")
        record.status = fault.status
        body = fault.body(dict(request.headers)) if callable(fault.body) else fault.body
        return web.json_response(
            body or {"message": f"injected {fault.status}"},
            status=fault.status,
            headers=fault.headers,
        )

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.times == 0:
                continue
            if fault.method in (method, "*") and fault.pattern.search(path):
                if fault.times > 0:
                    fault.times -= 1
                return fault
        return None

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if self.prefix:
            if path == self.graphql_path:
                local = "/graphql"
            elif path.startswith(self.prefix + "/") or path == self.prefix:
                local = path[len(self.prefix) :]
            else:
                raise ApiError(404, "Not Found")
        else:
            local = path
        body = request.get(_BODY)
        with self.lock:
            for method, pattern, handler, auth in self._routes():
                if method != request.method:
                    continue
                match = re.fullmatch(pattern, local)
                if match is None:
                    continue
                if auth == "jwt":
                    self._check_jwt(request)
                    return handler(request, body, **match.groupdict())
                installation = self._check_token(request)
                return handler(request, body, installation=installation, **match.groupdict())
        raise ApiError(404, "Not Found")

    def _routes(self):
        repo = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"
        pull = repo + r"/pulls/(?P<number>\d+)"
        return (
            ("GET", r"/app", self.get_app, "jwt"),
            ("POST", r"/app/installations/(?P<inst>\d+)/access_tokens", self.create_token, "jwt"),
            ("GET", repo + r"/installation", self.get_repo_installation, "jwt"),
            ("POST", r"/graphql", self.post_graphql, "token"),
            ("GET", repo, self.get_repo, "token"),
            ("GET", pull, self.get_pull, "token"),
            ("GET", pull + r"/files", self.list_pull_files, "token"),
            ("GET", pull + r"/reviews", self.list_reviews, "token"),
            ("POST", pull + r"/reviews", self.create_review, "token"),
            ("DELETE", pull + r"/reviews/(?P<rid>\d+)", self.delete_review, "token"),
            ("POST", pull + r"/reviews/(?P<rid>\d+)/events", self.submit_review, "token"),
            ("GET", pull + r"/comments", self.list_review_comments, "token"),
            ("POST", pull + r"/comments", self.create_review_comment, "token"),
            ("POST", pull + r"/comments/(?P<cid>\d+)/replies", self.reply_review_comment, "token"),
            ("PATCH", repo + r"/pulls/comments/(?P<cid>\d+)", self.edit_review_comment, "token"),
            ("GET", repo + r"/issues/(?P<number>\d+)/comments", self.list_issue_comments, "token"),
            (
                "POST",
                repo + r"/issues/(?P<number>\d+)/comments",
                self.create_issue_comment,
                "token",
            ),
            ("GET", repo + r"/issues/comments/(?P<cid>\d+)", self.get_issue_comment, "token"),
            ("PATCH", repo + r"/issues/comments/(?P<cid>\d+)", self.edit_issue_comment, "token"),
            (
                "POST",
                repo + r"/issues/comments/(?P<cid>\d+)/reactions",
                self.create_reaction,
                "token",
            ),
            (
                "GET",
                repo + r"/collaborators/(?P<login>[^/]+)/permission",
                self.get_permission,
                "token",
            ),
            ("GET", repo + r"/contents/(?P<path>.+)", self.get_contents, "token"),
            ("GET", repo + r"/git/trees/(?P<sha>[^/]+)", self.get_tree, "token"),
            ("GET", repo + r"/commits/(?P<sha>[^/]+)", self.get_commit, "token"),
            (
                "GET",
                repo + r"/commits/(?P<sha>[^/]+)/check-runs",
                self.list_check_runs_for_ref,
                "token",
            ),
            ("POST", repo + r"/check-runs", self.create_check_run, "token"),
            ("PATCH", repo + r"/check-runs/(?P<rid>\d+)", self.update_check_run, "token"),
            ("GET", repo + r"/check-runs/(?P<rid>\d+)", self.get_check_run, "token"),
        )

    # -- auth -----------------------------------------------------------------------------------

    def _check_jwt(self, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise ApiError(401, "A JSON web token could not be decoded")
        token = header.removeprefix("Bearer ")
        try:
            claims = jwt.decode(
                token,
                self.public_key,
                algorithms=["RS256"],
                options={"require": ["exp", "iat", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise ApiError(401, f"A JSON web token could not be decoded: {exc}") from None
        if str(claims["iss"]) != str(self.app_id):
            raise ApiError(401, "Integration not found")
        if claims["exp"] - time.time() > 600 + 5:
            raise ApiError(401, "'Expiration time' claim ('exp') is too far in the future")

    def _check_token(self, request: web.Request) -> int:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("token", "bearer") or token not in self.tokens:
            raise ApiError(401, "Bad credentials")
        installation, expiry = self.tokens[token]
        if expiry <= time.time():
            raise ApiError(401, "Bad credentials")
        return installation

    def _repo(self, owner: str, name: str, installation: int | None = None) -> Repo:
        repo = self.world.repos.get(f"{owner}/{name}")
        if repo is None or (installation is not None and repo.installation_id != installation):
            raise ApiError(404, "Not Found")
        return repo

    def _pull(self, repo: Repo, number: str) -> Pull:
        pull = repo.pulls.get(int(number))
        if pull is None:
            raise ApiError(404, "Not Found")
        return pull

    # -- JSON shapes (every URL points back here) -----------------------------------------------

    def _api(self, path: str) -> str:
        return f"{self.url}{path}"

    def _user(self, user: User) -> dict[str, Any]:
        return {
            **user.json(),
            "url": self._api(f"/users/{user.login}"),
            "html_url": f"https://github.invalid/{user.login}",
        }

    def _repo_json(self, repo: Repo) -> dict[str, Any]:
        return {
            "id": repo.id,
            "node_id": f"R_{repo.id}",
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
            "fork": False,
            "owner": self._user(User(repo.owner, "Organization", repo.id)),
            "url": self._api(f"/repos/{repo.full_name}"),
            "html_url": f"https://github.invalid/{repo.full_name}",
            "default_branch": repo.default_branch,
        }

    def _pull_json(self, repo: Repo, pull: Pull) -> dict[str, Any]:
        base = f"/repos/{repo.full_name}"
        head_repo = None
        if pull.head_repo is not None:
            owner, name = pull.head_repo.split("/")
            head_repo = {
                **self._repo_json(Repo(repo.id + 1, owner, name, 0)),
                "fork": pull.head_repo != repo.full_name,
            }
            if pull.head_repo == repo.full_name:
                head_repo = self._repo_json(repo)
        return {
            "url": self._api(f"{base}/pulls/{pull.number}"),
            "id": pull.number + 900000,
            "node_id": f"PR_{repo.id}_{pull.number}",
            "html_url": f"https://github.invalid/{repo.full_name}/pull/{pull.number}",
            "issue_url": self._api(f"{base}/issues/{pull.number}"),
            "comments_url": self._api(f"{base}/issues/{pull.number}/comments"),
            "review_comments_url": self._api(f"{base}/pulls/{pull.number}/comments"),
            "number": pull.number,
            "state": pull.state,
            "locked": False,
            "title": pull.title,
            "user": self._user(pull.author),
            "body": "",
            "draft": pull.draft,
            "merged": False,
            "head": {
                "label": f"{(pull.head_repo or 'ghost/x').split('/')[0]}:{pull.head_ref}",
                "ref": pull.head_ref,
                "sha": pull.head_sha,
                "repo": head_repo,
            },
            "base": {
                "label": f"{repo.owner}:{pull.base_ref}",
                "ref": pull.base_ref,
                "sha": pull.base_sha,
                "repo": self._repo_json(repo),
            },
        }

    def _review_json(self, repo: Repo, review: Review) -> dict[str, Any]:
        base = f"/repos/{repo.full_name}/pulls/{review.pull}"
        return {
            "id": review.id,
            "node_id": f"PRR_{review.id}",
            "user": self._user(review.user),
            "body": review.body,
            "state": review.state,
            "commit_id": review.commit_id,
            "html_url": f"https://github.invalid/{repo.full_name}/pull/{review.pull}"
            f"#pullrequestreview-{review.id}",
            "pull_request_url": self._api(base),
        }

    def _comment_json(self, repo: Repo, comment: ReviewComment) -> dict[str, Any]:
        data = {
            "id": comment.id,
            "node_id": f"PRRC_{comment.id}",
            "url": self._api(f"/repos/{repo.full_name}/pulls/comments/{comment.id}"),
            "html_url": f"https://github.invalid/{repo.full_name}/pull/{comment.pull}"
            f"#discussion_r{comment.id}",
            "pull_request_url": self._api(f"/repos/{repo.full_name}/pulls/{comment.pull}"),
            "pull_request_review_id": comment.review_id,
            "path": comment.path,
            "line": comment.line,
            "original_line": comment.line,
            "side": comment.side,
            "start_line": comment.start_line,
            "start_side": comment.start_side,
            "subject_type": comment.subject_type,
            "commit_id": comment.commit_id,
            "original_commit_id": comment.commit_id,
            "user": self._user(comment.user),
            "body": comment.body,
            "diff_hunk": "",
        }
        if comment.in_reply_to_id:
            data["in_reply_to_id"] = comment.in_reply_to_id
        return data

    def _issue_comment_json(self, repo: Repo, comment: IssueComment) -> dict[str, Any]:
        base = f"/repos/{repo.full_name}/issues"
        return {
            "id": comment.id,
            "node_id": f"IC_{comment.id}",
            "url": self._api(f"{base}/comments/{comment.id}"),
            "html_url": f"https://github.invalid/{repo.full_name}/pull/{comment.number}"
            f"#issuecomment-{comment.id}",
            "issue_url": self._api(f"{base}/{comment.number}"),
            "user": self._user(comment.user),
            "body": comment.body,
            "author_association": "NONE",
            "performed_via_github_app": (
                {"id": self.app_id, "slug": self.slug, "name": self.slug}
                if comment.via_app
                else None
            ),
        }

    def _check_run_json(self, repo: Repo, run: CheckRun) -> dict[str, Any]:
        return {
            "id": run.id,
            "name": run.name,
            "head_sha": run.head_sha,
            "status": run.status,
            "conclusion": run.conclusion,
            "external_id": run.external_id,
            "url": self._api(f"/repos/{repo.full_name}/check-runs/{run.id}"),
            "html_url": f"https://github.invalid/{repo.full_name}/runs/{run.id}",
            "output": {
                "title": run.output.get("title"),
                "summary": run.output.get("summary"),
                "text": run.output.get("text"),
                "annotations_count": len(run.annotations),
                "annotations_url": self._api(
                    f"/repos/{repo.full_name}/check-runs/{run.id}/annotations"
                ),
            },
            "app": {"id": self.app_id, "slug": self.slug, "name": self.slug},
            "pull_requests": [],
        }

    def _paged(self, request: web.Request, items: list[Any]) -> web.Response:
        try:
            per_page = min(max(int(request.query.get("per_page", 30)), 1), 100)
            page = max(int(request.query.get("page", 1)), 1)
        except ValueError:
            raise ApiError(422, "Invalid page") from None
        last = max((len(items) + per_page - 1) // per_page, 1)
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []

        def link(number: int, rel: str) -> str:
            query = {**request.query, "per_page": str(per_page), "page": str(number)}
            return f'<{self.origin}{request.path}?{urlencode(query)}>; rel="{rel}"'

        if page < last:
            links.append(link(page + 1, "next"))
            links.append(link(last, "last"))
        if page > 1:
            links.append(link(1, "first"))
            links.append(link(page - 1, "prev"))
        headers = {"Link": ", ".join(links)} if links else {}
        return web.json_response(chunk, headers=headers)

    # -- app and auth endpoints -----------------------------------------------------------------

    def get_app(self, request, body):
        return web.json_response(
            {
                "id": self.app_id,
                "slug": self.slug,
                "name": "Preflight (test)",
                "owner": {"login": "preflight-ci", "type": "Organization"},
                "html_url": f"https://github.invalid/apps/{self.slug}",
                "permissions": {
                    "pull_requests": "write",
                    "checks": "write",
                    "contents": "read",
                    "issues": "write",
                    "metadata": "read",
                },
                "events": ["pull_request", "issue_comment", "check_run"],
            }
        )

    def create_token(self, request, body, inst):
        installation = int(inst)
        if not any(r.installation_id == installation for r in self.world.repos.values()):
            raise ApiError(404, "Not Found")
        token = "ghs_" + secrets.token_hex(16)
        expiry = time.time() + self.token_ttl
        self.tokens[token] = (installation, expiry)
        expires_at = dt.datetime.fromtimestamp(expiry, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return web.json_response(
            {
                "token": token,
                "expires_at": expires_at,
                "permissions": {},
                "repository_selection": "all",
            },
            status=201,
        )

    def get_repo_installation(self, request, body, owner, name):
        repo = self._repo(owner, name)
        return web.json_response({"id": repo.installation_id, "app_id": self.app_id})

    def post_graphql(self, request, body, installation):
        if not isinstance(body, dict) or "query" not in body:
            raise ApiError(400, "Problems parsing JSON")
        result = self.graphql.execute(body["query"], body.get("variables"), installation)
        return web.json_response(result)

    # -- repositories, pull requests, files, trees, contents ------------------------------------

    def get_repo(self, request, body, owner, name, installation):
        return web.json_response(self._repo_json(self._repo(owner, name, installation)))

    def get_pull(self, request, body, owner, name, number, installation):
        repo = self._repo(owner, name, installation)
        return web.json_response(self._pull_json(repo, self._pull(repo, number)))

    def list_pull_files(self, request, body, owner, name, number, installation):
        repo = self._repo(owner, name, installation)
        pull = self._pull(repo, number)
        files = self.world.pull_files(repo, pull, self.max_patch_lines)
        for entry in files:
            entry["blob_url"] = (
                f"https://github.invalid/{repo.full_name}/blob/x/{entry['filename']}"
            )
            entry["contents_url"] = self._api(
                f"/repos/{repo.full_name}/contents/{entry['filename']}?ref={pull.head_sha}"
            )
        return self._paged(request, files)

    def _commit_files(self, repo: Repo, ref: str) -> dict[str, Any]:
        files = repo.commits.get(ref)
        if files is None:
            raise ApiError(404, f"No commit found for the ref {ref}")
        return files

    def get_contents(self, request, body, owner, name, path, installation):
        repo = self._repo(owner, name, installation)
        ref = request.query.get("ref") or ""
        files = self._commit_files(repo, ref)
        content = files.get(path)
        if content is None or not isinstance(content, bytes):
            prefix = path.rstrip("/") + "/"
            if any(p.startswith(prefix) for p in files):
                return web.json_response(
                    [
                        {"type": "file", "path": p, "name": p.rsplit("/", 1)[-1]}
                        for p in sorted(files)
                        if p.startswith(prefix)
                    ]
                )
            raise ApiError(404, "Not Found")
        from tests.fakegithub.state import blob_sha

        data: dict[str, Any] = {
            "type": "file",
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": blob_sha(content),
            "size": len(content),
            "url": self._api(f"/repos/{repo.full_name}/contents/{path}?ref={ref}"),
            "html_url": f"https://github.invalid/{repo.full_name}/blob/{ref}/{path}",
            "git_url": self._api(f"/repos/{repo.full_name}/git/blobs/{blob_sha(content)}"),
            "download_url": None,
        }
        if len(content) > CONTENTS_LIMIT:
            # GitHub's answer for 1-100 MB files with the default media type.
            data.update(encoding="none", content="")
        else:
            encoded = base64.b64encode(content).decode()
            data.update(
                encoding="base64",
                content="\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60)),
            )
        return web.json_response(data)

    def get_tree(self, request, body, owner, name, sha, installation):
        repo = self._repo(owner, name, installation)
        entries = self.world.tree(repo, sha)
        if entries is None:
            raise ApiError(404, "Not Found")
        if "recursive" not in request.query:
            entries = [e for e in entries if "/" not in e["path"]]
        truncated = False
        if self.tree_limit is not None and len(entries) > self.tree_limit:
            entries = entries[: self.tree_limit]
            truncated = True
        for entry in entries:
            kind = "blobs" if entry["type"] == "blob" else "trees"
            entry["url"] = self._api(f"/repos/{repo.full_name}/git/{kind}/{entry['sha']}")
        return web.json_response(
            {
                "sha": sha,
                "url": self._api(f"/repos/{repo.full_name}/git/trees/{sha}"),
                "tree": entries,
                "truncated": truncated,
            }
        )

    def get_commit(self, request, body, owner, name, sha, installation):
        repo = self._repo(owner, name, installation)
        self._commit_files(repo, sha)
        return web.json_response(
            {
                "sha": sha,
                "url": self._api(f"/repos/{repo.full_name}/commits/{sha}"),
                "commit": {"message": "commit"},
                "files": [],
            }
        )

    # -- reviews and review comments ------------------------------------------------------------

    def list_reviews(self, request, body, owner, name, number, installation):
        repo = self._repo(owner, name, installation)
        pull = self._pull(repo, number)
        visible = [r for r in pull.reviews if r.state != "PENDING" or r.user == self.world.bot]
        return self._paged(request, [self._review_json(repo, r) for r in visible])

    def _validate_line_comment(self, repo: Repo, pull: Pull, comment: dict[str, Any]) -> None:
        files = {f["filename"]: f for f in self.world.pull_files(repo, pull, self.max_patch_lines)}
        path = comment.get("path")
        if not isinstance(comment.get("body"), str) or not comment.get("body"):
            raise ApiError(422, "Validation Failed", ["body can't be blank"])
        if len(comment["body"]) > 65536:
            raise ApiError(
                422, "Validation Failed", ["Body is too long (maximum is 65536 characters)"]
            )
        if path not in files:
            raise ApiError(422, "Unprocessable Entity", ["Path could not be resolved"])
        if self.reject_comment is not None and self.reject_comment(comment):
            raise ApiError(
                422,
                "Unprocessable Entity",
                ["Pull request review thread line must be part of the diff"],
            )
        side = comment.get("side") or "RIGHT"
        start_side = comment.get("start_side")
        error = comment_error(
            files[path].get("patch"),
            comment.get("line"),
            side,
            comment.get("start_line"),
            start_side,
        )
        if error is not None:
            raise ApiError(422, "Unprocessable Entity", [error])

    def create_review(self, request, body, owner, name, number, installation):
        repo = self._repo(owner, name, installation)
        pull = self._pull(repo, number)
        body = body or {}
        commit_id = body.get("commit_id") or pull.head_sha
        if commit_id not in pull.commits:
            raise ApiError(
                422, "Unprocessable Entity", ["commit_id is not part of the pull request"]
            )
        event = body.get("event") or ""
        user = self.world.bot
        if any(r.user == user and r.state == "PENDING" for r in pull.reviews):
            raise ApiError(
                422,
                "Unprocessable Entity",
                ["User can only have one pending review per pull request"],
            )
        comments = body.get("comments") or []
        for comment in comments:
            extra = set(comment) - REVIEW_COMMENT_KEYS
            if extra:
                raise ApiError(
                    422, f'Invalid request.\n\n"{sorted(extra)[0]}" is not a permitted key.'
                )
            self._validate_line_comment(repo, pull, comment)
        text = body.get("body") or ""
        if event in ("REQUEST_CHANGES", "COMMENT") and not text and not comments:
            raise ApiError(422, "Unprocessable Entity", [f"Review body is required for {event}"])
        state = {
            "COMMENT": "COMMENTED",
            "APPROVE": "APPROVED",
            "REQUEST_CHANGES": "CHANGES_REQUESTED",
            "": "PENDING",
        }.get(event)
        if state is None:
            raise ApiError(422, "Unprocessable Entity", [f"Invalid event {event}"])
        review = Review(self.world.new_id(), pull.number, user, text, state, commit_id)
        pull.reviews.append(review)
        for comment in comments:
            self._add_comment(pull, review.id, user, comment, commit_id, "line")
        return web.json_response(self._review_json(repo, review))

    def _add_comment(
        self,
        pull: Pull,
        review_id: int | None,
        user: User,
        data: dict[str, Any],
        commit_id: str,
        subject_type: str,
    ) -> ReviewComment:
        file_level = subject_type == "file"
        comment = ReviewComment(
            id=self.world.new_id(),
            pull=pull.number,
            review_id=review_id,
            user=user,
            body=data["body"],
            path=data["path"],
            commit_id=commit_id,
            line=None if file_level else data.get("line"),
            side=None if file_level else data.get("side") or "RIGHT",
            start_line=None if file_level else data.get("start_line"),
            start_side=None if file_level else data.get("start_side"),
            subject_type=subject_type,
        )
        thread = Thread(f"PRRT_{comment.id}", pull.number, comment.path, [comment.id])
        comment.thread_id = thread.id
        pull.comments.append(comment)
        pull.threads.append(thread)
        return comment

    def delete_review(self, request, body, owner, name, number, rid, installation):
        repo = self._repo(owner, name, installation)
        pull = self._pull(repo, number)
        for review in pull.reviews:
            if review.id == int(rid):
                if review.state != "PENDING":
                    raise ApiError(
                        422,
                        "Unprocessable Entity",
                        ["Can not delete a non pending pull request review"],
                    )
                pull.reviews.remove(review)
                pull.comments = [c for c in pull.comments if c.review_id != review.id]
                return web.json_response(self._review_json(repo, review))
        raise ApiError(404, "Not Found")

    def submit_review(self, request, body, owner, name, number, rid, installation):
        repo = self._repo(owner, name, installation)
        pull = self._pull(repo, number)
        for review in pull.reviews:
            if review.id == int(rid) and review.state == "PENDING":
                review.state = "COMMENTED"
                review.body = (body or {}).get("body") or review.body
                return web.json_response(self._review_json(repo, review))
        raise ApiError(404, "Not Found")

    def list_review_comments(self, request, body, owner, name, number, installation):
        repo = self._repo(owner, name, installation)
        pull = self._pull(repo, number)
        return self._paged(request, [self._comment_json(repo, c) for c in pull.comments])

    def create_review_comment(self, request, body, owner, name, number, installation):
        repo = self._repo(owner, name, installation)
        pull = self._pull(repo, number)
        body = body or {}
        if body.get("in_reply_to"):
            return self._reply(repo, pull, int(body["in_reply_to"]), body)
        commit_id = body.get("commit_id")
        if not commit_id:
            raise ApiError(422, "Validation Failed", ["commit_id can't be blank"])
        if commit_id not in pull.commits:
            raise ApiError(
                422, "Unprocessable Entity", ["commit_id is not part of the pull request"]
            )
        subject_type = body.get("subject_type") or "line"
        if subject_type == "file":
            files = {f["filename"] for f in self.world.pull_files(repo, pull, self.max_patch_lines)}
            if body.get("path") not in files:
                raise ApiError(422, "Unprocessable Entity", ["Path could not be resolved"])
            if not body.get("body"):
                raise ApiError(422, "Validation Failed", ["body can't be blank"])
            if self.reject_comment is not None and self.reject_comment(body):
                raise ApiError(422, "Unprocessable Entity", ["path is invalid"])
        else:
            self._validate_line_comment(repo, pull, body)
        comment = self._add_comment(pull, None, self.world.bot, body, commit_id, subject_type)
        return web.json_response(self._comment_json(repo, comment), status=201)

    def _reply(self, repo: Repo, pull: Pull, parent_id: int, body: dict[str, Any]):
        parent = next((c for c in pull.comments if c.id == parent_id), None)
        if parent is None:
            raise ApiError(404, "Not Found")
        if not body.get("body"):
            raise ApiError(422, "Validation Failed", ["body can't be blank"])
        reply = ReviewComment(
            id=self.world.new_id(),
            pull=pull.number,
            review_id=None,
            user=self.world.bot,
            body=body["body"],
            path=parent.path,
            commit_id=parent.commit_id,
            line=parent.line,
            side=parent.side,
            start_line=parent.start_line,
            start_side=parent.start_side,
            subject_type=parent.subject_type,
            in_reply_to_id=parent.id,
            thread_id=parent.thread_id,
        )
        pull.comments.append(reply)
        for thread in pull.threads:
            if thread.id == parent.thread_id:
                thread.comment_ids.append(reply.id)
        return web.json_response(self._comment_json(repo, reply), status=201)

    def reply_review_comment(self, request, body, owner, name, number, cid, installation):
        repo = self._repo(owner, name, installation)
        return self._reply(repo, self._pull(repo, number), int(cid), body or {})

    def edit_review_comment(self, request, body, owner, name, cid, installation):
        repo = self._repo(owner, name, installation)
        for pull in repo.pulls.values():
            for comment in pull.comments:
                if comment.id == int(cid):
                    comment.body = (body or {}).get("body", comment.body)
                    return web.json_response(self._comment_json(repo, comment))
        raise ApiError(404, "Not Found")

    # -- issue comments, reactions, permissions -------------------------------------------------

    def list_issue_comments(self, request, body, owner, name, number, installation):
        repo = self._repo(owner, name, installation)
        items = [
            self._issue_comment_json(repo, c)
            for c in repo.issue_comments.values()
            if c.number == int(number)
        ]
        return self._paged(request, items)

    def create_issue_comment(self, request, body, owner, name, number, installation):
        repo = self._repo(owner, name, installation)
        if int(number) not in repo.pulls:
            raise ApiError(404, "Not Found")
        text = (body or {}).get("body")
        if not text:
            raise ApiError(422, "Validation Failed", ["body can't be blank"])
        if len(text) > 65536:
            raise ApiError(
                422, "Validation Failed", ["Body is too long (maximum is 65536 characters)"]
            )
        comment = IssueComment(self.world.new_id(), int(number), self.world.bot, text, True)
        repo.issue_comments[comment.id] = comment
        return web.json_response(self._issue_comment_json(repo, comment), status=201)

    def _issue_comment(self, repo: Repo, cid: str) -> IssueComment:
        comment = repo.issue_comments.get(int(cid))
        if comment is None:
            raise ApiError(404, "Not Found")
        return comment

    def get_issue_comment(self, request, body, owner, name, cid, installation):
        repo = self._repo(owner, name, installation)
        return web.json_response(self._issue_comment_json(repo, self._issue_comment(repo, cid)))

    def edit_issue_comment(self, request, body, owner, name, cid, installation):
        repo = self._repo(owner, name, installation)
        comment = self._issue_comment(repo, cid)
        if comment.user != self.world.bot:
            raise ApiError(403, "Resource not accessible by integration")
        text = (body or {}).get("body")
        if not text:
            raise ApiError(422, "Validation Failed", ["body can't be blank"])
        comment.body = text
        return web.json_response(self._issue_comment_json(repo, comment))

    def create_reaction(self, request, body, owner, name, cid, installation):
        repo = self._repo(owner, name, installation)
        comment = self._issue_comment(repo, cid)
        content = (body or {}).get("content")
        if content not in REACTIONS:
            raise ApiError(422, "Validation Failed", [f"content {content} is not included"])
        key = (self.world.bot.login, content)
        status = 200 if key in comment.reactions else 201
        if status == 201:
            comment.reactions.append(key)
        return web.json_response(
            {"id": self.world.new_id(), "user": self._user(self.world.bot), "content": content},
            status=status,
        )

    def get_permission(self, request, body, owner, name, login, installation):
        repo = self._repo(owner, name, installation)
        role = repo.collaborators.get(login)
        if role is None:
            role = "none" if repo.private else "read"
        permission = {"maintain": "write", "triage": "read"}.get(role, role)
        return web.json_response(
            {
                "permission": permission,
                "role_name": role,
                "user": self._user(User(login)),
            }
        )

    # -- check runs -----------------------------------------------------------------------------

    def _check_output(self, output: Any) -> list[dict[str, Any]]:
        if output is None:
            return []
        if not isinstance(output, dict) or not output.get("title") or "summary" not in output:
            raise ApiError(
                422,
                'Invalid request.\n\nNo subschema in "anyOf" matched.\n'
                '"title", "summary" weren\'t supplied.',
            )
        if len(output.get("summary") or "") > 65535:
            raise ApiError(422, "Validation Failed", ["summary is too long"])
        annotations = output.get("annotations") or []
        if len(annotations) > 50:
            raise ApiError(
                422, "Validation Failed", ["Only 50 annotations are allowed per request"]
            )
        for annotation in annotations:
            missing = {"path", "start_line", "end_line", "annotation_level", "message"} - set(
                annotation
            )
            if missing:
                raise ApiError(
                    422, "Validation Failed", [f"annotation is missing {sorted(missing)}"]
                )
            if annotation["annotation_level"] not in ("notice", "warning", "failure"):
                raise ApiError(422, "Validation Failed", ["bad annotation_level"])
        return annotations

    def create_check_run(self, request, body, owner, name, installation):
        repo = self._repo(owner, name, installation)
        body = body or {}
        if not body.get("name") or not body.get("head_sha"):
            raise ApiError(422, "Validation Failed", ["name and head_sha are required"])
        if body["head_sha"] not in repo.commits:
            raise ApiError(
                422, "Validation Failed", [f"No commit found for SHA: {body['head_sha']}"]
            )
        annotations = self._check_output(body.get("output"))
        conclusion = body.get("conclusion")
        status = "completed" if conclusion else body.get("status") or "queued"
        if status == "completed" and not conclusion:
            raise ApiError(422, "Validation Failed", ["conclusion is required"])
        run = CheckRun(
            self.world.new_id(),
            body["name"],
            body["head_sha"],
            status,
            conclusion,
            str(body.get("external_id") or ""),
            dict(body.get("output") or {}),
        )
        run.annotations.extend(annotations)
        run.history.append(body)
        repo.check_runs[run.id] = run
        return web.json_response(self._check_run_json(repo, run), status=201)

    def update_check_run(self, request, body, owner, name, rid, installation):
        repo = self._repo(owner, name, installation)
        run = repo.check_runs.get(int(rid))
        if run is None:
            raise ApiError(404, "Not Found")
        body = body or {}
        annotations = self._check_output(body.get("output"))
        if body.get("status") == "completed" and not (body.get("conclusion") or run.conclusion):
            raise ApiError(422, "Validation Failed", ["conclusion is required"])
        if body.get("conclusion"):
            run.conclusion = body["conclusion"]
            run.status = "completed"
        elif body.get("status"):
            run.status = body["status"]
        if body.get("output"):
            run.output.update({k: v for k, v in body["output"].items() if k != "annotations"})
        run.annotations.extend(annotations)
        run.history.append(body)
        return web.json_response(self._check_run_json(repo, run))

    def list_check_runs_for_ref(self, request, body, owner, name, sha, installation):
        repo = self._repo(owner, name, installation)
        wanted = request.query.get("check_name")
        runs = [
            self._check_run_json(repo, run)
            for run in sorted(repo.check_runs.values(), key=lambda r: -r.id)
            if run.head_sha == sha and (wanted is None or run.name == wanted)
        ]
        return web.json_response({"total_count": len(runs), "check_runs": runs})

    def get_check_run(self, request, body, owner, name, rid, installation):
        repo = self._repo(owner, name, installation)
        run = repo.check_runs.get(int(rid))
        if run is None:
            raise ApiError(404, "Not Found")
        return web.json_response(self._check_run_json(repo, run))

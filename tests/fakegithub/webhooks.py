"""Webhook deliveries as GitHub sends them, built from the fake's state and signed with the
test secret (our own payloads, shaped like the real ones in ../shared/fixtures/webhooks)."""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import hmac
import json
from typing import Any
import uuid

from tests.fakegithub.server import FakeGitHub
from tests.fakegithub.state import Pull, Repo


@dataclass(frozen=True)
class Delivery:
    event: str
    body: bytes
    headers: dict[str, str]

    @property
    def id(self) -> str:
        return self.headers["X-GitHub-Delivery"]

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Webhooks:
    def __init__(self, fake: FakeGitHub, secret: str):
        self.fake = fake
        self.secret = secret

    def deliver(self, event: str, payload: dict[str, Any], delivery: str | None = None) -> Delivery:
        body = json.dumps(payload).encode()
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "X-Hub-Signature-256": sign(self.secret, body),
            "X-Hub-Signature": "sha1=" + hmac.new(self.secret.encode(), body, "sha1").hexdigest(),
            "X-GitHub-Hook-ID": "1",
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/test",
        }
        return Delivery(event, body, headers)

    # -- payloads ---------------------------------------------------------------------------

    def _repository(self, repo: Repo) -> dict[str, Any]:
        return self.fake._repo_json(repo)

    def _installation(self, repo: Repo) -> dict[str, Any]:
        return {"id": repo.installation_id, "node_id": f"I_{repo.installation_id}"}

    def _sender(self, login: str, type_: str = "User") -> dict[str, Any]:
        return {"login": login, "id": abs(hash(login)) % 10**8, "type": type_}

    def pull_request(self, repo: Repo, pull: Pull, action: str, **extra: Any) -> Delivery:
        with self.fake.lock:
            payload = {
                "action": action,
                "number": pull.number,
                "pull_request": self.fake._pull_json(repo, pull),
                "repository": self._repository(repo),
                "installation": self._installation(repo),
                "sender": self._sender(pull.author.login),
                **extra,
            }
        return self.deliver("pull_request", payload)

    def issue_comment(
        self,
        repo: Repo,
        number: int,
        body: str,
        *,
        login: str = "octocat",
        user_type: str = "User",
        via_app: dict[str, Any] | None = None,
        on_pull: bool = True,
        action: str = "created",
        author_association: str = "NONE",
    ) -> Delivery:
        with self.fake.lock:
            comment = self.fake.world.human_issue_comment(repo, number, login, body)
            comment.user.type = user_type
            pull = repo.pulls.get(number)
            issue: dict[str, Any] = {
                "number": number,
                "title": pull.title if pull else "An issue",
                "state": "open",
                "user": self._sender(pull.author.login if pull else "octocat"),
                "url": self.fake._api(f"/repos/{repo.full_name}/issues/{number}"),
            }
            if on_pull:
                issue["pull_request"] = {
                    "url": self.fake._api(f"/repos/{repo.full_name}/pulls/{number}"),
                    "html_url": f"https://github.invalid/{repo.full_name}/pull/{number}",
                    "merged_at": None,
                }
            payload = {
                "action": action,
                "issue": issue,
                "comment": {
                    **self.fake._issue_comment_json(repo, comment),
                    "author_association": author_association,
                    "performed_via_github_app": via_app,
                },
                "repository": self._repository(repo),
                "installation": self._installation(repo),
                "sender": self._sender(login, user_type),
            }
        return self.deliver("issue_comment", payload)

    def check_run(
        self,
        repo: Repo,
        run_id: int,
        action: str = "rerequested",
        app_id: int | None = None,
        name: str | None = None,
    ) -> Delivery:
        with self.fake.lock:
            data = self.fake._check_run_json(repo, repo.check_runs[run_id])
            if app_id is not None:
                data["app"] = {**data["app"], "id": app_id}
            if name is not None:
                data["name"] = name
            payload = {
                "action": action,
                "check_run": data,
                "repository": self._repository(repo),
                "installation": self._installation(repo),
                "sender": self._sender("octocat"),
            }
        return self.deliver("check_run", payload)

    def installation(self, repo: Repo, action: str = "created") -> Delivery:
        payload = {
            "action": action,
            "installation": {**self._installation(repo), "account": {"login": repo.owner}},
            "repositories": [{"id": repo.id, "full_name": repo.full_name}],
            "sender": self._sender("octocat"),
        }
        return self.deliver("installation", payload)

    def installation_repositories(self, repo: Repo, action: str = "added") -> Delivery:
        payload = {
            "action": action,
            "installation": self._installation(repo),
            "repository_selection": "selected",
            "repositories_added": [{"id": repo.id, "full_name": repo.full_name}],
            "repositories_removed": [],
            "sender": self._sender("octocat"),
        }
        return self.deliver("installation_repositories", payload)

    def ping(self) -> Delivery:
        payload = {
            "zen": "Design for failure.",
            "hook_id": 1,
            "hook": {
                "type": "App",
                "id": 1,
                "app_id": self.fake.app_id,
                "active": True,
                "events": ["pull_request"],
            },
        }
        return self.deliver("ping", payload)

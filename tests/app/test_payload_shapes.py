"""Our webhook payloads have the shape of GitHub's, and real payloads route as ours do.

The real payloads are read from ../shared/fixtures/webhooks (never copied into the repository);
these tests skip when that folder is absent."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from bot import events
from bot.github import AppIdentity
from bot.webhook import Event
from tests.fakegithub import FakeGitHub, Webhooks

# Every payload field the App reads, per event.
READS = {
    "pull_request": [
        "action",
        "installation.id",
        "repository.full_name",
        "pull_request.number",
        "pull_request.state",
        "pull_request.draft",
        "pull_request.user.login",
        "pull_request.head.sha",
        "pull_request.head.repo.full_name",
        "pull_request.base.sha",
        "pull_request.base.ref",
    ],
    "issue_comment": [
        "action",
        "installation.id",
        "repository.full_name",
        "issue.number",
        "issue.user.login",
        "comment.id",
        "comment.body",
        "comment.user.login",
        "comment.user.type",
        "comment.performed_via_github_app",
    ],
    "check_run": [
        "action",
        "installation.id",
        "repository.full_name",
        "check_run.name",
        "check_run.app.id",
        "check_run.external_id",
        "check_run.pull_requests",
        "check_run.head_sha",
    ],
    "installation": ["action", "installation.id", "installation.account.login", "repositories"],
}


def has_path(data, path: str) -> bool:
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True


@pytest.fixture(scope="module")
def ours():
    with FakeGitHub() as fake:
        repo = fake.world.add_repo("acme/widgets", installation_id=3)
        pull = fake.world.open_pull(repo, {"a": b"a\n"}, {"a": b"b\n"})
        run_id = fake.world.new_id()
        from tests.fakegithub.state import CheckRun

        repo.check_runs[run_id] = CheckRun(
            run_id, "Preflight", pull.head_sha, "completed", "success", "1", {}
        )
        hooks = Webhooks(fake, "s")
        yield {
            "pull_request": hooks.pull_request(repo, pull, "opened").payload,
            "issue_comment": hooks.issue_comment(repo, pull.number, "/preflight").payload,
            "check_run": hooks.check_run(repo, run_id).payload,
            "installation": hooks.installation(repo).payload,
        }


@pytest.mark.parametrize(
    ("event", "fixture"),
    [
        ("pull_request", "pull_request.opened.json"),
        ("issue_comment", "issue_comment.created.json"),
        ("check_run", "check_run.rerequested.json"),
        ("installation", "installation.created.json"),
    ],
)
def test_what_the_app_reads_is_in_real_and_in_our_payloads(shared_dir, ours, event, fixture):
    real = json.loads((shared_dir / "fixtures/webhooks" / fixture).read_text())
    for path in READS[event]:
        assert has_path(real, path), f"real {fixture} lacks {path}"
        assert has_path(ours[event], path), f"our {event} payload lacks {path}"


def runtime_stub():
    return SimpleNamespace(identity=AppIdentity(4242, "preflight", "Preflight"))


def route_fixture(shared_dir, name: str, event: str):
    payload = json.loads((shared_dir / "fixtures/webhooks" / name).read_text())
    return events.route(Event(event, payload.get("action"), "d", payload), runtime_stub())


def test_real_pull_request_payloads_route_to_a_review_of_their_head(shared_dir):
    for name in (
        "pull_request.opened.json",
        "pull_request.synchronize.json",
        "pull_request.reopened.json",
        "pull_request.ready_for_review.json",
    ):
        payload = json.loads((shared_dir / "fixtures/webhooks" / name).read_text())
        (job,) = route_fixture(shared_dir, name, "pull_request")
        assert job.head_sha == payload["pull_request"]["head"]["sha"]
        assert job.key == (payload["repository"]["full_name"], payload["number"])


def test_real_comment_and_installation_payloads_route_to_nothing_here(shared_dir):
    # The real PR comment says "/review" (another bot's command); the other is a plain issue.
    assert route_fixture(shared_dir, "issue_comment.created.json", "issue_comment") == []
    assert route_fixture(shared_dir, "issue_comment.created.on_issue.json", "issue_comment") == []
    assert route_fixture(shared_dir, "installation.created.json", "installation") == []
    assert (
        route_fixture(
            shared_dir, "installation_repositories.added.json", "installation_repositories"
        )
        == []
    )
    # Someone else's check run (another app, another name) is not ours to re-run.
    assert route_fixture(shared_dir, "check_run.rerequested.json", "check_run") == []


def test_a_real_pr_comment_with_our_command_routes_to_a_command(shared_dir):
    payload = json.loads((shared_dir / "fixtures/webhooks/issue_comment.created.json").read_text())
    payload["comment"]["body"] = "/preflight"
    (job,) = events.route(Event("issue_comment", "created", "d", payload), runtime_stub())
    assert job.key == (payload["repository"]["full_name"], payload["issue"]["number"])

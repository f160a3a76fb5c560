"""Security: what a stranger can send, what Preflight may touch, and what it never says."""

from __future__ import annotations

import ast
import asyncio
import hmac
import json
import logging
import os
from pathlib import Path
import re

import pytest

from bot import events, webhook
from bot.commands import reply_marker
from bot.settings import Settings
from bot.webhook import MAX_BODY
from tests.app.conftest import CLEAN_WORKFLOW, SECRET, WORKFLOW, start_app
from tests.app.test_review_flow import WF, bot_summaries, open_ci_pull, posted_reviews
from tests.app.test_webhook import headers_for, post

ROOT = Path(__file__).resolve().parents[2]


# -- webhooks --------------------------------------------------------------------------------------


async def test_the_signature_is_compared_in_constant_time(app, hooks, monkeypatch):
    seen = []
    real = hmac.compare_digest

    def spy(a, b):
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(webhook.hmac, "compare_digest", spy)
    delivery = hooks.deliver("pull_request", {"action": "labeled"})
    assert (await app.send(delivery)).status == 202
    ((expected, given),) = seen
    assert "sha256=" + given == delivery.headers["X-Hub-Signature-256"] and expected == given


async def test_nothing_is_parsed_before_the_signature_is_checked(app, hooks, monkeypatch):
    parsed = []
    real = json.loads
    monkeypatch.setattr(webhook.json, "loads", lambda b: parsed.append(b) or real(b))
    body = b'{"action": "opened"}'
    response = await post(
        app, body, {**headers_for(body), "X-Hub-Signature-256": "sha256=" + "a" * 64}
    )
    assert response.status == 401 and parsed == []
    delivery = hooks.deliver("pull_request", {"action": "labeled"})
    response = await app.send(delivery)
    assert response.status == 202 and parsed == [delivery.body]  # once, before the answer
    await app.settle()
    assert parsed == [delivery.body]


async def test_a_chunked_body_over_25_megabytes_is_refused(app):
    async def chunks():
        block = b" " * (1024 * 1024)
        for _ in range(MAX_BODY // len(block) + 1):
            yield block

    headers = headers_for(b"")
    response = await app.client.post(
        app.runtime.settings.webhook_path, data=chunks(), headers=headers
    )
    assert response.status == 413


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"null",
        b"[]",
        b"{",
        b"{not json}",
        b"{}",
        b'{"action": 5}',
        b'{"action": "opened", "pull_request": null}',
        b'{"action": "opened", "pull_request": {"head": "x"}, "repository": []}',
        b'{"action": "created", "issue": {"pull_request": {}}, "comment": "x"}',
        b"\xff\xfe{\x00}",
        b"{" + b'"a":[' * 5000 + b"]" * 5000 + b"}",
        b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}",  # deeper than json's recursion
    ],
)
@pytest.mark.parametrize("event", ["pull_request", "issue_comment", "check_run"])
async def test_signed_garbage_is_a_400_or_a_logged_drop_never_a_500(app, fake, event, body, caplog):
    response = await post(app, body, {**headers_for(body, event)})
    await app.settle()
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        payload = None
    if not isinstance(payload, dict):
        assert response.status == 400  # not JSON, or not an object: refused before the answer
    else:
        assert response.status == 202  # parsed, but unusable: dropped with a log line
        assert (
            app.runtime.metrics.value("preflight_webhook_payloads_total", outcome="unusable")
            + (
                app.runtime.metrics.value(
                    "preflight_webhook_payloads_total", outcome="nothing_to_do"
                )
            )
            == 1
        )
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [c.path for c in fake.calls()] == ["/app"]


# -- commands --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "/preflight x`@acme/admins`",
        "/preflight @everyone",
        "/preflight [click](https://evil.invalid)",
        "/preflight <img src=x onerror=alert(1)>",
        "/preflight " + "a" * 500,
    ],
)
async def test_unknown_subcommands_get_help_and_never_echo_markup(app, fake, repo, hooks, text):
    pull = open_ci_pull(fake, repo, author="alice")
    delivery = hooks.issue_comment(repo, pull.number, text, login="alice")
    await app.send(delivery)
    (reply,) = [c for c in repo.issue_comments.values() if c.via_app]
    assert "not a command I know" in reply.body and "`/preflight help`" in reply.body
    assert reply_marker(delivery.payload["comment"]["id"]) in reply.body
    for dangerous in ("@acme", "@everyone", "evil.invalid", "<img", "a" * 41):
        assert dangerous not in reply.body
    assert "Traceback" not in reply.body and pull.reviews == []


async def test_permission_is_asked_of_the_api_not_taken_from_the_payload(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo, author="alice")
    await app.send(
        hooks.issue_comment(
            repo, pull.number, "/preflight", login="eve", author_association="OWNER"
        )
    )
    assert fake.calls("GET", "/collaborators/eve/permission")
    assert pull.reviews == []


# -- read-only for repository content --------------------------------------------------------------

_ALLOWED_WRITES = [
    ("POST", r"/app/installations/\d+/access_tokens"),
    ("POST", r"/repos/acme/widgets/check-runs"),
    ("PATCH", r"/repos/acme/widgets/check-runs/\d+"),
    ("POST", r"/repos/acme/widgets/pulls/\d+/reviews"),
    ("DELETE", r"/repos/acme/widgets/pulls/\d+/reviews/\d+"),
    ("POST", r"/repos/acme/widgets/pulls/\d+/comments"),
    ("POST", r"/repos/acme/widgets/pulls/\d+/comments/\d+/replies"),
    ("POST", r"/repos/acme/widgets/issues/\d+/comments"),
    ("PATCH", r"/repos/acme/widgets/issues/comments/\d+"),
    ("POST", r"/repos/acme/widgets/issues/comments/\d+/reactions"),
]


async def test_every_request_the_app_makes_is_read_only_for_repository_content(
    app, fake, repo, hooks
):
    from tests.fakegithub.state import Review

    long_tail = b"".join(b"      - run: echo %d\n" % i for i in range(30))
    pull = open_ci_pull(
        fake,
        repo,
        author="alice",
        head_repo="mallory/widgets",
        head_ref="evil-branch",
        extra_head={".github/workflows/tail.yml": WORKFLOW + long_tail},
        extra_base={
            ".github/workflows/tail.yml": WORKFLOW.replace(b"ubuntu-latest", b"x") + long_tail
        },
    )
    pull.reviews.append(Review(5, pull.number, fake.world.bot, "", "PENDING", pull.head_sha))
    await app.send(hooks.pull_request(repo, pull, "opened"))
    fixed = fake.world.push(repo, pull, {WF: CLEAN_WORKFLOW})
    await app.send(hooks.pull_request(repo, pull, "synchronize", after=fixed))
    await app.send(hooks.issue_comment(repo, pull.number, "/preflight", login="alice"))
    await app.send(hooks.issue_comment(repo, pull.number, "/preflight help", login="alice"))
    (run,) = [r for r in repo.check_runs.values() if r.head_sha == fixed][:1]
    await app.send(hooks.check_run(repo, run.id))
    assert posted_reviews(fake) and bot_summaries(repo)
    assert any(c.path.endswith("/replies") for c in fake.calls("POST"))

    for call in fake.calls():
        if call.method == "GET":
            assert not re.search(r"/(archive|tarball|zipball)|refs/", call.path), call
            ref = call.query.get("ref")
            assert ref is None or re.fullmatch(r"[0-9a-f]{40}", ref), call  # shas, not branches
            continue
        if call.path == "/graphql":
            query = call.body["query"]
            if query.lstrip().startswith("mutation"):
                assert re.findall(r"\b(\w+)\(input", query) == ["resolveReviewThread"]
            continue
        assert any(
            call.method == method and re.fullmatch(pattern, call.path)
            for method, pattern in _ALLOWED_WRITES
        ), call
        seen = call.path + json.dumps(call.body)
        assert "evil-branch" not in seen and "mallory/widgets" not in seen


APP_MODULES = [
    "app",
    "webhook",
    "events",
    "jobs",
    "github",
    "snapshot",
    "publish",
    "commands",
    "runtime",
    "settings",
    "metrics",
    "diffmap",
    "review",
]


def test_the_app_never_runs_or_checks_out_code():
    for name in APP_MODULES:
        tree = ast.parse((ROOT / "bot" / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                imported = [node.module or ""]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in ("eval", "exec", "compile", "__import__"), name
                continue
            elif isinstance(node, ast.Attribute):
                assert node.attr not in ("system", "popen", "spawnv", "execv"), name
                continue
            else:
                continue
            for module in imported:
                assert module.split(".")[0] not in ("subprocess", "pty", "shutil"), (name, module)
                assert module not in ("bot.gitrepo", "bot.localrepo", "bot.cli"), (name, module)
    # Only pull_request (never pull_request_target) starts a review: Preflight reads blobs
    # of the head commit through the API and never runs a workflow of its own.
    assert {event for event, _ in events.ROUTES} == {
        "pull_request",
        "issue_comment",
        "check_run",
        "installation",
        "installation_repositories",
    }


# -- secrets ---------------------------------------------------------------------------------------


def _secrets_seen_by_fake(fake) -> list[str]:
    found = set(fake.tokens)
    for call in fake.calls():
        _, _, credential = call.headers.get("Authorization", "").partition(" ")
        if credential:
            found.add(credential)
    jwts = [s for s in found if s.count(".") == 2]
    assert jwts and any(s.startswith("ghs_") for s in found)  # both kinds were really used
    key_lines = [ln for ln in fake.private_key.splitlines() if ln and not ln.startswith("-----")]
    return sorted(found) + key_lines


async def test_no_secret_reaches_the_logs_even_at_debug(
    aiohttp_client, fake, repo, sample_rules, caplog
):
    import jwt

    caplog.set_level(logging.DEBUG)
    for name in ("github", "github.Requester", "urllib3", "urllib3.connectionpool", "bot"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    app = await start_app(aiohttp_client, fake, retries=0, job_retries=0)
    from tests.fakegithub import Webhooks

    hooks = Webhooks(fake, SECRET)
    pull = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert len(pull.reviews) == 1
    # Error paths whose answers echo the credentials, as a careless proxy might.
    echo = lambda headers: {"message": f"bad request with {headers.get('Authorization')}"}  # noqa: E731
    fake.fail("GET", r"/pulls/\d+/files", 500, body=echo)
    second = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, second, "opened"))
    fake.expire_tokens()
    fake.fail("POST", "/access_tokens", 401, body=echo)
    third = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, third, "opened"))

    text = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert any(r.name == "github.Requester" for r in caplog.records)  # debug logging was on
    assert "redacted" in text  # and there was something to mask
    secrets = _secrets_seen_by_fake(fake)
    for secret in secrets:
        assert secret not in text
    for token in [s for s in secrets if s.count(".") == 2]:
        assert jwt.decode(token, options={"verify_signature": False})["iss"]  # it was a JWT
    assert "PRIVATE KEY" not in text and SECRET not in text


@pytest.mark.parametrize(("mode", "warns"), [(0o644, True), (0o640, True), (0o600, False)])
async def test_a_private_key_file_others_can_read_is_warned_about(
    aiohttp_client, fake, tmp_path, caplog, mode, warns
):
    from bot.app import create_app

    key = tmp_path / "app.pem"
    key.write_text(fake.private_key)
    os.chmod(key, mode)
    env = {
        "APP_ID": str(fake.app_id),
        "PRIVATE_KEY_PATH": str(key),
        "WEBHOOK_SECRET": SECRET,
        "GITHUB_API_URL": fake.url,
    }
    settings = Settings.from_env(env)
    assert settings.private_key_path == str(key)
    caplog.set_level(logging.WARNING)
    await aiohttp_client(create_app(settings))
    warnings = [
        r.getMessage() for r in caplog.records if "readable by other users" in r.getMessage()
    ]
    assert bool(warnings) == warns
    if warns:
        assert "chmod 600" in warnings[0] and "BEGIN" not in warnings[0]


# -- configuration ---------------------------------------------------------------------------------


async def test_a_pull_request_adding_a_config_is_told_so_even_without_findings(
    app, fake, repo, hooks
):
    disabled = b"rules:\n  pinned-runner:\n    enabled: false\n"
    pull = open_ci_pull(
        fake,
        repo,
        head_workflow=CLEAN_WORKFLOW.replace(b"make", b"just"),
        extra_head={".github/preflight.yml": disabled},
    )
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert posted_reviews(fake) == []
    (summary,) = bot_summaries(repo)
    assert ".github/preflight.yml" in summary.body and "applies after it is merged" in summary.body


async def test_a_config_added_by_the_pull_request_does_not_silence_its_own_review(
    app, fake, repo, hooks
):
    disabled = b"rules:\n  pinned-runner:\n    enabled: false\nignore:\n  - '**'\n"
    pull = open_ci_pull(fake, repo, extra_head={".github/preflight.yml": disabled})
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert len(pull.reviews) == 1
    (run,) = repo.check_runs.values()
    assert run.conclusion == "failure"
    (summary,) = bot_summaries(repo)
    assert "applies after it is merged" in summary.body
    await asyncio.sleep(0)

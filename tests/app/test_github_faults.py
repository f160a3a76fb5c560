"""GitHub failing in every way we know of, against the fake with fault injection: the review
still lands exactly once, or the job stops or is put off and says why."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time

import pytest

from bot.github import RetryPolicy, rate_limit_wait
from tests.app.conftest import start_app
from tests.app.test_review_flow import WF, bot_summaries, open_ci_pull, posted_reviews

REVIEWS = r"/pulls/\d+/reviews$"


def metric(app, family: str, **labels: str) -> float:
    return app.runtime.metrics.value(family, **labels)


# -- retries and their pauses ----------------------------------------------------------------------


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    policy = RetryPolicy(backoff=1.0)
    for attempt, ceiling in enumerate((1, 2, 4, 8, 16, 30, 30)):
        pauses = {policy.pause(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= p <= ceiling for p in pauses)
        assert len(pauses) > 1  # jittered: clients that failed together spread out
    assert RetryPolicy(backoff=0).pause(5) == 0


@pytest.mark.parametrize(
    ("status", "headers", "message", "expected"),
    [
        (403, {"Retry-After": "7"}, "You have exceeded a secondary rate limit", 7),
        (429, {"retry-after": "3"}, "", 3),
        (429, {}, "", 60),  # no time named: at least a minute, as GitHub advises
        (403, {}, "You have exceeded a secondary rate limit.", 60),
        (
            403,
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1000120"},
            "API rate limit",
            120,
        ),
        (403, {}, "Resource not accessible by integration", None),  # a permission, not a limit
        (500, {"Retry-After": "5"}, "", None),
    ],
)
def test_how_long_github_asks_us_to_wait(status, headers, message, expected):
    wait = rate_limit_wait(status, headers, message, secondary_wait=60, now=1_000_000)
    assert wait == expected


async def test_5xx_on_reads_is_retried(app, fake, repo, hooks):
    fake.fail("GET", r"/pulls/\d+/files", 502, times=2)
    fake.fail("GET", "/git/trees/", 503)
    fake.fail("POST", "/graphql", 500)  # the state query is a read
    pull = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert fake.statuses("GET", "/files") == [502, 502, 200]
    assert fake.statuses("GET", "/git/trees/") == [503, 200]
    assert len(pull.reviews) == 1
    assert metric(app, "preflight_retries_total", reason="server_error") == 4
    assert metric(app, "preflight_github_requests_total", method="GET", status="5xx") == 3


async def test_a_reset_connection_on_a_read_is_retried(app, fake, repo, hooks):
    fake.fail("GET", r"/pulls/\d+/files", reset=True)
    pull = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert fake.statuses("GET", "/files") == [-1, 200]
    assert len(pull.reviews) == 1
    assert metric(app, "preflight_retries_total", reason="connection") == 1
    assert metric(app, "preflight_github_requests_total", status="error") == 1


async def test_a_read_that_times_out_is_retried(aiohttp_client, fake, repo, hooks, sample_rules):
    app = await start_app(aiohttp_client, fake, http_timeout=1)
    fake.fail("GET", "/git/trees/", 0, delay=1.5)  # answers, but too late
    pull = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert len(fake.calls("GET", "/git/trees/")) == 2
    assert len(pull.reviews) == 1
    assert metric(app, "preflight_retries_total", reason="connection") == 1


async def test_a_job_that_keeps_failing_is_queued_again_then_given_up_and_logged(
    aiohttp_client, fake, repo, hooks, sample_rules, caplog
):
    app = await start_app(aiohttp_client, fake, retries=1, job_retries=2)
    fake.fail("GET", r"/pulls/\d+/files", 502, times=-1)
    pull = open_ci_pull(fake, repo)
    delivery = hooks.pull_request(repo, pull, "opened")
    await app.send(delivery)
    # 3 runs of the job (the first and 2 re-queues), each with 2 tries of the request.
    assert fake.statuses("GET", "/files") == [502] * 6
    assert app.runtime.queue.stats.retried == 2 and app.runtime.queue.stats.failed == 1
    assert metric(app, "preflight_failures_total") == 1
    assert metric(app, "preflight_jobs_total", outcome="retried") == 2
    (record,) = [r for r in caplog.records if "giving up" in r.getMessage()]
    text = record.getMessage()
    assert record.levelno == logging.ERROR
    assert delivery.id in text and "acme/widgets#1" in text and "502" in text
    # Nothing was posted, and the delivery id was forgotten: a redelivery runs again.
    assert pull.reviews == [] and repo.check_runs == {}
    fake.faults.clear()
    response = await app.send(delivery)
    assert response.status == 202
    assert len(pull.reviews) == 1


async def test_a_job_that_fails_once_succeeds_when_queued_again(
    aiohttp_client, fake, repo, hooks, sample_rules
):
    app = await start_app(aiohttp_client, fake, retries=0, job_retries=2)
    fake.fail("GET", r"/pulls/\d+/files", 500)
    pull = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert fake.statuses("GET", "/files") == [500, 200]
    assert len(pull.reviews) == 1
    assert metric(app, "preflight_jobs_total", outcome="retried") == 1
    assert metric(app, "preflight_jobs_total", outcome="done") == 1


# -- writes are never doubled ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 502, "after": True},  # GitHub posted it, then the answer was lost
        {"status": 0, "reset": True, "after": True},  # posted, then the connection dropped
        {"status": 502},  # not posted at all
        {"status": 504, "times": 2},  # not posted, twice
    ],
    ids=["502-after-posting", "reset-after-posting", "502-before-posting", "504-twice"],
)
async def test_an_unclear_answer_to_the_review_post_never_gives_a_second_review(
    app, fake, repo, hooks, fault
):
    status = fault.pop("status")
    fake.fail("POST", REVIEWS, status, **fault)
    pull = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert len(pull.reviews) == 1 and len(pull.threads) == 1
    # Before any second POST the App looked for the review it may have posted.
    calls = [(c.method, c.path) for c in fake.calls() if "/reviews" in c.path]
    first_list = calls.index(("GET", "/repos/acme/widgets/pulls/1/reviews"))
    assert calls[0][0] == "POST" and first_list == 1
    posted = len(posted_reviews(fake))
    assert posted == (1 if fault.get("after") else 1 + fault.get("times", 1))
    (run,) = repo.check_runs.values()
    assert run.conclusion == "failure"  # the run finished normally


async def test_an_unclear_answer_when_creating_the_summary_gives_one_summary(
    app, fake, repo, hooks
):
    fake.fail("POST", r"/issues/\d+/comments$", 502, after=True)
    pull = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert len(bot_summaries(repo)) == 1
    assert len(fake.calls("POST", r"/issues/\d+/comments$")) == 1


async def test_an_unclear_answer_on_a_file_comment_or_a_reply_posts_it_once(app, fake, repo, hooks):
    long_tail = b"".join(b"      - run: echo %d\n" % i for i in range(30))
    base_wf = b"on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n" + long_tail
    head_wf = base_wf + b"      - run: done\n"
    pull = fake.world.open_pull(repo, {WF: base_wf}, {WF: head_wf})
    fake.fail("POST", r"/pulls/\d+/comments$", 500, after=True)
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert [c.subject_type for c in pull.comments] == ["file"]
    # The finding is fixed: the reply to its thread meets a reset after it was posted.
    fixed = fake.world.push(repo, pull, {WF: head_wf.replace(b"ubuntu-latest", b"ubuntu-24.04")})
    fake.fail("POST", r"/replies$", 0, reset=True, after=True)
    await app.send(hooks.pull_request(repo, pull, "synchronize", after=fixed))
    replies = [c for c in pull.comments if c.in_reply_to_id]
    assert len(replies) == 1 and pull.threads[0].is_resolved


async def test_an_unclear_answer_when_creating_the_check_run_leaves_one_check_run(
    app, fake, repo, hooks
):
    fake.fail("POST", "/check-runs", 502, after=True)
    pull = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, pull, "opened"))
    (run,) = repo.check_runs.values()
    assert run.status == "completed" and run.conclusion == "failure"


async def test_annotations_are_not_doubled_when_a_batch_answer_is_lost(app, fake, repo, hooks):
    jobs = b"".join(
        b"  job%d:\n    runs-on: ubuntu-latest\n    steps:\n      - run: x\n" % i for i in range(60)
    )
    pull = fake.world.open_pull(
        repo, {"README.md": b"x\n"}, {"README.md": b"x\n", WF: b"on: push\njobs:\n" + jobs}
    )
    fake.fail("PATCH", "/check-runs/", 502, after=True, times=2)  # both batches landed
    await app.send(hooks.pull_request(repo, pull, "opened"))
    (run,) = repo.check_runs.values()
    assert len(run.annotations) == 60
    assert run.status == "completed" and run.conclusion == "failure"


# -- rate limits -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "body"),
    [
        (403, {"Retry-After": "0"}, {"message": "You have exceeded a secondary rate limit."}),
        (403, {}, {"message": "You have exceeded a secondary rate limit."}),
        (429, {"Retry-After": "0"}, None),
        (429, {}, None),
        (
            403,
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "0", "x-ratelimit-limit": "5000"},
            {"message": "API rate limit exceeded for installation ID 77."},
        ),
    ],
    ids=["secondary-retry-after", "secondary", "429-retry-after", "429", "primary-exhausted"],
)
async def test_rate_limits_are_waited_out_then_the_request_is_repeated(
    app, fake, repo, hooks, status, headers, body
):
    headers = {
        k: (str(int(time.time())) if v == "0" and "reset" in k else v) for k, v in headers.items()
    }
    pull = open_ci_pull(fake, repo)
    # A rate-limited write was refused, not done: it is safe to send again.
    fake.fail("POST", REVIEWS, status, headers=headers, body=body)
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert fake.statuses("POST", REVIEWS) == [status, 200]
    assert len(pull.reviews) == 1
    assert metric(app, "preflight_retries_total", reason="rate_limit") == 1
    assert fake.calls("GET", "/reviews") == []  # no need to look: nothing was posted


async def test_a_rate_limit_longer_than_the_cap_defers_the_job_and_says_so(
    aiohttp_client, fake, repo, hooks, sample_rules, caplog
):
    app = await start_app(aiohttp_client, fake, max_rate_limit_wait=0.2)
    fake.fail(
        "GET",
        r"/pulls/\d+/files",
        403,
        headers={"Retry-After": "1"},
        body={"message": "You have exceeded a secondary rate limit."},
    )
    pull = open_ci_pull(fake, repo)
    started = time.monotonic()
    await app.send(hooks.pull_request(repo, pull, "opened"), settle=False)
    for _ in range(100):
        if app.runtime.queue.scheduled:
            break
        await asyncio.sleep(0.02)
    (_deferred,) = app.runtime.queue.scheduled  # put off, not holding a worker for a second
    assert pull.reviews == []
    assert metric(app, "preflight_deferrals_total", reason="rate_limit") == 1
    assert any(
        "deferred" in r.getMessage() and "acme/widgets#1" in r.getMessage() for r in caplog.records
    )
    health = await app.client.get("/healthz")
    assert health.status == 200
    await app.settle()
    assert time.monotonic() - started >= 1.0  # GitHub's wait was honoured
    assert len(pull.reviews) == 1


async def test_a_rate_limit_holds_back_every_request_of_the_installation(app, fake, repo, hooks):
    first = open_ci_pull(fake, repo)
    second = open_ci_pull(fake, repo)
    fake.fail("POST", "/check-runs", 429, headers={"Retry-After": "1"})
    await app.send(hooks.pull_request(repo, first, "opened"), settle=False)
    await app.send(hooks.pull_request(repo, second, "opened"))
    limited = fake.calls("POST", "/check-runs")[0]
    # Nothing of this installation reached GitHub during the second GitHub asked for (past
    # the few milliseconds a request already on its way needs to arrive).
    during = [c for c in fake.calls() if limited.done_at + 0.1 < c.at < limited.done_at + 0.9]
    assert during == []
    assert len(first.reviews) == 1 and len(second.reviews) == 1


async def test_writes_of_one_installation_go_one_at_a_time(
    aiohttp_client, fake, repo, hooks, sample_rules
):
    app = await start_app(aiohttp_client, fake, max_concurrent_jobs=4)
    fake.latency = 0.02  # every request takes a while, so overlaps would show
    pulls = [open_ci_pull(fake, repo) for _ in range(4)]
    for pull in pulls:
        await app.send(hooks.pull_request(repo, pull, "opened"), settle=False)
    await app.settle()
    assert all(len(pull.reviews) == 1 for pull in pulls)
    writes = sorted(
        (c for c in fake.calls() if c.is_write and "access_tokens" not in c.path),
        key=lambda c: c.at,
    )
    assert len(writes) >= 4 * 4
    for earlier, later in itertools.pairwise(writes):
        assert later.at >= earlier.done_at, (earlier, later)
    reads = sorted((c for c in fake.calls() if not c.is_write), key=lambda c: c.at)
    overlapping = any(b.at < a.done_at for a, b in itertools.pairwise(reads))
    assert overlapping  # reads of different pull requests still run side by side


# -- tokens ----------------------------------------------------------------------------------------


async def test_an_expired_installation_token_is_refreshed_once(app, fake, repo, hooks):
    first = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, first, "opened"))
    fake.expire_tokens()  # the cached token stops working before its announced expiry
    second = open_ci_pull(fake, repo)
    fake.reset_calls()
    await app.send(hooks.pull_request(repo, second, "opened"))
    assert len(second.reviews) == 1
    assert fake.statuses()[:3] == [401, 201, 200]  # refused, new token, the same request
    assert len(fake.calls("POST", "/access_tokens")) == 1
    assert metric(app, "preflight_retries_total", reason="token_refresh") == 1


async def test_a_token_refused_twice_stops_the_job(app, fake, repo, hooks, caplog):
    fake.fail("GET", r"/pulls/\d+/files", 401, times=-1, body={"message": "Bad credentials"})
    pull = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert fake.statuses("GET", "/files") == [401, 401]
    assert app.runtime.queue.stats.stopped == 1
    assert any("stopped" in r.getMessage() and "401" in r.getMessage() for r in caplog.records)


# -- final answers ---------------------------------------------------------------------------------


async def test_a_pull_request_that_went_away_stops_the_job_cleanly(app, fake, repo, hooks, caplog):
    pull = open_ci_pull(fake, repo)
    delivery = hooks.pull_request(repo, pull, "opened")
    del repo.pulls[pull.number]  # deleted (or the App lost access) after the webhook
    await app.send(delivery)
    assert fake.statuses("GET", "/files") == [404]  # a 404 is not retried
    assert app.runtime.queue.stats.stopped == 1 and app.runtime.queue.stats.retried == 0
    (record,) = [r for r in caplog.records if "stopped" in r.getMessage()]
    assert "404" in record.getMessage() and delivery.id in record.getMessage()
    assert repo.check_runs == {}


async def test_a_repository_that_went_away_stops_the_job_cleanly(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo)
    delivery = hooks.pull_request(repo, pull, "opened")
    del fake.world.repos[repo.full_name]
    await app.send(delivery)
    assert app.runtime.queue.stats.stopped == 1
    assert metric(app, "preflight_jobs_total", outcome="stopped") == 1


async def test_a_410_stops_the_job_cleanly_and_the_check_run_says_so(app, fake, repo, hooks):
    fake.fail("POST", r"/issues/\d+/comments$", 410, body={"message": "Issues are disabled"})
    pull = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert fake.statuses("POST", r"/issues/\d+/comments$") == [410]
    assert app.runtime.queue.stats.stopped == 1
    (run,) = repo.check_runs.values()
    assert run.conclusion == "neutral" and "Issues are disabled" in run.output["summary"]


async def test_a_422_on_the_fallback_review_too_stops_cleanly(app, fake, repo, hooks):
    fake.fail("POST", REVIEWS, 422, times=2, body={"message": "Unprocessable Entity"})
    pull = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert fake.statuses("POST", REVIEWS) == [422, 422]  # the review, then without comments
    assert app.runtime.queue.stats.stopped == 1 and pull.reviews == []
    (run,) = repo.check_runs.values()
    assert run.status == "completed" and run.conclusion == "neutral"


# -- the App stays up and counts -------------------------------------------------------------------

_SAMPLE = re.compile(r'^[a-z_]+(\{([a-z_]+="[^"\\\n]*",?)*\})? \d+(\.\d+)?$')


async def test_healthz_and_metrics_answer_while_github_is_failing(
    aiohttp_client, fake, repo, hooks, sample_rules
):
    app = await start_app(aiohttp_client, fake, retries=0, job_retries=0)
    fake.fail("GET", r"/pulls/\d+/files", 502, times=-1, delay=0.3)
    pull = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, pull, "opened"), settle=False)
    await asyncio.sleep(0.1)
    assert (await app.client.get("/healthz")).status == 200
    await app.settle()
    response = await app.client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = await response.text()
    families = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind == "counter"
            families.add(name)
        elif not line.startswith("# HELP "):
            assert _SAMPLE.match(line), line
            assert line.split("{")[0].split(" ")[0] in families
    assert 'preflight_webhook_deliveries_total{event="pull_request",outcome="accepted"} 1' in text
    assert 'preflight_jobs_total{outcome="failed"} 1' in text
    assert 'preflight_failures_total{cause="Unavailable"} 1' in text
    assert 'preflight_github_requests_total{method="GET",status="5xx"} 1' in text
    assert 'preflight_github_requests_total{method="POST",status="2xx"}' in text  # the token

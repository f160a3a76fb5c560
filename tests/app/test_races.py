"""Replays, races and shutdown: one review per head, newest head last, spam absorbed, and a
shutdown that leaves nothing a re-run cannot repair."""

from __future__ import annotations

import asyncio
import logging

from tests.app.conftest import start_app
from tests.app.test_review_flow import WF, bot_summaries, open_ci_pull, posted_reviews
from tests.fakegithub import Webhooks


async def test_the_same_delivery_ten_times_at_once_gives_one_review(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo)
    delivery = hooks.pull_request(repo, pull, "opened")
    responses = await asyncio.gather(*(app.send(delivery, settle=False) for _ in range(10)))
    await app.settle()
    statuses = sorted(r.status for r in responses)
    assert statuses == [200] * 9 + [202]
    assert len(posted_reviews(fake)) == 1 and len(pull.reviews) == 1
    assert len(repo.check_runs) == 1 and len(bot_summaries(repo)) == 1
    metrics = app.runtime.metrics
    assert metrics.value("preflight_webhook_deliveries_total", outcome="duplicate") == 9


async def test_the_same_delivery_ten_times_in_sequence_gives_one_review(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo)
    delivery = hooks.pull_request(repo, pull, "opened")
    for _ in range(10):
        await app.send(delivery)
    assert len(posted_reviews(fake)) == 1 and len(repo.check_runs) == 1


async def test_two_pushes_in_quick_succession_review_only_the_newer_head(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo)
    older = fake.world.push(repo, pull, {"README.md": b"one\n"})
    first = hooks.pull_request(repo, pull, "synchronize", after=older)
    newer = fake.world.push(repo, pull, {"README.md": b"two\n"})
    second = hooks.pull_request(repo, pull, "synchronize", after=newer)
    await app.send(first, settle=False)
    await app.send(second)
    assert [review.commit_id for review in pull.reviews] == [newer]
    assert older not in {run.head_sha for run in repo.check_runs.values()}


async def test_a_review_in_flight_never_posts_after_a_newer_head_arrives(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo)
    older = pull.head_sha
    fake.fail("POST", "/graphql", 0, delay=0.5)  # the older head's run is slow to read state
    await app.send(hooks.pull_request(repo, pull, "opened"), settle=False)
    await asyncio.sleep(0.35)  # its run has started and waits on GitHub
    assert fake.calls("POST", "/graphql")
    newer = fake.world.push(repo, pull, {WF: open_ci_pull.__defaults__[0] + b"# more\n"})
    await app.send(hooks.pull_request(repo, pull, "synchronize", after=newer))
    assert [review.commit_id for review in pull.reviews] == [newer]
    runs = {run.head_sha: run for run in repo.check_runs.values()}
    assert runs[older].status == "completed"  # finished, not left in progress
    assert runs[newer].conclusion == "failure"


async def test_a_head_that_moved_without_a_webhook_is_found_before_posting(
    app, fake, repo, hooks, caplog
):
    pull = open_ci_pull(fake, repo)
    delivery = hooks.pull_request(repo, pull, "opened")
    older = pull.head_sha
    newer = fake.world.push(repo, pull, {"README.md": b"moved\n"})  # its webhook never comes
    caplog.set_level(logging.INFO)
    await app.send(delivery)
    assert [review.commit_id for review in pull.reviews] == [newer]
    assert any("head moved" in r.getMessage() for r in caplog.records)
    assert {run.head_sha for run in repo.check_runs.values()} == {older, newer}


async def test_a_spammed_command_runs_once_then_cools_down(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo, author="alice")
    deliveries = [
        hooks.issue_comment(repo, pull.number, "/preflight", login="alice") for _ in range(20)
    ]
    for delivery in deliveries:
        await app.send(delivery, settle=False)
    await app.settle()
    assert len(repo.check_runs) == 1 and len(pull.reviews) == 1
    reactions = [repo.issue_comments[d.payload["comment"]["id"]].reactions for d in deliveries]
    bot = fake.world.bot.login
    assert reactions[0] == [(bot, "eyes")]
    # Each other command got a reaction: absorbed by the queued review, or cooled down.
    assert all(r in ([(bot, "eyes")], [(bot, "confused")]) for r in reactions[1:])
    metrics = app.runtime.metrics
    assert metrics.value("preflight_commands_total", outcome="run") == 1
    assert (
        metrics.value("preflight_commands_total", outcome="cooled_down")
        + metrics.value("preflight_commands_total", outcome="absorbed")
        == 19
    )
    # Nothing but reactions was written for the 19.
    assert len(fake.calls("POST", r"/issues/\d+/comments$")) == 1  # the summary
    # The review is done; one more within the cool-down is not run either.
    late = hooks.issue_comment(repo, pull.number, "/preflight", login="alice")
    await app.send(late)
    assert len(repo.check_runs) == 1
    assert repo.issue_comments[late.payload["comment"]["id"]].reactions == [(bot, "confused")]


async def test_the_cool_down_is_configurable_and_ends(aiohttp_client, fake, repo, sample_rules):
    app = await start_app(aiohttp_client, fake, command_cooldown=0.3)
    hooks = Webhooks(fake, app.runtime.settings.webhook_secret)
    pull = open_ci_pull(fake, repo, author="alice")
    await app.send(hooks.issue_comment(repo, pull.number, "/preflight", login="alice"))
    await app.send(hooks.issue_comment(repo, pull.number, "/preflight", login="alice"))
    assert len(repo.check_runs) == 1
    await asyncio.sleep(0.35)
    await app.send(hooks.issue_comment(repo, pull.number, "/preflight", login="alice"))
    assert len(repo.check_runs) == 2


async def test_a_stranger_spamming_commands_gets_one_reply(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo, author="alice")
    for _ in range(5):
        await app.send(hooks.issue_comment(repo, pull.number, "/preflight help", login="mallory"))
    replies = [c for c in repo.issue_comments.values() if c.via_app]
    assert len(replies) == 1 and replies[0].body.startswith("Sorry @mallory")


async def test_shutdown_during_a_review_records_it_and_a_rerun_repairs_everything(
    aiohttp_client, fake, repo, sample_rules, caplog
):
    app = await start_app(aiohttp_client, fake, shutdown_timeout=0.3)
    hooks = Webhooks(fake, app.runtime.settings.webhook_secret)
    pull = open_ci_pull(fake, repo)
    delivery = hooks.pull_request(repo, pull, "opened")
    fake.fail("POST", "/graphql", 0, delay=1.0)  # the review is in flight when we stop
    await app.send(delivery, settle=False)
    await asyncio.sleep(0.2)
    started = asyncio.get_running_loop().time()
    await app.client.close()  # what SIGTERM does: aiohttp's shutdown, then our cleanup
    assert asyncio.get_running_loop().time() - started < 3
    (record,) = [r for r in caplog.records if "stopped by the shutdown" in r.getMessage()]
    assert delivery.id in record.getMessage() and "acme/widgets#1" in record.getMessage()
    # The check run is not left in progress: it says the check did not finish.
    (run,) = repo.check_runs.values()
    assert run.status == "completed" and run.conclusion == "neutral"
    assert pull.reviews == [] and bot_summaries(repo) == []

    # A new process gets the redelivery: one review, one summary, a finished check run.
    fake.faults.clear()
    again = await start_app(aiohttp_client, fake)
    response = await again.send(delivery)
    assert response.status == 202
    assert len(pull.reviews) == 1 and len(bot_summaries(repo)) == 1
    latest = max(repo.check_runs.values(), key=lambda r: r.id)
    assert latest.status == "completed" and latest.conclusion == "failure"
    # A second redelivery to the new process adds nothing.
    await again.send(hooks.pull_request(repo, pull, "reopened"))
    assert len(pull.reviews) == 1 and len(bot_summaries(repo)) == 1


async def test_deliveries_acknowledged_just_before_shutdown_are_run_or_recorded(
    aiohttp_client, fake, repo, sample_rules
):
    app = await start_app(aiohttp_client, fake, shutdown_timeout=10)
    hooks = Webhooks(fake, app.runtime.settings.webhook_secret)
    pulls = [open_ci_pull(fake, repo) for _ in range(3)]
    for pull in pulls:
        response = await app.send(hooks.pull_request(repo, pull, "opened"), settle=False)
        assert response.status == 202
    await app.client.close()  # before the intake even parsed them
    assert all(len(pull.reviews) == 1 for pull in pulls)

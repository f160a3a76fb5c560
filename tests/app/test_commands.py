"""`/preflight` in pull request comments: who may run it, and what it does."""

from __future__ import annotations

import pytest

from bot.commands import COMMAND_MARKER, Command, parse
from tests.app.test_review_flow import open_ci_pull


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/preflight", Command("review", "")),
        ("/preflight review", Command("review", "review")),
        ("  /preflight  Review\nplease", Command("review", "review")),
        ("/preflight help", Command("help", "help")),
        ("/preflight frobnicate now", Command("unknown", "frobnicate")),
        ("/preflightx", None),
        ("/preflight-ci", None),
        ("please run /preflight", None),
        ("> /preflight", None),
        ("```\n/preflight\n```", None),
        ("", None),
    ],
)
def test_parse(body, expected):
    assert parse(body) == expected


def reactions(repo, comment_id):
    return repo.issue_comments[comment_id].reactions


def bot_replies(repo):
    return [c for c in repo.issue_comments.values() if c.via_app and COMMAND_MARKER in c.body]


async def test_the_author_can_recheck(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo, author="alice")
    delivery = hooks.issue_comment(repo, pull.number, "/preflight", login="alice")
    response = await app.send(delivery)
    assert response.status == 202
    comment_id = delivery.payload["comment"]["id"]
    assert reactions(repo, comment_id) == [(fake.world.bot.login, "eyes")]
    # The comment payload has no SHAs: the PR is fetched, then reviewed.
    assert fake.calls("GET", r"/pulls/1$")
    assert fake.calls("GET", "/collaborators/") == []  # the author needs no permission check
    assert len(pull.reviews) == 1 and pull.reviews[0].commit_id == pull.head_sha


@pytest.mark.parametrize("role", ["write", "maintain", "admin"])
async def test_people_with_write_access_can_recheck(app, fake, repo, hooks, role):
    pull = open_ci_pull(fake, repo, author="alice")
    repo.collaborators["bob"] = role
    await app.send(
        hooks.issue_comment(
            repo, pull.number, "/preflight review", login="bob", author_association="NONE"
        )
    )
    assert fake.calls("GET", "/collaborators/bob/permission")
    assert len(pull.reviews) == 1


@pytest.mark.parametrize("role", ["read", "triage", None])
async def test_others_get_one_polite_reply_and_nothing_runs(app, fake, repo, hooks, role):
    pull = open_ci_pull(fake, repo, author="alice")
    if role:
        repo.collaborators["carol"] = role
    # author_association would say MEMBER; the permission API decides.
    delivery = hooks.issue_comment(
        repo, pull.number, "/preflight", login="carol", author_association="MEMBER"
    )
    await app.send(delivery)
    assert pull.reviews == [] and repo.check_runs == {}
    assert reactions(repo, delivery.payload["comment"]["id"]) == []
    (reply,) = bot_replies(repo)
    assert reply.body.startswith("Sorry @carol") and "write access" in reply.body


@pytest.mark.parametrize(
    "kwargs",
    [
        {"login": "renovate[bot]", "user_type": "Bot"},
        {"login": "preflight-test[bot]", "user_type": "Bot"},
        {"login": "preflight-test[bot]"},  # our own login even if typed User
        {"login": "alice", "via_app": {"id": 4242}},
    ],
    ids=["other-bot", "us", "our-login", "via-app"],
)
async def test_comments_by_bots_are_ignored(app, fake, repo, hooks, kwargs):
    pull = open_ci_pull(fake, repo, author="alice")
    fake.reset_calls()
    response = await app.send(hooks.issue_comment(repo, pull.number, "/preflight", **kwargs))
    assert response.status == 202  # acknowledged before it is read; then nothing to do
    assert fake.calls() == []


async def test_comments_on_plain_issues_are_ignored(app, fake, repo, hooks):
    fake.reset_calls()
    response = await app.send(hooks.issue_comment(repo, 5, "/preflight", on_pull=False))
    assert response.status == 202 and fake.calls() == []


async def test_edited_comments_and_other_text_are_ignored(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo, author="alice")
    fake.reset_calls()
    for delivery in (
        hooks.issue_comment(repo, pull.number, "/preflight", login="alice", action="edited"),
        hooks.issue_comment(repo, pull.number, "looks good", login="alice"),
    ):
        assert (await app.send(delivery)).status == 202
    assert fake.calls() == []


async def test_help_replies_with_the_commands(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo, author="alice")
    delivery = hooks.issue_comment(repo, pull.number, "/preflight help", login="alice")
    await app.send(delivery)
    (reply,) = bot_replies(repo)
    assert "`/preflight help`" in reply.body and "`/preflight review`" in reply.body
    assert pull.reviews == [] and repo.check_runs == {}
    assert reactions(repo, delivery.payload["comment"]["id"]) == [(fake.world.bot.login, "eyes")]


async def test_unknown_subcommands_get_the_help(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo, author="alice")
    await app.send(hooks.issue_comment(repo, pull.number, "/preflight frobnicate", login="alice"))
    (reply,) = bot_replies(repo)
    assert reply.body.startswith("`/preflight frobnicate` is not a command I know")
    assert "`/preflight help`" in reply.body


async def test_a_recheck_of_an_unchanged_head_adds_nothing(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo, author="alice")
    await app.send(hooks.pull_request(repo, pull, "opened"))
    fake.reset_calls()
    await app.send(hooks.issue_comment(repo, pull.number, "/preflight", login="alice"))
    assert fake.calls("POST", r"/reviews$") == []
    assert len(pull.reviews) == 1 and len(repo.check_runs) == 2


async def test_a_failed_reaction_does_not_stop_the_command(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo, author="alice")
    fake.fail("POST", "/reactions", 500)
    await app.send(hooks.issue_comment(repo, pull.number, "/preflight", login="alice"))
    assert len(pull.reviews) == 1

"""A pull request's review, from the signed webhook to what GitHub receives."""

from __future__ import annotations

import re

import pytest

from bot.review import FINGERPRINT_RE, SUMMARY_MARKER
from tests.app.conftest import CLEAN_WORKFLOW, WORKFLOW

WF = ".github/workflows/ci.yml"


def open_ci_pull(
    fake, repo, head_workflow: bytes = WORKFLOW, extra_base=None, extra_head=None, **kwargs
):
    base = {"README.md": b"hello\n", WF: CLEAN_WORKFLOW, **(extra_base or {})}
    head = {**base, WF: head_workflow, **(extra_head or {})}
    return fake.world.open_pull(repo, base, head, **kwargs)


def bot_summaries(repo):
    return [c for c in repo.issue_comments.values() if c.via_app and SUMMARY_MARKER in c.body]


def posted_reviews(fake):
    return fake.calls("POST", r"/pulls/\d+/reviews$")


async def test_opened_pull_request_gets_one_review_a_summary_and_a_check_run(
    app, fake, repo, hooks
):
    pull = open_ci_pull(fake, repo)
    response = await app.send(hooks.pull_request(repo, pull, "opened"))
    assert response.status == 202

    calls = [(r.method, re.sub(r"[0-9a-f]{40}|\d{4,}", "*", r.path)) for r in fake.calls()]
    assert calls == [
        ("GET", "/app"),
        ("POST", "/app/installations/77/access_tokens"),
        ("GET", "/repos/acme/widgets/pulls/1/files"),
        ("POST", "/repos/acme/widgets/check-runs"),
        ("GET", "/repos/acme/widgets/git/trees/*"),
        ("POST", "/graphql"),
        ("POST", "/repos/acme/widgets/pulls/1/reviews"),
        ("POST", "/repos/acme/widgets/issues/1/comments"),
        ("PATCH", "/repos/acme/widgets/check-runs/*"),
    ]
    # The workflow's text came with the state query, at the head sha.
    (state,) = fake.calls("POST", "/graphql")
    assert state.body["variables"]["f0"] == f"{pull.head_sha}:{WF}"

    (review_call,) = posted_reviews(fake)
    body = review_call.body
    assert body["event"] == "COMMENT"
    assert body["commit_id"] == pull.head_sha
    assert f"<!-- preflight:review sha={pull.head_sha} -->" in body["body"]
    (comment,) = body["comments"]
    assert comment["path"] == WF and comment["line"] == 6 and comment["side"] == "RIGHT"
    assert "start_line" not in comment  # a single line never sends start_line
    assert "```suggestion\n    runs-on: ubuntu-24.04\n```" in comment["body"]
    assert FINGERPRINT_RE.search(comment["body"])

    (summary,) = bot_summaries(repo)
    assert summary.body.startswith(SUMMARY_MARKER)
    assert "1 error" in summary.body

    (run,) = repo.check_runs.values()
    assert run.name == "Preflight" and run.head_sha == pull.head_sha
    assert run.external_id == str(pull.number)
    assert run.history[0]["status"] == "in_progress"
    assert run.status == "completed" and run.conclusion == "failure"
    (annotation,) = run.annotations
    assert annotation["path"] == WF and annotation["start_line"] == 6
    assert annotation["annotation_level"] == "failure"


async def test_a_new_delivery_of_the_same_head_posts_nothing_new(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, pull, "opened"))
    fake.reset_calls()
    # Not a redelivery (new id): e.g. a reopen, or the App restarted and lost its memory.
    await app.send(hooks.pull_request(repo, pull, "reopened"))
    assert posted_reviews(fake) == []
    assert fake.calls("POST", "/issues/1/comments") == []
    assert fake.calls("PATCH", "/issues/comments/") == []  # the summary is unchanged
    assert len(pull.reviews) == 1 and len(pull.threads) == 1
    assert len(repo.check_runs) == 2  # one check run per run


async def test_ten_redeliveries_give_one_review(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo)
    delivery = hooks.pull_request(repo, pull, "opened")
    statuses = [(await app.send(delivery)).status for _ in range(10)]
    assert statuses[0] == 202 and set(statuses[1:]) == {200}
    assert len(posted_reviews(fake)) == 1
    assert len(repo.check_runs) == 1


async def test_a_fix_commit_resolves_the_thread_and_clears_the_summary(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, pull, "opened"))
    fixed = fake.world.push(repo, pull, {WF: CLEAN_WORKFLOW.replace(b"make test", b"make all")})
    fake.reset_calls()
    await app.send(hooks.pull_request(repo, pull, "synchronize", after=fixed))

    assert posted_reviews(fake) == []
    (thread,) = pull.threads
    assert thread.is_resolved
    reply = fake.calls("POST", r"/pulls/1/comments/\d+/replies")
    assert len(reply) == 1 and fixed in reply[0].body["body"]
    mutation = [
        r for r in fake.calls("POST", "/graphql") if "resolveReviewThread" in r.body["query"]
    ]
    assert mutation[0].body["variables"] == {"thread": thread.id}
    (summary,) = bot_summaries(repo)
    assert "All clear" in summary.body
    run = max(repo.check_runs.values(), key=lambda r: r.id)
    assert run.head_sha == fixed and run.conclusion == "success"

    # Running again changes nothing: no second reply, nothing resolved twice.
    fake.reset_calls()
    await app.send(hooks.pull_request(repo, pull, "synchronize", after=fixed))
    assert fake.calls("POST", "/replies") == []
    assert [r for r in fake.calls("POST", "/graphql") if "mutation" in r.body["query"]] == []


async def test_a_thread_a_human_resolved_is_not_raised_again(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, pull, "opened"))
    (thread,) = pull.threads
    fake.world.resolve_thread(pull, thread.id, by="maintainer")
    moved = fake.world.push(repo, pull, {WF: b"# a comment moves every line\n" + WORKFLOW})
    fake.reset_calls()
    await app.send(hooks.pull_request(repo, pull, "synchronize", after=moved))
    assert posted_reviews(fake) == []
    assert fake.calls("POST", "/replies") == []
    assert len(pull.threads) == 1 and pull.threads[0].resolved_by.login == "maintainer"
    # The finding still counts: the check and the summary keep reporting it.
    run = max(repo.check_runs.values(), key=lambda r: r.id)
    assert run.conclusion == "failure"


async def test_a_finding_that_comes_back_after_we_resolved_it_is_raised_again(
    app, fake, repo, hooks
):
    pull = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, pull, "opened"))
    fixed = fake.world.push(repo, pull, {WF: CLEAN_WORKFLOW})
    await app.send(hooks.pull_request(repo, pull, "synchronize", after=fixed))
    broken = fake.world.push(repo, pull, {WF: WORKFLOW})
    fake.reset_calls()
    await app.send(hooks.pull_request(repo, pull, "synchronize", after=broken))
    assert len(posted_reviews(fake)) == 1
    assert [t.is_resolved for t in pull.threads] == [True, False]


async def test_fork_pull_requests_use_the_head_sha_never_the_branch(app, fake, repo, hooks):
    pull = open_ci_pull(
        fake, repo, head_repo="mallory/widgets", head_ref="patch-1", author="mallory"
    )
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert len(posted_reviews(fake)) == 1
    for call in fake.calls():
        seen = call.path + repr(call.query) + repr(call.body)
        assert "patch-1" not in seen and "mallory/widgets" not in seen, call
    assert all(c.path.startswith(("/repos/acme/widgets", "/app", "/graphql")) for c in fake.calls())


async def test_config_is_read_from_the_base_not_the_head(app, fake, repo, hooks):
    disabled = b"rules:\n  pinned-runner:\n    enabled: false\n"
    # The base disables the rule; the PR deletes the config: the rule stays off.
    pull = open_ci_pull(
        fake,
        repo,
        extra_base={".github/preflight.yml": disabled},
        extra_head={".github/preflight.yml": b"fail-level: error\n"},
    )
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert posted_reviews(fake) == []
    query = next(
        r for r in fake.calls("POST", "/graphql") if "PreflightPullState" in r.body["query"]
    )
    assert query.body["variables"]["config"] == f"{pull.base_sha}:.github/preflight.yml"


async def test_a_pull_request_cannot_switch_its_own_checks_off(app, fake, repo, hooks):
    disabled = b"rules:\n  pinned-runner:\n    enabled: false\n"
    pull = open_ci_pull(fake, repo, extra_head={".github/preflight.yml": disabled})
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert len(posted_reviews(fake)) == 1
    (summary,) = bot_summaries(repo)
    assert "applies after it is merged" in summary.body


async def test_an_invalid_base_config_falls_back_to_defaults_and_says_so(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo, extra_base={".github/preflight.yml": b"fail-level: loud\n"})
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert len(posted_reviews(fake)) == 1
    (summary,) = bot_summaries(repo)
    assert "is invalid" in summary.body and "fail-level" in summary.body


async def test_drafts_wait_until_ready(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo, draft=True)
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert repo.check_runs == {} and posted_reviews(fake) == []
    # Only the base config was looked at (to see whether drafts are wanted).
    (read,) = fake.calls("GET", "/contents/")
    assert read.query["ref"] == pull.base_sha
    pull.draft = False
    await app.send(hooks.pull_request(repo, pull, "ready_for_review"))
    assert len(posted_reviews(fake)) == 1


async def test_drafts_are_reviewed_when_the_config_asks(app, fake, repo, hooks):
    pull = open_ci_pull(
        fake, repo, draft=True, extra_base={".github/preflight.yml": b"review-drafts: true\n"}
    )
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert len(posted_reviews(fake)) == 1


async def test_edited_only_matters_when_the_base_changed(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo)
    response = await app.send(
        hooks.pull_request(repo, pull, "edited", changes={"title": {"from": "old"}})
    )
    assert response.status == 202 and fake.calls("GET", "/pulls/") == []
    response = await app.send(
        hooks.pull_request(repo, pull, "edited", changes={"base": {"ref": {"from": "dev"}}})
    )
    assert response.status == 202 and len(posted_reviews(fake)) == 1


async def test_a_pull_request_touching_no_ci_file_gets_only_a_successful_check_run(
    app, fake, repo, hooks
):
    pull = fake.world.open_pull(repo, {"src/a.py": b"a = 1\n"}, {"src/a.py": b"a = 2\n"})
    await app.send(hooks.pull_request(repo, pull, "opened"))
    writes = [c for c in fake.calls() if c.method != "GET" and "access_tokens" not in c.path]
    assert [(c.method, c.path) for c in writes] == [("POST", "/repos/acme/widgets/check-runs")]
    assert writes[0].body["conclusion"] == "success"
    assert fake.calls("GET", "/git/trees") == [] and fake.calls("POST", "/graphql") == []


async def test_clean_ci_files_get_no_review_and_no_summary(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo, head_workflow=CLEAN_WORKFLOW.replace(b"make", b"just"))
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert posted_reviews(fake) == [] and bot_summaries(repo) == []
    (run,) = repo.check_runs.values()
    assert run.conclusion == "success" and run.output["title"] == "All clear"


async def test_a_refused_inline_comment_falls_back_to_the_summary(app, fake, repo, hooks):
    fake.reject_comment = lambda comment: comment.get("line") == 6
    pull = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, pull, "opened"))
    first, second = posted_reviews(fake)
    assert first.status == 422 and len(first.body["comments"]) == 1
    assert second.status == 200 and second.body["comments"] == []
    assert pull.threads == []
    (summary,) = bot_summaries(repo)
    assert "Not on the changed lines" in summary.body and "refused 1 inline comment" in summary.body

    # The same head again: the review exists, so nothing is retried or posted twice.
    fake.reset_calls()
    await app.send(hooks.pull_request(repo, pull, "reopened"))
    assert posted_reviews(fake) == []
    assert len(pull.reviews) == 1


async def test_findings_outside_the_hunks_become_file_comments_once(app, fake, repo, hooks):
    long_tail = b"".join(b"      - run: echo %d\n" % i for i in range(30))
    base_wf = WORKFLOW + long_tail
    head_wf = base_wf + b"      - run: echo done\n"
    pull = fake.world.open_pull(repo, {WF: base_wf}, {WF: head_wf})
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert posted_reviews(fake) == []  # nothing could go inline
    (comment,) = fake.calls("POST", r"/pulls/1/comments$")
    assert comment.body["subject_type"] == "file" and comment.body["path"] == WF
    assert "line" not in comment.body
    fake.reset_calls()
    await app.send(hooks.pull_request(repo, pull, "reopened"))
    assert fake.calls("POST", r"/pulls/1/comments$") == []


async def test_inline_comments_are_capped_and_the_rest_summarised(
    aiohttp_client, fake, repo, hooks, sample_rules
):
    from tests.app.conftest import start_app

    app = await start_app(aiohttp_client, fake, max_inline_comments=2)
    jobs = b"".join(
        b"  job%d:\n    runs-on: ubuntu-latest\n    steps:\n      - run: x\n" % i for i in range(5)
    )
    workflow = b"on: push\njobs:\n" + jobs
    pull = fake.world.open_pull(repo, {"README.md": b"x\n"}, {"README.md": b"x\n", WF: workflow})
    await app.send(hooks.pull_request(repo, pull, "opened"))
    (review,) = posted_reviews(fake)
    assert len(review.body["comments"]) == 2
    (summary,) = bot_summaries(repo)
    assert summary.body.count("not in the diff") == 3


async def test_annotations_go_in_batches_of_fifty(app, fake, repo, hooks):
    jobs = b"".join(
        b"  job%d:\n    runs-on: ubuntu-latest\n    steps:\n      - run: x\n" % i for i in range(60)
    )
    pull = fake.world.open_pull(
        repo, {"README.md": b"x\n"}, {"README.md": b"x\n", WF: b"on: push\njobs:\n" + jobs}
    )
    await app.send(hooks.pull_request(repo, pull, "opened"))
    patches = fake.calls("PATCH", "/check-runs/")
    assert [len(p.body["output"].get("annotations", [])) for p in patches] == [50, 10]
    assert "status" not in patches[0].body and patches[1].body["status"] == "completed"
    (run,) = repo.check_runs.values()
    assert len(run.annotations) == 60 and run.conclusion == "failure"


async def test_a_file_over_one_megabyte_is_reported_not_fetched(app, fake, repo, hooks):
    huge = WORKFLOW + b"#" * (1024 * 1024)
    pull = open_ci_pull(fake, repo, head_workflow=huge)
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert fake.calls("GET", "/contents/") == []
    (summary,) = bot_summaries(repo)
    assert "1 MB" in summary.body and WF in summary.body
    run = next(iter(repo.check_runs.values()))
    assert run.status == "completed"


async def test_a_truncated_tree_is_said_in_the_summary(
    aiohttp_client, repo, hooks, fake, sample_rules
):
    from tests.app.conftest import start_app

    fake.tree_limit = 3
    app = await start_app(aiohttp_client, fake)
    pull = open_ci_pull(fake, repo, extra_base={f"src/f{i}.txt": b"x\n" for i in range(10)})
    await app.send(hooks.pull_request(repo, pull, "opened"))
    (summary,) = bot_summaries(repo)
    assert "truncated" in summary.body


async def test_an_added_workflow_is_read_from_its_patch(app, fake, repo, hooks):
    pull = fake.world.open_pull(repo, {"README.md": b"x\n"}, {"README.md": b"x\n", WF: WORKFLOW})
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert fake.calls("GET", "/contents/") == []
    assert len(posted_reviews(fake)) == 1


async def test_a_pending_review_of_ours_is_deleted_before_posting(app, fake, repo, hooks):
    from tests.fakegithub.state import Review

    pull = open_ci_pull(fake, repo)
    pull.reviews.append(Review(5, pull.number, fake.world.bot, "", "PENDING", pull.head_sha))
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert fake.calls("DELETE", "/reviews/5")
    assert [r.state for r in pull.reviews] == ["COMMENTED"]


async def test_a_github_error_while_posting_leaves_a_finished_check_run(
    aiohttp_client, fake, repo, hooks, sample_rules
):
    from tests.app.conftest import start_app

    app = await start_app(aiohttp_client, fake, retries=0, job_retries=0)
    fake.fail("POST", r"/pulls/\d+/reviews$", 502)
    pull = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert len(posted_reviews(fake)) == 1  # no retries allowed: the job gives up
    (run,) = repo.check_runs.values()
    assert run.status == "completed" and run.conclusion == "neutral"
    assert "/preflight" in run.output["summary"]
    # A retry later posts the review once.
    await app.send(hooks.pull_request(repo, pull, "reopened"))
    assert len(pull.reviews) == 1


async def test_reads_are_retried_on_5xx(app, fake, repo, hooks):
    fake.fail("GET", r"/pulls/\d+/files", 502)
    pull = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert [c.status for c in fake.calls("GET", "/files")] == [502, 200]
    assert len(pull.reviews) == 1


@pytest.mark.parametrize("event", ["installation", "installation_repositories"])
async def test_installation_events_are_logged_only(app, fake, repo, hooks, event, caplog):
    caplog.set_level("INFO")
    delivery = getattr(hooks, event)(repo)
    response = await app.send(delivery)
    assert response.status == 202
    assert [c for c in fake.calls() if c.path != "/app" and "access_tokens" not in c.path] == []
    assert any("acme/widgets" in r.getMessage() for r in caplog.records)


async def test_check_run_rerequested_rechecks_the_pull_request(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo, head_repo="mallory/widgets")
    await app.send(hooks.pull_request(repo, pull, "opened"))
    (run,) = repo.check_runs.values()
    fake.reset_calls()
    await app.send(hooks.check_run(repo, run.id))
    assert fake.calls("GET", r"/pulls/1$")  # the payload has no PR data for a fork
    assert len(repo.check_runs) == 2
    assert posted_reviews(fake) == []  # already reviewed; nothing new


async def test_check_runs_of_other_apps_or_names_are_ignored(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, pull, "opened"))
    (run,) = repo.check_runs.values()
    fake.reset_calls()
    for delivery in (
        hooks.check_run(repo, run.id, app_id=1),
        hooks.check_run(repo, run.id, name="lint"),
    ):
        response = await app.send(delivery)
        assert response.status == 202
    assert fake.calls() == []


async def test_github_enterprise_paths(aiohttp_client, repo, hooks, sample_rules):
    from tests.app.conftest import start_app
    from tests.fakegithub import FakeGitHub, Webhooks

    with FakeGitHub(prefix="/api/v3") as ghes:
        ghes_repo = ghes.world.add_repo("acme/widgets", installation_id=77)
        app = await start_app(aiohttp_client, ghes)
        pull = open_ci_pull(ghes, ghes_repo)
        hooks = Webhooks(ghes, app.runtime.settings.webhook_secret)
        await app.send(hooks.pull_request(ghes_repo, pull, "opened"))
        assert len(pull.reviews) == 1
        paths = {c.path for c in ghes.calls()}
        assert "/api/graphql" in paths
        assert all(p.startswith(("/repos/", "/app", "/api/graphql")) for p in paths)


async def test_files_the_base_config_ignores_are_never_fetched(app, fake, repo, hooks):
    config = b'ignore:\n  - ".github/workflows/vendored-*.yml"\n'
    vendored = ".github/workflows/vendored-x.yml"
    pull = open_ci_pull(
        fake,
        repo,
        extra_base={".github/preflight.yml": config},
        extra_head={vendored: WORKFLOW.replace(b"make test", b"make vendored")},
    )
    await app.send(hooks.pull_request(repo, pull, "opened"))
    # The config was not known before the state query, so nothing was read in it; the
    # workflow was read on its own, the ignored file not at all.
    (state,) = fake.calls("POST", "/graphql")
    assert not any(key.startswith("f") for key in state.body["variables"])
    assert [c.path.rsplit("/contents/", 1)[1] for c in fake.calls("GET", "/contents/")] == [WF]
    # Next push: the config's blob is known, so the workflow comes with the state query.
    pushed = fake.world.push(repo, pull, {WF: WORKFLOW.replace(b"make test", b"make check")})
    fake.reset_calls()
    await app.send(hooks.pull_request(repo, pull, "synchronize", after=pushed))
    (state,) = [c for c in fake.calls("POST", "/graphql") if "PullState" in c.body["query"]]
    assert state.body["variables"]["f0"] == f"{pushed}:{WF}" and "f1" not in state.body["variables"]
    assert fake.calls("GET", "/contents/") == []


async def test_a_burst_of_pushes_reviews_only_the_newest_head(app, fake, repo, hooks):
    pull = open_ci_pull(fake, repo)
    fake.fail("GET", "/files", 0, delay=0.3, times=-1)  # a slow GitHub: the first run lags
    heads = []
    for step in range(3):
        heads.append(fake.world.push(repo, pull, {"README.md": b"v%d\n" % step}))
        delivery = hooks.pull_request(repo, pull, "synchronize", after=heads[-1])
        assert (await app.send(delivery, settle=False)).status == 202
    await app.settle()
    # The middle push was replaced while it waited; the first, if it had started, finished
    # only its own check run; the review is for the newest head alone.
    checked = [run.head_sha for run in repo.check_runs.values()]
    assert heads[1] not in checked and checked[-1] == heads[-1]
    assert [review.commit_id for review in pull.reviews] == [heads[-1]]


async def test_threads_and_comments_past_the_first_page_are_seen(app, fake, repo, hooks):
    from bot.review import fingerprint_marker
    from tests.fakegithub.state import ReviewComment, Thread

    pull = open_ci_pull(fake, repo, head_workflow=CLEAN_WORKFLOW.replace(b"make", b"just"))
    with fake.lock:
        for index in range(130):  # old findings of ours, all gone now
            comment = ReviewComment(
                id=fake.world.new_id(),
                pull=pull.number,
                review_id=None,
                user=fake.world.bot,
                body=f"old finding\n\n{fingerprint_marker(f'{index:016x}')}",
                path=WF,
                commit_id=pull.head_sha,
                line=6,
                side="RIGHT",
                start_line=None,
                start_side=None,
                subject_type="line",
            )
            thread = Thread(f"PRRT_{comment.id}", pull.number, WF, [comment.id])
            comment.thread_id = thread.id
            pull.comments.append(comment)
            pull.threads.append(thread)
        for index in range(120):
            fake.world.human_issue_comment(repo, pull.number, "alice", f"comment {index}")
        summary = fake.world.human_issue_comment(repo, pull.number, "x", f"{SUMMARY_MARKER}\nold")
        summary.user = fake.world.bot
    await app.send(hooks.pull_request(repo, pull, "synchronize"))
    assert all(thread.is_resolved for thread in pull.threads)
    assert "All clear" in repo.issue_comments[summary.id].body  # found on the second page
    more = [c for c in fake.calls("POST", "/graphql") if "PreflightMore" in c.body["query"]]
    assert len(more) == 2  # one more page of threads, one of comments


async def test_the_installation_token_is_cached_and_refreshed_before_it_expires(
    app, fake, repo, hooks
):
    import asyncio

    fake.token_ttl = 3600
    first = open_ci_pull(fake, repo)
    second = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, first, "opened"))
    await app.send(hooks.pull_request(repo, second, "opened"))
    assert len(fake.calls("POST", "/access_tokens")) == 1  # one token for both reviews

    # A token close to its expiry is replaced before use (PyGithub refreshes under 20 s left).
    fake.token_ttl = 21
    app.runtime.github._installations.clear()
    third = open_ci_pull(fake, repo)
    await app.send(hooks.pull_request(repo, third, "opened"))
    # Wait until the newest token has under 20 s left, however long that review took (a slow
    # machine may already have refreshed the token during it).
    import time

    newest_expiry = max(e for _, e in fake.tokens.values() if e < time.time() + fake.token_ttl + 1)
    await asyncio.sleep(max(0.0, newest_expiry - 20 - time.time()) + 0.3)
    fake.reset_calls()
    await app.send(hooks.pull_request(repo, third, "reopened"))
    assert len(fake.calls("POST", "/access_tokens")) == 1
    assert all(c.status != 401 for c in fake.calls())

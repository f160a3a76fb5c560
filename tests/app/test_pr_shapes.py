"""Pull requests of unusual shapes, end to end: each is reviewed, or says what it could not do."""

from __future__ import annotations

from tests.app.conftest import CLEAN_WORKFLOW, WORKFLOW
from tests.app.test_review_flow import WF, bot_summaries, posted_reviews


async def test_three_thousand_changed_files(app, fake, repo, hooks):
    base = {f"src/f{i}.txt": b"a\n" for i in range(3000)}
    head = {**{path: b"b\n" for path in base}, WF: WORKFLOW}
    del head["src/f0.txt"]
    pull = fake.world.open_pull(repo, base, head)
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert len(fake.calls("GET", "/files")) == 31  # 3,000 files and the workflow, 100 a page
    assert len(pull.reviews) == 1
    (comment,) = posted_reviews(fake)[0].body["comments"]
    assert comment["path"] == WF


async def test_a_file_whose_patch_github_left_out(app, fake, repo, hooks):
    fake.max_patch_lines = 3  # GitHub drops `patch` for large diffs (and binary files)
    pull = fake.world.open_pull(repo, {"README.md": b"x\n"}, {"README.md": b"x\n", WF: WORKFLOW})
    await app.send(hooks.pull_request(repo, pull, "opened"))
    assert posted_reviews(fake) == []  # nothing can go inline without hunks
    (comment,) = fake.calls("POST", r"/pulls/\d+/comments$")
    assert comment.body["subject_type"] == "file" and comment.body["path"] == WF
    (run,) = repo.check_runs.values()
    assert run.conclusion == "failure"


async def test_a_renamed_workflow_is_checked_at_its_new_path(app, fake, repo, hooks):
    old = ".github/workflows/old.yml"
    pull = fake.world.open_pull(
        repo, {old: WORKFLOW}, {WF: WORKFLOW + b"# renamed\n"}, renames={WF: old}
    )
    await app.send(hooks.pull_request(repo, pull, "opened"))
    (run,) = repo.check_runs.values()
    assert run.conclusion == "failure"
    assert {a["path"] for a in run.annotations} == {WF}


async def test_a_deleted_workflow_and_a_pull_request_that_only_deletes(app, fake, repo, hooks):
    pull = fake.world.open_pull(repo, {"README.md": b"x\n", WF: WORKFLOW}, {})
    await app.send(hooks.pull_request(repo, pull, "opened"))
    (run,) = repo.check_runs.values()
    assert run.status == "completed" and run.conclusion == "success"
    assert posted_reviews(fake) == [] and bot_summaries(repo) == []
    assert fake.calls("GET", "/contents/") == []  # nothing read for a file that is gone


async def test_a_deleted_workflow_resolves_our_threads_on_it(app, fake, repo, hooks):
    pull = fake.world.open_pull(repo, {"README.md": b"x\n"}, {"README.md": b"x\n", WF: WORKFLOW})
    await app.send(hooks.pull_request(repo, pull, "opened"))
    removed = fake.world.push(repo, pull, {WF: None, ".github/workflows/b.yml": CLEAN_WORKFLOW})
    await app.send(hooks.pull_request(repo, pull, "synchronize", after=removed))
    (thread,) = pull.threads
    assert thread.is_resolved

"""The seed pull request through the real rules: the App posts the review the CLI prints."""

from __future__ import annotations

from pathlib import Path
import re

import pytest

from bot.review import SUMMARY_MARKER
from tests.app.conftest import start_app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seed-pr"


def tree_of(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def open_seed_pull(fake, repo):
    base = tree_of(EXAMPLE / "base")
    return fake.world.open_pull(
        repo, base, {**base, **tree_of(EXAMPLE / "pr")}, head_ref="add-arm-image-build"
    )


def no_sha(text: str) -> str:
    return re.sub(r"`[0-9a-f]{12}`", "`<sha>`", text)


@pytest.fixture
async def real_app(aiohttp_client, fake):
    if not (EXAMPLE / "pr").is_dir():
        pytest.skip("the seed example is not in this checkout")
    return await start_app(aiohttp_client, fake)


async def test_the_app_posts_what_preflight_review_prints(real_app, fake, repo, hooks, capsys):
    from bot.cli import main

    pull = open_seed_pull(fake, repo)
    response = await real_app.send(hooks.pull_request(repo, pull, "opened"))
    assert response.status == 202
    outcome = real_app.runtime.outcomes[-1]
    assert outcome.moved_to_summary == 0  # GitHub accepted every comment as placed
    assert outcome.inline >= 3 and outcome.conclusion == "failure"

    assert main(["demo", "--format", "markdown"]) == 0
    printed = no_sha(capsys.readouterr().out)
    (summary,) = [c for c in repo.issue_comments.values() if SUMMARY_MARKER in c.body]
    assert no_sha(summary.body).strip() in printed
    (review,) = pull.reviews
    for comment in pull.comments:
        assert comment.body.strip() in printed
        assert comment.review_id == review.id

    # A re-run on the same head adds nothing.
    fake.reset_calls()
    await real_app.send(hooks.pull_request(repo, pull, "reopened"))
    assert fake.calls("POST", r"/reviews$") == [] and fake.calls("PATCH", "/issues/comments") == []

"""Drive the real App (create_app with real settings) against the fake GitHub with signed
webhooks, then assert on what GitHub received."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from bot.app import create_app
from bot.runtime import RUNTIME
from bot.settings import Settings
from rules import registry
from tests.app import sample_rule
from tests.fakegithub import Delivery, FakeGitHub, Webhooks

SECRET = "It's a Secret to Everybody"
INSTALLATION = 77

WORKFLOW = b"""\
name: ci
on:
  pull_request:
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make test
"""

CLEAN_WORKFLOW = WORKFLOW.replace(b"ubuntu-latest", b"ubuntu-24.04")


def settings_for(fake: FakeGitHub, **overrides) -> Settings:
    values = dict(
        app_id=fake.app_id,
        private_key=fake.private_key,
        webhook_secret=SECRET,
        github_api_url=fake.url,
        request_delay=None,
        write_delay=None,
        retries=2,
        retry_backoff=0,  # the pauses' lengths are tested on RetryPolicy itself
        secondary_rate_wait=0,
        max_rate_limit_wait=5,
        job_retry_delay=0,
        shutdown_timeout=5,
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub() as server:
        yield server


@pytest.fixture
def repo(fake: FakeGitHub):
    return fake.world.add_repo("acme/widgets", installation_id=INSTALLATION)


@pytest.fixture
def hooks(fake: FakeGitHub) -> Webhooks:
    return Webhooks(fake, SECRET)


@pytest.fixture
def sample_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the sample rule runs, so each test knows its findings exactly."""
    monkeypatch.setattr(registry, "ALL", (sample_rule,))
    monkeypatch.setattr(registry, "BY_ID", {sample_rule.RULE.id: sample_rule})
    monkeypatch.setattr(registry, "IDS", (sample_rule.RULE.id,))


@pytest.fixture
async def app(aiohttp_client, fake: FakeGitHub, sample_rules):
    return await start_app(aiohttp_client, fake)


async def start_app(aiohttp_client, fake: FakeGitHub, **overrides):
    client = await aiohttp_client(create_app(settings_for(fake, **overrides)))
    runtime = client.app[RUNTIME]

    async def send(delivery: Delivery, *, settle: bool = True):
        response = await client.post(
            runtime.settings.webhook_path, data=delivery.body, headers=delivery.headers
        )
        if settle:
            await runtime.queue.join()
        return response

    async def settle() -> None:
        await runtime.queue.join()

    return SimpleNamespace(client=client, runtime=runtime, send=send, settle=settle)

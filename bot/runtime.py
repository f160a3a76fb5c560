"""What the running App shares between requests and jobs, kept in the aiohttp app's state."""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.github import AppIdentity, GitHubApp
from bot.jobs import JobQueue
from bot.metrics import Metrics
from bot.settings import Settings
from bot.snapshot import BlobCache


class DeliveryLog:
    """The last delivery ids seen. GitHub reuses the id when a delivery is redelivered, so a
    redelivery is acknowledged and not processed twice; bounded so it cannot grow forever."""

    def __init__(self, size: int = 10_000):
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def __contains__(self, delivery: str) -> bool:
        return delivery in self._seen

    def add(self, delivery: str) -> None:
        self._seen[delivery] = None
        self._seen.move_to_end(delivery)
        while len(self._seen) > self._size:
            self._seen.popitem(last=False)

    def forget(self, delivery: str) -> None:
        """A delivery whose work was not done: a redelivery of it must run again."""
        self._seen.pop(delivery, None)

    def __len__(self) -> int:
        return len(self._seen)


@dataclass(slots=True)
class Runtime:
    settings: Settings
    github: GitHubApp
    identity: AppIdentity
    queue: JobQueue
    deliveries: DeliveryLog = field(default_factory=DeliveryLog)
    blobs: BlobCache = field(default_factory=BlobCache)
    metrics: Metrics = field(default_factory=Metrics)
    # Slash-command bookkeeping: when a /preflight last ran a review of a PR, and when a
    # refusal was last sent to someone on it (both keep a spammed command quiet).
    command_runs: dict = field(default_factory=dict)
    command_refusals: dict = field(default_factory=dict)
    intake: Any = None  # bot.webhook.Intake, set at start-up
    # The last review outcomes, newest last (logs say the same; tests and benchmarks read it).
    outcomes: deque = field(default_factory=lambda: deque(maxlen=100))


SETTINGS = web.AppKey("preflight.settings", Settings)
RUNTIME = web.AppKey("preflight.runtime", Runtime)

"""Background work, one serial lane per pull request.

GitHub wants a webhook answered within seconds, so the webhook only enqueues a job. Jobs for
one pull request run one after the other (two reviews of one PR racing would post twice);
different pull requests run side by side up to a bound. A review still waiting in its lane is
replaced by a newer one for the same PR, and a review for a head that is no longer the PR's
head is dropped, because its result would be out of date before it is posted.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
import logging
import time

log = logging.getLogger(__name__)

PullKey = tuple[str, int]  # (repository full name, pull request number)


@dataclass(slots=True)
class Job:
    key: PullKey
    name: str
    work: Callable[[], Awaitable[None]]
    # The head the job was made for, when the webhook said; None when the job learns it.
    head_sha: str | None = None
    # Queued reviews of one PR collapse into the newest; commands and replies never do.
    coalesce: bool = False
    delivery: str = ""
    queued_at: float = field(default_factory=time.monotonic)


@dataclass(slots=True)
class _Lane:
    waiting: deque[Job] = field(default_factory=deque)
    task: asyncio.Task | None = None


@dataclass(slots=True)
class QueueStats:
    submitted: int = 0
    coalesced: int = 0
    stale: int = 0
    done: int = 0
    failed: int = 0
    dropped_on_shutdown: int = 0


class JobQueue:
    # Webhooks come first: GitHub waits for their answer, the jobs can wait a few milliseconds.
    # A job starts only once no delivery has arrived for QUIET seconds (or after MAX_HOLD),
    # so a burst of deliveries is acknowledged before background work competes for the CPU.
    QUIET = 0.02
    MAX_HOLD = 0.25

    def __init__(self, max_concurrent: int = 4):
        self._lanes: dict[PullKey, _Lane] = {}
        self._last_delivery = 0.0
        self._heads: dict[PullKey, str] = {}
        self._slots = asyncio.Semaphore(max_concurrent)
        self._closing = False
        self._idle = asyncio.Event()
        self._idle.set()
        self.stats = QueueStats()

    @property
    def accepting(self) -> bool:
        return not self._closing

    def note_head(self, key: PullKey, head_sha: str) -> None:
        """Remember the newest head GitHub told us about for a PR."""
        self._heads[key] = head_sha

    def is_current(self, key: PullKey, head_sha: str) -> bool:
        """False when a newer head of this PR is known: work for head_sha is out of date."""
        known = self._heads.get(key)
        return known is None or known == head_sha

    def touch(self) -> None:
        """A delivery arrived: let running lanes hold back for a moment."""
        self._last_delivery = time.monotonic()

    async def _wait_for_quiet(self) -> None:
        deadline = time.monotonic() + self.MAX_HOLD
        while (now := time.monotonic()) < deadline:
            remaining = self._last_delivery + self.QUIET - now
            if remaining <= 0:
                return
            await asyncio.sleep(remaining)

    def submit(self, job: Job) -> bool:
        """Queue a job in its PR's lane; False when shutting down."""
        if self._closing:
            return False
        self.stats.submitted += 1
        if job.head_sha:
            self.note_head(job.key, job.head_sha)
        lane = self._lanes.setdefault(job.key, _Lane())
        if job.coalesce:
            for index, waiting in enumerate(lane.waiting):
                if waiting.coalesce:
                    log.info(
                        "replacing queued %s with a newer one",
                        waiting.name,
                        extra={"delivery": job.delivery, "pull": _label(job.key)},
                    )
                    lane.waiting[index] = job
                    self.stats.coalesced += 1
                    break
            else:
                lane.waiting.append(job)
        else:
            lane.waiting.append(job)
        if lane.task is None:
            self._idle.clear()
            lane.task = asyncio.create_task(self._drain(job.key, lane), name=f"lane {job.key}")
        return True

    async def _drain(self, key: PullKey, lane: _Lane) -> None:
        try:
            while lane.waiting:
                job = lane.waiting.popleft()
                if job.head_sha and not self.is_current(key, job.head_sha):
                    self.stats.stale += 1
                    log.info(
                        "dropping %s for %s: the pull request has a newer head",
                        job.name,
                        job.head_sha[:12],
                        extra={"delivery": job.delivery, "pull": _label(key)},
                    )
                    continue
                async with self._slots:
                    await self._wait_for_quiet()
                    await self._run(job)
        finally:
            lane.task = None
            if not lane.waiting:
                self._lanes.pop(key, None)
            if not self._lanes:
                self._idle.set()

    async def _run(self, job: Job) -> None:
        started = time.monotonic()
        extra = {"delivery": job.delivery, "pull": _label(job.key)}
        try:
            await job.work()
        except asyncio.CancelledError:
            log.warning("%s cancelled", job.name, extra=extra)
            raise
        except Exception:
            self.stats.failed += 1
            log.exception("%s failed", job.name, extra=extra)
        else:
            self.stats.done += 1
            log.info(
                "%s done in %.0f ms", job.name, (time.monotonic() - started) * 1000, extra=extra
            )

    async def join(self) -> None:
        """Wait until every lane is empty (tests and benchmarks)."""
        await self._idle.wait()

    async def close(self, timeout: float) -> None:
        """Stop accepting, let queued and running jobs finish within timeout, cancel the rest."""
        self._closing = True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return
        except TimeoutError:
            pass
        for key, lane in list(self._lanes.items()):
            for job in lane.waiting:
                self.stats.dropped_on_shutdown += 1
                log.error(
                    "shutting down: %s was never run; redeliver the webhook to retry",
                    job.name,
                    extra={"delivery": job.delivery, "pull": _label(key)},
                )
            lane.waiting.clear()
            if lane.task is not None:
                lane.task.cancel()
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


def _label(key: PullKey) -> str:
    return f"{key[0]}#{key[1]}"

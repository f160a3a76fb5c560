"""Background work, one serial lane per pull request.

GitHub wants a webhook answered within seconds, so the webhook only enqueues a job. Jobs for
one pull request run one after the other (two reviews of one PR racing would post twice);
different pull requests run side by side up to a bound. A review still waiting in its lane is
replaced by a newer one for the same PR, and a review for a head that is no longer the PR's
head is dropped, because its result would be out of date before it is posted.

Nothing is dropped silently. A job that fails on a transient GitHub fault (its requests were
already retried) is queued again later, a bounded number of times with a growing delay; one
that GitHub asked to wait (a rate limit longer than we wait in place) is deferred by that long.
A job that still fails, or stops on a final answer (a pull request that went away), is logged
with its delivery id, repository, pull request and cause; a delivery that was not done is
forgotten by the dedupe log, so redelivering it from GitHub runs it again.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
import logging
import time

from bot.metrics import Metrics

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
    attempt: int = 0  # how many times it was queued again after failing

    def describe(self) -> str:
        where = f"{self.key[0]}#{self.key[1]}"
        return f"{self.name} of {where} (delivery {self.delivery or '-'})"


@dataclass(slots=True)
class _Lane:
    waiting: deque[Job] = field(default_factory=deque)
    task: asyncio.Task | None = None
    current: Job | None = None


@dataclass(slots=True)
class QueueStats:
    submitted: int = 0
    coalesced: int = 0
    stale: int = 0
    done: int = 0
    failed: int = 0
    dropped_on_shutdown: int = 0
    retried: int = 0
    deferred: int = 0
    stopped: int = 0
    interrupted: int = 0


class JobQueue:
    # Webhooks come first: GitHub waits for their answer, the jobs can wait a few milliseconds.
    # A job starts only once no delivery has arrived for QUIET seconds (or after MAX_HOLD),
    # so a burst of deliveries is acknowledged before background work competes for the CPU.
    QUIET = 0.02
    MAX_HOLD = 0.25
    MAX_KNOWN_HEADS = 10_000

    def __init__(
        self,
        max_concurrent: int = 4,
        *,
        metrics: Metrics | None = None,
        retries: int = 3,
        retry_delay: float = 60.0,
        on_not_done: Callable[[Job], None] | None = None,
    ):
        self.metrics = metrics or Metrics()
        self.retries = retries
        self.retry_delay = retry_delay
        # Called with every job that will not be done (given up, dropped at shutdown).
        self.on_not_done = on_not_done
        self._scheduled: dict[int, tuple[asyncio.TimerHandle, Job]] = {}
        self._lanes: dict[PullKey, _Lane] = {}
        self._last_delivery = 0.0
        # Bounded: a PR forgotten here is only checked against GitHub's head before posting.
        self._heads: OrderedDict[PullKey, str] = OrderedDict()
        self._slots = asyncio.Semaphore(max_concurrent)
        self._closing = False
        self._held = 0  # deliveries accepted but not yet routed (see bot.webhook.Intake)
        self._idle = asyncio.Event()
        self._idle.set()
        self.stats = QueueStats()

    @property
    def accepting(self) -> bool:
        return not self._closing

    def note_head(self, key: PullKey, head_sha: str) -> None:
        """Remember the newest head GitHub told us about for a PR."""
        self._heads[key] = head_sha
        self._heads.move_to_end(key)
        while len(self._heads) > self.MAX_KNOWN_HEADS:
            self._heads.popitem(last=False)

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

    def busy(self, key: PullKey) -> bool:
        """Whether a review of this PR is running or waiting in its lane."""
        lane = self._lanes.get(key)
        if lane is None:
            return False
        running = lane.current is not None and lane.current.coalesce
        return running or any(job.coalesce for job in lane.waiting)

    def _count(self, outcome: str) -> None:
        self.metrics.inc("preflight_jobs_total", outcome=outcome)

    def submit(self, job: Job, *, again: bool = False) -> bool:
        """Queue a job in its PR's lane; False when shutting down. `again`: a job queued
        again after a failure, older than anything that arrived meanwhile."""
        if self._closing:
            return False
        self.stats.submitted += 1
        if job.head_sha and not again:
            self.note_head(job.key, job.head_sha)
        lane = self._lanes.setdefault(job.key, _Lane())
        if again and job.coalesce and any(waiting.coalesce for waiting in lane.waiting):
            # A newer review of this PR is already waiting: it does the same work, later.
            self.stats.coalesced += 1
            self._count("coalesced")
            if lane.task is None and not lane.waiting:
                self._lanes.pop(job.key, None)
            return True
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
                    self._count("coalesced")
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
                    self._count("stale")
                    log.info(
                        "dropping %s for %s: the pull request has a newer head",
                        job.name,
                        job.head_sha[:12],
                        extra={"delivery": job.delivery, "pull": _label(key)},
                    )
                    continue
                async with self._slots:
                    await self._wait_for_quiet()
                    lane.current = job
                    try:
                        await self._run(job)
                    finally:
                        lane.current = None
        finally:
            lane.task = None
            if not lane.waiting:
                self._lanes.pop(key, None)
            self._maybe_idle()

    def _maybe_idle(self) -> None:
        if not self._lanes and not self._scheduled and not self._held:
            self._idle.set()

    def hold(self) -> None:
        """Work is on its way (an accepted delivery not yet routed): not idle until release."""
        self._held += 1
        self._idle.clear()

    def release(self) -> None:
        self._held -= 1
        self._maybe_idle()

    async def wait_for_quiet(self) -> None:
        """Return once no delivery has arrived for QUIET seconds (or after MAX_HOLD)."""
        await self._wait_for_quiet()

    async def _run(self, job: Job) -> None:
        started = time.monotonic()
        extra = {"delivery": job.delivery, "pull": _label(job.key)}
        try:
            await job.work()
        except asyncio.CancelledError:
            self.stats.interrupted += 1
            self._count("interrupted")
            log.error(
                "%s was stopped by the shutdown before it finished; redeliver the webhook "
                "(or comment /preflight) to run it again",
                job.describe(),
                extra=extra,
            )
            self._not_done(job)
            raise
        except Exception as exc:
            self._failed(job, exc, extra)
        else:
            self.stats.done += 1
            self._count("done")
            log.info(
                "%s done in %.0f ms", job.name, (time.monotonic() - started) * 1000, extra=extra
            )

    def _failed(self, job: Job, exc: Exception, extra: dict[str, str]) -> None:
        retry_after = getattr(exc, "retry_after", None)
        transient = bool(getattr(exc, "transient", False))
        if self._closing:
            self.stats.interrupted += 1
            self._count("interrupted")
            log.error(
                "%s was not finished before the shutdown (%s); redeliver the webhook to run it "
                "again",
                job.describe(),
                exc,
                extra=extra,
            )
            self._not_done(job)
        elif (transient or retry_after is not None) and job.attempt < self.retries:
            if retry_after is not None:
                delay = float(retry_after)
                self.stats.deferred += 1
                self._count("deferred")
                self.metrics.inc("preflight_deferrals_total", reason="rate_limit")
                log.warning(
                    "%s deferred: GitHub asked us to wait (%s); queued again in %.0f s",
                    job.describe(),
                    exc,
                    delay,
                    extra=extra,
                )
            else:
                delay = self.retry_delay * 2**job.attempt
                self.stats.retried += 1
                self._count("retried")
                self.metrics.inc("preflight_retries_total", reason="job")
                log.warning(
                    "%s failed (%s); queued again in %.0f s (try %d of %d)",
                    job.describe(),
                    exc,
                    delay,
                    job.attempt + 2,
                    self.retries + 1,
                    extra=extra,
                )
            self._schedule(replace(job, attempt=job.attempt + 1), delay)
        elif transient or retry_after is not None:
            self._give_up(job, exc, extra)
        elif hasattr(exc, "status"):
            # A final answer from GitHub (404, 410, 422, a permission): trying again cannot help.
            self.stats.stopped += 1
            self._count("stopped")
            log.warning("%s stopped: %s", job.describe(), exc, extra=extra)
        else:
            self.stats.failed += 1
            self._count("failed")
            self.metrics.inc("preflight_failures_total", cause=type(exc).__name__)
            log.exception("%s failed: %s", job.describe(), exc, extra=extra)
            self._not_done(job)

    def _give_up(self, job: Job, exc: Exception, extra: dict[str, str]) -> None:
        self.stats.failed += 1
        self._count("failed")
        self.metrics.inc("preflight_failures_total", cause=type(exc).__name__)
        log.error(
            "%s failed after %d tries, giving up: %s; redeliver the webhook or comment "
            "/preflight to run it again",
            job.describe(),
            job.attempt + 1,
            exc,
            extra=extra,
        )
        self._not_done(job)

    def _not_done(self, job: Job) -> None:
        if self.on_not_done is not None:
            self.on_not_done(job)

    def _schedule(self, job: Job, delay: float) -> None:
        loop = asyncio.get_running_loop()
        token = id(job)
        handle = loop.call_later(max(0.0, delay), self._due, token)
        self._scheduled[token] = (handle, job)
        self._idle.clear()

    def _due(self, token: int) -> None:
        _, job = self._scheduled.pop(token)
        if self._closing:
            self._dropped(job)
        elif job.head_sha and not self.is_current(job.key, job.head_sha):
            self.stats.stale += 1
            self._count("stale")
        else:
            self.submit(job, again=True)
        self._maybe_idle()

    def _dropped(self, job: Job) -> None:
        self.stats.dropped_on_shutdown += 1
        self._count("dropped")
        log.error(
            "shutting down: %s was never run; redeliver the webhook to retry",
            job.describe(),
            extra={"delivery": job.delivery, "pull": _label(job.key)},
        )
        self._not_done(job)

    @property
    def scheduled(self) -> list[Job]:
        """Jobs waiting to be queued again (after a failure or a rate limit)."""
        return [job for _, job in self._scheduled.values()]

    async def join(self) -> None:
        """Wait until every lane is empty (tests and benchmarks)."""
        await self._idle.wait()

    async def close(
        self, timeout: float, *, before_cancel: Callable[[], None] | None = None
    ) -> None:
        """Stop accepting, let queued and running jobs finish within timeout, cancel the rest
        (calling before_cancel first, e.g. to cut the GitHub client's pauses short)."""
        self._closing = True
        for handle, job in list(self._scheduled.values()):
            handle.cancel()
            self._dropped(job)
        self._scheduled.clear()
        self._maybe_idle()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return
        except TimeoutError:
            pass
        if before_cancel is not None:
            before_cancel()
        for lane in list(self._lanes.values()):
            for job in lane.waiting:
                self._dropped(job)
            lane.waiting.clear()
            if lane.task is not None:
                lane.task.cancel()
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


def _label(key: PullKey) -> str:
    return f"{key[0]}#{key[1]}"

"""The per-PR job queue: serial per PR, parallel across PRs, coalescing, stale heads, drain."""

from __future__ import annotations

import asyncio

from bot.jobs import Job, JobQueue


def recorder(log: list, name: str, delay: float = 0.0, gate: asyncio.Event | None = None):
    async def work() -> None:
        log.append(("start", name))
        if gate is not None:
            await gate.wait()
        await asyncio.sleep(delay)
        log.append(("end", name))

    return work


async def test_jobs_of_one_pull_request_run_one_after_the_other():
    queue, log = JobQueue(), []
    for name in ("a", "b", "c"):
        queue.submit(Job(("o/r", 1), name, recorder(log, name, 0.01)))
    await queue.join()
    assert log == [
        ("start", "a"),
        ("end", "a"),
        ("start", "b"),
        ("end", "b"),
        ("start", "c"),
        ("end", "c"),
    ]


async def test_different_pull_requests_run_side_by_side():
    queue, log = JobQueue(max_concurrent=4), []
    gate = asyncio.Event()
    queue.submit(Job(("o/r", 1), "one", recorder(log, "one", gate=gate)))
    queue.submit(Job(("o/r", 2), "two", recorder(log, "two", gate=gate)))
    await asyncio.sleep(0.01)
    assert sorted(log) == [("start", "one"), ("start", "two")]
    gate.set()
    await queue.join()


async def test_the_concurrency_bound_holds():
    queue, log = JobQueue(max_concurrent=1), []
    gate = asyncio.Event()
    queue.submit(Job(("o/r", 1), "one", recorder(log, "one", gate=gate)))
    queue.submit(Job(("o/r", 2), "two", recorder(log, "two")))
    await asyncio.sleep(0.01)
    assert log == [("start", "one")]
    gate.set()
    await queue.join()
    assert log[-1] == ("end", "two")


async def test_queued_reviews_of_one_pull_request_collapse_into_the_newest():
    queue, log = JobQueue(), []
    gate = asyncio.Event()
    queue.submit(Job(("o/r", 1), "running", recorder(log, "running", gate=gate), coalesce=True))
    await asyncio.sleep(0)
    for name in ("r1", "r2", "r3"):
        queue.submit(Job(("o/r", 1), name, recorder(log, name), coalesce=True))
    queue.submit(Job(("o/r", 1), "reply", recorder(log, "reply")))  # never collapsed
    gate.set()
    await queue.join()
    assert [name for what, name in log if what == "start"] == ["running", "r3", "reply"]
    assert queue.stats.coalesced == 2


async def test_a_job_for_an_old_head_is_dropped():
    queue, log = JobQueue(), []
    gate = asyncio.Event()
    queue.submit(Job(("o/r", 1), "busy", recorder(log, "busy", gate=gate)))
    queue.submit(Job(("o/r", 1), "old", recorder(log, "old"), head_sha="a" * 40))
    queue.note_head(("o/r", 1), "b" * 40)  # a push arrived meanwhile
    gate.set()
    await queue.join()
    assert ("start", "old") not in log
    assert queue.stats.stale == 1
    assert not queue.is_current(("o/r", 1), "a" * 40)
    assert queue.is_current(("o/r", 1), "b" * 40)
    assert queue.is_current(("o/r", 2), "a" * 40)  # unknown PRs are current


async def test_a_failing_job_does_not_stop_its_lane():
    queue, log = JobQueue(), []

    async def boom() -> None:
        raise RuntimeError("boom")

    queue.submit(Job(("o/r", 1), "boom", boom))
    queue.submit(Job(("o/r", 1), "after", recorder(log, "after")))
    await queue.join()
    assert log == [("start", "after"), ("end", "after")]
    assert queue.stats.failed == 1 and queue.stats.done == 1


async def test_close_finishes_queued_work_within_the_bound():
    queue, log = JobQueue(), []
    queue.submit(Job(("o/r", 1), "a", recorder(log, "a", 0.02)))
    queue.submit(Job(("o/r", 1), "b", recorder(log, "b", 0.02)))
    await queue.close(timeout=5)
    assert log[-1] == ("end", "b")
    assert not queue.submit(Job(("o/r", 1), "late", recorder(log, "late")))
    assert not queue.accepting


async def test_close_cancels_what_does_not_finish_in_time():
    queue, log = JobQueue(), []
    queue.submit(Job(("o/r", 1), "slow", recorder(log, "slow", 10)))
    queue.submit(Job(("o/r", 1), "never", recorder(log, "never")))
    loop = asyncio.get_running_loop()
    started = loop.time()
    await queue.close(timeout=0.1)
    assert loop.time() - started < 2
    assert log == [("start", "slow")]
    assert queue.stats.dropped_on_shutdown == 1


async def test_jobs_wait_while_deliveries_keep_arriving():
    queue, log = JobQueue(), []
    queue.QUIET, queue.MAX_HOLD = 0.3, 10.0  # wide margins: the test must not race the clock
    loop = asyncio.get_running_loop()
    queue.touch()
    started = loop.time()
    queue.submit(Job(("o/r", 1), "a", recorder(log, "a")))
    for _ in range(5):  # a burst: each delivery pushes the start back
        await asyncio.sleep(0.03)
        queue.touch()
        assert log == []
    await queue.join()
    assert loop.time() - started >= 0.15 + 0.3
    assert log == [("start", "a"), ("end", "a")]


async def test_a_steady_stream_of_deliveries_cannot_starve_the_jobs():
    queue, log = JobQueue(), []
    queue.MAX_HOLD = 0.2
    loop = asyncio.get_running_loop()
    queue.submit(Job(("o/r", 1), "a", recorder(log, "a")))
    started = loop.time()
    while not log:
        queue.touch()
        await asyncio.sleep(0.001)
        assert loop.time() - started < queue.MAX_HOLD + 0.5
    await queue.join()


async def test_the_memory_of_known_heads_is_bounded(monkeypatch):
    monkeypatch.setattr(JobQueue, "MAX_KNOWN_HEADS", 3)
    queue = JobQueue()
    for number in range(1, 6):
        queue.note_head(("o/r", number), f"sha{number}")
    queue.note_head(("o/r", 3), "sha3-new")  # touched: now the most recent
    queue.note_head(("o/r", 6), "sha6")
    assert not queue.is_current(("o/r", 3), "sha3")
    assert not queue.is_current(("o/r", 6), "old")
    # The oldest PRs were forgotten: their work is no longer judged stale here.
    assert queue.is_current(("o/r", 1), "anything")
    assert queue.is_current(("o/r", 4), "anything")

"""POST {WEBHOOK_PATH}: verify, acknowledge, and leave the rest for later.

GitHub gives a delivery 10 seconds and never redelivers by itself, and a burst of deliveries
(a push to many pull requests, a bulk relabel) arrives at once, so the answer must cost as
little as possible. Before answering, the handler does only what decides the answer: the size
limit, the HMAC-SHA256 over the raw bytes in constant time, the delivery id against the dedupe
log, a structural check that the body is a JSON object (its first and last non-blank bytes are
braces), and for the events the App uses, the JSON parse itself (about 0.1 ms for a typical
payload; in a worker thread past 1 MiB), so that malformed JSON is answered 400, not 202 and
then dropped. Then it puts the payload in the `Intake` and answers `202`.

The `Intake` routes deliveries in arrival order once the burst is over (no delivery for
`JobQueue.QUIET` seconds). A payload without a field a handler needs cannot come from GitHub;
it is dropped with a log line naming the delivery and counted in /metrics
(`preflight_webhook_payloads_total{outcome="unusable"}`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
import hashlib
import hmac
import json
import logging
import re
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot import events
from bot.metrics import event_label
from bot.runtime import RUNTIME

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

MAX_BODY = 25 * 1024 * 1024  # GitHub never delivers a payload over 25 MB
_SIGNATURE_RE = re.compile(r"sha256=([0-9a-f]{64})")
# A body this large is parsed in a worker thread, so the event loop keeps answering.
_PARSE_IN_THREAD = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Event:
    name: str  # X-GitHub-Event
    action: str | None
    delivery: str  # X-GitHub-Delivery
    payload: dict[str, Any]


def signature_matches(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether header is `sha256=<hex HMAC-SHA256 of body>`; a missing, malformed or SHA-1
    header never matches. The comparison takes the same time wherever the first difference is."""
    if not header:
        return False
    match = _SIGNATURE_RE.fullmatch(header.strip())
    if match is None:
        return False
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, match.group(1))


def looks_like_object(body: bytes) -> bool:
    """The cheap structural check: the first and last non-blank bytes are braces."""
    stripped = body.strip()
    return stripped[:1] == b"{" and stripped[-1:] == b"}"


def _answer(status: int, message: str) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps({"message": message}).encode(),
        content_type="application/json",
    )


_ACCEPTED = json.dumps({"message": "accepted"}).encode()


async def handle_webhook(request: web.Request) -> web.Response:
    runtime = request.app.get(RUNTIME)
    if runtime is None:
        return _answer(503, "starting up")
    name = request.headers.get("X-GitHub-Event", "")
    metrics = runtime.metrics
    label = event_label(name)

    def answer(status: int, outcome: str, message: str) -> web.Response:
        metrics.inc("preflight_webhook_deliveries_total", event=label, outcome=outcome)
        return _answer(status, message)

    if request.content_length is not None and request.content_length > MAX_BODY:
        return answer(413, "too_large", "payload too large")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return answer(413, "too_large", "payload too large")
    if not signature_matches(
        runtime.settings.webhook_secret.encode(), body, request.headers.get("X-Hub-Signature-256")
    ):
        log.warning("rejected a webhook with a missing or wrong signature")
        return answer(401, "rejected", "signature does not match")
    runtime.queue.touch()  # only a genuine delivery may hold background work back
    delivery = request.headers.get("X-GitHub-Delivery", "")
    if not name or not delivery:
        return answer(400, "malformed", "X-GitHub-Event and X-GitHub-Delivery are required")
    if not looks_like_object(body):
        return answer(400, "malformed", "the body is not a JSON object")
    if name == "ping":
        log.info("ping", extra={"delivery": delivery})
        return answer(200, "ping", "pong")
    if delivery in runtime.deliveries:
        log.info("delivery already handled", extra={"delivery": delivery, "event": name})
        return answer(200, "duplicate", "already handled")
    if not runtime.queue.accepting:
        return answer(503, "unavailable", "shutting down")
    if name not in events.EVENTS:
        runtime.deliveries.add(delivery)
        return answer(200, "ignored", f"{label} events are not used")
    try:
        if len(body) > _PARSE_IN_THREAD:
            payload = await asyncio.to_thread(json.loads, body)
        else:
            payload = json.loads(body)
    except (ValueError, RecursionError):
        return answer(400, "malformed", "the body is not valid JSON")
    if not isinstance(payload, dict):
        return answer(400, "malformed", "the body is not a JSON object")
    runtime.deliveries.add(delivery)
    runtime.intake.put(name, delivery, payload)
    metrics.inc("preflight_webhook_deliveries_total", event=label, outcome="accepted")
    return web.Response(status=202, body=_ACCEPTED, content_type="application/json")


class Intake:
    """Accepted deliveries, in arrival order, parsed and routed once deliveries stop arriving."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self._pending: deque[tuple[str, str, dict[str, Any]]] = deque()
        self._task: asyncio.Task | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def put(self, name: str, delivery: str, payload: dict[str, Any]) -> None:
        self._pending.append((name, delivery, payload))
        self.runtime.queue.hold()
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="webhook intake")

    async def _drain(self, *, wait: bool = True) -> None:
        try:
            while self._pending:
                if wait:
                    await self.runtime.queue.wait_for_quiet()
                while self._pending:
                    name, delivery, payload = self._pending.popleft()
                    try:
                        await self._process(name, delivery, payload)
                    except Exception:
                        # A bug in a handler must not stall the deliveries behind this one.
                        log.exception(
                            "could not route delivery %s", delivery, extra={"delivery": delivery}
                        )
                    finally:
                        self.runtime.queue.release()
        finally:
            self._task = None

    async def flush(self) -> None:
        """Route everything still pending now (shutdown): no waiting for quiet."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self._drain(wait=False)

    async def _process(self, name: str, delivery: str, payload: dict[str, Any]) -> None:
        runtime = self.runtime
        label = event_label(name)
        extra = {"delivery": delivery, "event": name}

        def count(outcome: str) -> None:
            runtime.metrics.inc("preflight_webhook_payloads_total", event=label, outcome=outcome)

        event = Event(name, payload.get("action"), delivery, payload)
        try:
            jobs = events.route(event, runtime)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # A payload missing a field we rely on: GitHub never sends one; say so and move on.
            log.warning(
                "dropped delivery %s: unusable %s payload (%r)", delivery, name, exc, extra=extra
            )
            count("unusable")
            return
        if not jobs:
            count("nothing_to_do")
            return
        count("queued")
        for job in jobs:
            if not runtime.queue.submit(job):
                log.error(
                    "%s was not queued: the App is shutting down; redeliver the webhook to run it",
                    job.describe(),
                    extra=extra,
                )
                runtime.deliveries.forget(delivery)

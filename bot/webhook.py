"""POST {WEBHOOK_PATH}: verify, acknowledge, enqueue.

The signature is checked over the raw bytes before anything is parsed, in constant time. The
answer comes at once (GitHub gives up after 10 s and never redelivers by itself); the work
runs in the background job queue.
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import hmac
import json
import logging
import re
from typing import Any

from aiohttp import web

from bot import events
from bot.runtime import RUNTIME

log = logging.getLogger(__name__)

MAX_BODY = 25 * 1024 * 1024  # GitHub never delivers a payload over 25 MB
_SIGNATURE_RE = re.compile(r"sha256=([0-9a-f]{64})")


@dataclass(frozen=True, slots=True)
class Event:
    name: str  # X-GitHub-Event
    action: str | None
    delivery: str  # X-GitHub-Delivery
    payload: dict[str, Any]


def signature_matches(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether header is `sha256=<hex HMAC-SHA256 of body>`; a missing, malformed or SHA-1
    header never matches."""
    if not header:
        return False
    match = _SIGNATURE_RE.fullmatch(header.strip())
    if match is None:
        return False
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, match.group(1))


def _answer(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"message": message, **extra}, status=status)


async def handle_webhook(request: web.Request) -> web.Response:
    runtime = request.app.get(RUNTIME)
    if runtime is None:
        return _answer(503, "starting up")
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _answer(413, "payload too large")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _answer(413, "payload too large")
    if not signature_matches(
        runtime.settings.webhook_secret.encode(), body, request.headers.get("X-Hub-Signature-256")
    ):
        log.warning("rejected a webhook with a missing or wrong signature")
        return _answer(401, "signature does not match")
    runtime.queue.touch()  # only a genuine delivery may hold background work back
    name = request.headers.get("X-GitHub-Event", "")
    delivery = request.headers.get("X-GitHub-Delivery", "")
    if not name or not delivery:
        return _answer(400, "X-GitHub-Event and X-GitHub-Delivery are required")
    try:
        payload = json.loads(body)
    except ValueError:
        return _answer(400, "the body is not JSON")
    if not isinstance(payload, dict):
        return _answer(400, "the body is not a JSON object")
    if name == "ping":
        log.info("ping: %s", payload.get("zen", ""), extra={"delivery": delivery})
        return _answer(200, "pong")
    if delivery in runtime.deliveries:
        log.info("delivery already handled", extra={"delivery": delivery, "event": name})
        return _answer(200, "already handled")
    if not runtime.queue.accepting:
        return _answer(503, "shutting down")
    event = Event(name, payload.get("action"), delivery, payload)
    try:
        jobs = events.route(event, runtime)
    except (KeyError, TypeError, ValueError) as exc:
        # A payload missing a field we rely on: say so, and do not make GitHub retry it.
        log.warning("unusable %s payload: %r", name, exc, extra={"delivery": delivery})
        runtime.deliveries.add(delivery)
        return _answer(400, f"unusable {name} payload")
    runtime.deliveries.add(delivery)
    if not jobs:
        return _answer(200, "nothing to do")
    for job in jobs:
        runtime.queue.submit(job)
    return _answer(202, "accepted", jobs=[job.name for job in jobs])

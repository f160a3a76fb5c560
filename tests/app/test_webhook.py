"""The webhook endpoint: signature first, then parsing, then a fast answer."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from bot.webhook import MAX_BODY, signature_matches
from tests.app.conftest import SECRET
from tests.fakegithub.webhooks import sign


def test_signature_matches_githubs_documented_test_vector():
    secret = b"It's a Secret to Everybody"
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature_matches(secret, b"Hello, World!", header)
    assert not signature_matches(secret, b"Hello, World?", header)
    assert not signature_matches(b"another secret", b"Hello, World!", header)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha256=xyz",
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "sha1=" + hmac.new(b"It's a Secret to Everybody", b"Hello, World!", "sha1").hexdigest(),
        "SHA256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17",
    ],
)
def test_missing_malformed_or_sha1_signatures_never_match(header):
    assert not signature_matches(b"It's a Secret to Everybody", b"Hello, World!", header)


async def post(app, body: bytes, headers: dict[str, str]):
    return await app.client.post(app.runtime.settings.webhook_path, data=body, headers=headers)


def headers_for(body: bytes, event: str = "pull_request", **extra: str) -> dict[str, str]:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": "d-1",
        "X-Hub-Signature-256": sign(SECRET, body),
        "Content-Type": "application/json",
        **extra,
    }


@pytest.mark.parametrize(
    "mangle",
    [
        lambda h: h.pop("X-Hub-Signature-256"),
        lambda h: h.update({"X-Hub-Signature-256": "sha256=" + "0" * 64}),
        lambda h: h.update({"X-Hub-Signature-256": sign("wrong secret", b"{}")}),
        lambda h: h.update({"X-Hub-Signature-256": "sha256=abc"}),
        lambda h: (
            h.pop("X-Hub-Signature-256"),
            h.update({"X-Hub-Signature": "sha1=" + hashlib.sha1(b"{}").hexdigest()}),
        ),
    ],
    ids=["missing", "zeros", "wrong-secret", "malformed", "sha1-only"],
)
async def test_unsigned_or_badly_signed_deliveries_are_refused(app, fake, mangle):
    body = b'{"action": "opened"}'
    headers = headers_for(body)
    mangle(headers)
    response = await post(app, body, headers)
    assert response.status == 401
    assert [c.path for c in fake.calls()] == ["/app"]  # nothing reached GitHub


async def test_a_signature_over_other_bytes_is_refused(app):
    body = b'{"action": "opened"}'
    headers = headers_for(body)
    response = await post(app, body + b" ", headers)
    assert response.status == 401


async def test_the_signature_is_checked_before_the_body_is_parsed(app):
    response = await post(app, b"{not json", {**headers_for(b"x"), "X-Hub-Signature-256": ""})
    assert response.status == 401
    response = await post(app, b"{not json", headers_for(b"{not json"))
    assert response.status == 400
    response = await post(app, b"[1, 2]", headers_for(b"[1, 2]"))
    assert response.status == 400


async def test_signed_malformed_json_is_a_400_and_can_be_redelivered(app):
    # Braces at both ends pass the structural check; the parse still happens before the answer.
    body = b'{"action": "opened",}'
    headers = headers_for(body)
    assert (await post(app, body, headers)).status == 400
    assert (await post(app, body, headers)).status == 400  # not remembered as handled
    assert app.runtime.metrics.value("preflight_webhook_deliveries_total", outcome="malformed") == 2


async def test_bodies_over_25_megabytes_are_refused(app):
    body = b" " * (MAX_BODY + 1)
    response = await post(app, body, headers_for(body))
    assert response.status == 413


async def test_event_and_delivery_headers_are_required(app):
    body = b"{}"
    headers = headers_for(body)
    del headers["X-GitHub-Event"]
    assert (await post(app, body, headers)).status == 400


async def test_ping_is_answered(app, hooks):
    response = await app.send(hooks.ping())
    assert response.status == 200
    assert (await response.json())["message"] == "pong"


async def test_events_we_do_not_handle_are_acknowledged(app, fake, hooks, repo):
    # An event we never subscribe to is answered without being parsed.
    response = await app.send(hooks.deliver("star", {"action": "created"}))
    assert response.status == 200
    # An action we do not act on is only known once parsed, after the answer.
    response = await app.send(hooks.deliver("pull_request", {"action": "labeled"}))
    assert response.status == 202
    metrics = app.runtime.metrics
    assert metrics.value("preflight_webhook_deliveries_total", outcome="ignored") == 1
    assert metrics.value("preflight_webhook_payloads_total", outcome="nothing_to_do") == 1
    assert [c.path for c in fake.calls()] == ["/app"]


async def test_a_payload_missing_what_we_need_is_dropped_with_a_log_line_not_a_crash(
    app, hooks, caplog
):
    delivery = hooks.deliver("pull_request", {"action": "opened"})
    response = await app.send(delivery)
    assert response.status == 202
    (record,) = [r for r in caplog.records if "unusable" in r.getMessage()]
    assert delivery.id in record.getMessage() and record.levelname == "WARNING"
    assert app.runtime.metrics.value("preflight_webhook_payloads_total", outcome="unusable") == 1


async def test_the_answer_comes_before_the_work(app, fake, repo, hooks):
    from tests.app.test_review_flow import open_ci_pull

    fake.fail("POST", "/check-runs", 0, delay=0.5)  # a slow GitHub
    pull = open_ci_pull(fake, repo)
    response = await app.send(hooks.pull_request(repo, pull, "opened"), settle=False)
    assert response.status == 202
    assert json.loads(await response.text()) == {"message": "accepted"}
    assert pull.reviews == []  # not yet: the work runs in the background
    await app.settle()
    assert len(pull.reviews) == 1


async def test_healthz(app):
    response = await app.client.get("/healthz")
    assert response.status == 200
    assert (await response.json())["status"] == "ok"

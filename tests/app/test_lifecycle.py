"""Start-up, health, and shutdown of the real server process."""

from __future__ import annotations

import json
import os
from pathlib import Path
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from bot.app import create_app, serve
from tests.app.conftest import SECRET, WORKFLOW, settings_for
from tests.fakegithub import Webhooks

ROOT = Path(__file__).resolve().parents[2]


async def test_start_up_fails_clearly_when_github_refuses_the_app(aiohttp_client, fake):
    settings = settings_for(fake, app_id=fake.app_id + 1)  # the JWT's issuer is wrong
    with pytest.raises(RuntimeError, match="APP_ID"):
        await aiohttp_client(create_app(settings))


def test_serve_refuses_to_start_without_settings(monkeypatch, capsys):
    for name in ("APP_ID", "PRIVATE_KEY", "PRIVATE_KEY_PATH", "WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert serve([]) == 2
    assert "APP_ID" in capsys.readouterr().err


def test_the_cli_runs_serve(monkeypatch, capsys):
    from bot.cli import main

    monkeypatch.delenv("APP_ID", raising=False)
    assert main(["serve"]) == 2
    assert "APP_ID is not set" in capsys.readouterr().err


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited: {process.stderr.read()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the server never became healthy")


def test_sigterm_finishes_the_review_in_flight_then_exits(fake):
    repo = fake.world.add_repo("acme/widgets", installation_id=5)
    pull = fake.world.open_pull(
        repo, {"README.md": b"x\n"}, {"README.md": b"x\n", ".github/workflows/ci.yml": WORKFLOW}
    )
    port = free_port()
    env = {
        **os.environ,
        "APP_ID": str(fake.app_id),
        "PRIVATE_KEY": fake.private_key,
        "WEBHOOK_SECRET": SECRET,
        "GITHUB_API_URL": fake.url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_FORMAT": "json",
        "PREFLIGHT_REQUEST_DELAY": "0",
        "PREFLIGHT_WRITE_DELAY": "0",
        "PREFLIGHT_SHUTDOWN_TIMEOUT": "15",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
        fake.fail("POST", "/check-runs", 0, delay=1.0)  # keep the review in flight
        delivery = Webhooks(fake, SECRET).pull_request(repo, pull, "opened")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/github/webhooks",
            data=delivery.body,
            headers=delivery.headers,
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 202
        time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        process.wait(timeout=30)
        assert time.monotonic() - started < 15
    finally:
        if process.poll() is None:
            process.kill()
    stderr = process.stderr.read()
    assert process.returncode == 0, stderr
    (run,) = repo.check_runs.values()
    assert run.status == "completed"  # the review finished before the process exited
    records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert any("shutting down" in r["message"] for r in records)
    for token in fake.tokens:
        assert token not in stderr
    assert "PRIVATE KEY" not in stderr

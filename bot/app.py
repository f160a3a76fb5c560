"""The App's web server: `create_app(settings)` builds it, `serve()` runs it.

Start-up reads the settings (a bad one stops it with a message naming the variable), warns
when the private key file is readable by other users, and asks GitHub who the App is
(`GET /app`: its id, slug and bot login, never hard-coded). On SIGTERM aiohttp stops accepting
connections, the deliveries already acknowledged are routed, then the job queue gets a bounded
time to finish; what does not finish is cancelled (its check run is completed as unfinished)
and logged with its delivery id, so it can be redelivered.

`GET /healthz` answers 200 while the App accepts work; `GET /metrics` answers Prometheus's
text format (bot.metrics).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
import datetime as dt
import json
import logging
import sys

from aiohttp import web

from bot.github import REDACTING_FILTER, GitHubApp
from bot.jobs import Job, JobQueue
from bot.metrics import Metrics
from bot.runtime import RUNTIME, SETTINGS, DeliveryLog, Runtime
from bot.settings import Settings, SettingsError, private_key_file_problem
from bot.webhook import MAX_BODY, Intake, handle_webhook

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY + 1)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_runtime)
    app.router.add_post(settings.webhook_path, handle_webhook)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


async def _runtime(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    problem = private_key_file_problem(settings.private_key_path)
    if problem:
        log.warning("%s", problem)
    counters = Metrics()
    github = GitHubApp(settings, metrics=counters)
    try:
        identity = await github.identity()
    except Exception as exc:
        github.close()
        raise RuntimeError(
            f"cannot reach GitHub at {settings.github_api_url} as App {settings.app_id}: {exc}"
            " (check APP_ID, PRIVATE_KEY and GITHUB_API_URL)"
        ) from exc
    deliveries = DeliveryLog()

    def not_done(job: Job) -> None:
        if job.delivery:
            deliveries.forget(job.delivery)  # so that a redelivery runs it

    queue = JobQueue(
        settings.max_concurrent_jobs,
        metrics=counters,
        retries=settings.job_retries,
        retry_delay=settings.job_retry_delay,
        on_not_done=not_done,
    )
    runtime = Runtime(
        settings=settings,
        github=github,
        identity=identity,
        queue=queue,
        deliveries=deliveries,
        metrics=counters,
    )
    runtime.intake = Intake(runtime)
    app[RUNTIME] = runtime
    log.info(
        "ready: App %s (%s), webhooks on %s", identity.slug, identity.id, settings.webhook_path
    )
    yield
    log.info("shutting down: finishing queued reviews (at most %.0f s)", settings.shutdown_timeout)
    await runtime.intake.flush()
    await queue.close(settings.shutdown_timeout, before_cancel=github.stop)
    github.close()
    log.info("stopped")


async def healthz(request: web.Request) -> web.Response:
    runtime = request.app.get(RUNTIME)
    if runtime is None or not runtime.queue.accepting:
        return web.json_response({"status": "unavailable"}, status=503)
    return web.json_response({"status": "ok", "app": runtime.identity.slug})


async def metrics(request: web.Request) -> web.Response:
    runtime = request.app.get(RUNTIME)
    text = runtime.metrics.render() if runtime is not None else ""
    return web.Response(
        body=text.encode(), headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}
    )


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the delivery and pull request when a record has them."""

    EXTRA = ("delivery", "pull", "event")

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in self.EXTRA:
            value = getattr(record, key, None)
            if value:
                data[key] = value
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = " ".join(
            f"{key}={getattr(record, key)}"
            for key in JsonFormatter.EXTRA
            if getattr(record, key, None)
        )
        return f"{text} [{context}]" if context else text


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(REDACTING_FILTER)  # tokens, JWTs and keys never reach the log
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # PyGithub logs every request at DEBUG with headers; keep tokens out of debug logs.
    logging.getLogger("github").setLevel(max(logging.INFO, root.level))


def serve(argv: Sequence[str] | None = None) -> int:
    """`preflight serve`: run the App until SIGTERM or SIGINT. Settings come from the
    environment (see bot.settings.ENVIRONMENT)."""
    if argv:
        print(
            f"preflight serve: unexpected arguments {' '.join(argv)}; "
            "settings come from the environment",
            file=sys.stderr,
        )
        return 2
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"preflight serve: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings)
    try:
        web.run_app(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            shutdown_timeout=settings.shutdown_timeout,
            access_log=None,
            print=None,
        )
    except RuntimeError as exc:
        log.error("%s", exc)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The entry point `preflight serve` (bot.cli) calls; returns the exit status."""
    return serve(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())

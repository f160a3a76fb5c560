"""The App's settings, read once from the environment at start-up (probot's names).

Every problem is reported by naming the variable, so a bad deployment fails at once with a
message an operator can act on, instead of at the first webhook.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import os
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_API_URL = "https://api.github.com"


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    app_id: int
    private_key: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    github_api_url: str = DEFAULT_API_URL
    host: str = "0.0.0.0"
    port: int = 3000
    webhook_path: str = "/api/github/webhooks"
    log_level: str = "INFO"
    log_format: str = "text"
    # PyGithub's throttling: None turns it off (tests, benchmarks); production keeps GitHub's
    # advice of a pause between requests and at least one second between writes.
    request_delay: float | None = 0.25
    write_delay: float | None = 1.0
    max_inline_comments: int = 30
    max_concurrent_jobs: int = 4
    shutdown_timeout: float = 25.0
    retries: int = 3
    secondary_rate_wait: float = 60.0
    http_timeout: int = 15  # whole seconds (PyGithub's unit)
    # The first pause before a failed request is tried again; it doubles with jitter.
    retry_backoff: float = 1.0
    # A rate limit asking for a longer wait defers the job instead of holding a worker.
    max_rate_limit_wait: float = 60.0
    # A job that failed on a transient GitHub error is queued again this many times, first
    # after job_retry_delay seconds, then twice as long each time.
    job_retries: int = 3
    job_retry_delay: float = 60.0
    command_cooldown: float = 60.0
    private_key_path: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build the settings from environment variables; raise SettingsError naming the first
        variable that is missing or wrong."""
        env = os.environ if env is None else env
        reader = _EnvReader(env)
        settings = cls(
            app_id=reader.integer("APP_ID", required=True, minimum=1),
            private_key=reader.private_key(),
            webhook_secret=reader.text("WEBHOOK_SECRET", required=True),
            github_api_url=reader.url("GITHUB_API_URL", DEFAULT_API_URL),
            host=reader.text("HOST") or "0.0.0.0",
            port=reader.integer("PORT", default=3000, minimum=0, maximum=65535),
            webhook_path=reader.path("WEBHOOK_PATH", "/api/github/webhooks"),
            log_level=reader.choice(
                "LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), "INFO", upper=True
            ),
            log_format=reader.choice("LOG_FORMAT", ("text", "json"), "text"),
            request_delay=reader.delay("PREFLIGHT_REQUEST_DELAY", 0.25),
            write_delay=reader.delay("PREFLIGHT_WRITE_DELAY", 1.0),
            max_inline_comments=reader.integer(
                "PREFLIGHT_MAX_INLINE_COMMENTS", default=30, minimum=0, maximum=100
            ),
            max_concurrent_jobs=reader.integer(
                "PREFLIGHT_MAX_CONCURRENT_JOBS", default=4, minimum=1, maximum=64
            ),
            shutdown_timeout=reader.number("PREFLIGHT_SHUTDOWN_TIMEOUT", 25.0),
            retries=reader.integer("PREFLIGHT_RETRIES", default=3, minimum=0, maximum=10),
            retry_backoff=reader.number("PREFLIGHT_RETRY_BACKOFF", 1.0),
            max_rate_limit_wait=reader.number("PREFLIGHT_MAX_RATE_LIMIT_WAIT", 60.0),
            http_timeout=reader.integer(
                "PREFLIGHT_HTTP_TIMEOUT", default=15, minimum=1, maximum=600
            ),
            job_retries=reader.integer("PREFLIGHT_JOB_RETRIES", default=3, minimum=0, maximum=20),
            job_retry_delay=reader.number("PREFLIGHT_JOB_RETRY_DELAY", 60.0),
            command_cooldown=reader.number("PREFLIGHT_COMMAND_COOLDOWN", 60.0),
            private_key_path=reader.raw("PRIVATE_KEY_PATH")
            if not reader.raw("PRIVATE_KEY")
            else None,
        )
        return settings


# Every variable read above, for the README's table (tests/app/test_docs.py keeps them in step).
ENVIRONMENT = (
    ("APP_ID", "required", "the App's numeric id"),
    ("PRIVATE_KEY", "one of the two", "the App's private key, PEM text (newlines or \\n)"),
    ("PRIVATE_KEY_PATH", "one of the two", "a file holding the PEM private key"),
    ("WEBHOOK_SECRET", "required", "the webhook secret set when the App was registered"),
    ("GITHUB_API_URL", DEFAULT_API_URL, "REST base; GitHub Enterprise Server: https://HOST/api/v3"),
    ("HOST", "0.0.0.0", "address to listen on"),
    ("PORT", "3000", "port to listen on"),
    ("WEBHOOK_PATH", "/api/github/webhooks", "path GitHub posts webhooks to"),
    ("LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING, ERROR"),
    ("LOG_FORMAT", "text", "text or json (one JSON object per line)"),
    ("PREFLIGHT_REQUEST_DELAY", "0.25", "seconds between GitHub requests; 0 turns it off"),
    ("PREFLIGHT_WRITE_DELAY", "1.0", "seconds between GitHub writes; 0 turns it off"),
    ("PREFLIGHT_MAX_INLINE_COMMENTS", "30", "inline comments per review; the rest: summary"),
    ("PREFLIGHT_MAX_CONCURRENT_JOBS", "4", "pull requests reviewed at the same time"),
    ("PREFLIGHT_SHUTDOWN_TIMEOUT", "25", "seconds to finish queued reviews on SIGTERM"),
    (
        "PREFLIGHT_RETRIES",
        "3",
        "tries again of a failed GitHub request (a write only once it is known not to have landed)",
    ),
    ("PREFLIGHT_RETRY_BACKOFF", "1.0", "seconds before the first retry; doubles, with jitter"),
    (
        "PREFLIGHT_MAX_RATE_LIMIT_WAIT",
        "60",
        "longest rate-limit wait in place; longer defers the job",
    ),
    ("PREFLIGHT_HTTP_TIMEOUT", "15", "seconds to wait for one GitHub answer"),
    ("PREFLIGHT_JOB_RETRIES", "3", "times a job that failed on a GitHub fault is queued again"),
    ("PREFLIGHT_JOB_RETRY_DELAY", "60", "seconds before the first re-queue; doubles each time"),
    ("PREFLIGHT_COMMAND_COOLDOWN", "60", "seconds after a /preflight run before another one runs"),
)


def private_key_file_problem(path: str | None) -> str | None:
    """A warning when the private key file can be read by other users (its group or everyone),
    or None. Checked at start-up; the App still starts."""
    if not path:
        return None
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if mode & 0o077:
        return (
            f"PRIVATE_KEY_PATH {path} is readable by other users (mode {mode & 0o777:o}); "
            "make it private: chmod 600"
        )
    return None


class _EnvReader:
    def __init__(self, env: Mapping[str, str]):
        self.env = env

    def raw(self, name: str) -> str | None:
        value = self.env.get(name)
        if value is None or not value.strip():
            return None
        return value.strip()

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.raw(name)
        if value is None and required:
            raise SettingsError(f"{name} is not set")
        return value

    def integer(
        self,
        name: str,
        *,
        default: int | None = None,
        required: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int:
        value = self.text(name, required=required)
        if value is None:
            assert default is not None
            return default
        try:
            number = int(value)
        except ValueError:
            raise SettingsError(f"{name} should be a whole number, got {value!r}") from None
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise SettingsError(f"{name} should be between {minimum} and {maximum}, got {number}")
        return number

    def number(self, name: str, default: float) -> float:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            raise SettingsError(f"{name} should be a number of seconds, got {value!r}") from None
        if number < 0:
            raise SettingsError(f"{name} should not be negative, got {value!r}")
        return number

    def delay(self, name: str, default: float) -> float | None:
        number = self.number(name, default)
        return number or None

    def choice(self, name: str, allowed: tuple[str, ...], default: str, upper: bool = False) -> str:
        value = self.raw(name)
        if value is None:
            return default
        value = value.upper() if upper else value.lower()
        if value not in allowed:
            raise SettingsError(f"{name} should be one of {', '.join(allowed)}, got {value!r}")
        return value

    def url(self, name: str, default: str) -> str:
        value = self.raw(name) or default
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise SettingsError(f"{name} should be an http(s) URL, got {value!r}")
        return value.rstrip("/")

    def path(self, name: str, default: str) -> str:
        value = self.raw(name) or default
        if not value.startswith("/"):
            raise SettingsError(f"{name} should start with /, got {value!r}")
        return value

    def private_key(self) -> str:
        inline = self.raw("PRIVATE_KEY")
        path = self.raw("PRIVATE_KEY_PATH")
        if inline is None and path is None:
            raise SettingsError("PRIVATE_KEY or PRIVATE_KEY_PATH must be set")
        name = "PRIVATE_KEY"
        if inline is None:
            name = "PRIVATE_KEY_PATH"
            try:
                inline = Path(path).read_text()
            except OSError as exc:
                raise SettingsError(f"PRIVATE_KEY_PATH cannot be read: {exc.strerror}") from None
        # Hosting dashboards often keep a multi-line value as one line with literal \n.
        pem = inline.replace("\\n", "\n").strip() + "\n"
        if "-----BEGIN" not in pem or "PRIVATE KEY-----" not in pem:
            raise SettingsError(f"{name} does not hold a PEM private key")
        _check_private_key(name, pem)
        return pem


def _check_private_key(name: str, pem: str) -> None:
    # A key that cannot sign would otherwise fail at the first webhook, far from its cause.
    try:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        load_pem_private_key(pem.encode(), password=None)
    except ImportError:  # pragma: no cover - PyGithub brings cryptography along
        return
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"{name} is not a usable private key: {exc}") from None

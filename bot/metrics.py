"""Counters for `GET /metrics`, in Prometheus's text exposition format (version 0.0.4).

A handful of counters do not need a client library: each family is a name, a help line and a
set of label combinations. Label values come from a closed set (an event name we do not know
is counted as "other"), so a stranger's headers cannot grow the table. Counters are bumped
from the event loop and from PyGithub's worker threads, hence the lock.
"""

from __future__ import annotations

from collections import defaultdict
import threading

# name -> help text; every family is a counter.
FAMILIES = {
    "preflight_webhook_deliveries_total": (
        "Webhook deliveries by event and by how they were answered "
        "(accepted, duplicate, ignored, ping, rejected, too_large, malformed, unavailable)"
    ),
    "preflight_webhook_payloads_total": (
        "Accepted deliveries after parsing in the background, by event and outcome "
        "(queued, nothing_to_do, unusable)"
    ),
    "preflight_jobs_total": (
        "Background jobs by outcome (done, skipped, stale, coalesced, retried, deferred, "
        "stopped, failed, dropped, interrupted)"
    ),
    "preflight_retries_total": "Retries of GitHub requests and of jobs, by reason",
    "preflight_failures_total": "Jobs given up after their retries, by cause",
    "preflight_deferrals_total": "Work put off because GitHub asked us to wait, by reason",
    "preflight_commands_total": "Slash commands by outcome (run, help, refused, cooled_down)",
    "preflight_github_requests_total": "GitHub API requests by method and status class",
}

KNOWN_EVENTS = frozenset(
    {
        "check_run",
        "check_suite",
        "installation",
        "installation_repositories",
        "issue_comment",
        "ping",
        "pull_request",
        "pull_request_review",
        "pull_request_review_comment",
        "push",
    }
)


def event_label(name: str | None) -> str:
    return name if name in KNOWN_EVENTS else "other"


def status_class(status: int) -> str:
    """2xx, 4xx, ... or "error" when no answer came (a timeout, a reset connection)."""
    return f"{status // 100}xx" if 100 <= status < 600 else "error"


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)

    def inc(self, family: str, amount: float = 1, **labels: str) -> None:
        if family not in FAMILIES:
            raise KeyError(family)
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._values[family]
            series[key] = series.get(key, 0) + amount

    def value(self, family: str, **labels: str) -> float:
        """The sum over every series of the family that has these labels (tests, logs)."""
        with self._lock:
            series = dict(self._values.get(family, {}))
        wanted = set(labels.items())
        return sum(v for key, v in series.items() if wanted <= set(key))

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            snapshot = {name: dict(series) for name, series in self._values.items()}
        for name, help_text in FAMILIES.items():
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} counter")
            for key, value in sorted(snapshot.get(name, {}).items()):
                labels = ",".join(f'{k}="{_escape(v)}"' for k, v in key)
                number = int(value) if float(value).is_integer() else value
                lines.append(f"{name}{{{labels}}} {number}" if labels else f"{name} {number}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

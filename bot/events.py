"""Which webhook starts which work: the routing table, and thin handlers that read the payload
and hand a job to the queue. They never call GitHub; the jobs do."""

from __future__ import annotations

from collections.abc import Callable
import logging
from typing import TYPE_CHECKING

from bot import commands, publish
from bot.github import PullRequestInfo
from bot.jobs import Job

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from bot.webhook import Event

log = logging.getLogger(__name__)

Handler = Callable[["Event", "Runtime"], list[Job]]


def on_pull_request(event: Event, runtime: Runtime) -> list[Job]:
    payload = event.payload
    if event.action == "edited" and "base" not in (payload.get("changes") or {}):
        return []  # a new title or body changes nothing we check
    repo = payload["repository"]["full_name"]
    pull = PullRequestInfo.from_json(payload["pull_request"], repo)
    if pull.state != "open":
        return []
    trigger = publish.Trigger(event.name, event.action or "", event.delivery)
    return [
        publish.review_job(
            runtime, int(payload["installation"]["id"]), repo, pull.number, pull, trigger
        )
    ]


def on_issue_comment(event: Event, runtime: Runtime) -> list[Job]:
    payload = event.payload
    issue, comment = payload["issue"], payload["comment"]
    if "pull_request" not in issue:
        return []  # a plain issue
    command = commands.parse(comment.get("body") or "")
    if command is None:
        return []
    user = comment.get("user") or {}
    if (
        user.get("type") == "Bot"
        or comment.get("performed_via_github_app")
        or runtime.identity.is_us(user.get("login"))
    ):
        return []  # bots (us included) never drive us: no loops
    request = commands.CommandRequest(
        installation_id=int(payload["installation"]["id"]),
        repo=payload["repository"]["full_name"],
        number=int(issue["number"]),
        comment_id=int(comment["id"]),
        commenter=user.get("login", ""),
        pull_author=(issue.get("user") or {}).get("login", ""),
        command=command,
        delivery=event.delivery,
    )
    return [commands.command_job(runtime, request)]


def on_check_run(event: Event, runtime: Runtime) -> list[Job]:
    run = event.payload["check_run"]
    if run.get("name") != publish.CHECK_NAME or (run.get("app") or {}).get("id") != (
        runtime.identity.id
    ):
        return []
    number = _check_run_pull_number(run)
    if number is None:
        log.warning("check run %s names no pull request", run.get("id"))
        return []
    payload = event.payload
    trigger = publish.Trigger(event.name, event.action or "", event.delivery)
    return [
        publish.review_job(
            runtime,
            int(payload["installation"]["id"]),
            payload["repository"]["full_name"],
            number,
            None,
            trigger,
        )
    ]


def _check_run_pull_number(run: dict) -> int | None:
    # Fork PRs leave pull_requests[] empty, so the number travels in external_id.
    external = str(run.get("external_id") or "")
    if external.isdigit():
        return int(external)
    pulls = run.get("pull_requests") or []
    return int(pulls[0]["number"]) if pulls else None


def on_installation(event: Event, runtime: Runtime) -> list[Job]:
    payload = event.payload
    installation = payload.get("installation") or {}
    account = (installation.get("account") or {}).get("login", "?")
    added = [r.get("full_name") for r in payload.get("repositories_added") or ()]
    removed = [r.get("full_name") for r in payload.get("repositories_removed") or ()]
    listed = [r.get("full_name") for r in payload.get("repositories") or ()]
    log.info(
        "%s %s: installation %s on %s; repositories %s%s%s",
        event.name,
        event.action,
        installation.get("id"),
        account,
        ", ".join(filter(None, listed)) or "-",
        f"; added {', '.join(filter(None, added))}" if added else "",
        f"; removed {', '.join(filter(None, removed))}" if removed else "",
        extra={"delivery": event.delivery},
    )
    return []


ROUTES: dict[tuple[str, str], Handler] = {
    ("pull_request", "opened"): on_pull_request,
    ("pull_request", "synchronize"): on_pull_request,
    ("pull_request", "reopened"): on_pull_request,
    ("pull_request", "ready_for_review"): on_pull_request,
    ("pull_request", "edited"): on_pull_request,
    ("issue_comment", "created"): on_issue_comment,
    ("check_run", "rerequested"): on_check_run,
    ("installation", "*"): on_installation,
    ("installation_repositories", "*"): on_installation,
}


EVENTS = frozenset(name for name, _ in ROUTES)  # others are acknowledged and not parsed


def route(event: Event, runtime: Runtime) -> list[Job]:
    """The jobs for an event; none for events and actions we do not act on."""
    handler = ROUTES.get((event.name, event.action or "")) or ROUTES.get((event.name, "*"))
    if handler is None:
        log.debug("ignoring %s.%s", event.name, event.action, extra={"delivery": event.delivery})
        return []
    return handler(event, runtime)

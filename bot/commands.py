"""Slash commands in pull request comments: `/preflight`, `/preflight review`, `/preflight help`.

Only the PR's author and people with write, maintain or admin permission may run them. The
webhook's `author_association` is computed without a viewer and misses private org members, so
the collaborator permission API decides. Others get one short, polite reply (one per person
and pull request within the cool-down, however often they ask).

A spammed command runs once: a `/preflight` while a review of the pull request is already
queued is absorbed by it (👀), and one within PREFLIGHT_COMMAND_COOLDOWN seconds of the last
command-started review gets a 😕 reaction and no run. Replies never echo more of a comment than
a plain word, so a command cannot make Preflight mention or link anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
import logging
import re
import time
from typing import TYPE_CHECKING

from bot import publish
from bot.github import GitHubError
from bot.jobs import Job

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

# The command must open the comment; a quoted or fenced `/preflight` further down is not one.
_COMMAND_RE = re.compile(r"\A\s*/preflight(?![\w-])[ \t]*(?P<word>[^\s]*)")
REVIEW_WORDS = ("", "review", "recheck", "check")
HELP_WORDS = ("help",)
ALLOWED_PERMISSIONS = ("admin", "write")  # maintain is reported as write

COMMAND_MARKER = "<!-- preflight:command -->"
HELP = f"""\
**Preflight commands** (in a comment on this pull request):

| command | what it does |
|---|---|
| `/preflight` or `/preflight review` | check the CI files of this pull request again |
| `/preflight help` | show this message |

The pull request's author and people with write access can run them. Preflight also re-checks \
on every push; a `/preflight` soon after the last one gets a 😕 and does not run again. \
To silence one finding, add `# preflight: ignore[rule-id] reason` on its line; \
to configure the rules, add `.github/preflight.yml` on the base branch.

{COMMAND_MARKER}"""
COOLED_DOWN_REACTION = "confused"
_MAX_REMEMBERED = 4096
_PLAIN_WORD_RE = re.compile(r"[A-Za-z0-9_.-]{1,40}")


def reply_marker(comment_id: int) -> str:
    """The hidden marker of our reply to one command comment (so a reply is never doubled)."""
    return f"<!-- preflight:reply-to={comment_id} -->"


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # review | help | unknown
    word: str = ""


@dataclass(frozen=True, slots=True)
class CommandRequest:
    installation_id: int
    repo: str
    number: int
    comment_id: int
    commenter: str
    pull_author: str
    command: Command
    delivery: str = ""


def parse(body: str) -> Command | None:
    """The command a comment opens with, or None when it is not addressed to Preflight."""
    match = _COMMAND_RE.match(body)
    if match is None:
        return None
    word = match.group("word").lower()
    if word in REVIEW_WORDS:
        return Command("review", word)
    if word in HELP_WORDS:
        return Command("help", word)
    return Command("unknown", match.group("word"))


def command_job(runtime: Runtime, request: CommandRequest) -> Job:
    async def work() -> None:
        await handle(runtime, request)

    return Job(
        key=(request.repo, request.number),
        name=f"/preflight {request.command.name} by {request.commenter}",
        work=work,
        delivery=request.delivery,
    )


async def handle(runtime: Runtime, request: CommandRequest) -> None:
    client = runtime.github.repository(request.installation_id, request.repo)
    key = (request.repo, request.number)
    extra = {"delivery": request.delivery, "pull": f"{request.repo}#{request.number}"}
    command = request.command
    cooldown = runtime.settings.command_cooldown
    now = time.monotonic()

    def count(outcome: str) -> None:
        runtime.metrics.inc("preflight_commands_total", outcome=outcome)

    for book in (runtime.command_runs, runtime.command_refusals):
        if len(book) > _MAX_REMEMBERED:  # only entries inside their cool-down matter
            for stale in [k for k, at in book.items() if now - at >= cooldown]:
                del book[stale]

    async def react(content: str) -> None:
        try:
            await client.add_reaction(request.number, request.comment_id, content)
        except GitHubError as exc:  # a courtesy; the command's outcome does not depend on it
            log.warning("could not add the %s reaction: %s", content, exc, extra=extra)

    async def reply(text: str) -> None:
        marker = reply_marker(request.comment_id)
        await client.create_issue_comment(request.number, f"{text}\n{marker}", marker=marker)

    if command.name == "review":
        if runtime.queue.busy(key):
            log.info("/preflight absorbed: a review is already queued", extra=extra)
            count("absorbed")
            await react("eyes")
            return
        last = runtime.command_runs.get(key)
        if last is not None and now - last < cooldown:
            log.info(
                "/preflight from %s ignored: cool-down (%.0f of %.0f s left)",
                request.commenter,
                cooldown - (now - last),
                cooldown,
                extra=extra,
            )
            count("cooled_down")
            await react(COOLED_DOWN_REACTION)
            return
    if not await _may_run(client, request):
        refused = (request.repo, request.number, request.commenter)
        last = runtime.command_refusals.get(refused)
        count("refused")
        if last is not None and now - last < cooldown:
            log.info(
                "refused /preflight from %s again; not replying", request.commenter, extra=extra
            )
            return
        runtime.command_refusals[refused] = now
        log.info("refused /preflight from %s", request.commenter, extra=extra)
        await reply(
            f"Sorry @{request.commenter}, only the author of this pull request and people with "
            f"write access can run `/preflight` commands.\n\n{COMMAND_MARKER}"
        )
        return
    await react("eyes")
    if command.name == "review":
        runtime.command_runs[key] = now
        count("run")
        trigger = publish.Trigger("issue_comment", "created", request.delivery)
        runtime.queue.submit(
            publish.review_job(
                runtime, request.installation_id, request.repo, request.number, None, trigger
            )
        )
        return
    count("help")
    text = HELP
    if command.name == "unknown":
        word = command.word if _PLAIN_WORD_RE.fullmatch(command.word) else ""
        named = f"`/preflight {word}` is" if word else "That is"
        text = f"{named} not a command I know.\n\n{HELP}"
    await reply(text)


async def _may_run(client, request: CommandRequest) -> bool:
    if request.commenter and request.commenter == request.pull_author:
        return True
    permission = await client.permission(request.commenter)
    return permission in ALLOWED_PERMISSIONS

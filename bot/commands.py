"""Slash commands in pull request comments: `/preflight`, `/preflight review`, `/preflight help`.

Only the PR's author and people with write, maintain or admin permission may run them. The
webhook's `author_association` is computed without a viewer and misses private org members, so
the collaborator permission API decides. Others get one short, polite reply.
"""

from __future__ import annotations

from dataclasses import dataclass
import logging
import re
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
on every push. To silence one finding, add `# preflight: ignore[rule-id] reason` on its line; \
to configure the rules, add `.github/preflight.yml` on the base branch.

{COMMAND_MARKER}"""


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
    extra = {"delivery": request.delivery, "pull": f"{request.repo}#{request.number}"}
    if not await _may_run(client, request):
        log.info("refused /preflight from %s", request.commenter, extra=extra)
        await client.create_issue_comment(
            request.number,
            f"Sorry @{request.commenter}, only the author of this pull request and people with "
            f"write access can run `/preflight` commands.\n\n{COMMAND_MARKER}",
        )
        return
    try:
        await client.add_reaction(request.number, request.comment_id, "eyes")
    except GitHubError as exc:  # the acknowledgement is a courtesy; the command still runs
        log.warning("could not add the eyes reaction: %s", exc, extra=extra)
    command = request.command
    if command.name == "review":
        trigger = publish.Trigger("issue_comment", "created", request.delivery)
        runtime.queue.submit(
            publish.review_job(
                runtime, request.installation_id, request.repo, request.number, None, trigger
            )
        )
        return
    text = HELP
    if command.name == "unknown":
        text = f"`/preflight {command.word}` is not a command I know.\n\n{HELP}"
    await client.create_issue_comment(request.number, text)


async def _may_run(client, request: CommandRequest) -> bool:
    if request.commenter and request.commenter == request.pull_author:
        return True
    permission = await client.permission(request.commenter)
    return permission in ALLOWED_PERMISSIONS

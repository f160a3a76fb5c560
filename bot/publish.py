"""One review run: read the PR, run the rules, post what is new, tidy what is fixed.

snapshot -> rules.runner.run -> bot.diffmap.place -> bot.review.compose -> GitHub. The run is
safe to repeat: everything it posts carries a hidden marker (a fingerprint per comment, the
head sha on the review, a marker on the summary), and before writing it looks at what is
already on the PR, so a redelivered webhook, a retried job or a `/preflight` on an unchanged
head adds nothing. A finding that already has a thread is not posted again, a thread a human
resolved is left alone, and our thread whose finding is gone is answered and resolved.

Requests for a PR touching one workflow (warm token): files, tree, state (GraphQL: threads,
summary, reviews and the base config in one query), check run, review, summary, check run
completion; plus one contents read per CI file that is modified (added files come from their
patch). Non-CI files cost nothing beyond their line in the files listing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
import logging
import re
from typing import TYPE_CHECKING

from bot.diffmap import DiffIndex, FilePatch, PlacedFinding, Placement, place
from bot.github import (
    Annotation,
    PullFile,
    PullRequestInfo,
    PullState,
    Rejected,
    RepoClient,
    ThreadInfo,
)
from bot.jobs import Job
from bot.review import (
    FINGERPRINT_RE,
    SUMMARY_MARKER,
    ReviewDraft,
    compose,
    fingerprint_marker,
)
from bot.snapshot import build_snapshot, touches_ci
from rules import registry, runner
from rules.config import CONFIG_PATH, DEFAULT_CONFIG, Config, ConfigError, load_config
from rules.globs import filter_matches
from rules.model import FileError, Finding, Severity

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

CHECK_NAME = "Preflight"
REVIEW_MARKER_RE = re.compile(r"<!-- preflight:review sha=([0-9a-f]{40}) -->")
RESOLVED_MARKER = "<!-- preflight:resolved -->"
_LEVELS = {Severity.ERROR: "failure", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def review_marker(head_sha: str) -> str:
    return f"<!-- preflight:review sha={head_sha} -->"


@dataclass(frozen=True, slots=True)
class Trigger:
    event: str
    action: str
    delivery: str = ""


@dataclass(slots=True)
class Outcome:
    """What a run did (logged, and asserted on by tests and the benchmark)."""

    skipped: str = ""
    conclusion: str = ""
    review_id: int | None = None
    inline: int = 0
    file_comments: int = 0
    resolved: int = 0
    summary: str = ""  # created | edited | unchanged | ""
    moved_to_summary: int = 0
    fetched: list[str] = field(default_factory=list)


def review_job(
    runtime: Runtime,
    installation_id: int,
    repo: str,
    number: int,
    pull: PullRequestInfo | None,
    trigger: Trigger,
) -> Job:
    async def work() -> None:
        await review_pull_request(runtime, installation_id, repo, number, pull, trigger)

    return Job(
        key=(repo, number),
        name=f"review ({trigger.event}.{trigger.action})",
        work=work,
        head_sha=pull.head_sha if pull else None,
        coalesce=True,
        delivery=trigger.delivery,
    )


async def review_pull_request(
    runtime: Runtime,
    installation_id: int,
    repo: str,
    number: int,
    pull: PullRequestInfo | None,
    trigger: Trigger,
) -> Outcome:
    client = runtime.github.repository(installation_id, repo)
    run = ReviewRun(runtime, client, number, pull, trigger)
    run.installation_id = installation_id
    outcome = await run.execute()
    runtime.outcomes.append(outcome)
    log.info(
        "review of %s#%d: %s",
        repo,
        number,
        outcome.skipped
        or f"{outcome.conclusion}, {outcome.inline} inline, {outcome.file_comments} file "
        f"comments, {outcome.resolved} resolved, summary {outcome.summary or 'none'}",
        extra={"delivery": trigger.delivery, "pull": f"{repo}#{number}"},
    )
    return outcome


class ReviewRun:
    def __init__(
        self,
        runtime: Runtime,
        client: RepoClient,
        number: int,
        pull: PullRequestInfo | None,
        trigger: Trigger,
    ):
        self.runtime = runtime
        self.client = client
        self.number = number
        self.pull = pull
        self.trigger = trigger
        self.key = (client.full_name, number)
        self.outcome = Outcome()
        self.config = DEFAULT_CONFIG
        self.installation_id = 0

    @property
    def queue(self):
        return self.runtime.queue

    def _ours(self, author) -> bool:
        return author is not None and self.runtime.identity.is_us(author.login)

    async def execute(self) -> Outcome:
        if self.pull is None:
            # Comments and check re-runs carry no head sha: ask for the PR as it is now.
            self.pull = await self.client.get_pull(self.number)
            self.queue.note_head(self.key, self.pull.head_sha)
        pull = self.pull
        if pull.state != "open":
            return self._skip("the pull request is closed")
        if not self.queue.is_current(self.key, pull.head_sha):
            return self._skip("a newer head is queued")
        config: Config | None = None
        config_notes: list[str] = []
        if pull.draft:
            config, config_notes = _parse_config(
                await self.client.read_config(CONFIG_PATH, pull.base_sha), None
            )
            if not config.review_drafts:
                return self._skip("draft (set review-drafts: true to review drafts)")
        files = await self.client.list_files(pull.number)
        if not touches_ci(files):
            await self.client.create_check_run(
                pull.head_sha,
                name=CHECK_NAME,
                external_id=str(pull.number),
                status="completed",
                conclusion="success",
                title="No CI files changed",
                summary="This pull request changes no workflow or other CI file.",
            )
            self.outcome.conclusion = "success"
            if self.trigger.action != "opened" and self.queue.is_current(self.key, pull.head_sha):
                # The PR may have touched CI files before (and been reviewed): our threads on
                # them are now moot and the summary should say so.
                state = await self.client.pull_state(pull.number, CONFIG_PATH, pull.base_sha)
                await self._resolve_fixed(pull, self._our_threads(state), (), ())
                await self._update_summary(pull, state, compose([], head_sha=pull.head_sha), False)
            return self._skip("no CI file changed")
        check_run = await self.client.create_check_run(
            pull.head_sha, name=CHECK_NAME, external_id=str(pull.number)
        )
        try:
            await self._review(pull, files, check_run, config, config_notes)
        except BaseException as exc:
            await self._fail_check_run(check_run, exc)
            raise
        return self.outcome

    def _skip(self, reason: str) -> Outcome:
        self.outcome.skipped = reason
        return self.outcome

    async def _fail_check_run(self, check_run: int, exc: BaseException) -> None:
        reason = "it was stopped" if isinstance(exc, asyncio.CancelledError) else str(exc)
        try:
            await asyncio.shield(
                self.client.complete_check_run(
                    check_run,
                    conclusion="neutral",
                    title="Preflight could not finish",
                    summary=f"The check did not complete: {reason}. Comment `/preflight` "
                    "to try again.",
                )
            )
        except Exception:
            log.exception("could not mark check run %s as unfinished", check_run)

    async def _review(
        self,
        pull: PullRequestInfo,
        files: list[PullFile],
        check_run: int,
        config: Config | None,
        notes: list[str],
    ) -> None:
        tree = await self.client.get_tree(pull.head_sha)
        snapshot, reader = build_snapshot(
            self.client, pull.head_sha, files, tree, self.runtime.blobs
        )
        config_changed = any(f.path == CONFIG_PATH or f.previous_path == CONFIG_PATH for f in files)
        state = await self.client.pull_state(
            pull.number,
            CONFIG_PATH,
            pull.base_sha,
            head_sha=pull.head_sha,
            files=self._prefetch(snapshot, reader, config, config_changed),
        )
        for path, text in state.texts.items():
            reader.offer(path, text)
        if state.config_oid and state.config_text is not None:
            self.runtime.blobs.put(
                self.client.full_name, state.config_oid, state.config_text.encode("utf-8")
            )
        if config is None:
            config, notes = _parse_config(state.config_text, state.config_problem)
        self.config = config
        notes = list(notes)
        if config_changed:
            notes.append(
                f"This pull request changes `{CONFIG_PATH}`. Preflight reads its configuration "
                "from the base branch, so the change applies after it is merged."
            )
        if tree.truncated:
            notes.append(
                "GitHub listed only part of this repository's files (the tree is truncated), "
                "so checks that look for other files may be incomplete."
            )
        report = await asyncio.to_thread(runner.run, snapshot, config=config)
        self.outcome.fetched = list(reader.fetched)
        diff = DiffIndex.from_patches(
            FilePatch(f.path, f.status, f.previous_path, f.patch) for f in files
        )
        placed = place(report.findings, diff, max_inline=self.runtime.settings.max_inline_comments)
        if await self._still_current(pull, state):
            placed = await self._publish(
                pull, state, report.findings, report.errors, placed, config, notes
            )
        else:
            log.info(
                "a newer head arrived; only the check run of %s is completed", pull.head_sha[:12]
            )
        draft = compose(
            placed, errors=report.errors, config=config, head_sha=pull.head_sha, notes=notes
        )
        await self.client.complete_check_run(
            check_run,
            conclusion=draft.conclusion,
            title=_check_title(draft),
            summary=draft.summary_body.replace(SUMMARY_MARKER, "").lstrip(),
            annotations=[_annotation(f) for f in report.findings],
        )
        self.outcome.conclusion = draft.conclusion

    async def _still_current(self, pull: PullRequestInfo, state: PullState) -> bool:
        """Whether this run may post: no newer head is known (from a webhook, or from the PR
        as the state query saw it) and the PR is open. A review of an old head must never land
        after the review of a newer one. When only GitHub knows of a newer head (its webhook
        is late or lost), the PR is read again (GraphQL can lag behind REST) and the new head
        is queued for review."""
        if not self.queue.is_current(self.key, pull.head_sha):
            return False
        if not state.open:
            self.outcome.skipped = "the pull request was closed meanwhile"
            return False
        if state.head_sha is None or state.head_sha == pull.head_sha:
            return True
        now = await self.client.get_pull(pull.number)
        if now.head_sha == pull.head_sha:
            return True
        log.info(
            "the head moved from %s to %s while checking; reviewing the new head",
            pull.head_sha[:12],
            now.head_sha[:12],
            extra={"delivery": self.trigger.delivery, "pull": f"{self.key[0]}#{self.key[1]}"},
        )
        self.queue.note_head(self.key, now.head_sha)
        if now.state == "open":
            trigger = Trigger(self.trigger.event, self.trigger.action, self.trigger.delivery)
            self.queue.submit(
                review_job(
                    self.runtime,
                    self.installation_id,
                    self.key[0],
                    pull.number,
                    now,
                    trigger,
                )
            )
        return False

    def _prefetch(self, snapshot, reader, config: Config | None, config_changed: bool) -> list[str]:
        """The CI files to read in the state query the run makes anyway, saving one request
        each. Only when the base config is known without asking (no config file, or its blob
        is cached), so a file the config ignores is never fetched."""
        if config is None and not config_changed:
            config_sha = reader.blob_sha(CONFIG_PATH)
            if config_sha is None:
                config = DEFAULT_CONFIG
            else:
                cached = self.runtime.blobs.get(self.client.full_name, config_sha)
                if cached is not None:
                    config, _ = _parse_config(cached.decode("utf-8", "replace"), None)
        if config is None:
            return []
        targets = [
            path
            for path in runner.default_targets(snapshot)
            if not filter_matches(config.ignore, path)
        ]
        return reader.prefetchable(targets)

    async def _publish(
        self,
        pull: PullRequestInfo,
        state: PullState,
        findings: Sequence[Finding],
        errors: Sequence[FileError],
        placed: list[PlacedFinding],
        config: Config,
        notes: list[str],
    ) -> list[PlacedFinding]:
        """Post what is new, resolve what is fixed, update the summary; return the placement
        as finally posted (comments GitHub refused move to the summary)."""
        threads = self._our_threads(state)
        blocked = {fp for fp, found in threads.items() if any(_blocks(t, self) for t in found)}
        for review in state.reviews:
            if self._ours(review.author) and review.state == "PENDING":
                # A pending review of ours would make GitHub refuse the next one (one per user).
                await self.client.delete_pending_review(pull.number, review.id)
        already_reviewed = any(
            self._ours(r.author)
            and (m := REVIEW_MARKER_RE.search(r.body)) is not None
            and m.group(1) == pull.head_sha
            for r in state.reviews
        )
        draft = compose(placed, errors=errors, config=config, head_sha=pull.head_sha, notes=notes)
        new_inline = [c for c in draft.comments if c.fingerprint not in blocked]
        if new_inline and already_reviewed:
            # This head was reviewed before and these were not posted then (GitHub refused
            # them): list them in the summary instead of trying again.
            placed = _to_summary(placed, {c.fingerprint for c in new_inline})
            self.outcome.moved_to_summary += len(new_inline)
            new_inline = []
        if new_inline:
            placed = await self._post_review(pull, draft, new_inline, placed, notes)
        for comment in draft.file_comments:
            if comment.fingerprint in blocked:
                continue
            try:
                await self.client.create_file_comment(
                    pull.number,
                    pull.head_sha,
                    comment.path,
                    comment.body,
                    marker=fingerprint_marker(comment.fingerprint),
                )
                self.outcome.file_comments += 1
            except Rejected as exc:
                log.warning("GitHub refused the file comment on %s: %s", comment.path, exc)
                placed = _to_summary(placed, {comment.fingerprint})
                self.outcome.moved_to_summary += 1
        await self._resolve_fixed(pull, threads, findings, errors)
        final = compose(placed, errors=errors, config=config, head_sha=pull.head_sha, notes=notes)
        # Notes alone earn a summary too: e.g. a PR that changes the config is told that its
        # change applies only once merged, also when it has no finding.
        await self._update_summary(pull, state, final, bool(findings or errors or notes))
        return placed

    def _our_threads(self, state: PullState) -> dict[str, list[ThreadInfo]]:
        threads: dict[str, list[ThreadInfo]] = {}
        for thread in state.threads:
            if not self._ours(thread.first_author):
                continue
            match = FINGERPRINT_RE.search(thread.first_body)
            if match:
                threads.setdefault(match.group(1), []).append(thread)
        return threads

    async def _post_review(self, pull, draft: ReviewDraft, comments, placed, notes):
        body = f"{draft.review_body}\n\n{review_marker(pull.head_sha)}"
        marker = review_marker(pull.head_sha)
        try:
            self.outcome.review_id = await self.client.create_review(
                pull.number,
                pull.head_sha,
                body,
                [c.as_review_comment() for c in comments],
                marker=marker,
            )
            self.outcome.inline = len(comments)
            return placed
        except Rejected as exc:
            log.warning("GitHub refused the review (%s); posting it without inline comments", exc)
        placed = _to_summary(placed, {c.fingerprint for c in comments})
        self.outcome.moved_to_summary += len(comments)
        notes.append(
            f"GitHub refused {len(comments)} inline "
            f"{'comment' if len(comments) == 1 else 'comments'}; "
            "they are listed above instead."
        )
        retry = compose(placed, config=self.config, head_sha=pull.head_sha, notes=notes)
        self.outcome.review_id = await self.client.create_review(
            pull.number,
            pull.head_sha,
            f"{retry.review_body}\n\n{review_marker(pull.head_sha)}",
            [],
            marker=marker,
        )
        return placed

    async def _resolve_fixed(self, pull, threads, findings, errors) -> None:
        if any(error.rule for error in errors):
            return  # a rule crashed: its findings are missing, not fixed
        current = {finding.fingerprint() for finding in findings}
        unreadable = {error.path for error in errors}
        for fingerprint, found in threads.items():
            if fingerprint in current:
                continue
            for thread in found:
                if thread.is_resolved or thread.path in unreadable:
                    continue
                already_replied = self._ours(thread.last_author) and (
                    RESOLVED_MARKER in thread.last_body
                )
                if not already_replied and thread.first_comment_id is not None:
                    await self.client.reply_to_review_comment(
                        pull.number,
                        thread.first_comment_id,
                        f"Fixed in {pull.head_sha}: Preflight no longer finds this.\n\n"
                        f"{RESOLVED_MARKER}",
                        marker=RESOLVED_MARKER,
                    )
                await self.client.resolve_thread(thread.id)
                self.outcome.resolved += 1

    async def _update_summary(self, pull, state: PullState, draft: ReviewDraft, needed: bool):
        existing = next(
            (
                c
                for c in state.issue_comments
                if self._ours(c.author) and c.body.lstrip().startswith(SUMMARY_MARKER)
            ),
            None,
        )
        if existing is None:
            if needed:
                await self.client.create_issue_comment(
                    pull.number, draft.summary_body, marker=SUMMARY_MARKER
                )
                self.outcome.summary = "created"
            return
        if existing.body.strip() == draft.summary_body.strip():
            self.outcome.summary = "unchanged"
            return
        await self.client.edit_issue_comment(pull.number, existing.id, draft.summary_body)
        self.outcome.summary = "edited"


def _blocks(thread: ThreadInfo, run: ReviewRun) -> bool:
    """Whether a thread stops its finding from being posted again: it is open, or a human
    resolved it. Only a thread we resolved ourselves (the finding was fixed) lets a finding
    that comes back be raised anew."""
    if not thread.is_resolved:
        return True
    return not (run._ours(thread.last_author) and RESOLVED_MARKER in thread.last_body)


def _to_summary(placed: list[PlacedFinding], fingerprints: set[str]) -> list[PlacedFinding]:
    return [
        replace(p, placement=Placement.SUMMARY, line=None, start_line=None, suggestion=None)
        if p.finding.fingerprint() in fingerprints
        else p
        for p in placed
    ]


def _parse_config(text: str | None, problem: str | None) -> tuple[Config, list[str]]:
    notes: list[str] = []
    if problem:
        notes.append(
            f"`{CONFIG_PATH}` on the base branch could not be read ({problem}); "
            "the defaults were used."
        )
        return DEFAULT_CONFIG, notes
    try:
        return load_config(text, registry.IDS), notes
    except ConfigError as exc:
        notes.append(
            f"`{CONFIG_PATH}` on the base branch is invalid ({exc}); the defaults were used."
        )
        return DEFAULT_CONFIG, notes


def _check_title(draft: ReviewDraft) -> str:
    parts = [f"{n} {sev}{'' if n == 1 else 's'}" for sev, n in draft.counts.items() if n]
    return ", ".join(parts) if parts else "All clear"


def _annotation(finding: Finding) -> Annotation:
    location = finding.location
    return Annotation(
        path=location.path,
        start_line=location.line,
        end_line=location.end_line,
        level=_LEVELS[finding.severity],
        message=finding.message,
        title=f"{finding.rule}: {finding.fix.title}" if finding.fix else finding.rule,
        start_column=location.column,
        end_column=location.end_column,
    )

"""A rule of our own for the App's tests, so they control exactly which findings exist: every
`runs-on: ubuntu-latest` line is flagged, with a safe one-line fix to `ubuntu-24.04`. Its
fingerprint is the job id, so it survives lines moving, as the real rules' do."""

from __future__ import annotations

from collections.abc import Iterator
import re

from rules.context import FileContext
from rules.model import Applicability, Edit, Finding, Fix, FixAvailability, Location, Rule, Severity

RULE = Rule(
    id="pinned-runner",
    title="runner label that moves",
    severity=Severity.ERROR,
    fix_availability=FixAvailability.ALWAYS,
)

_LINE_RE = re.compile(r"^(?P<indent>\s*)runs-on:\s*ubuntu-latest\s*$")
_JOB_RE = re.compile(r"^  (?P<job>[\w-]+):\s*$")


def check(ctx: FileContext) -> Iterator[Finding]:
    job = ""
    for number, text in enumerate(ctx.document.lines, start=1):
        line = text.rstrip("\r\n")
        job_match = _JOB_RE.match(line)
        if job_match:
            job = job_match.group("job")
        match = _LINE_RE.match(line)
        if match is None:
            continue
        start = line.index("ubuntu-latest") + 1
        fix = Fix(
            "pin the runner to ubuntu-24.04",
            Applicability.SAFE,
            (Edit(ctx.path, number, number, line.replace("ubuntu-latest", "ubuntu-24.04") + "\n"),),
        )
        yield RULE.finding(
            Location(ctx.path, number, start, number, start + len("ubuntu-latest")),
            f'job "{job}" runs on "ubuntu-latest", which moves to a new image without notice',
            fix=fix,
            route=("jobs", job, "runs-on"),
            subject=job,
        )

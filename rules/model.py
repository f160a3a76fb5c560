"""The data the engine speaks: rules, findings, locations and fixes.

Every line and column is 1-based. Columns count characters, not bytes. A fix replaces whole
lines because a GitHub ```suggestion``` replaces whole lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
import enum
import hashlib
import itertools

DOCS_BASE_URL = "https://github.com/preflight-ci/preflight/blob/main/docs/rules.md"


class Severity(enum.Enum):
    NOTE = "note"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls(text)
        except ValueError:
            allowed = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {text!r}; allowed: {allowed}") from None


_SEVERITY_RANK = {Severity.NOTE: 1, Severity.WARNING: 2, Severity.ERROR: 3}


class Applicability(enum.Enum):
    """How much a fix may be trusted (ruff's model)."""

    SAFE = "safe"  # keeps the workflow's meaning; applied by --fix
    UNSAFE = "unsafe"  # may change behaviour; applied only with --unsafe-fixes
    DISPLAY_ONLY = "display-only"  # shown, never applied automatically as a suggestion


class FixAvailability(enum.Enum):
    ALWAYS = "always"
    SOMETIMES = "sometimes"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Location:
    path: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __post_init__(self) -> None:
        if self.line < 1 or self.column < 1:
            raise ValueError(f"locations are 1-based, got {self.line}:{self.column}")
        if (self.end_line, self.end_column) < (self.line, self.column):
            raise ValueError(f"location ends before it starts: {self}")


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace lines start_line..end_line (inclusive) of path with new_text.

    new_text is whole lines, each ending in a newline; an empty string deletes the lines.
    """

    path: str
    start_line: int
    end_line: int
    new_text: str

    def __post_init__(self) -> None:
        if self.start_line < 1 or self.end_line < self.start_line:
            raise ValueError(f"bad edit range {self.start_line}..{self.end_line}")
        if self.new_text and not self.new_text.endswith("\n"):
            raise ValueError("edit text must be whole lines ending in a newline")

    def overlaps(self, other: Edit) -> bool:
        return (
            self.path == other.path
            and self.start_line <= other.end_line
            and other.start_line <= self.end_line
        )


@dataclass(frozen=True, slots=True)
class Move:
    """Rename a file. A suggestion cannot express this, so a fix with a move is display-only
    in a review; ``preflight check --fix`` performs it."""

    source: str
    target: str


@dataclass(frozen=True, slots=True)
class Fix:
    title: str
    applicability: Applicability
    edits: tuple[Edit, ...] = ()
    moves: tuple[Move, ...] = ()

    def __post_init__(self) -> None:
        ordered = sorted(self.edits, key=lambda e: (e.path, e.start_line))
        for first, second in itertools.pairwise(ordered):
            if first.overlaps(second):
                raise ValueError(f"edits of one fix overlap: {first} / {second}")
        object.__setattr__(self, "edits", tuple(ordered))

    def is_applicable(self, unsafe: bool = False) -> bool:
        if self.applicability is Applicability.DISPLAY_ONLY:
            return False
        return self.applicability is Applicability.SAFE or unsafe


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    location: Location
    message: str
    fix: Fix | None = None
    docs_url: str = ""
    # Symbolic place of the finding (keys and indices from the document root), and what it is
    # about. Together with rule and path they make a fingerprint that survives line shifts.
    route: tuple[str | int, ...] = ()
    subject: str = ""
    # Set when this finding's fix was merged into another finding's fix (see rules.fixes).
    fix_carried_by: Location | None = None
    related: tuple[Location, ...] = field(default=())

    @property
    def path(self) -> str:
        return self.location.path

    def fingerprint(self) -> str:
        """A short stable id: rule, path, YAML route and subject; never line numbers."""
        route = "/".join(str(part) for part in self.route)
        raw = "\x1f".join((self.rule, self.location.path, route, self.subject))
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    def sort_key(self) -> tuple:
        loc = self.location
        return (loc.path, loc.line, loc.column, self.rule, self.message)


@dataclass(frozen=True, slots=True)
class FileError:
    """A file or rule that could not be checked, or a limit that was hit; the rest of the run
    goes on. The severity decides, like a finding's, whether it fails the check: a workflow
    GitHub would reject is an error, a link that was not followed is a note."""

    path: str
    message: str
    rule: str | None = None
    severity: Severity = Severity.ERROR


def docs_url(rule_id: str) -> str:
    return f"{DOCS_BASE_URL}#{rule_id}"


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule's metadata. The runner stamps severity overrides from the configuration."""

    id: str
    title: str
    severity: Severity
    fix_availability: FixAvailability = FixAvailability.NONE

    @property
    def docs_url(self) -> str:
        return docs_url(self.id)

    def finding(
        self,
        location: Location,
        message: str,
        *,
        fix: Fix | None = None,
        severity: Severity | None = None,
        route: Iterable[str | int] = (),
        subject: str = "",
        related: Iterable[Location] = (),
    ) -> Finding:
        return Finding(
            rule=self.id,
            severity=severity or self.severity,
            location=location,
            message=message,
            fix=fix,
            docs_url=self.docs_url,
            route=tuple(route),
            subject=subject,
            related=tuple(related),
        )

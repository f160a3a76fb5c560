"""A `paths` or `paths-ignore` filter entry that matches no file.

What it does
------------
Matches every entry of `on.<push|pull_request|pull_request_target>.paths` and `paths-ignore`
against every path of the repository at head, with GitHub's filter-pattern semantics (`*`
does not cross `/`, `**` does, `?`, `+`, `[...]`, a leading `!` negates, and a pattern must
match the whole path). It reports:

- an entry that matches no file (warning). A `!` entry that excludes nothing is dead too.
  Submodules count as single paths: a submodule update changes the path `vendor/lib`, never
  `vendor/lib/**`.
- a workflow whose filter names its own file at a path where it does not live, after a
  rename or a misplacement (error): edits to the workflow no longer trigger it.
- an entry with invalid syntax (error), one that looks like a regular expression
  (`^src/.*\\.py$`), and one with a leading `./` or `/`, which never matches (warning).
- in a review, an entry that matched a file the pull request removes or renames, also on
  workflows the pull request does not touch (that finding goes in the review summary).
- a note when a `paths` filter (not `paths-ignore`) leaves out the Dockerfile that a
  `docker/build-push-action` step of the workflow builds (`file:`).

Workflows parked on purpose (see misplaced-workflow) get notes only, and their filter may
name the place they will have when switched back on. Templates and example workflows outside
`.github/` are not checked. When the tree listing is truncated nothing is reported as
matching no file. Branch and tag filters are out of scope.

Why it matters
--------------
A filter entry that matches nothing fails silently: the workflow does not run for the changes
it was meant to guard (a typo such as `verl/worksers/**`, a bare folder name, `*.go` when every
Go file sits in a subfolder), or, in `paths-ignore`, runs when it was meant to be skipped.

Bad
---
```yaml
on:
  pull_request:
    paths:
      - "*.go"            # every .go file is in a subfolder
      - "src/app"         # a folder: matches no file
      - ".github/workflows/build-old.yml"   # this workflow was renamed
```

Good
----
```yaml
on:
  pull_request:
    paths:
      - "**.go"
      - "src/app/**"
      - ".github/workflows/build.yml"
```

Fix safety
----------
A fix replaces only the entry's line (in a flow list `[a, b]`, the whole line with the other
entries kept), in the entry's own quoting. It is **safe** when it only makes the filter match
what was evidently meant: a bare folder `dir` -> `dir/**` (a file path never equals a folder
name, so the entry can only have meant the folder), a leading `./` dropped, the workflow's own
path after a rename, a path the pull request renamed, and a typo corrected to the one close
existing name (one path component, at most two characters apart). It is **unsafe** when it
reinterprets the pattern: `*.go` -> `**.go` and `dir/*` -> `dir/**` turn "top level only"
into "any depth", which changes which pushes run the workflow and could be what the author
meant for files that do not exist yet; a farther or multi-component correction; a pattern
translated from a regular expression; and the note's added Dockerfile entry, which widens
what triggers the workflow.

For a misplaced workflow whose filter names the place it belongs (the entry says
`.github/workflows/x.yml`, the file is at `.github/x.yml`), the fix is misplaced-workflow's
move, never an edit of the entry to the misplaced location: the filter and the file's place
disagree, and moving the file mends both.

References
----------
- https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions#onpushpull_requestpull_request_targetpathspaths-ignore
- https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions#filter-pattern-cheat-sheet
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
import difflib
import logging
import posixpath
import re

from rules import misplaced_workflow
from rules.context import FileContext, RepoContext, looks_like_workflow
from rules.globs import (
    FilterPattern,
    GlobSyntaxError,
    PathIndex,
    compile_pattern,
    filter_matches,
    has_special,
    looks_like_regex,
)
from rules.model import (
    Applicability,
    Edit,
    Finding,
    Fix,
    FixAvailability,
    Rule,
    Severity,
)
from rules.snapshot import (
    YAML_SUFFIXES,
    ChangedFile,
    ChangeStatus,
    EntryKind,
    RepoSnapshot,
    is_workflow_location,
)
from rules.workflow_places import WORKFLOWS_DIR, Place, Placement
from rules.yamlpos import Node, ScalarNode, YamlDocument, get, is_mapping, items, scalar, seq

log = logging.getLogger(__name__)

RULE = Rule(
    id="unmatched-paths-filter",
    title="paths filter entry that matches no file",
    severity=Severity.WARNING,
    fix_availability=FixAvailability.SOMETIMES,
)

EVENTS = ("push", "pull_request", "pull_request_target")
FILTER_KEYS = ("paths", "paths-ignore")

# difflib similarity a name must reach to be offered as the correction of a typo.
TYPO_CUTOFF = 0.8
# A correction at most this many characters away, in one path component, is safe.
SAFE_TYPO_DISTANCE = 2
# How similar an entry's file name must be to the workflow's own to be taken for it.
SELF_NAME_CUTOFF = 0.75


# --- the filter entries ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FilterEntry:
    """One entry of a paths/paths-ignore list. Lists shared through a YAML alias are one
    entry with several events."""

    events: tuple[str, ...]
    key: str  # "paths" or "paths-ignore"
    index: int | None  # None when the filter is a single scalar
    text: str
    node: ScalarNode
    siblings: tuple[str, ...]  # every entry of the same list, in order

    @property
    def route(self) -> tuple[str | int, ...]:
        route: tuple[str | int, ...] = ("on", self.events[0], self.key)
        return route if self.index is None else (*route, self.index)

    def describe(self) -> str:
        events = " and ".join(f'"{event}"' for event in self.events)
        return f'{self.key} filter "{self.text}" of {events}'


def filter_entries(root: Node | None) -> list[FilterEntry]:
    on = get(root, "on")
    if not is_mapping(on):
        return []
    found: dict[int, FilterEntry] = {}
    for event in EVENTS:
        trigger = get(on, event)
        for key in FILTER_KEYS:
            node = get(trigger, key)
            if node is None:
                continue
            pairs: list[tuple[int | None, Node]] = (
                [(None, node)] if isinstance(node, ScalarNode) else list(enumerate(seq(node)))
            )
            texts = tuple(t for _, item in pairs if (t := scalar(item)) is not None)
            for index, item in pairs:
                text = scalar(item)
                if text is None or not isinstance(item, ScalarNode):
                    continue
                known = found.get(id(item))
                if known is not None:
                    if event not in known.events:
                        found[id(item)] = FilterEntry((*known.events, event), *_tail(known))
                    continue
                found[id(item)] = FilterEntry((event,), key, index, text, item, texts)
    return sorted(found.values(), key=lambda e: e.node.start_mark.index)


def _tail(entry: FilterEntry) -> tuple:
    return entry.key, entry.index, entry.text, entry.node, entry.siblings


# --- the path index, built once per snapshot ---------------------------------------------------

# A few recent snapshots (identity, not equality): a run checks many files of one snapshot,
# and the App may review a couple of pull requests at once.
_INDEXES: list[tuple[RepoSnapshot, PathIndex, tuple[str, ...]]] = []
_INDEXES_KEPT = 4
# Typo corrections by (index identity, entry, excluded paths): workflows copied from one
# another repeat the same stale entries, and a correction scans folder listings.
_NEAREST: dict[tuple[int, str, frozenset[str]], tuple[str, int, int] | None] = {}


def _indexes(snapshot: RepoSnapshot) -> tuple[PathIndex, tuple[str, ...]]:
    for known, index, submodules in _INDEXES:
        if known is snapshot:
            return index, submodules
    index = PathIndex(snapshot.paths)
    submodules = tuple(p for p, kind in snapshot.tree.items() if kind is EntryKind.SUBMODULE)
    _INDEXES.insert(0, (snapshot, index, submodules))
    del _INDEXES[_INDEXES_KEPT:]
    live = {id(kept) for _, kept, _ in _INDEXES}
    for key in [key for key in _NEAREST if key[0] not in live]:
        del _NEAREST[key]
    return index, submodules


def path_index(snapshot: RepoSnapshot) -> PathIndex:
    """The PathIndex of a snapshot, shared by every file of one run."""
    return _indexes(snapshot)[0]


# --- the checks --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Problem:
    message: str
    severity: Severity = Severity.WARNING
    fix: Fix | None = None


def check(ctx: FileContext) -> Iterator[Finding]:
    document = ctx.document
    if not looks_like_workflow(document.root):
        return
    placement = misplaced_workflow.placement_of(document)
    if placement.place in (Place.TEMPLATE, Place.UNRELATED):
        return
    entries = filter_entries(document.root)
    if not entries:
        return
    index = path_index(ctx.repo.snapshot)
    parked = placement.place is Place.PARKED
    found = [
        (entry, problem)
        for entry in entries
        if (problem := _entry_problem(ctx.repo, document, placement, entry, index)) is not None
    ]
    fixes = _share_line_fixes(document, found)
    for (entry, problem), fix in zip(found, fixes, strict=True):
        yield RULE.finding(
            document.node_location(entry.node),
            problem.message,
            fix=fix,
            severity=Severity.NOTE if parked else problem.severity,
            route=entry.route,
            subject=entry.text,
        )
    if not parked:
        yield from _uncovered_dockerfiles(ctx, entries)


def _share_line_fixes(
    document: YamlDocument, found: list[tuple[FilterEntry, _Problem]]
) -> list[Fix | None]:
    """Fixes of several entries on one line (a flow list) would conflict, because a fix
    replaces whole lines. Each of them gets the one edit that makes all the line's
    replacements, with the weakest applicability among them."""
    spans: dict[int, list[tuple[int, int, str, int]]] = {}
    for position, (entry, problem) in enumerate(found):
        fix = problem.fix
        if fix is None or fix.moves or len(fix.edits) != 1:
            continue
        edit = fix.edits[0]
        location = document.node_location(entry.node)
        if edit.start_line != location.line or edit.end_line != location.line:
            continue
        line = document.line_text(location.line)
        start, end = location.column - 1, location.end_column - 1
        rendered = edit.new_text[start : len(edit.new_text) - (len(line) - end)]
        spans.setdefault(location.line, []).append((start, end, rendered, position))
    fixes = [problem.fix for _, problem in found]
    for line_number, replacements in spans.items():
        if len(replacements) < 2:
            continue
        line = document.line_text(line_number)
        for start, end, rendered, _ in sorted(replacements, reverse=True):
            line = line[:start] + rendered + line[end:]
        members = [fixes[position] for *_, position in replacements]
        weakest = max(
            (fix.applicability for fix in members if fix is not None),
            key=[Applicability.SAFE, Applicability.UNSAFE, Applicability.DISPLAY_ONLY].index,
        )
        edit = Edit(document.path, line_number, line_number, line)
        for *_, position in replacements:
            own = fixes[position]
            if own is not None:
                fixes[position] = Fix(own.title, weakest, (edit,))
    return fixes


def check_repository(repo: RepoContext) -> Iterator[Finding]:
    """In a review: filters of workflows the pull request does not touch that named a file the
    pull request removes or renames, and now match nothing."""
    snapshot = repo.snapshot
    if snapshot.changes is None or snapshot.truncated:
        return
    if not any(_gone_path(change) for change in snapshot.changes):
        return
    touched = {change.path for change in snapshot.changes}
    touched |= {change.previous_path for change in snapshot.changes if change.previous_path}
    index = path_index(snapshot)
    for path in sorted(repo.workflow_paths()):
        if path in touched or path in repo.targets:
            continue
        text = snapshot.read(path)
        if not text or "paths" not in text:
            continue
        document = repo.document(path)
        if document is None or not looks_like_workflow(document.root):
            continue
        for entry in filter_entries(document.root):
            try:
                pattern = compile_pattern(entry.text)
            except GlobSyntaxError:
                continue
            if index.first_match(pattern) is not None:
                continue
            problem = _changed_away(document, entry, pattern, snapshot, index)
            if problem is not None:
                yield RULE.finding(
                    document.node_location(entry.node),
                    problem.message,
                    fix=problem.fix,
                    severity=problem.severity,
                    route=entry.route,
                    subject=entry.text,
                )


def _entry_problem(
    repo: RepoContext,
    document: YamlDocument,
    placement: Placement,
    entry: FilterEntry,
    index: PathIndex,
) -> _Problem | None:
    text = entry.text
    negation = "!" if text.startswith("!") else ""
    body = text[len(negation) :]
    try:
        pattern = compile_pattern(text)
    except GlobSyntaxError as exc:
        message = f"{entry.describe()} is not a valid filter pattern: {exc}"
        if looks_like_regex(text):
            message += "; it looks like a regular expression, but filters are glob patterns"
        return _Problem(message, Severity.ERROR)
    if body.startswith(("./", "/")):
        lead = "./" if body.startswith("./") else "/"
        stripped = body[len(lead) :].lstrip("/")
        fix = None
        if stripped and _compiles(negation + stripped):
            fix = _replace_fix(
                document,
                entry,
                negation + stripped,
                Applicability.SAFE,
                f'drop the leading "{lead}"',
            )
        return _Problem(
            f"{entry.describe()} never matches: paths are relative to the repository root and "
            f'never start with "{lead}"',
            fix=fix,
        )
    snapshot = repo.snapshot
    if snapshot.truncated or index.first_match(pattern) is not None:
        return None
    if placement.place is Place.PARKED and body == f"{WORKFLOWS_DIR}/" + posixpath.basename(
        document.path
    ):
        return None  # names the place the parked workflow returns to
    if not negation and entry.key == "paths":
        problem = _self_path(repo, document, placement, entry, body, index)
        if problem is not None:
            return problem
    problem = _changed_away(document, entry, pattern, snapshot, index)
    if problem is not None:
        return problem
    unmatched = (
        f"{entry.describe()} excludes no file in the repository, so it has no effect"
        if negation
        else f"{entry.describe()} matches no file in the repository"
    )
    for submodule in _submodules(snapshot):
        if body.startswith(submodule + "/"):
            return _Problem(
                f'{unmatched}: "{submodule}" is a submodule, and its updates change only the '
                f'path "{submodule}"',
                fix=_replace_fix(document, entry, negation + submodule, Applicability.SAFE),
            )
    if looks_like_regex(body):
        return _regex_problem(document, entry, negation, body, index)
    if not has_special(body) and index.is_folder(body):
        folder = body.rstrip("/")
        return _Problem(
            f"{entry.describe()} names a folder, but a pattern must match whole file paths, "
            f'so it matches no file; "{folder}/**" matches the files in it',
            fix=_replace_fix(document, entry, f"{negation}{folder}/**", Applicability.SAFE),
        )
    widened = _widen_stars(body)
    if widened is not None:
        example = index.first_match(compile_pattern(widened))
        if example is not None:
            return _Problem(
                f'{unmatched}: "*" does not match "/", and the files it was probably meant for '
                f'lie in subfolders, such as "{example}"',
                fix=_replace_fix(document, entry, negation + widened, Applicability.UNSAFE),
            )
    exclude = {document.path} if placement.place is Place.MISPLACED else set()
    guess = _nearest(body, index, exclude)
    if guess is not None:
        corrected, distance, corrections = guess
        safe = corrections == 1 and distance <= SAFE_TYPO_DISTANCE
        return _Problem(
            f'{unmatched}; did you mean "{negation}{corrected}"?',
            fix=_replace_fix(
                document,
                entry,
                negation + corrected,
                Applicability.SAFE if safe else Applicability.UNSAFE,
            ),
        )
    return _Problem(unmatched)


def _compiles(text: str) -> bool:
    try:
        compile_pattern(text)
    except GlobSyntaxError:
        return False
    return True


def _matches_something(text: str | None, index: PathIndex) -> bool:
    if text is None or not _compiles(text):
        return False
    return index.first_match(compile_pattern(text)) is not None


def _submodules(snapshot: RepoSnapshot) -> tuple[str, ...]:
    return _indexes(snapshot)[1]


# --- the workflow's own path -------------------------------------------------------------------


def _self_path(
    repo: RepoContext,
    document: YamlDocument,
    placement: Placement,
    entry: FilterEntry,
    body: str,
    index: PathIndex,
) -> _Problem | None:
    """An entry naming this workflow at a path where it does not live."""
    own = document.path
    if has_special(body) or not body.endswith(YAML_SUFFIXES):
        return None
    others = [t for t in entry.siblings if t != entry.text and not t.startswith("!")]
    if any(_matches(t, own) for t in others):
        return None  # the filter already covers this file; the entry is about something else
    renamed_from = repo.snapshot.renamed_from(own)
    if placement.place is Place.MISPLACED:
        target = placement.target
        move = misplaced_workflow.planned_move(repo, document)
        if body == target:
            return _Problem(
                f"{entry.describe()} names the place this workflow belongs, but the file "
                f'lives at "{own}", where GitHub never loads it; the filter and the file\'s '
                "place disagree, and moving the file mends both",
                Severity.ERROR,
                fix=misplaced_workflow.move_fix(repo, own, target) if move else None,
            )
        if body == renamed_from or (
            is_workflow_location(body) and _names_own_workflow(body, index, own)
        ):
            fix = None
            if move is not None and target is not None:
                edit = _replace_edit(document, entry, target)
                if edit is not None:
                    command = misplaced_workflow.move_fix(repo, own, target).title
                    fix = Fix(
                        title=f'Name "{target}" in the filter; {command[:1].lower()}{command[1:]}',
                        applicability=Applicability.SAFE,
                        edits=(edit,),
                        moves=(move,),
                    )
            return _Problem(
                f"{entry.describe()} names this workflow under another name, but the file "
                f'lives at "{own}", where GitHub never loads it',
                Severity.ERROR,
                fix=fix,
            )
        return None
    if placement.place is not Place.LOADED:
        return None
    if renamed_from is not None and body == renamed_from:
        return _Problem(
            f"{entry.describe()} names this workflow's old path: this pull request renames it "
            f'to "{own}", so edits to it no longer trigger it',
            Severity.ERROR,
            fix=_replace_fix(document, entry, own, Applicability.SAFE, "name this workflow's path"),
        )
    if is_workflow_location(body) and _names_own_workflow(body, index, own):
        return _Problem(
            f"{entry.describe()} names this workflow at a path where it does not live; it is "
            f'at "{own}", so edits to it no longer trigger it',
            Severity.ERROR,
            fix=_replace_fix(document, entry, own, Applicability.SAFE, "name this workflow's path"),
        )
    return None


def _matches(pattern_text: str, path: str) -> bool:
    try:
        return compile_pattern(pattern_text).matches(path)
    except GlobSyntaxError:
        return False


def _names_own_workflow(entry_path: str, index: PathIndex, own: str) -> bool:
    """Whether the entry's file name is nearer to this workflow's name than to any other
    workflow's, and near enough to be taken for it."""
    matcher = difflib.SequenceMatcher(None, "", posixpath.basename(entry_path))
    own_name = posixpath.basename(own)
    matcher.set_seq1(own_name)
    own_score = matcher.ratio()
    if own_score < SELF_NAME_CUTOFF:
        return False
    for name in index.children(WORKFLOWS_DIR):
        if name == own_name or not name.endswith(YAML_SUFFIXES):
            continue
        matcher.set_seq1(name)
        # The cheap upper bounds rule out almost every name before the real ratio.
        if (
            matcher.real_quick_ratio() >= own_score
            and matcher.quick_ratio() >= own_score
            and matcher.ratio() >= own_score
        ):
            return False  # another workflow is at least as likely
    return True


# --- removed and renamed files of a review -----------------------------------------------------


def _gone_path(change: ChangedFile) -> str | None:
    if change.status is ChangeStatus.REMOVED:
        return change.path
    if change.status is ChangeStatus.RENAMED and change.previous_path:
        return change.previous_path
    return None


def _changed_away(
    document: YamlDocument,
    entry: FilterEntry,
    pattern: FilterPattern,
    snapshot: RepoSnapshot,
    index: PathIndex,
) -> _Problem | None:
    """The entry matched a file this pull request removes or renames (it matches none now)."""
    for change in snapshot.changes or ():
        old = _gone_path(change)
        if old is None or not pattern.matches(old):
            continue
        lead = f"{entry.describe()} matches no file any more"
        if change.status is ChangeStatus.REMOVED:
            return _Problem(f'{lead}: this pull request removes "{old}"')
        fix = None
        replacement = _follow_rename(pattern, old, change.path)
        if _matches_something(replacement, index):
            fix = _replace_fix(document, entry, replacement, Applicability.SAFE)
        return _Problem(f'{lead}: this pull request renames "{old}" to "{change.path}"', fix=fix)
    return None


def _follow_rename(pattern: FilterPattern, old: str, new: str) -> str | None:
    """The entry rewritten for a rename: the literal path itself, or the renamed folder at
    the front of a pattern (`src/old/**` after `src/old/a.py` -> `src/new/a.py`)."""
    negation = "!" if pattern.negated else ""
    body = pattern.text[len(negation) :]
    if body == old:
        return negation + new
    old_parts, new_parts = old.split("/"), new.split("/")
    while len(old_parts) > 1 and len(new_parts) > 1 and old_parts[-1] == new_parts[-1]:
        old_parts.pop()
        new_parts.pop()
    old_head, new_head = "/".join(old_parts), "/".join(new_parts)
    if old_head != old and body.startswith(old_head + "/"):
        return negation + new_head + body[len(old_head) :]
    return None


# --- suggestions -------------------------------------------------------------------------------

_REGEX_TOKENS = (("\\.", "."), ("\\/", "/"), (".*", "**"), (".+", "**"))


def _regex_problem(
    document: YamlDocument, entry: FilterEntry, negation: str, body: str, index: PathIndex
) -> _Problem:
    message = (
        f'{entry.describe()} looks like a regular expression, but filters are glob patterns ("*" '
        'matches any characters but "/", "**" any characters), so it matches no file'
    )
    glob = body.removeprefix("^").removesuffix("$")
    for regex_text, glob_text in _REGEX_TOKENS:
        glob = glob.replace(regex_text, glob_text)
    fix = None
    if not re.search(r"[()|{}^$\\]", glob) and _matches_something(glob, index):
        message += f'; "{negation}{glob}" would match files'
        fix = _replace_fix(document, entry, negation + glob, Applicability.UNSAFE)
    return _Problem(message, fix=fix)


def _widen_stars(body: str) -> str | None:
    """`*.go` -> `**.go`, `test/*` -> `test/**`: every lone `*` made to cross folders."""
    if "*" not in body or "\\" in body:
        return None
    widened = re.sub(r"(?<!\*)\*(?!\*)", "**", body)
    return widened if widened != body and _compiles(widened) else None


def _nearest(body: str, index: PathIndex, exclude: set[str]) -> tuple[str, int, int] | None:
    key = (id(index), body, frozenset(exclude))
    if key not in _NEAREST:
        _NEAREST[key] = _correct(body, index, exclude)
    return _NEAREST[key]


def _correct(body: str, index: PathIndex, exclude: set[str]) -> tuple[str, int, int] | None:
    """The entry with its literal path components corrected to the closest existing names:
    (corrected entry, characters changed, components changed), or None when no correction
    leads to a match."""
    parts = body.split("/")
    fixed: list[str] = []
    corrections = 0
    distance = 0
    for position, part in enumerate(parts):
        if has_special(part):
            fixed.extend(parts[position:])
            break
        folder = "/".join(fixed)
        names = index.children(folder)
        if part in names:
            fixed.append(part)
            continue
        last = position == len(parts) - 1
        candidates = [
            name
            for name in names
            if (last or index.is_folder(f"{folder}/{name}" if folder else name))
            and (f"{folder}/{name}" if folder else name) not in exclude
        ]
        close = difflib.get_close_matches(part, candidates, n=2, cutoff=TYPO_CUTOFF)
        if not close:
            return None
        if len(close) == 2 and _ratio(part, close[0]) == _ratio(part, close[1]):
            return None  # two equally close names: no clear correction
        fixed.append(close[0])
        corrections += 1
        distance += _distance(part, close[0])
    if corrections == 0 or corrections > 2:
        return None
    corrected = "/".join(fixed)
    if not _compiles(corrected):
        return None
    if index.first_match(compile_pattern(corrected)) is None:
        if has_special(corrected) or not index.is_folder(corrected):
            return None
        corrected += "/**"
    if corrected in exclude:
        return None
    return corrected, distance, corrections


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def _distance(a: str, b: str) -> int:
    """Characters changed between a and b (an edit distance from difflib's opcodes)."""
    opcodes = difflib.SequenceMatcher(None, a, b).get_opcodes()
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in opcodes if tag != "equal")


# --- edits in the entry's own style ------------------------------------------------------------

_PLAIN_SAFE = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_./*+?\-]*")


def render_scalar(value: str, style: str | None, in_flow: bool) -> str:
    """value as a YAML scalar in the given quoting style; plain only when that stays a
    string of the same text."""
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style == '"' or not _PLAIN_SAFE.fullmatch(value) or (in_flow and "," in value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def _replace_edit(document: YamlDocument, entry: FilterEntry, new_value: str) -> Edit | None:
    location = document.node_location(entry.node)
    if location.line != location.end_line:
        return None  # a scalar folded over several lines: leave it to a human
    line = document.line_text(location.line)
    start, end = location.column - 1, location.end_column - 1
    in_flow = not line[:start].strip().startswith("-") and "[" in line[:start]
    rendered = render_scalar(new_value, entry.node.style, in_flow)
    return Edit(document.path, location.line, location.line, line[:start] + rendered + line[end:])


def _replace_fix(
    document: YamlDocument,
    entry: FilterEntry,
    new_value: str,
    applicability: Applicability,
    reason: str = "",
) -> Fix | None:
    edit = _replace_edit(document, entry, new_value)
    if edit is None:
        return None
    title = f'Replace with "{new_value}"'
    if reason:
        title = f'{reason[:1].upper()}{reason[1:]}: replace with "{new_value}"'
    return Fix(title=title, applicability=applicability, edits=(edit,))


# --- the Dockerfile a paths filter leaves out --------------------------------------------------


def _uncovered_dockerfiles(ctx: FileContext, entries: list[FilterEntry]) -> Iterator[Finding]:
    document = ctx.document
    snapshot = ctx.repo.snapshot
    built = list(_built_dockerfiles(document))
    if not built:
        return
    on = get(document.root, "on")
    for event in EVENTS:
        paths_node = get(get(on, event), "paths")
        event_entries = [e for e in entries if e.key == "paths" and event in e.events]
        if paths_node is None or not event_entries:
            continue
        if event_entries[0].events[0] != event:
            continue  # a list shared by alias: noted once, for its first event
        patterns = [e.text for e in event_entries]
        for dockerfile, job_id in built:
            if not snapshot.exists(dockerfile) or filter_matches(patterns, dockerfile):
                continue
            key_location = document.locate_key(("on", event, "paths"))
            if key_location is None:
                continue
            yield RULE.finding(
                key_location,
                f'paths filter of "{event}" does not cover "{dockerfile}", which job '
                f'"{job_id}" builds, so changes to it do not trigger this workflow',
                fix=_append_entry_fix(document, event_entries, dockerfile),
                severity=Severity.NOTE,
                route=("on", event, "paths"),
                subject=dockerfile,
            )


def _built_dockerfiles(document: YamlDocument) -> Iterator[tuple[str, str]]:
    seen: set[str] = set()
    for job_key, job in items(get(document.root, "jobs")):
        for step in seq(get(job, "steps")):
            uses = scalar(get(step, "uses")) or ""
            if not uses.startswith("docker/build-push-action@"):
                continue
            file = scalar(get(get(step, "with"), "file"))
            if not file or "${{" in file:
                continue
            path = posixpath.normpath(file.strip())
            if path.startswith("../") or path.startswith("/") or path in seen:
                continue
            seen.add(path)
            yield path, job_key.value


def _append_entry_fix(
    document: YamlDocument, entries: list[FilterEntry], dockerfile: str
) -> Fix | None:
    last = entries[-1]
    location = document.node_location(last.node)
    if last.index is None or location.line != location.end_line:
        return None
    line = document.line_text(location.line)
    before = line[: location.column - 1]
    if before.strip() != "-":
        return None  # only a block list with one entry per line
    ending = line[len(line.rstrip("\r\n")) :] or "\n"
    new_line = before + render_scalar(dockerfile, last.node.style, False) + ending
    if not line.endswith(("\n", "\r")):
        line += ending
    return Fix(
        title=f'Add "{dockerfile}" to the paths filter',
        applicability=Applicability.UNSAFE,
        edits=(Edit(document.path, location.line, location.line, line + new_line),),
    )

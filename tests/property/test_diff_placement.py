"""Property: `bot.diffmap.place` never puts a comment where GitHub would refuse it.

Random patches are built from hunks of context, added and deleted lines with headers that add
up, the way GitHub writes `/pulls/{n}/files` patches; the reference set of commentable lines of
each hunk is computed here from the generated operations, not by the code under test. For
random findings (some with fixes that may become suggestions), every inline placement must lie
inside one hunk's new-side lines, a multi-line one must name its start, and two suggestions
never share a line.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.diffmap import DiffIndex, FilePatch, Placement, place
from rules.model import Applicability, Edit, Fix, FixAvailability, Location, Rule, Severity

RULE = Rule("random-rule", "a random rule", Severity.WARNING, FixAvailability.SOMETIMES)
PATHS = (".github/workflows/a.yml", ".github/workflows/b.yml", "other.yml")

ops = st.lists(st.sampled_from(" +-"), min_size=1, max_size=12).filter(
    lambda o: any(c != " " for c in o)
)


@st.composite
def patches(draw):
    """(patch text, [set of new-side lines of each hunk])"""
    hunks = draw(st.lists(ops, min_size=1, max_size=5))
    old_line = new_line = 1
    lines: list[str] = []
    rights: list[set[int]] = []
    for index, operations in enumerate(hunks):
        gap = draw(st.integers(0 if index == 0 else 1, 40))
        old_line += gap
        new_line += gap
        old_count = sum(1 for o in operations if o != "+")
        new_count = sum(1 for o in operations if o != "-")
        old_start = old_line if old_count else old_line - 1
        new_start = new_line if new_count else new_line - 1
        lines.append(f"@@ -{old_start},{old_count} +{new_start},{new_count} @@")
        right: set[int] = set()
        for number, operation in enumerate(operations):
            if operation == " ":
                lines.append(f" context {number}")
                right.add(new_line)
                old_line += 1
                new_line += 1
            elif operation == "+":
                lines.append(f"+added {number}")
                right.add(new_line)
                new_line += 1
            else:
                lines.append(f"-deleted {number}")
                old_line += 1
        rights.append(right)
    return "\n".join(lines), rights


@st.composite
def findings(draw, max_line: int):
    path = draw(st.sampled_from(PATHS))
    line = draw(st.integers(1, max_line))
    end = draw(st.integers(line, line + 6))
    fix = None
    if draw(st.booleans()):
        start = draw(st.integers(max(1, line - 3), line + 3))
        edit = Edit(path, start, draw(st.integers(start, start + 4)), "fixed\n")
        applicability = draw(st.sampled_from(list(Applicability)))
        fix = Fix("fix it", applicability, (edit,))
    return RULE.finding(Location(path, line, 1, end, 2), "a finding", fix=fix, subject=str(line))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_inline_placements_stay_inside_one_hunk(data):
    patched = {
        path: data.draw(patches()) for path in PATHS[:2] if data.draw(st.booleans(), label=path)
    }
    diff = DiffIndex.from_patches(
        FilePatch(path, "modified", None, text) for path, (text, _) in patched.items()
    )
    assert not diff.errors
    max_line = max(
        (max(max(r, default=1) for r in rights) for _, rights in patched.values()), default=20
    )
    found = data.draw(st.lists(findings(max_line + 5), max_size=25))
    placed = place(found, diff, max_inline=data.draw(st.integers(0, 30)))
    assert [p.finding for p in placed] == found
    suggested: dict[str, set[int]] = {}
    for item in placed:
        path = item.finding.path
        if item.placement is not Placement.INLINE:
            assert item.line is None and item.start_line is None and item.suggestion is None
            if item.placement is Placement.FILE:
                assert path in patched
            continue
        assert path in patched
        start = item.start_line if item.start_line is not None else item.line
        assert item.start_line is None or item.start_line < item.line  # never start == line
        lines = set(range(start, item.line + 1))
        rights = patched[path][1]
        assert any(lines <= right for right in rights), (item, rights)
        if item.suggestion is not None:
            edit = item.suggestion
            assert (edit.start_line, edit.end_line) == (start, item.line)
            assert item.finding.fix.applicability is not Applicability.DISPLAY_ONLY
            taken = suggested.setdefault(path, set())
            assert not taken & lines  # one suggestion per line
            taken |= lines

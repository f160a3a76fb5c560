"""Fix merging and application: one non-overlapping edit per line range, applied in any order."""

from __future__ import annotations

import itertools

from rules.fixes import apply_fixes, combine_fixes, merge_edits, span_edit
from rules.model import Applicability, Edit, Finding, Fix, Location, Move, Severity

LINES = ["a\n", "b\n", "c\n", "d\n"]


def finding(line: int, fix: Fix | None, rule: str = "r") -> Finding:
    return Finding(rule, Severity.ERROR, Location("f", line, 1, line, 2), f"m{line}", fix)


def fix(*edits: Edit, applicability: Applicability = Applicability.SAFE) -> Fix:
    return Fix("do it", applicability, edits)


def test_two_insertions_at_one_anchor_merge_in_order():
    qemu = Edit("f", 2, 2, "Q\nb\n")
    login = Edit("f", 2, 3, "L\nb\nc\n")
    assert merge_edits(qemu, login, LINES) == Edit("f", 2, 3, "Q\nL\nb\nc\n")


def test_insertion_and_replacement_of_the_anchor_merge():
    assert merge_edits(Edit("f", 2, 2, "Q\nb\n"), Edit("f", 2, 2, "B\n"), LINES) == Edit(
        "f", 2, 2, "Q\nB\n"
    )


def test_two_different_replacements_of_one_line_conflict():
    assert merge_edits(Edit("f", 2, 2, "X\n"), Edit("f", 2, 2, "Y\n"), LINES) is None


def test_identical_edits_merge_into_one():
    edit = Edit("f", 3, 3, "C\n")
    assert merge_edits(edit, edit, LINES) == edit


def test_span_edit_keeps_the_lines_between():
    assert span_edit([Edit("f", 1, 1, "A\n"), Edit("f", 4, 4, "D\n")], LINES) == Edit(
        "f", 1, 4, "A\nb\nc\nD\n"
    )


def test_combine_gives_non_overlapping_fixes_and_a_pointer():
    first = finding(2, fix(Edit("f", 2, 2, "Q\nb\n")), "qemu")
    second = finding(2, fix(Edit("f", 2, 3, "L\nb\nc\n")), "login")
    combined = combine_fixes([first, second], lambda path: LINES)
    assert combined[0].fix.edits == (Edit("f", 2, 3, "Q\nL\nb\nc\n"),)
    assert combined[1].fix is None
    assert combined[1].fix_carried_by == first.location
    edits = [e for f in combined if f.fix for e in f.fix.edits]
    assert not any(a.overlaps(b) for a, b in itertools.combinations(edits, 2))


def test_combine_demotes_a_conflicting_fix_to_display_only():
    first = finding(2, fix(Edit("f", 2, 2, "X\n")))
    second = finding(2, fix(Edit("f", 2, 2, "Y\n")))
    combined = combine_fixes([first, second], lambda path: LINES)
    assert combined[0].fix == first.fix
    assert combined[1].fix.applicability is Applicability.DISPLAY_ONLY


def test_combine_spans_a_multi_edit_fix_into_one_edit():
    multi = finding(1, fix(Edit("f", 1, 1, "A\n"), Edit("f", 3, 3, "C\n")))
    (combined,) = combine_fixes([multi], lambda path: LINES)
    assert combined.fix.edits == (Edit("f", 1, 3, "A\nb\nC\n"),)


def test_apply_is_order_independent_for_non_overlapping_fixes():
    fixes = [finding(1, fix(Edit("f", 1, 1, "A\n"))), finding(3, fix(Edit("f", 3, 4, "CD\n")))]
    results = {
        apply_fixes({"f": "".join(LINES)}, order).texts["f"]
        for order in itertools.permutations(fixes)
    }
    assert results == {"A\nb\nCD\n"}


def test_apply_skips_unsafe_fixes_unless_asked():
    risky = finding(1, fix(Edit("f", 1, 1, "A\n"), applicability=Applicability.UNSAFE))
    assert apply_fixes({"f": "a\n"}, [risky]).texts == {}
    assert apply_fixes({"f": "a\n"}, [risky], unsafe=True).texts == {"f": "A\n"}


def test_apply_performs_moves_but_never_display_only_edits():
    moved = Move(".github/x.yml", ".github/workflows/x.yml")
    move = Fix("move", Applicability.DISPLAY_ONLY, moves=(moved,))
    shown = Fix("shown", Applicability.DISPLAY_ONLY, (Edit("f", 1, 1, "A\n"),))
    result = apply_fixes({"f": "a\n"}, [finding(1, move), finding(1, shown)])
    assert result.moves == [Move(".github/x.yml", ".github/workflows/x.yml")]
    assert result.texts == {}


def test_apply_adds_a_final_newline_before_editing_the_last_line():
    result = apply_fixes({"f": "a\nb"}, [finding(2, fix(Edit("f", 2, 2, "B\n")))])
    assert result.texts["f"] == "a\nB\n"

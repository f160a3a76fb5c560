"""CRLF, byte-order marks and unusual line breaks: positions are git's lines, and fixes keep
the file's own line endings (issue 5; the required behaviour of rules.fixes for CRLF files)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
import pytest

from rules.fixes import apply_fixes
from rules.model import Applicability
from rules.runner import run
from rules.snapshot import RepoSnapshot
from rules.yamlpos import ParseError, YamlDocument, split_lines

WORKFLOW = ".github/workflows/docker.yml"
DOCKER = """\
name: image
on:
  push:
    branches: [main]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: docker/setup-buildx-action@v3
      - uses: docker/build-push-action@v6
        with:
          platforms: linux/amd64,linux/arm64
          push: true
          tags: quay.io/example/app:latest
"""
ROUTES = [
    ("on",),
    ("on", "push", "branches", 0),
    ("jobs", "build"),
    ("jobs", "build", "runs-on"),
    ("jobs", "build", "steps"),
    ("jobs", "build", "steps", 2, "with"),
    ("jobs", "build", "steps", 2, "with", "tags"),
]


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


def test_crlf_positions_equal_lf_positions() -> None:
    lf = YamlDocument.from_text(WORKFLOW, DOCKER)
    cr = YamlDocument.from_text(WORKFLOW, crlf(DOCKER))
    for route in ROUTES:
        assert cr.locate(route) == lf.locate(route), route
        assert cr.locate_key(route) == lf.locate_key(route), route
    assert cr.line_text(7) == "    runs-on: ubuntu-latest\r\n"


def test_findings_of_the_real_rules_are_the_same_on_crlf() -> None:
    lf = run(RepoSnapshot.from_files({WORKFLOW: DOCKER}))
    cr = run(RepoSnapshot.from_files({WORKFLOW: crlf(DOCKER)}))
    assert lf.findings, "the Docker rules should flag this workflow"
    assert cr.errors == lf.errors == []
    assert [(f.rule, f.location, f.message) for f in cr.findings] == [
        (f.rule, f.location, f.message) for f in lf.findings
    ]


def test_fix_edits_of_a_crlf_file_are_crlf() -> None:
    report = run(RepoSnapshot.from_files({WORKFLOW: crlf(DOCKER)}))
    edits = [edit for f in report.findings if f.fix for edit in f.fix.edits]
    assert edits, "expected at least one fix with edits"
    for edit in edits:
        assert edit.new_text == "" or edit.new_text.endswith("\r\n")
        assert "\n" not in edit.new_text.replace("\r\n", ""), edit


def test_applying_the_fixes_keeps_every_line_crlf(probe_only) -> None:
    text = crlf(DOCKER)
    report = run(RepoSnapshot.from_files({WORKFLOW: text}))
    applied = apply_fixes({WORKFLOW: text}, report.findings, unsafe=True)
    assert applied.applied
    new = applied.texts[WORKFLOW]
    assert "# probed\r\n" in new
    assert "\n" not in new.replace("\r\n", "")


def test_all_real_fixes_applied_keep_crlf() -> None:
    text = crlf(DOCKER)
    report = run(RepoSnapshot.from_files({WORKFLOW: text}))
    applicable = [
        f
        for f in report.findings
        if f.fix and f.fix.applicability is not Applicability.DISPLAY_ONLY
    ]
    if not applicable:
        pytest.skip("no rule offers an applicable fix for this workflow yet")
    new = apply_fixes({WORKFLOW: text}, applicable, unsafe=True).texts.get(WORKFLOW, text)
    assert "\n" not in new.replace("\r\n", "")


def test_a_crlf_file_without_a_final_newline_stays_crlf(probe_only) -> None:
    # apply_fixes ends an unterminated last line before splicing; in a CRLF file that ending
    # must be CRLF too.
    text = crlf(DOCKER).removesuffix("\r\n")
    report = run(RepoSnapshot.from_files({WORKFLOW: text}))
    new = apply_fixes({WORKFLOW: text}, report.findings).texts[WORKFLOW]
    assert "\n" not in new.replace("\r\n", "")


@pytest.mark.parametrize(
    "odd", ["\u2028", "\u2029", "\x85", "\r"], ids=["line-sep", "paragraph-sep", "nel", "lone-cr"]
)
def test_unusual_breaks_do_not_shift_lines(odd: str) -> None:
    # git and GitHub count "\n" only; libyaml also breaks lines at NEL, U+2028/9 and a lone
    # CR (and str.splitlines at form feeds too). Every position must be git's.
    text = DOCKER.replace("name: image\n", f'name: "a{odd}b"\n')
    document = YamlDocument.from_text(WORKFLOW, text)
    assert len(document.lines) == DOCKER.count("\n")
    plain = YamlDocument.from_text(WORKFLOW, DOCKER)
    for route in ROUTES:
        assert document.locate(route) == plain.locate(route), route
    assert document.line_text(7) == "    runs-on: ubuntu-latest\n"


def test_an_error_after_an_unusual_break_names_gits_line() -> None:
    # libyaml ends the comment at U+2028, so `y` is a stray line: it reports line 3; the
    # offending `b` is on line 2 of the file as git and GitHub count lines.
    text = "a: 1  # x\u2028y\nb: [\n"
    report = run(RepoSnapshot.from_files({".github/workflows/x.yml": text}))
    [error] = report.errors
    assert "(line 2, column 1)" in error.message


@pytest.mark.parametrize("control", ["\x0c", "\x0b", "\x1b", "\x7f"])
def test_a_control_character_is_named_with_its_position(control: str, composer: str) -> None:
    text = f'a: 1\nb: "x{control}y"\n'
    with pytest.raises(ParseError) as caught:
        YamlDocument.from_text(WORKFLOW, text)
    assert str(caught.value) == (
        f"invalid YAML: character U+{ord(control):04X} is not allowed in YAML (line 2, column 6)"
    )


def test_split_lines_breaks_at_newlines_only() -> None:
    assert split_lines("a\r\nb\x0cc\u2028d\re\n") == ["a\r\n", "b\x0cc\u2028d\re\n"]
    assert split_lines("a\nb") == ["a\n", "b"]
    assert split_lines("") == []


@given(st.text(alphabet=st.sampled_from("ab \n\r\x0b\x0c\x1c\x85\u2028\u2029\t")))
def test_split_lines_is_a_split_at_newlines_keeping_them(text: str) -> None:
    parts = text.split("\n")
    expected = [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    assert split_lines(text) == expected
    assert "".join(split_lines(text)) == text

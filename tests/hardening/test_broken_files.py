"""Broken input (issue 5, "Hostile and broken input"): each file gets a precise note, is never
read in a way it should not be, and the rest of the review is still produced."""

from __future__ import annotations

import pytest

from rules.runner import run
from rules.snapshot import EntryKind, RepoSnapshot
from rules.yamlpos import ParseError, YamlDocument, parse_yaml
from tests.hardening.conftest import (
    GOOD,
    assert_rest_of_review_produced,
    check,
    errors_for,
)

WORKFLOW = ".github/workflows/ci.yml"


def test_invalid_yaml_names_the_parsers_line_and_column() -> None:
    text = "on: push\njobs:\n  build:\n    runs-on: [ubuntu-latest\n    steps: []\n"
    with pytest.raises(ParseError) as caught:
        parse_yaml(text)
    assert (caught.value.line, caught.value.column) == (5, 10)
    assert caught.value.limit is None
    report, _ = check({WORKFLOW: text})
    [message] = errors_for(report, WORKFLOW)
    assert message.startswith("invalid YAML: ")
    assert "(line 5, column 10)" in message
    assert WORKFLOW not in report.checked
    assert_rest_of_review_produced(report)


def test_an_unclosed_quote_points_at_the_end_of_the_file() -> None:
    report, _ = check({WORKFLOW: "on: push\njobs:\n  a:\n    run: 'echo\n"})
    [message] = errors_for(report, WORKFLOW)
    assert "found unexpected end of stream" in message and "(line 5, column 1)" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the workflow file is empty"),
        ("# only a comment\n", "the workflow file is empty"),
        ("---\n", "the workflow file is empty"),
        ("- on: push\n- jobs: {}\n", "the top level is a list (line 1)"),
        ("just a string\n", "the top level is a scalar (line 1)"),
        ("\n\n42\n", "the top level is a scalar (line 3)"),
    ],
)
def test_a_workflow_that_is_not_a_mapping_gets_a_note(text: str, expected: str) -> None:
    report, _ = check({WORKFLOW: text})
    [message] = errors_for(report, WORKFLOW)
    assert message == f"{expected}; GitHub needs a mapping with `on` and `jobs`"
    assert WORKFLOW in report.checked  # it parsed; nothing to find in it
    assert [f for f in report.findings if f.path == WORKFLOW] == []
    assert_rest_of_review_produced(report)


@pytest.mark.parametrize("text", ["", "- name: bug\n  color: red\n", "plain\n"])
def test_a_list_or_empty_file_elsewhere_is_ordinary_configuration(text: str) -> None:
    # .github/labels.yml is a list in many repositories: no note, no finding.
    report, _ = check({".github/labels.yml": text})
    assert errors_for(report, ".github/labels.yml") == []
    assert [f for f in report.findings if f.path == ".github/labels.yml"] == []
    assert_rest_of_review_produced(report)


def test_duplicate_keys_are_a_note_and_the_last_value_is_checked(probe_only) -> None:
    text = (
        "on: push\n"
        "jobs:\n"
        "  build:\n"
        "    runs-on: ubuntu-latest\n"
        "    runs-on: windows-latest\n"
        "    steps: []\n"
        "on: pull_request\n"
    )
    document = YamlDocument.from_text(WORKFLOW, text)
    assert [
        (a.value, a.start_mark.line + 1, b.start_mark.line + 1) for a, b in document.duplicate_keys
    ] == [("runs-on", 4, 5), ("on", 1, 7)]
    report = run(RepoSnapshot.from_files({WORKFLOW: text}))
    assert errors_for(report, WORKFLOW) == [
        "duplicate key 'runs-on' at line 5, column 5 (first at line 4); GitHub rejects a "
        "workflow with duplicate keys; the last value was checked",
        "duplicate key 'on' at line 7, column 1 (first at line 1); GitHub rejects a "
        "workflow with duplicate keys; the last value was checked",
    ]
    assert [f.rule for f in report.findings] == ["probe"]  # the file was still checked


def test_many_duplicate_keys_are_summarised() -> None:
    text = "on: push\njobs: {}\n" + "".join(f"k: {i}\n" for i in range(50))
    report, _ = check({WORKFLOW: text})
    messages = errors_for(report, WORKFLOW)
    assert len(messages) == 6 and messages[-1] == "44 more duplicate keys"


def test_tabs_in_indentation_are_named() -> None:
    text = "on: push\njobs:\n\tbuild:\n\t\truns-on: ubuntu-latest\n"
    report, _ = check({WORKFLOW: text})
    [message] = errors_for(report, WORKFLOW)
    assert "(YAML does not allow tabs for indentation) (line 3, column 1)" in message
    assert_rest_of_review_produced(report)


def test_a_tab_inside_a_value_is_fine(probe_only) -> None:
    text = "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    env: {A: 'x\ty'}\n"
    report = run(RepoSnapshot.from_files({WORKFLOW: text}))
    assert report.errors == [] and [f.rule for f in report.findings] == ["probe"]


def test_a_byte_order_mark_keeps_positions_and_reads_as_utf8(probe_only) -> None:
    plain = run(RepoSnapshot.from_files({WORKFLOW: GOOD})).findings
    for raw in ("\ufeff" + GOOD, ("\ufeff" + GOOD).encode("utf-8")):
        snapshot = RepoSnapshot(tree={WORKFLOW: EntryKind.FILE}, reader=lambda _, raw=raw: raw)
        report = run(snapshot)
        assert report.errors == []
        assert [f.location for f in report.findings] == [f.location for f in plain]
        assert [f.fix for f in report.findings] == [f.fix for f in plain]
        assert snapshot.read(WORKFLOW) == GOOD  # the mark is not part of the text


def test_non_utf8_bytes_say_which_byte_and_where() -> None:
    raw = GOOD.replace("make test", "make t\xe9st").encode("latin-1")
    report, _ = check({WORKFLOW: raw})
    assert errors_for(report, WORKFLOW) == [
        "file is not UTF-8: invalid byte 0xe9 at line 7, column 20: not checked"
    ]
    assert_rest_of_review_produced(report)


def test_utf16_is_named() -> None:
    report, _ = check({WORKFLOW: GOOD.encode("utf-16")})
    assert errors_for(report, WORKFLOW) == [
        "file is UTF-16 text; workflows must be UTF-8: not checked"
    ]


def test_a_binary_file_named_yml() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
    report, _ = check({".github/workflows/logo.yml": png})
    assert errors_for(report, ".github/workflows/logo.yml") == [
        "binary file (it contains NUL bytes): not checked"
    ]
    assert_rest_of_review_produced(report)


def test_a_nul_byte_late_in_a_text_file() -> None:
    text = GOOD + "# padding\n" * 2000 + "x: \x00\n"
    report, _ = check({WORKFLOW: text})
    assert errors_for(report, WORKFLOW) == [
        "file contains NUL bytes; it is not a text file: not checked"
    ]


def test_a_symlink_is_never_parsed_and_says_so() -> None:
    # The reader would follow the link; the engine must not even ask.
    link = ".github/workflows/linked.yml"
    report, reader = check({link: GOOD}, {link: EntryKind.SYMLINK})
    assert link not in reader.asked
    assert errors_for(report, link) == [
        "symbolic link: not followed; a target inside the repository is checked at its own path"
    ]
    assert link not in report.checked
    assert_rest_of_review_produced(report)


def test_a_submodule_entry_is_never_read() -> None:
    entry = ".github/workflows/vendored.yml"
    report, reader = check({}, {entry: EntryKind.SUBMODULE, "vendor/lib": EntryKind.SUBMODULE})
    assert entry not in reader.asked and "vendor/lib" not in reader.asked
    assert errors_for(report, entry) == [
        "submodule: another repository, not a file here; not checked"
    ]
    assert_rest_of_review_produced(report)


def test_a_second_document_is_invalid() -> None:
    report, _ = check({WORKFLOW: GOOD + "---\non: push\n"})
    [message] = errors_for(report, WORKFLOW)
    assert "expected a single document" in message and "(line 8, column 1)" in message


def test_every_broken_file_at_once_still_gives_the_review() -> None:
    files: dict[str, str | bytes] = {
        ".github/workflows/invalid.yml": "on: [push\n",
        ".github/workflows/empty.yml": "",
        ".github/workflows/list.yml": "- a\n",
        ".github/workflows/tabs.yml": "on: push\n\tjobs: {}\n",
        ".github/workflows/latin1.yml": "on: caf\xe9\n".encode("latin-1"),
        ".github/workflows/binary.yml": b"\x00\x01\x02",
        ".github/workflows/good.yml": GOOD,
    }
    report, _ = check(files)
    assert {e.path for e in report.errors} == set(files) - {".github/workflows/good.yml"}
    assert ".github/workflows/good.yml" in report.checked
    assert_rest_of_review_produced(report)

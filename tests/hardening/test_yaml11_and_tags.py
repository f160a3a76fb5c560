"""YAML 1.1 traps and custom tags (issue 5): `on`, `yes` and `no` stay strings, a `%YAML 1.1`
document still has its `on` trigger, and no tag ever constructs anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.context import looks_like_workflow
from rules.runner import run
from rules.snapshot import RepoSnapshot
from rules.yamlpos import (
    MappingNode,
    ParseError,
    ScalarNode,
    SequenceNode,
    get,
    items,
    parse_yaml,
    scalar,
)
from tests.hardening.conftest import assert_rest_of_review_produced, check, errors_for

WORKFLOW = ".github/workflows/ci.yml"
BODY = """\
on:
  push:
    branches: [main]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: make
"""


@pytest.mark.parametrize("directive", ["", "%YAML 1.2\n---\n", "%YAML 1.1\n---\n"])
def test_on_is_the_string_on_under_every_directive(directive: str, composer: str) -> None:
    root = parse_yaml(directive + BODY)
    keys = [key for key, _ in items(root)]
    assert [k.value for k in keys] == ["on", "jobs"]
    assert str(keys[0].tag).endswith(":str")
    assert looks_like_workflow(root)
    assert scalar(get(get(get(root, "on"), "push"), "branches").value[0]) == "main"


def test_a_yaml_1_1_workflow_is_checked_like_any_other() -> None:
    misplaced = "%YAML 1.1\n---\n" + BODY
    report, _ = check({".github/ci.yml": misplaced})
    assert errors_for(report, ".github/ci.yml") == []
    assert "misplaced-workflow" in {f.rule for f in report.findings if f.path == ".github/ci.yml"}
    assert_rest_of_review_produced(report)


def test_an_unknown_yaml_version_is_a_clear_error() -> None:
    report, _ = check({WORKFLOW: "%YAML 2.0\n---\n" + BODY})
    [message] = errors_for(report, WORKFLOW)
    assert "incompatible YAML document" in message and "(line 1, column 1)" in message


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "y", "n", "Yes", "NO", "On"])
def test_yaml_1_1_booleans_stay_strings_as_keys_and_values(word: str) -> None:
    root = parse_yaml(f"{word}: {word}\nlist: [{word}]\n")
    (key, value), (_, listed) = root.value
    for node in (key, value, listed.value[0]):
        assert node.value == word and str(node.tag).endswith(":str"), node


def test_yaml_1_2_booleans_and_nulls_are_typed() -> None:
    root = parse_yaml("a: true\nb: False\nc: ~\nd:\ne: null\nf: 'null'\n")
    tags = {key.value: str(value.tag).rsplit(":", 1)[1] for key, value in root.value}
    assert tags == {"a": "bool", "b": "bool", "c": "null", "d": "null", "e": "null", "f": "str"}
    assert [scalar(v) for _, v in root.value] == ["true", "False", None, None, None, "null"]


def test_a_workflow_full_of_yaml_1_1_words_does_not_crash_the_rules() -> None:
    text = """\
on:
  push:
    branches: [yes, no, on, off]
    paths: [yes, no]
jobs:
  yes:
    runs-on: no
    if: yes
    continue-on-error: on
    strategy:
      matrix:
        on: [yes, no]
    steps:
      - uses: docker/setup-qemu-action@v3
        if: no
      - uses: docker/build-push-action@v6
        with:
          push: yes
          platforms: no
          load: on
"""
    report, _ = check({WORKFLOW: text})
    assert errors_for(report, WORKFLOW) == []
    assert_rest_of_review_produced(report)


SIDE_EFFECT_TAGS = [
    "!!python/object/apply:os.system ['touch {marker}']",
    "!!python/object/apply:subprocess.check_call [['touch', '{marker}']]",
    "!!python/object/new:pathlib.Path.touch ['{marker}']",
    "!!python/name:os.system",
    "!!python/module:os",
    "!custom {{x: 1}}",
    "!<tag:example.com,2000:app/touch> '{marker}'",
]


@pytest.mark.parametrize("tagged", SIDE_EFFECT_TAGS)
def test_custom_tags_never_construct_anything(tagged: str, tmp_path: Path, composer: str) -> None:
    marker = tmp_path / "constructed"
    text = BODY + f"env:\n  A: {tagged.format(marker=marker)}\n"
    root = parse_yaml(text)
    value = get(get(root, "env"), "A")
    # Composing keeps the tag as text on a plain node; nothing is built from it.
    assert isinstance(value, MappingNode | ScalarNode | SequenceNode)
    assert str(value.tag).split(":")[-1] not in ("str", "map", "seq")
    report = run(RepoSnapshot.from_files({WORKFLOW: text}))
    assert not marker.exists()
    assert report.errors == []


def test_a_tag_on_the_root_or_on_keys_is_only_a_tag() -> None:
    root = parse_yaml("!!python/object:os.system\n!!python/name:os.system on: push\njobs: {}\n")
    assert str(root.tag).endswith("python/object:os.system")
    assert [k.value for k, _ in root.value] == ["on", "jobs"]


def test_a_tag_with_an_unknown_handle_is_invalid_yaml() -> None:
    with pytest.raises(ParseError) as caught:
        parse_yaml("a: !x!y 1\n")
    assert caught.value.line == 1

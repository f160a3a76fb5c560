"""YAML built to exhaust (issue 5): every case ends quickly with the limit it hit named, in
both parsers, and the review of the other files goes on. No timings are asserted: a hang or a
crash (a segfault of the C parser on deep nesting, before this composer) fails the run."""

from __future__ import annotations

import pytest

from rules import yamlpos
from rules.yamlpos import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_EXPANDED_NODES,
    MAX_FILE_BYTES,
    MAX_NODES,
    MappingNode,
    ParseError,
    ScalarNode,
    SequenceNode,
    parse_yaml,
)
from tests.hardening.conftest import (
    GOOD,
    assert_rest_of_review_produced,
    check,
    errors_for,
)

WORKFLOW = ".github/workflows/hostile.yml"


def limit_hit(text: str) -> ParseError:
    with pytest.raises(ParseError) as caught:
        parse_yaml(text)
    return caught.value


def laughs(levels: int, width: int = 9) -> str:
    """The "billion laughs" document: each level is `width` aliases of the one before."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for level in range(1, levels):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def expanded_size(node) -> int:
    """What a naive recursive walker that follows aliases visits (the thing a bomb attacks)."""
    if isinstance(node, ScalarNode):
        return 1
    if isinstance(node, SequenceNode):
        return 1 + sum(expanded_size(item) for item in node.value)
    return 1 + sum(expanded_size(k) + expanded_size(v) for k, v in node.value)


# --- alias bombs ------------------------------------------------------------------------------


def test_billion_laughs_is_stopped_before_anything_expands(composer: str) -> None:
    error = limit_hit(laughs(9))  # 9**9 = 387 million scalars if expanded
    assert error.limit == "MAX_EXPANDED_NODES"
    assert "alias expansion bomb" in str(error) and error.line is not None


def test_a_small_laugh_shares_nodes_and_stays_under_the_walk_limit(composer: str) -> None:
    root = parse_yaml(laughs(4))  # 9**4 leaves: fine, and shared, not copied
    values = [value for _, value in root.value]
    assert all(item is values[0] for item in values[1].value)
    assert expanded_size(root) <= MAX_EXPANDED_NODES


@pytest.mark.parametrize("width", [2, 3, 4])
def test_any_accepted_document_is_cheap_to_walk(width: int) -> None:
    # Grow a bomb level by level: the last accepted one is within the walk limit, so a rule
    # that recurses through every alias does bounded work.
    levels, accepted = 1, None
    while True:
        try:
            accepted = parse_yaml(laughs(levels, width))
        except ParseError as error:
            assert error.limit == "MAX_EXPANDED_NODES"
            break
        levels += 1
    assert accepted is not None and expanded_size(accepted) <= MAX_EXPANDED_NODES


def test_alias_count_limit(composer: str) -> None:
    text = "a: &x 1\nb: [" + ", ".join(["*x"] * (MAX_ALIASES + 1)) + "]\n"
    error = limit_hit(text)
    assert error.limit == "MAX_ALIASES" and f"more than {MAX_ALIASES:,} YAML aliases" in str(error)
    parse_yaml("a: &x 1\nb: [" + ", ".join(["*x"] * MAX_ALIASES) + "]\n")


def test_a_recursive_alias_is_rejected_so_the_graph_has_no_cycle(composer: str) -> None:
    for text in ("a: &a [*a]\n", "a: &a {b: {c: *a}}\n", "- &s\n  - x\n  - *s\n"):
        error = limit_hit(text)
        assert "refers to a node that contains it" in error.message
        assert error.line is not None


def test_an_undefined_alias_is_invalid_yaml(composer: str) -> None:
    error = limit_hit("a: *nowhere\n")
    assert "undefined alias" in error.message and (error.line, error.column) == (1, 4)


def test_the_real_rules_on_a_workflow_built_from_aliases() -> None:
    # One anchored job reused by 60 jobs, its steps reused too: accepted, and every rule
    # walks it without expanding anything beyond the limit.
    steps = "".join(f"      - run: echo {i}\n" for i in range(200))
    jobs = "".join(f"  job{i}: *base\n" for i in range(60))
    text = "on: push\njobs:\n  base: &base\n    runs-on: ubuntu-latest\n    steps:\n" + steps + jobs
    report, _ = check({WORKFLOW: text})
    assert errors_for(report, WORKFLOW) == []
    assert WORKFLOW in report.checked
    assert_rest_of_review_produced(report)


def test_a_bomb_is_a_note_and_the_review_goes_on() -> None:
    report, _ = check({WORKFLOW: "on: push\njobs: {}\n" + laughs(9)})
    [message] = errors_for(report, WORKFLOW)
    assert "alias expansion bomb" in message and message.endswith(": not checked")
    assert_rest_of_review_produced(report)


# --- nesting ----------------------------------------------------------------------------------


def indented(line: str, step: int, n: int, last: str) -> str:
    """n lines, each indented `step` more than the one before; generation stops once the text
    is over MAX_FILE_BYTES (100,000 levels would otherwise be gigabytes of spaces)."""
    parts, size = [], 0
    for i in range(n):
        parts.append(" " * (step * i) + line.format(i=i))
        size += len(parts[-1])
        if size > MAX_FILE_BYTES:
            return "".join(parts)
    return "".join(parts) + " " * (step * n) + last


DEEP = {
    "flow sequences": lambda n: "a: " + "[" * n + "]" * n + "\n",
    "flow mappings": lambda n: "a: " + "{a: " * n + "}" * n + "\n",
    "block mappings": lambda n: indented("k{i}:\n", 1, n, "v\n"),
    "compact sequences": lambda n: "- " * n + "x\n",
    "block sequences": lambda n: indented("-\n", 2, n, "x\n"),
}


@pytest.mark.parametrize("shape", DEEP)
def test_nesting_at_the_limit_is_fine(shape: str, composer: str) -> None:
    node = parse_yaml(DEEP[shape](MAX_DEPTH - 1))
    depth = 0
    while isinstance(node, MappingNode | SequenceNode) and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(last, tuple) else last
        depth += 1
    assert depth >= MAX_DEPTH - 1


@pytest.mark.parametrize("shape", DEEP)
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 100_000])
def test_nesting_thousands_deep_is_stopped(shape: str, depth: int, composer: str) -> None:
    if composer == "pure" and depth > 1_000 and shape == "flow sequences":
        pytest.skip("the pure-Python scanner takes seconds here; 1,000 levels cover it")
    text = DEEP[shape](depth)
    if len(text) > MAX_FILE_BYTES:
        assert limit_hit(text).limit == "MAX_FILE_BYTES"
        return
    error = limit_hit(text)
    assert error.limit == "MAX_DEPTH"
    assert f"YAML nesting deeper than {MAX_DEPTH} levels" in str(error)
    assert error.line is not None and error.column is not None


def test_deep_nesting_is_a_note_and_the_review_goes_on() -> None:
    report, _ = check({WORKFLOW: "on: push\njobs:\n  a: " + "[" * 500_000 + "\n"})
    [message] = errors_for(report, WORKFLOW)
    assert "nesting deeper than" in message
    assert_rest_of_review_produced(report)


# --- size and node count ----------------------------------------------------------------------


def five_megabyte_workflow() -> str:
    step = "      - name: step {i}\n        run: echo {i} && make build-{i}\n"
    head = "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
    body, i = [], 0
    size = len(head)
    while size < 5 * 1024 * 1024:
        body.append(step.format(i=i))
        size += len(body[-1])
        i += 1
    return head + "".join(body)


def test_a_5_mb_workflow_hits_the_size_limit() -> None:
    text = five_megabyte_workflow()
    error = limit_hit(text)
    assert error.limit == "MAX_FILE_BYTES"
    assert str(error) == f"file is 5.0 MiB, over the {MAX_FILE_BYTES // 2**20} MiB limit"
    report, _ = check({WORKFLOW: text})
    assert errors_for(report, WORKFLOW) == [f"{error}: not checked"]
    assert_rest_of_review_produced(report)


def test_the_size_limit_counts_utf8_bytes_not_characters() -> None:
    text = "a: '" + "é" * (MAX_FILE_BYTES // 2 + 10) + "'\n"  # fewer characters than the limit
    assert len(text) < MAX_FILE_BYTES
    assert limit_hit(text).limit == "MAX_FILE_BYTES"


def test_oversized_bytes_are_refused_before_decoding() -> None:
    raw = five_megabyte_workflow().encode()
    report, _ = check({WORKFLOW: raw})
    assert errors_for(report, WORKFLOW) == ["file is 5.0 MiB, over the 2 MiB limit"]


def test_too_many_nodes() -> None:
    text = "".join(f"- {i}\n" for i in range(MAX_NODES + 1))
    assert len(text) < MAX_FILE_BYTES
    error = limit_hit(text)
    assert error.limit == "MAX_NODES" and f"more than {MAX_NODES:,} YAML nodes" in str(error)
    assert error.line is not None and error.line <= MAX_NODES + 1


def test_100000_steps_finish_with_the_node_limit_named() -> None:
    steps = "    - run: make\n" * 100_000
    text = "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n" + steps
    assert len(text) < MAX_FILE_BYTES  # the size limit is not what stops it
    report, _ = check({WORKFLOW: text, ".github/workflows/good.yml": GOOD})
    [message] = errors_for(report, WORKFLOW)
    assert f"more than {MAX_NODES:,} YAML nodes" in message
    assert ".github/workflows/good.yml" in report.checked
    assert_rest_of_review_produced(report)


def test_the_largest_accepted_step_list_is_checked_by_every_rule() -> None:
    # Just under the node limit (three nodes a step): the whole engine runs on it.
    count = MAX_NODES // 3 - 100
    steps = "".join(f"      - run: echo {i}\n" for i in range(count))
    text = (
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: docker/build-push-action@v6\n        with:\n"
        "          platforms: linux/amd64,linux/arm64\n          push: true\n"
        "          tags: quay.io/org/app:latest\n" + steps
    )
    report, _ = check({WORKFLOW: text})
    assert errors_for(report, WORKFLOW) == []
    assert WORKFLOW in report.checked
    assert_rest_of_review_produced(report)


def test_limits_are_what_the_documentation_says() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "reliability.md").read_text()
    for name in ("MAX_FILE_BYTES", "MAX_DEPTH", "MAX_ALIASES", "MAX_NODES", "MAX_EXPANDED_NODES"):
        value = getattr(yamlpos, name)
        assert f"`{name}`" in doc, name
        assert f"{value:,}" in doc or (name == "MAX_FILE_BYTES" and "2 MiB" in doc), name

"""Our composer builds exactly the graph ruamel's own composer builds (tags, values, styles,
positions), only faster and within the limits; checked on the corpus, on hand-picked corners
and on random documents."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
from ruamel.yaml.resolver import Resolver

from rules import yamlpos
from rules.yamlpos import parse_yaml

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "real"


def shape(node, seen=None) -> tuple:
    """Everything a rule can look at, with aliases shown as references (the graph's shape).

    Anchor names are left out: ruamel's C composer drops them, ours keeps them.
    """
    seen = {} if seen is None else seen
    if id(node) in seen:
        return ("alias", seen[id(node)])
    seen[id(node)] = len(seen)
    marks = (node.start_mark.line, node.start_mark.column, node.start_mark.index)
    marks += (node.end_mark.line, node.end_mark.column)
    if isinstance(node, ScalarNode):
        return ("scalar", str(node.tag), node.value, node.style or None, marks)
    if isinstance(node, SequenceNode):
        items = [shape(item, seen) for item in node.value]
        return ("seq", str(node.tag), node.flow_style, marks, items)
    assert isinstance(node, MappingNode)
    pairs = [(shape(k, seen), shape(v, seen)) for k, v in node.value]
    return ("map", str(node.tag), node.flow_style, marks, pairs)


def ruamel_shape(text: str) -> tuple | None:
    node = YAML(typ="safe", pure=False).compose(text)
    return None if node is None else shape(node)


def ours(text: str) -> tuple | None:
    node = parse_yaml(text)
    return None if node is None else shape(node)


def corpus_texts() -> list[pytest.param]:
    sources = CORPUS / "SOURCES.tsv"
    if not sources.is_file():
        return [pytest.param(None, id="corpus-absent")]
    with sources.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [pytest.param(row["file"], id=row["file"]) for row in rows]


@pytest.mark.parametrize("name", corpus_texts())
def test_same_graph_as_ruamel_on_the_corpus(name: str | None) -> None:
    if name is None:
        pytest.skip("../shared/corpus/real is not present")
    text = (CORPUS / name).read_text(encoding="utf-8")
    assert ours(text) == ruamel_shape(text)


CORNERS = [
    "",
    "---\n",
    "a:\n",
    "a: ~\nb: null\nc: ''\nd: \"\"\n",
    "? complex\n: key\n? [a, b]\n: flow key\n",
    "a: &x {b: 1}\nc: *x\nd: [*x, *x]\n",
    "a: !!str 1\nb: !!int '2'\nc: !custom [x]\nd: ! 3\n",
    "a: |\n  keep\n\n  this\n\nb: >-\n  fold\n  this\n",
    "- - - x\n  - y\n- {a: [1, {b: c}]}\n",
    "a: 'it''s'\nb: \"esc\\n\\t\\u00e9\"\nc: plain with # no comment\n",
    "%YAML 1.1\n---\non: yes\noff: 0o17\n",
    "a: 1\r\nb:\r\n  - x\r\n  - y\r\n",
    "\u00e9: \U0001f600\nk: \u4e2d\u6587\n",
    "a: 1 # comment\n# trailing\n",
    "a: 0x1F\nb: 1_000\nc: .inf\nd: -.5e3\ne: 2001-12-14\nf: 12:30:00\n",
]


@pytest.mark.parametrize("text", CORNERS)
def test_same_graph_as_ruamel_on_corners(text: str) -> None:
    assert ours(text) == ruamel_shape(text)


SCALARS = [
    *["", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "FALSE"],
    *["yes", "no", "on", "off", "y", "n", "tRue", "1", "-1", "+1", "0o17", "017", "0x1F"],
    *["1_000", "1.5", "-.inf", ".NaN", ".nan", "1e3", "1.0e+3", "0b101", "2001-12-14"],
    *["12:30", "=", "<<", "a", "echo x", "0", "00", "1.2.3", "-", ".", "+.inf", "0.", "1,0"],
]


@pytest.mark.parametrize("value", SCALARS)
def test_plain_scalar_tags_match_ruamels_resolver(value: str, monkeypatch) -> None:
    monkeypatch.setattr(yamlpos, "_PLAIN_TAGS", {})
    expected = Resolver().resolve(ScalarNode, value, (True, False))
    assert str(yamlpos._plain_tag(value)) == str(expected)
    assert str(yamlpos._plain_tag(value)) == str(expected)  # and from the cache


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
    st.sampled_from(SCALARS),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(st.characters(codec="ascii"), max_size=6), children, max_size=4),
    ),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None)
@given(documents, st.sampled_from([False, None, True]))
def test_same_graph_as_ruamel_on_random_documents(data, flow) -> None:
    dumper = YAML(typ="safe", pure=True)
    dumper.default_flow_style = flow
    buffer = io.StringIO()
    dumper.dump(data, buffer)
    text = buffer.getvalue()
    try:
        expected = ruamel_shape(text)
    except YAMLError:  # the pure dumper can write what libyaml will not read; so must we fail
        with pytest.raises(yamlpos.ParseError):
            parse_yaml(text)
        return
    assert ours(text) == expected

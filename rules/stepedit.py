"""Inserting a step into a job, written the way the file already writes its steps.

An insertion is an Edit that replaces an *anchor* (the lines of an existing step) with the
anchor plus the new step, so that a review can show it as a ```suggestion``` on lines that
exist, and so that two insertions at the same anchor merge cleanly (rules.fixes): one adds
lines before the anchor's text, the other after it.

The layout is copied from the anchor step: the dash's indentation, `- name:` on one line or
`-` alone with the keys below, the indentation of nested mappings, blank lines between
steps, and CRLF line endings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import re

from rules.model import Edit
from rules.yamlpos import MappingNode, Node, SequenceNode, YamlDocument, indentation

__all__ = ["StepLayout", "dash_line", "insert_step", "layout_of", "step_span", "yaml_scalar"]

Field = tuple[str, "str | Sequence[tuple[str, str]]"]


@dataclass(frozen=True, slots=True)
class StepLayout:
    dash_indent: str
    dash_alone: bool  # "-" on its own line, keys on the lines below
    key_indent: str
    child_unit: str  # extra indentation of a nested mapping's keys
    blank_between: bool  # steps are separated by a blank line
    newline: str


def dash_line(document: YamlDocument, step: Node) -> int:
    """The 1-based line of the `-` that starts a sequence item (the item may start on the
    next line: `-` alone, keys below)."""
    line0 = step.start_mark.line
    text = document.line_text(line0 + 1)
    if text[: step.start_mark.column].rstrip().endswith("-"):
        return line0 + 1
    probe = line0
    while probe >= 1:
        content = document.line_text(probe).strip()
        if content.startswith("-"):
            return probe
        if content and not content.startswith("#"):
            break
        probe -= 1
    return line0 + 1


def step_span(document: YamlDocument, step: MappingNode) -> tuple[int, int]:
    """The first (the dash) and last line of a step's text."""
    return dash_line(document, step), document.last_line(step)


def layout_of(document: YamlDocument, steps: SequenceNode, anchor: MappingNode) -> StepLayout:
    dash = dash_line(document, anchor)
    dash_text = document.line_text(dash)
    dash_indent = indentation(dash_text)
    dash_alone = dash != anchor.start_mark.line + 1
    key_indent = " " * anchor.start_mark.column
    newline = "\r\n" if dash_text.endswith("\r\n") else "\n"
    return StepLayout(
        dash_indent=dash_indent,
        dash_alone=dash_alone,
        key_indent=key_indent,
        child_unit=_child_unit(steps, anchor),
        blank_between=_blank_between(document, steps, anchor),
        newline=newline,
    )


def _child_unit(steps: SequenceNode, anchor: MappingNode) -> str:
    """How far the file indents a nested mapping under a step key (`with:`, `env:`)."""
    candidates = [anchor] + [s for s in steps.value if isinstance(s, MappingNode)]
    for step in candidates:
        for _, value in step.value:
            if isinstance(value, MappingNode) and not value.flow_style and value.value:
                delta = value.start_mark.column - step.start_mark.column
                if delta > 0:
                    return " " * delta
    return "  "


def _blank_between(document: YamlDocument, steps: SequenceNode, anchor: MappingNode) -> bool:
    """Whether the anchor and its nearest neighbour are separated by a blank line."""
    items = [s for s in steps.value if isinstance(s, MappingNode)]
    if len(items) < 2:
        return False
    index = next((i for i, s in enumerate(items) if s is anchor), 0)
    first, second = (items[index - 1], anchor) if index > 0 else (anchor, items[1])
    end = document.last_line(first)
    start = dash_line(document, second)
    return any(not document.line_text(line).strip() for line in range(end + 1, start))


_PLAIN_UNSAFE = re.compile(r"^[\s\-?:,\[\]{}#&*!|>'\"%@`]|: | #|:$|\s$")


def yaml_scalar(text: str) -> str:
    """A YAML scalar for text: plain when that reads back the same, else double-quoted."""
    if (
        text
        and not _PLAIN_UNSAFE.search(text)
        and text.lower()
        not in (
            "true",
            "false",
            "null",
            "yes",
            "no",
            "on",
            "off",
            "~",
        )
    ):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def render_step(layout: StepLayout, fields: Sequence[Field]) -> list[str]:
    """The lines of a new step (each ending in the file's newline)."""
    nl = layout.newline
    lines: list[str] = []
    first = True
    for key, value in fields:
        if first and not layout.dash_alone:
            gap = " " * max(1, len(layout.key_indent) - len(layout.dash_indent) - 1)
            prefix = f"{layout.dash_indent}-{gap}"
        else:
            prefix = layout.key_indent
        if first and layout.dash_alone:
            lines.append(f"{layout.dash_indent}-{nl}")
        first = False
        if isinstance(value, str):
            lines.append(f"{prefix}{key}: {value}{nl}")
        else:
            lines.append(f"{prefix}{key}:{nl}")
            for child_key, child_value in value:
                child = f"{layout.key_indent}{layout.child_unit}{child_key}: {child_value}"
                lines.append(child + nl)
    return lines


def _leading_comments(document: YamlDocument, dash: int, dash_indent: str) -> int:
    """The first line of the comments written right above a step (they belong to it)."""
    first = dash
    while first > 1:
        text = document.line_text(first - 1)
        if text.strip().startswith("#") and indentation(text) == dash_indent:
            first -= 1
        else:
            break
    return first


def insert_step(
    document: YamlDocument,
    steps: SequenceNode,
    anchor: MappingNode,
    fields: Sequence[Field],
    *,
    before: bool,
) -> Edit | None:
    """An edit that inserts a step before or after the anchor step (None when the steps
    are not written in block style)."""
    if steps.flow_style or anchor.flow_style:
        return None
    layout = layout_of(document, steps, anchor)
    dash, last = step_span(document, anchor)
    start = _leading_comments(document, dash, layout.dash_indent) if before else dash
    original = [document.line_text(line) for line in range(start, last + 1)]
    if original and not original[-1].endswith("\n"):
        original[-1] += layout.newline
    new = render_step(layout, fields)
    blank = [layout.newline] if layout.blank_between else []
    text = new + blank + original if before else original + blank + new
    return Edit(document.path, start, last, "".join(text))

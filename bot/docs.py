"""docs/rules.md, generated from the rule modules' docstrings (one source of truth, as in
yamllint and ruff). Run `preflight docs` (or `python -m bot.docs`) after changing a rule."""

from __future__ import annotations

import re
import sys

DOCS_PATH = "docs/rules.md"
SECTIONS = ("What it does", "Why it matters", "Bad", "Good", "Fix safety", "References")

# A section title is underlined with exactly as many dashes (so a YAML `---` in an example
# is never taken for one).
_UNDERLINED = re.compile(r"^(?P<title>[^\n]+)\n(?P<line>-{3,})[ \t]*$", re.MULTILINE)


def rule_sections(docstring: str) -> tuple[str, dict[str, str]]:
    """A rule docstring's summary line and its sections (title -> text)."""
    text = docstring.strip("\n")
    matches = [
        m
        for m in _UNDERLINED.finditer(text)
        if len(m.group("line")) == len(m.group("title").rstrip())
    ]
    summary = (text[: matches[0].start()] if matches else text).strip()
    sections: dict[str, str] = {}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        sections[match.group("title").strip()] = text[match.end() : end].strip("\n")
    return summary, sections


def render_rules_doc() -> str:
    from rules.registry import ALL

    fix_words = {"always": "always", "sometimes": "sometimes", "none": "no"}
    out = [
        "# Rules",
        "",
        "<!-- Generated from the rule modules' docstrings by `preflight docs`; do not edit. -->",
        "",
        "| Rule | Severity | Fix | What it flags |",
        "| --- | --- | --- | --- |",
    ]
    for module in ALL:
        rule = module.RULE
        summary, _ = rule_sections(module.__doc__ or "")
        first = summary.splitlines()[0] if summary else rule.title
        out.append(
            f"| [`{rule.id}`](#{rule.id}) | {rule.severity.value} | "
            f"{fix_words[rule.fix_availability.value]} | {first} |"
        )
    for module in ALL:
        rule = module.RULE
        summary, sections = rule_sections(module.__doc__ or "")
        out += ["", f"## {rule.id}", ""]
        out.append(
            f"*{rule.title}* · default severity **{rule.severity.value}** · "
            f"fix: {fix_words[rule.fix_availability.value]} · "
            f"silence with `# preflight: ignore[{rule.id}] reason`"
        )
        if summary:
            out += ["", summary]
        for title, body in sections.items():
            out += ["", f"### {title}", "", body] if body else ["", f"### {title}"]
    return "\n".join(out).rstrip("\n") + "\n"


def main() -> int:
    from bot.cli import main as cli_main

    return cli_main(["docs", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())

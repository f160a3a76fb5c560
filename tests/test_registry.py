"""The rule registry and the rule modules keep the conventions every rule relies on."""

from __future__ import annotations

import ast
from pathlib import Path
import re

import pytest

from bot.docs import DOCS_PATH, SECTIONS, render_rules_doc, rule_sections
from rules import registry
from rules.model import FixAvailability, Rule, Severity

REPO = Path(__file__).resolve().parents[1]
RULES_DIR = REPO / "rules"
KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
FORBIDDEN_IMPORTS = ("bot", "github", "aiohttp")


def rule_module_files() -> list[Path]:
    """Modules of rules/ that declare `RULE = Rule(...)` at top level."""
    found = []
    for path in sorted(RULES_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "RULE" for t in node.targets)
                and isinstance(node.value, ast.Call)
                and getattr(node.value.func, "id", None) == "Rule"
            ):
                found.append(path)
    return found


def test_ids_are_unique_and_kebab_case() -> None:
    ids = [module.RULE.id for module in registry.ALL]
    assert len(ids) == len(set(ids))
    assert tuple(ids) == registry.IDS
    for rule_id in ids:
        assert KEBAB.match(rule_id), rule_id


@pytest.mark.parametrize("module", registry.ALL, ids=lambda m: m.RULE.id)
def test_module_name_is_the_id_in_snake_case(module) -> None:
    assert module.__name__ == "rules." + module.RULE.id.replace("-", "_")


@pytest.mark.parametrize("module", registry.ALL, ids=lambda m: m.RULE.id)
def test_rule_metadata(module) -> None:
    rule = module.RULE
    assert isinstance(rule, Rule)
    assert isinstance(rule.severity, Severity)
    assert isinstance(rule.fix_availability, FixAvailability)
    assert rule.title and rule.title == rule.title.strip()
    assert callable(module.check)
    assert rule.docs_url.endswith(f"#{rule.id}")


def test_every_rule_module_is_registered_explicitly() -> None:
    """Each module declaring a RULE is in registry.ALL, imported by name in registry.py (no
    discovery: grep always finds where a rule is registered)."""
    declared = {path.stem for path in rule_module_files()}
    registered = {module.__name__.removeprefix("rules.") for module in registry.ALL}
    assert declared == registered
    source = ast.parse((RULES_DIR / "registry.py").read_text(encoding="utf-8"))
    imported = {
        alias.name
        for node in ast.walk(source)
        if isinstance(node, ast.ImportFrom) and node.module == "rules"
        for alias in node.names
    }
    assert registered <= imported
    listed = next(
        node
        for node in source.body
        if isinstance(node, ast.AnnAssign | ast.Assign)
        and "ALL" in {getattr(t, "id", None) for t in getattr(node, "targets", [node.target])}
    )
    names = [elt.id for elt in listed.value.elts]
    assert set(names) == registered


@pytest.mark.parametrize("module", registry.ALL, ids=lambda m: m.RULE.id)
def test_docstring_has_every_section(module) -> None:
    summary, sections = rule_sections(module.__doc__ or "")
    assert summary and "TODO" not in summary, f"{module.__name__}: write the docstring"
    for title in SECTIONS:
        assert title in sections, f"{module.__name__}: missing section {title!r}"
        assert sections[title].strip(), f"{module.__name__}: empty section {title!r}"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(RULES_DIR.glob("*.py")), ids=lambda p: p.name)
def test_rules_never_import_the_app(path: Path) -> None:
    for name in _imports(path):
        top = name.split(".")[0]
        assert top not in FORBIDDEN_IMPORTS, f"{path.name} imports {name}"


def test_docs_rules_md_is_generated_from_the_docstrings() -> None:
    committed = (REPO / DOCS_PATH).read_text(encoding="utf-8")
    assert committed == render_rules_doc(), "docs/rules.md is stale: run `preflight docs`"


def test_docs_have_an_anchor_per_rule() -> None:
    text = render_rules_doc()
    for rule_id in registry.IDS:
        assert f"\n## {rule_id}\n" in text


def test_rule_sections_ignore_yaml_document_markers() -> None:
    doc = (
        "Summary line.\n\nWhat it does\n------------\nFlags x.\n\nBad\n---\n"
        "```yaml\nname: x\n---\non: push\n```\n"
    )
    summary, sections = rule_sections(doc)
    assert summary == "Summary line."
    assert list(sections) == ["What it does", "Bad"]
    assert "---\non: push" in sections["Bad"]

from __future__ import annotations

import pytest

from rules.config import DEFAULT_CONFIG, ConfigError, load_config
from rules.model import Severity

RULES = ("misplaced-workflow", "unmatched-paths-filter")


def test_empty_or_missing_config_gives_defaults():
    assert load_config(None, RULES) == DEFAULT_CONFIG
    assert load_config("# nothing\n", RULES) == DEFAULT_CONFIG


def test_full_config_is_read():
    config = load_config(
        "fail-level: warning\nreview-drafts: true\nignore: ['vendor/**']\n"
        "rules:\n  misplaced-workflow:\n    enabled: false\n"
        "  unmatched-paths-filter:\n    severity: note\n",
        RULES,
    )
    assert config.fail_level == "warning"
    assert config.review_drafts is True
    assert config.ignore == ("vendor/**",)
    assert config.rule("misplaced-workflow").enabled is False
    assert config.rule("unmatched-paths-filter").severity is Severity.NOTE
    assert config.fails(Severity.WARNING) and not config.fails(Severity.NOTE)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("fail-level: fatal\n", ['"fail-level"', "error, warning, note, never"]),
        ("colour: red\n", ['unknown key "colour"', "fail-level"]),
        ("rules:\n  no-such-rule: {}\n", ['unknown rule "no-such-rule"', "misplaced-workflow"]),
        ("rules:\n  misplaced-workflow:\n    severity: high\n", ["severity", "note"]),
        ("rules:\n  misplaced-workflow:\n    enable: false\n", ["enable", "enabled, severity"]),
        ("review-drafts: maybe\n", ['"review-drafts"', "true or false"]),
        ("ignore: vendor\n", ['"ignore"', "list"]),
        ("- a\n", ["top level"]),
        ("a: [\n", ["invalid config"]),
    ],
)
def test_bad_config_names_the_key_and_allowed_values(text, names):
    with pytest.raises(ConfigError) as caught:
        load_config(text, RULES)
    for name in names:
        assert name in str(caught.value)


def test_never_fail_level_never_fails():
    assert not load_config("fail-level: never\n", RULES).fails(Severity.ERROR)

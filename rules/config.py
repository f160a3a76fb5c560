"""The repository configuration, `.github/preflight.yml`.

```yaml
fail-level: error          # error | warning | note | never
review-drafts: false       # the App reviews draft PRs only when this is true
ignore:                    # path globs (GitHub filter syntax) never checked
  - "vendor/**"
rules:
  multi-arch-without-qemu:
    enabled: true
    severity: warning      # error | warning | note
```

Every key is checked; an unknown key or a bad value is a ConfigError naming the key and the
allowed values. The App reads this file from the PR's base commit only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rules.model import Severity
from rules.yamlpos import (
    MappingNode,
    ParseError,
    ScalarNode,
    SequenceNode,
    items,
    line_of,
    parse_yaml,
)

CONFIG_PATH = ".github/preflight.yml"
FAIL_LEVELS = ("error", "warning", "note", "never")
_TOP_KEYS = ("fail-level", "review-drafts", "ignore", "rules")
_RULE_KEYS = ("enabled", "severity")


class ConfigError(ValueError):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} (line {self.line})" if self.line else base


@dataclass(frozen=True, slots=True)
class RuleSettings:
    enabled: bool = True
    severity: Severity | None = None


@dataclass(frozen=True, slots=True)
class Config:
    fail_level: str = "error"
    review_drafts: bool = False
    ignore: tuple[str, ...] = ()
    rules: dict[str, RuleSettings] = field(default_factory=dict)

    def rule(self, rule_id: str) -> RuleSettings:
        return self.rules.get(rule_id, RuleSettings())

    def fails(self, severity: Severity) -> bool:
        """Whether a finding of this severity makes the check fail."""
        if self.fail_level == "never":
            return False
        return severity.rank >= Severity(self.fail_level).rank


DEFAULT_CONFIG = Config()


def _allowed(values) -> str:
    return ", ".join(values)


def _bool(key: str, node) -> bool:
    if isinstance(node, ScalarNode) and node.value in ("true", "false"):
        return node.value == "true"
    raise ConfigError(f'invalid config: "{key}" should be true or false', line_of(node))


def load_config(text: str | None, known_rules: tuple[str, ...]) -> Config:
    """Parse and validate the configuration text (None or empty gives the defaults)."""
    if not text or not text.strip():
        return DEFAULT_CONFIG
    try:
        root = parse_yaml(text)
    except ParseError as exc:
        raise ConfigError(f"invalid config: {exc.message}", exc.line) from None
    if root is None:
        return DEFAULT_CONFIG
    if not isinstance(root, MappingNode):
        raise ConfigError("invalid config: the top level should be a mapping", line_of(root))
    fail_level = "error"
    review_drafts = False
    ignore: list[str] = []
    rules: dict[str, RuleSettings] = {}
    for key, value in items(root):
        name = key.value
        if name == "fail-level":
            if not isinstance(value, ScalarNode) or value.value not in FAIL_LEVELS:
                raise ConfigError(
                    f'invalid config: "fail-level" should be one of {_allowed(FAIL_LEVELS)}',
                    line_of(value),
                )
            fail_level = value.value
        elif name == "review-drafts":
            review_drafts = _bool(name, value)
        elif name == "ignore":
            entries = value.value if isinstance(value, SequenceNode) else None
            if entries is None or not all(isinstance(e, ScalarNode) for e in entries):
                raise ConfigError(
                    'invalid config: "ignore" should be a list of path globs', line_of(value)
                )
            ignore.extend(e.value for e in entries)
        elif name == "rules":
            rules.update(_rules(value, known_rules))
        else:
            raise ConfigError(
                f'invalid config: unknown key "{name}"; allowed: {_allowed(_TOP_KEYS)}',
                line_of(key),
            )
    return Config(fail_level, review_drafts, tuple(ignore), rules)


def _rules(node, known_rules: tuple[str, ...]) -> dict[str, RuleSettings]:
    if not isinstance(node, MappingNode):
        raise ConfigError('invalid config: "rules" should be a mapping of rule ids', line_of(node))
    out: dict[str, RuleSettings] = {}
    for key, value in items(node):
        rule_id = key.value
        if rule_id not in known_rules:
            raise ConfigError(
                f'invalid config: unknown rule "{rule_id}"; known rules: {_allowed(known_rules)}',
                line_of(key),
            )
        if not isinstance(value, MappingNode):
            raise ConfigError(
                f'invalid config: "rules.{rule_id}" should be a mapping with '
                f"{_allowed(_RULE_KEYS)}",
                line_of(value),
            )
        enabled = True
        severity = None
        for option, option_value in items(value):
            where = f"rules.{rule_id}.{option.value}"
            if option.value == "enabled":
                enabled = _bool(where, option_value)
            elif option.value == "severity":
                levels = tuple(s.value for s in Severity)
                if not isinstance(option_value, ScalarNode) or option_value.value not in levels:
                    raise ConfigError(
                        f'invalid config: "{where}" should be one of {_allowed(levels)}',
                        line_of(option_value),
                    )
                severity = Severity(option_value.value)
            else:
                raise ConfigError(
                    f'invalid config: unknown key "{where}"; allowed: {_allowed(_RULE_KEYS)}',
                    line_of(option),
                )
        out[rule_id] = RuleSettings(enabled, severity)
    return out

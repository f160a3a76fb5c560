"""The explicit list of rules. Adding a rule: its module, one line here, its golden cases."""

from __future__ import annotations

from types import ModuleType

from rules import (
    misplaced_workflow,
    multi_arch_without_qemu,
    push_without_registry_login,
    unmatched_paths_filter,
)

ALL: tuple[ModuleType, ...] = (
    misplaced_workflow,
    unmatched_paths_filter,
    multi_arch_without_qemu,
    push_without_registry_login,
)

BY_ID: dict[str, ModuleType] = {module.RULE.id: module for module in ALL}
IDS: tuple[str, ...] = tuple(BY_ID)


def get(rule_id: str) -> ModuleType:
    try:
        return BY_ID[rule_id]
    except KeyError:
        raise ValueError(f"no such rule: {rule_id!r}; known rules: {', '.join(IDS)}") from None

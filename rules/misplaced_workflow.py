"""TODO(helper): the rule's documentation.

What it does
------------

Why it matters
--------------

Bad
---

Good
----

Fix safety
----------

References
----------
"""

from __future__ import annotations

from collections.abc import Iterator

from rules.context import FileContext
from rules.model import Finding, FixAvailability, Rule, Severity

RULE = Rule(
    id="misplaced-workflow",
    title="workflow file in a place GitHub never loads",
    severity=Severity.ERROR,
    fix_availability=FixAvailability.ALWAYS,
)


def check(ctx: FileContext) -> Iterator[Finding]:
    return iter(())

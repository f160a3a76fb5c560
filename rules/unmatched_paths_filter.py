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
    id="unmatched-paths-filter",
    title="paths filter entry that matches no file",
    severity=Severity.WARNING,
    fix_availability=FixAvailability.SOMETIMES,
)


def check(ctx: FileContext) -> Iterator[Finding]:
    return iter(())

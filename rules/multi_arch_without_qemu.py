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
    id="multi-arch-without-qemu",
    title="foreign-architecture image build without QEMU",
    severity=Severity.ERROR,
    fix_availability=FixAvailability.ALWAYS,
)


def check(ctx: FileContext) -> Iterator[Finding]:
    return iter(())

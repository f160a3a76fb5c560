"""A fake GitHub (REST + GraphQL + webhooks) for driving the real App in tests and benchmarks."""

from tests.fakegithub.server import FakeGitHub, Recorded
from tests.fakegithub.state import SUBMODULE, Pull, Repo
from tests.fakegithub.webhooks import Delivery, Webhooks

__all__ = ["SUBMODULE", "Delivery", "FakeGitHub", "Pull", "Recorded", "Repo", "Webhooks"]

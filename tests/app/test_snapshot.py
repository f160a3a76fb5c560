"""Building the rules' view of a PR head from as few requests as possible."""

from __future__ import annotations

import pytest

from bot.github import GitHubApp, PullFile
from bot.snapshot import (
    BlobCache,
    build_snapshot,
    git_blob_sha,
    text_of_added_file,
    touches_ci,
)
from rules.snapshot import EntryKind
from tests.app.conftest import INSTALLATION, settings_for
from tests.fakegithub import SUBMODULE
from tests.fakegithub.diff import make_patch


@pytest.mark.parametrize(
    "text",
    [
        b"on: push\njobs: {}\n",
        b"no newline at the end",
        b"crlf: yes\r\nline: two\r\n",
        b"\n\nblank lines\n\n",
        "unicode: \u00e9t\u00e9 \u2713\n".encode(),
    ],
)
def test_an_added_file_is_rebuilt_exactly_from_its_patch(text):
    assert text_of_added_file(make_patch(None, text)) == text


@pytest.mark.parametrize(
    "patch",
    [
        None,
        "",
        "@@ -1,2 +1,2 @@\n-a\n+b\n c",  # a modification, not an addition
        "@@ -0,0 +1,3 @@\n+a\n+b",  # says three lines, holds two
        "@@ -0,0 +1,2 @@\n+a\n b",  # a context line
    ],
)
def test_patches_that_do_not_hold_the_whole_file_are_not_used(patch):
    assert text_of_added_file(patch) is None


def pf(path, status="modified", previous=None):
    return PullFile(path, status, previous, "@@ -1 +1 @@\n-a\n+b", None)


def test_which_changes_touch_ci():
    assert not touches_ci([pf("src/a.py"), pf("README.md")])
    assert touches_ci([pf("src/a.py"), pf(".github/workflows/ci.yml")])
    assert touches_ci([pf("deploy/values.yaml")])  # the runner checks every changed YAML file
    assert touches_ci([pf(".github/workflows/old.yml", "removed")])
    assert touches_ci([pf("ci.txt", "renamed", ".github/workflows/ci.yml")])
    assert not touches_ci([pf("deploy/values.yaml", "removed")])


def test_the_reader_fetches_only_what_is_read_and_caches_by_blob(fake):
    repo = fake.world.add_repo("acme/widgets", installation_id=INSTALLATION)
    base = {"a.yml": b"a: 1\n", "big.yml": b"x" * (1024 * 1024 + 1), "mod": SUBMODULE}
    head = {**base, "a.yml": b"a: 2\n", "new.yml": b"new: 1\n", "b.txt": b"b\n"}
    pull = fake.world.open_pull(repo, base, head)
    github = GitHubApp(settings_for(fake))
    client = github.repository(INSTALLATION, repo.full_name)
    files = client._list_files(pull.number)
    tree = client._get_tree(pull.head_sha)
    cache = BlobCache()
    snapshot, reader = build_snapshot(client, pull.head_sha, files, tree, cache)

    assert snapshot.kind("mod") is EntryKind.SUBMODULE
    assert snapshot.changes is not None and len(snapshot.changes) == 3
    fake.reset_calls()
    assert snapshot.read("new.yml") == "new: 1\n"  # from its patch: no request
    assert snapshot.read("missing.yml") is None  # not in the tree: no request
    assert snapshot.read("big.yml") is None  # over 1 MB: a read error, no request
    assert "1 MB" in snapshot.read_error("big.yml")
    assert fake.calls() == []
    assert snapshot.read("a.yml") == "a: 2\n"
    assert [c.query["ref"] for c in fake.calls("GET", "/contents/")] == [pull.head_sha]
    assert reader.fetched == ["a.yml"]

    # A second snapshot of the same blobs needs no request at all.
    again, _ = build_snapshot(client, pull.head_sha, files, tree, cache)
    fake.reset_calls()
    assert again.read("a.yml") == "a: 2\n"
    assert fake.calls() == []
    assert cache.get(repo.full_name, git_blob_sha(b"a: 2\n")) == b"a: 2\n"
    github.close()


def test_the_blob_cache_is_bounded():
    cache = BlobCache(max_bytes=100)
    for index in range(10):
        cache.put("o/r", str(index), b"x" * 20)
    assert cache.get("o/r", "0") is None
    assert cache.get("o/r", "9") == b"x" * 20

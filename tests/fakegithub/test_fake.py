"""The fake behaves like GitHub where the App depends on it. These tests pin the behaviour
the App's tests rely on (GitHub's own answers, as documented in shared/notes/github-api.md)."""

from __future__ import annotations

import time

import jwt
import pytest
import requests

from tests.fakegithub import FakeGitHub

WF = ".github/workflows/ci.yml"
BASE = b"".join(b"line %d\n" % i for i in range(1, 41))
HEAD = BASE.replace(b"line 5\n", b"line five\n").replace(b"line 30\n", b"line thirty\n")


@pytest.fixture(scope="module")
def fake():
    with FakeGitHub() as server:
        repo = server.world.add_repo("acme/widgets", installation_id=9)
        server.pull = server.world.open_pull(
            repo,
            {WF: BASE, "logo.png": b"\x89PNG\x00\x01"},
            {WF: HEAD, "logo.png": b"\x89PNG\x00\x02", **{f"f{i}.txt": b"x\n" for i in range(7)}},
        )
        yield server


def app_jwt(fake, **claims):
    now = int(time.time())
    payload = {"iat": now - 60, "exp": now + 300, "iss": str(fake.app_id), **claims}
    return jwt.encode(payload, fake.private_key, algorithm="RS256")


@pytest.fixture(scope="module")
def token(fake):
    response = requests.post(
        f"{fake.url}/app/installations/9/access_tokens",
        headers={"Authorization": f"Bearer {app_jwt(fake)}"},
    )
    assert response.status_code == 201
    assert response.json()["expires_at"].endswith("Z")
    return response.json()["token"]


def api(fake, token, method, path, **kwargs):
    return requests.request(
        method, f"{fake.url}{path}", headers={"Authorization": f"token {token}"}, **kwargs
    )


def test_app_endpoints_need_a_valid_jwt(fake):
    assert requests.get(f"{fake.url}/app").status_code == 401
    bad = jwt.encode({"iat": 0, "exp": 10**10, "iss": "1"}, fake.private_key, algorithm="RS256")
    assert (
        requests.get(f"{fake.url}/app", headers={"Authorization": f"Bearer {bad}"}).status_code
        == 401
    )
    expired = app_jwt(fake, exp=int(time.time()) - 10)
    assert (
        requests.get(f"{fake.url}/app", headers={"Authorization": f"Bearer {expired}"}).status_code
        == 401
    )
    good = requests.get(f"{fake.url}/app", headers={"Authorization": f"Bearer {app_jwt(fake)}"})
    assert good.status_code == 200 and good.json()["slug"] == fake.slug


def test_installation_endpoints_need_a_live_token(fake, token):
    assert api(fake, "ghs_nope", "GET", "/repos/acme/widgets").status_code == 401
    assert api(fake, token, "GET", "/repos/acme/widgets").status_code == 200
    fake.tokens["ghs_old"] = (9, time.time() - 1)
    assert api(fake, "ghs_old", "GET", "/repos/acme/widgets").status_code == 401


def test_every_url_points_back_at_the_fake(fake, token):
    pull = api(fake, token, "GET", "/repos/acme/widgets/pulls/1").json()
    for key in ("url", "issue_url", "comments_url", "review_comments_url"):
        assert pull[key].startswith(fake.url)


def test_files_are_paged_with_link_headers(fake, token):
    first = api(fake, token, "GET", "/repos/acme/widgets/pulls/1/files", params={"per_page": 3})
    assert len(first.json()) == 3
    assert first.links["next"]["url"].startswith(fake.origin)
    assert "page=3" in first.links["last"]["url"]
    last = requests.get(first.links["last"]["url"], headers={"Authorization": f"token {token}"})
    assert len(last.json()) == 3 and "next" not in last.links
    files = {
        f["filename"]: f
        for f in api(
            fake, token, "GET", "/repos/acme/widgets/pulls/1/files", params={"per_page": 100}
        ).json()
    }
    assert len(files) == 9
    assert "patch" not in files["logo.png"]  # binary: GitHub sends no patch
    assert files[WF]["patch"].startswith("@@ -2,7 +2,7 @@")


@pytest.mark.parametrize(
    ("comment", "message"),
    [
        ({"line": 20}, "line must be part of the diff"),
        ({"line": 5, "start_line": 5}, "start_line must precede the end line"),
        ({"line": 30, "start_line": 5}, "same hunk"),
        ({"line": 5, "path": "nope.yml"}, "Path could not be resolved"),
        ({"line": 1, "path": "logo.png"}, "line must be part of the diff"),
    ],
)
def test_review_comments_outside_the_diff_fail_the_whole_review(fake, token, comment, message):
    body = {"path": WF, "body": "x", "side": "RIGHT", **comment}
    response = api(
        fake,
        token,
        "POST",
        "/repos/acme/widgets/pulls/1/reviews",
        json={
            "event": "COMMENT",
            "body": "b",
            "comments": [{"path": WF, "body": "fine", "line": 5, "side": "RIGHT"}, body],
        },
    )
    assert response.status_code == 422
    assert message in " ".join(response.json()["errors"])


def test_one_pending_review_per_user(fake, token):
    path = "/repos/acme/widgets/pulls/1/reviews"
    first = api(fake, token, "POST", path, json={"body": "pending"})
    assert first.status_code == 200 and first.json()["state"] == "PENDING"
    again = api(fake, token, "POST", path, json={"event": "COMMENT", "body": "x"})
    assert again.status_code == 422
    assert "one pending review" in again.json()["errors"][0]
    assert api(fake, token, "DELETE", f"{path}/{first.json()['id']}").status_code == 200
    assert api(fake, token, "POST", path, json={"event": "COMMENT", "body": "x"}).status_code == 200


def test_review_comments_cannot_carry_subject_type(fake, token):
    response = api(
        fake,
        token,
        "POST",
        "/repos/acme/widgets/pulls/1/reviews",
        json={
            "event": "COMMENT",
            "body": "b",
            "comments": [{"path": WF, "body": "x", "subject_type": "file"}],
        },
    )
    assert response.status_code == 422


def test_contents_over_one_megabyte_have_no_content(fake, token):
    repo = fake.repo("acme/widgets")
    sha = fake.world.commit(repo, {"big.yml": b"x" * (1024 * 1024 + 1)})
    data = api(
        fake, token, "GET", "/repos/acme/widgets/contents/big.yml", params={"ref": sha}
    ).json()
    assert data["encoding"] == "none" and data["content"] == ""
    missing = api(fake, token, "GET", "/repos/acme/widgets/contents/nope.yml", params={"ref": sha})
    assert missing.status_code == 404
    branch = api(
        fake, token, "GET", "/repos/acme/widgets/contents/big.yml", params={"ref": "feature"}
    )
    assert branch.status_code == 404  # only SHAs resolve: head.ref would fail, as for a fork


def test_trees_are_recursive_and_can_be_truncated(fake, token):
    head = fake.pull.head_sha
    tree = api(
        fake, token, "GET", f"/repos/acme/widgets/git/trees/{head}", params={"recursive": "1"}
    ).json()
    assert WF in {e["path"] for e in tree["tree"]} and tree["truncated"] is False
    fake.tree_limit = 2
    try:
        tree = api(
            fake, token, "GET", f"/repos/acme/widgets/git/trees/{head}", params={"recursive": "1"}
        ).json()
    finally:
        fake.tree_limit = None
    assert len(tree["tree"]) == 2 and tree["truncated"] is True


def test_check_runs_take_at_most_fifty_annotations_per_request(fake, token):
    annotation = {
        "path": WF,
        "start_line": 1,
        "end_line": 1,
        "annotation_level": "warning",
        "message": "m",
    }
    body = {
        "name": "Preflight",
        "head_sha": fake.pull.head_sha,
        "output": {"title": "t", "summary": "s", "annotations": [annotation] * 51},
    }
    assert api(fake, token, "POST", "/repos/acme/widgets/check-runs", json=body).status_code == 422
    body["output"]["annotations"] = [annotation] * 50
    created = api(fake, token, "POST", "/repos/acme/widgets/check-runs", json=body)
    assert created.status_code == 201
    run_id = created.json()["id"]
    patched = api(
        fake,
        token,
        "PATCH",
        f"/repos/acme/widgets/check-runs/{run_id}",
        json={
            "status": "completed",
            "conclusion": "success",
            "output": {"title": "t", "summary": "s", "annotations": [annotation]},
        },
    )
    assert patched.json()["output"]["annotations_count"] == 51
    unconcluded = api(
        fake,
        token,
        "PATCH",
        f"/repos/acme/widgets/check-runs/{run_id}",
        json={"status": "completed"},
    )
    assert unconcluded.status_code == 200  # it already has a conclusion


def test_graphql_enforces_pagination_arguments(fake, token):
    query = """query($o: String!, $n: String!) { repository(owner: $o, name: $n) {
        pullRequest(number: 1) { reviewThreads { nodes { id } } } } }"""
    data = api(
        fake,
        token,
        "POST",
        "/graphql",
        json={"query": query, "variables": {"o": "acme", "n": "widgets"}},
    ).json()
    assert "first" in data["errors"][0]["message"]
    bad = api(
        fake,
        token,
        "POST",
        "/graphql",
        json={"query": '{ repository(owner: "acme", name: "widgets") { nope } }'},
    ).json()
    assert "nope" in bad["errors"][0]["message"]


def test_bots_are_named_without_the_suffix_in_graphql(fake, token):
    api(fake, token, "POST", "/repos/acme/widgets/issues/1/comments", json={"body": "hi"})
    query = """{ repository(owner: "acme", name: "widgets") { pullRequest(number: 1) {
        comments(first: 10) { nodes { author { __typename login } } } } } }"""
    nodes = api(fake, token, "POST", "/graphql", json={"query": query}).json()["data"][
        "repository"
    ]["pullRequest"]["comments"]["nodes"]
    assert nodes[-1]["author"] == {"__typename": "Bot", "login": fake.slug}


def test_faults_can_be_injected(fake, token):
    fake.fail("GET", r"/repos/acme/widgets$", 503, times=1)
    assert api(fake, token, "GET", "/repos/acme/widgets").status_code == 503
    assert api(fake, token, "GET", "/repos/acme/widgets").status_code == 200

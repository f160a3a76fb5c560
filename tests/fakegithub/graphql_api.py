"""The slice of GitHub's GraphQL schema the App uses, executed for real by graphql-core, so a
misspelt field or a missing `first:` fails here as it would on GitHub."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from graphql import GraphQLError, build_schema, graphql_sync

from tests.fakegithub.state import Pull, Repo, Thread, World, blob_sha

SDL = """
scalar GitObjectID
scalar URI

type Query {
  repository(owner: String!, name: String!): Repository
}

type Mutation {
  resolveReviewThread(input: ResolveReviewThreadInput!): ResolveReviewThreadPayload
  unresolveReviewThread(input: UnresolveReviewThreadInput!): UnresolveReviewThreadPayload
}

input ResolveReviewThreadInput { threadId: ID!, clientMutationId: String }
type ResolveReviewThreadPayload { thread: PullRequestReviewThread, clientMutationId: String }
input UnresolveReviewThreadInput { threadId: ID!, clientMutationId: String }
type UnresolveReviewThreadPayload { thread: PullRequestReviewThread, clientMutationId: String }

type Repository {
  id: ID!
  name: String!
  nameWithOwner: String!
  object(expression: String, oid: GitObjectID): GitObject
  pullRequest(number: Int!): PullRequest
}

interface GitObject { id: ID!, oid: GitObjectID! }
type Blob implements GitObject {
  id: ID!
  oid: GitObjectID!
  text: String
  isBinary: Boolean
  isTruncated: Boolean!
  byteSize: Int!
}
type Tree implements GitObject { id: ID!, oid: GitObjectID! }
type Commit implements GitObject { id: ID!, oid: GitObjectID! }

interface Actor { login: String!, url: URI! }
type User implements Actor { login: String!, url: URI! }
type Bot implements Actor { login: String!, url: URI! }

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

enum PullRequestState { OPEN CLOSED MERGED }
type PullRequest {
  id: ID!
  number: Int!
  headRefOid: GitObjectID!
  state: PullRequestState!
  reviewThreads(first: Int, after: String, last: Int, before: String):
    PullRequestReviewThreadConnection!
  comments(first: Int, after: String, last: Int, before: String): IssueCommentConnection!
  reviews(first: Int, after: String, last: Int, before: String, author: String):
    PullRequestReviewConnection!
}

type PullRequestReviewThread {
  id: ID!
  isResolved: Boolean!
  isOutdated: Boolean!
  path: String!
  resolvedBy: User
  comments(first: Int, after: String, last: Int, before: String, skip: Int):
    PullRequestReviewCommentConnection!
}
type PullRequestReviewThreadConnection {
  nodes: [PullRequestReviewThread]
  pageInfo: PageInfo!
  totalCount: Int!
}

type PullRequestReviewComment {
  id: ID!
  databaseId: Int
  body: String!
  path: String!
  author: Actor
}
type PullRequestReviewCommentConnection {
  nodes: [PullRequestReviewComment]
  pageInfo: PageInfo!
  totalCount: Int!
}

type IssueComment { id: ID!, databaseId: Int, body: String!, author: Actor }
type IssueCommentConnection { nodes: [IssueComment], pageInfo: PageInfo!, totalCount: Int! }

enum PullRequestReviewState { PENDING COMMENTED APPROVED CHANGES_REQUESTED DISMISSED }
type PullRequestReview {
  id: ID!
  databaseId: Int
  body: String!
  state: PullRequestReviewState!
  commit: Commit
  author: Actor
}
type PullRequestReviewConnection {
  nodes: [PullRequestReview]
  pageInfo: PageInfo!
  totalCount: Int!
}
"""

SCHEMA = build_schema(SDL)
BLOB_TEXT_LIMIT = 512 * 1024  # GitHub truncates Blob.text of large files


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:{index}".encode()).decode()


def _index(cursor: str) -> int:
    try:
        return int(base64.b64decode(cursor).decode().split(":")[1])
    except Exception:
        raise GraphQLError(f"`{cursor}` does not appear to be a valid cursor.") from None


def connection(items: list[Any], convert: Callable[[Any], dict[str, Any]]):
    """A resolver for a Relay connection with GitHub's rules (first or last, at most 100)."""

    def resolve(_info, first=None, after=None, last=None, before=None, **_filters):
        if first is None and last is None:
            raise GraphQLError(
                "You must provide a `first` or `last` value to properly paginate the connection."
            )
        for name, value in (("first", first), ("last", last)):
            if value is not None and not 0 <= value <= 100:
                raise GraphQLError(
                    f"Requesting {value} records on the connection exceeds the `{name}` limit "
                    "of 100 records."
                )
        start = _index(after) + 1 if after else 0
        end = _index(before) if before else len(items)
        window = list(enumerate(items))[start:end]
        if first is not None:
            has_next = len(window) > first
            window = window[:first]
        else:
            has_next = False
        if last is not None:
            window = window[-last:] if last else []
        return {
            "nodes": [convert(item) for _, item in window],
            "totalCount": len(items),
            "pageInfo": {
                "hasNextPage": has_next,
                "hasPreviousPage": bool(window) and window[0][0] > 0,
                "startCursor": _cursor(window[0][0]) if window else None,
                "endCursor": _cursor(window[-1][0]) if window else None,
            },
        }

    return resolve


class GraphQLApi:
    def __init__(self, world: World):
        self.world = world

    def execute(self, query: str, variables: dict[str, Any] | None, installation_id: int):
        root = {
            "repository": lambda _info, owner, name: self._repository(
                f"{owner}/{name}", installation_id
            ),
            "resolveReviewThread": lambda _info, input: self._resolve(input["threadId"], True),
            "unresolveReviewThread": lambda _info, input: self._resolve(input["threadId"], False),
        }
        result = graphql_sync(SCHEMA, query, root_value=root, variable_values=variables or {})
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [
                {
                    "message": error.message,
                    "type": "NOT_FOUND" if "Could not" in error.message else "INVALID",
                    "path": error.path,
                }
                for error in result.errors
            ]
        return payload

    # -- resolvers ------------------------------------------------------------------------------

    def actor(self, user) -> dict[str, Any] | None:
        if user is None:
            return None
        if user.type == "Bot":
            # GraphQL names a bot by its slug, without the "[bot]" REST adds.
            return {
                "__typename": "Bot",
                "login": user.login.removesuffix("[bot]"),
                "url": f"https://github.invalid/apps/{user.login}",
            }
        return {
            "__typename": "User",
            "login": user.login,
            "url": f"https://github.invalid/{user.login}",
        }

    def _repository(self, full_name: str, installation_id: int):
        repo = self.world.repos.get(full_name)
        if repo is None or repo.installation_id != installation_id:
            raise GraphQLError(f"Could not resolve to a Repository with the name '{full_name}'.")
        return {
            "id": f"R_{repo.id}",
            "name": repo.name,
            "nameWithOwner": repo.full_name,
            "object": lambda _info, expression=None, oid=None: self._object(repo, expression),
            "pullRequest": lambda _info, number: self._pull(repo, number),
        }

    def _object(self, repo: Repo, expression: str | None):
        if not expression or ":" not in expression:
            return None
        rev, path = expression.split(":", 1)
        files = repo.commits.get(rev)
        if files is None:
            return None
        content = files.get(path)
        if content is None or not isinstance(content, bytes):
            return None
        binary = b"\x00" in content[:8000]
        text = None if binary else content[:BLOB_TEXT_LIMIT].decode("utf-8", errors="replace")
        return {
            "__typename": "Blob",
            "id": f"B_{rev[:8]}_{path}",
            "oid": blob_sha(content),
            "text": text,
            "isBinary": binary,
            "isTruncated": len(content) > BLOB_TEXT_LIMIT,
            "byteSize": len(content),
        }

    def _pull(self, repo: Repo, number: int):
        pull = repo.pulls.get(number)
        if pull is None:
            raise GraphQLError(f"Could not resolve to a PullRequest with the number of {number}.")
        comments = [c for c in repo.issue_comments.values() if c.number == number]
        return {
            "id": f"PR_{repo.id}_{number}",
            "number": number,
            "headRefOid": pull.head_sha,
            "state": pull.state.upper(),
            "reviewThreads": connection(pull.threads, lambda t: self._thread(pull, t)),
            "comments": connection(
                comments,
                lambda c: {
                    "id": f"IC_{c.id}",
                    "databaseId": c.id,
                    "body": c.body,
                    "author": self.actor(c.user),
                },
            ),
            "reviews": connection(
                pull.reviews,
                lambda r: {
                    "id": f"PRR_{r.id}",
                    "databaseId": r.id,
                    "body": r.body,
                    "state": r.state,
                    "commit": {
                        "__typename": "Commit",
                        "id": f"C_{r.commit_id}",
                        "oid": r.commit_id,
                    },
                    "author": self.actor(r.user),
                },
            ),
        }

    def _thread(self, pull: Pull, thread: Thread) -> dict[str, Any]:
        by_id = {c.id: c for c in pull.comments}
        comments = [by_id[i] for i in thread.comment_ids]
        resolved_by = thread.resolved_by
        return {
            "id": thread.id,
            "isResolved": thread.is_resolved,
            "isOutdated": False,
            "path": thread.path,
            "resolvedBy": None
            if resolved_by is None or resolved_by.type == "Bot"
            else {"login": resolved_by.login, "url": f"https://github.invalid/{resolved_by.login}"},
            "comments": connection(
                comments,
                lambda c: {
                    "id": f"PRRC_{c.id}",
                    "databaseId": c.id,
                    "body": c.body,
                    "path": c.path,
                    "author": self.actor(c.user),
                },
            ),
        }

    def _resolve(self, thread_id: str, resolved: bool):
        for repo in self.world.repos.values():
            for pull in repo.pulls.values():
                for thread in pull.threads:
                    if thread.id == thread_id:
                        thread.is_resolved = resolved
                        thread.resolved_by = self.world.bot if resolved else None
                        return {"thread": self._thread(pull, thread)}
        raise GraphQLError(f"Could not resolve to a node with the global id of '{thread_id}'")

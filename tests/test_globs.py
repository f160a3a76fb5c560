"""GitHub's filter-pattern semantics (rules/globs.py), from the "Filter pattern cheat sheet" of
the workflow syntax docs, and a property test against a small backtracking matcher written
straight from those documented rules."""

from __future__ import annotations

from dataclasses import dataclass
import functools

from hypothesis import example, given, settings
from hypothesis import strategies as st
import pytest

from rules.globs import (
    GlobSyntaxError,
    PathIndex,
    compile_pattern,
    filter_matches,
    has_special,
    literal_prefix,
    looks_like_regex,
)

# --- the cheat sheet, example by example ---------------------------------------------------------

CHEAT_SHEET = [
    # (pattern, paths it matches, paths it does not match)
    ("*", ["README.md", "server.rb"], ["docs/README.md", ".github/x.yml"]),
    ("*.jsx?", ["page.js", "page.jsx"], ["page.jsxx", "src/page.js"]),
    ("**", ["all/the/files.md", "x", ".github/workflows/ci.yml"], []),
    ("*.js", ["app.js", "index.js"], ["js/index.js", "app.jsx"]),
    ("**.js", ["index.js", "js/index.js", "src/js/app.js"], ["index.jsx", "js/app.ts"]),
    ("docs/*", ["docs/README.md", "docs/file.txt"], ["docs/a/b.md", "README.md", "docs"]),
    ("docs/**", ["docs/README.md", "docs/mona/octocat.txt"], ["docs", "documents/a.md"]),
    (
        "docs/**/*.md",
        ["docs/README.md", "docs/mona/hello-world.md", "docs/a/markdown/file.md"],
        ["docs/a.txt", "README.md"],
    ),
    (
        "**/docs/**",
        ["docs/hello.md", "dir/docs/my-file.txt", "space/docs/plan/space.doc"],
        ["docs", "mydocs/a.md"],
    ),
    ("**/README.md", ["README.md", "js/README.md"], ["README.mdx", "js/NOTREADME.md"]),
    ("**/*src/**", ["a/src/app.js", "my-src/code/js/app.js"], ["src", "a/source/x.js"]),
    ("**/*-post.md", ["my-post.md", "path/their-post.md"], ["post.md", "a/my-post.mdx"]),
    (
        "**/migrate-*.sql",
        ["migrate-10909.sql", "db/migrate-v1.0.sql", "db/sept/migrate-v1.sql"],
        ["migrate.sql", "db/migrate-v1.0.sql.bak"],
    ),
    # branch and tag examples use the same syntax
    ("feature/*", ["feature/my-branch"], ["feature/your/branch", "feature"]),
    ("feature/**", ["feature/your-branch", "feature/mona/the/octocat"], ["features/x"]),
    ("releases/**-alpha", ["releases/10-alpha", "releases/beta/3-alpha"], ["releases/10"]),
    ("v2*", ["v2", "v2.0", "v2.9"], ["v1.0", "v3"]),
    ("v[12].[0-9]+.[0-9]+", ["v1.10.1", "v2.0.0"], ["v3.0.0", "v1.a.1", "v1.0", "v1x0.0"]),
    ("[A-Z]x", ["Ax", "Zx"], ["ax", "0x"]),
]


@pytest.mark.parametrize(("pattern", "matching", "not_matching"), CHEAT_SHEET)
def test_cheat_sheet(pattern: str, matching: list[str], not_matching: list[str]) -> None:
    compiled = compile_pattern(pattern)
    for path in matching:
        assert compiled.matches(path), f"{pattern!r} should match {path!r}"
    for path in not_matching:
        assert not compiled.matches(path), f"{pattern!r} should not match {path!r}"


def test_negation_is_ordered_and_later_patterns_reinclude() -> None:
    patterns = ["*.md", "!README.md"]
    assert filter_matches(patterns, "hello.md")
    assert not filter_matches(patterns, "README.md")
    assert not filter_matches(patterns, "docs/hello.md")
    patterns = ["*.md", "!README.md", "README*"]
    assert filter_matches(patterns, "README.md")
    assert filter_matches(patterns, "README.doc")
    assert filter_matches(patterns, "hello.md")


def test_a_lone_negation_selects_nothing() -> None:
    assert not filter_matches(["!docs/**"], "src/a.py")
    assert not filter_matches(["!docs/**"], "docs/a.md")


def test_patterns_match_whole_paths_so_a_bare_folder_matches_no_file() -> None:
    assert not compile_pattern("tests/special_e2e/sft").matches("tests/special_e2e/sft/run.sh")
    assert compile_pattern("tests/special_e2e/sft/**").matches("tests/special_e2e/sft/run.sh")


def test_a_leading_dot_slash_never_matches() -> None:
    assert not compile_pattern("./src/**").matches("src/a.py")
    assert not compile_pattern("/src/**").matches("src/a.py")


def test_escapes_make_special_characters_literal() -> None:
    assert compile_pattern("a\\*b").matches("a*b")
    assert not compile_pattern("a\\*b").matches("axb")
    assert compile_pattern("\\!important.md").matches("!important.md")
    assert not compile_pattern("\\!important.md").negated


def test_special_characters_of_regular_expressions_are_literal() -> None:
    assert compile_pattern("a.b").matches("a.b")
    assert not compile_pattern("a.b").matches("axb")
    assert compile_pattern("(x)|$").matches("(x)|$")


def test_matching_is_case_sensitive() -> None:
    assert not compile_pattern("readme.md").matches("README.md")


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("", "empty pattern"),
        ("!", "empty pattern"),
        ("src/[abc", "unclosed character class"),
        ("src/]", "unmatched ']'"),
        ("[]", "empty character class"),
        ("v[9-0]", "reversed"),
        ("?x", "must follow a plain character"),
        ("a*+", "must follow a plain character"),
        ("a??", "must follow a plain character"),
        ("a\\", "ends with an escape"),
    ],
)
def test_invalid_patterns_say_why(pattern: str, reason: str) -> None:
    with pytest.raises(GlobSyntaxError, match=reason.replace("[", r"\[")):
        compile_pattern(pattern)


def test_filter_matches_skips_invalid_patterns() -> None:
    assert filter_matches(["src/[abc", "src/**"], "src/a.py")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("^src/.*\\.py$", True),
        ("src/.*", True),
        ("(a|b)/x", True),
        ("\\d+.txt", True),
        ("src/**/*.py", False),
        ("v[12].[0-9]+", False),
        ("!docs/**", False),
    ],
)
def test_looks_like_regex(text: str, expected: bool) -> None:
    assert looks_like_regex(text) is expected


def test_has_special() -> None:
    assert has_special("src/*.py")
    assert has_special("a\\b")
    assert not has_special("src/app/main.py")


@pytest.mark.parametrize(
    ("pattern", "prefix"),
    [
        ("src/app/*.py", "src/app/"),
        ("src/app/main.py", "src/app/"),
        ("**/x", ""),
        ("!docs/**", "docs/"),
        ("docs/a?b", "docs/"),
        ("docs/?x", ""),  # `?` makes the `/` before it optional
        ("a/b+/c", "a/"),
        ("docs/[ab]/x", "docs/"),
        ("README.md", ""),
    ],
)
def test_literal_prefix(pattern: str, prefix: str) -> None:
    assert literal_prefix(pattern) == prefix
    compiled = compile_pattern(pattern)
    for path in ["docs/ab", "docs/x", "docx", "a/bbb/c", "a/b/c", "src/app/main.py"]:
        if compiled.matches(path):
            assert path.startswith(prefix)


def test_path_index_answers_and_caches() -> None:
    index = PathIndex(["ping/ping.go", "ping/status.go", "go.mod", "test/docker/a.yml"])
    assert index.first_match(compile_pattern("*.go")) is None
    assert index.first_match(compile_pattern("**.go")) == "ping/ping.go"
    assert index.first_match(compile_pattern("!ping/**")) == "ping/ping.go"
    assert index.first_match(compile_pattern("go.mod")) == "go.mod"
    assert index.matches(compile_pattern("ping/*.go"), limit=5) == [
        "ping/ping.go",
        "ping/status.go",
    ]
    assert index.is_folder("test/docker") and index.is_folder("test/")
    assert not index.is_folder("go.mod") and not index.is_folder("tes")
    assert index.children("") == {"ping", "go.mod", "test"}
    assert index.children("test") == {"docker"}
    assert "go.mod" in index and len(index) == 4


# --- a reference matcher from the documented rules -----------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # "lit", "class", "star", "globstar", "globstar_dir"
    chars: frozenset[str] = frozenset()
    repeat: str = ""  # "", "?" (zero or one) or "+" (one or more)


def reference_tokens(body: str) -> list[Token]:
    """Tokenize by the cheat sheet: `*`, `**` (and `**/`, zero or more folders), `?` and `+`
    after a character or class, `[...]` with ranges, `\\` escapes."""
    tokens: list[Token] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            if i + 1 == len(body):
                raise ValueError("dangling escape")
            tokens.append(Token("lit", frozenset(body[i + 1])))
            i += 2
        elif char == "*":
            if body[i : i + 3] == "**/":
                tokens.append(Token("globstar_dir"))
                i += 3
            elif body[i : i + 2] == "**":
                tokens.append(Token("globstar"))
                i += 2
            else:
                tokens.append(Token("star"))
                i += 1
        elif char in "?+":
            if not tokens or tokens[-1].kind not in ("lit", "class") or tokens[-1].repeat:
                raise ValueError("quantifier without a character")
            last = tokens.pop()
            tokens.append(Token(last.kind, last.chars, char))
            i += 1
        elif char == "[":
            end = body.find("]", i + 1)
            if end == -1 or end == i + 1:
                raise ValueError("bad class")
            content = body[i + 1 : end]
            chars: set[str] = set()
            j = 0
            while j < len(content):
                if j + 2 < len(content) and content[j + 1] == "-":
                    low, high = content[j], content[j + 2]
                    if low > high:
                        raise ValueError("reversed range")
                    chars.update(chr(c) for c in range(ord(low), ord(high) + 1))
                    j += 3
                else:
                    chars.add(content[j])
                    j += 1
            tokens.append(Token("class", frozenset(chars)))
            i = end + 1
        elif char == "]":
            raise ValueError("stray ]")
        else:
            tokens.append(Token("lit", frozenset(char)))
            i += 1
    return tokens


def reference_match(pattern: str, path: str) -> bool:
    body = pattern[1:] if pattern.startswith("!") else pattern
    if not body:
        raise ValueError("empty")
    tokens = tuple(reference_tokens(body))

    @functools.cache
    def match(t: int, p: int) -> bool:
        if t == len(tokens):
            return p == len(path)
        token = tokens[t]
        if token.kind == "star":
            end = p
            while True:
                if match(t + 1, end):
                    return True
                if end == len(path) or path[end] == "/":
                    return False
                end += 1
        if token.kind == "globstar":
            return any(match(t + 1, end) for end in range(p, len(path) + 1))
        if token.kind == "globstar_dir":
            if match(t + 1, p):
                return True
            return any(
                path[end - 1] == "/" and match(t + 1, end) for end in range(p + 1, len(path) + 1)
            )
        one = p < len(path) and path[p] in token.chars
        if token.repeat == "?":
            return match(t + 1, p) or (one and match(t + 1, p + 1))
        if token.repeat == "+":
            end = p
            while end < len(path) and path[end] in token.chars:
                end += 1
                if match(t + 1, end):
                    return True
            return False
        return one and match(t + 1, p + 1)

    return match(0, 0)


PIECES = ["a", "b", ".", "/", "-", "*", "**", "**/", "?", "+", "[ab]", "[a-c]", "\\*", "]"]


@st.composite
def pattern_and_paths(draw: st.DrawFn) -> tuple[str, list[str]]:
    pieces = draw(st.lists(st.sampled_from(PIECES), min_size=1, max_size=7))
    pattern = ("!" if draw(st.booleans()) else "") + "".join(pieces)
    # Paths built from the pattern's pieces hit matches far more often than random text.
    fillers = {
        "*": ["", "a", "ab", "a/b"],
        "**": ["", "a", "a/b", "/"],
        "**/": ["", "a/", "a/b/", "b"],
        "?": ["", "a", "?"],
        "+": ["", "+", "aa", "bb"],
        "[ab]": ["a", "b", "c"],
        "[a-c]": ["a", "c", "d"],
        "\\*": ["*", "\\*", "a"],
    }
    paths = []
    for _ in range(4):
        paths.append("".join(draw(st.sampled_from(fillers.get(p, [p]))) for p in pieces))
    paths += draw(st.lists(st.text(alphabet="ab./-*+?", max_size=8), max_size=3))
    return pattern, paths


@settings(max_examples=600, deadline=None)
@given(pattern_and_paths())
@example(("**/x", ["x", "a/x", "ax"]))
@example(("a/**/b", ["a/b", "a/x/b", "ab"]))
@example(("a?/b", ["ab", "a/b", "a//b"]))
def test_compile_pattern_agrees_with_the_reference_matcher(case: tuple[str, list[str]]) -> None:
    pattern, paths = case
    try:
        reference_tokens(pattern[1:] if pattern.startswith("!") else pattern)
        reference_valid = pattern not in ("", "!")
    except ValueError:
        reference_valid = False
    try:
        compiled = compile_pattern(pattern)
    except GlobSyntaxError:
        assert not reference_valid, f"{pattern!r} rejected but valid by the documented rules"
        return
    assert reference_valid, f"{pattern!r} accepted but invalid by the documented rules"
    assert compiled.negated == pattern.startswith("!")
    for path in paths:
        assert compiled.matches(path) == reference_match(pattern, path), (pattern, path)


@settings(max_examples=300, deadline=None)
@given(pattern_and_paths())
def test_path_index_agrees_with_a_linear_scan(case: tuple[str, list[str]]) -> None:
    pattern, paths = case
    try:
        compiled = compile_pattern(pattern)
    except GlobSyntaxError:
        return
    tree = sorted(set(paths) | {"a/b", "ab", "b/a/a.b"})
    expected = [path for path in tree if compiled.matches(path)]
    index = PathIndex(tree)
    assert index.first_match(compiled) == (expected[0] if expected else None)
    assert index.matches(compiled, limit=100) == expected

"""The engine's benchmark: throughput, memory, whole-process time against zizmor, start-up.

    python bench/engine_bench.py                 # everything (installs zizmor on first use)
    python bench/engine_bench.py --no-zizmor     # skip the comparison
    python bench/engine_bench.py --profile       # also print the hottest functions

What it measures (see bench/README.md):
  1. in process: workflow files per second of rules.runner.run with every rule, on 1,000
     generated workflows (one repository of 1,000, and 100 repositories of 10) and on the
     66 files of ../shared/corpus/real placed at their SOURCES.tsv paths;
  2. peak memory of one run over the 1,000 files: Python allocations (tracemalloc) and the
     resident set (ru_maxrss) of a fresh process that does only that run;
  3. whole-process wall time of `preflight check` against `zizmor --offline` on the same files,
     median of several runs;
  4. the CLI's start-up: `python -X importtime -m bot check --help`, and whether the check path
     imports aiohttp, PyGithub or unidiff.

Targets (issue 2, section 7): >= 500 files/s in process, < 100 MB peak for 1,000 files, and
`preflight check` no slower than zizmor on the corpus. Nothing here touches the network except
the one-time `pip install zizmor` into its own virtual environment.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
from dataclasses import dataclass
import gc
import json
import os
from pathlib import Path
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "real"
DEFAULT_ZIZMOR_VENV = Path(tempfile.gettempdir()) / "preflight-bench" / "venv-zizmor"

TARGET_FILES_PER_SECOND = 500
TARGET_PEAK_MB = 100

sys.path.insert(0, str(REPO))


# --- generated workflows ----------------------------------------------------------------------

SOURCE_TREE = [
    "README.md",
    "pyproject.toml",
    "package.json",
    "Dockerfile",
    "docker/Dockerfile.arm",
    "docs/index.md",
    "docs/guide/setup.md",
    "src/app/__init__.py",
    "src/app/main.py",
    "src/web/index.ts",
    "tests/test_main.py",
    "cmd/server/main.go",
    "go.mod",
    "charts/app/values.yaml",
]


def _python_ci(rng: random.Random, name: str) -> str:
    versions = rng.sample(["3.9", "3.10", "3.11", "3.12", "3.13"], rng.randint(2, 4))
    oses = rng.sample(["ubuntu-latest", "macos-latest", "windows-latest", "ubuntu-24.04"], 2)
    paths = rng.choice(
        [
            ["src/**", "tests/**", "pyproject.toml", f".github/workflows/{name}"],
            ["**.py", "pyproject.toml"],
            ["src/**", "tests/**"],
        ]
    )
    paths_yaml = "".join(f"      - '{p}'\n" for p in paths)
    return f"""\
name: Python CI {rng.randint(1, 999)}
on:
  push:
    branches: [main]
    paths:
{paths_yaml}  pull_request:
    paths:
{paths_yaml}permissions:
  contents: read
concurrency:
  group: ${{{{ github.workflow }}}}-${{{{ github.ref }}}}
  cancel-in-progress: true
jobs:
  test:
    runs-on: ${{{{ matrix.os }}}}
    strategy:
      fail-fast: false
      matrix:
        os: [{", ".join(oses)}]
        python: [{", ".join(f'"{v}"' for v in versions)}]
        include:
          - os: ubuntu-latest
            python: "3.12"
            coverage: true
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: ${{{{ matrix.python }}}}
          cache: pip
      - name: Install
        run: |
          python -m pip install --upgrade pip
          pip install -e '.[test]'
      - name: Test
        run: pytest -q --cov=src --cov-report=xml
      - if: ${{{{ matrix.coverage }}}}
        uses: codecov/codecov-action@v4
        with:
          files: coverage.xml
"""


def _node_ci(rng: random.Random, name: str) -> str:
    nodes = rng.sample(["18", "20", "22", "23"], rng.randint(1, 3))
    return f"""\
name: Node
on:
  pull_request:
    paths-ignore:
      - 'docs/**'
      - '**.md'
  push:
    branches: [main, 'release/**']
jobs:
  build:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        node: [{", ".join(nodes)}]
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: ${{{{ matrix.node }}}}
          cache: npm
      - run: npm ci
      - run: npm run lint --if-present
      - run: npm test -- --ci --reporters=default
      - uses: actions/upload-artifact@v4
        if: failure()
        with:
          name: logs-${{{{ matrix.node }}}}
          path: '**/*.log'
"""


def _docker(rng: random.Random, name: str, *, qemu: bool, login: bool, arm: bool) -> str:
    registry = rng.choice(["ghcr.io", "quay.io", "docker.io", "registry.example.com"])
    image = f"{registry}/example/app{rng.randint(1, 99)}"
    platforms = "linux/amd64,linux/arm64" if arm else "linux/amd64"
    steps = ["      - uses: actions/checkout@v4\n"]
    if qemu:
        steps.append("      - uses: docker/setup-qemu-action@v3\n")
    steps.append("      - uses: docker/setup-buildx-action@v3\n")
    if login:
        steps.append(
            textwrap.indent(
                textwrap.dedent(
                    f"""\
                    - uses: docker/login-action@v3
                      if: github.event_name != 'pull_request'
                      with:
                        registry: {registry}
                        username: ${{{{ github.actor }}}}
                        password: ${{{{ secrets.REGISTRY_TOKEN }}}}
                    """
                ),
                "      ",
            )
        )
    steps.append(
        textwrap.indent(
            textwrap.dedent(
                f"""\
                - id: meta
                  uses: docker/metadata-action@v5
                  with:
                    images: {image}
                    tags: |
                      type=ref,event=branch
                      type=semver,pattern={{{{version}}}}
                - uses: docker/build-push-action@v6
                  with:
                    context: .
                    file: {rng.choice(["Dockerfile", "docker/Dockerfile.arm"])}
                    platforms: {platforms}
                    push: ${{{{ github.event_name != 'pull_request' }}}}
                    tags: ${{{{ steps.meta.outputs.tags }}}}
                    labels: ${{{{ steps.meta.outputs.labels }}}}
                    cache-from: type=gha
                    cache-to: type=gha,mode=max
                """
            ),
            "      ",
        )
    )
    return f"""\
name: Docker image
on:
  push:
    branches: [main]
    tags: ['v*']
    paths:
      - 'Dockerfile'
      - 'docker/**'
      - 'src/**'
      - '.github/workflows/{name}'
  pull_request:
  workflow_dispatch:
permissions:
  contents: read
  packages: write
jobs:
  image:
    runs-on: {rng.choice(["ubuntu-latest", "ubuntu-22.04", "ubuntu-24.04"])}
    timeout-minutes: 60
    steps:
{"".join(steps)}"""


def _docker_script(rng: random.Random, name: str) -> str:
    return f"""\
name: Build with a script
on:
  push:
    branches: [main]
jobs:
  build:
    runs-on: ubuntu-latest
    env:
      IMAGE: quay.io/example/tool{rng.randint(1, 99)}
    steps:
      - uses: actions/checkout@v4
      - uses: docker/setup-qemu-action@v3
      - uses: docker/setup-buildx-action@v3
      - name: Log in
        run: echo "${{{{ secrets.QUAY_TOKEN }}}}" | docker login quay.io -u bot --password-stdin
      - name: Build and push
        run: |
          set -euo pipefail
          TAG="${{GITHUB_SHA::8}}"
          docker buildx build --platform linux/amd64,linux/arm64 \\
            -t "$IMAGE:$TAG" -t "$IMAGE:latest" --push .
          echo "pushed $IMAGE:$TAG"
"""


def _release(rng: random.Random, name: str) -> str:
    return """\
name: Release
on:
  push:
    tags: ['v*.*.*']
  workflow_dispatch:
    inputs:
      version:
        description: version to release
        required: true
        type: string
      dry-run:
        type: boolean
        default: false
jobs:
  build:
    runs-on: ubuntu-latest
    outputs:
      version: ${{ steps.version.outputs.value }}
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - id: version
        run: echo "value=${GITHUB_REF_NAME#v}" >> "$GITHUB_OUTPUT"
      - run: make dist VERSION=${{ steps.version.outputs.value }}
      - uses: actions/upload-artifact@v4
        with:
          name: dist
          path: dist/
  publish:
    needs: build
    if: ${{ !inputs.dry-run }}
    runs-on: ubuntu-latest
    permissions:
      contents: write
    steps:
      - uses: actions/download-artifact@v4
        with:
          name: dist
      - run: gh release create "v${{ needs.build.outputs.version }}" dist/* --generate-notes
        env:
          GH_TOKEN: ${{ github.token }}
"""


def _reusable(rng: random.Random, name: str) -> str:
    return f"""\
name: Reusable build
on:
  workflow_call:
    inputs:
      platforms:
        type: string
        default: linux/amd64
      push:
        type: boolean
        default: false
    secrets:
      token:
        required: false
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: docker/setup-buildx-action@v3
      - uses: docker/build-push-action@v6
        with:
          platforms: ${{{{ inputs.platforms }}}}
          push: ${{{{ inputs.push }}}}
          tags: ghcr.io/example/lib{rng.randint(1, 9)}:latest
"""


def _caller(rng: random.Random, name: str, callee: str) -> str:
    return f"""\
name: Call the reusable build
on:
  pull_request:
  push:
    branches: [main]
jobs:
  call:
    uses: ./.github/workflows/{callee}
    with:
      platforms: linux/amd64
      push: false
  after:
    needs: call
    runs-on: ubuntu-latest
    steps:
      - run: echo done
"""


def _scheduled(rng: random.Random, name: str) -> str:
    return f"""\
name: Nightly
on:
  schedule:
    - cron: '{rng.randint(0, 59)} {rng.randint(0, 23)} * * *'
  workflow_dispatch:
permissions: read-all
jobs:
  nightly:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-go@v5
        with:
          go-version-file: go.mod
      - run: go test ./... -race -count=1
      - run: go vet ./...
  stale:
    runs-on: ubuntu-latest
    permissions:
      issues: write
    steps:
      - uses: actions/stale@v9
        with:
          days-before-stale: {rng.randint(30, 90)}
"""


def _broken_filter(rng: random.Random, name: str) -> str:
    # A filter naming paths that do not exist (a rename), and a regex-looking one.
    return f"""\
name: Lint
on:
  pull_request:
    paths:
      - 'source/**'
      - '.github/workflows/old-{name}'
      - '^src/.*\\.py$'
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: pipx run ruff check .
"""


def generate_workflows(count: int, seed: int = 7) -> dict[str, str]:
    """count realistic, varied workflows (plus the repository files their filters name)."""
    rng = random.Random(seed)
    files: dict[str, str] = {path: f"# {path}\n" for path in SOURCE_TREE}
    kinds = [
        ("python", 18),
        ("node", 14),
        ("docker-good", 12),
        ("docker-no-qemu", 8),
        ("docker-no-login", 8),
        ("docker-script", 6),
        ("release", 10),
        ("call", 8),
        ("nightly", 8),
        ("lint", 4),
        ("misplaced", 4),
    ]
    population = [kind for kind, weight in kinds for _ in range(weight)]
    made = 0
    index = 0
    while made < count:
        kind = rng.choice(population)
        index += 1
        name = f"{kind}-{index:04d}.yml"
        path = f".github/workflows/{name}"
        if kind == "python":
            text = _python_ci(rng, name)
        elif kind == "node":
            text = _node_ci(rng, name)
        elif kind == "docker-good":
            text = _docker(rng, name, qemu=True, login=True, arm=True)
        elif kind == "docker-no-qemu":
            text = _docker(rng, name, qemu=False, login=True, arm=True)
        elif kind == "docker-no-login":
            text = _docker(rng, name, qemu=True, login=False, arm=rng.random() < 0.5)
        elif kind == "docker-script":
            text = _docker_script(rng, name)
        elif kind == "release":
            text = _release(rng, name)
        elif kind == "nightly":
            text = _scheduled(rng, name)
        elif kind == "lint":
            text = _broken_filter(rng, name)
        elif kind == "misplaced":
            path = rng.choice([f".github/{name}", f".github/workflow/{name}", f"workflows/{name}"])
            text = _docker(rng, name, qemu=False, login=False, arm=True)
        else:  # a caller and its reusable workflow: two files
            if made + 2 > count:
                continue
            callee = f"_reusable-{index:04d}.yml"
            files[f".github/workflows/{callee}"] = _reusable(rng, callee)
            text = _caller(rng, name, callee)
            made += 1
        files[path] = text
        made += 1
    return files


def write_tree(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def corpus_tree(root: Path) -> list[str] | None:
    """The corpus at its SOURCES.tsv paths; a path that is already taken goes under altN/
    (discovery finds `.github/` at any depth). Returns the paths, or None without a corpus."""
    sources = CORPUS / "SOURCES.tsv"
    if not sources.is_file():
        return None
    with sources.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    used: set[str] = set()
    folders: set[str] = set()

    def taken(path: str) -> bool:
        parents = {"/".join(path.split("/")[:i]) for i in range(1, path.count("/") + 1)}
        return path in used or path in folders or bool(parents & used)

    for row in rows:
        layer = 0
        path = row["path"]
        while taken(path):
            layer += 1
            path = f"alt{layer}/{row['path']}"
        used.add(path)
        folders.update("/".join(path.split("/")[:i]) for i in range(1, path.count("/") + 1))
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CORPUS / row["file"], target)
    return sorted(used)


# --- in process ---------------------------------------------------------------------------------


def run_once(files: dict[str, str]):
    from rules.runner import run
    from rules.snapshot import RepoSnapshot

    return run(RepoSnapshot.from_files(files))


@dataclass
class Throughput:
    label: str
    files: int
    seconds: float  # median wall time of the runs
    cpu_seconds: float  # median CPU time of this process over the same runs

    @property
    def per_second(self) -> float:
        return self.files / self.seconds if self.seconds else float("inf")

    @property
    def per_cpu_second(self) -> float:
        return self.files / self.cpu_seconds if self.cpu_seconds else float("inf")

    def describe(self) -> str:
        return f"{self.per_second:,.0f} files/s ({self.per_cpu_second:,.0f} per CPU s)"


def _timed(work, runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds of work() over runs. CPU time is reported too because a
    shared machine's other load stretches wall time but not this process's CPU time."""
    walls, cpus = [], []
    for _ in range(runs):
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return statistics.median(walls), statistics.median(cpus)


def throughput(label: str, groups: list[dict[str, str]], runs: int) -> Throughput:
    """Checking every group (one repository each), after a warm-up."""
    checked = 0
    for group in groups:  # warm-up: imports, regex caches
        checked += len(run_once(group).checked)

    def work() -> None:
        for group in groups:
            run_once(group)

    return Throughput(label, checked, *_timed(work, runs))


def parse_only(label: str, files: dict[str, str], runs: int) -> Throughput:
    from rules.snapshot import is_candidate_path
    from rules.yamlpos import ParseError, YamlDocument

    texts = [(p, t) for p, t in files.items() if is_candidate_path(p)]

    def work() -> None:
        for path, text in texts:
            with contextlib.suppress(ParseError):
                YamlDocument.from_text(path, text)

    work()
    return Throughput(label, len(texts), *_timed(work, runs))


def traced_peak_mb(files: dict[str, str]) -> float:
    run_once(files)  # warm-up so that module-level caches are not counted
    gc.collect()
    tracemalloc.start()
    run_once(files)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def child_rss(count: int, *, baseline: bool) -> float:
    """ru_maxrss (MB) of a fresh interpreter that generates `count` workflows and checks them
    (or only imports and generates, for the baseline).

    Called first thing, while this process is still small: Linux carries the high-water mark of
    the memory a child was forked from into the child's ru_maxrss.
    """
    mode = "--child-baseline" if baseline else "--child-run"
    out = subprocess.run(
        [sys.executable, __file__, mode, str(count)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)["maxrss_mb"]


def _child(count: int, baseline: bool) -> None:
    from rules.runner import run  # the imports are part of the baseline
    from rules.snapshot import RepoSnapshot

    files = generate_workflows(count)
    if not baseline:
        report = run(RepoSnapshot.from_files(files))
        assert report.checked
    maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(json.dumps({"maxrss_mb": maxrss_kb / 1024}))


# --- whole process ------------------------------------------------------------------------------


def preflight_command(root: Path) -> list[str]:
    script = Path(sys.executable).with_name("preflight")
    base = [str(script)] if script.exists() else [sys.executable, "-m", "bot"]
    return [*base, "check", "--root", str(root)]


PYCACHE = Path(tempfile.gettempdir()) / "preflight-bench" / "pycache"


def process_env(bytecode: bool = True) -> dict[str, str]:
    """The environment of a measured process. With bytecode, as after `pip install`: compiled
    modules are cached (under PYCACHE, so the work tree stays clean) even where the shell
    sets PYTHONDONTWRITEBYTECODE, which would make every start compile every module again."""
    env = dict(os.environ)
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    return env


def wall_times(command: list[str], runs: int, cwd: Path, *, bytecode: bool = True) -> list[float]:
    return [wall for wall, _ in process_times(command, runs, cwd, bytecode=bytecode)]


def process_times(
    command: list[str], runs: int, cwd: Path, *, bytecode: bool = True
) -> list[tuple[float, float]]:
    """(wall, user + system CPU) seconds of each run of command as a whole process, after one
    unmeasured run (it fills the bytecode cache and the page cache)."""
    env = process_env(bytecode)
    subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
    times = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(
            command,
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        times.append((wall, cpu))
    return times


def medians(times: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(w for w, _ in times), statistics.median(c for _, c in times)


def ensure_zizmor(venv: Path) -> Path | None:
    """zizmor from its own virtual environment (created and filled on first use)."""
    exe = venv / "bin" / "zizmor"
    if exe.exists():
        return exe
    print(f"installing zizmor into {venv} (once) ...", file=sys.stderr)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--quiet", "zizmor"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"zizmor skipped: could not install it ({exc})", file=sys.stderr)
        return None
    return exe if exe.exists() else None


def zizmor_command(exe: Path, paths: list[str]) -> list[str]:
    # --offline: no GitHub API; explicit paths: the very files preflight discovers.
    return [str(exe), "--offline", "--no-progress", "--no-exit-codes", *paths]


def discovered(root: Path) -> list[str]:
    from rules.snapshot import is_candidate_path

    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and is_candidate_path(p.relative_to(root).as_posix())
    )


# --- start-up -----------------------------------------------------------------------------------

HEAVY_MODULES = ("aiohttp", "github", "unidiff", "jwt", "requests")


def startup() -> tuple[float, list[str], float, float]:
    """(import time in ms of `python -X importtime -m bot check --help`, heavy modules it
    imported, wall time in s of `preflight check` on an empty folder with cached bytecode, and
    the same without)."""
    command = [sys.executable, "-X", "importtime", "-m", "bot", "check", "--help"]
    subprocess.run(command, capture_output=True, cwd=REPO, env=process_env(), check=False)
    result = subprocess.run(
        command, capture_output=True, text=True, cwd=REPO, env=process_env(), check=False
    )
    total_us = 0
    heavy = set()
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        if not name.startswith("  "):  # a top-level import (nested ones are indented more)
            total_us += int(cumulative)
        top = name.strip().split(".")[0]
        if top in HEAVY_MODULES:
            heavy.add(top)
    with tempfile.TemporaryDirectory() as empty:
        cached = wall_times(preflight_command(Path(empty)), 5, Path(empty))
        cold = wall_times(preflight_command(Path(empty)), 5, Path(empty), bytecode=False)
    return total_us / 1000, sorted(heavy), statistics.median(cached), statistics.median(cold)


def import_check_path() -> list[str]:
    """Heavy modules loaded by actually running `preflight check` (not only --help)."""
    code = (
        "import sys, runpy; sys.argv = ['preflight', 'check', '--root', sys.argv[1]]\n"
        "try:\n    runpy.run_module('bot', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY_MODULES!r})),"
        " file=sys.stderr)\n"
    )
    with tempfile.TemporaryDirectory() as root:
        write_tree(Path(root), {".github/workflows/ci.yml": "on: push\njobs: {}\n"})
        result = subprocess.run(
            [sys.executable, "-c", code, root],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=process_env(),
        )
    last = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "[]"
    return json.loads(last.replace("'", '"'))


# --- report -------------------------------------------------------------------------------------


def table(rows: list[tuple[str, str, str, str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("ok" if ok else "MISSED")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000, help="generated workflows (1000)")
    parser.add_argument("--runs", type=int, default=5, help="runs per timing; median (5)")
    parser.add_argument("--no-zizmor", action="store_true", help="skip the zizmor comparison")
    parser.add_argument("--zizmor-venv", type=Path, default=DEFAULT_ZIZMOR_VENV)
    parser.add_argument("--profile", action="store_true", help="print the hottest functions")
    parser.add_argument("--child-run", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-baseline", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_run or args.child_baseline:
        _child(args.child_run or args.child_baseline, baseline=bool(args.child_baseline))
        return 0

    rows = [("measure", "value", "target", "")]
    rss_run = child_rss(args.files, baseline=False)  # first: see child_rss
    rss_base = child_rss(args.files, baseline=True)
    with tempfile.TemporaryDirectory(prefix="preflight-bench-") as tmp:
        generated_root = Path(tmp) / "generated"
        generated = generate_workflows(args.files)
        write_tree(generated_root, generated)
        corpus_root = Path(tmp) / "corpus"
        corpus_paths = corpus_tree(corpus_root)
        workflows = len(discovered(generated_root))

        # 1. throughput in process
        one_repo = throughput(f"{workflows} files, one repository", [generated], args.runs)
        paths = sorted(p for p in generated if p not in SOURCE_TREE)
        groups = []
        for start in range(0, len(paths), 10):
            group = {p: generated[p] for p in paths[start : start + 10]}
            group.update({p: generated[p] for p in SOURCE_TREE})
            groups.append(group)
        many_repos = throughput(f"{workflows} files, {len(groups)} repos of 10", groups, args.runs)
        parsing = parse_only(f"{workflows} files, parse only", generated, args.runs)
        for result in (one_repo, many_repos):
            rows.append(
                (
                    f"in process: {result.label}",
                    result.describe(),
                    f">= {TARGET_FILES_PER_SECOND}",
                    verdict(result.per_second >= TARGET_FILES_PER_SECOND),
                )
            )
        rows.append((f"in process: {parsing.label}", parsing.describe(), "", ""))
        corpus_files = None
        if corpus_paths is not None:
            corpus_files = {
                p.relative_to(corpus_root).as_posix(): p.read_text(encoding="utf-8")
                for p in corpus_root.rglob("*")
                if p.is_file()
            }
            corpus_speed = throughput(
                f"corpus, {len(corpus_paths)} files", [corpus_files], args.runs
            )
            rows.append(
                (
                    f"in process: {corpus_speed.label}",
                    corpus_speed.describe(),
                    "",
                    "",
                )
            )

        # 2. memory
        peak = traced_peak_mb(generated)
        rows.append(
            (
                f"peak Python allocations, {workflows} files (tracemalloc)",
                f"{peak:.1f} MB",
                f"< {TARGET_PEAK_MB} MB",
                verdict(peak < TARGET_PEAK_MB),
            )
        )
        rows.append(
            (
                f"peak RSS of a fresh process, {workflows} files (ru_maxrss)",
                f"{rss_run:.1f} MB ({rss_base:.1f} MB before checking)",
                f"< {TARGET_PEAK_MB} MB",
                verdict(rss_run < TARGET_PEAK_MB),
            )
        )

        # 3. whole process against zizmor
        zizmor = None if args.no_zizmor else ensure_zizmor(args.zizmor_venv)
        if args.no_zizmor:
            print("zizmor comparison skipped (--no-zizmor)", file=sys.stderr)
        targets = [("corpus", corpus_root, corpus_paths)] if corpus_paths else []
        targets.append(("generated", generated_root, discovered(generated_root)))
        if corpus_paths is None:
            print(f"corpus comparison skipped: {CORPUS} is not present", file=sys.stderr)
        for label, root, files in targets:
            ours, ours_cpu = medians(process_times(preflight_command(root), args.runs, root))
            theirs = theirs_cpu = None
            if zizmor is not None:
                command = zizmor_command(zizmor, files)
                theirs, theirs_cpu = medians(process_times(command, args.runs, root))
            rows.append(
                (
                    f"`preflight check`, {label} ({len(files)} files), median of {args.runs}",
                    f"{ours:.2f} s (CPU {ours_cpu:.2f} s)",
                    "" if theirs is None else f"<= zizmor {theirs:.2f} s (CPU {theirs_cpu:.2f} s)",
                    verdict(None if theirs is None else ours <= theirs)
                    if label == "corpus"
                    else "",
                )
            )

        # 4. start-up
        import_ms, heavy_help, empty_wall, empty_cold = startup()
        heavy_check = import_check_path()
        rows.append(
            (
                "start-up: imports of `python -m bot check --help`",
                f"{import_ms:.0f} ms",
                "",
                "",
            )
        )
        rows.append(
            (
                "start-up: `preflight check` on an empty folder",
                f"{empty_wall:.2f} s ({empty_cold:.2f} s without cached bytecode)",
                "",
                "",
            )
        )
        rows.append(
            (
                "heavy imports on the check path (aiohttp, PyGithub, unidiff...)",
                ", ".join(sorted(set(heavy_help) | set(heavy_check))) or "none",
                "none",
                verdict(not heavy_help and not heavy_check),
            )
        )
        print(table(rows))
        if args.profile:
            profile(generated, corpus_files)
    return 0


def profile(generated: dict[str, str], corpus: dict[str, str] | None) -> None:
    import cProfile
    import pstats

    for label, files in (("generated", generated), ("corpus", corpus)):
        if files is None:
            continue
        profiler = cProfile.Profile()
        profiler.enable()
        run_once(files)
        profiler.disable()
        print(f"\nhottest functions, {label} (cProfile, by own time):")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    sys.exit(main())

"""What steps do with images (rules.docker), the shell reader behind `run:` steps, and the
step insertion that both Docker fixes use (rules.stepedit), including how two insertions at
one anchor merge (rules.fixes)."""

from __future__ import annotations

import textwrap

import pytest

from rules import docker
from rules.docker import Build, BuilderSetup, Login, Push, QemuSetup
from rules.expressions import MARK
from rules.fixes import apply_fixes, combine_fixes, merge_edits
from rules.jobmodel import Workflow, walk
from rules.model import Applicability, Edit, Fix, Location, Severity
from rules.runner import run
from rules.shell import commands
from rules.snapshot import RepoSnapshot
from rules.stepedit import insert_step, yaml_scalar
from rules.yamlpos import YamlDocument, follow, parse_yaml

# --- registries and platforms -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "registry"),
    [
        ("quay.io/ascend/verl:tag", "quay.io"),
        ("ghcr.io/owner/app", "ghcr.io"),
        ("example/app:1.0", "docker.io"),
        ("app", "docker.io"),
        ("master", "docker.io"),
        ("docker.io/library/app", "docker.io"),
        ("index.docker.io/example/app", "docker.io"),
        ("registry-1.docker.io/example/app", "docker.io"),
        ("localhost/app", "localhost"),
        ("localhost:5000/name/app:latest", "localhost:5000"),
        ("registry:5000/app", "registry:5000"),
        ("Example.AzureCR.io/app", "example.azurecr.io"),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/app",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com",
        ),
        ("docker://quay.io/app", "quay.io"),
        (f"ghcr.io/{MARK}:{MARK}", "ghcr.io"),
        (f"example/app:{MARK}", "docker.io"),
        (f"{MARK}/app", None),
        (f"{MARK}:latest", None),
        (f"{MARK}", None),
        ("", None),
        ("has space/app", None),
    ],
)
def test_registry_of_an_image_reference(reference: str, registry: str | None) -> None:
    assert docker.registry_of(reference) == registry


def test_local_registries() -> None:
    assert docker.is_local_registry("localhost:5000")
    assert docker.is_local_registry("127.0.0.1:5000")
    assert docker.is_local_registry("localhost")
    assert docker.is_local_registry("registry:5000", frozenset({"registry"}))
    assert not docker.is_local_registry("registry:5000")
    assert not docker.is_local_registry("quay.io")


@pytest.mark.parametrize(
    ("text", "platform"),
    [
        ("linux/arm64", ("linux", "arm64")),
        ("linux/arm64/v8", ("linux", "arm64")),
        ("arm64", ("linux", "arm64")),
        ("linux/arm/v7", ("linux", "arm")),
        ("linux/amd64/v3", ("linux", "amd64")),
        ("linux/386", ("linux", "386")),
        ("windows/amd64", ("windows", "amd64")),
        ("linux/riscv64", ("linux", "riscv64")),
        (f"linux/{MARK}", None),
        ("", None),
    ],
)
def test_platforms(text: str, platform) -> None:
    assert docker.normalise_platform(text) == platform


def test_native_platforms() -> None:
    assert docker.native("x64", True, "amd64") is True
    assert docker.native("x64", True, "386") is True
    assert docker.native("x64", True, "arm64") is False
    assert docker.native("arm64", True, "arm64") is True
    assert docker.native("arm64", True, "amd64") is False
    assert docker.native("arm64", True, "arm") is False  # Cobalt 100 has no 32-bit mode
    assert docker.native("arm64", False, "arm") is None  # some self-hosted CPUs do
    assert docker.native("x64", True, "riscv64") is False


# --- effects of steps -------------------------------------------------------------------------


def effects_of(steps: str, *, env: str = "", on: str = "push", leg: int = 0, matrix: str = ""):
    """The effects of each step of one job, as (step index, effect) pairs."""
    text = f"on: {on}\n{env}jobs:\n  build:\n    runs-on: ubuntu-latest\n{matrix}    steps:\n"
    text += textwrap.indent(textwrap.dedent(steps), "      ")
    wf = Workflow(YamlDocument.from_text(".github/workflows/ci.yml", text))
    job = wf.jobs[0]
    walked = walk(wf, job, wf.legs(job)[leg])
    assert walked is not None
    out = []
    for step, scope, _ in walked.steps:
        out.extend((step.index, e) for e in docker.effects(step, scope, wf.document, job))
    return out


def only(found, kind):
    matching = [effect for _, effect in found if isinstance(effect, kind)]
    assert len(matching) == 1, found
    return matching[0]


def refs(push: Push) -> list[str]:
    return [ref.text for ref in push.refs]


def test_build_push_action_platforms_as_list_comma_and_lines() -> None:
    values = (
        "[linux/amd64, linux/arm64]",
        "linux/amd64,linux/arm64",
        "|\n      linux/amd64\n      linux/arm64",
    )
    for value in values:
        step = f"- uses: docker/build-push-action@v6\n  with:\n    platforms: {value}\n"
        assert only(effects_of(step), Build).platforms == ("linux/amd64", "linux/arm64")


def test_build_push_action_push_values() -> None:
    def push_of(value: str, on: str = "push"):
        step = "- uses: docker/build-push-action@v6\n  with:\n"
        found = effects_of(step + f"    push: {value}\n    tags: quay.io/a/b:1\n", on=on)
        pushes = [e for _, e in found if isinstance(e, Push)]
        return pushes[0].may_push if pushes else False

    assert push_of("true") is True
    assert push_of("false") is False
    assert push_of("${{ github.event_name != 'pull_request' }}", on="[push, pull_request]") is True
    assert push_of("${{ github.event_name != 'pull_request' }}", on="pull_request") is False
    assert push_of("${{ inputs.push }}") is None
    assert push_of("${{ github.ref == 'refs/heads/main' }}") is True


def test_tags_outputs_and_metadata_images() -> None:
    found = effects_of(
        """
        - id: meta
          uses: docker/metadata-action@v5
          with:
            images: |
              example/cli
              name=ghcr.io/example/cli,enable=true
              name=quay.io/example/cli,enable=${{ github.event_name == 'schedule' }}
        - uses: docker/build-push-action@v6
          with:
            push: true
            tags: ${{ steps.meta.outputs.tags }}
            outputs: type=image,"name=registry.example.com/a,registry.example.com/b",push=true
        - uses: docker/build-push-action@v6
          with:
            outputs: |
              type=registry,name=nvcr.io/team/app
              type=docker
        """
    )
    pushes = [e for _, e in found if isinstance(e, Push)]
    assert [refs(p) for p in pushes] == [
        [f"example/cli:{MARK}", f"ghcr.io/example/cli:{MARK}"],
        ["registry.example.com/a", "registry.example.com/b"],
        ["nvcr.io/team/app"],
    ]


def test_build_push_action_v1_logs_in_by_itself() -> None:
    found = effects_of(
        """
        - uses: docker/build-push-action@v1
          with:
            username: ${{ secrets.U }}
            password: ${{ secrets.P }}
            registry: quay.io
            repository: example/app
            tags: latest
        """
    )
    push = only(found, Push)
    assert refs(push) == [f"quay.io/example/app:{MARK}"]
    assert push.may_push is True  # v1 pushes unless told not to
    assert push.own_logins[0].covers("quay.io")


def test_bake_action() -> None:
    found = effects_of(
        """
        - uses: docker/bake-action@v5
          with:
            push: true
            set: |
              *.platform=linux/amd64,linux/arm64
              app.tags=ghcr.io/example/app:1
              *.output=type=image,"name=quay.io/example/app",push=true
        """
    )
    assert only(found, Build).platforms == ("linux/amd64", "linux/arm64")
    pushes = [refs(e) for _, e in found if isinstance(e, Push)]
    assert pushes == [["ghcr.io/example/app:1"], ["quay.io/example/app"]]


def test_login_actions() -> None:
    found = effects_of(
        """
        - uses: docker/login-action@v3
          with:
            username: u
            password: p
        - uses: docker/login-action@v3
          with:
            registry: https://Quay.io/
        - uses: docker/login-action@v3
          with:
            registry: ${{ vars.REGISTRY }}
        - uses: docker/login-action@v3
          with:
            registry-auth: |
              - registry: ghcr.io
                username: a
                password: b
              - username: c
                password: d
        - uses: aws-actions/amazon-ecr-login@v2
        - uses: aws-actions/amazon-ecr-login@v2
          with:
            registry-type: public
        - uses: azure/docker-login@v2
        - uses: redhat-actions/podman-login@v1
          with:
            registry: registry.redhat.io
        - uses: example/registry-login-action@v1
        """
    )
    logins = [e for _, e in found if isinstance(e, Login)]
    assert logins[0].hosts == {"docker.io"}
    assert logins[1].hosts == {"quay.io"}
    assert logins[2].hosts is None and logins[2].covers("anything.example")
    assert logins[3].hosts == {"ghcr.io", "docker.io"}
    assert logins[4].covers("123456789012.dkr.ecr.eu-west-1.amazonaws.com")
    assert not logins[4].covers("public.ecr.aws")
    assert logins[5].covers("public.ecr.aws")
    assert logins[6].hosts == {"docker.io"}
    assert logins[7].hosts == {"registry.redhat.io"}
    assert logins[8].hosts is None  # an action that says it logs in: trusted


def test_qemu_and_builder_setup() -> None:
    found = effects_of(
        """
        - uses: docker/setup-qemu-action@v3
        - uses: docker/setup-qemu-action@v3
          with:
            platforms: arm64,linux/riscv64
        - uses: docker/setup-buildx-action@v3
        - uses: docker/setup-buildx-action@v3
          with:
            driver: docker
        - uses: docker/setup-buildx-action@v3
          with:
            driver: remote
            endpoint: tcp://builder:1234
        - uses: docker/setup-buildx-action@v3
          with:
            append: |
              - endpoint: ssh://arm-box
        """
    )
    qemu = [e.archs for _, e in found if isinstance(e, QemuSetup)]
    assert qemu == [None, frozenset({"arm64", "riscv64"})]
    kinds = [e.kind for _, e in found if isinstance(e, BuilderSetup)]
    assert kinds == ["container", "docker", "remote", "remote"]


def test_local_composite_actions_are_followed() -> None:
    action = textwrap.dedent(
        """
        name: publish
        inputs:
          registry: {default: ghcr.io}
        runs:
          using: composite
          steps:
            - uses: docker/setup-qemu-action@v3
            - uses: docker/login-action@v3
              with:
                registry: ${{ inputs.registry }}
                username: a
                password: b
        """
    )
    workflow_text = textwrap.dedent(
        """
        on: push
        jobs:
          build:
            runs-on: ubuntu-latest
            steps:
              - uses: ./.github/actions/publish
                with:
                  registry: quay.io
              - uses: ./.github/actions/missing
        """
    )
    files = {".github/actions/publish/action.yml": action}
    documents = {p: YamlDocument.from_text(p, t) for p, t in files.items()}
    wf = Workflow(
        YamlDocument.from_text(".github/workflows/ci.yml", workflow_text),
        documents=documents.get,
    )
    job = wf.jobs[0]
    walked = walk(wf, job, wf.legs(job)[0])
    found = [
        (step.index, effect)
        for step, scope, _ in walked.steps
        for effect in docker.effects(step, scope, wf.document, job)
    ]
    composite = [e for index, e in found if index == 0]
    assert isinstance(composite[0], QemuSetup)
    assert composite[1].hosts == {"quay.io"}
    assert composite[1].place.line == 7  # placed at the step that uses the action
    missing = [e for index, e in found if index == 1]
    assert {type(e) for e in missing} == {Login, QemuSetup}  # unreadable: may do anything
    assert missing[0].hosts is None


# --- run scripts ------------------------------------------------------------------------------


def run_effects(script: str, env: str = ""):
    step = "- run: |\n" + textwrap.indent(textwrap.dedent(script), "    ")
    return effects_of(step, env=env)


def test_buildx_build_in_run() -> None:
    found = run_effects(
        """
        PLATFORMS=linux/amd64,linux/arm64
        docker buildx build \\
          --platform "$PLATFORMS" \\
          --push \\
          -t quay.io/example/app:$(git rev-parse --short HEAD) .
        """
    )
    build = only(found, Build)
    assert build.platforms == ("linux/amd64", "linux/arm64")
    assert build.place.line == 10  # the --platform line (the script starts on line 7)
    push = only(found, Push)
    assert refs(push) == [f"quay.io/example/app:{MARK}"]
    assert push.place.line == 11  # --push
    assert push.refs[0].place.line == 11  # the tag itself is not written literally


def test_docker_build_platform_from_env_and_outputs() -> None:
    found = run_effects(
        "sudo docker build --platform=$TARGET -t app .\n"
        "docker buildx build --output type=registry,name=ghcr.io/a/b .\n"
        'docker buildx build --output "type=image,push=true" -t ghcr.io/a/c .\n'
        "docker buildx build --load -t ghcr.io/a/d .\n",
        env="env:\n  TARGET: linux/arm/v7\n",
    )
    assert only(found, Build).platforms == ("linux/arm/v7",)
    assert [refs(e) for _, e in found if isinstance(e, Push)] == [["ghcr.io/a/b"], ["ghcr.io/a/c"]]


def test_pushes_and_logins_in_run() -> None:
    found = run_effects(
        """
        echo "$TOKEN" | docker login ghcr.io -u "$USER" --password-stdin
        docker login -u me -p secret registry.example.com:8443
        docker login --username me --password-stdin
        docker push ghcr.io/example/app:1
        docker image push --all-tags example/app
        podman push localhost/app quay.io/example/app:1
        docker buildx imagetools create -t quay.io/example/app:2 a@sha256:1 b@sha256:2
        docker buildx imagetools create --dry-run -t quay.io/example/app:3 a
        docker manifest push example/app:4
        gcloud auth configure-docker us-docker.pkg.dev,europe-docker.pkg.dev
        az acr login --name Example
        crane auth login nvcr.io -u x -p y
        eval $(aws ecr get-login --no-include-email)
        """
    )
    logins = [e for _, e in found if isinstance(e, Login)]
    assert logins[0].covers("123456789012.dkr.ecr.eu-west-1.amazonaws.com")  # old get-login
    hosts = [sorted(login.hosts) for login in logins[1:]]
    assert hosts == [
        ["ghcr.io"],
        ["registry.example.com:8443"],
        ["docker.io"],
        ["europe-docker.pkg.dev", "us-docker.pkg.dev"],
        ["example.azurecr.io"],
        ["nvcr.io"],
    ]
    pushed = [refs(e) for _, e in found if isinstance(e, Push)]
    assert pushed == [
        ["ghcr.io/example/app:1"],
        ["example/app"],
        ["quay.io/example/app:1"],
        ["quay.io/example/app:2"],
        ["example/app:4"],
    ]


def test_emulators_and_builders_in_run() -> None:
    found = run_effects(
        """
        docker run --privileged --rm tonistiigi/binfmt --install all
        sudo apt-get install -y qemu-user-static
        docker buildx create --use
        docker buildx create --name farm --driver remote tcp://farm:1234
        docker -H ssh://arm-box build --platform linux/arm64 .
        """
    )
    assert [type(e) for _, e in found] == [QemuSetup, QemuSetup, BuilderSetup, BuilderSetup, Build]
    assert [e.kind for _, e in found if isinstance(e, BuilderSetup)] == ["container", "remote"]
    assert found[-1][1].remote


def test_shell_commands() -> None:
    script = textwrap.dedent(
        """\
        # a comment with docker push nope
        export IMAGE=quay.io/a/b
        TAG="${VERSION:-dev}"
        cat <<EOF > notes.txt
        docker push not/a/command
        EOF
        for arch in amd64 arm64; do docker push "$IMAGE-$arch"; done
        if [ -n "$X" ]; then docker push "$IMAGE:$TAG"; fi
        echo 'docker push quoted' && docker push '$IMAGE'
        """
    )
    found = [c.words for c in commands(script) if c.words[:2] == ("docker", "push")]
    assert found == [
        ("docker", "push", f"quay.io/a/b-{MARK}"),
        ("docker", "push", "quay.io/a/b:dev"),
        ("docker", "push", "$IMAGE"),
    ]
    assert [c.line for c in commands(script) if c.words[:2] == ("docker", "push")] == [6, 7, 8]


# --- versions ---------------------------------------------------------------------------------


def version_for(uses_lines: str, action: str) -> docker.ActionVersion:
    text = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n" + textwrap.indent(
        textwrap.dedent(uses_lines), "      "
    )
    return docker.action_version(YamlDocument.from_text("w.yml", text), action)


@pytest.mark.parametrize(
    ("uses", "qemu"),
    [
        ("- uses: docker/build-push-action@v6\n", "docker/setup-qemu-action@v3"),
        ("- uses: docker/build-push-action@v5.1.0\n", "docker/setup-qemu-action@v3"),
        ("- uses: docker/build-push-action@v4\n", "docker/setup-qemu-action@v2"),
        ("- uses: docker/build-push-action@v2\n", "docker/setup-qemu-action@v1"),
        ("- uses: docker/build-push-action@v7\n", "docker/setup-qemu-action@v4"),
        ("- uses: docker/login-action@v3\n", "docker/setup-qemu-action@v3"),
        ("- uses: docker/metadata-action@v5\n", "docker/setup-qemu-action@v3"),
        (
            "- uses: docker/build-push-action@v2\n- uses: docker/setup-buildx-action@v3\n",
            "docker/setup-qemu-action@v3",
        ),
        ("- uses: actions/checkout@v4\n", "docker/setup-qemu-action@v4"),
        (
            "- uses: docker/setup-qemu-action@4574d27a4764455b42196d70a065bc6853246a25 # v3.4.0\n",
            "docker/setup-qemu-action@4574d27a4764455b42196d70a065bc6853246a25 # v3.4.0",
        ),
    ],
)
def test_qemu_version_follows_the_file(uses: str, qemu: str) -> None:
    version = version_for(uses, "docker/setup-qemu-action")
    assert version.uses == qemu
    assert not version.tag_for_pinned_file


def test_pinned_file_gets_a_tag_and_a_note() -> None:
    version = version_for(
        "- uses: docker/setup-buildx-action@b5ca514318bd6ebac0fb2aedd5d36ec1b5c232a2 # v3.10.0\n",
        "docker/login-action",
    )
    assert version.uses == "docker/login-action@v3"
    assert version.tag_for_pinned_file


# --- step insertion ---------------------------------------------------------------------------

STEPS = """\
on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
    # check out first
    - name: Checkout
      uses: actions/checkout@v4
      with:
          fetch-depth: 0
    - name: Build
      run: make
"""


def insert(text: str, index: int, fields, before: bool) -> str:
    document = YamlDocument.from_text("w.yml", text)
    steps = follow(document.root, ("jobs", "a", "steps"))
    edit = insert_step(document, steps, steps.value[index], fields, before=before)
    assert edit is not None
    lines = text.splitlines(keepends=True)
    lines[edit.start_line - 1 : edit.end_line] = [edit.new_text]
    result = "".join(lines)
    parse_yaml(result)
    return result


def test_insert_before_keeps_comments_with_their_step_and_child_indentation() -> None:
    fields = [
        ("name", "Set up QEMU"),
        ("uses", "docker/setup-qemu-action@v3"),
        ("with", [("platforms", "arm64")]),
    ]
    result = insert(STEPS, 0, fields, before=True)
    assert result == STEPS.replace(
        "    # check out first\n",
        "    - name: Set up QEMU\n"
        "      uses: docker/setup-qemu-action@v3\n"
        "      with:\n"
        "          platforms: arm64\n"
        "    # check out first\n",
    )


def test_insert_after_in_dash_alone_style_with_blank_lines() -> None:
    text = textwrap.dedent(
        """\
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              -
                name: Buildx
                uses: docker/setup-buildx-action@v3

              -
                name: Build
                run: make
        """
    )
    result = insert(text, 0, [("name", "Log in"), ("uses", "docker/login-action@v3")], before=False)
    build = "      -\n        name: Build\n"
    added = "      -\n        name: Log in\n        uses: docker/login-action@v3\n\n"
    assert result == text.replace(build, added + build)


def test_insert_into_a_crlf_file_keeps_crlf() -> None:
    text = STEPS.replace("\n", "\r\n")
    result = insert(text, 1, [("name", "x"), ("run", "true")], before=True)
    assert "\n" not in result.replace("\r\n", "")
    assert "    - name: x\r\n      run: true\r\n    - name: Build\r\n" in result


def test_flow_style_steps_get_no_edit() -> None:
    document = YamlDocument.from_text("w.yml", "jobs:\n  a:\n    steps: [{run: make}]\n")
    steps = follow(document.root, ("jobs", "a", "steps"))
    assert insert_step(document, steps, steps.value[0], [("run", "x")], before=True) is None


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("quay.io", "quay.io"),
        ("${{ secrets.QUAY_USERNAME }}", "${{ secrets.QUAY_USERNAME }}"),
        ("matrix.platform == 'linux/arm64'", "matrix.platform == 'linux/arm64'"),
        ("Log in to Quay.io", "Log in to Quay.io"),
        ("_json_key", "_json_key"),
        ("true", '"true"'),
        ("a: b", '"a: b"'),
        ("# x", '"# x"'),
        ("*star", '"*star"'),
        ('say "hi": now', '"say \\"hi\\": now"'),
    ],
)
def test_yaml_scalars(text: str, written: str) -> None:
    assert yaml_scalar(text) == written
    assert parse_yaml(f"key: {written}\n").value[0][1].value == text


# --- fixes that combine -----------------------------------------------------------------------

COMBINED = """\
on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: docker/setup-buildx-action@v3
      - uses: docker/build-push-action@v6
        with:
          platforms: linux/amd64,linux/arm64
          push: true
          tags: example/app:1,quay.io/example/app:1
"""


def test_one_line_anchor_insertions_before_and_after_merge() -> None:
    lines = COMBINED.splitlines(keepends=True)
    before = Edit("w.yml", 7, 7, "      - uses: q\n" + lines[6])
    after = Edit("w.yml", 7, 7, lines[6] + "      - uses: l\n")
    merged = merge_edits(before, after, lines)
    assert merged is not None
    assert merged.new_text == "      - uses: q\n" + lines[6] + "      - uses: l\n"
    assert merge_edits(after, before, lines).new_text == merged.new_text


def test_insertions_at_one_point_are_concatenated_in_finding_order() -> None:
    lines = COMBINED.splitlines(keepends=True)
    first = Edit("w.yml", 7, 7, lines[6] + "      - uses: one\n")
    second = Edit("w.yml", 7, 7, lines[6] + "      - uses: two\n")
    merged = merge_edits(first, second, lines)
    assert merged.new_text == lines[6] + "      - uses: one\n      - uses: two\n"
    same = merge_edits(first, first, lines)
    assert same.new_text == first.new_text  # the same insertion twice is made once


def test_replacing_the_anchor_while_inserting_into_it_conflicts() -> None:
    lines = COMBINED.splitlines(keepends=True)
    insert_inside = Edit("w.yml", 7, 8, lines[6] + "      - uses: x\n" + lines[7])
    replace_both = Edit("w.yml", 7, 8, "      - run: other\n")
    assert merge_edits(insert_inside, replace_both, lines) is None


def test_three_docker_fixes_merge_into_one_valid_edit() -> None:
    """QEMU before buildx, then two logins (Docker Hub, Quay) after it: one suggestion."""
    files = {".github/workflows/ci.yml": COMBINED}
    report = run(RepoSnapshot.from_files(files))
    assert [f.rule for f in report.findings] == [
        "multi-arch-without-qemu",
        "push-without-registry-login",
        "push-without-registry-login",
    ]
    carrier = report.findings[0]
    assert carrier.severity is Severity.WARNING
    assert [f.fix_carried_by for f in report.findings[1:]] == [carrier.location] * 2
    result = apply_fixes(files, report.findings)
    text = result.texts[".github/workflows/ci.yml"]
    parse_yaml(text)
    order = [line.strip() for line in text.splitlines() if "uses:" in line]
    assert order == [
        "- uses: actions/checkout@v4",
        "uses: docker/setup-qemu-action@v3",
        "- uses: docker/setup-buildx-action@v3",
        "uses: docker/login-action@v3",
        "uses: docker/login-action@v3",
        "- uses: docker/build-push-action@v6",
    ]
    assert run(RepoSnapshot.from_files({**files, **result.texts})).findings == []


def test_crlf_workflow_fix_keeps_crlf_and_removes_the_finding() -> None:
    text = COMBINED.replace("\n", "\r\n")
    files = {".github/workflows/ci.yml": text}
    report = run(RepoSnapshot.from_files(files))
    assert report.findings
    result = apply_fixes(files, report.findings)
    fixed = result.texts[".github/workflows/ci.yml"]
    assert "\n" not in fixed.replace("\r\n", "")
    assert run(RepoSnapshot.from_files({".github/workflows/ci.yml": fixed})).findings == []


def test_combine_keeps_separate_fixes_apart() -> None:
    lines = COMBINED.splitlines(keepends=True)
    loc = Location("w.yml", 1, 1, 1, 2)
    from rules.model import Finding

    def finding(edit: Edit) -> Finding:
        return Finding("r", Severity.ERROR, loc, "m", Fix("t", Applicability.SAFE, (edit,)))

    apart = combine_fixes(
        [finding(Edit("w.yml", 6, 6, lines[5] + "x\n")), finding(Edit("w.yml", 8, 8, "y\n"))],
        lambda path: lines,
    )
    assert all(f.fix is not None and f.fix_carried_by is None for f in apart)

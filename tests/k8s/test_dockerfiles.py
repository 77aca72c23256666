"""Static lint of docker/*.Dockerfile (no Docker engine here): pinned bases,
non-root user, no remote ADD, multi-stage uv build from the lock, health
checks or documented probes, a build context without secrets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.k8s.conftest import REPO

DOCKERFILES = sorted((REPO / "docker").glob("*.Dockerfile"))


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def args_of(path: Path) -> dict[str, str]:
    return {k: v for k, _, v in (a.partition("=") for i, a in instructions(path) if i == "ARG")
            if v}


def test_both_images_exist() -> None:
    assert {p.name for p in DOCKERFILES} == {"platform.Dockerfile", "loadgen.Dockerfile"}


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_bases_are_pinned_to_an_exact_version(path: Path) -> None:
    defaults = args_of(path)
    froms = [a.split()[0] for i, a in instructions(path) if i == "FROM"]
    assert len(froms) >= 2, "multi-stage: builder + runtime"
    for image in froms:
        image = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], image)
        name, _, digest = image.partition("@")
        tag = name.rsplit(":", 1)[1] if ":" in name else ""
        assert digest.startswith("sha256:") or re.fullmatch(r"\d+\.\d+\.\d+[-\w.]*", tag), image


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_the_runtime_stage_runs_as_a_non_root_user(path: Path) -> None:
    users = [a for i, a in instructions(path) if i == "USER"]
    assert users, "no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0") and user.isdigit(), "use a numeric uid (runAsNonRoot)"
    # the last USER comes after the last FROM: it applies to the runtime stage
    order = [i for i, _ in instructions(path)]
    assert len(order) - 1 - order[::-1].index("USER") > len(order) - 1 - order[::-1].index("FROM")


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_nothing_is_fetched_from_a_url(path: Path) -> None:
    for instr, args in instructions(path):
        if instr == "ADD":
            assert not re.search(r"https?://|git@", args), args
        if instr == "RUN":
            assert not re.search(r"\b(curl|wget)\b", args), args


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_dependencies_come_from_the_lock_with_a_pinned_uv(path: Path) -> None:
    runs = " ".join(a for i, a in instructions(path) if i == "RUN")
    assert re.search(r'pip install "?uv==\$\{UV_VERSION\}', runs)
    assert re.fullmatch(r"\d+\.\d+\.\d+", args_of(path)["UV_VERSION"])
    assert "uv sync --frozen --no-dev" in runs
    assert "--no-editable" in runs  # the runtime stage gets the venv only, not the sources


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_read_only_root_filesystem_friendly(path: Path) -> None:
    env = " ".join(a for i, a in instructions(path) if i == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "UV_COMPILE_BYTECODE=1" in env  # compiled at build time instead


def test_the_platform_image_runs_one_service_chosen_by_the_command() -> None:
    ins = dict(instructions(REPO / "docker/platform.Dockerfile"))
    assert ins["ENTRYPOINT"] == '["tradeplat"]'
    assert ins["CMD"] == '["gateway", "--host", "0.0.0.0", "--port", "8000"]'
    assert "/healthz" in ins["HEALTHCHECK"]
    assert ins["EXPOSE"] == "8000"


def test_the_load_generator_image_runs_the_locustfile() -> None:
    ins = dict(instructions(REPO / "docker/loadgen.Dockerfile"))
    assert ins["ENTRYPOINT"] == '["locust", "-f", "loadtests/locustfile.py"]'
    # no HTTP server on workers: health is the Kubernetes probes (components/locust)
    assert ins["HEALTHCHECK"] == "NONE"


def test_the_build_context_excludes_secrets_and_local_state() -> None:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert patterns[0] == "**", "allow-list style: exclude everything, then re-include"
    for pattern in ("**/*.env", "**/secrets.env", "**/__pycache__"):
        assert pattern in lines
    assert not any(line.startswith("!.tradestorm") or line == "!k8s/" for line in lines)

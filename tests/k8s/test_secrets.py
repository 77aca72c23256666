"""No secret value is committed: not in k8s/, terraform/, docker/, .github/; the
overlays render from a fresh clone with Secrets that carry no value (generated on the
cluster at `up`, or copied from Secrets Manager on EKS)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.k8s.conftest import REPO
from tests.k8s.manifests import by_kind
from tradestorm.kube.render import render_overlay
from tradestorm.kube.secrets import GENERATE_ANNOTATION

SCANNED = ("k8s", "terraform", "docker", ".dockerignore", ".github")

PATTERNS = {
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(r"aws_secret_access_key\s*[=:]\s*\S{20,}", re.I),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "password/secret/token assignment": re.compile(
        r"(?i)\b[\w-]*(password|passwd|secret|token|api_key|admin_key)[\w-]*\s*[=:]\s*"
        r"[\"']?(?=[A-Za-z0-9+/_\-]*\d)(?=[A-Za-z0-9+/_\-]*[A-Za-z])[A-Za-z0-9+/_\-]{12,}"),
    "credentials in a URL": re.compile(r"://[^/\s:@$]+:(?!\$\()[^@\s/$]{3,}@"),
}


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                          *SCANNED], cwd=REPO, capture_output=True, text=True, check=True)
    return [REPO / line for line in out.stdout.splitlines() if line]


def scan(text: str) -> list[str]:
    return [name for name, pattern in PATTERNS.items() if pattern.search(text)]


def test_no_secret_values_in_the_tree() -> None:
    files = tracked_files()
    assert any(f.suffix == ".tf" for f in files) and any(f.suffix == ".yaml" for f in files)
    findings = []
    for path in files:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        for line_no, line in enumerate(text.splitlines(), 1):
            for name in scan(line):
                findings.append(f"{path.relative_to(REPO)}:{line_no}: {name}: {line.strip()}")
    assert findings == []


@pytest.mark.parametrize("line", [
    "POSTGRES_PASSWORD=Zq8mYp2LwX4vT9rK",
    'admin_key = "9f8e7d6c5b4a39281706"',
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    "-----BEGIN RSA PRIVATE KEY-----",
    "postgresql://tradeplat:hunter2hunter2@postgres:5432/tradeplat",
])
def test_the_scanner_finds_planted_secrets(line: str) -> None:
    assert scan(line)


@pytest.mark.parametrize("line", [
    "postgresql://tradeplat:$(POSTGRES_PASSWORD)@postgres:5432/tradeplat",
    "POSTGRES_PASSWORD=",
    "key: TRADEPLAT_ADMIN_KEY",
    "secretName: locust-accounts",
])
def test_the_scanner_accepts_references(line: str) -> None:
    assert scan(line) == []


def test_the_kind_overlay_renders_on_a_fresh_clone(tmp_path: Path) -> None:
    """Only what git holds (no secrets.env, nothing hand-made): the overlay renders and its
    Secret asks `up` to generate both keys, as the local overlay's does."""
    clone = tmp_path / "clone"
    for f in tracked_files():  # what a clone holds (ignored files such as secrets.env not)
        if f.is_file() and f.is_relative_to(REPO / "k8s"):
            target = clone / f.relative_to(REPO)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.read_bytes())
    assert not (clone / "k8s/overlays/kind/secrets.env").exists()
    objects = render_overlay(clone / "k8s/overlays/kind")
    secret = next(o for o in by_kind(objects, "Secret")
                  if o["metadata"]["name"] == "tradeplat-secrets")
    keys = secret["metadata"]["annotations"][GENERATE_ANNOTATION].split(",")
    assert set(keys) == {"POSTGRES_PASSWORD", "TRADEPLAT_ADMIN_KEY"}
    assert not secret.get("data")


def test_committed_secrets_carry_no_data(rendered: list[dict[str, Any]]) -> None:
    for secret in by_kind(rendered, "Secret"):
        name = secret["metadata"]["name"]
        generated = (secret["metadata"].get("annotations") or {}).get(GENERATE_ANNOTATION)
        if name == "tradeplat-secrets" and generated:  # local, kind: values made on the cluster
            assert set(generated.split(",")) == {"POSTGRES_PASSWORD", "TRADEPLAT_ADMIN_KEY"}
        assert not secret.get("data") and not secret.get("stringData"), name


def test_the_eks_overlay_gets_its_secret_from_secrets_manager(renders: dict[str, Any]) -> None:
    objects = renders["overlay:eks"]
    assert by_kind(objects, "Secret") == [s for s in by_kind(objects, "Secret")
                                          if s["metadata"]["name"] == "locust-accounts"]
    es = by_kind(objects, "ExternalSecret")
    assert len(es) == 1 and es[0]["spec"]["target"]["name"] == "tradeplat-secrets"

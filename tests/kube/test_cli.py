"""``tradestorm up/status/down --target kubernetes`` through the real CLI, against the REAL
cluster of tests/cluster (the platform deployed by the session's ``kube_platform``).

The CLI reads ``$KUBECONFIG``: here the cluster's kubeconfig plus ``prod-eu``, a second
context naming the same live API server that no test allows. ``down`` itself runs in
tests/kube/test_target.py (last of the session).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.kube.conftest import ALLOWED, FORBIDDEN, PLATFORM
from tradestorm.cli import cli

pytestmark = pytest.mark.timeout(900)

LOCAL = ["--overlay", "local"]
ALLOWED_TARGET = ["--target", "kubernetes", "--context", ALLOWED, "--allow-context", ALLOWED]


@pytest.fixture(autouse=True)
def _kubeconfig(kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))


def test_up_refuses_an_unlisted_context_with_exit_2(platform: Any) -> None:
    before = platform.fingerprint()
    result = CliRunner().invoke(cli, [
        "up", "--target", "kubernetes", "--context", FORBIDDEN, "--allow-context", ALLOWED,
        *LOCAL])
    assert result.exit_code == 2, result.output
    assert f"kube context '{FORBIDDEN}' is not allowed" in result.output
    assert platform.fingerprint() == before


def test_up_dry_run_lists_the_objects_and_touches_nothing(platform: Any) -> None:
    before = platform.fingerprint()
    result = CliRunner().invoke(cli, ["up", *ALLOWED_TARGET, *LOCAL, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would apply Deployment tradestorm/gateway" in result.output
    assert re.search(r"dry run: \d+ objects for context 'tradestorm-local', nothing applied",
                     result.output)
    assert platform.fingerprint() == before


def test_up_applies_waits_and_reports_the_status(platform: Any) -> None:
    result = CliRunner().invoke(cli, ["up", *ALLOWED_TARGET, *LOCAL, "--timeout", "600"])
    assert result.exit_code == 0, result.output
    assert re.search(r"rolled out: \d+ workloads ready", result.output)
    table = result.output[result.output.index("tradestorm kubernetes target"):]
    for service in PLATFORM:
        assert re.search(rf"{service} +│ service +│ healthy +│ 2/2 +│ {service}\.tradestorm\.svc",
                         table), table
    assert "UNHEALTHY" not in table


def test_status_and_down_take_the_same_target_options(platform: Any) -> None:
    shown = CliRunner().invoke(cli, ["status", *ALLOWED_TARGET, *LOCAL, "--json"])
    assert shown.exit_code == 0, shown.output
    status = json.loads(shown.output)
    assert status["target"] == "kubernetes" and status["running"] and status["healthy"]
    services = {c["name"]: c for c in status["components"] if c["kind"] == "service"}
    assert set(services) == PLATFORM
    assert re.search(r"hpa 2\.\.3, current 2, desired 2", services["gateway"]["detail"])

    before = platform.fingerprint()
    refused = CliRunner().invoke(cli, [
        "down", "--target", "kubernetes", "--context", FORBIDDEN, "--allow-context", ALLOWED,
        *LOCAL])
    assert refused.exit_code == 2, refused.output
    dry = CliRunner().invoke(cli, ["down", *ALLOWED_TARGET, *LOCAL, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would delete Namespace tradestorm" in dry.output
    assert "(dry run: nothing touched)" in dry.output
    assert platform.fingerprint() == before

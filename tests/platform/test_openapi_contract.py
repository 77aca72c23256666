"""The OpenAPI document is the contract: schemathesis finds no failure of any kind.

A bounded, seeded ``schemathesis run`` (its own command, every phase: examples,
coverage, fuzzing, stateful) over every operation of the gateway's document,
public and admin, against the platform running as processes, with every check
(not only "no 5xx"): status codes, headers (``Allow`` on a 405, ``Retry-After``)
and bodies as documented, valid data accepted, invalid data refused, a missing
required header refused. A failure prints schemathesis' own report, with the
``curl`` command that reproduces it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from platform_helpers import ADMIN_KEY, LivePlatform

SEED = 15
EXAMPLES_PER_OPERATION = 100
HERE = Path(__file__).resolve().parent

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


def _schemathesis() -> str:
    found = Path(sys.executable).parent / "schemathesis"
    assert found.exists(), "schemathesis is a dev dependency (uv sync --dev)"
    return str(found)


def test_every_operation_answers_as_its_openapi_document_says(
    live: LivePlatform, tmp_path: Path
) -> None:
    spec = httpx.get(live.gateway_url + "/openapi.json", timeout=10).json()
    operations = [(m.upper(), p) for p, ops in spec["paths"].items() for m in ops]
    assert len(operations) >= 16 and any(p.startswith("/v1/admin/") for _, p in operations)
    account = live.create_account(positions={"AAPL": 1000, "MSFT": 1000})
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
           "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    try:
        run = subprocess.run(
            [_schemathesis(), "run", live.gateway_url + "/openapi.json",
             "--checks", "all", "--seed", str(SEED),
             "--max-examples", str(EXAMPLES_PER_OPERATION), "--workers", "1",
             "--header", f"X-API-Key: {account.api_key}", "--header", f"X-Admin-Key: {ADMIN_KEY}",
             "--request-timeout", "30", "--suppress-health-check", "all",
             "--report", "junit", "--report-dir", str(tmp_path / "report")],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1400,
        )
    finally:
        # Undo what the fuzzed admin calls may have switched on.
        auth = {"X-Admin-Key": ADMIN_KEY}
        httpx.put(live.gateway_url + "/v1/admin/halt", json={"halted": False}, headers=auth)
        for symbol in ("AAPL", "MSFT", "GOOG", "AMZN", "TSLA"):
            httpx.put(f"{live.gateway_url}/v1/admin/symbols/{symbol}/halt",
                      json={"halted": False}, headers=auth)
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-3000:]
    counted = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert counted, run.stdout[-3000:]
    generated, passed = int(counted.group(1)), int(counted.group(2))
    assert generated == passed >= 50 * len(operations), run.stdout[-3000:]
    for phase in ("Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in run.stdout, f"the {phase} phase did not run and pass"
    for replica in live.cluster.all_replicas():
        bugs = [line for line in replica.log_text().splitlines() if "unhandled error" in line]
        assert bugs == [], f"{replica.name} logged a bug: {bugs[:2]}"

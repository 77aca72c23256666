"""A chaos run never reaches outside: no Chaos Toolkit version check, no other host than the
target's API server (the real cluster of tests/cluster)."""

from __future__ import annotations

import socket
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import yaml
from chaos_test_helpers import ALLOWED, NS
from tradestorm_chaos.execution import run_experiment

pytestmark = pytest.mark.timeout(900)


def test_a_run_connects_to_nothing_but_the_target(
        platform: Any, repo_experiments: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import chaostoolkit.check

    config = yaml.safe_load(platform.cluster.kubeconfig.read_text())
    (api_host,) = {urllib.parse.urlsplit(c["cluster"]["server"]).hostname
                   for c in config["clusters"]}

    def no_version_check(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("Chaos Toolkit's version check was called")

    monkeypatch.setattr(chaostoolkit.check, "check_newer_version", no_version_check)
    peers: list[Any] = []
    real_connect = socket.socket.connect

    def recording_connect(self: socket.socket, address: Any) -> Any:
        peers.append(address)
        return real_connect(self, address)

    resolved: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def recording_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        resolved.append(str(host))
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    monkeypatch.setattr(socket, "getaddrinfo", recording_getaddrinfo)
    monkeypatch.delenv("TRADESTORM_ALLOWED_CONTEXTS", raising=False)
    outcome = run_experiment(
        repo_experiments / "risk-latency.yaml", target="kubernetes",
        configuration=platform.chaos_configuration(fault_duration_s=1),
        journal_path=tmp_path / "j.json", residue_path=tmp_path / "r.json",
        allowed_contexts=(ALLOWED,), allowed_namespaces=(NS,), say=lambda _l: None)
    assert outcome.status == "completed", outcome.to_dict()
    assert peers, "the run made no connection at all: the recorder is broken"
    assert {p[0] for p in peers if isinstance(p, tuple)} == {api_host}
    assert set(resolved) <= {api_host}

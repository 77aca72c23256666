"""A chaos run never reaches outside: no Chaos Toolkit version check, no other host."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from chaos_test_helpers import ALLOWED, NS
from tradestorm_chaos.runner import run_experiment


def test_a_run_connects_to_nothing_but_the_target(
        fake_cluster: Any, repo_experiments: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import chaostoolkit.check

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
        configuration=fake_cluster.configuration(fault_duration_s=1),
        journal_path=tmp_path / "j.json", residue_path=tmp_path / "r.json",
        allowed_contexts=(ALLOWED,), allowed_namespaces=(NS,), say=lambda _l: None)
    assert outcome.status == "completed", outcome.to_dict()
    assert peers, "the run made no connection at all: the recorder is broken"
    assert {p[0] for p in peers if isinstance(p, tuple)} == {"127.0.0.1"}
    assert set(resolved) <= {"127.0.0.1", "localhost"}

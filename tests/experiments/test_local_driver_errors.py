"""The local driver when the local target misbehaves (no real target needed).

- a control API that answers something that is not JSON is a driver error, so
  the residue audit still reports (instead of crashing the run before the
  journal and ``residue.json`` are written);
- ``undo`` of a proxy fault whose id never came back removes it by kind;
- a recycled supervisor PID is never taken for a running target.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from tradestorm_chaos.config import ChaosSettings
from tradestorm_chaos.drivers.local import LocalDriver
from tradestorm_chaos.errors import DriverError, TargetUnavailable
from tradestorm_chaos.localstate import read_local_state
from tradestorm_chaos.residue import audit
from tradestorm_chaos.session import RunSession

SUP = "http://127.0.0.1:1"
CONTROL = "http://127.0.0.1:2"


def _me() -> dict[str, Any]:
    """A supervisor entry naming this (live) process, identity included."""
    proc = psutil.Process()
    return {"pid": proc.pid, "create_time": proc.create_time(), "marker": proc.cmdline()[0],
            "control_url": SUP}


def _write_state(state_dir: Path, supervisor: dict[str, Any]) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "state.json").write_text(json.dumps({
        "schema": 1, "supervisor": supervisor, "gateway_url": "http://127.0.0.1:3",
        "services": {"risk": {"proxy_url": "http://127.0.0.1:4", "proxy_control_url": CONTROL,
                              "replicas": []}},
    }))


def _driver(tmp_path: Path, handler: Any) -> LocalDriver:
    _write_state(tmp_path, _me())
    driver = LocalDriver(ChaosSettings(state_dir=tmp_path), RunSession(say=lambda _l: None))
    driver._http = httpx.Client(transport=httpx.MockTransport(handler))
    return driver


def test_a_control_api_answering_garbage_is_reported_by_the_audit(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>a proxy in the way</html>")

    driver = _driver(tmp_path, handler)
    with pytest.raises(DriverError, match="JSON"):
        driver.database_up()
    items = audit(driver, timeout_s=0)
    kinds = {(i.kind, i.target) for i in items}
    assert ("proxy_unreachable", "risk") in kinds
    assert ("supervisor_unreachable", "supervisor") in kinds


def test_a_json_array_instead_of_an_object_is_a_driver_error(tmp_path: Path) -> None:
    driver = _driver(tmp_path, lambda _r: httpx.Response(200, json=[1, 2]))
    with pytest.raises(DriverError, match="not a JSON object"):
        driver.replicas("risk")


def test_audit_reports_a_driver_bug_instead_of_crashing() -> None:
    class Broken:
        target = "local"

        def residue(self) -> list[Any]:
            raise KeyError("id")

    items = audit(Broken(), timeout_s=0)  # type: ignore[arg-type]
    assert [i.kind for i in items] == ["audit_failed"]


def test_undo_without_a_fault_id_removes_the_fault_by_kind(tmp_path: Path) -> None:
    faults = [{"id": "f-1", "kind": "blackhole"}, {"id": "f-2", "kind": "latency"}]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path == "/faults":
            return httpx.Response(200, json={"faults": faults})
        if request.method == "DELETE" and request.url.path.startswith("/faults/"):
            fault_id = request.url.path.rsplit("/", 1)[1]
            faults[:] = [f for f in faults if f["id"] != fault_id]
            return httpx.Response(204)
        return httpx.Response(404)

    driver = _driver(tmp_path, handler)
    # the POST timed out: the ledger knows the fault was asked for, not its id
    record = driver.session.ledger.open("partition", "risk", {"duration": 30})
    driver.undo(record)
    assert faults == [{"id": "f-2", "kind": "latency"}]
    assert not record.open


def test_undo_reports_a_fault_it_could_not_remove(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"faults": [{"id": "f-1", "kind": "refuse"}]})
        return httpx.Response(204)  # "deleted", but it stays

    driver = _driver(tmp_path, handler)
    record = driver.session.ledger.open("service_outage", "risk", {"duration": 30})
    with pytest.raises(DriverError, match="still active"):
        driver.undo(record)
    assert record.open


def test_a_recycled_supervisor_pid_is_not_a_running_target(tmp_path: Path) -> None:
    me = _me()
    _write_state(tmp_path, me)
    assert read_local_state(tmp_path).supervisor_pid == os.getpid()
    # the same PID, but another process (created at another time)
    _write_state(tmp_path, {**me, "create_time": me["create_time"] - 1000})
    with pytest.raises(TargetUnavailable, match="not running"):
        read_local_state(tmp_path)
    # the same PID and time, but not the supervisor's command line
    _write_state(tmp_path, {**me, "marker": "tradestorm.local.supervisor --state-dir /x"})
    with pytest.raises(TargetUnavailable, match="not running"):
        read_local_state(tmp_path)

"""``LocalTarget.connect``: the running local target as a run's ``Connection``.

Everything comes from the state folder (docs/contracts.md §3): the gateway,
Prometheus, the direct database DSN (for reconcile) and the accounts file (for
the load). With ``bring_up`` (a run) a target that is not running is brought
up (and taken down again when the run ends, unless ``keep_up``) and must be
healthy; ``down_after`` takes it down even when it was already running.
Without it (``gate``, ``reconcile``, ``load``) the target only has to run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from tradestorm.errors import TargetError
from tradestorm.local.state import load_state, resolve_state_dir
from tradestorm.targets import Connection, LoadHandle, LoadRequest, Say, Scope, TargetStatus


class StartableTarget(Protocol):
    """What a connection needs of the local target (``target.LocalTarget``)."""

    state_dir: Path

    def status(self) -> TargetStatus: ...

    def up(self, *, wait: bool = True, timeout_s: float = 120,
           progress: Callable[[str], None] | None = None) -> TargetStatus: ...

    def down(self) -> None: ...


class LocalLoad:
    """A Locust process on this machine (``loadtests.launcher.start_load``) as a ``LoadHandle``."""

    metrics_selector = ""

    def __init__(self, run: Any) -> None:
        self._run = run

    @property
    def running(self) -> bool:
        return bool(self._run.running)

    @property
    def events(self) -> list[dict[str, Any]]:
        return []  # one process: it either runs or the run's load stage fails

    def stop(self) -> int | None:
        code = self._run.stop()
        return None if code is None else int(code)


def _wait_healthy(status_fn: Callable[[], TargetStatus], timeout_s: float) -> TargetStatus:
    deadline = time.monotonic() + timeout_s
    status = status_fn()
    while not status.healthy and time.monotonic() < deadline:
        time.sleep(1.0)
        status = status_fn()
    return status


def connect_local(target: StartableTarget, *, say: Say, bring_up: bool, down_after: bool,
                  keep_up: bool, up_timeout_s: float = 180.0,
                  healthy_timeout_s: float = 60.0) -> Connection:
    status = target.status()
    started = False
    if not status.running:
        if not bring_up:
            raise TargetError(f"no local target runs in {target.state_dir}; run 'tradestorm up'")
        say("local target: not running; bringing it up (this takes a few seconds)")
        status = target.up(wait=True, timeout_s=up_timeout_s,
                           progress=lambda line: say(f"local target: {line}"))
        started = True
        say("local target: up (started by this run)")
    else:
        after = "stopped afterwards (--down-after)" if down_after else "left running afterwards"
        say(f"local target: already running ({after})")
    if bring_up and not status.healthy:  # a run needs all of it; gate/reconcile only read
        status = _wait_healthy(target.status, healthy_timeout_s)
    if bring_up and not status.healthy:
        sick = [f"{c.name} ({c.detail or 'unhealthy'})" for c in status.components if not c.healthy]
        if started and not keep_up:
            target.down()
        raise TargetError(
            "the local target is not healthy, a run against it would measure nothing useful: "
            + ", ".join(sick or ["not running"])
        )
    state_dir = resolve_state_dir(target.state_dir)
    state = load_state(state_dir)
    gateway_url = str(state["gateway_url"])
    accounts_file = Path(state["accounts_file"])
    prometheus_url = str(state["prometheus"]["url"])
    take_down = down_after or (started and not keep_up)

    def start_load(request: LoadRequest, results_dir: Path, say: Say) -> LoadHandle:
        from loadtests.launcher import start_load as start_locust

        return LocalLoad(start_locust(
            request.profile, host=gateway_url, accounts_file=accounts_file,
            results_dir=results_dir, duration_s=request.duration_s, users=request.users,
            seed=request.seed, processes=request.processes, rate=request.rate,
            state_dir=state_dir, run_id=request.run_id, rate_stages=request.rate_stages,
            max_in_flight=request.max_in_flight, send_tick=request.send_tick))

    def close(down: bool, say: Say) -> None:
        if down and take_down:
            say("taking the local target down")
            target.down()

    return Connection(
        target="local",
        prometheus_url=prometheus_url,
        dsn=str(state["postgres"]["dsn"]),
        gateway_url=gateway_url,
        scope=Scope(),
        chaos_configuration={"tradestorm_target": "local",
                             "tradestorm_prometheus_url": prometheus_url,
                             "tradestorm_state_dir": str(state_dir)},
        chaos_options={"target": "local", "state_dir": state_dir},
        start_load=start_load,
        state_dir=state_dir,
        accounts_file=accounts_file,
        started_by_run=started,
        _close=close,
    )

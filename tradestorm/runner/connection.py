"""The running target a run talks to, brought up by the run when needed.

For the local target the run reads everything from the state folder
(docs/contracts.md §3): the gateway, Prometheus, the direct database DSN (for
reconcile) and the accounts file (for the load). When nothing runs there, the
run brings the target up itself, says so, and takes it down again afterwards
unless asked to keep it (``--keep-up``); ``--down-after`` takes it down even
when it was already running.

For a Kubernetes cluster the same facts come from the command line (the
cluster's own address book is not something tradestorm guesses).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tradestorm.errors import TargetError
from tradestorm.runner.errors import StageError

Say = Callable[[str], None]


@dataclass
class Connection:
    """What a run needs to know about the target it runs against."""

    target: str
    gateway_url: str
    prometheus_url: str
    dsn: str
    accounts_file: Path
    state_dir: Path | None = None
    state: dict[str, Any] = field(default_factory=dict)
    started_by_run: bool = False
    # how to put the target back when the run ends
    _stop: Callable[[], None] | None = None

    @property
    def proxy_control_urls(self) -> dict[str, str]:
        """Control URL of every service proxy of the local target (and of ``postgres``)."""
        urls: dict[str, str] = {}
        for name, service in (self.state.get("services") or {}).items():
            if service.get("proxy_control_url"):
                urls[name] = service["proxy_control_url"]
        for name, proxy in (self.state.get("proxies") or {}).items():
            if proxy.get("control_url"):
                urls[name] = proxy["control_url"]
        return urls

    @property
    def supervisor_url(self) -> str | None:
        return (self.state.get("supervisor") or {}).get("control_url")

    def release(self, *, down: bool, say: Say) -> None:
        """Leave the target as the run found it (or down when ``down``)."""
        if self._stop is None or not down:
            return
        say(f"taking the {self.target} target down")
        self._stop()


def _wait_healthy(status_fn: Callable[[], Any], timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    status = status_fn()
    while not status.healthy and time.monotonic() < deadline:
        time.sleep(1.0)
        status = status_fn()
    return status


def open_local(
    state_dir: Path | None,
    *,
    replicas: int = 2,
    up_timeout_s: float = 180.0,
    healthy_timeout_s: float = 60.0,
    down_after: bool = False,
    keep_up: bool = False,
    say: Say = print,
) -> Connection:
    """Connect to the local target in ``state_dir``, bringing it up when nothing runs there."""
    try:
        from tradestorm.local.state import load_state, resolve_state_dir
        from tradestorm.local.target import LocalTarget
    except ImportError as exc:  # the local target part is not installed
        raise StageError("target", f"the local target is not available: {exc}") from exc

    target = LocalTarget(state_dir=state_dir, replicas=replicas)
    status = target.status()
    started = False
    if not status.running:
        say("local target: not running; bringing it up (this takes a few seconds)")
        status = target.up(wait=True, timeout_s=up_timeout_s,
                           progress=lambda line: say(f"local target: {line}"))
        started = True
        say("local target: up (started by this run)")
    else:
        after = "stopped afterwards (--down-after)" if down_after else "left running afterwards"
        say(f"local target: already running ({after})")
    if not status.healthy:
        status = _wait_healthy(target.status, healthy_timeout_s)
    if not status.healthy:
        sick = [f"{c.name} ({c.detail or 'unhealthy'})" for c in status.components if not c.healthy]
        if started and not keep_up:
            target.down()
        raise TargetError(
            "the local target is not healthy, a run against it would measure nothing useful: "
            + ", ".join(sick or ["not running"])
        )
    state = load_state(state_dir)
    stop: Callable[[], None] | None = None
    if down_after or (started and not keep_up):
        stop = target.down
    return Connection(
        target="local",
        gateway_url=state["gateway_url"],
        prometheus_url=state["prometheus"]["url"],
        dsn=state["postgres"]["dsn"],
        accounts_file=Path(state["accounts_file"]),
        state_dir=resolve_state_dir(state_dir),
        state=state,
        started_by_run=started,
        _stop=stop,
    )


def open_kubernetes(
    *,
    context: str | None,
    gateway_url: str | None,
    prometheus_url: str | None,
    dsn: str | None,
    accounts_file: Path | None,
    allowed_contexts: tuple[str, ...] = (),
) -> Connection:
    """A cluster the user already deployed to (``tradestorm up --target kubernetes``)."""
    missing = [name for name, value in (
        ("--context", context), ("--gateway-url", gateway_url),
        ("--prometheus-url", prometheus_url), ("--dsn", dsn), ("--accounts", accounts_file),
    ) if not value]
    if missing:
        raise TargetError(
            "a run on the kubernetes target needs " + ", ".join(missing)
            + " (the cluster's gateway, Prometheus and database as reachable from here, "
            "and the accounts file written by 'tradeplat seed')"
        )
    assert gateway_url and prometheus_url and dsn and accounts_file
    try:
        httpx.get(gateway_url, timeout=5.0)
    except httpx.HTTPError as exc:
        raise TargetError(f"kubernetes target: the gateway at {gateway_url} does not answer "
                          f"({exc})") from None
    from slo.errors import PrometheusError
    from slo.prometheus import PrometheusSource

    try:
        with PrometheusSource(prometheus_url, timeout_s=5.0, workers=1) as source:
            source.check()
    except PrometheusError as exc:
        raise TargetError(f"kubernetes target: {exc}") from None
    return Connection(
        target="kubernetes", gateway_url=gateway_url, prometheus_url=prometheus_url, dsn=dsn,
        accounts_file=Path(accounts_file),
        state={"context": context, "allowed_contexts": list(allowed_contexts)},
    )

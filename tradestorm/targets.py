"""What every target (local, kubernetes) offers to the CLI and the runner.

A target brings the reference platform up and down and reports the health of
its components. The chaos drivers (``tradestorm_chaos.drivers``) know how to
break it; this interface only knows how to run it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

Say = Callable[[str], None]


@dataclass
class ComponentStatus:
    """One line of ``tradestorm status``."""

    name: str  # e.g. "postgres", "prometheus", "orders", "proxy/orders"
    kind: str  # "database" | "monitoring" | "service" | "proxy" | "supervisor"
    healthy: bool
    address: str = ""
    replicas_ready: int | None = None
    replicas_desired: int | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TargetStatus:
    target: str  # "local" | "kubernetes"
    running: bool
    components: list[ComponentStatus] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.running and all(c.healthy for c in self.components)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "running": self.running,
            "healthy": self.healthy,
            "components": [c.to_dict() for c in self.components],
        }


@dataclass(frozen=True)
class LoadRequest:
    """The scenario's load, as a target runs it."""

    profile: str
    users: int
    seed: int
    rate: float
    duration_s: float
    run_id: str
    processes: int = 1  # load processes (local) or workers (kubernetes)
    rate_stages: str = ""  # ramping-arrival-rate: FROM-TO:RATE[-RATE],... (loadtests.arrival)
    max_in_flight: int | None = None  # arrival-rate profiles: orders in flight (default: users)
    send_tick: float | None = None  # arrival-rate profiles: the sender's tick, seconds (1 ms)


class LoadHandle(Protocol):
    """A load started by a target; its results land in the run's results folder."""

    @property
    def running(self) -> bool: ...

    @property
    def metrics_selector(self) -> str:
        """PromQL label matchers that select this load's client metrics ('' for all)."""
        ...

    @property
    def events(self) -> list[dict[str, Any]]:
        """Load processes restarted, replaced or lost during the run."""
        ...

    def stop(self) -> int | None:
        """Stop gracefully; afterwards the CSVs, journals and logs are in the results folder."""
        ...


@dataclass(frozen=True)
class Scope:
    """What chaos may touch on this target: the allow-list the target and the driver share."""

    contexts: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()


@dataclass
class Connection:
    """What a run needs to know about the target it runs against (``Target.connect``).

    Every address is reachable from this machine for as long as the connection
    is open (on Kubernetes through port-forwards the connection owns);
    :meth:`release` closes them, and takes the target down when the run brought
    it up and is not asked to keep it.
    """

    target: str
    prometheus_url: str
    dsn: str
    gateway_url: str
    scope: Scope
    #: Chaos Toolkit configuration keys that say where the target is
    chaos_configuration: dict[str, Any]
    #: keyword arguments of ``tradestorm_chaos.execution.run_experiment``/``clean_target``
    chaos_options: dict[str, Any]
    start_load: Callable[[LoadRequest, Path, Say], LoadHandle]
    #: seconds for the last samples to be scraped and their recording rules evaluated
    settle_s: float = 3.0
    state_dir: Path | None = None
    #: the load accounts, where they are a file on this machine (local)
    accounts_file: Path | None = None
    started_by_run: bool = False
    _close: Callable[[bool, Say], None] | None = None

    def release(self, *, down: bool, say: Say) -> None:
        """Close what the connection opened; take the target down when ``down`` and the
        connection was told it may (it started the target, or ``--down-after``)."""
        if self._close is not None:
            close, self._close = self._close, None
            close(down, say)


class Target(Protocol):
    name: str

    def up(self, *, wait: bool = True, timeout_s: float = 120) -> TargetStatus:
        """Bring the platform up (no change when it already runs) and wait until ready."""
        ...

    def down(self) -> None:
        """Remove everything ``up`` started; nothing may be left behind."""
        ...

    def status(self) -> TargetStatus: ...

    def connect(self, *, say: Say = print) -> Connection:
        """Reach the running platform for a run (refused, naming why, when it cannot be)."""
        ...

"""What every target (local, kubernetes) offers to the CLI and the runner.

A target brings the reference platform up and down and reports the health of
its components. The chaos drivers (``tradestorm_chaos.drivers``) know how to
break it; this interface only knows how to run it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


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


class Target(Protocol):
    name: str

    def up(self, *, wait: bool = True, timeout_s: float = 120) -> TargetStatus:
        """Bring the platform up (no change when it already runs) and wait until ready."""
        ...

    def down(self) -> None:
        """Remove everything ``up`` started; nothing may be left behind."""
        ...

    def status(self) -> TargetStatus: ...

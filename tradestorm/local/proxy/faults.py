"""Faults a proxy injects, how they are validated, and how active ones combine.

A fault is created from the JSON body of ``POST /faults`` (contracts §3):
``{"kind", "latency_ms", "jitter_ms", "bytes_per_second", "duration_s",
"direction"}``. Validation raises ``FaultSpecError`` naming the field; the
control API turns it into a 422.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tradestorm.errors import InputError

KINDS = ("latency", "bandwidth", "blackhole", "reset", "refuse")
DIRECTIONS = ("downstream", "upstream", "both")
# a fault nobody removes is a fault that outlives its experiment: cap it
MAX_DURATION_S = 24 * 3600.0
MAX_LATENCY_MS = 600_000


class FaultSpecError(InputError):
    """A fault request is malformed; ``field`` names the offending field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__("POST /faults", field, problem)


def _number(body: Mapping[str, Any], name: str, *, default: float | None, minimum: float,
            maximum: float, strict_min: bool = False) -> float | None:
    value = body.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultSpecError(name, f"must be a number, got {value!r}")
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        raise FaultSpecError(name, "must be a finite number")
    if value < minimum or (strict_min and value == minimum):
        op = ">" if strict_min else ">="
        raise FaultSpecError(name, f"must be {op} {minimum:g}, got {value:g}")
    if value > maximum:
        raise FaultSpecError(name, f"must be <= {maximum:g}, got {value:g}")
    return value


@dataclass
class Fault:
    """One active fault of one proxy."""

    kind: str
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    bytes_per_second: int = 0
    duration_s: float | None = None
    direction: str = "downstream"
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    created_at: float = field(default_factory=time.time)

    @property
    def expires_at(self) -> float | None:
        return None if self.duration_s is None else self.created_at + self.duration_s

    def affects(self, direction: str) -> bool:
        """True when this fault shapes data flowing ``direction`` (downstream|upstream)."""
        return self.direction == "both" or self.direction == direction

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "kind": self.kind}
        if self.kind == "latency":
            data.update(latency_ms=self.latency_ms, jitter_ms=self.jitter_ms,
                        direction=self.direction)
        elif self.kind == "bandwidth":
            data.update(bytes_per_second=self.bytes_per_second, direction=self.direction)
        data.update(duration_s=self.duration_s, created_at=self.created_at,
                    expires_at=self.expires_at)
        return data

    @classmethod
    def from_request(cls, body: Any) -> Fault:
        """Validate a ``POST /faults`` body; raises ``FaultSpecError`` naming the field."""
        if not isinstance(body, Mapping):
            raise FaultSpecError("(body)", "must be a JSON object")
        known = {"kind", "latency_ms", "jitter_ms", "bytes_per_second", "duration_s", "direction"}
        unknown = sorted(set(body) - known)
        if unknown:
            raise FaultSpecError(unknown[0], f"unknown field (known: {', '.join(sorted(known))})")
        kind = body.get("kind")
        if kind not in KINDS:
            raise FaultSpecError("kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
        duration = _number(body, "duration_s", default=None, minimum=0, maximum=MAX_DURATION_S,
                           strict_min=True)
        direction = body.get("direction", "downstream")
        if direction not in DIRECTIONS:
            raise FaultSpecError("direction", f"must be one of {', '.join(DIRECTIONS)}")
        fault = cls(kind=kind, duration_s=duration, direction=direction)
        if kind == "latency":
            if "latency_ms" not in body:
                raise FaultSpecError("latency_ms", "required for a latency fault")
            fault.latency_ms = _number(body, "latency_ms", default=0, minimum=0,
                                       maximum=MAX_LATENCY_MS) or 0.0
            fault.jitter_ms = _number(body, "jitter_ms", default=0, minimum=0,
                                      maximum=MAX_LATENCY_MS) or 0.0
        elif kind == "bandwidth":
            if "bytes_per_second" not in body:
                raise FaultSpecError("bytes_per_second", "required for a bandwidth fault")
            rate = _number(body, "bytes_per_second", default=None, minimum=1, maximum=10**12)
            assert rate is not None
            if rate != int(rate):
                raise FaultSpecError("bytes_per_second", "must be an integer")
            fault.bytes_per_second = int(rate)
        for name in ("latency_ms", "jitter_ms", "bytes_per_second"):
            if name in body and name not in _FIELDS_OF[kind]:
                raise FaultSpecError(name, f"does not apply to a {kind} fault")
        if "direction" in body and kind not in ("latency", "bandwidth"):
            raise FaultSpecError("direction", f"does not apply to a {kind} fault")
        return fault


_FIELDS_OF = {
    "latency": {"latency_ms", "jitter_ms"},
    "bandwidth": {"bytes_per_second"},
    "blackhole": set(),
    "reset": set(),
    "refuse": set(),
}


@dataclass(frozen=True)
class Shaping:
    """The combined effect of the active faults on one direction of a connection."""

    latency_s: float = 0.0
    jitter_s: float = 0.0
    bytes_per_second: int = 0  # 0: unlimited

    @property
    def active(self) -> bool:
        return self.latency_s > 0 or self.jitter_s > 0 or self.bytes_per_second > 0

    @classmethod
    def combine(cls, faults: Iterable[Fault], direction: str) -> Shaping:
        """Latencies add up; the tightest bandwidth limit wins."""
        latency = jitter = 0.0
        rate = 0
        for f in faults:
            if not f.affects(direction):
                continue
            if f.kind == "latency":
                latency += f.latency_ms / 1000.0
                jitter += f.jitter_ms / 1000.0
            elif f.kind == "bandwidth":
                rate = f.bytes_per_second if rate == 0 else min(rate, f.bytes_per_second)
        return cls(latency, jitter, rate)

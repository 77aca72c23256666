"""Size-bounded logs: the supervisor rotates ``STATE/logs/*.log`` by copy-truncate.

Every process of the target (the supervisor itself, replicas, the proxy process,
Prometheus, PostgreSQL through ``pg_ctl -l``) keeps its log open with O_APPEND, so
a log cannot be renamed away from under its writer. Instead, once ``NAME.log``
exceeds ``max_bytes`` it is copied to ``NAME.log.1`` (older copies shift to
``.2`` … ``.<keep>``, the oldest is dropped) and truncated in place; the writers'
next lines land at offset 0. Lines written between the last copied byte and the
truncation (microseconds) are lost, as with logrotate's ``copytruncate``.

Bound: ``NAME.log`` stays under ``max_bytes`` plus what is written in one check
interval; with its copies a component uses at most ``(keep + 1)`` times that.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tradestorm.local.processes import rotated_log

log = logging.getLogger("tradestorm.supervisor")

ENV_MAX_BYTES = "TRADESTORM_LOG_MAX_BYTES"
ENV_KEEP = "TRADESTORM_LOG_KEEP"
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_KEEP = 3
CHECK_INTERVAL_S = 2.0
_COPY_CHUNK = 1024 * 1024
_SIZE = re.compile(r"(\d+)\s*([kmg]?)(?:i?b)?", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(text: str) -> int:
    """Bytes from ``52428800``, ``50M``, ``50MiB`` or ``512k`` (binary units); 0 is allowed."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a size: {text!r} (e.g. 52428800, 50M, 50MiB)")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


@dataclass(frozen=True)
class RotationPolicy:
    """When a log is rotated and how many copies are kept; ``max_bytes`` 0 turns rotation off."""

    max_bytes: int = DEFAULT_MAX_BYTES
    keep: int = DEFAULT_KEEP
    interval_s: float = CHECK_INTERVAL_S

    def __post_init__(self) -> None:
        if self.max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {self.max_bytes}")
        if self.keep < 1:
            raise ValueError(f"keep must be >= 1, got {self.keep}")
        if self.interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {self.interval_s}")

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RotationPolicy:
        """``$TRADESTORM_LOG_MAX_BYTES`` and ``$TRADESTORM_LOG_KEEP``, else the defaults.

        Raises ``ValueError`` naming the variable that is malformed.
        """
        env = os.environ if env is None else env
        max_bytes, keep = DEFAULT_MAX_BYTES, DEFAULT_KEEP
        if env.get(ENV_MAX_BYTES, "").strip():
            try:
                max_bytes = parse_size(env[ENV_MAX_BYTES])
            except ValueError as exc:
                raise ValueError(f"{ENV_MAX_BYTES}: {exc}") from None
        if env.get(ENV_KEEP, "").strip():
            try:
                keep = int(env[ENV_KEEP])
            except ValueError:
                raise ValueError(f"{ENV_KEEP}: not an integer: {env[ENV_KEEP]!r}") from None
            if keep < 1:
                raise ValueError(f"{ENV_KEEP}: must be at least 1, got {keep}")
        return cls(max_bytes=max_bytes, keep=keep)


def rotate(log_file: Path, keep: int, before_truncate: Callable[[], None] | None = None) -> int:
    """Copy ``log_file`` to ``.1`` (shifting the older copies) and truncate it in place.

    ``before_truncate`` runs once the copy is complete, right before the
    truncation. Returns the number of bytes moved into ``.1``.
    """
    oldest = rotated_log(log_file, keep)
    oldest.unlink(missing_ok=True)
    for generation in range(keep - 1, 0, -1):
        older = rotated_log(log_file, generation)
        if older.exists():
            os.replace(older, rotated_log(log_file, generation + 1))
    copied = 0
    with open(log_file, "r+b", buffering=0) as src, open(rotated_log(log_file, 1), "wb") as dst:
        # copy until the end, then truncate at once: the writers keep appending meanwhile
        while chunk := src.read(_COPY_CHUNK):
            dst.write(chunk)
            copied += len(chunk)
        if before_truncate is not None:
            before_truncate()
        os.ftruncate(src.fileno(), 0)
    return copied


class LogRotator:
    """Rotates every ``*.log`` of one folder that grew beyond the policy's bound.

    ``generation(path)`` counts the rotations of one log. It is raised before the
    truncation, so a reader that notes a log's size and *then* its generation
    (``Replica.start``) can always tell where its output went (``read_log_since``).
    """

    def __init__(self, logs_dir: Path, policy: RotationPolicy) -> None:
        self.logs_dir = logs_dir
        self.policy = policy
        self._generations: dict[str, int] = {}  # written by check() only

    def generation(self, log_file: Path) -> int:
        """How many times ``log_file`` was rotated by this rotator."""
        return self._generations.get(log_file.name, 0)

    def _raise_generation(self, name: str) -> None:
        self._generations[name] = self._generations.get(name, 0) + 1

    def check(self) -> list[Path]:
        """One pass over the folder; returns the logs it rotated."""
        if not self.policy.enabled:
            return []
        done = []
        try:
            entries = list(os.scandir(self.logs_dir))
        except FileNotFoundError:
            return []
        for entry in entries:
            if not entry.name.endswith(".log"):
                continue
            path = Path(entry.path)
            try:
                if not entry.is_file() or entry.stat().st_size <= self.policy.max_bytes:
                    continue
                copied = rotate(path, self.policy.keep,
                                lambda name=entry.name: self._raise_generation(name))
            except OSError as exc:  # removed meanwhile, or not ours to write: next pass
                log.warning("could not rotate %s: %s", path, exc)
                continue
            done.append(path)
            log.info("rotated %s (%.1f MiB moved to %s)", path.name, copied / 2**20,
                     rotated_log(path, 1).name)
        return done

    async def run(self) -> None:
        """Check every ``interval_s`` (in a worker thread) until cancelled."""
        if not self.policy.enabled:
            return
        while True:
            try:
                await asyncio.to_thread(self.check)
            except Exception:  # log rotation must never take the supervisor down
                log.exception("log rotation failed")
            await asyncio.sleep(self.policy.interval_s)

"""Running the image tools (buildah, debootstrap, ctr, ...): one place that turns a failed
command into a :class:`~tests.cluster.errors.ClusterError` carrying the tool's stderr tail."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.cluster.errors import ClusterError

#: How much of a failed tool's output goes into the error.
_TAIL = 4000


def run(
    cmd: Sequence[str | Path],
    piece: str,
    check: str,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` with captured output; a non-zero exit (or a timeout, or a missing tool)
    raises ClusterError(piece, "<check> failed: <command>\\n<stderr tail>")."""
    args = [str(c) for c in cmd]
    full_env = {**os.environ, **env} if env is not None else None
    try:
        proc = subprocess.run(
            args,
            cwd=cwd,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input_text,
            errors="replace",
        )
    except FileNotFoundError as exc:
        raise ClusterError(piece, f"{check}: {args[0]} is not installed ({exc})") from exc
    except subprocess.TimeoutExpired as exc:
        raise ClusterError(
            piece, f"{check}: {' '.join(args)} did not finish in {timeout:.0f}s"
        ) from exc
    if proc.returncode != 0:
        raise ClusterError(
            piece, f"{check} failed (exit {proc.returncode}): {_show(args)}\n{tail(proc)}"
        )
    return proc


def tail(proc: subprocess.CompletedProcess[str]) -> str:
    """The last few thousand characters of a process's stderr (stdout when stderr is empty)."""
    text = (proc.stderr or "").strip() or (proc.stdout or "").strip()
    return text[-_TAIL:]


def _show(args: Sequence[str]) -> str:
    shown = " ".join(args)
    return shown if len(shown) < 600 else shown[:600] + " ..."

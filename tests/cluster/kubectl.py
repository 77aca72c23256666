"""kubectl against the test cluster (the kubectl built with it, the admin kubeconfig)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.cluster.errors import ClusterError
from tests.cluster.layout import ADMIN_KUBECONFIG

_KUBECTL: Path | None = None


def use(kubectl: Path) -> None:
    global _KUBECTL
    _KUBECTL = kubectl


def _binary() -> str:
    if _KUBECTL is not None:
        return str(_KUBECTL)
    from tests.cluster.binaries import KUBERNETES_BUILD

    if KUBERNETES_BUILD.is_built():
        return str(KUBERNETES_BUILD.out_dir() / "kubectl")
    return "kubectl"


def run(
    *args: str,
    input: str | None = None,
    timeout: float = 60,
    check: bool = True,
    piece: str = "kubectl",
) -> subprocess.CompletedProcess[str]:
    cmd = [_binary(), f"--kubeconfig={ADMIN_KUBECONFIG}", "--request-timeout=20s", *args]
    try:
        proc = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise ClusterError(
            piece, f"kubectl {' '.join(args)} did not answer in {timeout:.0f}s"
        ) from exc
    if check and proc.returncode != 0:
        raise ClusterError(piece, f"kubectl {' '.join(args)}: {proc.stderr.strip()[-1500:]}")
    return proc


def get_json(*args: str, piece: str = "kubectl") -> dict[str, object]:
    return json.loads(run("get", *args, "-o", "json", piece=piece).stdout)


def apply(manifest: str, *, piece: str, server_side: bool = True) -> None:
    args = ["apply", "-f", "-"]
    if server_side:
        args += ["--server-side", "--force-conflicts", "--field-manager=tradestorm-cluster"]
    run(*args, input=manifest, timeout=180, piece=piece)


def wait_until(
    what: str,
    check: Callable[[], str | None],
    *,
    timeout_s: float,
    piece: str,
    interval_s: float = 1.0,
    hint: Callable[[], str] | None = None,
) -> None:
    """Poll ``check`` (None when satisfied, else why not) until it is satisfied or time runs out."""
    deadline = time.monotonic() + timeout_s
    why = "not checked"
    while time.monotonic() < deadline:
        try:
            result = check()
        except ClusterError as exc:
            result = exc.problem
        if result is None:
            return
        why = result
        time.sleep(interval_s)
    extra = f"\n{hint()}" if hint else ""
    raise ClusterError(piece, f"{what} not within {timeout_s:.0f}s: {why}{extra}")

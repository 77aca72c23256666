"""A port-forward the run owns: a fixed local port to whichever pod is ready.

``kubectl port-forward`` (the well-kept implementation of the API's
port-forward protocol) forwards to one pod and exits when that pod goes away.
:class:`PortForward` keeps one local port for the whole run and re-opens the
forward to the next ready pod that matches its label selector whenever the
kubectl process exits, or the pod it forwards to is no longer the ready one (a
killed pod; a database scaled to zero and back, whose new pod has the same name
and which kubectl would go on forwarding to the old one).
Connections made while no pod is ready are refused, which the callers treat
as the dependency being down.

Every kubectl process is started in its own process group with a parent-death
signal, so a killed CLI leaves no forward behind; :meth:`close` stops it.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tradestorm.kube.errors import KubeError

log = logging.getLogger(__name__)

#: seconds to wait for kubectl to print that it forwards
OPEN_TIMEOUT_S = 20.0
#: pause between two attempts while no pod is ready
RETRY_S = 1.0

#: the ready pod to forward to, as (name, uid); None while there is none
PodFinder = Callable[[], tuple[str, str] | None]
#: how often the forwarded pod is checked (a pod recreated under the same name, as a
#: StatefulSet's is, leaves kubectl running but forwarding nowhere)
CHECK_S = 2.0


class PortForwardError(KubeError):
    """A forward that cannot be opened at all (no kubectl, no pod, refused)."""


def kubectl_path() -> str:
    path = shutil.which("kubectl")
    if path is None:
        raise PortForwardError(
            "kubectl is not on PATH: a run on Kubernetes reaches Prometheus and the database "
            "through 'kubectl port-forward' (install kubectl, https://kubernetes.io/docs/tasks/tools/)")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    os.setsid()
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class PortForward:
    """``127.0.0.1:<local_port>`` forwarded to port ``remote_port`` of a ready pod."""

    def __init__(self, *, context: str, namespace: str, remote_port: int, find_pod: PodFinder,
                 what: str, kubeconfig: Path | None = None, local_port: int | None = None
                 ) -> None:
        self.context = context
        self.namespace = namespace
        self.remote_port = remote_port
        self.find_pod = find_pod
        self.what = what
        self.kubeconfig = kubeconfig
        self.local_port = local_port or free_port()
        self.kubectl = kubectl_path()
        self.pod: str | None = None
        self._uid: str | None = None
        self.reopened = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._closed = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.local_port}"

    def _command(self, pod: str) -> list[str]:
        cmd = [self.kubectl]
        if self.kubeconfig is not None:
            cmd += ["--kubeconfig", str(self.kubeconfig)]
        return [*cmd, "--context", self.context, "--namespace", self.namespace,
                "port-forward", "--address", "127.0.0.1", f"pod/{pod}",
                f"{self.local_port}:{self.remote_port}"]

    def _spawn(self, pod: str) -> subprocess.Popen[bytes] | None:
        """Start kubectl and wait until it listens; None when it gave up on that pod."""
        proc = subprocess.Popen(self._command(pod), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                preexec_fn=_die_with_parent)
        deadline = time.monotonic() + OPEN_TIMEOUT_S
        assert proc.stdout is not None
        os.set_blocking(proc.stdout.fileno(), False)
        seen = b""
        while time.monotonic() < deadline and not self._closed.is_set():
            chunk = proc.stdout.read() or b""
            seen += chunk
            if b"Forwarding from" in seen:
                return proc
            if proc.poll() is not None:
                log.info("port-forward to %s pod %s: %s", self.what, pod,
                         seen.decode(errors="replace").strip())
                return None
            time.sleep(0.05)
        self._stop(proc)
        return None

    def open(self, timeout_s: float = 60.0) -> PortForward:
        """Forward to a ready pod (waiting up to ``timeout_s`` for one) and keep it forwarded."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.find_pod()
            pod = found[0] if found else None
            proc = self._spawn(pod) if pod else None
            if proc is not None and found:
                self._proc, (self.pod, self._uid) = proc, found
                self._ready.set()
                break
            if time.monotonic() >= deadline:
                raise PortForwardError(
                    f"cannot forward to {self.what} in namespace '{self.namespace}' of context "
                    f"'{self.context}': " + (f"kubectl port-forward to pod {pod} failed"
                                             if pod else "no ready pod"))
            time.sleep(RETRY_S)
        self._thread = threading.Thread(target=self._keep, name=f"port-forward {self.what}",
                                        daemon=True)
        self._thread.start()
        return self

    def _current(self) -> tuple[str, str] | None:
        try:
            return self.find_pod()
        except Exception:  # noqa: BLE001 - the API briefly away: keep what forwards now
            return (self.pod, self._uid) if self.pod and self._uid else None

    def _keep(self) -> None:
        """Re-open the forward when kubectl exits or its pod is not the ready one any more."""
        while not self._closed.wait(CHECK_S):
            proc = self._proc
            found = self._current()
            if proc is not None and proc.poll() is None and found == (self.pod, self._uid):
                continue
            self._ready.clear()
            if proc is not None:
                self._stop(proc)
                self._proc = None
            new = self._spawn(found[0]) if found else None
            if new is None or found is None:
                continue
            if self._closed.is_set():
                self._stop(new)
                return
            self._proc, (self.pod, self._uid) = new, found
            self.reopened += 1
            self._ready.set()
            log.info("port-forward to %s re-opened on pod %s", self.what, self.pod)

    def wait_ready(self, timeout_s: float) -> bool:
        return self._ready.wait(timeout_s)

    @staticmethod
    def _stop(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._proc is not None:
            self._stop(self._proc)
            self._proc = None

    def __enter__(self) -> PortForward:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

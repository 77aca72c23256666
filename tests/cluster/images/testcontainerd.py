"""A throwaway containerd for checking images: its own config, root, state, socket, runc root,
FIFO folder and cgroup parent, all under one temporary folder (plus a network namespace with
only loopback). Everything it made is stopped, unmounted and removed on exit.

containerd 1.6's shims always put their sockets in /run/containerd/s (hard-coded); that folder
is removed afterwards when this run created it and it is empty.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from tests.cluster.errors import ClusterError
from tests.cluster.images._run import run
from tests.cluster.images.ctr import NAMESPACE, ctr
from tests.cluster.images.rootfs import remove_tree

_SHIM_DIR = Path("/run/containerd")


class TestContainerd:
    """``with TestContainerd() as box:`` a running containerd at ``box.address``."""

    __test__ = False  # not a pytest class

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="imgtest-containerd-", dir="/tmp"))
        self.address = self.base / "containerd.sock"
        self.netns = f"imgtest-{os.getpid()}"
        self.cgroup_parent = f"/tradestorm-imgtest-{os.getpid()}"
        self._proc: subprocess.Popen[bytes] | None = None
        self._shim_dir_existed = _SHIM_DIR.exists()
        self._netns_made = False

    @property
    def netns_path(self) -> str:
        return f"/var/run/netns/{self.netns}"

    def __enter__(self) -> TestContainerd:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _start(self) -> None:
        config = self.base / "config.toml"
        disabled = [
            "io.containerd.grpc.v1.cri",
            "io.containerd.internal.v1.opt",
            "io.containerd.snapshotter.v1.btrfs",
            "io.containerd.snapshotter.v1.zfs",
            "io.containerd.snapshotter.v1.devmapper",
            "io.containerd.snapshotter.v1.aufs",
            "io.containerd.tracing.processor.v1.otlp",
        ]
        config.write_text(
            "version = 2\n"
            f'root = "{self.base / "root"}"\n'
            f'state = "{self.base / "state"}"\n'
            f"disabled_plugins = {disabled!r}\n".replace("'", '"')
            + f'[grpc]\n  address = "{self.address}"\n'
            '[debug]\n  address = ""\n'
            '[metrics]\n  address = ""\n'
        )
        (self.base / "fifo").mkdir()
        (self.base / "runc").mkdir()
        log = (self.base / "containerd.log").open("wb")
        self._proc = subprocess.Popen(
            ["containerd", "--config", str(config)], stdout=log, stderr=log, start_new_session=True
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise ClusterError("images verify", f"test containerd exited: {self._log_tail()}")
            if (
                self.address.exists()
                and subprocess.run(ctr(self.address, "version"), capture_output=True).returncode
                == 0
            ):
                break
            time.sleep(0.2)
        else:
            raise ClusterError(
                "images verify", f"test containerd did not answer in 30s: {self._log_tail()}"
            )
        run(["ip", "netns", "add", self.netns], "images verify", "creating a network namespace")
        self._netns_made = True
        run(
            ["ip", "-n", self.netns, "link", "set", "lo", "up"],
            "images verify",
            "bringing loopback up",
        )

    def run_args(self, name: str) -> list[str]:
        """The ``ctr run`` options every test container gets (runc root, FIFOs and cgroup ours)."""
        return [
            "--fifo-dir",
            str(self.base / "fifo"),
            "--runc-root",
            str(self.base / "runc"),
            "--cgroup",
            f"{self.cgroup_parent}/{name}",
        ]

    def ctr(self, *args: str | Path) -> list[str]:
        return ctr(self.address, *args)

    def _log_tail(self) -> str:
        path = self.base / "containerd.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else "(no log)"

    def close(self) -> None:
        """Kill every task, stop containerd, unmount and remove everything this run made."""
        if self._proc is not None and self._proc.poll() is None:
            for _ in range(2):
                tasks = subprocess.run(
                    self.ctr("tasks", "ls", "-q"), capture_output=True, text=True
                ).stdout.split()
                for task in tasks:
                    subprocess.run(
                        self.ctr("tasks", "kill", "-s", "SIGKILL", "--all", task),
                        capture_output=True,
                    )
                time.sleep(0.5 if tasks else 0)
                for task in tasks:
                    subprocess.run(self.ctr("tasks", "delete", "-f", task), capture_output=True)
            for container in subprocess.run(
                self.ctr("containers", "ls", "-q"), capture_output=True, text=True
            ).stdout.split():
                subprocess.run(self.ctr("containers", "delete", container), capture_output=True)
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
        self._kill_own_shims()
        if self._netns_made:
            subprocess.run(["ip", "netns", "delete", self.netns], capture_output=True)
        for hierarchy in Path("/sys/fs/cgroup").iterdir():
            parent = hierarchy / self.cgroup_parent.lstrip("/")
            if parent.is_dir():
                try:
                    for child in sorted(parent.iterdir(), reverse=True):
                        if child.is_dir():
                            child.rmdir()
                    parent.rmdir()
                except OSError:
                    pass  # still populated: left for the kernel to refuse, not ours to force
        remove_tree(self.base)
        # only the shims' socket folder and its parent, and only when this run made them and
        # they are empty (another containerd on this machine may use /run/containerd)
        if not self._shim_dir_existed:
            for folder in (_SHIM_DIR / "s", _SHIM_DIR):
                try:
                    folder.rmdir()
                except OSError:
                    break

    def _kill_own_shims(self) -> None:
        """Shims of this containerd that outlived it (their command line names our socket)."""
        needle = f"\0-address\0{self.address}\0".encode()
        for proc_dir in Path("/proc").iterdir():
            if not proc_dir.name.isdigit():
                continue
            try:
                cmdline = (proc_dir / "cmdline").read_bytes()
            except OSError:
                continue
            if needle in b"\0" + cmdline and b"containerd-shim" in cmdline.split(b"\0")[0]:
                os.kill(int(proc_dir.name), signal.SIGKILL)


__all__ = ["NAMESPACE", "TestContainerd"]

"""Build Go programs from a module of ours (``gomod/NAME``) into the cache, once per version set.

Each ``gomod/NAME`` is a small module that requires the program's module at one pinned
version (``tool`` directives name the packages); ``go build`` resolves it through the Go
module proxy. The output folder is keyed by everything that changes the binaries (go.mod,
go.sum, the Go version, the flags and the package list), so a warm machine rebuilds nothing
and a version bump builds beside the old one.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from tests.cluster.errors import ClusterError
from tests.cluster.paths import CACHE_DIR, PACKAGE_DIR

GOMOD_DIR = PACKAGE_DIR / "gomod"
_COMPLETE = ".complete"


@dataclass(frozen=True)
class GoBuild:
    """One ``go build`` of several programs from one module of ours."""

    module: str  #: folder under gomod/
    programs: dict[str, str]  #: binary name -> Go package path
    ldflags: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)

    @property
    def module_dir(self) -> Path:
        return GOMOD_DIR / self.module

    def key(self) -> str:
        digest = hashlib.sha256()
        for name in ("go.mod", "go.sum"):
            digest.update((self.module_dir / name).read_bytes())
        digest.update(go_version().encode())
        digest.update(
            repr((sorted(self.programs.items()), self.ldflags, sorted(self.env.items()))).encode()
        )
        return digest.hexdigest()[:16]

    def out_dir(self) -> Path:
        return CACHE_DIR / "bin" / f"{self.module}-{self.key()}"

    def is_built(self) -> bool:
        return (self.out_dir() / _COMPLETE).is_file()

    def build(self, *, log: Callable[[str], None] | None = None) -> dict[str, Path]:
        """The programs' paths, built first if this version set is not in the cache."""
        out = self.out_dir()
        binaries = {name: out / name for name in self.programs}
        if self.is_built():
            return binaries
        go = shutil.which("go")
        if go is None:
            raise ClusterError(
                "build", "go is not on PATH (the Go toolchain builds the cluster's binaries)"
            )
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false", **self.env}
        # one go build for all programs: the packages they share compile once
        cmd = [
            go,
            "build",
            "-trimpath",
            "-o",
            str(tmp) + "/",
            "-ldflags",
            " ".join(("-s", "-w", *self.ldflags)),
            *self.programs.values(),
        ]
        if log:
            log(f"building {', '.join(self.programs)} ({self.module}, cache key {self.key()})")
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=self.module_dir, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise ClusterError(
                "build", f"go build in {self.module_dir} failed:\n{proc.stderr[-4000:]}"
            )
        for name, package in self.programs.items():
            built = tmp / _default_binary_name(package)
            if not built.is_file():
                raise ClusterError("build", f"go build produced no binary for {package} in {tmp}")
            if built.name != name:
                built.rename(tmp / name)
        (tmp / _COMPLETE).write_text(f"{time.monotonic() - started:.0f}s\n")
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
        if log:
            log(f"built {self.module} in {time.monotonic() - started:.0f}s -> {out}")
        return binaries


def _default_binary_name(package: str) -> str:
    """The name ``go build -o DIR/`` gives a package's binary: its last element (not /vN)."""
    parts = package.rstrip("/").split("/")
    last = parts[-1]
    if len(parts) > 1 and last.startswith("v") and last[1:].isdigit():
        last = parts[-2]
    return last


_GO_VERSION: str | None = None


def go_version() -> str:
    global _GO_VERSION
    if _GO_VERSION is None:
        go = shutil.which("go")
        _GO_VERSION = (
            subprocess.run(
                [go, "version"], capture_output=True, text=True, check=True
            ).stdout.strip()
            if go
            else "no-go"
        )
    return _GO_VERSION


@cache
def required_version(module_dir: str, module: str) -> str:
    """The version ``gomod/<module_dir>/go.mod`` requires of ``module`` (e.g. ``v1.15.0``)."""
    go_mod = GOMOD_DIR / module_dir / "go.mod"
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)", go_mod.read_text(), re.M)
    if match is None:
        raise ClusterError("build", f"{go_mod} does not require {module}")
    return match.group(1)

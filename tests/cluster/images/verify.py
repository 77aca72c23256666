"""Checking the images for real: import them into a throwaway containerd and run each the way
the cluster will (read-only root filesystem, the user the image or the manifests name, only the
writable mounts the manifests give).

Checks: the platform and loadgen venvs import ``tradeplat``/``locust`` and the entry points run;
postgres initialises an empty PGDATA as uid 999, answers ``pg_isready`` on 127.0.0.1, takes the
password over TCP (and refuses a wrong one), honours ``-c`` arguments and restarts on its data;
the exporter reaches it (``pg_up 1``); Prometheus reports its version and becomes ready;
pause reaps orphans as PID 1 of a shared PID namespace and exits 0 on SIGTERM.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.cluster.errors import ClusterError
from tests.cluster.images.archive import ImageArchive
from tests.cluster.images.ctr import import_images
from tests.cluster.images.packages import POSTGRES_EXPORTER_REF, POSTGRES_REF
from tests.cluster.images.project import LOADGEN, PLATFORM
from tests.cluster.images.scratch import PAUSE_REF
from tests.cluster.images.testcontainerd import TestContainerd


@dataclass(frozen=True)
class Check:
    """One verified property of one image."""

    image: str
    what: str
    ok: bool
    detail: str = ""


class Verifier:
    """Runs containers in a :class:`TestContainerd` and records :class:`Check` results."""

    def __init__(self, box: TestContainerd, log: Callable[[str], None] | None) -> None:
        self.box = box
        self.log = log
        self.checks: list[Check] = []

    def record(self, image: str, what: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(image, what, ok, detail.strip()[-1500:]))
        if self.log:
            self.log(
                f"{'ok  ' if ok else 'FAIL'} {image}: {what}"
                + ("" if ok else f"\n     {detail.strip()[-1500:]}")
            )
        return ok

    def _run_options(
        self,
        name: str,
        *,
        mounts: list[str],
        env: dict[str, str],
        net: bool,
        pid_of: int | None = None,
    ) -> list[str]:
        options = ["--read-only", *self.box.run_args(name)]
        for mount in mounts:
            options += ["--mount", mount]
        for key, value in env.items():
            options += ["--env", f"{key}={value}"]
        if net:
            options += ["--with-ns", f"network:{self.box.netns_path}"]
        if pid_of is not None:
            options += ["--with-ns", f"pid:/proc/{pid_of}/ns/pid"]
        return options

    def run_once(
        self,
        ref: str,
        name: str,
        args: list[str],
        *,
        mounts: list[str] | None = None,
        env: dict[str, str] | None = None,
        net: bool = False,
        timeout: float = 180,
    ) -> subprocess.CompletedProcess[str]:
        """``ctr run --rm``: the container's process is ``args`` (the image's entrypoint and
        command when empty), its exit status and output are returned."""
        cmd = self.box.ctr(
            "run",
            "--rm",
            *self._run_options(name, mounts=mounts or [], env=env or {}, net=net),
            ref,
            name,
            *args,
        )
        try:
            return subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout, errors="replace"
            )
        except subprocess.TimeoutExpired as exc:
            subprocess.run(
                self.box.ctr("tasks", "kill", "-s", "SIGKILL", name), capture_output=True
            )
            return subprocess.CompletedProcess(
                cmd, -1, str(exc.stdout or ""), f"timed out after {timeout}s"
            )

    def start(
        self,
        ref: str,
        name: str,
        args: list[str],
        *,
        mounts: list[str] | None = None,
        env: dict[str, str] | None = None,
        net: bool = False,
    ) -> Path:
        """``ctr run -d`` with the output in a log file (returned)."""
        log_file = self.box.base / f"{name}.log"
        cmd = self.box.ctr(
            "run",
            "-d",
            "--log-uri",
            f"file://{log_file}",
            *self._run_options(name, mounts=mounts or [], env=env or {}, net=net),
            ref,
            name,
            *args,
        )
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise ClusterError(
                f"image {ref}", f"ctr run -d {name} failed: {proc.stderr.strip()[-1500:]}"
            )
        return log_file

    def exec(
        self, name: str, args: list[str], timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        cmd = self.box.ctr(
            "tasks",
            "exec",
            "--fifo-dir",
            str(self.box.base / "fifo"),
            "--exec-id",
            f"x{secrets.token_hex(4)}",
            name,
            *args,
        )
        try:
            return subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout, errors="replace"
            )
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(cmd, -1, "", f"timed out after {timeout}s")

    def stop(self, name: str, signal_name: str = "SIGTERM", timeout: float = 60) -> bool:
        """Signal the task, wait for it to stop, delete task and container; False if it had
        to be killed."""
        subprocess.run(self.box.ctr("tasks", "kill", "-s", signal_name, name), capture_output=True)
        deadline = time.monotonic() + timeout
        stopped = False
        while time.monotonic() < deadline:
            listing = subprocess.run(
                self.box.ctr("tasks", "ls"), capture_output=True, text=True
            ).stdout
            row = [line.split() for line in listing.splitlines() if line.split()[:1] == [name]]
            if not row or row[0][-1] == "STOPPED":
                stopped = True
                break
            time.sleep(0.5)
        if not stopped:
            subprocess.run(
                self.box.ctr("tasks", "kill", "-s", "SIGKILL", name), capture_output=True
            )
            time.sleep(1)
        subprocess.run(self.box.ctr("tasks", "delete", "-f", name), capture_output=True)
        subprocess.run(self.box.ctr("containers", "delete", name), capture_output=True)
        return stopped

    def in_netns(self, code: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Python code run on the host inside the test network namespace (loopback only)."""
        return subprocess.run(
            ["ip", "netns", "exec", self.box.netns, sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def _http(url: str) -> str:
    return (
        "import urllib.request, sys\n"
        f"r = urllib.request.urlopen({url!r}, timeout=5)\n"
        "sys.stdout.write(str(r.status) + '\\n' + r.read().decode(errors='replace'))\n"
    )


def archived_config(archive: ImageArchive) -> dict:
    """The image's config (docker-archive or oci-archive) as stored in the archive."""
    with tarfile.open(archive.path) as tar:
        names = tar.getnames()
        if "manifest.json" in names:
            manifest = json.load(tar.extractfile("manifest.json"))[0]
            return json.load(tar.extractfile(manifest["Config"]))
        index = json.load(tar.extractfile("index.json"))
        manifest_digest = index["manifests"][0]["digest"].split(":")[1]
        manifest = json.load(tar.extractfile(f"blobs/sha256/{manifest_digest}"))
        return json.load(
            tar.extractfile(f"blobs/sha256/{manifest['config']['digest'].split(':')[1]}")
        )


TMP = "type=tmpfs,src=tmpfs,dst=/tmp,options=nosuid:nodev:mode=1777"


def check_project(v: Verifier, archives: dict[str, ImageArchive]) -> None:
    code = (
        "import os, sys, tradeplat, locust\n"
        "assert sys.prefix == '/opt/venv', sys.prefix\n"
        "assert sys.version_info[:2] == (3, 11), sys.version\n"
        "assert os.getuid() == 10001 and os.getgid() == 10001, (os.getuid(), os.getgid())\n"
        "try:\n    open('/opt/venv/x', 'w')\nexcept OSError:\n    pass\n"
        "else:\n    raise SystemExit('root filesystem is writable')\n"
        "print('imports ok', sys.version.split()[0], locust.__version__)\n"
    )
    for image in (PLATFORM, LOADGEN):
        short = image.ref.removeprefix("docker.io/library/")
        proc = v.run_once(
            image.ref, f"{short.split(':')[0]}-py", ["python", "-c", code], mounts=[TMP]
        )
        v.record(
            short,
            "python -c 'import tradeplat, locust' (venv on PATH, uid 10001, read-only root)",
            proc.returncode == 0 and "imports ok" in proc.stdout,
            proc.stdout + proc.stderr,
        )
    config = archived_config(archives[PLATFORM.ref]).get("config", {})
    v.record(
        "tradeplat:dev",
        "config: ENTRYPOINT tradeplat, USER 10001:10001, HEALTHCHECK kept (docker format)",
        config.get("Entrypoint") == ["tradeplat"]
        and config.get("User") == "10001:10001"
        and bool(config.get("Healthcheck")),
        json.dumps(config)[:1500],
    )
    proc = v.run_once(PLATFORM.ref, "platform-help", ["tradeplat", "--help"], mounts=[TMP])
    v.record(
        "tradeplat:dev",
        "tradeplat --help",
        proc.returncode == 0 and "usage" in proc.stdout.lower(),
        proc.stdout + proc.stderr,
    )
    proc = v.run_once(
        LOADGEN.ref,
        "loadgen-list",
        ["locust", "-f", "loadtests/locustfile.py", "--list"],
        mounts=[TMP],
    )
    v.record(
        "tradestorm-loadgen:dev",
        "locust -f loadtests/locustfile.py --list (the locustfile loads)",
        proc.returncode == 0 and proc.stdout.strip() != "",
        proc.stdout[-800:] + proc.stderr[-1500:],
    )
    proc = v.run_once(LOADGEN.ref, "loadgen-default", [], mounts=[TMP])
    v.record(
        "tradestorm-loadgen:dev",
        "default command (locust -f loadtests/locustfile.py --help)",
        proc.returncode == 0 and "usage" in proc.stdout.lower(),
        proc.stdout[-800:] + proc.stderr,
    )


def check_postgres(v: Verifier, archives: dict[str, ImageArchive]) -> None:
    ref, short = POSTGRES_REF, "postgres"
    proc = v.run_once(ref, "pg-version", ["postgres", "--version"])
    v.record(
        short,
        "postgres --version",
        proc.returncode == 0 and "PostgreSQL) 15." in proc.stdout,
        proc.stdout + proc.stderr,
    )
    tools = "postgres initdb pg_ctl psql pg_dump pg_restore pg_isready"
    proc = v.run_once(
        ref, "pg-tools", ["bash", "-c", f"id -u; id -g; for t in {tools}; do command -v $t; done"]
    )
    lines = proc.stdout.split()
    v.record(
        short,
        f"uid/gid 999 and {tools} on PATH (/usr/lib/postgresql/15/bin)",
        proc.returncode == 0
        and lines[:2] == ["999", "999"]
        and all(p.startswith("/usr/lib/postgresql/15/bin/") for p in lines[2:])
        and len(lines) == 9,
        proc.stdout + proc.stderr,
    )
    # the StatefulSet's volume: root-owned, group 999 writable (fsGroup), PGDATA a folder inside
    volume = v.box.base / "pgvolume"
    volume.mkdir()
    os.chown(volume, 0, 999)
    os.chmod(volume, 0o2775)
    password = secrets.token_hex(12)
    env = {
        "POSTGRES_USER": "tradeplat",
        "POSTGRES_DB": "tradeplat",
        "POSTGRES_PASSWORD": password,
        "PGDATA": "/var/lib/postgresql/data/pgdata",
    }
    mounts = [
        f"type=bind,src={volume},dst=/var/lib/postgresql/data,options=rbind:rw",
        "type=tmpfs,src=tmpfs,dst=/var/run/postgresql,options=nosuid:nodev:mode=1777",
        TMP,
        "type=tmpfs,src=shm,dst=/dev/shm,options=nosuid:nodev:noexec:mode=1777:size=268435456",
    ]
    args = [
        "docker-entrypoint.sh",
        "-c",
        "max_connections=300",
        "-c",
        "shared_buffers=256MB",
        "-c",
        "log_min_duration_statement=500",
    ]
    for attempt, name in enumerate(("pg-first", "pg-restart")):
        log_file = v.start(ref, name, args, mounts=mounts, env=env, net=True)
        ready = _wait_ready(v, name)
        log_text = log_file.read_text(errors="replace") if log_file.exists() else ""
        if attempt == 0:
            v.record(
                short,
                "entrypoint initialises an empty PGDATA as 999 and pg_isready -h 127.0.0.1 answers",
                ready
                and (volume / "pgdata" / "PG_VERSION").is_file()
                and (volume / "pgdata").stat().st_uid == 999,
                log_text,
            )
            hba = (
                (volume / "pgdata" / "pg_hba.conf").read_text()
                if (volume / "pgdata" / "pg_hba.conf").exists()
                else ""
            )
            v.record(
                short,
                "pg_hba: host all all all scram-sha-256",
                "host all all all scram-sha-256" in hba,
                hba,
            )
        else:
            v.record(
                short,
                "restart on existing data skips initialisation and is ready",
                ready and "skipping initialisation" in log_text,
                log_text,
            )
        url = f"postgresql://tradeplat:{password}@127.0.0.1:5432/tradeplat"
        proc = v.exec(
            name,
            [
                "psql",
                url,
                "-tAc",
                "select current_user, current_database(), current_setting('max_connections'), "
                "current_setting('shared_buffers')",
            ],
        )
        v.record(
            short,
            f"[{name}] password login over TCP; -c args applied (max_connections=300)",
            proc.stdout.strip() == "tradeplat|tradeplat|300|256MB",
            proc.stdout + proc.stderr,
        )
        if attempt == 0:
            proc = v.exec(
                name,
                [
                    "psql",
                    "postgresql://tradeplat:wrong@127.0.0.1:5432/tradeplat",
                    "-tAc",
                    "select 1",
                ],
            )
            v.record(
                short,
                "wrong password refused over TCP",
                proc.returncode != 0 and "password authentication failed" in proc.stderr,
                proc.stdout + proc.stderr,
            )
            proc = subprocess.run(
                ["ip", "netns", "exec", v.box.netns, "ss", "-ltnH"], capture_output=True, text=True
            )
            v.record(
                short,
                "listens on 0.0.0.0:5432",
                "0.0.0.0:5432" in proc.stdout,
                proc.stdout + proc.stderr,
            )
            # as the CronJob runs them: PGHOST/PGUSER/PGPASSWORD, over TCP with the password
            proc = v.exec(
                name,
                [
                    "env",
                    "PGHOST=127.0.0.1",
                    "PGPORT=5432",
                    "PGUSER=tradeplat",
                    f"PGPASSWORD={password}",
                    "bash",
                    "-c",
                    "pg_dump --format=custom --compress=6 --no-owner --no-privileges "
                    "--file=/tmp/t.dump tradeplat "
                    "&& pg_restore --list /tmp/t.dump >/dev/null && echo dump-ok",
                ],
            )
            v.record(
                short,
                "pg_dump/pg_restore (the backup CronJob's commands)",
                "dump-ok" in proc.stdout,
                proc.stdout + proc.stderr,
            )
            check_exporter(v, password)
            proc = v.run_once(
                PLATFORM.ref,
                "platform-migrate",
                ["tradeplat", "migrate"],
                mounts=[TMP],
                net=True,
                env={
                    "TRADEPLAT_DATABASE_URL": f"postgresql://tradeplat:{password}@127.0.0.1:5432/tradeplat"
                },
            )
            v.record(
                "tradeplat:dev",
                "tradeplat migrate against this postgres (the migrate Job's command)",
                proc.returncode == 0,
                proc.stdout + proc.stderr,
            )
            check_platform_service(v, archives, password)
        stopped = v.stop(name, "SIGINT")
        log_text = log_file.read_text(errors="replace") if log_file.exists() else ""
        v.record(
            short,
            f"[{name}] SIGINT (STOPSIGNAL) shuts down cleanly",
            stopped and "database system is shut down" in log_text,
            log_text[-1500:],
        )


def check_platform_service(v: Verifier, archives: dict[str, ImageArchive], password: str) -> None:
    """The image's default command (the gateway on 0.0.0.0:8000) answers its own HEALTHCHECK."""
    healthcheck = (
        archived_config(archives[PLATFORM.ref])
        .get("config", {})
        .get("Healthcheck", {})
        .get("Test", [])
    )
    log_file = v.start(
        PLATFORM.ref,
        "gateway",
        [],
        mounts=[TMP],
        net=True,
        env={
            "TRADEPLAT_DATABASE_URL": f"postgresql://tradeplat:{password}@127.0.0.1:5432/tradeplat"
        },
    )
    proc = subprocess.CompletedProcess([], 1, "", "no HEALTHCHECK CMD in the image config")
    deadline = time.monotonic() + 60
    while healthcheck[:1] == ["CMD"] and time.monotonic() < deadline:
        proc = v.exec("gateway", healthcheck[1:], timeout=15)
        if proc.returncode == 0:
            break
        time.sleep(1)
    log_text = log_file.read_text(errors="replace") if log_file.exists() else ""
    v.record(
        "tradeplat:dev",
        "default command (gateway, read-only root) passes the image's HEALTHCHECK",
        proc.returncode == 0,
        proc.stdout + proc.stderr + log_text[-1500:],
    )
    v.stop("gateway")


def _wait_ready(v: Verifier, name: str, timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        proc = v.exec(
            name,
            ["pg_isready", "-U", "tradeplat", "-d", "tradeplat", "-h", "127.0.0.1"],
            timeout=10,
        )
        if proc.returncode == 0:
            return True
        time.sleep(1)
    return False


def check_exporter(v: Verifier, password: str) -> None:
    ref, short = POSTGRES_EXPORTER_REF, "postgres-exporter"
    proc = v.run_once(
        ref, "exporter-version", ["/usr/bin/prometheus-postgres-exporter", "--version"]
    )
    v.record(
        short,
        "--version",
        proc.returncode == 0 and "postgres_exporter" in (proc.stdout + proc.stderr),
        proc.stdout + proc.stderr,
    )
    env = {
        "DATA_SOURCE_URI": "127.0.0.1:5432/tradeplat?sslmode=disable",
        "DATA_SOURCE_USER": "tradeplat",
        "DATA_SOURCE_PASS": password,
    }
    log_file = v.start(ref, "exporter", [], env=env, net=True)
    body = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        proc = v.in_netns(_http("http://127.0.0.1:9187/metrics"))
        body = proc.stdout + proc.stderr
        if proc.returncode == 0 and "\npg_up 1" in body:
            break
        time.sleep(1)
    uid = v.exec("exporter", ["id", "-u"]).stdout.strip()
    log_text = log_file.read_text(errors="replace") if log_file.exists() else ""
    v.record(
        short,
        "as 65534, read-only root, DATA_SOURCE_* env: :9187/metrics has pg_up 1",
        "\npg_up 1" in body and uid == "65534",
        f"uid {uid}\n" + body[-600:] + log_text[-800:],
    )
    v.stop("exporter")


def check_pause(v: Verifier) -> None:
    short = "pause"
    pid_file = v.box.base / "pause.pid"
    cmd = v.box.ctr(
        "run",
        "--rm",
        "--pid-file",
        str(pid_file),
        *v._run_options("pause", mounts=[], env={}, net=True),
        PAUSE_REF,
        "pause",
    )
    pause = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (
            pid_file.exists() and pid_file.read_text().strip()
        ):
            time.sleep(0.2)
        pid = int(pid_file.read_text().strip())
        status = Path(f"/proc/{pid}/status").read_text()
        v.record(
            short,
            "runs as 65535:65535",
            "Uid:\t65535\t" in status and "Gid:\t65535\t" in status,
            status[:300],
        )
        # a second container in pause's PID namespace leaves an orphan: pause (its PID 1)
        # inherits and reaps it
        orphaner = subprocess.Popen(
            v.box.ctr(
                "run",
                "--rm",
                *v._run_options("orphaner", mounts=[], env={}, net=False, pid_of=pid),
                POSTGRES_REF,
                "orphaner",
                "bash",
                "-c",
                "(sleep 3 &); sleep 7",
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        time.sleep(2)
        adopted = _children(pid)
        time.sleep(3)
        zombies = [c for c in _children(pid) if c[1] == "Z"]
        orphaner.wait(timeout=60)
        v.record(
            short,
            "adopts an orphan of another container (PID 1 of the shared namespace) and reaps it",
            any(comm == "sleep" for _, _, comm in adopted) and not zombies,
            f"children at 2s: {adopted}; zombies at 5s: {zombies}",
        )
        subprocess.run(v.box.ctr("tasks", "kill", "-s", "SIGTERM", "pause"), capture_output=True)
        code = pause.wait(timeout=30)
        out = pause.stdout.read() if pause.stdout else ""
        v.record(short, "exits 0 on SIGTERM", code == 0, f"exit {code}: {out}")
    finally:
        if pause.poll() is None:
            subprocess.run(
                v.box.ctr("tasks", "kill", "-s", "SIGKILL", "pause"), capture_output=True
            )
            pause.wait(timeout=30)


def _children(pid: int) -> list[tuple[int, str, str]]:
    """(pid, state, comm) of the processes whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append((int(stat.parent.name), fields[0], comm))
    return found


def verify_images(
    archives: list[ImageArchive], log: Callable[[str], None] | None = None
) -> list[Check]:
    """Import ``archives`` into a throwaway containerd, run every check, clean everything up
    and return the results (ClusterError when a check failed, listing the failures)."""
    by_ref = {archive.ref: archive for archive in archives}
    with TestContainerd() as box:
        started = time.monotonic()
        import_images(str(box.address), archives, log=log)
        if log:
            log(
                f"imported {len(archives)} images into the test containerd "
                f"in {time.monotonic() - started:.0f}s"
            )
        import_images(str(box.address), archives, log=log)  # second time: nothing to do
        v = Verifier(box, log)
        for check in (
            lambda: check_project(v, by_ref),
            lambda: check_postgres(v, by_ref),
            lambda: check_pause(v),
        ):
            check()
        checks = v.checks
    failed = [c for c in checks if not c.ok]
    if failed:
        raise ClusterError(
            f"image {failed[0].image}",
            "checks failed: " + "; ".join(f"{c.image}: {c.what}" for c in failed),
        )
    return checks

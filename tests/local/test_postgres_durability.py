"""The local target's PostgreSQL is durable: a COMMIT that answered is on disk.

Speed must come from elsewhere (group commit); fsync, synchronous commits and
full-page writes are never turned off, so an order the platform acknowledged
survives a crash of the database (tests/platform/test_crash_durability.py
SIGKILLs it under load)."""

from __future__ import annotations

import subprocess

from tradestorm.local.postgres import DURABILITY, PostgresServer, pg_bin_dir


def _show(server: PostgresServer, setting: str) -> str:
    out = subprocess.run([str(pg_bin_dir() / "psql"), server.admin_dsn, "-tAc",
                          f"SHOW {setting}"], capture_output=True, text=True, check=True,
                         timeout=30)
    return out.stdout.strip()


def test_the_server_runs_with_fsync_synchronous_commit_and_full_page_writes_on(
    postgres_server: PostgresServer
) -> None:
    assert set(DURABILITY) == {"fsync", "synchronous_commit", "full_page_writes"}
    for setting in DURABILITY:
        assert _show(postgres_server, setting) == "on", setting
    assert int(_show(postgres_server, "commit_delay")) > 0  # group commit instead

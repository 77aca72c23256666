"""An acknowledged order survives a crash: of the whole database, or of an orders replica.

Orders flow all along (journaled like the load generator does: intent before
the first attempt, every 200/201 as an acknowledgement, retries with the same
client order id). Meanwhile every PostgreSQL process is SIGKILLed several times
(the postmaster's whole process group: no shutdown, no checkpoint), or an orders
replica is SIGKILLed while it holds a transaction open. The journals are then
reconciled against the database with the load generator's own checker: no
acknowledged order lost, none duplicated, every other invariant too.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from decimal import Decimal
from pathlib import Path

import pytest
from journaled_load import JournaledLoad
from platform_cluster import Cluster
from platform_helpers import ADMIN_KEY, db_query, wait_until
from tradeplat.config import load_settings
from tradeplat.migrations import migrate_dsn
from tradeplat.seed import seed_accounts

from loadtests.reconcile import ReconcileResult, reconcile
from tradestorm.local.postgres import PostgresServer

KILLS = 3
ACKS_BETWEEN_KILLS = 40

pytestmark = pytest.mark.slow


def _accounts(dsn: str, count: int = 8) -> list[dict[str, str]]:
    settings = load_settings({"TRADEPLAT_DATABASE_URL": dsn})
    seeded = asyncio.run(seed_accounts(settings, count=count, cash=Decimal(10**9),
                                       shares=1_000_000))
    return seeded["accounts"]


def _more_acks(load: JournaledLoad, count: int, timeout_s: float = 90) -> None:
    target = load.acknowledged() + count
    wait_until(lambda: load.acknowledged() >= target, timeout_s,
               f"{count} more acknowledged orders", interval_s=0.05)


def _assert_reconciled(result: ReconcileResult, load: JournaledLoad) -> None:
    problems = [f"{v.check}: {v.detail}" for v in result.violations[:10]]
    assert result.count("acknowledged_orders_exist") == 0, problems
    assert result.count("acknowledged_orders_unique") == 0, problems
    assert result.ok, problems
    assert result.acknowledged >= KILLS * ACKS_BETWEEN_KILLS
    assert load.stats.given_up == 0 and not load.stats.refused, load.stats


def test_sigkill_of_every_postgres_process_loses_no_acknowledged_order(
    own_postgres: PostgresServer, tmp_path: Path
) -> None:
    assert [r["fsync"] for r in db_query(own_postgres.admin_dsn, "SHOW fsync")] == ["on"]
    asyncio.run(migrate_dsn(own_postgres.dsn))
    accounts = _accounts(own_postgres.dsn)
    keys = {a["account_id"]: a["api_key"] for a in accounts}
    services = {"gateway": 1, "orders": 1, "risk": 1, "portfolio": 1, "marketdata": 1}
    cluster = Cluster(own_postgres.dsn, tmp_path / "procs", replicas_per_service=services,
                      admin_key=ADMIN_KEY, extra_env={"TRADEPLAT_DB_TIMEOUT_S": "1.0"})
    gateway = cluster.url("gateway") + "/v1/orders"

    def endpoint(rng: random.Random, account: str) -> tuple[str, dict[str, str]]:
        return gateway, {"X-API-Key": keys[account]}

    with cluster:
        cluster.start(timeout_s=90)
        with JournaledLoad(tmp_path / "journal", list(keys), endpoint) as load:
            for _ in range(KILLS):
                _more_acks(load, ACKS_BETWEEN_KILLS)
                postmaster = own_postgres.pid()
                assert postmaster is not None
                os.killpg(os.getpgid(postmaster), signal.SIGKILL)
                wait_until(lambda: own_postgres.pid() is None, 10, "PostgreSQL gone")
                time.sleep(0.5)  # the platform sees the outage; submissions are retried
                own_postgres.start()
            _more_acks(load, ACKS_BETWEEN_KILLS)
            load.stop()
        result = reconcile(own_postgres.dsn, tmp_path / "journal", outbox_drain_timeout_s=60)
    _assert_reconciled(result, load)
    log = own_postgres.log_file.read_text(errors="replace")
    assert log.count("database system was interrupted") >= KILLS  # real crash recoveries


def _in_transaction(dsn: str, application: str) -> bool:
    rows = db_query(dsn, "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 "
                         "AND xact_start IS NOT NULL", application)
    return bool(rows)


def test_sigkill_of_an_orders_replica_mid_transaction_loses_no_acknowledged_order(
    own_postgres: PostgresServer, tmp_path: Path
) -> None:
    asyncio.run(migrate_dsn(own_postgres.dsn))
    accounts = [a["account_id"] for a in _accounts(own_postgres.dsn)]
    services = {"orders": 2, "risk": 1, "portfolio": 1, "marketdata": 1}
    cluster = Cluster(own_postgres.dsn, tmp_path / "procs", replicas_per_service=services,
                      admin_key=ADMIN_KEY)
    urls = [cluster.url("orders", i) + "/internal/orders" for i in range(2)]

    def endpoint(rng: random.Random, account: str) -> tuple[str, dict[str, str]]:
        return rng.choice(urls), {"X-Account-ID": account}

    killed_mid_transaction = 0
    with cluster:
        cluster.start(timeout_s=90)
        with JournaledLoad(tmp_path / "journal", accounts, endpoint) as load:
            for kill in range(KILLS):
                _more_acks(load, ACKS_BETWEEN_KILLS)
                index = kill % 2
                replica = next(r for r in cluster.replicas["orders"]
                               if r.name == f"orders-{index}")
                application = f"tradeplat-orders-{replica.name}"
                # kill it while PostgreSQL shows one of its transactions open
                wait_until(lambda a=application: _in_transaction(own_postgres.dsn, a), 30,
                           f"{replica.name} inside a transaction", interval_s=0.005)
                replica.process.send_signal(signal.SIGKILL)
                killed_mid_transaction += 1
                replica.process.wait(timeout=10)
                cluster.wait_ready([cluster.start_replica("orders", index)], timeout_s=60)
            _more_acks(load, ACKS_BETWEEN_KILLS)
            load.stop()
        result = reconcile(own_postgres.dsn, tmp_path / "journal", outbox_drain_timeout_s=60)
    assert killed_mid_transaction == KILLS
    _assert_reconciled(result, load)

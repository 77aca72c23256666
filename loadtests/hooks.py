"""Locust event listeners that wire tradestorm into a load process.

``install()`` registers the command-line options and, at ``init``, builds the
load context of the process: settings (validated once), accounts, and, in a
process that runs users (standalone or worker, not a master), the order
journal, the client metrics endpoint and its Prometheus registration. At
``quitting`` (and, as a last resort, at interpreter exit) the journal is closed
and the registration removed. Works with ``--processes N`` (each forked worker
sets itself up after the fork) and with ``--master``/``--worker``; a master
writes the journals its workers forward (``--journal-to-master``,
:mod:`loadtests.forwarding`).
"""

from __future__ import annotations

import atexit
import logging
import sys
import time
from typing import Any

import locust
from locust.runners import MasterRunner, WorkerRunner

from loadtests import forwarding, latency_shipping
from loadtests import settings as settings_mod
from loadtests.accounts import load_accounts
from loadtests.context import ATTRIBUTE, LoadContext
from loadtests.errors import LoadRunError, LoadtestsError
from loadtests.journal import OrderJournal
from loadtests.latency import IntervalRecorder
from loadtests.latency_log import LatencyLog
from loadtests.metrics import ClientMetrics, route_class
from loadtests.rate_split import SCHEDULE_MESSAGE, RateSplitter
from loadtests.registration import TargetRegistration
from loadtests.stop_signals import install_stop_signals

log = logging.getLogger("tradestorm.load")
_INSTALLED = "_tradestorm_hooks_installed"


def install(events: Any = None) -> None:
    """Register tradestorm's listeners on ``events`` (default: Locust's); idempotent."""
    events = events or locust.events
    if getattr(events, _INSTALLED, False):
        return
    setattr(events, _INSTALLED, True)
    events.init_command_line_parser.add_listener(_on_parser)
    events.init.add_listener(_on_init)


def _on_parser(parser: Any, **_: Any) -> None:
    settings_mod.add_arguments(parser)


def _on_init(environment: Any, runner: Any = None, **_: Any) -> None:
    try:
        ctx = build_context(environment, runner)
    except LoadtestsError as exc:
        log.error("tradestorm load: %s", exc)
        sys.exit(2)  # SystemExit passes through Locust's event hook: the process stops here
    setattr(environment, ATTRIBUTE, ctx)
    if not getattr(environment.parsed_options, "worker", False):
        install_stop_signals(environment.events)


def build_context(environment: Any, runner: Any) -> LoadContext:
    """The load context of this process (raises ``LoadtestsError`` on bad input)."""
    settings = settings_mod.LoadSettings.from_options(environment.parsed_options)
    accounts = load_accounts(settings.accounts_file)
    ctx = LoadContext(settings=settings, accounts=accounts)
    if settings.open_model:
        ctx.schedule = settings.make_schedule()
    if isinstance(runner, MasterRunner):
        # the master plays the shape; workers generate and export, and journal (here, if
        # they forward their journals); it writes the latency log from their intervals
        receiver = forwarding.JournalReceiver(settings.journal_dir, fsync=settings.journal_fsync)
        receiver.install(environment, runner)
        latency_shipping.LatencyReceiver(_latency_log(settings)).install(environment, runner)
        if settings.open_model:
            ctx.splitter = RateSplitter(runner, settings.max_in_flight, None)
        return ctx
    recorder = ctx.latency = IntervalRecorder(mirror_intended=not settings.open_model)
    if isinstance(runner, WorkerRunner):
        runner.register_message(SCHEDULE_MESSAGE, ctx.rate_share.handle)
        latency_shipping.follow_worker(environment, runner, recorder, ctx.sends)
    else:
        if settings.open_model:
            ctx.splitter = RateSplitter(runner, settings.max_in_flight, ctx.rate_share)
        latency_shipping.follow_local(environment, recorder, _latency_log(settings), ctx.sends)
    if not settings.open_model:
        _time_closed_model(environment, recorder)
    forward = None
    if settings.journal_to_master:
        if isinstance(runner, WorkerRunner):
            forward = forwarding.sender(runner)
        else:
            log.warning("tradestorm load: --journal-to-master applies to --worker processes "
                        "only: journaling to a local file")
    meta = {
        "profile": settings.profile,
        "seed": settings.seed,
        "users": settings.users,
        "duration_s": settings.duration_s,
        "accounts": [a.account_id for a in accounts],
    }

    def open_journal() -> OrderJournal:
        journal = OrderJournal(
            settings.journal_dir,
            run_id=settings.run_id,
            meta=meta,
            forward=forward,
            flush_interval_s=forwarding.FLUSH_INTERVAL_S if forward else 0.5,
        )
        journal.start_flusher(fsync=settings.journal_fsync and forward is None)
        ctx.journal = journal
        return journal

    journal = open_journal()
    stop_and_end = None
    if forward is not None:
        stop_and_end = forwarding.follow_worker(
            environment, runner, lambda: ctx.journal, open_journal
        )
    metrics = ClientMetrics()
    if settings.open_model:
        metrics.track_sends(ctx.sends.as_dict)
    if runner is not None:
        metrics.track_users(lambda: runner.user_count)
    try:
        host, port = metrics.serve(settings.metrics_host, settings.metrics_port)
    except OSError as exc:
        journal.close()
        raise LoadRunError(
            f"cannot serve client metrics on {settings.metrics_host}:{settings.metrics_port}: "
            f"{exc.strerror or exc}"
        ) from exc
    registration = None
    if settings.state_dir is not None:
        advertised = "127.0.0.1" if host in ("0.0.0.0", "") else host
        registration = TargetRegistration(
            settings.state_dir,
            f"{advertised}:{port}",
            {"run_id": settings.run_id, "profile": settings.profile},
        )
        registration.write()
    log.info(
        "tradestorm load: journal %s, client metrics http://%s:%d/metrics",
        f"{journal.name} (forwarded to the master)" if forward else journal.path, host, port,
    )
    ctx.metrics = metrics

    def close(**_: Any) -> None:
        try:
            if ctx.journal is not None:
                ctx.journal.close()
        except LoadtestsError:
            log.exception("closing the order journal failed")
        if registration is not None:
            registration.remove()
        metrics.stop()

    metrics.follow(environment)
    environment.events.quitting.add_listener(close)
    if stop_and_end is not None:
        # ``quitting`` fires its listeners last-registered first: the users stop and the end
        # record goes to the master before ``close`` and before the WorkerRunner's listener
        # tells the master that this worker quits
        environment.events.quitting.add_listener(stop_and_end)
    atexit.register(close)
    return ctx


def _latency_log(settings: settings_mod.LoadSettings) -> LatencyLog:
    meta = {
        "profile": settings.profile,
        "rate": settings.rate,
        "rate_stages": [stage.describe() for stage in settings.rate_stages],
        "duration_s": settings.duration_s,
        "max_in_flight": settings.max_in_flight if settings.open_model else None,
        "send_tick_s": settings.send_tick_s if settings.open_model else None,
        "processes": settings.processes,
    }
    return LatencyLog(settings.latency_log, open_model=settings.open_model, meta=meta)


def _time_closed_model(environment: Any, recorder: IntervalRecorder) -> None:
    """A closed model's latency into the HDR intervals: Locust's own measurement of each
    request (milliseconds as a float, before its statistics round it); intended == sent."""
    classes: dict[tuple[str, str], str] = {}
    record = recorder.record_sent
    now = time.time

    def on_request(request_type: str = "", name: str = "", response_time: float | None = None,
                   **_: Any) -> None:
        if response_time is None:
            return
        key = (name, request_type)
        cls = classes.get(key)
        if cls is None:
            cls = classes[key] = route_class(name, request_type)
        record(cls, int(response_time * 1000.0), now())

    environment.events.request.add_listener(on_request)

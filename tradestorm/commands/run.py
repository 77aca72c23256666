"""``tradestorm run SCENARIO`` and ``tradestorm demo``.

Exit codes (the gate's, plus one for interruption):

====  ==============================================================
0     the SLO gate passed
1     the gate failed (or reconcile found a lost order, or the
      experiment's steady-state hypothesis deviated)
2     error or inconclusive: a malformed scenario (file and field
      named), a target that cannot be used, a stage that could not
      run, or a gate without data
3     aborted: a guardrail, the safety lever or a trading calendar
      window stopped the fault early (rolled back, recovery still
      measured; ``run.json`` ``stages.guardrails.tripped`` says why)
130   interrupted (Ctrl-C / SIGTERM); the results folder holds what
      the run had, with ``run.json`` status ``interrupted``
====  ==============================================================
"""

from __future__ import annotations

import contextlib
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import click
import yaml
from rich.console import Console
from rich.markup import escape

from inputs.durations import parse_duration
from tradestorm.commands.options import state_dir_option
from tradestorm.errors import InputError
from tradestorm.runner.connection import KubeOptions

DEMO_SCENARIO = "pod-kill-orders"
DEMO_TIMINGS = {"warmup": 10.0, "baseline": 20.0, "fault": 20.0, "recovery": 30.0}
DEMO_USERS = 10


class DurationParam(click.ParamType):
    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DURATION = DurationParam()


def _parse_sets(values: tuple[str, ...]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise InputError("--set", item, "expected KEY=VALUE with KEY a configuration name")
        try:
            config[key] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            config[key] = raw
    return config


def _console() -> Console:
    # CI logs and pipes get plain lines; a terminal gets the live panel.
    return Console(highlight=False, soft_wrap=False, stderr=False)


def _what_the_fault_broke(results_dir: Path) -> str:
    """The demo's verdict line ends with what the fault broke (slo/broken.py)."""
    import json

    from slo.broken import fault_summary

    try:
        doc = json.loads((Path(results_dir) / "slo.json").read_text())
    except (OSError, ValueError) as exc:
        return f"what the fault broke is unknown (slo.json: {exc})"
    return fault_summary(doc) if isinstance(doc, dict) else "slo.json is not an object"


def _print_outcome(console: Console, outcome: Any, fault_line: bool = False) -> None:
    colour = {"pass": "green", "warning": "yellow", "fail": "red"}.get(outcome.verdict, "magenta")
    # objective names hold [route-class]: plain text, never rich markup
    broke = f"; {escape(_what_the_fault_broke(outcome.results_dir))}" if fault_line else ""
    console.print(
        f"[bold {colour}]verdict: {outcome.verdict.upper()}[/bold {colour}]  "
        f"(run {outcome.status}, exit code {outcome.exit_code}){broke}",
        highlight=False, soft_wrap=True, markup=True,
    )
    for reason in outcome.reasons:
        console.print(f"  - {reason}", highlight=False)
    console.print(f"results: {outcome.results_dir}", highlight=False, soft_wrap=True)
    if outcome.report is not None:
        console.print(f"report:  {outcome.report}", highlight=False, soft_wrap=True)
    else:
        console.print("report:  not built (see the errors above and run.json)", highlight=False)


def execute(
    scenario_ref: str,
    *,
    target: str | None = None,
    results: Path | None = None,
    state_dir: Path | None = None,
    replicas: int = 2,
    down_after: bool = False,
    keep_up: bool = False,
    overrides: dict[str, Any] | None = None,
    kube: KubeOptions | None = None,
    console: Console | None = None,
    fault_line: bool = False,
    calendar: Path | None = None,
    allow_during_session: bool = False,
) -> int:
    """Run a scenario from start to verdict; returns the exit code (130 when interrupted).
    ``fault_line``: the verdict line also says what the fault broke (the demo's)."""
    console = console or _console()
    try:
        return _execute(scenario_ref, target=target, results=results, state_dir=state_dir,
                        replicas=replicas, down_after=down_after, keep_up=keep_up,
                        overrides=overrides, kube=kube, console=console,
                        fault_line=fault_line, calendar=calendar,
                        allow_during_session=allow_during_session)
    except KeyboardInterrupt:
        # anywhere outside the orchestrator's own handling (loading, locking, teardown):
        # an interruption, never click's "Aborted!" with exit 1
        console.print("interrupted", highlight=False)
        return 130


def _execute(
    scenario_ref: str,
    *,
    target: str | None,
    results: Path | None,
    state_dir: Path | None,
    replicas: int,
    down_after: bool,
    keep_up: bool,
    overrides: dict[str, Any] | None,
    kube: KubeOptions | None,
    console: Console,
    fault_line: bool = False,
    calendar: Path | None = None,
    allow_during_session: bool = False,
) -> int:
    from tradestorm.runner.orchestrator import describe_plan
    from tradestorm.runner.results import check_results_dir, default_results_dir, make_run_id
    from tradestorm.runner.scenario import load_scenario

    scenario = load_scenario(scenario_ref)
    if overrides:
        scenario = scenario.with_overrides(**overrides)
    if calendar is not None:
        scenario = scenario.with_calendar(calendar, scenario.venues)
    chosen = target or scenario.targets[0]
    scenario.check_target(chosen)
    lever = _check_guards(scenario, chosen, state_dir, kube, allow_during_session)
    run_id = make_run_id(scenario.name)
    results_dir = check_results_dir(results or default_results_dir(run_id))

    def say(message: str) -> None:
        console.print(message, highlight=False, soft_wrap=True)

    say(f"scenario {scenario.name} ({scenario.source}) on the {chosen} target: "
        f"{describe_plan(scenario)}")
    say(f"results: {results_dir}")
    with contextlib.ExitStack() as stack:
        if chosen == "local":
            from tradestorm.local.state import resolve_state_dir
            from tradestorm.runner.lock import mark_abandoned, run_lock

            root = resolve_state_dir(state_dir)
            mark_abandoned(root, say)  # a run killed earlier: its run.json says so from now on
            stack.enter_context(run_lock(root, scenario.name, results_dir))
        return _connect_and_run(
            scenario, run_id, results_dir, chosen=chosen, state_dir=state_dir,
            replicas=replicas, down_after=down_after, keep_up=keep_up, kube=kube,
            console=console, say=say, fault_line=fault_line, lever=lever,
            allow_during_session=allow_during_session,
        )


def _check_guards(scenario: Any, chosen: str, state_dir: Path | None, kube: KubeOptions | None,
                  allow_during_session: bool) -> Any:
    """Refuse (exit 2) a run with a fault while the target's lever is engaged, or that
    would start inside a protected window of its trading calendar; the lever the run
    polls."""
    if not scenario.has_fault:
        return None
    from tradestorm.commands.lever import lever_of
    from tradestorm.lever import refuse_if_engaged

    lever = lever_of(chosen, state_dir, kube or KubeOptions())
    refuse_if_engaged(lever)
    if scenario.calendar is not None and not allow_during_session:
        import time

        from tradestorm.errors import TargetError

        window = scenario.calendar.window_at(time.time(), list(scenario.venues) or None)
        if window is not None:
            raise TargetError("refused: inside a protected window of "
                              f"{scenario.calendar.source.name}: "
                              f"{window.describe()}; no fault may start (--allow-during-session "
                              "to run anyway)")
    return lever


def _connect_and_run(scenario: Any, run_id: str, results_dir: Path, *, chosen: str,
                     state_dir: Path | None, replicas: int, down_after: bool, keep_up: bool,
                     kube: KubeOptions | None, console: Console,
                     say: Any, fault_line: bool = False, lever: Any = None,
                     allow_during_session: bool = False) -> int:
    from tradestorm.runner.connection import open_kubernetes, open_local
    from tradestorm.runner.orchestrator import Orchestrator
    from tradestorm.runner.results import prepare_results_dir

    try:
        if chosen == "local":
            connection = open_local(state_dir, replicas=replicas, down_after=down_after,
                                    keep_up=keep_up, say=say)
        else:
            connection = open_kubernetes(kube or KubeOptions(), say=say)
    except KeyboardInterrupt:
        say("interrupted while bringing the target up")
        return 130
    try:
        prepare_results_dir(results_dir)
    except BaseException:
        connection.release(down=True, say=say)
        raise
    try:
        outcome = Orchestrator(scenario, connection, results_dir, run_id, console=console,
                               lever=lever, allow_during_session=allow_during_session).run()
    finally:
        try:
            import signal

            # taking the target down must finish: neither Ctrl-C nor SIGTERM cuts it short
            old = signal.signal(signal.SIGINT, signal.SIG_IGN)
            old_term = signal.signal(signal.SIGTERM, signal.SIG_IGN)
            try:
                connection.release(down=True, say=say)
            finally:
                signal.signal(signal.SIGINT, old)
                signal.signal(signal.SIGTERM, old_term)
        except Exception as exc:  # noqa: BLE001 - reported; the verdict is still printed
            say(f"error: taking the target down failed: {exc}")
    _print_outcome(console, outcome, fault_line=fault_line)
    return outcome.exit_code


def _list_scenarios(console: Console) -> None:
    from inputs.errors import FieldError
    from tradestorm.errors import TradestormError
    from tradestorm.runner.paths import display
    from tradestorm.runner.scenario import available_scenarios, load_scenario

    for name in available_scenarios():
        try:
            scenario = load_scenario(name)
        except (TradestormError, FieldError) as exc:  # any part's input error, named
            console.print(f"{name:<20} [red]invalid[/red]: {exc}", highlight=False)
            continue
        summary = textwrap.shorten(scenario.description.split(". ")[0], 72, placeholder="...")
        console.print(f"{name:<20} {','.join(scenario.targets):<18} {summary}  "
                      f"[dim]({display(scenario.source)})[/dim]", highlight=False, soft_wrap=True)


@click.command("run")
@click.argument("scenario", required=False)
@click.option("--target", type=click.Choice(["local", "kubernetes"]),
              help="Where to run (default: the scenario's first target).")
@click.option("--results", "results", type=click.Path(path_type=Path, file_okay=False),
              help="The run's results folder (default: results/<UTC time>-<scenario>/); "
                   "must not hold files yet.")
@state_dir_option
@click.option("--replicas", type=click.IntRange(1, 8), default=2, show_default=True,
              help="Replicas per service when the run brings the local target up.")
@click.option("--down-after", is_flag=True,
              help="Take the local target down afterwards, even when it was already running.")
@click.option("--keep-up", is_flag=True,
              help="Keep the local target running afterwards when the run brought it up.")
@click.option("--warmup", type=DURATION, help="Override phases.warmup (e.g. 5s).")
@click.option("--baseline", type=DURATION, help="Override phases.baseline (e.g. 30s).")
@click.option("--fault", type=DURATION, help="Override phases.fault (e.g. 20s).")
@click.option("--recovery", type=DURATION, help="Override phases.recovery (e.g. 30s).")
@click.option("--users", type=click.IntRange(1, 10_000), help="Override load.users.")
@click.option("--seed", type=click.IntRange(0), help="Override load.seed.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override one entry of the experiment's configuration (repeatable).")
@click.option("--calendar", "calendar", type=click.Path(path_type=Path, dir_okay=False),
              help="A trading calendar (YAML): no fault inside its protected windows.")
@click.option("--allow-during-session", is_flag=True,
              help="Run the fault even inside a protected window of the calendar.")
@click.option("--validate", is_flag=True,
              help="Only validate the scenario and exit (0 when valid).")
@click.option("--list", "list_", is_flag=True, help="List the shipped scenarios and exit.")
@click.option("--context", help="kubernetes: the kube context the platform runs in.")
@click.option("--namespace", default="tradestorm", show_default=True,
              help="kubernetes: the namespace the platform runs in.")
@click.option("--kubeconfig", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="kubernetes: the kubeconfig file (default: $KUBECONFIG, ~/.kube/config).")
@click.option("--allow-context", "allow_contexts", multiple=True, metavar="CTX",
              help="kubernetes: allow the run to touch this kube context (repeatable; "
                   "also TRADESTORM_ALLOWED_CONTEXTS). Nothing is touched otherwise.")
@click.option("--prometheus-url", help="kubernetes: use this Prometheus instead of the "
                                       "cluster's (found by its labels and forwarded).")
@click.option("--dsn", help="kubernetes: use this database DSN for reconcile instead of "
                            "forwarding to the platform's PostgreSQL.")
@click.pass_context
def run(ctx: click.Context, scenario: str | None, target: str | None, results: Path | None,
        state_dir: Path | None, replicas: int, down_after: bool, keep_up: bool,
        warmup: float | None, baseline: float | None, fault: float | None,
        recovery: float | None, users: int | None, seed: int | None, sets: tuple[str, ...],
        calendar: Path | None, allow_during_session: bool,
        validate: bool, list_: bool, context: str | None, namespace: str,
        kubeconfig: Path | None, allow_contexts: tuple[str, ...],
        prometheus_url: str | None, dsn: str | None) -> None:
    """Run SCENARIO (a name from experiments/scenarios/ or a path): load, fault,
    reconcile, SLO gate and report, all in one results folder.

    Exit code: 0 pass, 1 fail, 2 error or inconclusive (or refused: the safety lever is
    engaged, a protected calendar window), 3 aborted by a guardrail, 130 interrupted."""
    console = _console()
    if list_:
        _list_scenarios(console)
        return
    if scenario is None:
        raise click.UsageError("missing SCENARIO (see --list)")
    if down_after and keep_up:
        raise click.UsageError("--down-after and --keep-up contradict each other")
    overrides: dict[str, Any] = {k: v for k, v in {
        "warmup": warmup, "baseline": baseline, "fault": fault, "recovery": recovery,
        "users": users, "seed": seed,
    }.items() if v is not None}
    if sets:
        overrides["configuration"] = _parse_sets(sets)
    if validate:
        from tradestorm.runner.orchestrator import describe_plan
        from tradestorm.runner.scenario import load_scenario

        loaded = load_scenario(scenario)
        if overrides:
            loaded = loaded.with_overrides(**overrides)
        if calendar is not None:
            loaded = loaded.with_calendar(calendar, loaded.venues)
        if target:
            loaded.check_target(target)
        console.print(f"{loaded.source}: valid ({describe_plan(loaded)}; "
                      f"targets {', '.join(loaded.targets)})", highlight=False, soft_wrap=True)
        return
    code = execute(
        scenario, target=target, results=results, state_dir=state_dir, replicas=replicas,
        down_after=down_after, keep_up=keep_up, overrides=overrides,
        kube=KubeOptions(context=context, namespace=namespace, kubeconfig=kubeconfig,
                         allowed_contexts=allow_contexts, prometheus_url=prometheus_url,
                         dsn=dsn),
        console=console, calendar=calendar, allow_during_session=allow_during_session,
    )
    ctx.exit(code)


@click.command("demo")
@click.option("--results", "results", type=click.Path(path_type=Path, file_okay=False),
              help="The run's results folder (default: results/<UTC time>-pod-kill-orders/).")
@state_dir_option
@click.option("--keep-up", is_flag=True,
              help="Keep the local target running afterwards when the demo brought it up.")
@click.pass_context
def demo(ctx: click.Context, results: Path | None, state_dir: Path | None, keep_up: bool) -> None:
    """A short real chaos run on the local target: steady trading load, one orders
    replica killed, the SLO verdict and the HTML report (about two minutes).

    Brings the local target up when it is not running, and down again afterwards."""
    console = _console()
    plan = ", ".join(f"{k} {v:g}s" for k, v in DEMO_TIMINGS.items())
    console.print(f"tradestorm demo: scenario {DEMO_SCENARIO} ({plan}, {DEMO_USERS} users) "
                  "on the local target", highlight=False)
    if not sys.stdout.isatty() and os.environ.get("CI"):
        console.print("(running in CI: progress as plain lines)", highlight=False)
    code = execute(
        DEMO_SCENARIO, target="local", results=results, state_dir=state_dir,
        keep_up=keep_up, overrides={**DEMO_TIMINGS, "users": DEMO_USERS}, console=console,
        fault_line=True,
    )
    ctx.exit(code)

"""``tradestorm up``, ``tradestorm status``, ``tradestorm down``.

Exit codes of ``status``: 0 every component healthy, 1 something runs but is
unhealthy, 3 nothing runs. ``up`` and ``down`` exit 0 on success (also when
there was nothing to do) and 2 on an error.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from tradestorm.commands.options import state_dir_option
from tradestorm.errors import InputError
from tradestorm.targets import TargetStatus

EXIT_UNHEALTHY = 1
EXIT_NOT_RUNNING = 3
ALLOWED_CONTEXTS_ENV = "TRADESTORM_ALLOWED_CONTEXTS"

def target_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options that choose the target; the same on up, status and down."""
    options = [
        click.option("--target", "target_name", type=click.Choice(["local", "kubernetes"]),
                     default="local", show_default=True),
        click.option("--context", "kube_context", default=None,
                     help="kube context (kubernetes)."),
        click.option("--overlay", default="eks", show_default=True,
                     help="k8s overlay (kubernetes)."),
        click.option("--namespace", default="tradestorm", show_default=True),
        click.option("--allow-context", multiple=True,
                     help="A context that may be used (repeatable; also "
                          f"${ALLOWED_CONTEXTS_ENV})."),
        click.option("--dry-run", is_flag=True,
                     help="Show what would be applied or deleted (kubernetes)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _kube_target(ctx_name: str | None, overlay: str, namespace: str,
                 allow_context: tuple[str, ...], dry_run: bool) -> Any:
    if not ctx_name:
        raise InputError("--context", "context", "required with --target kubernetes")
    allowed = list(allow_context)
    env = os.environ.get(ALLOWED_CONTEXTS_ENV, "")
    allowed += [c.strip() for c in env.split(",") if c.strip()]
    from tradestorm.kube.target import KubernetesTarget

    return KubernetesTarget(context=ctx_name, overlay=overlay, namespace=namespace,
                            allowed_contexts=allowed, dry_run=dry_run)


def _image_option(check: Callable[[str], str]) -> Callable[..., str | None]:
    """A click callback: the value checked as part of an image reference (exit 2 naming it)."""
    def callback(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return check(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return callback


def _registry(value: str) -> str:
    from tradestorm.kube.render import check_image_registry

    return check_image_registry(value)


def _tag(value: str) -> str:
    from tradestorm.kube.render import check_image_tag

    return check_image_tag(value)


def _up_kubernetes(kube_context: str | None, overlay: str, namespace: str,
                   allow_context: tuple[str, ...], dry_run: bool, timeout: float,
                   image_registry: str | None, image_tag: str | None) -> None:
    from tradestorm.kube.errors import OverlayNotFound
    from tradestorm.kube.render import image_overlay, resolve_overlay

    try:  # an environment without an overlay is refused before anything else
        base = resolve_overlay(overlay)
    except OverlayNotFound as exc:
        raise click.BadParameter(str(exc), param_hint="--overlay") from None
    if image_registry is None and image_tag is None:
        target = _kube_target(kube_context, overlay, namespace, allow_context, dry_run)
        _print_status(target.up(wait=True, timeout_s=timeout))
        return
    with tempfile.TemporaryDirectory(prefix="tradestorm-images-") as tmp:
        wrapped = image_overlay(base, Path(tmp) / "overlay", registry=image_registry,
                                tag=image_tag)
        target = _kube_target(kube_context, str(wrapped), namespace, allow_context, dry_run)
        _print_status(target.up(wait=True, timeout_s=timeout))


def _print_status(status: TargetStatus, state_dir: Path | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # piped or captured: never wrap an address or a hint
        console = Console(width=200)
    if not status.running:
        console.print(f"no {status.target} target is running"
                      + (f" in {state_dir}" if state_dir else ""))
        return
    table = Table(title=f"tradestorm {status.target} target", title_justify="left")
    for col in ("component", "kind", "health", "replicas", "address", "detail"):
        table.add_column(col)
    for c in status.components:
        replicas = ("" if c.replicas_desired is None
                    else f"{c.replicas_ready}/{c.replicas_desired}")
        health = "[green]healthy[/]" if c.healthy else "[red]UNHEALTHY[/]"
        table.add_row(c.name, c.kind, health, replicas, c.address, c.detail)
    console.print(table)
    if any(c.name == "supervisor" and not c.healthy for c in status.components):
        console.print("hint: the supervisor is not running or not ready; "
                      "'tradestorm down' stops whatever is left")


def _local_target(state_dir: Path | None, replicas: int = 2, fresh: bool = False,
                  accounts: int = 20, log_max_bytes: int | None = None) -> Any:
    from tradestorm.local.target import LocalTarget

    return LocalTarget(state_dir=state_dir, replicas=replicas, fresh=fresh, accounts=accounts,
                       log_max_bytes=log_max_bytes)


def _log_size(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    from tradestorm.local.supervisor.logs import parse_size

    try:
        return parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@click.option("--replicas", type=click.IntRange(1, 16), default=2, show_default=True,
              help="Replica processes per service (local target).")
@click.option("--fresh", is_flag=True, help="Start from an empty database and Prometheus.")
@click.option("--accounts", type=click.IntRange(1, 10_000), default=20, show_default=True,
              help="Demo accounts seeded into STATE/accounts.json (local target).")
@click.option("--foreground", is_flag=True,
              help="Stay attached; Ctrl-C (SIGINT/SIGTERM) takes the target down.")
@click.option("--log-max-size", "log_max_bytes", callback=_log_size, default=None,
              metavar="SIZE", help="Rotate a log of STATE/logs beyond this size (e.g. 50M, "
              "512k; 0: never). Default: $TRADESTORM_LOG_MAX_BYTES, else 50M.")
@state_dir_option
@click.option("--timeout", type=click.FloatRange(min=1), default=120.0, show_default=True,
              help="Seconds to wait for every component to be ready.")
@click.option("--image-registry", callback=_image_option(_registry), default=None,
              metavar="HOST[/PATH]", help="Registry of the platform and load generator images "
              "(kubernetes), e.g. $(terraform output -raw ecr_registry).")
@click.option("--image-tag", callback=_image_option(_tag), default=None, metavar="TAG",
              help="Tag of the platform and load generator images (kubernetes), e.g. the "
              "commit the CI pushed.")
@target_options
def up(replicas: int, fresh: bool, accounts: int, foreground: bool, log_max_bytes: int | None,
       state_dir: Path | None, image_registry: str | None, image_tag: str | None,
       target_name: str, timeout: float, kube_context: str | None,
       overlay: str, namespace: str, allow_context: tuple[str, ...], dry_run: bool) -> None:
    """Bring the platform up: PostgreSQL, Prometheus, proxies and N replicas per service."""
    if target_name == "kubernetes":
        _up_kubernetes(kube_context, overlay, namespace, allow_context, dry_run, timeout,
                       image_registry, image_tag)
        return
    for name, value in (("--image-registry", image_registry), ("--image-tag", image_tag)):
        if value is not None:
            raise click.BadParameter("only with --target kubernetes (the local target runs "
                                     "the platform from this checkout)", param_hint=name)
    target = _local_target(state_dir, replicas, fresh, accounts, log_max_bytes)
    running = target.running_supervisor()
    if running is not None:
        record, state = running
        click.echo(f"a local target already runs in {target.state_dir} (supervisor pid "
                   f"{record.pid}, since {state.get('started_at', '?')}); nothing changed")
        _print_status(target.status())
        return

    stop = threading.Event()

    def _on_signal(signum: int, _frame: Any) -> None:
        stop.set()
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            status = target.up(wait=True, timeout_s=timeout,
                               progress=lambda msg: click.echo(msg, err=True))
        except KeyboardInterrupt:
            click.echo("interrupted: the target was taken down", err=True)
            raise SystemExit(130) from None
        _print_status(status)
        state = json.loads(target.layout.state_file.read_text())
        click.echo(f"gateway:    {state['gateway_url']}")
        click.echo(f"prometheus: {state['prometheus']['url']}")
        click.echo(f"accounts:   {state['accounts_file']}")
        click.echo(f"state:      {target.state_dir}")
        if not foreground:
            return
        click.echo("running in the foreground: Ctrl-C takes the target down", err=True)
        try:
            while not stop.is_set():
                if target.running_supervisor() is None:
                    click.echo("the supervisor has stopped", err=True)
                    break
                stop.wait(1.0)
        except KeyboardInterrupt:
            pass
        click.echo("taking the target down ...", err=True)
        for s in previous:
            signal.signal(s, signal.SIG_IGN)  # a second Ctrl-C must not abort the cleanup
        target.down()
        click.echo("down: nothing left running", err=True)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@state_dir_option
@target_options
def status(as_json: bool, state_dir: Path | None, target_name: str, kube_context: str | None,
           overlay: str, namespace: str, allow_context: tuple[str, ...], dry_run: bool) -> None:
    """Health of every component. Exit 0 healthy, 1 unhealthy, 3 nothing runs."""
    if target_name == "kubernetes":
        target = _kube_target(kube_context, overlay, namespace, allow_context, dry_run)
        where = None
    else:
        target = _local_target(state_dir)
        where = target.state_dir
    result = target.status()
    abandoned = None
    if where is not None:
        from tradestorm.runner.lock import abandoned_run

        abandoned = abandoned_run(where)
    if as_json:
        data = result.to_dict()
        if where is not None:
            data["state_dir"] = str(where)
        data["abandoned_run"] = abandoned
        click.echo(json.dumps(data, indent=2))
    else:
        _print_status(result, where)
        if abandoned:
            click.echo(f"warning: the run {abandoned.get('scenario')} (pid "
                       f"{abandoned.get('pid')}) was killed before it finished; its run.json in "
                       f"{abandoned.get('results_dir')} still says 'running' (the next run marks "
                       "it interrupted)")
    if abandoned and result.running:
        raise SystemExit(EXIT_UNHEALTHY)
    if not result.running:
        raise SystemExit(EXIT_NOT_RUNNING)
    if not result.healthy:
        raise SystemExit(EXIT_UNHEALTHY)


@click.command()
@state_dir_option
@target_options
def down(state_dir: Path | None, target_name: str, kube_context: str | None, overlay: str,
         namespace: str, allow_context: tuple[str, ...], dry_run: bool) -> None:
    """Stop everything the target runs; nothing is left behind. Idempotent."""
    if target_name == "kubernetes":
        _kube_target(kube_context, overlay, namespace, allow_context, dry_run).down()
        click.echo(f"down: {namespace} removed from context {kube_context}"
                   + (" (dry run: nothing touched)" if dry_run else ""))
        return
    target = _local_target(state_dir)
    if target.layout.state_file.exists():
        click.echo(f"stopping the local target in {target.state_dir} ...", err=True)
        target.down()
        click.echo("down: nothing left running")
    else:
        target.down()
        click.echo(f"no local target runs in {target.state_dir}; nothing to do")

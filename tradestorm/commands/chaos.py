"""``tradestorm chaos``: run and validate Chaos Toolkit experiments on a target.

``tradestorm chaos run EXPERIMENT`` runs one experiment with every safety net
of ``tradestorm_chaos.execution`` (rollbacks always, sweep, steady state checked
again, residue audit) and writes ``chaos-journal.json`` and ``residue.json``
to ``--results``. Exit codes: 0 the hypothesis held and nothing was left
behind; 1 it deviated, an action failed, or something was left behind;
2 bad input (file and field named), a target that cannot be used or is not
allowed, or a run aborted before any fault (target not steady or not clean);
130 interrupted (rolled back and audited before exiting).

``tradestorm chaos validate EXPERIMENT...`` checks files with Chaos Toolkit
and tradestorm's stricter rules; exit 0 when all are valid, 2 otherwise.

EXPERIMENT is a file, or a bare name looked up as ``experiments/NAME.yaml``
under the current directory, then the checkout tradestorm runs from.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from tradestorm.commands.options import state_dir_option
from tradestorm.errors import InputError

TARGET_CHOICES = ("local", "kubernetes")


def resolve_experiment(name: str) -> Path:
    path = Path(name)
    if path.exists():
        return path
    if "/" not in name and path.suffix == "":
        roots = [Path.cwd(), Path(__file__).resolve().parents[2]]
        for root in roots:
            for suffix in (".yaml", ".yml", ".json"):
                candidate = root / "experiments" / f"{name}{suffix}"
                if candidate.is_file():
                    return candidate
    raise InputError(name, "(file)", "no such experiment file (nor experiments/NAME.yaml)")


def _target_of(declared: dict[str, object], given: str | None) -> str:
    """--target / $TRADESTORM_TARGET, else the experiment's configuration, else local."""
    if given:
        return given
    configured = declared.get("tradestorm_target")
    return configured if isinstance(configured, str) and configured in TARGET_CHOICES \
        else "local"


def _parse_config(items: tuple[str, ...]) -> dict[str, object]:
    import yaml

    config: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError("--config", "config", f"expected KEY=VALUE, got {item!r}")
        config[key.strip()] = yaml.safe_load(value) if value else ""
    return config


def _show_chaos_logs() -> None:
    """Chaos Toolkit's progress (activity by activity) and the driver's, on stderr."""
    import logging

    class EchoHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            try:
                click.echo(self.format(record), err=True)
            except Exception:  # a closed stream must not break the run
                self.handleError(record)

    for name in ("chaostoolkit", "tradestorm_chaos"):
        log = logging.getLogger(name)
        if any(getattr(h, "_tradestorm_chaos", False) for h in log.handlers):
            continue
        handler = EchoHandler()
        handler._tradestorm_chaos = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s",
                                               "%H:%M:%S"))
        log.setLevel(logging.INFO)
        log.addHandler(handler)
        log.propagate = False


@click.group("chaos")
def chaos() -> None:
    """Run and validate chaos experiments (Chaos Toolkit, stricter rollbacks)."""


@chaos.command("run")
@click.argument("experiment")
@click.option("--target", type=click.Choice(TARGET_CHOICES), envvar="TRADESTORM_TARGET",
              default=None, help="target to break [default: the experiment's "
              "configuration.tradestorm_target, else local]")
@click.option("--dry-run", is_flag=True, help="print every action it would take; touch nothing")
@click.option("--allow-context", "allow_contexts", multiple=True, metavar="CTX",
              help="kube context that may be touched (repeatable; also "
              "$TRADESTORM_ALLOWED_CONTEXTS)")
@click.option("--allow-namespace", "allow_namespaces", multiple=True, metavar="NS",
              help="namespace that may be touched (repeatable; also "
              "$TRADESTORM_ALLOWED_NAMESPACES)")
@click.option("--context", "kube_context", default=None, metavar="CTX",
              help="kube context to use [default: the kubeconfig's current context]")
@click.option("--namespace", default=None, metavar="NS",
              help="namespace of the platform [default: the experiment's, else tradestorm]")
@state_dir_option
@click.option("--results", "results_dir", type=click.Path(path_type=Path), default=None,
              help="folder for chaos-journal.json and residue.json "
              "[default: ./chaos-results/TIMESTAMP-NAME]")
@click.option("--config", "config_items", multiple=True, metavar="KEY=VALUE",
              help="override one configuration entry of the experiment (repeatable)")
def run(experiment: str, target: str | None, dry_run: bool, allow_contexts: tuple[str, ...],
        allow_namespaces: tuple[str, ...], kube_context: str | None, namespace: str | None,
        state_dir: Path | None, results_dir: Path | None,
        config_items: tuple[str, ...]) -> None:
    """Run EXPERIMENT: inject its faults, always roll back, audit for residue."""
    from tradestorm_chaos.execution import run_experiment
    from tradestorm_chaos.plan import Origins, plan_experiment

    _show_chaos_logs()
    path = resolve_experiment(experiment)
    plan = plan_experiment(path, resolve=False)  # the one read; resolved when it runs
    chosen = _target_of(plan.declared, target)
    if not dry_run:
        from tradestorm.commands.lever import lever_of
        from tradestorm.lever import refuse_if_engaged
        from tradestorm.runner.connection import KubeOptions

        refuse_if_engaged(lever_of(chosen, state_dir, KubeOptions(
            context=kube_context, namespace=namespace or "tradestorm")))
    config = _parse_config(config_items)
    if kube_context:
        config["kubernetes_context"] = kube_context
    if namespace:
        config["kubernetes_namespace"] = namespace
    if results_dir is None:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        results_dir = Path("chaos-results") / f"{stamp}-{path.stem}"
    click.echo(f"experiment {path} on the {chosen} target"
               + (" (dry run: nothing will be touched)" if dry_run else ""))
    plan = plan.with_values(configuration=config, origins=Origins("--config"), resolve=False)
    outcome = run_experiment(
        plan, target=chosen, configuration=plan.configuration(),
        journal_path=results_dir / "chaos-journal.json",
        residue_path=results_dir / "residue.json", dry_run=dry_run,
        allowed_contexts=allow_contexts, allowed_namespaces=allow_namespaces,
        state_dir=state_dir, say=lambda line: click.echo(line, err=True),
    )

    click.echo(f"status: {outcome.status}"
               + (" (steady state DEVIATED)" if outcome.deviated else ""))
    for fault in outcome.faults:
        span = f"{fault['start']:.3f} → {fault['end']:.3f}" if fault.get("end") else "NOT REMOVED"
        click.echo(f"fault: {fault['action']} on {fault['target']} {fault['args']} [{span}]")
    for line in outcome.failed_activities:
        click.echo(f"failed: {line}")
    if outcome.dry_run:
        click.echo(f"dry run: {len(outcome.planned)} operation(s) planned, none performed")
    elif outcome.residue_clean:
        click.echo("residue: none (target left as it was found)")
    else:
        for item in outcome.residue:
            click.echo(f"residue: {item['kind']} {item['target']}: {item['detail']}")
    for message in outcome.messages:
        click.echo(f"note: {message}")
    click.echo(f"journal: {outcome.journal_path}")
    raise SystemExit(outcome.exit_code)


@chaos.command("clean")
@click.option("--target", type=click.Choice(TARGET_CHOICES), envvar="TRADESTORM_TARGET",
              default="local", show_default=True, help="target to clean")
@click.option("--dry-run", is_flag=True, help="print what it would remove; touch nothing")
@click.option("--allow-context", "allow_contexts", multiple=True, metavar="CTX")
@click.option("--allow-namespace", "allow_namespaces", multiple=True, metavar="NS")
@click.option("--context", "kube_context", default=None, metavar="CTX")
@click.option("--namespace", default=None, metavar="NS")
@state_dir_option
def clean(target: str, dry_run: bool, allow_contexts: tuple[str, ...],
          allow_namespaces: tuple[str, ...], kube_context: str | None, namespace: str | None,
          state_dir: Path | None) -> None:
    """Remove faults a killed chaos run left behind, then audit (exit 1 if anything is left).

    Local: every proxy fault, and a stopped database is started. Kubernetes:
    chaos NetworkPolicies and Chaos Mesh objects labelled as tradestorm's.
    """
    from tradestorm_chaos.execution import clean_target

    config: dict[str, object] = {}
    if kube_context:
        config["kubernetes_context"] = kube_context
    if namespace:
        config["kubernetes_namespace"] = namespace
    done, residue = clean_target(
        target=target, configuration=config, dry_run=dry_run,
        allowed_contexts=allow_contexts, allowed_namespaces=allow_namespaces,
        state_dir=state_dir, say=lambda line: click.echo(line, err=True))
    if dry_run:
        click.echo("dry run: nothing was touched")
    for line in done:
        click.echo(f"removed: {line}")
    if not done and not dry_run:
        click.echo("nothing to remove")
    for item in residue:
        click.echo(f"residue: {item.kind} {item.target}: {item.detail}")
    raise SystemExit(1 if residue else 0)


@chaos.command("validate")
@click.argument("experiments", nargs=-1, required=True)
def validate(experiments: tuple[str, ...]) -> None:
    """Validate EXPERIMENTS with Chaos Toolkit and tradestorm's stricter rules."""
    from tradestorm_chaos.validation import declared_targets, load_and_validate

    from inputs.errors import FieldError

    failures: list[FieldError] = []
    for name in experiments:
        try:
            path = resolve_experiment(name)
            document = load_and_validate(path)
        except FieldError as exc:  # the experiment's (or the option's) file and field
            failures.append(exc)
            continue
        click.echo(f"ok       {path} (targets: {', '.join(declared_targets(document, path))})")
    if len(experiments) == 1 and failures:
        raise failures[0]  # the CLI prints it (file and field) and exits 2
    for failure in failures:
        click.echo(f"invalid  {failure}", err=True)
    if failures:
        raise SystemExit(2)

"""Load and validate an experiment file: Chaos Toolkit's own checks, then tradestorm's.

Chaos Toolkit (``chaoslib``) checks the structure and that every Python
activity exists with matching arguments. On top of that, an experiment of
this project must:

- state its hypothesis in words in ``description`` (a sentence, not a word);
- have a steady-state hypothesis with probes, and a method;
- give every fault a rollback: a method that injects a fault lists the
  matching rollback (``remove_faults`` for the same service or all,
  ``restore_database``, or ``restore_all``) -- ``kill_replicas`` is
  instantaneous and needs none;
- use arguments within the limits the activities enforce when they run
  (``limits.LIMITS``, the one table both read), judged on the values Chaos
  Toolkit will pass: a ``${key}`` reference is resolved from the experiment's
  ``configuration`` first (a value known only at run time, e.g. from the
  environment, is left to the run), and a reference to no configuration key
  (or secret) is refused where it is written;
- have settings (``tradestorm_*``, ``kubernetes_*`` configuration keys) that
  ``ChaosSettings`` accepts, as every activity reads them when it runs;
- declare the targets it runs on (``extensions: [{name: tradestorm, targets:
  [...]}]``, default both); an experiment using a Kubernetes-only activity
  (``cpu_stress``, ``drain_node``, ``hpa_scaled_out``) must say it runs on
  kubernetes only.

Every problem raises ``ExperimentInvalid`` naming the file and the field.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
from pathlib import Path
from typing import Any

import yaml

from tradestorm_chaos import actions as actions_module
from tradestorm_chaos import limits
from tradestorm_chaos import probes as probes_module
from tradestorm_chaos.config import SERVICES, TARGETS, ChaosSettings
from tradestorm_chaos.errors import ExperimentInvalid

ACTIONS_MODULE = "tradestorm_chaos.actions"
PROBES_MODULE = "tradestorm_chaos.probes"
KUBERNETES_ONLY = {"cpu_stress", "drain_node", "hpa_scaled_out"}
#: fault action -> rollbacks that undo it (service-scoped ones must name the same service or none)
ROLLBACK_FOR = {
    "add_latency": {"remove_faults", "restore_all"},
    "partition": {"remove_faults", "restore_all"},
    "service_outage": {"remove_faults", "restore_all"},
    "cpu_stress": {"remove_faults", "restore_all"},
    "database_outage": {"restore_database", "restore_all"},
    "drain_node": {"restore_all"},
}
MIN_DESCRIPTION_WORDS = 8


def load_experiment_file(path: Path) -> dict[str, Any]:
    """Read an experiment (YAML or JSON); ``ExperimentInvalid`` when it cannot be parsed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ExperimentInvalid(path, "(file)", "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ExperimentInvalid(path, "(file)", f"cannot read: {exc}") from None
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(syntax)"
        raise ExperimentInvalid(path, where, f"not valid YAML/JSON: "
                                             f"{getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(data, dict):
        raise ExperimentInvalid(path, "(document)", "an experiment must be a mapping")
    return data


def declared_targets(experiment: dict[str, Any], source: str | Path = "experiment") -> list[str]:
    """The targets an experiment runs on (its tradestorm extension; default: all)."""
    for i, ext in enumerate(experiment.get("extensions") or []):
        if isinstance(ext, dict) and ext.get("name") == "tradestorm":
            targets = ext.get("targets", list(TARGETS))
            if not isinstance(targets, list) or not targets \
                    or any(t not in TARGETS for t in targets):
                raise ExperimentInvalid(source, f"extensions[{i}].targets",
                                        f"must be a non-empty list of {', '.join(TARGETS)}")
            return list(targets)
    return list(TARGETS)


def _activities(experiment: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    ssh = experiment.get("steady-state-hypothesis") or {}
    for i, a in enumerate(ssh.get("probes") or []):
        out.append((f"steady-state-hypothesis.probes[{i}]", a))
    for section in ("method", "rollbacks"):
        for i, a in enumerate(experiment.get(section) or []):
            out.append((f"{section}[{i}]", a))
    return out


def _ours(activity: Any) -> tuple[str, str] | None:
    """(module, func) when the activity is one of this extension's, else None."""
    if not isinstance(activity, dict):
        return None
    provider = activity.get("provider") or {}
    if provider.get("type") == "python" and provider.get("module") in (ACTIONS_MODULE,
                                                                       PROBES_MODULE):
        return provider["module"], str(provider.get("func"))
    return None


def _literal(value: Any) -> bool:
    return not (isinstance(value, str) and "${" in value)


_REFERENCE = re.compile(r"\$\{([^}]*)\}")


class _RunTimeValue:
    """A configuration value known only when the experiment runs (e.g. from the environment)."""


RUN_TIME = _RunTimeValue()


def configuration_values(experiment: dict[str, Any], source: str | Path) -> dict[str, Any]:
    """The experiment's configuration as Chaos Toolkit will resolve it (``RUN_TIME`` for a
    value it reads at run time)."""
    conf = experiment.get("configuration")
    if conf is None:
        return {}
    if not isinstance(conf, dict):
        raise ExperimentInvalid(source, "configuration", "must be a mapping")
    return {key: RUN_TIME if isinstance(value, dict) and "type" in value else value
            for key, value in conf.items()}


def _reference_names(experiment: dict[str, Any]) -> set[str]:
    names = {str(k) for k in (experiment.get("configuration") or {})}
    for scope in (experiment.get("secrets") or {}).values():
        if isinstance(scope, dict):
            names.update(str(k) for k in scope)
    return names


def _check_references(node: Any, where: str, names: set[str], source: str | Path) -> None:
    """Refuse a ``${name}`` that no configuration key (or secret) defines, where it is written."""
    if isinstance(node, dict):
        for key, value in node.items():
            _check_references(value, f"{where}.{key}", names, source)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _check_references(value, f"{where}[{i}]", names, source)
    elif isinstance(node, str):
        for name in _REFERENCE.findall(node):
            if name not in names:
                declared = ", ".join(sorted(names)) or "none"
                raise ExperimentInvalid(source, where, f"unresolved reference ${{{name}}}: no "
                                        f"such configuration key (declared: {declared})")


def _resolve(value: Any, values: dict[str, Any]) -> Any:
    """``value`` with its ``${key}`` references substituted, as Chaos Toolkit does."""
    if not isinstance(value, str) or "${" not in value:
        return value
    whole = _REFERENCE.fullmatch(value)
    if whole:
        return values.get(whole.group(1), RUN_TIME)
    parts = [values.get(name, RUN_TIME) for name in _REFERENCE.findall(value)]
    if any(part is RUN_TIME for part in parts):
        return RUN_TIME
    return _REFERENCE.sub(lambda m: str(values[m.group(1)]), value)


def _check_arguments(source: str | Path, where: str, func: str, args: dict[str, Any],
                     values: dict[str, Any]) -> None:
    for name, written in args.items():
        value = _resolve(written, values)
        if value is RUN_TIME:
            continue
        whole = _REFERENCE.fullmatch(written) if isinstance(written, str) else None
        field = f"configuration.{whole.group(1)}" if whole else f"{where}.provider.arguments.{name}"
        used = f" (as {where}.provider.arguments.{name})" if whole else ""
        if name == "service" and value is not None and value not in SERVICES:
            raise ExperimentInvalid(source, field, f"unknown service {value!r} "
                                    f"(known: {', '.join(SERVICES)}){used}")
        try:
            limits.check(name, value)
        except ValueError as exc:
            raise ExperimentInvalid(source, field, f"{exc}{used}") from None


def validate_experiment(experiment: dict[str, Any], source: str | Path = "experiment") -> None:
    """Raise ``ExperimentInvalid`` (file + field) unless ``experiment`` is runnable and safe."""
    from chaoslib.activity import ensure_activity_is_valid
    from chaoslib.exceptions import ChaosException
    from chaoslib.experiment import ensure_experiment_is_valid

    title = experiment.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ExperimentInvalid(source, "title", "required: a non-empty string")
    description = experiment.get("description")
    if not isinstance(description, str) or len(description.split()) < MIN_DESCRIPTION_WORDS:
        raise ExperimentInvalid(source, "description", "must state the hypothesis in words "
                                f"(at least {MIN_DESCRIPTION_WORDS} words)")
    ssh = experiment.get("steady-state-hypothesis")
    if not isinstance(ssh, dict) or not ssh.get("probes"):
        raise ExperimentInvalid(source, "steady-state-hypothesis.probes",
                                "required: the probes that define 'steady'")
    if not isinstance(experiment.get("method"), list) or not experiment["method"]:
        raise ExperimentInvalid(source, "method", "required: a non-empty list of activities")
    if not isinstance(experiment.get("rollbacks", []), list):
        raise ExperimentInvalid(source, "rollbacks", "must be a list of activities")
    values = configuration_values(experiment, source)
    targets = declared_targets(experiment, source)
    configured = values.get("tradestorm_target")
    if (configured is not None and configured is not RUN_TIME and _literal(configured)
            and configured not in targets):
        raise ExperimentInvalid(source, "configuration.tradestorm_target",
                                f"{configured!r} is not among the declared targets {targets}")

    # the settings every activity reads at run time, judged now the same way
    ChaosSettings.from_configuration(
        {k: v for k, v in values.items() if v is not RUN_TIME}, source=str(source), environ={})
    names = _reference_names(experiment)
    for where, activity in _activities(experiment):
        if not isinstance(activity, dict):
            raise ExperimentInvalid(source, where, "an activity must be a mapping")
        _check_references(activity, where, names, source)
        ours = _ours(activity)
        if ours is not None:
            _check_ours(source, where, activity, ours, targets, values)
        try:
            ensure_activity_is_valid(activity)
        except ChaosException as exc:
            raise ExperimentInvalid(source, where, str(exc)) from None

    _check_rollbacks(experiment, source)

    logging.getLogger("chaostoolkit").disabled = True  # chaoslib logs "looks valid" at INFO
    try:
        ensure_experiment_is_valid(experiment)
    except ChaosException as exc:
        raise ExperimentInvalid(source, "(experiment)", str(exc)) from None
    finally:
        logging.getLogger("chaostoolkit").disabled = False


def _check_ours(source: str | Path, where: str, activity: dict[str, Any],
                ours: tuple[str, str], targets: list[str], values: dict[str, Any]) -> None:
    module_name, func = ours
    module = actions_module if module_name == ACTIONS_MODULE else probes_module
    if func not in module.__all__:
        raise ExperimentInvalid(source, f"{where}.provider.func",
                                f"{module_name} has no {func!r} "
                                f"(it has: {', '.join(module.__all__)})")
    if func in KUBERNETES_ONLY and targets != ["kubernetes"]:
        raise ExperimentInvalid(
            source, "extensions", f"{where} uses {func}, which runs on kubernetes only: "
            "declare `extensions: [{name: tradestorm, targets: [kubernetes]}]`")
    args = (activity.get("provider") or {}).get("arguments") or {}
    if not isinstance(args, dict):
        raise ExperimentInvalid(source, f"{where}.provider.arguments", "must be a mapping")
    parameters = inspect.signature(getattr(module, func)).parameters
    for name in args:
        if name not in parameters or name == "configuration":
            known = ", ".join(p for p in parameters if p != "configuration")
            raise ExperimentInvalid(source, f"{where}.provider.arguments.{name}",
                                    f"{func} takes no argument {name!r} (it takes: {known})")
    for name, parameter in parameters.items():
        if parameter.default is inspect.Parameter.empty and name not in args:
            raise ExperimentInvalid(source, f"{where}.provider.arguments.{name}",
                                    f"required by {func}")
    _check_arguments(source, where, func, args, values)


def _check_rollbacks(experiment: dict[str, Any], source: str | Path) -> None:
    rollbacks = []
    for activity in experiment.get("rollbacks") or []:
        ours = _ours(activity)
        if ours and ours[0] == ACTIONS_MODULE:
            args = (activity.get("provider") or {}).get("arguments") or {}
            rollbacks.append((ours[1], args.get("service")))
    for i, activity in enumerate(experiment.get("method") or []):
        ours = _ours(activity)
        if not ours or ours[0] != ACTIONS_MODULE or ours[1] not in ROLLBACK_FOR:
            continue
        func = ours[1]
        service = ((activity.get("provider") or {}).get("arguments") or {}).get("service")
        undone = any(
            name in ROLLBACK_FOR[func]
            and (name != "remove_faults" or rb_service in (None, service))
            for name, rb_service in rollbacks
        )
        if not undone:
            wanted = " or ".join(sorted(ROLLBACK_FOR[func]))
            raise ExperimentInvalid(
                source, "rollbacks",
                f"method[{i}] ({func}{' on ' + service if service else ''}) has no matching "
                f"rollback: add {wanted}" + (f" for {service}" if service else ""))


def load_and_validate(path: Path) -> dict[str, Any]:
    experiment = load_experiment_file(path)
    validate_experiment(experiment, path)
    return experiment

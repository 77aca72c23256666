"""An experiment planned once: read and checked with the values a run gives it.

``plan_experiment`` reads the experiment file (the only read of it in a run),
validates it, and checks it with the values the caller gives: the fault's length
(into the configuration key the experiment declares for it, ``fault_duration_key``)
and configuration values (a scenario's ``configuration``, ``--set``). It takes plain
values, never the caller's own objects, and returns an ``ExperimentPlan`` that the
scenario loader keeps, the orchestrator writes out (``experiment.json``) and
``execution.run_experiment`` runs. ``ExperimentPlan.with_values`` checks new values
(command-line overrides) against the same document without reading it again.

A value the caller gives that the experiment refuses is reported where the value
came from (``Origins``): ``--set: field 'configuration.latency_ms'``,
``scenario.yaml: field 'phases.fault'``; the experiment's own mistakes name the
experiment file and field. Either way it is ``ExperimentInvalid`` (a ``FieldError``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradestorm_chaos.config import ChaosSettings, fault_duration_key
from tradestorm_chaos.errors import ExperimentInvalid
from tradestorm_chaos.validation import declared_targets, load_experiment_file, validate_experiment

_REFERENCE = re.compile(r"\$\{(\w+)\}")
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True)
class Origins:
    """Where the values a caller gives come from, for its errors: ``default`` (e.g. the
    scenario file) unless ``fields`` names a source for the field (``--set``, ``--fault``)."""

    default: str
    fields: Mapping[str, str] = field(default_factory=dict)

    def of(self, field_name: str) -> str:
        return self.fields.get(field_name, self.default)


@dataclass(frozen=True)
class ExperimentPlan:
    """A validated experiment and the values a run gives it (see the module docstring)."""

    path: Path
    document: Mapping[str, Any]  # as written and validated; never changed
    targets: tuple[str, ...]  # where it runs (its tradestorm extension; default: all)
    given: Mapping[str, Any] = field(default_factory=dict)  # configuration the caller sets
    fault_s: float | None = None  # the fault's length the caller sets (None: its own)

    @property
    def declared(self) -> dict[str, Any]:
        """The experiment's own configuration section."""
        conf = self.document.get("configuration")
        return dict(conf) if isinstance(conf, dict) else {}

    @property
    def keys(self) -> frozenset[str]:
        """The configuration names the experiment declares."""
        return frozenset(self.declared)

    @property
    def fault_key(self) -> str | None:
        """The configuration key through which it takes its fault's length, if any."""
        return fault_duration_key(self.declared)

    def run_values(self) -> dict[str, Any]:
        """The values the caller gives: the fault's length (under ``fault_key``), then
        ``given`` (which wins)."""
        fault = {self.fault_key: self.fault_s} if self.fault_key and self.fault_s else {}
        return {**fault, **self.given}

    def configuration(self, placement: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The configuration a run passes: where the target is (``placement``), then the
        run's values (which win)."""
        return {**dict(placement or {}), **self.run_values()}

    def as_run(self, placement: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The experiment as a run executes it: its configuration section with the run's
        configuration over its own (what ``experiment.json`` records)."""
        return {**self.document,
                "configuration": {**self.declared, **self.configuration(placement)}}

    def with_values(self, *, fault_s: float | None = None,
                    configuration: Mapping[str, Any] | None = None,
                    origins: Origins | None = None, resolve: bool = True) -> ExperimentPlan:
        """The same experiment with other values (``None``: keep), checked again
        (``resolve``: as in ``plan_experiment``)."""
        plan = ExperimentPlan(
            self.path, self.document, self.targets,
            dict(self.given if configuration is None else configuration),
            self.fault_s if fault_s is None else fault_s)
        _check(plan, origins or Origins(str(self.path)), resolve)
        return plan


def plan_experiment(path: Path, *, fault_s: float | None = None,
                    configuration: Mapping[str, Any] | None = None,
                    origins: Origins | None = None, resolve: bool = True) -> ExperimentPlan:
    """Read ``path`` once and validate it with the values given in its configuration (a
    default of its own that a value given replaces is not held against it).

    ``resolve``: also check the configuration resolved now (values read from the
    environment, the settings, every argument a value fills in), as a scenario is
    checked before its run. ``False`` leaves that to the run (``execution``), as
    ``tradestorm chaos run`` always did: a value known only when the experiment runs
    fails its activity then, not the plan now."""
    path = Path(path)
    document = load_experiment_file(path)
    targets = tuple(declared_targets(document, path))
    plan = ExperimentPlan(path, document, targets, dict(configuration or {}), fault_s)
    _check(plan, origins or Origins(str(path)), resolve)
    return plan


def _check(plan: ExperimentPlan, origins: Origins, resolve: bool) -> None:
    if resolve:
        _check_values(plan, origins)
    else:  # the document with the values in its configuration; resolved when it runs
        validate_experiment(plan.as_run(), plan.path)


def _check_values(plan: ExperimentPlan, origins: Origins) -> None:
    """The experiment with the run's values, checked with the extension's own rules: the
    configuration section (``validate_experiment`` with the values in it), the settings
    (``ChaosSettings``) and every activity argument a value fills in."""
    from chaoslib import substitute
    from chaoslib.configuration import load_configuration
    from chaoslib.exceptions import ChaosException

    values = plan.run_values()
    name = plan.path.name

    def origin(key: str) -> tuple[str, str]:
        """(source, field) of the value the run gives configuration ``key``."""
        if key in plan.given:
            return origins.of(f"configuration.{key}"), f"configuration.{key}"
        if key == plan.fault_key:
            return origins.of("phases.fault"), "phases.fault"
        return str(plan.path), f"configuration.{key}"

    declared = plan.declared
    try:
        validate_experiment({**plan.document, "configuration": {**declared, **values}},
                            plan.path)
    except ExperimentInvalid as exc:
        key = exc.field.removeprefix("configuration.")
        if exc.field.startswith("configuration.") and key in values:
            source, field_name = origin(key)
            suffix = "" if key in plan.given else f" (as configuration.{key} of {name})"
            raise ExperimentInvalid(source, field_name, exc.problem + suffix) from None
        raise
    merged = {**declared, **values}
    try:
        resolved = load_configuration(merged)
    except ChaosException as exc:
        raise ExperimentInvalid(origins.default, "configuration", f"{exc}") from None
    try:
        ChaosSettings.from_configuration(resolved, source=origins.default, environ={})
    except ExperimentInvalid as exc:
        source, field_name = origin(exc.field.removeprefix("configuration."))
        raise ExperimentInvalid(source, field_name, exc.problem) from None
    body = {k: v for k, v in plan.document.items() if k != "configuration"}
    substituted = {**substitute(body, resolved, None), "configuration": declared}
    try:
        validate_experiment(substituted, plan.path)
    except ExperimentInvalid as exc:
        written = _value_at(plan.document, exc.field)
        reference = _REFERENCE.fullmatch(written) if isinstance(written, str) else None
        if reference is None:
            raise  # the experiment's own value: its file and field
        source, field_name = origin(reference.group(1))
        raise ExperimentInvalid(source, field_name,
                                f"{exc.problem} (as {exc.field} of {name})") from None


def _value_at(document: Any, dotted: str) -> Any:
    """The value at ``method[0].provider.arguments.ms`` in ``document`` (None if absent)."""
    node = document
    for name, index in _PATH_PART.findall(dotted):
        try:
            node = node[int(index)] if index else node[name]
        except (KeyError, IndexError, TypeError):
            return None
    return node

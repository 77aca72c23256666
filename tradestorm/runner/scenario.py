"""Scenario files: what ``tradestorm run`` runs.

A scenario names a load profile, an experiment (or none, for a control run),
an SLO spec, the timings of the phases and the targets it runs on::

    name: pod-kill-orders
    description: Kill one orders replica under steady load ...
    targets: [local, kubernetes]
    load: {profile: steady, users: 20, seed: 7}
    experiment: pod-kill-orders          # experiments/pod-kill-orders.yaml, or a path
    configuration: {}                    # Chaos Toolkit configuration for the experiment
    slo: reference-platform              # slo/specs/reference-platform.yaml, or a path
    phases: {warmup: 5s, baseline: 30s, fault: 20s, recovery: 30s}

Validation happens once, at load time, and every mistake is an ``InputError``
naming the file and the field (``phases.fault``); unknown keys are mistakes too
(a typo must never be silently ignored), and so are duplicate keys. So is
anything the run would only trip over later: a fault phase longer than the
fault actions hold (``MAX_DURATION_S``), no recovery phase, and the
experiment's configuration as the run will set it, judged by the chaos part's
own rules (its settings, and every activity argument it fills in).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
)
from tradestorm_chaos.config import RUNNER_KEYS, SETTINGS_PREFIXES
from tradestorm_chaos.plan import ExperimentPlan, Origins, plan_experiment

from inputs.durations import format_duration, parse_duration
from tradestorm.errors import InputError
from tradestorm.runner import paths
from tradestorm.runner.errors import ScenarioNotFoundError
from tradestorm.runner.guardrails import DEFAULT_INTERVAL_S, StopCondition, build_conditions
from tradestorm.runner.tradingcalendar import TradingCalendar, check_venues, load_calendar

TargetName = Literal["local", "kubernetes"]
TARGETS: tuple[str, ...] = ("local", "kubernetes")

# The load shapes of loadtests (issue 4); checked again by the load part itself. The
# closed models run ``users`` users; the arrival-rate (open-model) ones send ``rate`` orders
# per second at the peak with at most ``users`` orders in flight (loadtests/arrival.py).
KNOWN_PROFILES: tuple[str, ...] = ("steady", "ramp", "soak", "constant-arrival-rate",
                                   "ramping-arrival-rate", "spike", "market-open")
ARRIVAL_RATE_PROFILES: tuple[str, ...] = ("constant-arrival-rate", "ramping-arrival-rate",
                                          "spike", "market-open")

# Why a scenario may be bound to one target; shown when it is refused elsewhere.
_TARGET_ONLY_REASON = {
    "kubernetes": "it needs what only a cluster has (e.g. a HorizontalPodAutoscaler)",
    "local": "it needs the local target's supervisor and proxies",
}

_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")

Duration = Annotated[float, BeforeValidator(parse_duration)]
#: The longest a phase may last (the fault phase: ``MAX_DURATION_S``, what a fault holds).
MAX_PHASE_S = 24 * 3600.0


def _check_phase_length(key: str, value: float, source: str) -> None:
    if value > MAX_PHASE_S:
        raise InputError(source, f"phases.{key}",
                         f"{format_duration(value)} is longer than a phase may last "
                         f"({format_duration(MAX_PHASE_S)})")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_M = TypeVar("_M", bound=_Model)


class LoadSection(_Model):
    profile: Annotated[StrictStr, Field(min_length=1)]
    users: Annotated[StrictInt, Field(ge=1, le=10_000)]
    seed: Annotated[StrictInt, Field(ge=0)] = 1
    processes: Annotated[StrictInt, Field(ge=1, le=64)] = 1
    rate: Annotated[float, Field(ge=0, le=100_000, strict=False, allow_inf_nan=False)] = 0.0
    # ramping-arrival-rate: orders per second per phase (a phase left out keeps the rate
    # of the phase before it; the warmup, the baseline's)
    rates: dict[Literal["warmup", "baseline", "fault", "recovery"],
                Annotated[float, Field(gt=0, le=100_000, strict=False,
                                       allow_inf_nan=False)]] | None = None
    max_in_flight: Annotated[StrictInt, Field(ge=1, le=100_000)] | None = None
    # arrival-rate profiles: the sender's tick (1ms, 0 to wake for every order); its bound
    # is the load's own rule (_check_load_rate)
    send_tick: Duration | None = None


class PhasesSection(_Model):
    warmup: Duration = 10.0
    baseline: Duration
    fault: Duration | None = None
    recovery: Duration | None = None


class StopSection(_Model):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: Annotated[StrictStr, Field(min_length=1)] | None = None
    query: Annotated[StrictStr, Field(min_length=1)] | None = None
    objective: Annotated[StrictStr, Field(min_length=1)] | None = None
    phase: Annotated[StrictStr, Field(min_length=1)] | None = None
    window: Duration | None = None
    above: float | None = None
    below: float | None = None
    for_: Duration = Field(alias="for")


class GuardrailsSection(_Model):
    interval: Duration = 1.0
    stop: list[StopSection] = []


class CalendarSection(_Model):
    file: Annotated[StrictStr, Field(min_length=1)]
    venues: list[StrictStr] = []


class ScenarioFile(_Model):
    name: Annotated[StrictStr, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")] | None = None
    description: Annotated[StrictStr, Field(min_length=1)]
    targets: Annotated[list[TargetName], Field(min_length=1)] = ["local", "kubernetes"]
    load: LoadSection
    experiment: Annotated[StrictStr, Field(min_length=1)] | None = None
    configuration: dict[StrictStr, Any] = {}
    slo: Annotated[StrictStr, Field(min_length=1)] = "reference-platform"
    phases: PhasesSection
    guardrails: GuardrailsSection | None = None
    calendar: CalendarSection | None = None


_SECTIONS: dict[tuple[str, ...], type[BaseModel]] = {
    (): ScenarioFile,
    ("load",): LoadSection,
    ("phases",): PhasesSection,
    ("guardrails",): GuardrailsSection,
    ("guardrails", "stop"): StopSection,
    ("calendar",): CalendarSection,
}


@dataclass(frozen=True)
class LoadProfile:
    profile: str
    users: int
    seed: int = 1
    processes: int = 1
    # closed models: user iterations per second at the peak (0: the users' think times);
    # arrival-rate profiles: orders per second at the peak (> 0), ``users`` = in-flight bound
    rate: float = 0.0
    rates: dict[str, float] | None = None  # ramping-arrival-rate: orders per second per phase
    max_in_flight: int | None = None  # arrival-rate profiles (default: ``users``)
    send_tick: float | None = None  # arrival-rate profiles, seconds (default: the generator's)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"profile": self.profile, "users": self.users, "seed": self.seed,
                               "processes": self.processes, "rate": self.rate}
        if self.rates is not None:
            out["rates"] = dict(self.rates)
        if self.max_in_flight is not None:
            out["max_in_flight"] = self.max_in_flight
        if self.send_tick is not None:
            out["send_tick"] = self.send_tick
        return out

    def rate_stages(self, plan: PhasePlan, until_s: float) -> str:
        """``rates`` as the load's stages (``FROM-TO:RATE,...``) over the planned phases, the
        last one held until ``until_s`` (the load outlives a fault that runs long)."""
        if not self.rates:
            return ""
        order = ("warmup", "baseline", "fault", "recovery")
        lengths = {"warmup": plan.warmup, "baseline": plan.baseline, "fault": plan.fault,
                   "recovery": plan.recovery}
        current = self.rates.get("warmup", self.rates.get("baseline"))
        stages, t = [], 0.0
        for name in order:
            current = self.rates.get(name, current)
            length = lengths[name]
            if length <= 0 or current is None:
                continue
            stages.append([t, t + length, current])
            t += length
        if stages:
            stages[-1][1] = max(stages[-1][1], until_s)
        return ",".join(f"{a:g}s-{b:g}s:{r:g}" for a, b, r in stages)


@dataclass(frozen=True)
class PhasePlan:
    """Planned phase lengths in seconds; ``fault``/``recovery`` are 0 without an experiment."""

    warmup: float
    baseline: float
    fault: float = 0.0
    recovery: float = 0.0

    @property
    def total(self) -> float:
        return self.warmup + self.baseline + self.fault + self.recovery


@dataclass(frozen=True)
class Scenario:
    """A validated scenario, its references resolved to files that exist."""

    name: str
    description: str
    source: Path
    targets: tuple[str, ...]
    load: LoadProfile
    experiment: Path | None
    configuration: dict[str, Any]
    slo_spec: Path
    phases: PhasePlan
    document: dict[str, Any] = field(default_factory=dict, compare=False)
    # the experiment read and checked once, with this scenario's values (None: no experiment)
    plan: ExperimentPlan | None = field(default=None, compare=False)
    # stop conditions (tradestorm.runner.guardrails) and how often they are evaluated
    guardrails: tuple[StopCondition, ...] = ()
    guardrail_interval_s: float = DEFAULT_INTERVAL_S
    # the trading calendar in force, read and checked once (None: none), and its venues
    # (empty: all)
    calendar: TradingCalendar | None = field(default=None, compare=False)
    venues: tuple[str, ...] = ()

    def with_calendar(self, file: Path, venues: tuple[str, ...] = ()) -> Scenario:
        """The same scenario under the calendar ``file`` (``--calendar``), checked now."""
        calendar = check_calendar(Path(file), list(venues), "--calendar", "calendar.venues")
        return replace(self, calendar=calendar, venues=tuple(venues))

    @property
    def has_fault(self) -> bool:
        return self.experiment is not None

    def check_target(self, target: str) -> None:
        """Refuse a target the scenario does not run on, saying why."""
        if target in self.targets:
            return
        only = self.targets[0] if len(self.targets) == 1 else None
        why = f" ({_TARGET_ONLY_REASON[only]})" if only in _TARGET_ONLY_REASON else ""
        raise InputError(
            paths.display(self.source), "targets",
            f"scenario '{self.name}' runs on {', '.join(self.targets)} only{why}; "
            f"it cannot run on the {target} target"
            + (f" (use --target {only})" if only else ""),
        )

    def with_overrides(
        self,
        *,
        warmup: float | None = None,
        baseline: float | None = None,
        fault: float | None = None,
        recovery: float | None = None,
        users: int | None = None,
        seed: int | None = None,
        configuration: dict[str, Any] | None = None,
    ) -> Scenario:
        """The same scenario with command-line overrides applied (and recorded in
        ``document``), held to the rules of the file (its models and checks), each problem
        named at its option (``--fault: field 'phases.fault'``). The experiment's plan is
        checked again with the new values, not read again."""
        shown = paths.display(self.source)
        doc = {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.document.items()}
        sources: dict[str, str] = {}
        raw_phases = dict(doc.get("phases") or {})
        for key, value in (("warmup", warmup), ("baseline", baseline), ("fault", fault),
                           ("recovery", recovery)):
            if value is not None:
                raw_phases[key] = value
                sources[f"phases.{key}"] = f"--{key}"
        raw_load = dict(doc.get("load") or {})
        for key, value in (("users", users), ("seed", seed)):
            if value is not None:
                raw_load[key] = value
                sources[f"load.{key}"] = f"--{key}"
        given = dict(configuration or {})
        sources.update({f"configuration.{k}": "--set" for k in given})
        if given:
            sources["configuration"] = "--set"
        phases_model = _validated(PhasesSection, raw_phases, "phases", sources, shown)
        load_model = _validated(LoadSection, raw_load, "load", sources, shown)
        _check_phases(phases_model, self.has_fault, sources, shown)
        _check_load_rate(load_model, phases_model, self.has_fault, shown)
        _check_configuration(given, self.has_fault, sources, shown)
        config = {**self.configuration, **given}
        plan = self.plan
        if plan is not None and (given or fault is not None):
            _check_runner_keys(config, sources, shown)
            _check_configuration_names(given, plan, sources, shown)
            plan = plan.with_values(fault_s=phases_model.fault or None, configuration=config,
                                    origins=Origins(shown, sources))
        for key in ("warmup", "baseline", "fault", "recovery"):
            if f"phases.{key}" in sources:
                raw_phases[key] = format_duration(getattr(phases_model, key) or 0.0, exact=True)
        doc["phases"], doc["load"] = raw_phases, raw_load
        if given:
            doc["configuration"] = config
        return replace(self, phases=_phase_plan(phases_model),
                       load=LoadProfile(**load_model.model_dump()), configuration=config,
                       document=doc, plan=plan)


def _phase_plan(phases: PhasesSection) -> PhasePlan:
    return PhasePlan(warmup=phases.warmup, baseline=phases.baseline,
                     fault=phases.fault or 0.0, recovery=phases.recovery or 0.0)


def _validated(model: type[_M], data: dict[str, Any], section: str, sources: dict[str, str],
               shown: str) -> _M:
    """``data`` validated by the section's model; a problem is named at its field's source."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        _raise_validation(shown, exc, prefix=(section,), sources=sources)
        raise  # unreachable, for type checkers


def _check_phases(phases: PhasesSection, has_experiment: bool, sources: dict[str, str],
                  shown: str) -> None:
    """The phases a scenario may have: a baseline, phases no longer than a phase may last,
    and a fault and a recovery exactly when it runs an experiment."""
    def at(key: str) -> str:
        return sources.get(f"phases.{key}", shown)

    if phases.baseline <= 0:
        raise InputError(at("baseline"), "phases.baseline", "must be longer than 0s")
    for key in ("warmup", "baseline", "recovery"):
        _check_phase_length(key, getattr(phases, key) or 0.0, at(key))
    if not has_experiment:
        for key in ("fault", "recovery"):
            if getattr(phases, key):
                raise InputError(at(key), f"phases.{key}",
                                 "the scenario runs no experiment (field 'experiment' is empty), "
                                 f"so it has no {key} phase; remove it or name an experiment")
        return
    for key in ("fault", "recovery"):
        if getattr(phases, key) is None:
            raise InputError(at(key), f"phases.{key}",
                             f"required when the scenario runs an experiment (e.g. {key}: 20s)")
    _check_fault_phases(phases.fault or 0.0, phases.recovery or 0.0, sources, shown)


def _check_configuration(configuration: dict[str, Any], has_experiment: bool,
                         sources: dict[str, str], shown: str) -> None:
    """Configuration only for an experiment, under names an experiment can declare."""
    if configuration and not has_experiment:
        raise InputError(sources.get("configuration", shown), "configuration",
                         "the scenario runs no experiment, so there is nothing to configure")
    for key in configuration:
        if not key.isidentifier():
            raise InputError(sources.get(f"configuration.{key}", shown), f"configuration.{key}",
                             "expected a name of letters, digits and underscores")


def _check_configuration_names(configuration: dict[str, Any], plan: ExperimentPlan,
                               sources: dict[str, str], shown: str) -> None:
    """Every name set is one the experiment declares (or a setting every experiment takes)."""
    for key in configuration:
        problem = unknown_configuration(key, plan.keys, plan.path)
        if problem:
            raise InputError(sources.get(f"configuration.{key}", shown),
                             f"configuration.{key}", problem)


def _check_load_rate(load: LoadSection, phases: PhasesSection, has_experiment: bool,
                     shown: str) -> None:
    """An arrival-rate profile needs a rate > 0 (or per-phase rates for a ramp) that its load
    processes can schedule."""
    if load.profile not in ARRIVAL_RATE_PROFILES:
        for key in ("rates", "max_in_flight", "send_tick"):
            if getattr(load, key) is not None:
                raise InputError(shown, f"load.{key}", f"profile {load.profile} is a closed "
                                 "model (users wait for their answers): only an arrival-rate "
                                 f"profile ({', '.join(ARRIVAL_RATE_PROFILES)}) takes it")
        return
    from loadtests.arrival import MAX_RATE_PER_PROCESS
    from loadtests.errors import ConfigError
    from loadtests.settings import parse_tick

    if load.send_tick is not None:
        try:
            parse_tick(load.send_tick)
        except ConfigError as exc:
            raise InputError(shown, "load.send_tick", exc.problem) from None
    if load.rates is not None:
        if load.profile != "ramping-arrival-rate":
            raise InputError(shown, "load.rates", "per-phase rates shape a "
                             "ramping-arrival-rate profile; use that profile, or give one "
                             f"load.rate for {load.profile}")
        if load.rate:
            raise InputError(shown, "load.rates", "give either load.rate or load.rates")
        if not load.rates:
            raise InputError(shown, "load.rates", "expected at least one phase's rate")
        for phase in ("fault", "recovery"):
            if phase in load.rates and not (has_experiment and getattr(phases, phase)):
                raise InputError(shown, f"load.rates.{phase}",
                                 f"the scenario has no {phase} phase")
        peak = max(load.rates.values())
        if peak > load.processes * MAX_RATE_PER_PROCESS:
            raise InputError(shown, "load.rates",
                             f"{peak:g} orders/s is more than {load.processes} load "
                             f"process(es) can schedule (at most {MAX_RATE_PER_PROCESS:g} "
                             "orders/s each): raise load.processes or lower the rate")
        return
    if not load.rate > 0:
        raise InputError(shown, "load.rate",
                         f"profile {load.profile} sends orders at a rate: give load.rate, "
                         f"orders per second > 0 (got {load.rate:g})")
    if load.rate > load.processes * MAX_RATE_PER_PROCESS:
        raise InputError(shown, "load.rate",
                         f"{load.rate:g} orders/s is more than {load.processes} load "
                         f"process(es) can schedule (at most {MAX_RATE_PER_PROCESS:g} orders/s "
                         "each): raise load.processes or lower the rate")


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode,
                       deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: dict[Any, Any] = {}
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key '{key}' appears twice", key_node.start_mark,
            )
        seen[key] = True
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping,
)


def _field_of(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _problem(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    loc = tuple(error.get("loc", ()))
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        parent = tuple(p for p in loc[:-1] if isinstance(p, str))
        model = _SECTIONS.get(parent)
        known = sorted(model.model_fields) if model is not None else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown field{hint}; allowed: {', '.join(known)}" if known else "unknown field"
    message = str(error.get("msg", "invalid value"))
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    if kind == "string_pattern_mismatch" and loc == ("name",):
        message = "expected lower-case letters, digits and dashes (at most 63)"
    elif kind in {"model_type", "dict_type"}:
        message = "expected a mapping of fields"
    return message


def _raise_validation(source: str, exc: ValidationError, prefix: tuple[str, ...] = (),
                      sources: dict[str, str] | None = None) -> None:
    """The model's first problem (and a few more) as an ``InputError`` at its field; the
    source is ``sources[field]`` when given (an override's option), else ``source``."""
    errors = [{**e, "loc": (*prefix, *e["loc"])} for e in exc.errors()]
    first, rest = errors[0], errors[1:]
    problem = _problem(first)
    if rest:
        others = "; ".join(f"field '{_field_of(tuple(e['loc']))}': {_problem(e)}" for e in rest[:4])
        more = f" (and {len(rest) - 4} more)" if len(rest) > 4 else ""
        problem += f"; also {others}{more}"
    field_name = _field_of(tuple(first["loc"]))
    raise InputError((sources or {}).get(field_name, source), field_name, problem) from None


def _resolve_reference(
    value: str, *, kind: str, field_name: str, source: Path, dirs: list[Path],
    suffixes: tuple[str, ...],
) -> Path:
    shown = paths.display(source)
    if paths.looks_like_path(value):
        found, tried = paths.find_relative(value, source)
        if found is None:
            raise InputError(shown, field_name,
                             f"{kind} file '{value}' not found (looked in "
                             + ", ".join(paths.display(t) for t in tried) + ")")
        return found
    found = paths.find_named(value, dirs, suffixes)
    if found is None:
        available = paths.names_in(dirs, suffixes)
        close = difflib.get_close_matches(value, available, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise InputError(
            shown, field_name,
            f"no {kind} named '{value}' in {', '.join(paths.display(d) for d in dirs)}{hint}; "
            f"available: {', '.join(available) or 'none'}",
        )
    return found


def load_scenario_file(path: Path) -> Scenario:
    """Load and validate one scenario file; ``InputError`` names the file and field."""
    path = Path(path)
    shown = paths.display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(shown, "(file)", "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(shown, "(file)", f"cannot be read: {exc}") from None
    try:
        document = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(shown, "(file)",
                         f"not valid YAML{where}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise InputError(shown, "(file)", f"not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise InputError(shown, "(top level)",
                         "expected a mapping of fields (name, load, phases, ...)")
    try:
        model = ScenarioFile.model_validate(document)
    except ValidationError as exc:
        _raise_validation(shown, exc)
        raise  # unreachable, for type checkers
    name = model.name or path.stem
    if model.name is None and not _valid_name(name):
        raise InputError(shown, "name",
                         f"required when the file name ('{path.stem}') is not a valid scenario "
                         "name (lower-case letters, digits and dashes)")
    if len(set(model.targets)) != len(model.targets):
        raise InputError(shown, "targets", "a target is listed twice")
    if model.load.profile not in KNOWN_PROFILES:
        close = difflib.get_close_matches(model.load.profile, KNOWN_PROFILES, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise InputError(shown, "load.profile",
                         f"unknown profile '{model.load.profile}'{hint}; "
                         f"available: {', '.join(KNOWN_PROFILES)}")
    _check_load_rate(model.load, model.phases, model.experiment is not None, shown)
    phases = model.phases
    _check_phases(phases, model.experiment is not None, {}, shown)
    _check_configuration(dict(model.configuration), model.experiment is not None, {}, shown)
    experiment = None
    if model.experiment is not None:
        experiment = _resolve_reference(
            model.experiment, kind="experiment", field_name="experiment", source=path,
            dirs=paths.experiment_dirs(path.resolve()), suffixes=paths.EXPERIMENT_SUFFIXES,
        )
    spec = _resolve_reference(
        model.slo, kind="SLO spec", field_name="slo", source=path,
        dirs=paths.spec_dirs(path.resolve()), suffixes=paths.SPEC_SUFFIXES,
    )
    _check_spec(spec)
    plan = None
    if experiment is not None:
        plan = _plan(experiment, tuple(model.targets), dict(model.configuration),
                     phases.fault or 0.0, shown)
    conditions: list[StopCondition] = []
    interval = DEFAULT_INTERVAL_S
    if model.guardrails is not None:
        if experiment is None and model.guardrails.stop:
            raise InputError(shown, "guardrails", "the scenario runs no experiment: there is "
                             "no fault for a guardrail to stop")
        if model.guardrails.interval <= 0:
            raise InputError(shown, "guardrails.interval", "must be longer than 0s")
        interval = model.guardrails.interval
        conditions = build_conditions([item.model_dump() for item in model.guardrails.stop],
                                      shown, spec)
    calendar = None
    venues: list[str] = []
    if model.calendar is not None:
        venues = list(model.calendar.venues)
        calendar = check_calendar(_find_calendar(model.calendar.file, path), venues, shown,
                                  "calendar.venues")
    return Scenario(
        guardrails=tuple(conditions),
        guardrail_interval_s=interval,
        calendar=calendar,
        venues=tuple(venues),
        name=name,
        description=model.description.strip(),
        source=path.resolve(),
        targets=tuple(model.targets),
        load=LoadProfile(**model.load.model_dump()),
        experiment=experiment,
        configuration=dict(model.configuration),
        slo_spec=spec,
        phases=_phase_plan(phases),
        document=document,
        plan=plan,
    )


def _find_calendar(file: str, scenario: Path) -> Path:
    """A calendar file named by a scenario: relative to the scenario, else to the cwd."""
    given = Path(file).expanduser()
    for candidate in (given, scenario.resolve().parent / given):
        if candidate.is_file():
            return candidate.resolve()
    raise InputError(paths.display(scenario), "calendar.file", f"no such file: {file}")


def check_calendar(file: Path, venues: list[str], source: str,
                   field_name: str) -> TradingCalendar:
    """The calendar, loaded now (a broken one names its own file and field), with its
    venues checked."""
    calendar = load_calendar(Path(file))
    check_venues(calendar, venues, source, field_name)
    return calendar


def _check_spec(spec: Path) -> None:
    """Validate the SLO spec now, not after the run (its errors name the spec and field)."""
    from slo.validation import load_spec

    load_spec(spec)




def unknown_configuration(key: str, declared: frozenset[str], experiment: Path | None) -> str:
    """Why ``key`` cannot be set on the experiment ("" when it can)."""
    if key in declared or key.startswith(SETTINGS_PREFIXES):
        return ""
    close = difflib.get_close_matches(key, sorted(declared), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    name = experiment.name if experiment else "the experiment"
    return (f"{name} has no configuration '{key}'{hint}; it takes: "
            f"{', '.join(sorted(declared)) or 'nothing'}")




def _check_fault_phases(fault: float, recovery: float, sources: dict[str, str],
                        shown: str) -> None:
    """A fault phase the fault actions can hold, and a recovery phase to measure."""
    from tradestorm_chaos.limits import MAX_DURATION_S

    source = sources.get("phases.fault", shown)
    if not fault:
        raise InputError(source, "phases.fault", "must be longer than 0s")
    if fault > MAX_DURATION_S:
        raise InputError(source, "phases.fault",
                         f"{format_duration(fault)} is longer than a fault may last "
                         f"({format_duration(MAX_DURATION_S)}, the fault actions' maximum)")
    if not recovery:
        raise InputError(sources.get("phases.recovery", shown), "phases.recovery",
                         "must be longer than 0s: the recovery after the fault is what the "
                         "run measures")


def _check_runner_keys(configuration: dict[str, Any], sources: dict[str, str],
                       shown: str) -> None:
    """Configuration the run sets from its target is not the scenario's to set."""
    for key in configuration:
        if key in RUNNER_KEYS:
            field_name = f"configuration.{key}"
            raise InputError(sources.get(field_name, shown), field_name,
                             f"set by the run, not by a scenario: {RUNNER_KEYS[key]}")


def _plan(experiment: Path, targets: tuple[str, ...], configuration: dict[str, Any],
          fault_s: float, shown: str) -> ExperimentPlan:
    """The scenario's experiment planned once (``tradestorm_chaos.plan``) with its values:
    the scenario's configuration and ``phases.fault``; a value the experiment refuses is
    reported at the scenario. Then the scenario's own rules on it: its targets, and
    configuration names the experiment declares."""
    _check_runner_keys(configuration, {}, shown)
    # the one read of the experiment file
    plan = plan_experiment(experiment, fault_s=fault_s or None, configuration=configuration,
                           origins=Origins(shown))
    unsupported = [t for t in targets if t not in plan.targets]
    if unsupported:
        raise InputError(
            shown, "targets",
            f"the experiment {experiment.name} runs on {', '.join(plan.targets)} only, "
            f"but the scenario lists {', '.join(unsupported)}",
        )
    _check_configuration_names(configuration, plan, {}, shown)
    return plan


def _valid_name(name: str) -> bool:
    return _NAME.fullmatch(name) is not None


def available_scenarios() -> list[str]:
    return paths.names_in(paths.scenario_dirs(), paths.SCENARIO_SUFFIXES)


def find_scenario(name_or_path: str) -> Path:
    """The file of SCENARIO: a path to a file, or a name in experiments/scenarios/."""
    candidate = Path(name_or_path).expanduser()
    if candidate.is_file():
        return candidate
    if paths.looks_like_path(name_or_path):
        if candidate.exists():
            raise InputError(name_or_path, "(file)", "not a file")
        raise InputError(name_or_path, "(file)", "no such file")
    dirs = paths.scenario_dirs()
    found = paths.find_named(name_or_path, dirs, paths.SCENARIO_SUFFIXES)
    if found is None:
        raise ScenarioNotFoundError(
            name_or_path, [paths.display(d) for d in dirs], available_scenarios(),
        )
    return found


def load_scenario(name_or_path: str) -> Scenario:
    """Find and validate SCENARIO (a name from experiments/scenarios/ or a path)."""
    return load_scenario_file(find_scenario(name_or_path))

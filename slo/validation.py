"""Read and validate an SLO spec file (validation raises; evaluation returns results).

:func:`load_spec` turns a multi-document YAML file into a :class:`slo.spec.Spec`
or raises :class:`slo.errors.SpecError` naming the file, the document and the
field path, e.g. ``slo/specs/x.yaml (document 5, ResilienceSpec 'ref'): field
'spec.objectives[2].op': expected one of <=, <, >=, > (or lte, lt, gte, gt)``.

OpenSLO v1 objects are checked on the fields tradestorm uses (other OpenSLO
fields such as ``timeWindow`` or ``alertPolicies`` are accepted and ignored;
other OpenSLO kinds are skipped). The tradestorm ``ResilienceSpec`` is checked
strictly: an unknown field is an error, so a typo never silently weakens a gate.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import yaml

from slo.errors import SpecError
from slo.spec import (
    OP_ALIASES,
    OPS,
    RATIO_AGGREGATES,
    SIDES,
    SLI,
    SLO,
    THRESHOLD_AGGREGATES,
    Comparison,
    Criteria,
    DataSource,
    HPACheck,
    Integrity,
    Objective,
    Recovery,
    ScorePolicy,
    Spec,
    lower_is_better,
)

OPENSLO_API = "openslo/v1"
TRADESTORM_API = "tradestorm.dev/v1"
RESILIENCE_KIND = "ResilienceSpec"
SIDE_LABEL = "tradestorm.dev/side"
UNIT_LABEL = "tradestorm.dev/unit"

_DURATION_RE = re.compile(
    r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$"
)
_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$")


def parse_duration(text: str | int | float) -> float:
    """Seconds in a Prometheus duration (``90s``, ``1m30s``, ``500ms``, ``2h``) or a number."""
    if isinstance(text, bool):
        raise ValueError("expected a duration like 30s, 1m30s or a number of seconds")
    if isinstance(text, int | float):
        if not math.isfinite(text) or text < 0:
            raise ValueError("expected a non-negative duration")
        return float(text)
    match = _DURATION_RE.match(str(text).strip())
    if not match or not any(match.groups()):
        raise ValueError(f"expected a duration like 30s, 1m30s, 500ms or 2h, got {text!r}")
    h, m, s, ms = (float(g) if g else 0.0 for g in match.groups())
    return h * 3600 + m * 60 + s + ms / 1000


class _Doc:
    """Typed field access on one YAML document, raising SpecError with the field path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, path: str, problem: str) -> SpecError:
        return SpecError(self.source, path, problem)

    def mapping(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(path, f"expected a mapping, got {_type_name(value)}")
        for key in value:
            if not isinstance(key, str):
                raise self.error(path, f"keys must be strings, got {key!r}")
        return value

    def only(self, m: dict[str, Any], path: str, allowed: tuple[str, ...]) -> None:
        for key in m:
            if key not in allowed:
                raise self.error(
                    _join(path, key), f"unknown field; expected one of {', '.join(allowed)}"
                )

    def required(self, m: dict[str, Any], path: str, key: str) -> Any:
        if key not in m or m[key] is None:
            raise self.error(_join(path, key), "required field is missing")
        return m[key]

    def string(
        self,
        m: dict[str, Any],
        path: str,
        key: str,
        default: str | None = None,
        required: bool = False,
    ) -> str | None:
        if key not in m or m[key] is None:
            if required:
                raise self.error(_join(path, key), "required field is missing")
            return default
        value = m[key]
        if not isinstance(value, str) or not value.strip():
            raise self.error(
                _join(path, key), f"expected a non-empty string, got {_type_name(value)}"
            )
        return value.strip()

    def name(self, m: dict[str, Any], path: str, key: str = "name") -> str:
        value = self.string(m, path, key, required=True)
        assert value is not None
        if not _NAME_RE.match(value):
            raise self.error(
                _join(path, key),
                f"{value!r} is not a valid name (lower-case letters, digits, '-', '_', '.')",
            )
        return value

    def number(
        self,
        m: dict[str, Any],
        path: str,
        key: str,
        default: float | None = None,
        required: bool = False,
        minimum: float | None = None,
        maximum: float | None = None,
        exclusive_minimum: bool = False,
    ) -> float | None:
        if key not in m or m[key] is None:
            if required:
                raise self.error(_join(path, key), "required field is missing")
            return default
        value = m[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise self.error(_join(path, key), f"expected a number, got {_type_name(value)}")
        if minimum is not None and (value < minimum or (exclusive_minimum and value == minimum)):
            relation = ">" if exclusive_minimum else ">="
            raise self.error(_join(path, key), f"must be {relation} {minimum:g}, got {value:g}")
        if maximum is not None and value > maximum:
            raise self.error(_join(path, key), f"must be <= {maximum:g}, got {value:g}")
        return float(value)

    def integer(self, m: dict[str, Any], path: str, key: str, default: int, minimum: int) -> int:
        if key not in m or m[key] is None:
            return default
        value = m[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(_join(path, key), f"expected an integer, got {_type_name(value)}")
        if value < minimum:
            raise self.error(_join(path, key), f"must be >= {minimum}, got {value}")
        return value

    def boolean(self, m: dict[str, Any], path: str, key: str, default: bool) -> bool:
        if key not in m or m[key] is None:
            return default
        value = m[key]
        if not isinstance(value, bool):
            raise self.error(_join(path, key), f"expected true or false, got {_type_name(value)}")
        return value

    def duration(
        self,
        m: dict[str, Any],
        path: str,
        key: str,
        default: float | None = None,
        required: bool = False,
    ) -> float | None:
        if key not in m or m[key] is None:
            if required:
                raise self.error(_join(path, key), "required field is missing")
            return default
        try:
            return parse_duration(m[key])
        except ValueError as exc:
            raise self.error(_join(path, key), str(exc)) from None

    def op(
        self,
        m: dict[str, Any],
        path: str,
        key: str = "op",
        default: str | None = None,
        required: bool = True,
    ) -> str | None:
        if key not in m or m[key] is None:
            if required and default is None:
                raise self.error(_join(path, key), "required field is missing")
            return default
        value = m[key]
        op = OP_ALIASES.get(value, value) if isinstance(value, str) else None
        if op not in OPS:
            raise self.error(
                _join(path, key),
                f"expected one of {', '.join(OPS)} (or {', '.join(OP_ALIASES)}), got {value!r}",
            )
        return op

    def choice(
        self,
        m: dict[str, Any],
        path: str,
        key: str,
        choices: tuple[str, ...],
        default: str | None = None,
    ) -> str | None:
        if key not in m or m[key] is None:
            return default
        value = m[key]
        if value not in choices:
            raise self.error(
                _join(path, key), f"expected one of {', '.join(choices)}, got {value!r}"
            )
        return value

    def sequence(self, m: dict[str, Any], path: str, key: str) -> list[Any]:
        if key not in m or m[key] is None:
            return []
        value = m[key]
        if not isinstance(value, list):
            raise self.error(_join(path, key), f"expected a list, got {_type_name(value)}")
        return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"a boolean ({value!r})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"a string ({value!r})"
    return f"{type(value).__name__} ({value!r})"


def load_spec(path: str | Path) -> Spec:
    """Read the spec file at ``path``; raise :class:`SpecError` when anything is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(path, "(file)", "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(path, "(file)", f"cannot read: {exc}") from None
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(yaml)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(path, where, f"invalid YAML: {problem}") from None
    return parse_spec(documents, path)


def parse_spec(documents: list[Any], path: Path) -> Spec:
    """Build a :class:`Spec` from already-parsed YAML documents (``path`` names them in errors)."""
    if not documents:
        raise SpecError(
            path, "(file)", "empty spec: expected OpenSLO documents and one ResilienceSpec"
        )
    datasources: dict[str, DataSource] = {}
    raw_slis: list[tuple[_Doc, dict[str, Any]]] = []
    raw_slos: list[tuple[_Doc, dict[str, Any]]] = []
    resilience: list[tuple[_Doc, dict[str, Any]]] = []
    for index, document in enumerate(documents, start=1):
        doc = _Doc(f"{path} (document {index})")
        top = doc.mapping(document, "")
        api = doc.string(top, "", "apiVersion", required=True)
        kind = doc.string(top, "", "kind", required=True)
        metadata = doc.mapping(doc.required(top, "", "metadata"), "metadata")
        name = doc.name(metadata, "metadata")
        doc.source = f"{path} (document {index}, {kind} '{name}')"
        if api == OPENSLO_API:
            if kind == "DataSource":
                ds = _datasource(doc, top, name)
                datasources[ds.name] = ds
            elif kind == "SLI":
                raw_slis.append((doc, top))
            elif kind == "SLO":
                raw_slos.append((doc, top))
            # other OpenSLO kinds (Service, AlertPolicy, ...) do not affect the gate
        elif api == TRADESTORM_API:
            if kind != RESILIENCE_KIND:
                raise doc.error(
                    "kind",
                    f"expected {RESILIENCE_KIND} for apiVersion {TRADESTORM_API}, got {kind!r}",
                )
            resilience.append((doc, top))
        else:
            raise doc.error(
                "apiVersion", f"expected {OPENSLO_API} or {TRADESTORM_API}, got {api!r}"
            )
    if len(resilience) != 1:
        raise SpecError(
            path,
            "kind",
            f"expected exactly one {TRADESTORM_API} {RESILIENCE_KIND} "
            f"document, found {len(resilience)}",
        )

    slis: dict[str, SLI] = {}
    for doc, top in raw_slis:
        sli = _sli(
            doc,
            top["metadata"],
            doc.mapping(doc.required(top, "", "spec"), "spec"),
            "spec",
            datasources,
        )
        if sli.name in slis:
            raise doc.error("metadata.name", f"duplicate SLI name {sli.name!r}")
        slis[sli.name] = sli
    slos: dict[str, SLO] = {}
    for doc, top in raw_slos:
        slo = _slo(doc, top, slis, datasources)
        if slo.name in slos:
            raise doc.error("metadata.name", f"duplicate SLO name {slo.name!r}")
        slos[slo.name] = slo
    doc, top = resilience[0]
    return _resilience(doc, top, path, datasources, slis, slos)


def _datasource(doc: _Doc, top: dict[str, Any], name: str) -> DataSource:
    spec = doc.mapping(doc.required(top, "", "spec"), "spec")
    kind = doc.string(spec, "spec", "type", required=True)
    if kind is None or kind.lower() != "prometheus":
        raise doc.error("spec.type", f"only Prometheus data sources are supported, got {kind!r}")
    url = None
    if spec.get("connectionDetails") is not None:
        details = doc.mapping(spec["connectionDetails"], "spec.connectionDetails")
        url = doc.string(details, "spec.connectionDetails", "url")
        if url and not url.startswith(("http://", "https://")):
            raise doc.error("spec.connectionDetails.url", f"expected an http(s) URL, got {url!r}")
    return DataSource(name=name, url=url)


def _metric_query(
    doc: _Doc, value: Any, path: str, datasources: dict[str, DataSource]
) -> tuple[str, str | None]:
    node = doc.mapping(value, path)
    source = doc.mapping(doc.required(node, path, "metricSource"), _join(path, "metricSource"))
    spath = _join(path, "metricSource")
    ref = doc.string(source, spath, "metricSourceRef")
    if ref is not None and ref not in datasources:
        known = ", ".join(sorted(datasources)) or "none defined"
        raise doc.error(
            _join(spath, "metricSourceRef"), f"unknown DataSource {ref!r} (known: {known})"
        )
    kind = doc.string(source, spath, "type")
    if kind is not None and kind.lower() != "prometheus":
        raise doc.error(
            _join(spath, "type"), f"only Prometheus metric sources are supported, got {kind!r}"
        )
    inner = doc.mapping(doc.required(source, spath, "spec"), _join(spath, "spec"))
    query = doc.string(inner, _join(spath, "spec"), "query", required=True)
    assert query is not None
    return query, ref


def _sli(
    doc: _Doc,
    metadata: dict[str, Any],
    spec: dict[str, Any],
    path: str,
    datasources: dict[str, DataSource],
) -> SLI:
    name = doc.name(metadata, _join(path, "metadata") if path != "spec" else "metadata")
    labels = metadata.get("labels") or {}
    if not isinstance(labels, dict):
        raise doc.error("metadata.labels", f"expected a mapping, got {_type_name(labels)}")
    side = labels.get(SIDE_LABEL)
    if isinstance(side, list):  # OpenSLO label values may be lists
        side = side[0] if side else None
    if side is not None and side not in SIDES:
        raise doc.error(
            f"metadata.labels.{SIDE_LABEL}", f"expected one of {', '.join(SIDES)}, got {side!r}"
        )
    unit = labels.get(UNIT_LABEL) or ""
    if isinstance(unit, list):
        unit = unit[0] if unit else ""
    description = doc.string(spec, path, "description", default="") or ""
    has_threshold = spec.get("thresholdMetric") is not None
    has_ratio = spec.get("ratioMetric") is not None
    if has_threshold == has_ratio:
        raise doc.error(path, "expected exactly one of thresholdMetric, ratioMetric")
    if has_threshold:
        query, ref = _metric_query(
            doc, spec["thresholdMetric"], _join(path, "thresholdMetric"), datasources
        )
        return SLI(
            name=name,
            kind="threshold",
            query=query,
            description=description,
            side=side,
            unit=str(unit),
            datasource=ref,
        )
    rpath = _join(path, "ratioMetric")
    ratio = doc.mapping(spec["ratioMetric"], rpath)
    counter = doc.boolean(ratio, rpath, "counter", False)
    if ratio.get("rawType") is not None or ratio.get("raw") is not None:
        raise doc.error(
            _join(rpath, "raw"), "raw ratio metrics are not supported; use good or bad with total"
        )
    has_good, has_bad = ratio.get("good") is not None, ratio.get("bad") is not None
    if has_good == has_bad:
        raise doc.error(rpath, "expected exactly one of good, bad (with total)")
    good = bad = None
    ref = None
    if has_good:
        good, ref = _metric_query(doc, ratio["good"], _join(rpath, "good"), datasources)
    else:
        bad, ref = _metric_query(doc, ratio["bad"], _join(rpath, "bad"), datasources)
    total, _ = _metric_query(
        doc, doc.required(ratio, rpath, "total"), _join(rpath, "total"), datasources
    )
    return SLI(
        name=name,
        kind="ratio",
        good=good,
        bad=bad,
        total=total,
        counter=counter,
        description=description,
        side=side,
        unit=str(unit) or "ratio",
        datasource=ref,
    )


def _slo(
    doc: _Doc, top: dict[str, Any], slis: dict[str, SLI], datasources: dict[str, DataSource]
) -> SLO:
    name = top["metadata"]["name"]
    spec = doc.mapping(doc.required(top, "", "spec"), "spec")
    has_ref = spec.get("indicatorRef") is not None
    has_inline = spec.get("indicator") is not None
    if has_ref == has_inline:
        raise doc.error("spec", "expected exactly one of indicatorRef, indicator")
    if has_ref:
        ref = doc.string(spec, "spec", "indicatorRef", required=True)
        if ref not in slis:
            known = ", ".join(sorted(slis)) or "none defined"
            raise doc.error("spec.indicatorRef", f"unknown SLI {ref!r} (known: {known})")
        sli = slis[ref]
    else:
        inline = doc.mapping(spec["indicator"], "spec.indicator")
        meta = doc.mapping(
            doc.required(inline, "spec.indicator", "metadata"), "spec.indicator.metadata"
        )
        ispec = doc.mapping(doc.required(inline, "spec.indicator", "spec"), "spec.indicator.spec")
        sli = _sli(doc, meta, ispec, "spec.indicator.spec", datasources)
    objectives = doc.sequence(spec, "spec", "objectives")
    if len(objectives) != 1:
        raise doc.error(
            "spec.objectives", f"tradestorm judges one objective per SLO, found {len(objectives)}"
        )
    opath = "spec.objectives[0]"
    objective = doc.mapping(objectives[0], opath)
    target = doc.number(objective, opath, "target", required=True, minimum=0, maximum=1)
    assert target is not None
    op = value = None
    if sli.kind == "threshold":
        op = doc.op(objective, opath)
        value = doc.number(objective, opath, "value", required=True)
    description = doc.string(spec, "spec", "description", default="") or ""
    return SLO(name=name, sli=sli, target=target, op=op, value=value, description=description)


_OBJECTIVE_FIELDS = (
    "name",
    "description",
    "sli",
    "slo",
    "side",
    "unit",
    "aggregate",
    "op",
    "target",
    "warning",
    "threshold",
    "thresholdOp",
    "phases",
    "key",
    "weight",
)
_CRITERIA_FIELDS = ("target", "warning")
_RECOVERY_FIELDS = (
    "name",
    "description",
    "sli",
    "op",
    "threshold",
    "consecutive",
    "within",
    "warningAfter",
    "fault",
    "key",
    "weight",
)
_HPA_FIELDS = (
    "name",
    "description",
    "service",
    "hpa",
    "namespace",
    "loadPhase",
    "scaleOutWithin",
    "maxReplicasHit",
    "scaleIn",
    "maxFlaps",
    "fault",
    "key",
    "weight",
)
_COMPARISON_FIELDS = ("name", "objective", "phase", "maxWorsePct", "warningPct", "key", "weight")


def _resilience(
    doc: _Doc,
    top: dict[str, Any],
    path: Path,
    datasources: dict[str, DataSource],
    slis: dict[str, SLI],
    slos: dict[str, SLO],
) -> Spec:
    doc.only(top, "", ("apiVersion", "kind", "metadata", "spec"))
    name = top["metadata"]["name"]
    spec = doc.mapping(doc.required(top, "", "spec"), "spec")
    doc.only(
        spec,
        "spec",
        ("dataSource", "step", "score", "objectives", "recovery", "hpa", "integrity", "comparison"),
    )
    ds_name = doc.string(spec, "spec", "dataSource")
    if ds_name is not None and ds_name not in datasources:
        raise doc.error("spec.dataSource", f"unknown DataSource {ds_name!r}")
    datasource = datasources.get(ds_name) if ds_name else (next(iter(datasources.values()), None))
    step = doc.duration(spec, "spec", "step", default=1.0)
    assert step is not None
    if step <= 0:
        raise doc.error("spec.step", "must be > 0")

    score = ScorePolicy()
    if spec.get("score") is not None:
        s = doc.mapping(spec["score"], "spec.score")
        doc.only(s, "spec.score", ("pass", "warning"))
        passing = doc.number(s, "spec.score", "pass", default=90.0, minimum=0, maximum=100)
        warning = doc.number(
            s, "spec.score", "warning", default=min(75.0, passing or 0), minimum=0, maximum=100
        )
        assert passing is not None and warning is not None
        if warning > passing:
            raise doc.error(
                "spec.score.warning", f"must be <= score.pass ({passing:g}), got {warning:g}"
            )
        score = ScorePolicy(passing=passing, warning=warning)

    objectives: list[Objective] = []
    for i, raw in enumerate(doc.sequence(spec, "spec", "objectives")):
        objective = _objective(doc, raw, f"spec.objectives[{i}]", slis, slos)
        if any(o.name == objective.name for o in objectives):
            raise doc.error(
                f"spec.objectives[{i}].name", f"duplicate objective name {objective.name!r}"
            )
        objectives.append(objective)

    recovery: list[Recovery] = []
    for i, raw in enumerate(doc.sequence(spec, "spec", "recovery")):
        item = _recovery(doc, raw, f"spec.recovery[{i}]", slis)
        if any(r.name == item.name for r in recovery):
            raise doc.error(f"spec.recovery[{i}].name", f"duplicate recovery name {item.name!r}")
        recovery.append(item)

    hpa: list[HPACheck] = []
    for i, raw in enumerate(doc.sequence(spec, "spec", "hpa")):
        check = _hpa(doc, raw, f"spec.hpa[{i}]")
        if any(h.name == check.name for h in hpa):
            raise doc.error(f"spec.hpa[{i}].name", f"duplicate hpa name {check.name!r}")
        hpa.append(check)

    integrity = Integrity()
    raw_integrity = spec.get("integrity")
    if raw_integrity is False:
        integrity = Integrity(enabled=False)
    elif raw_integrity is not None and raw_integrity is not True:
        m = doc.mapping(raw_integrity, "spec.integrity")
        doc.only(m, "spec.integrity", ("key", "weight"))
        integrity = Integrity(
            enabled=True,
            key=doc.boolean(m, "spec.integrity", "key", True),
            weight=doc.number(m, "spec.integrity", "weight", default=3.0, minimum=0) or 0.0,
        )

    comparisons: list[Comparison] = []
    comparison_root: Path | None = None
    if spec.get("comparison") is not None:
        c = doc.mapping(spec["comparison"], "spec.comparison")
        doc.only(c, "spec.comparison", ("resultsRoot", "criteria"))
        root = doc.string(c, "spec.comparison", "resultsRoot")
        if root is not None:
            comparison_root = Path(root)
        for i, raw in enumerate(doc.sequence(c, "spec.comparison", "criteria")):
            item = _comparison(doc, raw, f"spec.comparison.criteria[{i}]", objectives)
            if any(x.name == item.name for x in comparisons):
                raise doc.error(
                    f"spec.comparison.criteria[{i}].name", f"duplicate name {item.name!r}"
                )
            comparisons.append(item)

    if not (objectives or recovery or hpa or comparisons or integrity.enabled):
        raise doc.error("spec.objectives", "the spec judges nothing: add objectives")
    return Spec(
        path=path,
        name=name,
        datasource=datasource,
        step_s=step,
        objectives=tuple(objectives),
        recovery=tuple(recovery),
        hpa=tuple(hpa),
        integrity=integrity,
        comparisons=tuple(comparisons),
        comparison_root=comparison_root,
        score=score,
        slis=slis,
        slos=slos,
    )


def _sli_ref(doc: _Doc, m: dict[str, Any], path: str, slis: dict[str, SLI]) -> SLI:
    ref = doc.string(m, path, "sli", required=True)
    if ref not in slis:
        known = ", ".join(sorted(slis)) or "none defined"
        raise doc.error(_join(path, "sli"), f"unknown SLI {ref!r} (known: {known})")
    return slis[ref]


def _weight_key(doc: _Doc, m: dict[str, Any], path: str) -> tuple[bool, float]:
    key = doc.boolean(m, path, "key", False)
    weight = doc.number(m, path, "weight", default=1.0, minimum=0)
    assert weight is not None
    return key, weight


def _check_warning(doc: _Doc, path: str, op: str, target: float, warning: float | None) -> None:
    if warning is None:
        return
    stricter = warning <= target if lower_is_better(op) else warning >= target
    if not stricter:
        word = "<=" if lower_is_better(op) else ">="
        raise doc.error(
            _join(path, "warning"),
            f"with op {op!r} the warning threshold must be {word} the target "
            f"({target:g}), got {warning:g}",
        )


def _objective(
    doc: _Doc, raw: Any, path: str, slis: dict[str, SLI], slos: dict[str, SLO]
) -> Objective:
    m = doc.mapping(raw, path)
    doc.only(m, path, _OBJECTIVE_FIELDS)
    name = doc.name(m, path)
    has_sli, has_slo = m.get("sli") is not None, m.get("slo") is not None
    if has_sli == has_slo:
        raise doc.error(path, "expected exactly one of sli, slo")
    slo_name = None
    default_target: float | None = None
    sample_op = sample_threshold = None
    if has_slo:
        slo_name = doc.string(m, path, "slo", required=True)
        if slo_name not in slos:
            known = ", ".join(sorted(slos)) or "none defined"
            raise doc.error(_join(path, "slo"), f"unknown SLO {slo_name!r} (known: {known})")
        slo = slos[slo_name]
        sli = slo.sli
        aggregate = "ratio" if sli.kind == "ratio" else "compliance"
        if m.get("aggregate") not in (None, aggregate):
            raise doc.error(
                _join(path, "aggregate"),
                f"an objective from an OpenSLO SLO is judged by {aggregate!r}",
            )
        op = doc.op(m, path, default=">=")
        default_target = slo.target
        sample_op, sample_threshold = slo.op, slo.value
        description = doc.string(m, path, "description", default=slo.description) or ""
    else:
        sli = _sli_ref(doc, m, path, slis)
        choices = RATIO_AGGREGATES if sli.kind == "ratio" else THRESHOLD_AGGREGATES
        aggregate = (
            doc.choice(
                m, path, "aggregate", choices, default="ratio" if sli.kind == "ratio" else None
            )
            or ""
        )
        if not aggregate:
            raise doc.error(
                _join(path, "aggregate"),
                f"required field is missing; expected one of {', '.join(choices)}",
            )
        op = doc.op(m, path)
        description = doc.string(m, path, "description", default=sli.description) or ""
        if aggregate == "compliance":
            sample_op = doc.op(m, path, "thresholdOp")
            sample_threshold = doc.number(m, path, "threshold", required=True)
    assert op is not None
    if aggregate in ("compliance", "ratio"):
        for k in ("target", "warning"):
            doc.number(m, path, k, minimum=0, maximum=1)
    target = doc.number(m, path, "target", default=default_target)
    warning = doc.number(m, path, "warning")
    side = doc.choice(m, path, "side", SIDES, default=sli.side)
    unit = (
        doc.string(m, path, "unit", default="ratio" if aggregate == "compliance" else sli.unit)
        or ""
    )
    key, weight = _weight_key(doc, m, path)

    phases: dict[str, Criteria] = {}
    raw_phases = doc.required(m, path, "phases")
    ppath = _join(path, "phases")
    if isinstance(raw_phases, list):
        entries: list[tuple[str, Any]] = []
        for i, phase in enumerate(raw_phases):
            if not isinstance(phase, str) or not phase:
                raise doc.error(f"{ppath}[{i}]", f"expected a phase name, got {_type_name(phase)}")
            entries.append((phase, None))
    elif isinstance(raw_phases, dict):
        entries = list(raw_phases.items())
    else:
        raise doc.error(
            ppath,
            f"expected a list of phase names or a mapping phase -> criteria, "
            f"got {_type_name(raw_phases)}",
        )
    if not entries:
        raise doc.error(ppath, "expected at least one phase")
    for phase, criteria in entries:
        cpath = _join(ppath, str(phase))
        if phase in phases:
            raise doc.error(cpath, "phase listed twice")
        c = doc.mapping(criteria, cpath) if criteria is not None else {}
        doc.only(c, cpath, _CRITERIA_FIELDS)
        bounds = (0.0, 1.0) if aggregate in ("compliance", "ratio") else (None, None)
        phase_target = doc.number(
            c, cpath, "target", default=target, minimum=bounds[0], maximum=bounds[1]
        )
        phase_warning = doc.number(
            c,
            cpath,
            "warning",
            default=warning if "target" not in c else None,
            minimum=bounds[0],
            maximum=bounds[1],
        )
        if phase_target is None:
            raise doc.error(
                _join(cpath, "target"),
                "required field is missing (give it here or at the objective level)",
            )
        _check_warning(
            doc, cpath if "warning" in c or "target" in c else path, op, phase_target, phase_warning
        )
        phases[str(phase)] = Criteria(target=phase_target, warning=phase_warning)
    return Objective(
        name=name,
        sli=sli,
        aggregate=aggregate,
        op=op,
        phases=phases,
        description=description,
        key=key,
        weight=weight,
        side=side,
        unit=unit,
        sample_op=sample_op,
        sample_threshold=sample_threshold,
        slo=slo_name,
    )


def _recovery(doc: _Doc, raw: Any, path: str, slis: dict[str, SLI]) -> Recovery:
    m = doc.mapping(raw, path)
    doc.only(m, path, _RECOVERY_FIELDS)
    name = doc.name(m, path)
    sli = _sli_ref(doc, m, path, slis)
    if sli.kind != "threshold":
        raise doc.error(
            _join(path, "sli"), f"recovery needs a threshold SLI, {sli.name!r} is a ratio SLI"
        )
    op = doc.op(m, path)
    threshold = doc.number(m, path, "threshold", required=True)
    within = doc.duration(m, path, "within", required=True)
    warning_after = doc.duration(m, path, "warningAfter")
    assert op is not None and threshold is not None and within is not None
    if warning_after is not None and warning_after > within:
        raise doc.error(_join(path, "warningAfter"), f"must be <= within ({within:g}s)")
    consecutive = doc.integer(m, path, "consecutive", default=3, minimum=1)
    action, target = _fault_filter(doc, m, path)
    key, weight = _weight_key(doc, m, path)
    return Recovery(
        name=name,
        sli=sli,
        op=op,
        threshold=threshold,
        target_seconds=within,
        warning_seconds=warning_after,
        consecutive=consecutive,
        fault_action=action,
        fault_target=target,
        description=doc.string(m, path, "description", default="") or "",
        key=key,
        weight=weight,
    )


def _fault_filter(doc: _Doc, m: dict[str, Any], path: str) -> tuple[str | None, str | None]:
    """``fault: {action, target}``: which run.json faults an item applies to."""
    if m.get("fault") is None:
        return None, None
    fpath = _join(path, "fault")
    f = doc.mapping(m["fault"], fpath)
    doc.only(f, fpath, ("action", "target"))
    action, target = doc.string(f, fpath, "action"), doc.string(f, fpath, "target")
    if action is None and target is None:
        raise doc.error(fpath, "give action, target or both")
    return action, target


def _hpa(doc: _Doc, raw: Any, path: str) -> HPACheck:
    m = doc.mapping(raw, path)
    doc.only(m, path, _HPA_FIELDS)
    name = doc.name(m, path)
    service = doc.string(m, path, "service", required=True)
    assert service is not None
    key, weight = _weight_key(doc, m, path)
    action, target = _fault_filter(doc, m, path)
    return HPACheck(
        fault_action=action,
        fault_target=target,
        name=name,
        service=service,
        hpa=doc.string(m, path, "hpa", default=service) or service,
        namespace=doc.string(m, path, "namespace", default="tradestorm") or "tradestorm",
        load_phase=doc.string(m, path, "loadPhase", default="fault") or "fault",
        scale_out_within_s=doc.duration(m, path, "scaleOutWithin", default=120.0) or 0.0,
        max_replicas_hit=doc.choice(
            m, path, "maxReplicasHit", ("fail", "warn", "ignore"), default="warn"
        )
        or "warn",
        scale_in=doc.boolean(m, path, "scaleIn", True),
        max_flaps=doc.integer(m, path, "maxFlaps", default=0, minimum=0),
        description=doc.string(m, path, "description", default="") or "",
        key=key,
        weight=weight,
    )


def _comparison(doc: _Doc, raw: Any, path: str, objectives: list[Objective]) -> Comparison:
    m = doc.mapping(raw, path)
    doc.only(m, path, _COMPARISON_FIELDS)
    objective_name = doc.string(m, path, "objective", required=True)
    objective = next((o for o in objectives if o.name == objective_name), None)
    if objective is None:
        raise doc.error(_join(path, "objective"), f"unknown objective {objective_name!r}")
    phase = doc.string(m, path, "phase", default=next(iter(objective.phases)))
    assert phase is not None
    if phase not in objective.phases:
        raise doc.error(
            _join(path, "phase"),
            f"objective {objective_name!r} is not judged in phase "
            f"{phase!r} (its phases: {', '.join(objective.phases)})",
        )
    max_worse = doc.number(m, path, "maxWorsePct", required=True, minimum=0)
    warning = doc.number(m, path, "warningPct", minimum=0)
    assert max_worse is not None
    if warning is not None and warning > max_worse:
        raise doc.error(
            _join(path, "warningPct"), f"must be <= maxWorsePct ({max_worse:g}), got {warning:g}"
        )
    key, weight = _weight_key(doc, m, path)
    name = doc.string(m, path, "name", default=f"{objective_name}-{phase}-vs-previous") or ""
    return Comparison(
        name=name,
        objective=str(objective_name),
        phase=phase,
        max_worse_pct=max_worse,
        warning_pct=warning,
        key=key,
        weight=weight,
    )

"""OpenSLO v1 documents tradestorm reads: ``DataSource``, ``SLI`` (threshold or ratio
metric) and ``SLO`` (one objective). Only the fields tradestorm uses are checked;
other OpenSLO fields (``timeWindow``, ``alertPolicies``, ...) are accepted and ignored."""

from __future__ import annotations

from typing import Any

from slo.fields import Doc, join, type_name
from slo.spec import SIDES, SLI, SLO, DataSource

OPENSLO_API = "openslo/v1"
SIDE_LABEL = "tradestorm.dev/side"
UNIT_LABEL = "tradestorm.dev/unit"
# a counter SLI's query of when each process was scraped (slo/counters.py)
SCRAPED_AT_ANNOTATION = "tradestorm.dev/scraped-at"
# a client latency SLI's twin in the load's HDR log: "sent 99" or "intended 99.9"
HDR_ANNOTATION = "tradestorm.dev/hdr"


def datasource(doc: Doc, top: dict[str, Any], name: str) -> DataSource:
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
    doc: Doc, value: Any, path: str, datasources: dict[str, DataSource]
) -> tuple[str, str | None]:
    node = doc.mapping(value, path)
    source = doc.mapping(doc.required(node, path, "metricSource"), join(path, "metricSource"))
    spath = join(path, "metricSource")
    ref = doc.string(source, spath, "metricSourceRef")
    if ref is not None and ref not in datasources:
        known = ", ".join(sorted(datasources)) or "none defined"
        raise doc.error(
            join(spath, "metricSourceRef"), f"unknown DataSource {ref!r} (known: {known})"
        )
    kind = doc.string(source, spath, "type")
    if kind is not None and kind.lower() != "prometheus":
        raise doc.error(
            join(spath, "type"), f"only Prometheus metric sources are supported, got {kind!r}"
        )
    inner = doc.mapping(doc.required(source, spath, "spec"), join(spath, "spec"))
    query = doc.string(inner, join(spath, "spec"), "query", required=True)
    assert query is not None
    doc.queries.append((join(join(spath, "spec"), "query"), query))
    return query, ref


def sli_document(
    doc: Doc,
    metadata: dict[str, Any],
    spec: dict[str, Any],
    path: str,
    datasources: dict[str, DataSource],
) -> SLI:
    name = doc.name(metadata, join(path, "metadata") if path != "spec" else "metadata")
    labels = metadata.get("labels") or {}
    if not isinstance(labels, dict):
        raise doc.error("metadata.labels", f"expected a mapping, got {type_name(labels)}")
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
    annotations = metadata.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise doc.error("metadata.annotations", f"expected a mapping, got "
                        f"{type_name(annotations)}")
    if has_threshold:
        query, ref = _metric_query(
            doc, spec["thresholdMetric"], join(path, "thresholdMetric"), datasources
        )
        return SLI(
            name=name,
            kind="threshold",
            hdr=_hdr(doc, annotations.get(HDR_ANNOTATION)),
            query=query,
            description=description,
            side=side,
            unit=str(unit),
            datasource=ref,
        )
    rpath = join(path, "ratioMetric")
    ratio = doc.mapping(spec["ratioMetric"], rpath)
    counter = doc.boolean(ratio, rpath, "counter", False)
    if ratio.get("rawType") is not None or ratio.get("raw") is not None:
        raise doc.error(
            join(rpath, "raw"), "raw ratio metrics are not supported; use good or bad with total"
        )
    has_good, has_bad = ratio.get("good") is not None, ratio.get("bad") is not None
    if has_good == has_bad:
        raise doc.error(rpath, "expected exactly one of good, bad (with total)")
    good = bad = None
    ref = None
    if has_good:
        good, ref = _metric_query(doc, ratio["good"], join(rpath, "good"), datasources)
    else:
        bad, ref = _metric_query(doc, ratio["bad"], join(rpath, "bad"), datasources)
    total, _ = _metric_query(
        doc, doc.required(ratio, rpath, "total"), join(rpath, "total"), datasources
    )
    if annotations.get(HDR_ANNOTATION) is not None:
        raise doc.error(f"metadata.annotations.{HDR_ANNOTATION}",
                        "only a threshold SLI (a latency) has an HDR twin")
    scraped_at = annotations.get(SCRAPED_AT_ANNOTATION)
    if scraped_at is not None and (not isinstance(scraped_at, str) or not scraped_at.strip()):
        raise doc.error(f"metadata.annotations.{SCRAPED_AT_ANNOTATION}",
                        "expected a PromQL query giving each process's scrape time")
    if scraped_at is not None and not counter:
        raise doc.error(f"metadata.annotations.{SCRAPED_AT_ANNOTATION}",
                        "only a ratio SLI over counters (counter: true) has scrape times")
    if scraped_at is not None:
        doc.queries.append((f"metadata.annotations.{SCRAPED_AT_ANNOTATION}", scraped_at))
    return SLI(
        name=name,
        kind="ratio",
        good=good,
        bad=bad,
        total=total,
        counter=counter,
        scraped_at=scraped_at,
        description=description,
        side=side,
        unit=str(unit) or "ratio",
        datasource=ref,
    )


def _hdr(doc: Doc, value: Any) -> tuple[str, float] | None:
    """``"sent 99"`` / ``"intended 99.9"`` as (kind, percentile)."""
    if value is None:
        return None
    parts = str(value).split()
    field = f"metadata.annotations.{HDR_ANNOTATION}"
    if len(parts) != 2 or parts[0] not in ("sent", "intended"):
        raise doc.error(field, f"expected 'sent PERCENTILE' or 'intended PERCENTILE' "
                        f"(e.g. 'sent 99'), got {value!r}")
    try:
        percentile = float(parts[1])
    except ValueError:
        percentile = -1.0
    if not 0 < percentile <= 100:
        raise doc.error(field, f"the percentile must be in (0, 100], got {parts[1]!r}")
    return parts[0], percentile


def slo_document(
    doc: Doc, top: dict[str, Any], slis: dict[str, SLI], datasources: dict[str, DataSource]
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
        sli = sli_document(doc, meta, ispec, "spec.indicator.spec", datasources)
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

"""Read and validate an SLO spec file (validation raises; evaluation returns results).

:func:`load_spec` turns a multi-document YAML file into a :class:`slo.spec.Spec`
or raises :class:`slo.errors.SpecError` naming the file, the document and the
field path, e.g. ``slo/specs/x.yaml (document 5, ResilienceSpec 'ref'): field
'spec.objectives[2].op': expected one of <=, <, >=, > (or lte, lt, gte, gt)``.

OpenSLO v1 objects are read by :mod:`slo.openslo` (lenient on fields tradestorm
does not use; other OpenSLO kinds are skipped), the tradestorm ResilienceSpec
by :mod:`slo.resilience` (strict). Every PromQL query is parsed by Prometheus' own
parser (:mod:`slo.promql`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from slo.errors import SpecError
from slo.fields import Doc, parse_duration
from slo.openslo import OPENSLO_API, datasource, sli_document, slo_document
from slo.promql import Query, check_queries
from slo.resilience import RESILIENCE_KIND, TRADESTORM_API, resilience_document
from slo.spec import SLI, SLO, DataSource, Spec

__all__ = ["load_spec", "parse_duration", "parse_spec"]


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
    raw_slis: list[tuple[Doc, dict[str, Any]]] = []
    raw_slos: list[tuple[Doc, dict[str, Any]]] = []
    resilience: list[tuple[Doc, dict[str, Any]]] = []
    for index, document in enumerate(documents, start=1):
        doc = Doc(f"{path} (document {index})")
        top = doc.mapping(document, "")
        api = doc.string(top, "", "apiVersion", required=True)
        kind = doc.string(top, "", "kind", required=True)
        metadata = doc.mapping(doc.required(top, "", "metadata"), "metadata")
        name = doc.name(metadata, "metadata")
        doc.source = f"{path} (document {index}, {kind} '{name}')"
        if api == OPENSLO_API:
            if kind == "DataSource":
                ds = datasource(doc, top, name)
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
        sli = sli_document(
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
        slo = slo_document(doc, top, slis, datasources)
        if slo.name in slos:
            raise doc.error("metadata.name", f"duplicate SLO name {slo.name!r}")
        slos[slo.name] = slo
    doc, top = resilience[0]
    spec = resilience_document(doc, top, path, datasources, slis, slos)
    check_queries([Query(d.source, field, text) for d, _ in (*raw_slis, *raw_slos)
                   for field, text in d.queries])
    return spec

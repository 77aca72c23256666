# ruff: noqa: E501  (YAML lines)
"""Spec files for the known-answer tests: OpenSLO SLIs over one ``case`` label, plus a
ResilienceSpec body given by each test."""

from __future__ import annotations

import textwrap
from pathlib import Path

SLIS = """\
apiVersion: openslo/v1
kind: DataSource
metadata: {{name: prom}}
spec: {{type: Prometheus, connectionDetails: {{}}}}
---
apiVersion: openslo/v1
kind: SLI
metadata:
  name: latency
  labels: {{tradestorm.dev/side: client, tradestorm.dev/unit: s}}
spec:
  thresholdMetric:
    metricSource: {{metricSourceRef: prom, type: Prometheus, spec: {{query: 'client:latency_seconds:p99_10s{{case="{case}"}}'}}}}
---
apiVersion: openslo/v1
kind: SLI
metadata:
  name: errors
  labels: {{tradestorm.dev/side: client}}
spec:
  thresholdMetric:
    metricSource: {{metricSourceRef: prom, type: Prometheus, spec: {{query: 'client:errors:ratio_rate10s{{case="{errors_case}"}}'}}}}
---
apiVersion: openslo/v1
kind: SLI
metadata: {{name: availability}}
spec:
  ratioMetric:
    counter: false
    bad:
      metricSource: {{metricSourceRef: prom, type: Prometheus, spec: {{query: 'client:requests:rate10s{{case="ratio"}} * client:errors:ratio_rate10s{{case="ratio"}}'}}}}
    total:
      metricSource: {{metricSourceRef: prom, type: Prometheus, spec: {{query: 'client:requests:rate10s{{case="ratio"}}'}}}}
---
apiVersion: openslo/v1
kind: SLI
metadata:
  name: server-errors
  labels: {{tradestorm.dev/side: server}}
spec:
  thresholdMetric:
    metricSource: {{metricSourceRef: prom, type: Prometheus, spec: {{query: 'service:http_errors:ratio_rate10s{{case="multi"}}'}}}}
---
"""


def write_spec(
    folder: Path,
    body: str,
    *,
    case: str = "good",
    errors_case: str = "rec",
    name: str = "spec.yaml",
) -> Path:
    """A spec file: the SLIs above plus ``body`` (the ResilienceSpec's ``spec:`` mapping)."""
    text = (
        SLIS.format(case=case, errors_case=errors_case)
        + textwrap.dedent("""\
        apiVersion: tradestorm.dev/v1
        kind: ResilienceSpec
        metadata: {name: test}
        spec:
        """)
        + textwrap.indent(textwrap.dedent(body), "  ")
    )
    path = folder / name
    path.write_text(text)
    return path


LATENCY_OBJECTIVE = """\
integrity: false
objectives:
  - name: client-latency-p99
    sli: latency
    aggregate: max
    op: "<="
    key: {key}
    phases:
      baseline: {{target: 0.25, warning: 0.2}}
      fault: {{target: 1.0, warning: 0.5}}
      recovery: {{target: 0.25}}
"""

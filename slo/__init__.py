"""SLO specs (OpenSLO v1 + tradestorm ResilienceSpec) and the gate that judges a run.

Validation (:mod:`slo.validation`) raises; evaluation (:mod:`slo.gate`) returns a
:class:`slo.result.GateResult`. The package imports nothing from the harness.
See ``slo/README.md`` for the spec format, the verdict rules and ``slo.json``.
"""

"""The names of a results folder's files (docs/contracts.md §4)."""

from __future__ import annotations

RUN_JSON = "run.json"  # what ran: scenario, target, phases, faults, stages (runfolder.record)
SLO_JSON = "slo.json"  # the verdict (slo.gate)
JUNIT_XML = "junit.xml"  # the verdict for CI
TIMESERIES_JSON = "timeseries.json"  # the report's panels, snapshotted from Prometheus
RECONCILE_JSON = "reconcile.json"  # acknowledged orders against the database
SCENARIO_YAML = "scenario.yaml"  # the scenario as run
EXPERIMENT_JSON = "experiment.json"  # the experiment as run, with its configuration
CHAOS_JOURNAL_JSON = "chaos-journal.json"  # Chaos Toolkit's journal
RESIDUE_JSON = "residue.json"  # faults left behind, if any
REPORT_HTML = "report.html"
INDEX_HTML = "index.html"
JOURNAL_DIR = "journal"  # the load's order journal (JSONL)
LATENCY_HLOG = "latency.hlog"  # the load's HDR latency interval log (loadtests/README.md)
SENDS_JSON = "sends.json"  # the load's model and open-model send counts
LOGS_DIR = "logs"
EVIDENCE_DIR = "evidence"  # the samples every objective was judged on (slo.evidence)
MANIFEST_JSON = "manifest.json"  # SHA-256 of every file, and what was run (slo.evidence)

#: the files that make a folder a run's results folder (any one of them)
MARKERS = (RUN_JSON, SLO_JSON)

"""The HTML resilience report.

Reads a run's results folder (``docs/contracts.md`` §4) and writes one
self-contained HTML file: no network, no external asset, everything inline.
Nothing here talks to a live system: files in, HTML out.

Entry points: :func:`reports.build.build_report` and :func:`reports.build.build_index`.
"""

"""The local target's supervisor: the local counterpart of a kubelet plus kube-state-metrics.

It starts PostgreSQL, the proxies, Prometheus and N replicas per service,
restarts what dies (with exponential back-off; a replica killed on request
is replaced at once), probes readiness, exports
its view as metrics, and serves the control API of docs/contracts.md §3.
Run as ``python -m tradestorm.local.supervisor --state-dir DIR``.
"""

"""The local target's L4 service proxy: balancing over healthy replicas and fault injection.

A toxiproxy-like proxy written for this harness (toxiproxy itself is a Go
binary that is not available here). One process serves every proxy of a
target (``python -m tradestorm.local.proxy CONFIG``); each proxy has a listen
address, backends, a control API (docs/contracts.md §3) and metrics (§2).
"""

"""tradestorm's Chaos Toolkit extension: target-agnostic faults that never outlive a run.

An experiment names *what* to break (``tradestorm_chaos.actions``) and how to
tell the platform is steady (``tradestorm_chaos.probes``); one driver per
target (``tradestorm_chaos.drivers.local``, ``tradestorm_chaos.drivers.kubernetes``)
knows *how*, chosen from the experiment's ``configuration`` (``config``).
``tradestorm_chaos.execution.run_experiment`` runs an experiment with Chaos
Toolkit plus stricter safety: rollbacks always, a sweep of the fault ledger,
the steady state checked again, a residue audit, every activity's status
checked, SIGINT/SIGTERM handled, and on Kubernetes an explicit allow-list of
contexts and namespaces (``allowlist``).

Modules: ``errors`` (one root error), ``allowlist``, ``config``, ``session``
(what a run's activities share), ``ledger`` (faults and their times),
``localstate`` (reader of the local target's state.json), ``validation``,
``signals``, ``residue``, ``execution``. Nothing is done at import time.
"""

"""The scenario runner behind ``tradestorm run`` and ``tradestorm demo``.

One module per concept:

- ``scenario``: the scenario file (load profile, experiment, SLO spec, phases,
  targets), loaded and validated once; every mistake names the file and field
  (durations are read by ``inputs.durations``, the project's one duration grammar).
- ``paths``: where scenarios, experiments and SLO specs are looked up.
- ``connection``: the running target the run talks to (brought up if needed).
- ``results``: the run's results folder and its ``run.json``.
- ``versions``: the versions recorded in ``run.json``.
- ``progress``: live progress in the terminal, read from Prometheus.
- ``orchestrator``: the run itself, its stages in order, interruptible with Ctrl-C;
  the stages are ``load_stage`` (start, watch, stop the load), ``guardrail_stage``
  (the guardrail watch and the calendar's refusal), ``experiment_stage`` (inputs,
  fault and recovery phases) and ``wrapup`` (fault sweep, reconcile, timeseries,
  gate, report), each writing through ``run_state`` (run.json, the live view, the
  failures so far).
- ``lock``: one run at a time per target.
- ``errors``: the runner's errors (subclasses of ``tradestorm.errors``).
"""

"""The Jobs of one run's load, made from the component's pod templates.

``k8s/components/locust`` deploys ``locust-master`` and ``locust-worker`` at zero
replicas: their pod templates carry what the overlay sized (image and registry,
resources, security context, the accounts Secret, the labels the PodMonitor and
the NetworkPolicies select). :class:`RunJobs` turns them into the run's master
Job (``python -m loadtests.control`` around a headless Locust master, its
results on an ``emptyDir``) and its worker Job (N Locust workers whose journals
go to the master), labelled with the run.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

from tradestorm.kube.client import Obj
from tradestorm.targets import LoadRequest

RUN_LABEL = "tradestorm.io/run"
CONTROL_PORT = 8090
RESULTS_DIR = "/results"
#: seconds the master keeps serving its results after Locust exits
LINGER_S = 900
#: seconds for the master to get its workers (and for a pod to start)
START_TIMEOUT_S = 180.0
#: default number of workers, unless the worker template's annotation says otherwise
WORKERS_ANNOTATION = "tradestorm.io/workers"


def run_label(run_id: str) -> str:
    """``run_id`` as a label value."""
    value = "".join(c if c.isalnum() or c in "-_." else "-" for c in run_id.lower())[:63]
    return value.strip("-_.") or "run"


def run_labels(label: str) -> dict[str, str]:
    return {RUN_LABEL: label, "app.kubernetes.io/component": "load-generator",
            "app.kubernetes.io/part-of": "tradestorm",
            "app.kubernetes.io/managed-by": "tradestorm-run"}


def load_arguments(req: LoadRequest, journal_dir: str) -> list[str]:
    """The tradestorm options of every Locust process of the run (master and workers: a
    worker reads its own options, not the master's)."""
    from inputs.durations import format_duration

    args = ["--load-profile", req.profile, "--target-users", str(req.users),
            "--profile-duration", format_duration(req.duration_s, exact=True),
            "--seed", str(req.seed), "--rate", repr(float(req.rate)),
            "--run-id", req.run_id, "--journal-dir", journal_dir,
            "--accounts-file", "/accounts/accounts.json", "--journal-to-master", "true"]
    if req.rate_stages:
        args += ["--rate-stages", req.rate_stages]
    if req.max_in_flight is not None:
        args += ["--max-in-flight", str(req.max_in_flight)]
    if req.send_tick is not None:
        args += ["--send-tick", repr(req.send_tick)]
    return args


def _set_env(container: Obj, values: dict[str, str]) -> None:
    """``values`` set in the container's environment; the template's own profile settings
    (a manual run's defaults) dropped, the run's arguments say them."""
    env = [e for e in container.get("env") or [] if e.get("name") not in values
           and not str(e.get("name", "")).startswith(("TRADESTORM_PROFILE", "TRADESTORM_USERS",
                                                       "TRADESTORM_DURATION"))]
    env += [{"name": k, "value": v} for k, v in values.items()]
    container["env"] = env


def worker_count(request: LoadRequest, worker_template: Obj) -> int:
    """The scenario's ``load.processes`` when it asks for more than one, else the
    template's ``tradestorm.io/workers`` annotation (per environment), else 2."""
    if request.processes > 1:
        return request.processes
    wanted = (worker_template["metadata"].get("annotations") or {}).get(WORKERS_ANNOTATION)
    return int(wanted or 2)


@dataclass(frozen=True)
class RunJobs:
    """The manifests of one run's load."""

    name: str  # the Jobs' common prefix
    namespace: str
    label: str
    request: LoadRequest
    token: str  # the master's control token

    def _job(self, role: str, template: Obj, *, deadline_s: int, parallelism: int,
             restart: str, container_update: Callable[[Obj], None],
             volumes_update: Callable[[Obj], None] | None = None) -> Obj:
        pod = copy.deepcopy(template["spec"]["template"])
        labels = {**(pod.get("metadata") or {}).get("labels", {}), RUN_LABEL: self.label}
        pod["metadata"] = {"labels": labels}
        spec = pod["spec"]
        spec["restartPolicy"] = restart
        container_update(spec["containers"][0])
        if volumes_update is not None:
            volumes_update(spec)
        return {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": f"{self.name}-{role}",
                "namespace": self.namespace,
                "labels": run_labels(self.label),
                "annotations": {"tradestorm.io/run-id": self.request.run_id},
            },
            "spec": {
                "parallelism": parallelism,
                "completions": parallelism,
                "backoffLimit": 0 if restart == "Never" else 6 * parallelism,
                "activeDeadlineSeconds": deadline_s,
                "ttlSecondsAfterFinished": 600,
                "template": pod,
            },
        }

    def master(self, template: Obj, *, workers: int, deadline_s: int) -> Obj:
        locust_args = ["--master", "--headless", "--expect-workers", str(workers),
                       "--expect-workers-max-wait", str(int(START_TIMEOUT_S)),
                       "--master-bind-port", "5557", "--host", "http://gateway",
                       "--csv", f"{RESULTS_DIR}/locust", "--exit-code-on-error", "0",
                       "--only-summary", "--loglevel", "INFO",
                       *load_arguments(self.request, f"{RESULTS_DIR}/journal")]

        def container(c: Obj) -> None:
            c["command"] = ["python", "-m", "loadtests.control"]
            c["args"] = ["--port", str(CONTROL_PORT), "--results-dir", RESULTS_DIR,
                         "--token-env", "TRADESTORM_CONTROL_TOKEN", "--linger", str(LINGER_S),
                         "--", *locust_args]
            _set_env(c, {"TRADESTORM_CONTROL_TOKEN": self.token})
            c["ports"] = [{"name": "master", "containerPort": 5557, "protocol": "TCP"},
                          {"name": "control", "containerPort": CONTROL_PORT, "protocol": "TCP"}]
            probe = {"httpGet": {"path": "/healthz", "port": "control"}, "periodSeconds": 5,
                     "timeoutSeconds": 3}
            c["startupProbe"] = {**probe, "periodSeconds": 2, "failureThreshold": 60}
            c["livenessProbe"] = probe
            c["readinessProbe"] = probe
            mounts = [m for m in c.get("volumeMounts") or [] if m.get("name") != "results"]
            c["volumeMounts"] = [*mounts, {"name": "results", "mountPath": RESULTS_DIR}]

        def volumes(spec: Obj) -> None:
            vols = [v for v in spec.get("volumes") or [] if v.get("name") != "results"]
            spec["volumes"] = [*vols, {"name": "results", "emptyDir": {"sizeLimit": "1Gi"}}]

        return self._job("master", template, deadline_s=deadline_s, parallelism=1,
                         restart="Never", container_update=container, volumes_update=volumes)

    def worker(self, template: Obj, *, workers: int, deadline_s: int, master_ip: str) -> Obj:
        def container(c: Obj) -> None:
            c["command"] = ["locust", "-f", "loadtests/locustfile.py"]
            # failed requests are data for the gate: a worker ending with some is no failure
            # (its Job would restart it otherwise)
            c["args"] = ["--worker", f"--master-host={master_ip}", "--master-port=5557",
                         "--exit-code-on-error", "0",
                         *load_arguments(self.request, "/journal")]
            _set_env(c, {})

        return self._job("worker", template, deadline_s=deadline_s, parallelism=workers,
                         restart="OnFailure", container_update=container)

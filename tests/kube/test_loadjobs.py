"""The run's load Jobs, made from the pod templates the overlays render (no cluster needed:
what the Jobs say is checked here; tests/kube/test_run_on_cluster.py runs them for real)."""

from __future__ import annotations

from typing import Any

import pytest

from tradestorm.kube.loadjobs import RUN_LABEL, RunJobs, load_arguments, run_label, worker_count
from tradestorm.kube.render import render_overlay, resolve_overlay
from tradestorm.targets import LoadRequest

REQUEST = LoadRequest(profile="ramp", users=40, seed=7, rate=0.0, duration_s=300.0,
                      run_id="20261207T031500Z", processes=1)


def _template(overlay: str, name: str) -> dict[str, Any]:
    objects = render_overlay(resolve_overlay(overlay))
    return next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == name)


@pytest.fixture(scope="module")
def jobs() -> RunJobs:
    return RunJobs(name="tradestorm-load-x", namespace="tradestorm", label="x",
                   request=REQUEST, token="secret-token")


@pytest.mark.parametrize("overlay", ["local", "kind", "eks", "dev", "staging", "prod"])
def test_the_templates_run_nothing_by_themselves(overlay: str) -> None:
    for name in ("locust-master", "locust-worker"):
        assert _template(overlay, name)["spec"]["replicas"] == 0


@pytest.mark.parametrize(("overlay", "workers"), [("local", 2), ("kind", 1), ("eks", 4), ("dev", 2),
                                                 ("staging", 6), ("prod", 12)])
def test_workers_per_run_come_from_the_overlay_unless_the_scenario_asks(
        overlay: str, workers: int) -> None:
    template = _template(overlay, "locust-worker")
    assert worker_count(REQUEST, template) == workers
    asked = LoadRequest(**{**REQUEST.__dict__, "processes": 3})
    assert worker_count(asked, template) == 3


def test_the_master_job_runs_the_control_api_around_a_headless_master(jobs: RunJobs) -> None:
    job = jobs.master(_template("local", "locust-master"), workers=2, deadline_s=1200)
    assert job["metadata"]["name"] == "tradestorm-load-x-master"
    assert job["metadata"]["labels"][RUN_LABEL] == "x"
    spec = job["spec"]
    assert spec["activeDeadlineSeconds"] == 1200 and spec["backoffLimit"] == 0
    pod = spec["template"]
    # the labels the NetworkPolicies select stay, the run's label is added
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == "locust-master"
    assert pod["metadata"]["labels"][RUN_LABEL] == "x"
    assert pod["spec"]["restartPolicy"] == "Never"
    (container,) = pod["spec"]["containers"]
    assert container["image"] == "tradestorm-loadgen:dev"  # the overlay's image, as rendered
    assert container["command"] == ["python", "-m", "loadtests.control"]
    args = container["args"]
    locust = args[args.index("--") + 1:]
    assert locust[:4] == ["--master", "--headless", "--expect-workers", "2"]
    assert "--csv" in locust and locust[locust.index("--csv") + 1] == "/results/locust"
    assert locust[locust.index("--journal-dir") + 1] == "/results/journal"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["TRADESTORM_CONTROL_TOKEN"] == "secret-token"
    assert "TRADESTORM_PROFILE" not in env  # the template's manual defaults do not leak in
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "control"}
    assert {"name": "results", "mountPath": "/results"} in container["volumeMounts"]
    assert any(v["name"] == "results" and "emptyDir" in v for v in pod["spec"]["volumes"])
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_every_worker_reads_the_same_options_as_the_master(jobs: RunJobs) -> None:
    master = jobs.master(_template("local", "locust-master"), workers=2, deadline_s=1200)
    worker = jobs.worker(_template("local", "locust-worker"), workers=2, deadline_s=480,
                         master_ip="10.244.0.9")
    spec = worker["spec"]
    assert spec["parallelism"] == spec["completions"] == 2
    pod = spec["template"]
    assert pod["spec"]["restartPolicy"] == "OnFailure"
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == "locust-worker"  # PodMonitor
    (container,) = pod["spec"]["containers"]
    args = container["args"]
    assert args[:3] == ["--worker", "--master-host=10.244.0.9", "--master-port=5557"]
    assert args[3:5] == ["--exit-code-on-error", "0"]
    worker_options = args[5:]
    master_args = master["spec"]["template"]["spec"]["containers"][0]["args"]
    assert worker_options[worker_options.index("--run-id") + 1] == REQUEST.run_id
    assert worker_options[worker_options.index("--journal-to-master") + 1] == "true"
    for option in ("--load-profile", "--target-users", "--profile-duration", "--seed",
                   "--rate", "--run-id"):
        assert (worker_options[worker_options.index(option) + 1]
                == master_args[master_args.index(option) + 1]), option
    assert any(p["name"] == "metrics" for p in container["ports"])


def test_the_load_arguments_say_the_scenario_exactly() -> None:
    args = load_arguments(REQUEST, "/j")
    assert args[args.index("--profile-duration") + 1] == "300s"
    assert args[args.index("--target-users") + 1] == "40"
    assert run_label("20261207T031500Z-pod-kill") == "20261207t031500z-pod-kill"
    assert run_label("___") == "run"


def test_an_arrival_rate_load_passes_its_bound_and_send_tick_to_every_process() -> None:
    from dataclasses import replace

    request = replace(REQUEST, profile="constant-arrival-rate", rate=300.0, max_in_flight=50,
                      send_tick=0.002)
    args = load_arguments(request, "/j")
    assert args[args.index("--max-in-flight") + 1] == "50"
    assert args[args.index("--send-tick") + 1] == "0.002"
    assert "--send-tick" not in load_arguments(REQUEST, "/j")  # the generator's default

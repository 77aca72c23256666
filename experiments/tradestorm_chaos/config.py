"""Settings of a chaos run, read once from the experiment's ``configuration``.

Chaos Toolkit hands every activity the experiment's ``configuration`` (after
the runner merged its overrides). ``ChaosSettings.from_configuration`` reads
the keys below once and names the key when a value is wrong:

- ``tradestorm_target``: ``local`` or ``kubernetes`` (default ``$TRADESTORM_TARGET``,
  else ``local``);
- ``tradestorm_state_dir``: the local target's state folder (default
  ``$TRADESTORM_STATE_DIR``, else ``./.tradestorm/local``);
- ``tradestorm_prometheus_url``: Prometheus for SLO probes (local: from state.json);
- ``tradestorm_http_timeout_s``: timeout of one control-API call (``5``);
- ``tradestorm_residue_timeout_s``: how long the residue audit waits for the
  target to converge back (``60``);
- ``kubernetes_kubeconfig``: the kubeconfig file (default ``$KUBECONFIG``, else
  ``~/.kube/config``);
- ``kubernetes_context``: kube context (default: the kubeconfig's current one);
- ``kubernetes_namespace``: namespace of the platform (``tradestorm``);
- ``kubernetes_label_key``: pod label naming the service (``app.kubernetes.io/name``);
- ``kubernetes_database``: the database StatefulSet (``postgres``).

``tradestorm_slo_spec`` (read by the SLO probe) is known too; any other key with one
of these prefixes is refused as a likely misspelling (it would otherwise be ignored).

Which contexts and namespaces may be touched is NOT read from here: an
experiment file must not be able to allow itself (see ``allowlist``).
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradeplat.services import SERVICES as PLATFORM_SERVICES

from tradestorm_chaos.errors import ExperimentInvalid

TARGETS = ("local", "kubernetes")
#: the platform's services (its own list): the ``service`` an activity may name, on either target
SERVICES = PLATFORM_SERVICES
# Settings every experiment takes from its configuration (``ChaosSettings``).
SETTINGS_PREFIXES = ("tradestorm_", "kubernetes_")

# Configuration a scenario run sets from the target it runs on (``--target``,
# ``--state-dir``, ``--context``): a scenario setting them would aim the experiment
# elsewhere than the load.
RUNNER_KEYS = {
    "tradestorm_target": "the target comes from --target (and the scenario's 'targets')",
    "tradestorm_state_dir": "the local target's folder comes from --state-dir",
    "tradestorm_prometheus_url": "Prometheus is the target's (--prometheus-url on kubernetes)",
    "kubernetes_context": "the kube context comes from --context",
}

# Configuration keys through which an experiment takes the length of its fault; a
# scenario run sets the one the experiment declares from ``phases.fault``.
FAULT_DURATION_KEYS = ("fault_duration_s", "fault_duration", "duration_s", "duration")


def fault_duration_key(declared: Any) -> str | None:
    """The configuration key through which the experiment takes its fault's length."""
    return next((k for k in FAULT_DURATION_KEYS if k in (declared or {})), None)

TARGET_ENV = "TRADESTORM_TARGET"
STATE_DIR_ENV = "TRADESTORM_STATE_DIR"
DEFAULT_STATE_DIR = Path(".tradestorm") / "local"
KNOWN_KEYS = (
    "tradestorm_target", "tradestorm_state_dir", "tradestorm_prometheus_url",
    "tradestorm_http_timeout_s", "tradestorm_residue_timeout_s", "tradestorm_slo_spec",
    "kubernetes_kubeconfig", "kubernetes_context", "kubernetes_namespace",
    "kubernetes_label_key", "kubernetes_database",
)
PREFIXES = ("tradestorm_", "kubernetes_")


@dataclass(frozen=True)
class ChaosSettings:
    target: str = "local"
    state_dir: Path = DEFAULT_STATE_DIR
    prometheus_url: str | None = None
    http_timeout_s: float = 5.0
    residue_timeout_s: float = 60.0
    kube_context: str | None = None
    kubeconfig: Path = Path("~/.kube/config")
    namespace: str = "tradestorm"
    label_key: str = "app.kubernetes.io/name"
    database: str = "postgres"

    @classmethod
    def from_configuration(
        cls,
        configuration: Mapping[str, Any] | None,
        *,
        source: str = "configuration",
        environ: Mapping[str, str] | None = None,
    ) -> ChaosSettings:
        conf = dict(configuration or {})
        env = os.environ if environ is None else environ
        for key in conf:
            if isinstance(key, str) and key.startswith(PREFIXES) and key not in KNOWN_KEYS:
                close = difflib.get_close_matches(key, KNOWN_KEYS, n=1)
                hint = f"did you mean {close[0]!r}?" if close else \
                    f"known: {', '.join(KNOWN_KEYS)}"
                raise ExperimentInvalid(source, f"configuration.{key}", f"unknown key; {hint}")

        def text(key: str, default: str | None) -> str | None:
            value = conf.get(key, default)
            if value is None:
                return None
            if not isinstance(value, str) or not value.strip():
                raise ExperimentInvalid(source, f"configuration.{key}",
                                        "must be a non-empty string")
            return value.strip()

        def number(key: str, default: float) -> float:
            value = conf.get(key, default)
            if isinstance(value, str):
                try:
                    value = float(value)
                except ValueError:
                    pass
            if (isinstance(value, bool) or not isinstance(value, int | float)
                    or not math.isfinite(value) or value <= 0):
                raise ExperimentInvalid(source, f"configuration.{key}",
                                        "must be a finite number > 0")
            return float(value)

        target = text("tradestorm_target", env.get(TARGET_ENV) or "local")
        if target not in TARGETS:
            raise ExperimentInvalid(
                source, "configuration.tradestorm_target",
                f"must be one of {', '.join(TARGETS)}, got {target!r}",
            )
        state_dir = text("tradestorm_state_dir", env.get(STATE_DIR_ENV) or str(DEFAULT_STATE_DIR))
        return cls(
            target=target or "local",
            state_dir=Path(state_dir or DEFAULT_STATE_DIR).expanduser().absolute(),
            prometheus_url=text("tradestorm_prometheus_url", None),
            http_timeout_s=number("tradestorm_http_timeout_s", 5.0),
            residue_timeout_s=number("tradestorm_residue_timeout_s", 60.0),
            kube_context=text("kubernetes_context", None),
            kubeconfig=Path(
                text("kubernetes_kubeconfig", env.get("KUBECONFIG") or "~/.kube/config")
                or "~/.kube/config"
            ).expanduser(),
            namespace=text("kubernetes_namespace", "tradestorm") or "tradestorm",
            label_key=text("kubernetes_label_key", "app.kubernetes.io/name")
            or "app.kubernetes.io/name",
            database=text("kubernetes_database", "postgres") or "postgres",
        )

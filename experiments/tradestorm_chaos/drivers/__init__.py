"""One driver per target, chosen from the experiment's configuration.

``driver_for(configuration)`` reads ``tradestorm_target`` (see ``config``) and
returns the session's driver for it, building it on first use, so that every
activity of a run shares one driver (and, on Kubernetes, one baseline).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tradestorm_chaos.config import ChaosSettings
from tradestorm_chaos.drivers.base import Driver, ResidueItem
from tradestorm_chaos.session import RunSession, current_session

__all__ = ["Driver", "ResidueItem", "build_driver", "driver_for"]


def build_driver(settings: ChaosSettings, session: RunSession) -> Driver:
    key = (settings.target, str(settings.state_dir), settings.kube_context,
           settings.namespace, str(settings.kubeconfig))
    with session.lock:
        driver = session.drivers.get(key)
        if driver is None:
            if settings.target == "kubernetes":
                from tradestorm_chaos.drivers.kubernetes import KubernetesDriver

                driver = KubernetesDriver(settings, session)
            else:
                from tradestorm_chaos.drivers.local import LocalDriver

                driver = LocalDriver(settings, session)
            session.drivers[key] = driver
        return driver


def driver_for(configuration: Mapping[str, Any] | None) -> Driver:
    """The driver of the current run for this configuration."""
    return build_driver(ChaosSettings.from_configuration(configuration), current_session())

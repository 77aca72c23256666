"""The target a run talks to, opened through the ``Target`` interface.

The runner builds the chosen target from the command line and asks it for a
``Connection`` (``Target.connect``); everything the run needs afterwards
(Prometheus, the database, how to start the load, what chaos may touch) comes
from that connection, so nothing past this module branches on the target.

- **local**: the state folder tells everything; a target that is not running
  is brought up by the run, and taken down afterwards unless ``--keep-up``
  (``--down-after`` takes it down even when it was already running).
- **kubernetes**: a kube context and a namespace; the cluster is checked,
  Prometheus and the database are found by their labels and forwarded, the
  load runs in the cluster. ``--prometheus-url`` and ``--dsn`` override the
  discovery.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tradestorm.errors import InputError
from tradestorm.targets import Connection, Say


@dataclass(frozen=True)
class KubeOptions:
    """The command line's Kubernetes options of ``tradestorm run``."""

    context: str | None = None
    namespace: str = "tradestorm"
    kubeconfig: Path | None = None
    allowed_contexts: tuple[str, ...] = field(default_factory=tuple)
    prometheus_url: str | None = None
    dsn: str | None = None


def open_local(state_dir: Path | None, *, replicas: int = 2, down_after: bool = False,
               keep_up: bool = False, say: Say = print) -> Connection:
    """Connect to the local target in ``state_dir``, bringing it up when nothing runs there."""
    from tradestorm.local.target import LocalTarget

    return LocalTarget(state_dir=state_dir, replicas=replicas).connect(
        say=say, bring_up=True, down_after=down_after, keep_up=keep_up)


def open_kubernetes(options: KubeOptions, *, say: Say = print, for_run: bool = True
                    ) -> Connection:
    """Connect to the platform deployed in ``options.namespace`` of ``options.context``
    (``for_run=False``: Prometheus and the database only, for ``gate`` and ``reconcile``)."""
    if not options.context:
        raise InputError("--context", "context", "required with --target kubernetes (the kube "
                         "context the platform runs in; it must be allow-listed)")
    from tradestorm.kube.target import KubernetesTarget

    target = KubernetesTarget(context=options.context, namespace=options.namespace,
                              allowed_contexts=options.allowed_contexts,
                              kubeconfig=options.kubeconfig)
    return target.connect(say=say, prometheus_url=options.prometheus_url, dsn=options.dsn,
                          for_run=for_run)


@contextmanager
def connected(target: str, *, state_dir: Path | None = None,
              kube: KubeOptions | None = None, say: Say = print) -> Iterator[Connection]:
    """A running target's connection for a command that only reads it (``gate``,
    ``reconcile``, ``load``): never brings a target up, closes its forwards afterwards."""
    if target == "kubernetes":
        connection = open_kubernetes(kube or KubeOptions(), say=say, for_run=False)
    else:
        from tradestorm.local.target import LocalTarget

        connection = LocalTarget(state_dir=state_dir).connect(say=say, bring_up=False)
    try:
        yield connection
    finally:
        connection.release(down=False, say=say)

"""Options several commands share, defined once."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

#: The local target's state folder; resolved by ``tradestorm.local.state.resolve_state_dir``.
#: A file is a usage error naming the option (it used to end in a traceback in some commands).
state_dir_option = click.option(
    "--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Local target state folder (default: $TRADESTORM_STATE_DIR, else ./.tradestorm/local).")



def kube_target_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--target`` and the options that reach a deployed platform on Kubernetes, given to
    the command as ``target`` and ``kube`` (a ``KubeOptions``)."""
    from tradestorm.runner.connection import KubeOptions

    @click.option("--target", type=click.Choice(["local", "kubernetes"]), default="local",
                  show_default=True, help="The target whose Prometheus/database to use.")
    @click.option("--context", "kube_context", help="kubernetes: the kube context.")
    @click.option("--namespace", "kube_namespace", default="tradestorm", show_default=True,
                  help="kubernetes: the platform's namespace.")
    @click.option("--kubeconfig", "kube_config", type=click.Path(path_type=Path, dir_okay=False),
                  help="kubernetes: the kubeconfig file (default: $KUBECONFIG).")
    @click.option("--allow-context", "kube_allow", multiple=True, metavar="CTX",
                  help="kubernetes: allow this context (also TRADESTORM_ALLOWED_CONTEXTS).")
    @functools.wraps(command)
    def wrapper(*args: Any, kube_context: str | None, kube_namespace: str,
                kube_config: Path | None, kube_allow: tuple[str, ...], **kwargs: Any) -> Any:
        kube = KubeOptions(context=kube_context, namespace=kube_namespace,
                           kubeconfig=kube_config, allowed_contexts=kube_allow)
        return command(*args, kube=kube, **kwargs)

    return wrapper

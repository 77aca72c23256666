"""The Kubernetes target: ``tradestorm up/down/status --target kubernetes``.

``tradestorm.kube.target.KubernetesTarget`` renders a kustomize overlay of
``k8s/`` offline, applies it with server-side apply, waits for the rollout and
reads the platform's state back. Every call is refused unless the kube context
is on the same allow-list as the chaos driver
(``tradestorm_chaos.allowlist``).
"""

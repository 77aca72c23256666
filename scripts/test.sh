#!/usr/bin/env bash
# Runs the whole test suite (unit, real PostgreSQL/Prometheus/Locust/Chaos
# Toolkit runs, headless Chromium, a real single-node Kubernetes), after
# installing what it needs. The cluster (tests/cluster) is built here when the
# cache lacks it (Kubernetes, etcd and the add-ons from the Go module proxy, the
# images with buildah), brought up by the first test that needs it and taken
# down at the end, also when pytest is interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
bash scripts/bootstrap.sh --with-browser --with-cluster
python3 -m uv run --frozen python -m tests.cluster build
python3 -m uv run --frozen python -m tests.cluster install-tools
cluster_was_up=0
python3 -m uv run --frozen python -m tests.cluster status >/dev/null 2>&1 && cluster_was_up=1
status=0
python3 -m uv run --frozen pytest "$@" || status=$?
if [ "$cluster_was_up" = 0 ]; then
  # the session fixture takes it down; this catches a pytest that was killed
  python3 -m uv run --frozen python -m tests.cluster down >/dev/null || status=1
fi
exit "$status"

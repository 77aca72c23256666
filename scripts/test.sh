#!/usr/bin/env bash
# Runs the whole test suite (unit, real PostgreSQL/Prometheus/Locust/Chaos
# Toolkit runs, headless Chromium), after installing what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --with-browser
exec python3 -m uv run --frozen pytest "$@"

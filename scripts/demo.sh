#!/usr/bin/env bash
# Runs the demo on the local target: the platform under load, a real fault,
# the SLO verdict and the HTML report. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec python3 -m uv run --frozen tradestorm demo "$@"

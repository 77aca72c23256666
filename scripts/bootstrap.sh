#!/usr/bin/env bash
# Installs what tradestorm needs on a fresh machine: uv, the locked Python
# environment (.venv), the distribution's Prometheus, with --with-browser
# Debian's Chromium (for the report tests), and with --with-cluster what the
# test cluster of tests/cluster runs on (containerd, runc, the CNI plugins,
# iptables, buildah and debootstrap for the images; Go builds the rest from the
# Go module proxy). Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

with_browser=0
with_cluster=0
for arg in "$@"; do
  case "$arg" in
    --with-browser) with_browser=1 ;;
    --with-cluster) with_cluster=1 ;;
    *) echo "bootstrap: unknown option $arg" >&2; exit 2 ;;
  esac
done

missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
if [ "$with_browser" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  missing+=(chromium)
fi
if [ "$with_cluster" = 1 ]; then
  # program -> Debian package
  for pair in containerd:containerd runc:runc ctr:containerd iptables:iptables conntrack:conntrack \
              buildah:buildah skopeo:skopeo umoci:umoci debootstrap:debootstrap ip:iproute2 openssl:openssl; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
  if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
    echo "bootstrap: the test cluster is built with Go >= 1.24 (not found on PATH or in /usr/local/go)" >&2
    exit 1
  fi
fi
if [ "${#missing[@]}" -gt 0 ]; then
  # de-duplicate
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "bootstrap: installing ${missing[*]} from the distribution" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then
    echo "bootstrap: installing ${missing[*]} with sudo" >&2
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: please install the distribution package(s): ${missing[*]}" >&2
    exit 1
  fi
fi

if ! python3 -m uv --version >/dev/null 2>&1; then
  echo "bootstrap: installing uv" >&2
  # A distribution Python that refuses system-wide installs (PEP 668) gets uv
  # in the user's site instead: uv is a self-contained binary, nothing else moves.
  python3 -m pip install --quiet --disable-pip-version-check uv 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --user --break-system-packages uv
fi
python3 -m uv sync --frozen --quiet

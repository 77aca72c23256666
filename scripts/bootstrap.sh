#!/usr/bin/env bash
# Installs what tradestorm needs on a fresh machine: uv, the locked Python
# environment (.venv), the distribution's Prometheus, with --with-browser
# Debian's Chromium (for the report tests), with --with-cluster what the
# test cluster of tests/cluster runs on (containerd, runc, the CNI plugins,
# iptables, buildah and debootstrap for the images; Go builds the rest from the
# Go module proxy), and with --with-tools (implied by --with-cluster: the test
# suite calls them) the static checks' tools: terraform and actionlint built
# from their Go modules (cached by version under /var/cache/tradestorm-tools),
# Debian's amtool (prometheus-alertmanager), shellcheck and git.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

with_browser=0
with_cluster=0
with_tools=0
for arg in "$@"; do
  case "$arg" in
    --with-browser) with_browser=1 ;;
    --with-cluster) with_cluster=1; with_tools=1 ;;
    --with-tools) with_tools=1 ;;
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
if [ "$with_tools" = 1 ]; then
  for pair in amtool:prometheus-alertmanager shellcheck:shellcheck git:git; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
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

# --- Go tools: terraform and actionlint, built from the Go module proxy -------------
# Each is built once per version (and Go version) into TOOLS_CACHE/NAME-VERSION-GOVERSION
# and linked onto the PATH; a machine that already has a new enough one keeps it.
TERRAFORM_VERSION=v1.11.4
# Terraform's go.mod replaces its own nested modules by local folders, which a module
# download does not contain, so `go install terraform@version` is refused: a module of
# ours requires it and points those nested modules at their commit on the proxy.
TERRAFORM_NESTED_VERSION=v0.0.0-20250409131005-35645b8fca68
TERRAFORM_NESTED="internal/backend/remote-state/azure internal/backend/remote-state/consul
  internal/backend/remote-state/cos internal/backend/remote-state/gcs
  internal/backend/remote-state/kubernetes internal/backend/remote-state/oss
  internal/backend/remote-state/pg internal/backend/remote-state/s3 internal/legacy"
ACTIONLINT_VERSION=v1.7.12

tools_cache() {
  local dir="${TRADESTORM_TOOLS_CACHE:-/var/cache/tradestorm-tools}"
  if mkdir -p "$dir" 2>/dev/null && [ -w "$dir" ]; then echo "$dir"; return; fi
  dir="${XDG_CACHE_HOME:-$HOME/.cache}/tradestorm-tools"
  mkdir -p "$dir" && echo "$dir"
}

bin_dir() {
  if [ "$(id -u)" = 0 ]; then echo /usr/local/bin; return; fi
  mkdir -p "$HOME/.local/bin" && echo "$HOME/.local/bin"
}

go_binary() {
  if command -v go >/dev/null 2>&1; then command -v go; return; fi
  if [ -x /usr/local/go/bin/go ]; then echo /usr/local/go/bin/go; return; fi
  echo "bootstrap: terraform and actionlint are built with Go >= 1.24 (not found on PATH" \
    "or in /usr/local/go)" >&2
  return 1
}

# build_tool NAME VERSION BUILD-FUNCTION: the cached binary's path (built when missing)
build_tool() {
  local name="$1" version="$2" build="$3" go cache out
  go="$(go_binary)" || return 1
  cache="$(tools_cache)"
  out="$cache/$name-$version-$("$go" env GOVERSION)"
  if [ ! -f "$out/.complete" ]; then
    echo "bootstrap: building $name $version from the Go module proxy (once per version)" >&2
    rm -rf "$out.tmp" && mkdir -p "$out.tmp"
    local started=$SECONDS
    ( export GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOTOOLCHAIN=local
      "$build" "$go" "$version" "$out.tmp" ) >&2
    touch "$out.tmp/.complete" && rm -rf "$out" && mv "$out.tmp" "$out"
    echo "bootstrap: $name built in $((SECONDS - started)) s" >&2
  fi
  echo "$out/$name"
}

_build_actionlint() {  # GO VERSION OUT
  GOBIN="$3" "$1" install -trimpath "github.com/rhysd/actionlint/cmd/actionlint@$2"
}

_build_terraform() {  # GO VERSION OUT
  local mod="$3/module" nested
  mkdir -p "$mod"
  {
    printf 'module tradestorm.local/terraform-build\n\ngo 1.24\n\n'
    printf 'require github.com/hashicorp/terraform %s\n\n' "$2"
    for nested in $TERRAFORM_NESTED; do
      printf 'replace github.com/hashicorp/terraform/%s => github.com/hashicorp/terraform/%s %s\n' \
        "$nested" "$nested" "$TERRAFORM_NESTED_VERSION"
    done
    printf '\ntool github.com/hashicorp/terraform\n'
  } > "$mod/go.mod"
  # version.dev=no: a release's version string (1.11.4, not 1.11.4-dev, which no
  # required_version constraint accepts)
  ( cd "$mod" && "$1" mod tidy && "$1" build -trimpath \
      -ldflags "-X github.com/hashicorp/terraform/version.dev=no" \
      -o "$3/terraform" github.com/hashicorp/terraform )
  rm -rf "$mod"
}

# link_tool NAME PATH: NAME on the PATH runs PATH
link_tool() {
  local dir
  dir="$(bin_dir)"
  ln -sf "$2" "$dir/$1"
  case ":$PATH:" in *":$dir:"*) ;; *) echo "bootstrap: add $dir to PATH for $1" >&2 ;; esac
}

terraform_is_recent() {  # the roots require >= 1.10
  command -v terraform >/dev/null 2>&1 || return 1
  terraform version -json 2>/dev/null | python3 -c \
    'import json,sys; v=json.load(sys.stdin)["terraform_version"].split("."); sys.exit(0 if (int(v[0]), int(v[1])) >= (1, 10) else 1)'
}

if [ "$with_tools" = 1 ]; then
  if ! terraform_is_recent; then
    link_tool terraform "$(build_tool terraform "$TERRAFORM_VERSION" _build_terraform)"
  fi
  if ! command -v actionlint >/dev/null 2>&1; then
    link_tool actionlint "$(build_tool actionlint "$ACTIONLINT_VERSION" _build_actionlint)"
  fi
fi

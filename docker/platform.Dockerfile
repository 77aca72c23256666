# syntax=docker/dockerfile:1.7
# The reference trading platform (package `tradeplat`): ONE image for every
# service; the service is chosen by the command, e.g.
#   docker run IMAGE gateway --host 0.0.0.0 --port 8000
#   docker run IMAGE migrate
# Build from the repository root:  docker build -f docker/platform.Dockerfile -t tradeplat .
#
# Runs as an unprivileged user with a read-only root filesystem (only /tmp must
# be writable: mount an emptyDir there, as k8s/base does). Bytecode is compiled
# at build time so Python never writes .pyc files at run time.

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm
ARG UV_VERSION=0.8.22

# ---- builder: resolve the locked environment with uv (installed from PyPI) ----
FROM ${PYTHON_IMAGE} AS builder
ARG UV_VERSION
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv
RUN python -m pip install "uv==${UV_VERSION}"
WORKDIR /src
# Dependencies first (cached layer), the project itself second.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY platform/ platform/
COPY tradestorm/ tradestorm/
COPY loadtests/ loadtests/
COPY experiments/ experiments/
COPY slo/ slo/
COPY reports/ reports/
COPY runfolder/ runfolder/
COPY inputs/ inputs/
COPY promclient/ promclient/
RUN uv sync --frozen --no-dev --no-editable

# ---- runtime: the venv only, no compiler, no uv, no pip cache ----
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="tradeplat" \
      org.opencontainers.image.description="tradestorm reference trading platform (gateway, orders, risk, portfolio, marketdata, analytics)" \
      org.opencontainers.image.source="https://github.com/tradestorm/tradestorm" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 tradeplat \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin tradeplat
COPY --from=builder --chown=root:root /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TMPDIR=/tmp
WORKDIR /tmp
USER 10001:10001
EXPOSE 8000
# Docker/compose only; Kubernetes uses the probes in k8s/base (/healthz, /readyz).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["tradeplat"]
CMD ["gateway", "--host", "0.0.0.0", "--port", "8000"]

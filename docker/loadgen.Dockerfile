# syntax=docker/dockerfile:1.7
# The tradestorm load generator: Locust with the project's users and load
# shapes. Master and workers use the same image:
#   docker run IMAGE --master ...        docker run IMAGE --worker --master-host=...
# Build from the repository root:  docker build -f docker/loadgen.Dockerfile -t tradestorm-loadgen .
#
# Unprivileged user, read-only root filesystem friendly (/tmp writable only).

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm
ARG UV_VERSION=0.8.22

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

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="tradestorm-loadgen" \
      org.opencontainers.image.description="tradestorm load generator (Locust master/worker)" \
      org.opencontainers.image.source="https://github.com/tradestorm/tradestorm" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 locust \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin locust
COPY --from=builder --chown=root:root /opt/venv /opt/venv
# locust -f needs the locustfile on disk (it is also installed in the venv).
COPY --from=builder --chown=root:root /src/loadtests /app/loadtests
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TMPDIR=/tmp
WORKDIR /app
USER 10001:10001
# 8089 web UI / REST API (master), 5557 master<->worker; client metrics port per loadtests.
EXPOSE 8089 5557
HEALTHCHECK NONE
ENTRYPOINT ["locust", "-f", "loadtests/locustfile.py"]
CMD ["--help"]

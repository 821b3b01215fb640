# syntax=docker/dockerfile:1.7
# Reachly's container images (docs/operations.md, "Deployment").
#
#   docker build -t reachly .                              web, control/general workers, beat, flower
#   docker build -t reachly-browser --target browser .     + Debian's Chromium, for browser workers
#
# One code base, two targets: only the browser workers pay for Chromium
# (~400 MB). Both run as an unprivileged user under tini, which forwards
# SIGTERM to the one process it starts: Celery's main process then does a
# warm shutdown (running steps stop at their next safe point, checkpoint and
# go back to the database) and uvicorn drains its connections.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------
# build: a wheel for every pinned runtime requirement (compilers stay here)
# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY requirements/base.txt requirements/base.txt
RUN pip wheel --wheel-dir /wheels -r requirements/base.txt

# ---------------------------------------------------------------------------
# runtime: the application, its virtualenv, collected static files
# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=reachly.settings \
    REACHLY_ENV=prod \
    PORT=8000
# tini: PID 1 that reaps zombies (Chromium leaves some) and forwards signals.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 reachly \
 && useradd --system --uid 10001 --gid reachly --home-dir /app --no-create-home --shell /usr/sbin/nologin reachly
# Install from the build stage's wheels without copying them into a layer.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    --mount=type=bind,source=requirements/base.txt,target=/tmp/base.txt \
    python -m venv /opt/venv \
 && pip install --no-index --find-links=/wheels -r /tmp/base.txt
WORKDIR /app
COPY . .
# Bytecode compiled now (the root filesystem is read-only in Kubernetes);
# static files collected now, with throwaway secrets that only let prod
# settings import (nothing is encrypted or signed at build time).
RUN python -m compileall -q -j 0 /app /opt/venv \
 && SECRET_KEY=collectstatic-only \
    REACHLY_ENCRYPTION_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    python manage.py collectstatic --no-input -v 0 \
 && mkdir -p /app/var \
 && chown reachly:reachly /app/var
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["/usr/bin/tini", "--"]
# Web: GET /healthz. Workers and beat (REACHLY_WORKER_HEARTBEAT_FILE set):
# their heartbeat file is fresh, whether or not the broker is up.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py"]
# The ASGI server (HTTP and WebSocket); other processes override the command
# (docker-compose.yml, k8s/). `exec` so tini's SIGTERM reaches uvicorn.
CMD ["sh", "-c", "exec uvicorn reachly.asgi:application --host 0.0.0.0 --port \"$PORT\" --workers \"${WEB_CONCURRENCY:-1}\" --proxy-headers --lifespan off --timeout-graceful-shutdown 20"]

# ---------------------------------------------------------------------------
# browser: runtime + Debian's Chromium (the browser workers' image)
# ---------------------------------------------------------------------------
FROM runtime AS browser
USER 0
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-liberation fonts-noto-core \
 && rm -rf /var/lib/apt/lists/*
# Chromium writes its profile and crash reports under HOME: /tmp is the
# writable volume in every deployment.
ENV REACHLY_CHROMIUM=/usr/bin/chromium \
    HOME=/tmp
USER 10001:10001
CMD ["sh", "-c", "exec celery -A reachly worker -Q \"$(python -m agents.queues browser)\" -P prefork -c \"${BROWSER_CONCURRENCY:-2}\" -n browser@%h --without-gossip --without-mingle --loglevel INFO"]

# ---------------------------------------------------------------------------
# app (the default target): the small image, without Chromium
# ---------------------------------------------------------------------------
FROM runtime AS app

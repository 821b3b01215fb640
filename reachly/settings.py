"""Reachly settings: one module, driven by the environment.

Every value that differs between a laptop, CI and production comes from an
environment variable (or `<NAME>_FILE`, for secrets mounted by Kubernetes).
See docs/operations.md for the full list.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Secrets: `NAME`, or the contents of the file named by `NAME_FILE` (the
# Kubernetes and Compose way of mounting them), which wins when both are set.
# django-environ's FileAwareEnv does the lookup; only the secrets use it, so
# no other variable is ever read from a file by accident.
secret_env = environ.FileAwareEnv()


def env_secret(name: str, default: str = "") -> str:
    """`NAME`'s value, or `NAME_FILE`'s file contents, stripped: a mounted
    secret file usually ends with a newline that is not part of the secret.

    Raises FileNotFoundError when `NAME_FILE` names a file that is missing
    (a broken mount must not fall back to a default)."""
    return str(secret_env.str(name, default=default)).strip()


# ---------------------------------------------------------------------------
# Core
# ---------------------------------------------------------------------------
# dev: laptop and demo (the default); test: the pytest suite; prod: production
# (set by the container image and the k8s manifests), where secrets are required.
REACHLY_ENV = env.str("REACHLY_ENV", default="dev")
DEBUG = env.bool("DJANGO_DEBUG", default=REACHLY_ENV == "dev")
_DEV_SECRET = "dev-insecure-secret-key-change-me-0123456789abcdefghij"
SECRET_KEY = env_secret("SECRET_KEY", _DEV_SECRET if REACHLY_ENV != "prod" else "")
if not SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set in production")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["*"] if REACHLY_ENV != "prod" else [])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Public base URL, used in links we print or send (demo, e-mails, webhooks).
REACHLY_BASE_URL = env.str("REACHLY_BASE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "reachly.ops.admin_apps.ReachlyAdminConfig",  # django.contrib.admin with the operator site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "reachly.core",
    "reachly.tenants",
    "reachly.campaigns",
    "reachly.orchestration",
    "reachly.api",
    "reachly.live",
    "reachly.web",
    "reachly.ops",
    "reachly.sandbox",
    "reachly.llm",
    "reachly.webhooks",
]
# The demo's management commands (`manage.py demo`, `seed_demo`) live in the
# dev tooling (devtools/), which a checkout has and the image does not
# (.dockerignore): install the app only where it is present.
if importlib.util.find_spec("devtools") is not None:
    INSTALLED_APPS.append("devtools.demo")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "reachly.api.middleware.CommonMiddleware",  # JSON 308 for a missing slash under /api/
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "reachly.urls"
ASGI_APPLICATION = "reachly.asgi.application"
WSGI_APPLICATION = "reachly.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# ---------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/databases/#postgresql-notes
DATABASES = {"default": env.db_url("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/reachly")}
# psycopg 3 is the only driver we support.
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
# Persistent connections: one per process (and per heartbeat thread), reused
# across tasks and requests; health-checked so a restarted server is survived.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Behind PgBouncer in transaction mode, server-side cursors and session state
# do not survive between transactions.
if env.bool("DB_PGBOUNCER", default=False):
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"].setdefault("OPTIONS", {})
# The connection budget per process kind (docs/scaling.md): a worker holds one
# persistent connection per pool slot (prefork child or thread) and one for
# its heartbeat; the web process under ASGI runs each request's sync code in
# a thread of its own, and persistent connections would be one per thread
# (40 concurrent requests held 37 connections for minutes). So the web
# process (reachly/asgi.py sets REACHLY_PROCESS=web) uses Django's psycopg 3
# pool instead: at most DB_WEB_POOL_MAX connections, shared by every thread,
# a request waiting up to DB_WEB_POOL_TIMEOUT seconds for one (then a 503).
REACHLY_PROCESS = env.str("REACHLY_PROCESS", default="")
# At most this many steps may wait (not started) per tenant: job creation
# beyond it is refused, naming the limit (the monthly plan limit is checked too).
# Open live connections (WebSockets + SSE streams) per API token or user, and
# per tenant (reachly/live/connections.py); more answer 429 / close 4429.
REACHLY_LIVE_CONNECTIONS_PER_PRINCIPAL = env.int("REACHLY_LIVE_CONNECTIONS_PER_PRINCIPAL", default=20)
REACHLY_LIVE_CONNECTIONS_PER_TENANT = env.int("REACHLY_LIVE_CONNECTIONS_PER_TENANT", default=200)
REACHLY_TENANT_PENDING_STEPS_MAX = env.int("REACHLY_TENANT_PENDING_STEPS_MAX", default=300_000)
# 4: a web process runs Python on one core at a time (the GIL), so more
# connections only wait; 200 concurrent requests on 2 web processes answered
# as fast with 4 each as with 8 (37 vs 31 requests/s, p99 6.7 vs 6.9 s,
# benchmarks/connections.py), and 2 x 4 keeps the stack's total within 30.
DB_WEB_POOL_MAX = env.int("DB_WEB_POOL_MAX", default=4)
if REACHLY_PROCESS == "web" and not env.bool("DB_PGBOUNCER", default=False):
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django's pool requires it
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": 1,
        "max_size": DB_WEB_POOL_MAX,
        "timeout": env.float("DB_WEB_POOL_TIMEOUT", default=10.0),
    }
# Server-side parameter binding lets psycopg prepare the hot statements
# (claim, finish, admit) after a few uses instead of planning them anew.
DATABASES["default"]["OPTIONS"]["server_side_binding"] = env.bool(
    "DB_SERVER_SIDE_BINDING", default=not env.bool("DB_PGBOUNCER", default=False)
)
if DATABASES["default"]["OPTIONS"]["server_side_binding"]:
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = env.int("DB_PREPARE_THRESHOLD", default=5)
# Who holds each connection, in pg_stat_activity: "reachly-<process kind>", so
# the connection budget per kind can be read off the server (benchmarks/
# connections.py). The web process is named here (REACHLY_PROCESS=web); Celery
# workers ("reachly-worker-<node name>", e.g. worker-control) and beat
# ("reachly-beat") are named when they start (reachly/celery.py), since one
# settings module serves them all. DB_APPLICATION_NAME overrides every name.
DATABASES["default"]["OPTIONS"].setdefault(
    "application_name",
    env.str("DB_APPLICATION_NAME", default=f"reachly-{REACHLY_PROCESS}" if REACHLY_PROCESS else "reachly"),
)
DATABASES["default"]["TEST"] = {"NAME": env.str("DATABASE_TEST_NAME", default="test_reachly")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------------------
# Redis, broker, channels
# ---------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Every key Reachly writes outside the broker starts with this prefix, so
# several environments (and test runs) can share one Redis.
REACHLY_REDIS_PREFIX = env.str("REACHLY_REDIS_PREFIX", default="reachly:")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REACHLY_REDIS_PREFIX + "cache",
    }
}

# Pub/sub layer: a group send is one PUBLISH whatever the number of
# listeners; nothing is stored (a reconnecting client replays from the
# database, see reachly/live).
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": REACHLY_REDIS_PREFIX + "channels"},
    }
}

# ---------------------------------------------------------------------------
# Celery
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
# ---------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
# Results are never read through Celery: job state lives in PostgreSQL.
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Acknowledge after the task ran, so a message whose worker died is
# redelivered instead of lost. Safe because every step claim is a conditional
# update with a fencing token: a redelivered message for a step that already
# ran is a no-op.
CELERY_TASK_ACKS_LATE = True
# A worker process killed by the OOM killer or kill -9 requeues its message
# rather than acknowledging it.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One message at a time per process: steps can run for minutes, and a
# prefetched message would wait behind them while another worker idles.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Hard and soft time limits above the longest step we allow; the soft one
# raises inside the task so it can checkpoint. A step that needs longer must
# checkpoint and return to the database instead of holding a slot.
REACHLY_STEP_MAX_SECONDS = env.int("REACHLY_STEP_MAX_SECONDS", default=15 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = REACHLY_STEP_MAX_SECONDS
CELERY_TASK_TIME_LIMIT = REACHLY_STEP_MAX_SECONDS + 60
# Redis redelivers an unacknowledged message after the visibility timeout; it
# must exceed the longest step or a running step would be delivered twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": REACHLY_STEP_MAX_SECONDS * 2,
    # Reconnect quickly if Redis restarts (the reconciler covers lost messages).
    "socket_keepalive": True,
    "retry_on_timeout": True,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Workers send task events so Flower can show them.
CELERY_WORKER_SEND_TASK_EVENTS = env.bool("CELERY_SEND_EVENTS", default=True)
CELERY_TASK_SEND_SENT_EVENT = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Default queue for anything not routed explicitly: the control plane.
CELERY_TASK_DEFAULT_QUEUE = "control"
# Celery's Django fixup closes the database connection after EVERY task
# unless this is set: reconnecting cost ~15 ms per step (measured with
# py-spy, benchmarks/throughput.py). Connections are still health-checked
# (CONN_HEALTH_CHECKS) and recycled after CONN_MAX_AGE.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=10_000)
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env.int("CELERY_MAX_MEMORY_PER_CHILD_KB", default=0) or None

# ---------------------------------------------------------------------------
# Control plane
# ---------------------------------------------------------------------------
# A step's lease: renewed by a heartbeat thread while the step runs; the
# reaper requeues steps whose lease expired (worker died).
REACHLY_LEASE_SECONDS = env.float("REACHLY_LEASE_SECONDS", default=30.0)
REACHLY_HEARTBEAT_SECONDS = env.float("REACHLY_HEARTBEAT_SECONDS", default=5.0)
# How many admitted-but-not-started steps each agent queue may hold. Short
# queues are what makes fairness and priority work: the order lives in
# PostgreSQL, not in Redis lists.
# 16 measured best for throughput on 2 cores with batching (benchmarks/
# throughput.py) while keeping the fairness bound small (tests/orchestration).
REACHLY_QUEUE_DEPTH = env.int("REACHLY_QUEUE_DEPTH", default=16)
# Minimum time between two dispatcher passes of one agent under load: a pass
# costs nearly the same for one step as for ten (benchmarks/throughput.py).
REACHLY_DISPATCH_INTERVAL = env.float("REACHLY_DISPATCH_INTERVAL", default=0.005)
# At most this many steps of a batchable agent (short steps) per message.
REACHLY_MESSAGE_BATCH = env.int("REACHLY_MESSAGE_BATCH", default=8)
# Aging: a waiting step gains one priority level per this many seconds, so
# batch work (10) reaches urgent (1) after ~9 intervals and is never starved.
REACHLY_AGING_SECONDS = env.float("REACHLY_AGING_SECONDS", default=30.0)
# Retries: exponential backoff with full jitter, scheduled in the database.
REACHLY_RETRY_BASE_SECONDS = env.float("REACHLY_RETRY_BASE_SECONDS", default=2.0)
REACHLY_RETRY_MAX_SECONDS = env.float("REACHLY_RETRY_MAX_SECONDS", default=300.0)
REACHLY_MAX_ATTEMPTS = env.int("REACHLY_MAX_ATTEMPTS", default=5)
# An admitted step whose message was not picked up within this long is
# republished (lost message, flushed broker). Duplicates are harmless.
REACHLY_REPUBLISH_AFTER_SECONDS = env.float("REACHLY_REPUBLISH_AFTER_SECONDS", default=15.0)
# A job with nothing scheduled that made no progress for this long fails.
REACHLY_JOB_STALL_SECONDS = env.float("REACHLY_JOB_STALL_SECONDS", default=6 * 3600.0)
# Periodic control tasks (Celery beat), in seconds.
REACHLY_DISPATCH_TICK = env.float("REACHLY_DISPATCH_TICK", default=1.0)
REACHLY_REAPER_TICK = env.float("REACHLY_REAPER_TICK", default=5.0)
REACHLY_RECONCILER_TICK = env.float("REACHLY_RECONCILER_TICK", default=5.0)
# Limit rules are cached per process for this long.
REACHLY_LIMIT_RULES_TTL = env.float("REACHLY_LIMIT_RULES_TTL", default=5.0)

# ---------------------------------------------------------------------------
# LLM providers (agents/llm): chains, endpoints, keys, retries
# ---------------------------------------------------------------------------
# Providers are named; each has a type (local | openai | anthropic). `openai`
# covers any OpenAI-compatible chat-completions endpoint (OpenAI, Ollama,
# vLLM) by base URL. Base URLs come from here only, never from tenant input.
REACHLY_LLM_PROVIDERS = {
    "local": {"type": "local", "model": "local-template"},
    "openai": {
        "type": "openai",
        "base_url": env.str("REACHLY_LLM_OPENAI_BASE_URL", default="https://api.openai.com/v1"),
        "api_key": env_secret("OPENAI_API_KEY", ""),
        "model": env.str("REACHLY_LLM_OPENAI_MODEL", default="gpt-4o-mini"),
    },
    "anthropic": {
        "type": "anthropic",
        "base_url": env.str("REACHLY_LLM_ANTHROPIC_BASE_URL", default="https://api.anthropic.com"),
        "api_key": env_secret("ANTHROPIC_API_KEY", ""),
        "model": env.str("REACHLY_LLM_ANTHROPIC_MODEL", default="claude-3-5-haiku-latest"),
    },
    # More named endpoints as JSON, e.g. {"ollama": {"type": "openai",
    # "base_url": "http://ollama:11434/v1", "model": "llama3.2"}}.
    **env.json("REACHLY_LLM_EXTRA_PROVIDERS", default={}),
}
# The fallback chain: the first provider is tried first; the next one takes
# over when it is rate-limited or down. Per role as JSON ({"copywriter":
# ["openai", "local"]}); a tenant's AgentAllocation.adapter_override wins.
REACHLY_LLM_CHAIN = env.list("REACHLY_LLM_CHAIN", default=["local"])
REACHLY_LLM_ROLE_CHAINS = env.json("REACHLY_LLM_ROLE_CHAINS", default={})
REACHLY_LLM_CONNECT_TIMEOUT = env.float("REACHLY_LLM_CONNECT_TIMEOUT", default=5.0)
REACHLY_LLM_TIMEOUT = env.float("REACHLY_LLM_TIMEOUT", default=60.0)
# A 429/5xx is retried in the worker only briefly (principle 3): at most this
# many times and only when Retry-After is at most this long; beyond that the
# chain falls back, or the step goes back to the database.
REACHLY_LLM_INLINE_RETRIES = env.int("REACHLY_LLM_INLINE_RETRIES", default=2)
REACHLY_LLM_INLINE_RETRY_MAX_SECONDS = env.float("REACHLY_LLM_INLINE_RETRY_MAX_SECONDS", default=2.0)
REACHLY_LLM_MAX_TOKENS = env.int("REACHLY_LLM_MAX_TOKENS", default=800)
# Invalid structured output is re-prompted this many times, then rejected.
REACHLY_LLM_MAX_REPROMPTS = env.int("REACHLY_LLM_MAX_REPROMPTS", default=2)
# USD per million tokens, {"model": [input, output]}: overrides agents/llm/pricing.py.
REACHLY_LLM_PRICES = env.json("REACHLY_LLM_PRICES", default={})
# A tenant whose monthly LLM budget is spent has its LLM steps wait; they look
# again this often (raising the budget releases them at once).
REACHLY_LLM_BUDGET_RECHECK_SECONDS = env.float("REACHLY_LLM_BUDGET_RECHECK_SECONDS", default=300.0)

# ---------------------------------------------------------------------------
# Secrets at rest
# ---------------------------------------------------------------------------
# Fernet keys, comma-separated; the first encrypts, all decrypt (rotation).
REACHLY_ENCRYPTION_KEY = env_secret("REACHLY_ENCRYPTION_KEY", "")
if not REACHLY_ENCRYPTION_KEY and REACHLY_ENV == "prod":
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("REACHLY_ENCRYPTION_KEY must be set in production")

# ---------------------------------------------------------------------------
# Auth, i18n, static
# ---------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if REACHLY_ENV == "prod"
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# ---------------------------------------------------------------------------
# Operations: structured logs, Sentry, metrics, health, admin links
# (reachly/observability; docs/operations.md)
# ---------------------------------------------------------------------------
from reachly.observability import logs as _ops_logs  # noqa: E402 - configures structlog, needs nothing of Django
from reachly.observability import sentry as _ops_sentry  # noqa: E402

INSTALLED_APPS += ["django_structlog", "django_prometheus"]
MIDDLEWARE = [
    # Probes answer first: no ALLOWED_HOSTS check, no redirect, not counted.
    "reachly.observability.health.HealthCheckMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    *MIDDLEWARE,
    # After authentication (binds user_id); request_id/trace_id on every line.
    "django_structlog.middlewares.RequestMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

# Logs: JSON lines in production, readable lines elsewhere; secrets redacted.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
REACHLY_LOG_FORMAT = env.str("REACHLY_LOG_FORMAT", default="json" if REACHLY_ENV == "prod" else "console")
LOGGING = _ops_logs.logging_config(json=REACHLY_LOG_FORMAT == "json", level=LOG_LEVEL)
# https://django-structlog.readthedocs.io/en/latest/celery.html
DJANGO_STRUCTLOG_CELERY_ENABLED = True
# task_enqueued / task_started / task_succeeded: three lines per step. DEBUG
# silences them at scale; failures are logged whatever this says.
DJANGO_STRUCTLOG_CELERY_DEFAULT_LOG_LEVEL = _ops_logs.level(env.str("REACHLY_TASK_LOG_LEVEL", default="INFO"))
# Take X-Request-ID from the ingress/load balancer (only when it sets it).
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = env.bool("REACHLY_TRUST_REQUEST_ID", default=False)
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False  # PII off, as in Sentry

# Sentry: nothing is initialised (or sent) without a DSN.
SENTRY_DSN = env_secret("SENTRY_DSN", "")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default=REACHLY_ENV)
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
_ops_sentry.init(
    dsn=SENTRY_DSN,
    environment=SENTRY_ENVIRONMENT,
    release=env.str("REACHLY_RELEASE", default=""),
    traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
)

# Prometheus. Web: /metrics and /metrics/cluster, with `Authorization: Bearer
# <REACHLY_METRICS_TOKEN>` (without a token they answer only outside prod).
# Workers: an exporter on an internal port (0 = off). Multi-process servers
# (prefork workers, uvicorn --workers) need PROMETHEUS_MULTIPROC_DIR.
REACHLY_METRICS_TOKEN = env_secret("REACHLY_METRICS_TOKEN", "")
REACHLY_WORKER_METRICS_PORT = env.int("REACHLY_WORKER_METRICS_PORT", default=0)
REACHLY_WORKER_METRICS_ADDR = env.str("REACHLY_WORKER_METRICS_ADDR", default="127.0.0.1")
PROMETHEUS_EXPORT_MIGRATIONS = False  # no database query at import time

# The admin's links: Flower (same host, behind the URL prefix of its
# Procfile line) and the capacity page's refresh period.
FLOWER_URL = env.str("FLOWER_URL", default="/flower/")
REACHLY_CAPACITY_REFRESH_SECONDS = env.float("REACHLY_CAPACITY_REFRESH_SECONDS", default=5.0)
# An SSE stream (GET /api/v1/jobs/{id}/stream) ends after this long, so a
# proxy or a forgotten client never holds a web worker forever; EventSource
# reconnects by itself with Last-Event-ID and misses nothing.
REACHLY_SSE_MAX_SECONDS = env.float("REACHLY_SSE_MAX_SECONDS", default=300.0)

# ---------------------------------------------------------------------------
# Browser agents and the sandbox network (agents/browser/, reachly/sandbox/)
# ---------------------------------------------------------------------------
# The sandbox: a small professional network served by Reachly itself, the
# browser agents' default target (shared/DESIGN.md, "Embedded defaults").
# On by default everywhere but production.
REACHLY_SANDBOX_ENABLED = env.bool("REACHLY_SANDBOX_ENABLED", default=REACHLY_ENV != "prod")
# Where browser workers find it (its login page is `<url>login`).
REACHLY_SANDBOX_URL = env.str("REACHLY_SANDBOX_URL", default=REACHLY_BASE_URL.rstrip("/") + "/sandbox/")
# Its behaviour: invitations are accepted after this delay (per-member
# override), and trouble, off by default so runs are deterministic.
REACHLY_SANDBOX_ACCEPT_SECONDS = env.float("REACHLY_SANDBOX_ACCEPT_SECONDS", default=30.0)
REACHLY_SANDBOX_SLOW_RATE = env.float("REACHLY_SANDBOX_SLOW_RATE", default=0.0)
REACHLY_SANDBOX_SLOW_SECONDS = env.float("REACHLY_SANDBOX_SLOW_SECONDS", default=2.0)
REACHLY_SANDBOX_CHALLENGE_RATE = env.float("REACHLY_SANDBOX_CHALLENGE_RATE", default=0.0)
REACHLY_SANDBOX_CHALLENGE_SECONDS = env.float("REACHLY_SANDBOX_CHALLENGE_SECONDS", default=60.0)
REACHLY_SANDBOX_ACTIONS_PER_HOUR = env.int("REACHLY_SANDBOX_ACTIONS_PER_HOUR", default=300)

# Chromium: this binary, else Playwright's own, else Debian's.
REACHLY_CHROMIUM = env.str("REACHLY_CHROMIUM", default="")
REACHLY_BROWSER_HEADLESS = env.bool("REACHLY_BROWSER_HEADLESS", default=True)
# A context is closed and reopened from its saved state after this many
# page loads: Chromium's per-context memory grows with history and caches.
REACHLY_BROWSER_PAGES_PER_CONTEXT = env.int("REACHLY_BROWSER_PAGES_PER_CONTEXT", default=200)
# Account contexts kept open per worker process (least recently used closed first).
REACHLY_BROWSER_MAX_CONTEXTS = env.int("REACHLY_BROWSER_MAX_CONTEXTS", default=10)
REACHLY_BROWSER_TIMEOUT_SECONDS = env.float("REACHLY_BROWSER_TIMEOUT_SECONDS", default=30.0)
# Human pacing: a random pause in [min, max] seconds before each action.
# Tests and benchmarks set both to 0.
_TESTING = REACHLY_ENV == "test"
REACHLY_BROWSER_PACE_MIN_SECONDS = env.float("REACHLY_BROWSER_PACE_MIN_SECONDS", default=0.0 if _TESTING else 2.0)
REACHLY_BROWSER_PACE_MAX_SECONDS = env.float("REACHLY_BROWSER_PACE_MAX_SECONDS", default=0.0 if _TESTING else 6.0)
# How long an account rests when the network pushes back.
REACHLY_BROWSER_CHALLENGE_COOL_DOWN_SECONDS = env.float("REACHLY_BROWSER_CHALLENGE_COOL_DOWN_SECONDS", default=1800.0)
REACHLY_BROWSER_TOO_MANY_COOL_DOWN_SECONDS = env.float("REACHLY_BROWSER_TOO_MANY_COOL_DOWN_SECONDS", default=3600.0)
# Follow-ups wait for invitations to be accepted: look again this often, give up after that long.
REACHLY_FOLLOW_UP_RECHECK_SECONDS = env.float("REACHLY_FOLLOW_UP_RECHECK_SECONDS", default=3600.0)
REACHLY_FOLLOW_UP_WAIT_SECONDS = env.float("REACHLY_FOLLOW_UP_WAIT_SECONDS", default=14 * 86400.0)

# ---------------------------------------------------------------------------
# REST API (reachly.api), lead import, outgoing webhooks, e-mail
# https://www.django-rest-framework.org/api-guide/settings/
# https://drf-spectacular.readthedocs.io/en/latest/settings.html
# ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: its `WWW-Authenticate: Token` makes failures answer 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "reachly.api.authentication.TokenAuthentication",
        "reachly.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["reachly.api.permissions.TenantMember"],
    "DEFAULT_THROTTLE_CLASSES": ["reachly.api.throttling.PerTokenThrottle"],
    "DEFAULT_PAGINATION_CLASS": "reachly.api.pagination.Cursor",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "reachly.api.parsers.SafeJSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "reachly.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "reachly.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "PAGE_SIZE": 100,
}
# Requests per token (or per signed-in user, or per address) and period,
# counted by the global limiter in Redis, so the rate holds across web processes.
REACHLY_API_THROTTLE_RATE = env.str("REACHLY_API_THROTTLE_RATE", default="1200/min")
# Requests with an unknown, revoked or malformed API token per client
# address; past it every token request from that address answers 429 until
# the window slides (reachly/api/authentication.py). Empty: unlimited.
REACHLY_API_INVALID_TOKEN_RATE = env.str("REACHLY_API_INVALID_TOKEN_RATE", default="30/min")
# Failed sign-ins (reachly/tenants/signin.py), counted by the same global
# limiter: refused per user name and address, and per address; past the
# per-name figure a name is slowed (one check per REACHLY_LOGIN_SLOW_SECONDS),
# never locked, so nobody can lock another user out.
REACHLY_LOGIN_FAILURES_PER_USER_ADDRESS = env.str("REACHLY_LOGIN_FAILURES_PER_USER_ADDRESS", default="10/hour")
REACHLY_LOGIN_FAILURES_PER_ADDRESS = env.str("REACHLY_LOGIN_FAILURES_PER_ADDRESS", default="50/hour")
REACHLY_LOGIN_FAILURES_PER_USER = env.str("REACHLY_LOGIN_FAILURES_PER_USER", default="100/hour")
REACHLY_LOGIN_SLOW_SECONDS = env.float("REACHLY_LOGIN_SLOW_SECONDS", default=10.0)
SPECTACULAR_SETTINGS = {
    "TITLE": "Reachly API",
    "DESCRIPTION": "Tenant-scoped REST API: campaigns, leads, sender accounts, jobs, usage and webhooks. "
    'Authenticate with `Authorization: Token <key>`. Errors are `{"error": {"code", "message", "details"}}`.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Separate request and response components: write-only secrets never
    # appear in responses, read-only fields never in requests.
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files: /api/docs/ works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
    ],
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "reachly.orchestration.models.JobStatus",
        "StepStatusEnum": "reachly.orchestration.models.StepStatus",
        "LeadStatusEnum": "reachly.campaigns.models.Lead.Status",
        "CampaignStatusEnum": "reachly.campaigns.models.Campaign.Status",
        "SenderAccountStatusEnum": "reachly.campaigns.models.SenderAccount.Status",
    },
}
# Lead import limits: larger files answer 413, more rows 400 (say so, import nothing).
REACHLY_IMPORT_MAX_BYTES = env.int("REACHLY_IMPORT_MAX_BYTES", default=50 * 1024 * 1024)
REACHLY_IMPORT_MAX_ROWS = env.int("REACHLY_IMPORT_MAX_ROWS", default=100_000)
# The one request-body limit, from the ingress (proxy-body-size in
# k8s/base/ingress.yaml, checked by tests/deploy) to Django: an import file
# plus 1 MiB for multipart framing. Larger bodies answer 413.
REACHLY_REQUEST_MAX_BYTES = REACHLY_IMPORT_MAX_BYTES + 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = REACHLY_REQUEST_MAX_BYTES
# The egress policy (agents/egress): every outbound request (webhooks, LLM
# providers, every request a browser agent's Chromium makes) goes to public
# addresses only. Exceptions, for development and tests only: addresses or
# networks with an optional port ("127.0.0.1:9000,10.0.0.0/8"). Operator-set
# origins (a network's site URL, LLM base URLs) are trusted by their callers.
REACHLY_EGRESS_ALLOW = env.list("REACHLY_EGRESS_ALLOW", default=[])
REACHLY_WEBHOOK_TIMEOUT = env.float("REACHLY_WEBHOOK_TIMEOUT", default=10.0)
# The notification agent's mail: the console in dev and test, SMTP in production.
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if REACHLY_ENV == "prod"
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Reachly <noreply@reachly.local>")

# ---------------------------------------------------------------------------
# Web UI (reachly/web, templates/, static/)
# https://whitenoise.readthedocs.io/en/stable/django.html#WHITENOISE_USE_FINDERS
# ---------------------------------------------------------------------------
# uvicorn serves static files through WhiteNoise. Outside production it finds
# them where they live (apps' static/ folders, STATICFILES_DIRS), so the demo
# and the browser tests need no collectstatic step; production serves the
# collected, compressed copies.
WHITENOISE_USE_FINDERS = REACHLY_ENV != "prod"
WHITENOISE_AUTOREFRESH = DEBUG

"""Prometheus metrics: the series, and the small API other modules call.

    from reachly.observability import metrics
    metrics.step_started("outreach")
    metrics.step_finished("outreach", "succeeded", seconds)
    metrics.limiter_denied("account:7:invite")
    metrics.llm_call(provider="openai", model="gpt-4o-mini", prompt_tokens=812, completion_tokens=95, cost=0.0004)
    with metrics.browser_context(): ...       # or browser_context_opened() / _closed()

Where they are exposed (docs/operations.md has the scrape configuration):

* web processes: `/metrics` (django-prometheus: requests, latencies, plus
  these series when the web process increments them);
* worker processes: an HTTP exporter on REACHLY_WORKER_METRICS_PORT, started
  by the worker's main process. Prefork children write to
  PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode) and the
  exporter sums them, so every child's steps are counted;
* `/metrics/cluster`: what no single process knows — broker queue depth per
  agent queue, steps per agent and state, live workers. Scrape it once (any
  web replica), not per pod.

Labels are bounded: agents and outcomes are enums; limiter scopes lose their
ids ("account:7:invite" -> "account:invite"); tenants are not labels.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator

from prometheus_client import Counter, Gauge, Histogram

log = logging.getLogger(__name__)

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # prometheus_client writes its files there from the first metric on.
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

STEP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)

STEPS_STARTED = Counter("reachly_steps_started", "Steps claimed by a worker and started.", ["agent"])
STEPS_FINISHED = Counter(
    "reachly_steps_finished",
    "Step executions by how they ended: succeeded, failed (for good), ready (will run again: a retry or a"
    " limit), paused, cancelled, lost (the lease was taken over).",
    ["agent", "outcome"],
)
STEP_DURATION = Histogram(
    "reachly_step_duration_seconds", "Wall time of one step execution.", ["agent", "outcome"], buckets=STEP_BUCKETS
)
LIMITER_DENIALS = Counter("reachly_limiter_denials", "Global limiter denials, per limit scope.", ["scope"])
LLM_TOKENS = Counter("reachly_llm_tokens", "LLM tokens used.", ["provider", "model", "kind"])
LLM_COST = Counter("reachly_llm_cost_usd", "LLM cost in USD.", ["provider", "model"])
LLM_CALLS = Counter("reachly_llm_calls", "LLM calls.", ["provider", "model", "outcome"])
BROWSER_CONTEXTS = Gauge(
    "reachly_browser_contexts_open",
    "Open browser contexts (one per sender account in use).",
    multiprocess_mode="livesum",
)


def scope_label(scope: str) -> str:
    """A limiter scope without its ids, so the label set stays small."""
    return re.sub(r"=\d+", "", re.sub(r":\d+(?=:|$)", "", scope))


def step_started(agent: str) -> None:
    STEPS_STARTED.labels(agent).inc()


def step_finished(agent: str, outcome: str, seconds: float) -> None:
    STEPS_FINISHED.labels(agent, outcome).inc()
    STEP_DURATION.labels(agent, outcome).observe(max(0.0, seconds))


def limiter_denied(scope: str) -> None:
    LIMITER_DENIALS.labels(scope_label(scope)).inc()


def llm_call(
    *,
    provider: str,
    model: str,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    cost: float = 0.0,
    outcome: str = "ok",
) -> None:
    LLM_CALLS.labels(provider, model, outcome).inc()
    if prompt_tokens:
        LLM_TOKENS.labels(provider, model, "prompt").inc(prompt_tokens)
    if completion_tokens:
        LLM_TOKENS.labels(provider, model, "completion").inc(completion_tokens)
    if cost:
        LLM_COST.labels(provider, model).inc(float(cost))


def browser_context_opened() -> None:
    BROWSER_CONTEXTS.inc()


def browser_context_closed() -> None:
    BROWSER_CONTEXTS.dec()


@contextlib.contextmanager
def browser_context() -> Iterator[None]:
    browser_context_opened()
    try:
        yield
    finally:
        browser_context_closed()


# ---------------------------------------------------------------------------
# Exposition
# ---------------------------------------------------------------------------


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def process_registry():
    """This process's series; in multiprocess mode, every process's that
    shares the directory (a prefork worker's children, uvicorn's workers)."""
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

    if not multiprocess_dir():
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def clean_dead_processes() -> None:
    """Forget the live gauges of processes that are gone (a worker restarted
    in the same directory); counters of dead processes stay, they are totals."""
    directory = multiprocess_dir()
    if not directory or not os.path.isdir(directory):
        return
    from prometheus_client import multiprocess

    pids = set()
    for name in os.listdir(directory):
        m = re.search(r"_(\d+)\.db$", name)
        if m:
            pids.add(int(m.group(1)))
    for pid in pids:
        if pid != os.getpid() and not _alive(pid):
            multiprocess.mark_process_dead(pid, directory)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_exporter_started = False


def start_worker_exporter(port: int, addr: str) -> bool:
    """Serve this worker's metrics on an internal port (once per process)."""
    global _exporter_started
    if _exporter_started or not port:
        return False
    from prometheus_client import start_http_server

    start_http_server(port, addr=addr, registry=process_registry())
    _exporter_started = True
    log.info("metrics exporter listening on %s:%s", addr, port)
    return True

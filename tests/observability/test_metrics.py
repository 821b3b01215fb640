"""Prometheus: the worker exporter shows the step series after a job ran on
real (prefork) workers; LLM and limiter series. The web endpoints
(/metrics, /metrics/cluster) are tested in tests/monitoring."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devtools import processes
from reachly.observability import metrics
from reachly.orchestration.graph import StepSpec
from reachly.orchestration.services import job_start
from tests.factories import TenantFactory, test_steps
from tests.helpers import wait_job


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, frozenset(labels.items())))


@pytest.mark.workers
def test_the_worker_exporter_shows_steps_started_finished_and_their_durations(workers, tmp_path):
    workers.start("control", beat=True)
    port = processes.free_port()
    workers.start(
        "agent.test",
        concurrency=2,  # prefork: the steps run in two child processes
        extra_env={
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
            "REACHLY_WORKER_METRICS_PORT": str(port),
        },
    )
    tenant = TenantFactory()
    job = job_start(
        tenant=tenant,
        steps=[*test_steps(4, items=2), StepSpec("bad", "test", {"fail": "permanent"})],
    )
    wait_job(job, "failed")

    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    assert value(text, "reachly_steps_started_total", agent="test") == 5
    assert value(text, "reachly_steps_finished_total", agent="test", outcome="succeeded") == 4
    assert value(text, "reachly_steps_finished_total", agent="test", outcome="failed") == 1
    assert value(text, "reachly_step_duration_seconds_count", agent="test", outcome="succeeded") == 4
    # Two pool children did the work; the exporter summed both.
    pids = {p.name for p in (tmp_path / "prom").glob("counter_*.db")}
    assert len(pids) >= 2


def test_limiter_denials_are_counted_per_scope_without_ids(redis_client):
    from reachly import limiter

    before = metrics.LIMITER_DENIALS.labels("account:invite")._value.get()
    lim = limiter.window("account:41:invite", 1, "minute")
    assert limiter.acquire([lim]).allowed
    assert not limiter.acquire([lim]).allowed
    assert not limiter.acquire([lim], peek=True).allowed  # a peek is not a denial
    assert metrics.LIMITER_DENIALS.labels("account:invite")._value.get() == before + 1
    assert metrics.scope_label("rule12:tenant=4") == "rule12:tenant"
    assert metrics.scope_label("tokens:openai:tenant=3") == "tokens:openai:tenant"


def test_llm_and_browser_series_are_available_to_other_modules():
    metrics.llm_call(provider="local", model="tmpl", prompt_tokens=100, completion_tokens=20, cost=0.5)
    with metrics.browser_context():
        assert metrics.BROWSER_CONTEXTS._value.get() >= 1
    from prometheus_client import generate_latest

    text = generate_latest(metrics.process_registry()).decode()
    assert value(text, "reachly_llm_tokens_total", provider="local", model="tmpl", kind="prompt") >= 100
    assert value(text, "reachly_llm_cost_usd_total", provider="local", model="tmpl") >= 0.5


@pytest.mark.django_db
def test_a_recorded_llm_call_counts_its_tokens_and_cost_once(plans, django_capture_on_commit_callbacks):
    from reachly.llm.services import llm_call_record

    tenant = TenantFactory()
    tokens = metrics.LLM_TOKENS.labels("anthropic", "claude-x", "completion")
    cost = metrics.LLM_COST.labels("anthropic", "claude-x")
    before = (tokens._value.get(), cost._value.get())
    job = job_start(tenant=tenant, steps=test_steps(1))
    step = job.steps.get()
    call = {
        "tenant_id": tenant.id,
        "agent": "copywriter",
        "provider": "anthropic",
        "model": "claude-x",
        "outcome": "ok",
        "step_id": step.id,
        "effect_key": "note",
        "prompt_tokens": 50,
        "completion_tokens": 7,
        "cost": "0.25",
    }
    for _ in range(2):  # the same effect recorded twice (a retried step): billed once
        with django_capture_on_commit_callbacks(execute=True):
            llm_call_record(**call)
    assert (tokens._value.get(), cost._value.get()) == (before[0] + 7, before[1] + 0.25)

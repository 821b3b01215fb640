"""Structured logs: the context of a request or a step on every line, carried
from an HTTP request through Celery headers into the worker that runs the
step; secrets and session state never written."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog
from django.urls import reverse

from reachly.core import redis as rds
from reachly.observability import logs
from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import Step
from reachly.orchestration.services import job_pause, job_start
from tests.conftest import wait_for
from tests.factories import CampaignFactory, TenantFactory
from tests.helpers import wait_job

PASSWORD = "hunter2-SECRET-pw"
SESSION = "li_at-SECRET-cookie"
API_KEY = "rly_0123abcd_" + "S3cretS3cretS3cretS3cretS3cret00"


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        (f"{{'password': '{PASSWORD}', 'step': 3}}", PASSWORD),
        (f'{{"session_state": {{"cookies": [{{"value": "{SESSION}"}}]}}, "x": 1}}', SESSION),
        (f"Authorization: Token {API_KEY}", API_KEY),
        (f"calling with key {API_KEY}", API_KEY.split("_", 2)[2]),
        (f"redis://:{PASSWORD}@redis.internal:6379/0", PASSWORD),
        (f"GET /callback?token={PASSWORD}&page=2", PASSWORD),
        (f"Cookie: sessionid={SESSION}; csrftoken=abc", SESSION),
    ],
)
def test_secrets_in_free_text_are_redacted(text, hidden):
    out = logs.redact_text(text)
    assert hidden not in out
    assert logs.REDACTED in out


def test_secrets_under_sensitive_keys_are_redacted_at_any_depth_and_counts_are_not():
    event = {
        "event": "login",
        "account": {"login": "bob@example.com", "password": PASSWORD, "session_state": {"cookies": [SESSION]}},
        "headers": {"Authorization": f"Token {API_KEY}", "Accept": "text/html"},
        "HTTP_COOKIE": f"sessionid={SESSION}",
        "prompt_tokens": 812,
        "fencing_token": 4,
    }
    out = logs.redact_value(event)
    dumped = json.dumps(out)
    for secret in (PASSWORD, SESSION, API_KEY):
        assert secret not in dumped
    assert out["account"]["login"] == "bob@example.com"
    assert out["headers"]["Accept"] == "text/html"
    assert (out["prompt_tokens"], out["fencing_token"]) == (812, 4)


@pytest.fixture
def json_lines():
    """The root logger writing through the production (JSON) formatter."""
    config = logs.logging_config(json=True, level="DEBUG")["formatters"]["json"]
    factory = config.pop("()")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(factory(**config))
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_json_lines_have_every_context_field_and_no_secrets(json_lines):
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id="r-1", trace_id="r-1", tenant_id=7)
    structlog.get_logger("reachly.test").info("login", password=PASSWORD, session_state={"c": SESSION})
    logging.getLogger("reachly.test").warning("retrying %s", f"https://bob:{PASSWORD}@api.example.com/")
    try:
        raise ValueError(f"bad header Authorization: Token {API_KEY}")
    except ValueError:
        logging.getLogger("reachly.test").exception("boom", extra={"cookie": SESSION})
    structlog.contextvars.clear_contextvars()
    lines = json_lines()
    assert len(lines) == 3
    for line in lines:
        assert set(logs.CONTEXT_FIELDS) <= set(line)
        assert (line["request_id"], line["tenant_id"], line["job_id"]) == ("r-1", 7, None)
        for secret in (PASSWORD, SESSION, API_KEY):
            assert secret not in json.dumps(line)
    assert "ValueError" in lines[2]["exception"]


def test_console_lines_are_readable(capsys):
    config = logs.logging_config(json=False, level="INFO")["formatters"]["console"]
    formatter = config.pop("()")(**config)
    record = logging.LogRecord("reachly.x", logging.INFO, __file__, 1, "step %s done", (42,), None)
    line = formatter.format(record)
    assert "[info" in line and "step 42 done" in line and "job_id" not in line


def _json_log(worker) -> list[dict]:
    return [json.loads(line) for line in worker.log.read_text().splitlines() if line.startswith("{")]


@pytest.mark.workers
def test_the_request_id_travels_from_an_http_request_to_the_worker_that_runs_the_step(
    workers, alice_client, settings, redis_client
):
    """An operator resumes a job in the admin; the dispatcher pass that request
    triggered and the step it admitted log the request's id, and every line
    of the step carries tenant, campaign, job, step and agent."""
    settings.DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True
    env = {"REACHLY_LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}
    tenant = TenantFactory()
    campaign = CampaignFactory(tenant=tenant)
    job = job_start(tenant=tenant, campaign=campaign, steps=[StepSpec("one", "test", {"items": 2})])
    job_pause(job)
    # No beat: dispatcher passes happen only when triggered. The first one
    # (from job_start) finds the job paused and admits nothing.
    control = workers.start("control", extra_env=env)
    pending = rds.key("dispatch", "pending", "test")
    wait_for(lambda: not redis_client.exists(pending), what="the first dispatcher pass")
    step_worker = workers.start("agent.test", extra_env=env)

    alice_client.post(
        reverse("admin:orchestration_job_changelist"),
        {"action": "resume", "_selected_action": [str(job.id)]},
        HTTP_X_REQUEST_ID="req-7f3a",
    )
    wait_job(job, "succeeded")
    step = Step.objects.get(job=job)
    workers.stop_all()

    dispatch_lines = [line for line in _json_log(control) if line.get("request_id") == "req-7f3a"]
    assert any(line["event"] == "task_started" for line in dispatch_lines), "the dispatcher pass of that request"
    assert all(line["agent"] == "test" and line["trace_id"] == "req-7f3a" for line in dispatch_lines)

    # Lines of this step (a step another test left in the broker may run here
    # too: its lines carry its own job, and are not this test's business).
    in_task = [line for line in _json_log(step_worker) if line.get("task_id") and line.get("job_id") in (None, job.id)]
    assert in_task, step_worker.tail()
    expected = {
        "request_id": "req-7f3a",
        "trace_id": "req-7f3a",
        "tenant_id": tenant.id,
        "campaign_id": campaign.id,
        "job_id": job.id,
        "step_id": step.id,
        "agent": "test",
    }
    for line in in_task:
        assert {k: line.get(k) for k in expected} == expected, line
    assert {"task_started", "task_succeeded"} <= {line["event"] for line in in_task}


@pytest.mark.workers
def test_a_worker_never_logs_the_secrets_it_is_handed(workers):
    """Celery itself logs a task's kwargs ("Task received", and again when it
    fails); a task handed a password and a session gets them redacted."""
    from reachly.celery import app

    worker = workers.start("agent.test", extra_env={"REACHLY_LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"})
    app.send_task(
        "reachly.run_step",
        kwargs={
            "step": 0,
            "job": 0,
            "tenant": 0,
            "agent": "test",
            "password": PASSWORD,
            "session_state": {"cookies": [{"name": "li_at", "value": SESSION}]},
            "headers": {"Authorization": f"Token {API_KEY}"},
        },
        queue="agent.test",
    )
    wait_for(lambda: "task_failed" in worker.log.read_text(), timeout=30, what="the task to fail")
    worker.stop()
    text = worker.log.read_text()
    assert "Task reachly.run_step" in text and "received" in text  # Celery did log the kwargs...
    for secret in (PASSWORD, SESSION, API_KEY, API_KEY.split("_", 2)[2]):
        assert secret not in text  # ...with every secret redacted
    assert logs.REDACTED in text


def test_redaction_never_breaks_a_line_whatever_it_holds():
    from collections import namedtuple

    Point = namedtuple("Point", "x y")
    deep = [[[[[[[[[[{"token": "t"}]]]]]]]]]]
    event = {"event": "odd", "p": Point(1, 2), "s": {1, 2}, "b": b"password=x", "deep": deep}
    out = logs.redact_value(event)
    assert out["p"] == Point(1, 2) and out["s"] == {1, 2}
    assert logs.redact_text("token=") == "token=" and logs.redact_text("") == ""


@pytest.mark.django_db
def test_a_secret_in_a_request_url_never_reaches_a_log_line(json_lines, client):
    """Issue 11: `?token=<key>` was written in full by Django's django.request
    warnings (the request object on the record, rendered with its URL)."""
    marker = "marker-9f3c2a71e5"
    client.get(f"/api/v1/nope/?token={marker}&ticket={marker}x")
    client.get(f"/api/v1/jobs/?token={API_KEY}")
    lines = json_lines()
    assert any(line.get("logger") == "django.request" or "Not Found" in str(line.get("event")) for line in lines)
    for line in lines:
        assert marker not in json.dumps(line) and API_KEY not in json.dumps(line)

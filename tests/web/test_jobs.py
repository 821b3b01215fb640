"""Job pages: the step graph by dependency level, failed steps with their
error, pause / resume / cancel / retry through the control plane."""

from __future__ import annotations

import json
import re

import pytest

from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import Job, Step
from reachly.orchestration.services import job_start
from reachly.web import graph

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


def live_config(html: str) -> dict:
    return json.loads(re.search(r'<script id="live-config" type="application/json">(.*?)</script>', html)[1])


def fail(step: Step, message: str = "boom: the page did not load") -> None:
    Step.objects.filter(pk=step.pk).update(
        status="failed", error={"type": "AgentError", "message": message}, attempts=5
    )
    Job.objects.filter(pk=step.job_id).update(failed_steps=1)


def test_the_job_page_draws_every_step_and_subscribes_from_its_last_seq(alice, alices_world):
    job = alices_world.job
    job.refresh_from_db()
    html = alice.client.get(f"/jobs/{job.pk}/").content.decode()
    first, second = job.steps.order_by("id")
    assert f'data-step="{first.pk}"' in html and f'data-step="{second.pk}"' in html
    assert html.count('class="edge"') == 1  # first -> second
    config = live_config(html)
    assert config["jobs"] == {str(job.pk): 0} and config["rendered"] == {str(job.pk): job.last_seq}
    steps = json.loads(re.search(r'<script id="graph-steps" type="application/json">(.*?)</script>', html)[1])
    assert steps[str(second.pk)] == ["blocked", f"s{second.pk}", [first.pk]]
    # Controls for a running job: pause and cancel, not resume.
    assert re.search(r'data-control="pause"\s*>', html) and re.search(r'data-control="resume"\s*hidden', html)


def test_failed_steps_are_listed_with_their_error_and_a_retry_button(alice, alices_world):
    step = alices_world.job.steps.get(key="first")
    fail(step)
    html = alice.client.get(f"/jobs/{alices_world.job.pk}/").content.decode()
    assert f'data-failed-step="{step.pk}"' in html
    assert "AgentError: boom: the page did not load" in html
    assert f'action="/jobs/{alices_world.job.pk}/steps/{step.pk}/retry"' in html


def test_pause_resume_and_cancel_go_through_the_control_plane(alice, alices_world):
    job = alices_world.job
    response = alice.client.post(f"/jobs/{job.pk}/pause", **JSON)
    assert response.status_code == 202 and response.json() == {"job": job.pk, "status": "paused"}
    assert Job.objects.get(pk=job.pk).status == "paused"
    # Pausing twice is a conflict, said in words.
    response = alice.client.post(f"/jobs/{job.pk}/pause", **JSON)
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "This job is paused: it cannot be paused."
    # Without JavaScript: a redirect back with a message.
    response = alice.client.post(f"/jobs/{job.pk}/resume", follow=True)
    assert response.redirect_chain == [(f"/jobs/{job.pk}/", 302)]
    assert b"Resuming the job." in response.content
    assert alice.client.post(f"/jobs/{job.pk}/cancel", **JSON).status_code == 202
    job.refresh_from_db()
    assert job.status == "cancelled"
    last = job.events.order_by("-seq").first()
    assert (last.type, last.data["status"], last.data["by"]) == ("job.status", "cancelled", "alice")


def test_a_failed_step_is_retried_alone_or_with_all_the_others(alice, alices_world):
    job = alices_world.job
    step = job.steps.get(key="first")
    fail(step)
    response = alice.client.post(f"/jobs/{job.pk}/steps/{step.pk}/retry", **JSON)
    assert response.status_code == 202
    step.refresh_from_db()
    assert step.status == "ready" and step.attempts == 0
    # A step that has not failed cannot be retried.
    response = alice.client.post(f"/jobs/{job.pk}/steps/{step.pk}/retry", **JSON)
    assert response.status_code == 409 and "Only a failed step" in response.json()["error"]["message"]
    fail(step)
    response = alice.client.post(f"/jobs/{job.pk}/retry-failed", follow=True)
    assert b"Retrying 1 failed step." in response.content
    assert Step.objects.get(pk=step.pk).status == "ready"


def test_a_step_of_another_job_cannot_be_retried_through_this_one(alice, alices_world):
    other = job_start(tenant=alice.tenant, steps=[StepSpec("x", "test")])
    step = other.steps.get()
    fail(step)
    assert alice.client.post(f"/jobs/{alices_world.job.pk}/steps/{step.pk}/retry").status_code == 404


def test_the_jobs_list_filters_by_status(alice, alices_world):
    other = job_start(tenant=alice.tenant, steps=[StepSpec("x", "test")], name="Other")
    Job.objects.filter(pk=other.pk).update(status="succeeded")
    html = alice.client.get("/jobs/?status=succeeded").content.decode()
    assert f'data-job-row="{other.pk}"' in html and f'data-job-row="{alices_world.job.pk}"' not in html
    assert f'data-job-row="{alices_world.job.pk}"' in alice.client.get("/jobs/").content.decode()


def test_the_graph_fragment_is_the_graph_alone(alice, alices_world):
    html = alice.client.get(f"/jobs/{alices_world.job.pk}/graph").content.decode()
    assert html.lstrip().startswith('<div class="graph"') and "<html" not in html


# --- the layout, without a database -------------------------------------------------


def step(i: int, key: str, agent: str = "test", deps=(), status: str = "blocked") -> dict:
    return {"id": i, "key": key, "agent": agent, "status": status, "depends_on": list(deps)}


def test_steps_sit_one_column_right_of_their_deepest_dependency():
    steps = [step(1, "a"), step(2, "b", deps=["a"]), step(3, "c", deps=["a", "b"]), step(4, "d")]
    assert graph.levels(steps) == {"a": 0, "b": 1, "c": 2, "d": 0}
    layout = graph.layout(steps)
    x = {n.step["key"]: n.x for n in layout.nodes}
    assert x["a"] == x["d"] < x["b"] < x["c"]
    assert {(e.source.step["key"], e.target.step["key"]) for e in layout.edges} == {("a", "b"), ("a", "c"), ("b", "c")}
    assert layout.levels == 3 and layout.width > 0 and layout.height > 0


def test_a_wide_level_becomes_one_node_per_agent_with_counts():
    fan = [step(10 + i, f"work-{i}", status="succeeded" if i < 3 else "running") for i in range(20)]
    steps = [step(1, "plan", status="succeeded"), *[{**s, "depends_on": ["plan"]} for s in fan]]
    steps.append(step(99, "merge", agent="data_analyst", deps=[s["key"] for s in fan]))
    layout = graph.layout(steps)
    assert len(layout.nodes) == 3 and len(layout.edges) == 2
    group = next(n for n in layout.nodes if n.group)
    assert group.id == "g1-test" and group.label == "20 \u00d7 test"
    assert group.status == "running" and group.summary == "3/20 done · 17 running"
    live = layout.live_steps()
    assert live["15"] == ["running", "g1-test", [1]]


def test_a_long_chain_needs_no_recursion():
    chain = [step(i, f"s{i}", deps=[f"s{i - 1}"] if i else []) for i in range(5000)]
    assert graph.levels(chain)["s4999"] == 4999


def test_a_very_large_job_shows_counts_per_agent_instead_of_a_drawing(alice, alices_world, monkeypatch):
    from reachly.web.views import jobs as views

    monkeypatch.setattr(views, "TABLE_MAX_STEPS", 1)
    html = alice.client.get(f"/jobs/{alices_world.job.pk}/").content.decode()
    assert 'class="dag"' in html and "data-step-row" not in html  # drawn, no table
    monkeypatch.setattr(views, "GRAPH_MAX_STEPS", 1)
    html = alice.client.get(f"/jobs/{alices_world.job.pk}/").content.decode()
    assert 'class="dag"' not in html and "too many to draw" in html
    assert "<td>test</td>" in html and 'data-status="blocked"' in html

"""Agent queues (`agent.<role>`): run one admitted step."""

from __future__ import annotations

from celery import shared_task

from reachly.orchestration import runner


@shared_task(name="reachly.run_step", ignore_result=True)
def run_step(step: int, job: int, tenant: int, agent: str, account: int | None = None, tz: str | None = None) -> str:
    return runner.run({"step": step, "job": job, "tenant": tenant, "agent": agent, "account": account, "tz": tz})


@shared_task(name="reachly.run_steps", ignore_result=True)
def run_steps(messages: list[dict]) -> list[str]:
    """A batch of short steps admitted together (see publish.steps)."""
    return runner.run_batch(messages)

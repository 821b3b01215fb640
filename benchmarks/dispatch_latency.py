"""Dispatch latency on an idle system: step due → step started.

Two ways a step becomes due: its job is created (or its dependencies
finish), or a wait ends (a retry after backoff, a rate limit). Measured
from the step's due time (`next_attempt_at`, the database clock) to the
moment a worker starts it, through the after-commit trigger, a dispatcher
pass on the control worker, the broker and the claim. Baseline: a plain
Celery task's publish → start on the same worker, same run.

    python benchmarks/dispatch_latency.py

Target: p99 < 100 ms.
"""

from __future__ import annotations

import os
import time
import uuid

from harness import Bench, percentile, summary, wait_for
from report import result

SAMPLES = int(os.environ.get("BENCH_SAMPLES", "200"))
RETRY_SAMPLES = int(os.environ.get("BENCH_RETRY_SAMPLES", "30"))


def started_steps(job):
    from reachly.orchestration.models import StepAttempt

    return list(StepAttempt.objects.filter(step__job=job).order_by("started_at"))


def main() -> None:
    with Bench("latency", REACHLY_RETRY_BASE_SECONDS="0.5", REACHLY_RETRY_MAX_SECONDS="1") as bench:
        bench.procs.worker("control", beat=True, concurrency=2)  # as in the Procfile
        bench.procs.worker("agent.test")
        from reachly.orchestration.graph import StepSpec
        from reachly.orchestration.models import Job, Step
        from reachly.orchestration.services import job_start

        tenant = bench.tenant("bench")

        def run(spec: StepSpec) -> Job:
            job = job_start(tenant=tenant, steps=[spec])
            wait_for(lambda: Job.objects.filter(pk=job.pk, status="succeeded").exists(), timeout=30, interval=0.01)
            time.sleep(0.05)  # idle between samples
            return job

        for _ in range(10):  # warm up connections and prepared statements
            run(StepSpec("warm", "test"))

        created = []
        for _ in range(SAMPLES):
            job = run(StepSpec("s", "test"))
            step = Step.objects.get(job=job)
            created.append((started_steps(job)[0].started_at - step.next_attempt_at).total_seconds())

        retried = []
        for _ in range(RETRY_SAMPLES):
            job = run(StepSpec("s", "test", {"fail": "retryable", "fail_times": 1}))
            step = Step.objects.get(job=job)
            second = started_steps(job)[1]
            retried.append((second.started_at - step.next_attempt_at).total_seconds())

        from reachly.celery import app

        times = f"bench:{uuid.uuid4().hex}"
        client = bench.app_redis()
        for n in range(1, SAMPLES + 1):
            app.send_task("reachly.noop", kwargs={"sent_at": time.time(), "times": times}, queue="agent.test")
            wait_for(lambda n=n: client.llen(times) >= n, timeout=30, interval=0.002)
            time.sleep(0.05)
        celery = [float(x) for x in client.lrange(times, 0, -1)]

        print("dispatch latency, idle system (step due -> step started):")
        print(f"  reachly, job created      {summary(created)}")
        print(f"  reachly, wait ended       {summary(retried)}")
        print(f"  plain celery publish->run {summary(celery)}")
        print("  target: p99 < 100 ms")
        p99 = percentile(created, 99)
        result(
            "dispatch latency, idle (due → started)",
            summary(created),
            f"Celery publish → run: {summary(celery)}",
            "p99 < 100 ms",
            "yes" if p99 < 0.1 else f"no: p99 {p99 * 1000:.0f} ms",
        )


if __name__ == "__main__":
    main()

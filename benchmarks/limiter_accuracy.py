"""Limiter accuracy: a global 10/s across 4 worker processes.

Reachly's limit lives in Redis and holds for the whole cluster. Celery's
`rate_limit='10/s'` is enforced by each worker process on its own, so 4
processes run about 40/s. Same 4 processes, same run.

    python benchmarks/limiter_accuracy.py
"""

from __future__ import annotations

import os
import uuid
from collections import Counter

from harness import Bench, wait_for
from report import result

N = int(os.environ.get("BENCH_STEPS", "100"))
WORKERS = 4


def describe(times: list[float]) -> str:
    times = sorted(times)
    per_second = Counter(int(t) for t in times)
    worst_window = max(sum(1 for u in times[i:] if u - t < 1.0) for i, t in enumerate(times))
    rate = (len(times) - 1) / (times[-1] - times[0])
    return f"{rate:5.1f}/s overall, at most {max(per_second.values())} in a clock second, {worst_window} in any 1 s"


def main() -> None:
    with Bench("limiter") as bench:
        bench.procs.worker("control", beat=True, concurrency=2)
        for _ in range(WORKERS):
            bench.procs.worker("agent.test")
        from reachly.orchestration.models import Job, RateLimit, StepAttempt
        from reachly.orchestration.services import job_start
        from tests.factories import test_steps

        RateLimit.objects.create(name="bench 10/s", agent="test", subject="steps", limit=10, period="second")
        tenant = bench.tenant("bench")
        job = job_start(tenant=tenant, steps=test_steps(N))
        wait_for(lambda: Job.objects.filter(pk=job.pk, status="succeeded").exists(), timeout=300, interval=0.1)
        reachly = [
            t.timestamp()
            for t in StepAttempt.objects.filter(step__job=job, outcome="succeeded").values_list("started_at", flat=True)
        ]

        from reachly.celery import app

        times = f"bench:{uuid.uuid4().hex}"
        client = bench.app_redis()
        for _ in range(N):
            app.send_task("reachly.noop_rate_limited", kwargs={"times": times}, queue="agent.test")
        wait_for(lambda: client.llen(times) >= N, timeout=300, interval=0.1)
        celery = [float(x) for x in client.lrange(times, 0, -1)]

        print(f"limiter accuracy, limit 10/s, {WORKERS} worker processes, {N} tasks each:")
        print(f"  reachly global limit        {describe(reachly)}")
        print(f"  celery rate_limit='10/s'    {describe(celery)}")
        worst = max(sum(1 for u in sorted(reachly)[i:] if u - t < 1.0) for i, t in enumerate(sorted(reachly)))
        result(
            f"global limit 10/s over {WORKERS} workers",
            describe(reachly).strip(),
            f"Celery rate_limit='10/s': {describe(celery).strip()}",
            "≤ 10 in any 1 s",
            "yes" if worst <= 10 else f"no: {worst} in 1 s",
        )


if __name__ == "__main__":
    main()

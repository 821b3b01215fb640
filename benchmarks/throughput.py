"""Throughput: no-op steps through Reachly vs plain Celery no-op tasks.

Same machine, same broker, the same two worker processes (prefork, one
slot each) consuming `agent.test`, in the same run. Reachly's figure is
end to end: job created (steps committed) → every step `succeeded` in
PostgreSQL, through the dispatcher (a control worker), the limiter check,
leases, events and the dependency bookkeeping. Celery's: N tasks published
→ N tasks executed (each increments a Redis counter).

    python benchmarks/throughput.py        (BENCH_STEPS=2000 by default)

Target: Reachly ≥ 0.5 x plain Celery.
"""

from __future__ import annotations

import os
import time
import uuid

from harness import Bench, wait_for
from report import result

N = int(os.environ.get("BENCH_STEPS", "2000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
WORKERS = 2


def reachly_run(tenant, n: int) -> float:
    from reachly.orchestration.models import Job
    from reachly.orchestration.services import job_start
    from tests.factories import test_steps

    start = time.perf_counter()
    job = job_start(tenant=tenant, steps=test_steps(n))
    wait_for(lambda: Job.objects.filter(pk=job.pk, status="succeeded").exists(), timeout=900, interval=0.02)
    return n / (time.perf_counter() - start)


def celery_run(bench: Bench, n: int) -> float:
    from reachly.celery import app

    counter = f"bench:{uuid.uuid4().hex}"
    client = bench.app_redis()
    start = time.perf_counter()
    with app.producer_or_acquire() as producer:
        for _ in range(n):
            app.send_task("reachly.noop", kwargs={"counter": counter}, queue="agent.test", producer=producer)
    wait_for(lambda: int(client.get(counter) or 0) >= n, timeout=900, interval=0.02)
    return n / (time.perf_counter() - start)


def main() -> None:
    with Bench("throughput") as bench:
        bench.procs.worker("control", beat=True, concurrency=2)  # as in the Procfile
        for _ in range(WORKERS):
            bench.procs.worker("agent.test")
        tenant = bench.tenant("bench")
        reachly_run(tenant, 100)  # warm up both paths
        celery_run(bench, 100)
        reachly_rates, celery_rates = [], []
        for _ in range(ROUNDS):
            celery_rates.append(celery_run(bench, N))
            reachly_rates.append(reachly_run(tenant, N))
        r, c = max(reachly_rates), max(celery_rates)
        print(f"throughput ({N} no-op steps, {WORKERS} worker processes, best of {ROUNDS}):")
        print(f"  reachly       {r:8.0f} steps/s   (runs: {', '.join(f'{x:.0f}' for x in reachly_rates)})")
        print(f"  plain celery  {c:8.0f} tasks/s   (runs: {', '.join(f'{x:.0f}' for x in celery_rates)})")
        print(f"  ratio         {r / c:8.2f}           (target >= 0.5)")
        result(
            f"throughput, no-op steps ({WORKERS} workers)",
            f"{r:.0f} steps/s",
            f"plain Celery {c:.0f} tasks/s",
            "ratio ≥ 0.5",
            "yes" if r / c >= 0.5 else f"no: {r / c:.2f}",
        )


if __name__ == "__main__":
    main()

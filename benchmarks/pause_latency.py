"""Pause latency: pause requested → running step stopped at a safe point.

The step does a 20 ms action between safe points (a page load is slower;
a no-op faster). Two paths are measured in the same run: the normal one,
a Redis stop flag read at every safe point, and the fallback when that flag
is lost (Redis flushed), the lease heartbeat reading the job's status from
PostgreSQL every REACHLY_HEARTBEAT_SECONDS.

    python benchmarks/pause_latency.py

Target: within 1 second.
"""

from __future__ import annotations

import os
import time

from harness import Bench, percentile, summary, wait_for
from report import result

SAMPLES = int(os.environ.get("BENCH_SAMPLES", "30"))
FALLBACK_SAMPLES = int(os.environ.get("BENCH_FALLBACK_SAMPLES", "6"))


def main() -> None:
    with Bench("pause", REACHLY_HEARTBEAT_SECONDS="5") as bench:
        bench.procs.worker("control", beat=True, concurrency=2)
        bench.procs.worker("agent.test")
        from reachly.orchestration import signals
        from reachly.orchestration.graph import StepSpec
        from reachly.orchestration.models import Job, StepAttempt
        from reachly.orchestration.services import job_pause, job_resume, job_start

        tenant = bench.tenant("bench")
        job = job_start(tenant=tenant, steps=[StepSpec("long", "test", {"items": 100_000, "sleep": 0.02})])

        def measure(lose_flag: bool) -> float:
            wait_for(lambda: job.steps.filter(status="running").exists(), timeout=30, interval=0.005)
            time.sleep(0.2)
            requested = time.time()
            job_pause(Job.objects.get(pk=job.pk))
            if lose_flag:
                signals.stop_clear("job", job.pk)
            wait_for(lambda: job.steps.filter(status="paused").exists(), timeout=30, interval=0.005)
            stopped = StepAttempt.objects.filter(step__job=job, outcome="paused").latest("finished_at").finished_at
            job_resume(Job.objects.get(pk=job.pk))
            return stopped.timestamp() - requested

        flag = [measure(lose_flag=False) for _ in range(SAMPLES)]
        fallback = [measure(lose_flag=True) for _ in range(FALLBACK_SAMPLES)]
        print("pause latency (request -> step stopped at a safe point, 20 ms actions):")
        print(f"  redis stop flag (normal)        {summary(flag)}")
        print(f"  heartbeat only (flag lost, 5 s) {summary(fallback)}")
        print("  target: < 1 s")
        p99 = percentile(flag, 99)
        result(
            "pause latency (request → stopped)",
            summary(flag),
            f"heartbeat-only fallback: {summary(fallback)}",
            "< 1 s",
            "yes" if p99 < 1.0 else f"no: p99 {p99:.2f} s",
        )


if __name__ == "__main__":
    main()

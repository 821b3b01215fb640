"""Event latency: worker commit → WebSocket client receive, 1,000 clients.

One ASGI web process (uvicorn) serves 1,000 concurrent WebSocket clients,
each subscribed to one of 10 running jobs; a worker process runs the jobs'
steps (about 10 steps/s in all: ~20 events/s, ~2,000 deliveries/s). For
every event a client receives, latency = receive time - the event's
timestamp (taken inside the committing transaction, so the commit itself is
included). Baseline in the same run: one client alone.

    python benchmarks/event_latency.py        (BENCH_CLIENTS=1000)

Target: p99 < 250 ms.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import urllib.request
from datetime import datetime

from harness import Bench, percentile, summary, wait_for
from report import result

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "1000"))
JOBS = 10
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))


async def client(
    url: str,
    job_id: int,
    after: dict[int, int],
    latencies: list[float],
    ready: asyncio.Event,
    stop: asyncio.Event,
    window: dict[str, float],
) -> None:
    import websockets

    async with websockets.connect(url, open_timeout=60, max_queue=None) as ws:
        await ws.send(json.dumps({"action": "subscribe", "job": job_id, "after_seq": after[job_id]}))
        live_from = None  # events up to the "subscribed" message are replayed history: not counted
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
            except TimeoutError:
                continue
            now = time.time()
            event = json.loads(raw)
            if event.get("type") == "subscribed":
                live_from = event["seq"]
                ready.set()
            elif live_from is not None and event.get("type") == "step.status" and event["seq"] > live_from:
                ts = datetime.fromisoformat(event["ts"]).timestamp()
                if ts >= window.get("start", float("inf")):  # only events committed in the window
                    latencies.append(now - ts)


async def measure(base: str, tickets: list[str], jobs: list[int], seconds: float) -> list[float]:
    from asgiref.sync import sync_to_async

    from reachly.orchestration.models import Job

    after = await sync_to_async(lambda: dict(Job.objects.filter(id__in=jobs).values_list("id", "last_seq")))()
    latencies: list[float] = []
    window: dict[str, float] = {}
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in tickets]
    tasks = []
    for i, ticket in enumerate(tickets):
        url = f"{base}/ws/events/?ticket={ticket}"
        tasks.append(asyncio.create_task(client(url, jobs[i % len(jobs)], after, latencies, readies[i], stop, window)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)  # don't open 1,000 sockets in one burst
    # Measure once every client is subscribed (its replay done) and the
    # connection storm has settled: steady state, not start-up.
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=300)
    await asyncio.sleep(2)
    window["start"] = time.time()
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return latencies


def main() -> None:
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    with Bench("events") as bench:
        bench.procs.worker("control", beat=True, concurrency=2)
        bench.procs.worker("agent.test", concurrency=2)
        port = __import__("devtools.processes", fromlist=["free_port"]).free_port()
        bench.procs.spawn(
            "web",
            [sys.executable, "-m", "uvicorn", "reachly.asgi:application", "--port", str(port), "--log-level",
             "warning", "--ws-max-queue", "1024"],
        )  # fmt: skip
        base_http = f"http://127.0.0.1:{port}"
        wait_for(lambda: _up(f"{base_http}/admin/login/"), timeout=60, interval=0.2, what="uvicorn")

        from reachly.live import tickets
        from reachly.orchestration.graph import StepSpec
        from reachly.orchestration.services import job_cancel, job_start

        tenant = bench.tenant("bench")
        # Two worker slots, 150 ms steps: ~13 steps/s across the 10 jobs.
        jobs = [
            job_start(tenant=tenant, steps=[StepSpec(f"s{i}", "test", {"sleep": 0.15}) for i in range(600)])
            for _ in range(JOBS)
        ]
        job_ids = [j.id for j in jobs]
        base_ws = f"ws://127.0.0.1:{port}"
        single = asyncio.run(measure(base_ws, [tickets.issue(tenant_id=tenant.id)], job_ids[:1], SECONDS / 2))
        many = asyncio.run(
            measure(base_ws, [tickets.issue(tenant_id=tenant.id) for _ in range(CLIENTS)], job_ids, SECONDS)
        )
        for job in jobs:
            job.refresh_from_db()
            if job.status in ("running", "paused"):
                job_cancel(job)
        print(f"event latency, worker commit -> WebSocket receive, one uvicorn process, {JOBS} running jobs:")
        print(f"  {CLIENTS} clients   {summary(many)}")
        print(f"  1 client       {summary(single)}")
        print(f"  deliveries: {len(many)} in {SECONDS:.0f}s ({len(many) / SECONDS:.0f}/s); target p99 < 250 ms")
        p99 = percentile(many, 99)
        result(
            f"event latency, {CLIENTS:,} WebSocket clients",
            summary(many),
            f"1 client: {summary(single)}",
            "p99 < 250 ms",
            "yes" if p99 < 0.25 else f"no: p99 {p99 * 1000:.0f} ms",
        )


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status < 500
    except OSError:
        return False


if __name__ == "__main__":
    main()

"""PostgreSQL connections held by each process kind, idle and under load.

The stack of the Procfile, with its defaults: uvicorn with 2 web processes
(each its psycopg pool of DB_WEB_POOL_MAX), the control worker (prefork
-c 2), the general worker
(threads -c 16, which serves the test agent), the browser worker (prefork
-c 2, idle here) and a standalone beat. Each process names its connections
by kind (settings.py, reachly/celery.py: `reachly-web`,
`reachly-worker-control`, ...); a sampler reads `pg_stat_activity` every
50 ms and maps each client port to its process (psutil), and each figure is
the peak per kind over a phase:

* idle: everything started and warmed up, nothing to do (3 s);
* API: 200 concurrent `GET /api/v1/agents/` (httpx, asyncio, real token),
  5 rounds;
* jobs: 500 one-step jobs of the test agent (0.1 s each) created at once,
  in flight together (the general worker runs 16 at a time, the rest queued
  in PostgreSQL and dispatched as slots free up).

    python benchmarks/connections.py

Target: at most 30 connections in all, without PgBouncer. Baseline: the
seed, where one web process kept a connection per request thread and the
stack reached 500+ (issue 11); not re-run here, since it would exhaust
PostgreSQL's `max_connections` on a shared machine.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections import defaultdict

from harness import Bench, percentile, wait_for
from report import result

REQUESTS = int(os.environ.get("BENCH_CONCURRENT_REQUESTS", "200"))
ROUNDS = int(os.environ.get("BENCH_REQUEST_ROUNDS", "5"))
JOBS = int(os.environ.get("BENCH_JOBS", "500"))
STEP_SECONDS = float(os.environ.get("BENCH_STEP_SECONDS", "0.1"))
WEB_PROCESSES = 2  # WEB_CONCURRENCY's default in the Procfile
GENERAL_THREADS = 16  # GENERAL_CONCURRENCY's default
TARGET = 30
SEED = 500


class Sampler:
    """Polls pg_stat_activity for the benchmark database from a thread of
    its own and keeps, per phase, the peak number of connections per
    application_name and the processes (client pids) holding them."""

    def __init__(self, db_name: str, own_pid: int):
        import psycopg

        self.db_name = db_name
        self.own_pid = own_pid
        self.conn = psycopg.connect(
            "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True, application_name="reachly-bench-sampler"
        )
        self.phase = ""
        self.peaks: dict[str, dict[str, int]] = defaultdict(dict)
        self.peak_totals: dict[str, int] = defaultdict(int)
        self.processes: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _ports(self) -> dict[int, int]:
        import psutil

        return {
            c.laddr.port: c.pid
            for c in psutil.net_connections(kind="tcp")
            if c.raddr and c.raddr.port == 5432 and c.pid is not None
        }

    def sample(self) -> None:
        rows = self.conn.execute(
            "SELECT application_name, client_port FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [self.db_name],
        ).fetchall()
        ports = self._ports()
        counts: dict[str, int] = defaultdict(int)
        for name, port in rows:
            pid = ports.get(port)
            if pid == self.own_pid:
                continue  # the benchmark's own Django connection
            kind = name or "(unnamed)"
            counts[kind] += 1
            if pid is not None:
                self.processes[self.phase][kind].add(pid)
        peaks = self.peaks[self.phase]
        for kind, n in counts.items():
            peaks[kind] = max(peaks.get(kind, 0), n)
        self.peak_totals[self.phase] = max(self.peak_totals[self.phase], sum(counts.values()))

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.phase:
                self.sample()
            self._stop.wait(0.05)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.conn.close()


def _token(tenant) -> str:
    from reachly.tenants.models import Membership
    from reachly.tenants.services import api_token_create, membership_add
    from tests.factories import UserFactory

    user = UserFactory()
    user.save()
    membership_add(tenant=tenant, user=user, role=Membership.Role.OWNER)
    _, key = api_token_create(tenant=tenant, name="connections", created_by=user)
    return key


async def _requests(url: str, key: str) -> tuple[list[float], dict[str, int]]:
    """ROUNDS rounds of REQUESTS concurrent GETs; returns the latencies (s)
    and the count per status code ("200", or the exception's class name for
    a transport error)."""
    import httpx

    latencies: list[float] = []
    statuses: dict[str, int] = defaultdict(int)
    limits = httpx.Limits(max_connections=REQUESTS, max_keepalive_connections=REQUESTS)
    async with httpx.AsyncClient(timeout=60, limits=limits, headers={"Authorization": f"Token {key}"}) as client:

        async def one() -> None:
            start = time.perf_counter()
            try:
                status = str((await client.get(url)).status_code)
            except httpx.HTTPError as exc:
                status = f"{type(exc).__name__}: {exc}"[:120]
            latencies.append(time.perf_counter() - start)
            statuses[status] += 1

        for _ in range(ROUNDS):
            await asyncio.gather(*(one() for _ in range(REQUESTS)))
    return latencies, dict(statuses)


def _jobs(tenant, n: int) -> float:
    """`n` one-step jobs of the test agent, created at once; returns the
    seconds until all succeeded."""
    from reachly.orchestration.graph import StepSpec
    from reachly.orchestration.models import Job
    from reachly.orchestration.services import job_start

    start = time.perf_counter()
    ids = [job_start(tenant=tenant, steps=[StepSpec("s", "test", input={"sleep": STEP_SECONDS})]).pk for _ in range(n)]
    wait_for(
        lambda: Job.objects.filter(pk__in=ids, status="succeeded").count() == n, timeout=240, interval=0.2, what="jobs"
    )
    return time.perf_counter() - start


def main() -> None:
    from devtools.processes import free_port

    with Bench("connections", REACHLY_API_THROTTLE_RATE="1000000/min") as bench:
        from django.db import connection

        sampler = Sampler(bench.db_name, os.getpid())
        procs = bench.procs
        procs.worker("control", name="control", concurrency=2)  # beat apart, as in the Procfile
        procs.worker(_queues("general"), name="general", pool="threads", concurrency=GENERAL_THREADS)
        procs.worker(_queues("browser"), name="browser", concurrency=2)
        procs.spawn("beat", [sys.executable, "-m", "celery", "-A", "reachly", "beat", "-s", str(bench.tmp / "beat")])
        port = free_port()
        # As in the Procfile: the web processes are uvicorn's children (spawned).
        procs.spawn(
            "web",
            [sys.executable, "-m", "uvicorn", "reachly.asgi:application", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(WEB_PROCESSES), "--log-level", "warning"],
        )  # fmt: skip
        tenant = bench.tenant("bench")
        key = _token(tenant)
        url = f"http://127.0.0.1:{port}/api/v1/agents/"

        def up() -> bool:
            import httpx

            try:
                return httpx.get(url, headers={"Authorization": f"Token {key}"}, timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, timeout=60, interval=0.2, what="uvicorn")
        _jobs(tenant, 20)  # warm up: every kind has opened what it opens at rest
        connection.close()
        sampler.start()

        sampler.phase = "idle"
        time.sleep(3)
        sampler.phase = "api"
        api_start = time.perf_counter()
        latencies, statuses = asyncio.run(_requests(url, key))
        api_seconds = time.perf_counter() - api_start
        sampler.phase = "jobs"
        jobs_seconds = _jobs(tenant, JOBS)
        sampler.phase = ""
        sampler.stop()

        # Every kind the stack runs, holding connections or not, then any other name seen.
        started = [f"reachly-{k}" for k in ("web", "worker-control", "worker-general", "worker-browser", "beat")]
        kinds = started + sorted({k for peaks in sampler.peaks.values() for k in peaks} - set(started))
        phases = [("idle", "idle"), ("api", f"{REQUESTS} concurrent API requests"), ("jobs", f"{JOBS} jobs in flight")]
        print("PostgreSQL connections per process kind (peak over each phase; processes holding them in brackets):")
        print(f"  {'kind':<26}" + "".join(f"{label:>22}" for label in ("idle", "API", "jobs")))
        for kind in kinds:
            cells = []
            for phase, _ in phases:
                n = sampler.peaks[phase].get(kind, 0)
                p = len(sampler.processes[phase].get(kind, ()))
                cells.append(f"{n} ({p} proc)")
            print(f"  {kind:<26}" + "".join(f"{c:>22}" for c in cells))
        print(f"  {'total (peak)':<26}" + "".join(f"{sampler.peak_totals[p]:>22}" for p, _ in phases))
        ok = statuses.get("200", 0)
        print(
            f"  API: {ok}/{sum(statuses.values())} answered 200 {dict(sorted(statuses.items()))},"
            f" {len(latencies) / api_seconds:.0f} requests/s, p50 {percentile(latencies, 50) * 1000:.0f} ms,"
            f" p99 {percentile(latencies, 99) * 1000:.0f} ms"
        )
        print(f"  jobs: {JOBS} jobs of one {STEP_SECONDS} s step done in {jobs_seconds:.1f} s")
        for phase, label in phases:
            total = sampler.peak_totals[phase]
            print(
                f"  {label:<32} total {total:3d}   target <= {TARGET} ({total / TARGET:.2f} of it),"
                f" seed {SEED}+ ({total / SEED:.3f} of it)"
            )
            per_kind = ", ".join(f"{k.removeprefix('reachly-')} {sampler.peaks[phase].get(k, 0)}" for k in kinds)
            result(
                f"PostgreSQL connections, {label}",
                f"{total} in all ({per_kind})",
                f"seed: {SEED}+ (issue 11, not re-run)",
                f"≤ {TARGET} in all, no PgBouncer",
                "yes" if total <= TARGET else f"no: {total / TARGET:.2f} x target",
            )
        if ok != REQUESTS * ROUNDS:
            print(f"  API errors: {statuses}")
            sys.exit(1)


def _queues(group: str) -> list[str]:
    from agents.registry import queues_for_group

    return list(queues_for_group(group))


if __name__ == "__main__":
    main()

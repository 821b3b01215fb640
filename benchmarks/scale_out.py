"""Scale-out: Reachly and plain Celery throughput with 1, 2 and 4 worker processes.

The figures docs/scaling.md builds its capacity plan on. Same machine, same
private Redis, same PostgreSQL, in the same run; for each worker count:

* Reachly: no-op steps of the test agent, end to end (job created → every
  step `succeeded` in PostgreSQL) through the dispatcher (one control worker
  with beat, as in the Procfile), the limiter, leases and events;
* plain Celery: no-op tasks on the same queue (each increments a Redis counter);

with N worker processes (`celery worker -c 1`, prefork) consuming `agent.test`.
Also the resident memory of each kind of process and the load average, since
the machine is shared: where the speed-up stops, the cores are saturated
(worker processes, the control worker, PostgreSQL and Redis share them).

    python benchmarks/scale_out.py      (BENCH_STEPS=2000, BENCH_WORKERS=1,2,4)
"""

from __future__ import annotations

import os
import subprocess
import sys

from harness import Bench, wait_for
from report import result
from throughput import celery_run, reachly_run

N = int(os.environ.get("BENCH_STEPS", "2000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
COUNTS = [int(x) for x in os.environ.get("BENCH_WORKERS", "1,2,4").split(",")]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (a worker and its pool)."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    total = 0
    for p in [pid, *(int(x) for x in out.split())]:
        try:
            with open(f"/proc/{p}/status") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        except (FileNotFoundError, StopIteration):
            pass
    return total / 1024


def tree(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [pid, *(int(x) for x in out.split())]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (FileNotFoundError, IndexError):
            pass
    return total / ticks


def postgres_backends() -> list[int]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        return [row[0] for row in cur.fetchall()]


def cpu_per_step(bench: Bench, control, agents, tenant, n: int) -> dict[str, float]:
    """CPU milliseconds per Reachly step, by kind of process, over one run."""
    groups = {
        "control": lambda: [p for w in [control] for p in tree(w.pid)],
        "agents": lambda: [p for w in agents for p in tree(w.pid)],
        "postgres": postgres_backends,
        "redis": lambda: [bench.redis.proc.pid],
    }
    pids = {name: get() for name, get in groups.items()}
    before = {name: {p: cpu_seconds([p]) for p in ps} for name, ps in pids.items()}
    reachly_run(tenant, n)
    # Processes alive at both ends are counted (the connections persist).
    result = {}
    for name, ps in pids.items():
        result[name] = sum(cpu_seconds([p]) - before[name][p] for p in ps if os.path.exists(f"/proc/{p}"))
    return {name: seconds * 1000 / n for name, seconds in result.items()}


def other_processes_memory(bench: Bench, agents, tenant) -> dict[str, float]:
    """RSS of a general-style worker (threads, -c 16) after a run, and of one
    uvicorn process after serving a few pages."""
    import urllib.request

    from devtools.processes import free_port

    for worker in agents:
        worker.stop()
    threads = bench.procs.worker("agent.test", pool="threads", concurrency=16)
    reachly_run(tenant, 500)
    port = free_port()
    web = bench.procs.spawn(
        "web", [sys.executable, "-m", "uvicorn", "reachly.asgi:application", "--port", str(port), "--lifespan", "off"]
    )

    def page() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    wait_for(page, timeout=60, interval=0.2)
    for _ in range(20):
        page()
    return {"threads": rss_mb(threads.pid), "web": rss_mb(web.pid)}


def main() -> None:
    rows = []
    with Bench("scale_out") as bench:
        control = bench.procs.worker("control", beat=True, concurrency=2)  # as in the Procfile
        tenant = bench.tenant("bench")
        agents = []
        for count in COUNTS:
            while len(agents) < count:
                agents.append(bench.procs.worker("agent.test"))
            reachly_run(tenant, 100)  # warm up both paths with this many consumers
            celery_run(bench, 100)
            load_before = os.getloadavg()[0]
            reachly_rates, celery_rates = [], []
            for _ in range(ROUNDS):
                celery_rates.append(celery_run(bench, N))
                reachly_rates.append(reachly_run(tenant, N))
            cpu = cpu_per_step(bench, control, agents, tenant, N)
            rows.append(
                {
                    "cpu": cpu,
                    "workers": count,
                    "reachly": max(reachly_rates),
                    "celery": max(celery_rates),
                    "agent_rss": max(rss_mb(w.pid) for w in agents),
                    "control_rss": rss_mb(control.pid),
                    "load": (load_before, os.getloadavg()[0]),
                }
            )
        memory = other_processes_memory(bench, agents, tenant)

    base_r, base_c = rows[0]["reachly"], rows[0]["celery"]
    print(f"scale-out ({N} no-op steps per run, best of {ROUNDS}; {os.cpu_count()} cores; one control worker -c 2):")
    print("  workers   reachly steps/s (x1)   plain celery tasks/s (x1)   ratio   load avg before/after")
    for row in rows:
        print(
            f"  {row['workers']:>7}   {row['reachly']:>8.0f} ({row['reachly'] / base_r:4.2f}x)"
            f"      {row['celery']:>8.0f} ({row['celery'] / base_c:4.2f}x)"
            f"          {row['reachly'] / row['celery']:5.2f}   {row['load'][0]:.1f} / {row['load'][1]:.1f}"
        )
    print("CPU ms per Reachly step (one more run, by process kind; PostgreSQL: this database's backends):")
    for row in rows:
        cpu = row["cpu"]
        print(
            f"  {row['workers']} workers: control {cpu['control']:.2f}, agent workers {cpu['agents']:.2f},"
            f" postgres {cpu['postgres']:.2f}, redis {cpu['redis']:.2f}, total {sum(cpu.values()):.2f}"
        )
    counts = " → ".join(str(row["workers"]) for row in rows)
    result(
        f"scale-out {counts} workers",
        " → ".join(f"{row['reachly']:.0f}" for row in rows) + " steps/s",
        "Celery " + " → ".join(f"{row['celery']:.0f}" for row in rows),
        "where the cores saturate",
        f"{os.cpu_count()} cores",
    )
    last = rows[-1]
    print(
        f"memory (RSS, worker main + pool process): agent worker -c 1 {last['agent_rss']:.0f} MB,"
        f" control worker -c 2 with beat {last['control_rss']:.0f} MB,"
        f" threads worker -c 16 {memory['threads']:.0f} MB, web (uvicorn, 1 process) {memory['web']:.0f} MB"
    )


if __name__ == "__main__":
    main()

"""`manage.py demo`: start Reachly's processes, run the main job, show it live.

The web server (ASGI), the control worker with beat, the general and
browser workers and Flower run as children of this command; their logs go
to .demo/logs/. The terminal follows the jobs through their events; the
URLs of the UI, the admin, the API docs and Flower are printed. Ctrl-C stops
everything.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agents.registry import Group, queues_for_group
from devtools.processes import ROOT, Processes, wait_for
from reachly.orchestration.models import TERMINAL_JOB_STATUSES, Event, Job

console = Console()


def _port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]


class Stack:
    """Reachly's processes for the demo, children of this process."""

    def __init__(self, logdir: Path, extra_env: dict[str, str] | None = None):
        db = settings.DATABASES["default"]
        self.web_port = _port(8000)
        self.flower_port = _port(5555)
        self.base_url = f"http://127.0.0.1:{self.web_port}"
        self.flower_auth = os.environ.get("FLOWER_BASIC_AUTH", "admin:reachly-demo")
        env = {
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "REACHLY_BASE_URL": self.base_url,
            "REACHLY_ENV": settings.REACHLY_ENV,
            "LOG_LEVEL": "WARNING",
            "CELERY_SEND_EVENTS": "true",
            # The admin's "Flower" links (Flower runs on its own port here).
            "FLOWER_URL": f"http://127.0.0.1:{self.flower_port}/flower/",
        }
        self.procs = Processes(env, logdir)

    def start(self) -> None:
        procs = self.procs
        console.print("[dim]starting workers, web server and Flower…[/]")
        procs.worker(["control"], concurrency=2, beat=True, name="control", events=True)
        procs.worker(queues_for_group(Group.GENERAL), concurrency=8, pool="threads", name="general", events=True)
        procs.worker(queues_for_group(Group.BROWSER), concurrency=2, name="browser", events=True)
        procs.spawn(
            "web",
            [sys.executable, "-m", "uvicorn", "reachly.asgi:application", "--host", "127.0.0.1",
             "--port", str(self.web_port), "--log-level", "warning"],
        )  # fmt: skip
        procs.spawn(
            "flower",
            [sys.executable, "-m", "celery", "-A", "reachly", "flower", f"--port={self.flower_port}",
             "--address=127.0.0.1", "--url_prefix=flower", f"--basic_auth={self.flower_auth}"],
        )  # fmt: skip
        wait_for(lambda: _http_ok(f"{self.base_url}/admin/login/"), timeout=60, interval=0.2, what="the web server")

    def stop(self) -> None:
        self.procs.stop_all()

    def urls(self) -> dict[str, str]:
        return {
            "Web UI": f"{self.base_url}/",
            "Admin": f"{self.base_url}/admin/",
            "API docs": f"{self.base_url}/api/docs/",
            "Flower": f"http://127.0.0.1:{self.flower_port}/flower/",
        }


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status < 500
    except OSError:
        return False


def follow(jobs: list[Job], *, describe: Callable[[dict], str | None] | None = None, timeout: float = 1800) -> None:
    """Progress bars for `jobs` and a line per notable event, until they end."""
    last_seq = {job.id: 0 for job in jobs}
    with Progress(
        TextColumn("{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]:<10}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        bars = {
            job.id: progress.add_task(f"{job.tenant.slug}: {job.name}"[:34], total=job.total_steps, status="running")
            for job in jobs
        }
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = {j.id: j for j in Job.objects.filter(id__in=bars)}
            for job_id, bar in bars.items():
                job = current[job_id]
                progress.update(bar, total=job.total_steps, completed=job.succeeded_steps, status=job.status)
                for event in Event.objects.filter(job_id=job_id, seq__gt=last_seq[job_id]).order_by("seq")[:200]:
                    last_seq[job_id] = event.seq
                    line = describe({"type": event.type, **event.data}) if describe else None
                    if line:
                        progress.console.print(f"  [dim]{job.tenant.slug}[/] {line}")
            if all(j.status in TERMINAL_JOB_STATUSES for j in current.values()):
                break
            time.sleep(0.25)


def print_urls(stack: Stack, users: str) -> None:
    console.print()
    for label, url in stack.urls().items():
        console.print(f"  [bold]{label:<9}[/] {url}")
    console.print(f"  [dim]logins: {users}; Flower: {stack.flower_auth}; logs: {stack.procs.logdir}[/]")


def demo_dir() -> Path:
    path = ROOT / ".demo"
    path.mkdir(exist_ok=True)
    return path

"""Starting Reachly's processes as children: for tests, benchmarks and the demo.

Production runs them from the Procfile or Kubernetes; here one Python
process needs a private Redis, Celery workers (waiting until each is really
consuming), a web server or Flower, and a clean way to stop or kill -9 them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, interval: float = 0.05, what: str = "") -> object:
    """Poll `predicate` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what or predicate}")


@dataclass
class Child:
    """A child process with its log file."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    queues: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def child_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def kill9(self) -> None:
        """SIGKILL the process and its direct children (a worker's pool)."""
        for pid in [*self.child_pids(), self.proc.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)

    def stop(self, timeout: float = 20) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


class Processes:
    """Children sharing one environment (database, Redis, settings)."""

    def __init__(self, env: dict[str, str], logdir: Path):
        self.env = env
        self.logdir = Path(logdir)
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.children: list[Child] = []
        self._n = 0

    def spawn(self, name: str, cmd: list[str], extra_env: dict[str, str] | None = None) -> Child:
        log = self.logdir / f"{name}.log"
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
        with open(log, "w") as out:
            proc = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        child = Child(name, proc, log)
        self.children.append(child)
        return child

    def worker(
        self,
        queues: list[str] | str,
        *,
        concurrency: int = 1,
        pool: str = "prefork",
        beat: bool = False,
        name: str | None = None,
        extra_env: dict[str, str] | None = None,
        wait: bool = True,
        events: bool = False,
    ) -> Child:
        """A `celery worker`, returned once it announced itself in Redis."""
        queues = [queues] if isinstance(queues, str) else list(queues)
        self._n += 1
        name = name or f"w{self._n}-{os.getpid()}"
        hostname = f"{name}@{socket.gethostname()}"
        cmd = [
            sys.executable, "-m", "celery", "-A", "reachly", "worker",
            "-Q", ",".join(queues), "-c", str(concurrency), "-P", pool, "-n", hostname,
            "--without-gossip", "--without-mingle", "--loglevel", "INFO",
        ]  # fmt: skip
        if events:
            cmd.append("-E")
        if beat:
            cmd += ["-B", "-s", str(self.logdir / f"beat-{name}")]
        child = self.spawn(name, cmd, extra_env)
        child.name, child.queues = hostname, queues
        if wait:
            self.wait_worker(child)
        return child

    def wait_worker(self, child: Child, timeout: float = 60) -> None:
        import redis

        client = redis.Redis.from_url(self.env["REDIS_URL"])
        key = self.env.get("REACHLY_REDIS_PREFIX", "reachly:") + f"workers:{child.name}"
        try:
            wait_for(lambda: not child.alive() or client.exists(key), timeout=timeout, interval=0.1, what=child.name)
        except TimeoutError:
            raise RuntimeError(f"worker {child.name} did not start:\n{child.tail()}") from None
        if not child.alive():
            raise RuntimeError(f"worker {child.name} exited:\n{child.tail()}")

    def stop_all(self) -> None:
        for child in reversed(self.children):
            child.stop()
        self.children.clear()


class PrivateRedis:
    """A throwaway `redis-server` on a free port (nothing persisted)."""

    def __init__(self, workdir: Path):
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found")
        self.port = free_port()
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(workdir), "--logfile", str(workdir / "redis.log")],
        )  # fmt: skip
        self.url = f"redis://127.0.0.1:{self.port}"
        import redis

        client = redis.Redis.from_url(self.url)

        def ping() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_for(ping, timeout=10, what="private redis-server")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)

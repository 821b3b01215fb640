"""Starting Reachly's processes as children: for tests, benchmarks and the demo.

Production runs them from the Procfile or Kubernetes; here one Python
process needs a private Redis, Celery workers (waiting until each is really
consuming), a web server or Flower, and a clean way to stop or kill -9 them.

Start-and-wait is mirakuru's (https://mirakuru.readthedocs.io): a
`TCPExecutor` for the private redis-server (started once it accepts
connections), an `Executor` whose after-start check is the worker's presence
key in Redis for Celery workers, and a `SimpleExecutor` for the rest. Each
child runs in its own session (process group), marked by mirakuru so that
leftovers are killed when this process exits.

`kill9()`, the crash of the recovery tests, is mirakuru's
`kill(sig=SIGKILL)`: the whole group at once, no stop signal first, and the
marked leftovers after it. The `Popen` is kept so that tests can still read
its return code (mirakuru forgets it once the process ended).

Kept here because mirakuru does not do it:
* a graceful stop of a Celery worker: mirakuru's `stop()` signals the whole
  process group, and Celery's prefork pool children reset SIGTERM to its
  default (celery.concurrency.prefork.WORKER_SIGRESET), so they would die
  mid-task instead of letting the main process drain them (warm shutdown).
  `Child.stop()` sends SIGTERM to the main process alone, then kill9();
* free_port(), wait_for() and the log tail.
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
from typing import IO, Any

from mirakuru import Executor, SimpleExecutor, TCPExecutor
from mirakuru.exceptions import ExecutorError

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, interval: float = 0.05, what: str = "") -> object:
    """Poll `predicate` until it returns something truthy, and return that.

    Raises TimeoutError (naming `what`) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what or predicate}")


class _WorkerExecutor(Executor):
    """A Celery worker, started once it announced itself in Redis (the key
    reachly.observability.workers writes when the consumer is ready)."""

    def __init__(self, command: list[str], *, redis_url: str, key: str, **kwargs: Any):
        super().__init__(command, **kwargs)
        self._redis_url = redis_url
        self._key = key

    def pre_start_check(self) -> bool:
        # The hostname is new for each worker: nothing can be running yet.
        return False

    def after_start_check(self) -> bool:
        import redis

        if self.process is not None and self.process.poll() is not None:
            # Exited with 0 before announcing itself: mirakuru only fails on
            # a non-zero exit, so say it here rather than wait for the timeout.
            raise RuntimeError("exited before announcing itself")
        client = redis.Redis.from_url(self._redis_url)
        try:
            return bool(client.exists(self._key))
        finally:
            client.close()


@dataclass
class Child:
    """A child process with its log file.

    `proc` is the `subprocess.Popen` (kept after the process ended, for its
    return code); `executor` the mirakuru executor that started it."""

    name: str
    executor: SimpleExecutor
    proc: subprocess.Popen[Any]
    log: Path
    queues: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill9(self) -> None:
        """SIGKILL the process and its group (a worker's pool) at once: a
        crash. Also ends what the child left behind (mirakuru finds them by
        the mark in their environment)."""
        self.executor.kill(wait=True, sig=signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM to the main process alone (Celery's warm shutdown: it drains
        its pool), then kill9() if it is still running after `timeout` s."""
        if self.proc.poll() is not None:
            if self.executor.process is not None:
                self.kill9()  # its leftovers, if any
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        # Ends it if it is still running, and what it left behind either way.
        self.kill9()

    def tail(self, lines: int = 60) -> str:
        """The last `lines` lines of the child's log ("" before it wrote one)."""
        return _tail(self.log, lines)


def _tail(log: Path, lines: int = 60) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


class Processes:
    """Children sharing one environment (database, Redis, settings).

    `env` is laid over os.environ for every child; logs go to
    `logdir/<name>.log`."""

    def __init__(self, env: dict[str, str], logdir: Path):
        self.env = env
        self.logdir = Path(logdir)
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.children: list[Child] = []
        self._n = 0

    def _start(self, name: str, executor: SimpleExecutor, log: Path) -> Child:
        # A start that fails has been killed (mirakuru, on timeout or a
        # non-zero exit) or has exited: nothing to register then.
        executor.start()
        assert executor.process is not None  # started, or start() raised
        child = Child(name, executor, executor.process, log)
        self.children.append(child)
        return child

    def _executor_kwargs(self, out: IO[str], extra_env: dict[str, str] | None) -> dict[str, Any]:
        return {
            "cwd": str(ROOT),
            "envvars": {**self.env, "PYTHONUNBUFFERED": "1", **(extra_env or {})},
            "stdin": subprocess.DEVNULL,
            "stdout": out,
            "stderr": subprocess.STDOUT,
        }

    def spawn(self, name: str, cmd: list[str], extra_env: dict[str, str] | None = None) -> Child:
        """Start `cmd` and return at once (the caller waits for what it needs)."""
        log = self.logdir / f"{name}.log"
        with open(log, "w") as out:  # the child has its own copy of the descriptor
            return self._start(name, SimpleExecutor(cmd, **self._executor_kwargs(out, extra_env)), log)

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
        timeout: float = 60,
    ) -> Child:
        """A `celery worker` consuming `queues`, returned once it announced
        itself in Redis (with `wait`, the default).

        Raises RuntimeError, with the end of its log, when it exits or has
        not announced itself within `timeout` seconds (it is killed then)."""
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
        log = self.logdir / f"{name}.log"
        executor: SimpleExecutor
        try:
            with open(log, "w") as out:  # the child has its own copy of the descriptor
                kwargs = self._executor_kwargs(out, extra_env)
                if wait:
                    key = self.env.get("REACHLY_REDIS_PREFIX", "reachly:") + f"workers:{hostname}"
                    executor = _WorkerExecutor(
                        cmd, redis_url=self.env["REDIS_URL"], key=key, timeout=timeout, sleep=0.1, **kwargs
                    )
                else:
                    executor = SimpleExecutor(cmd, **kwargs)
                child = self._start(name, executor, log)
        except (ExecutorError, RuntimeError) as exc:
            raise RuntimeError(f"worker {hostname} did not start ({exc}):\n{_tail(log)}") from None
        child.name, child.queues = hostname, queues
        return child

    def stop_all(self) -> None:
        """Stop every child, the last started first."""
        for child in reversed(self.children):
            child.stop()
        self.children.clear()


class PrivateRedis:
    """A throwaway `redis-server` on a free port (nothing persisted), started
    once it accepts connections. `url` is redis://127.0.0.1:<port>.

    Raises RuntimeError when redis-server is not installed, mirakuru's
    ExecutorError when it does not start within 10 s."""

    def __init__(self, workdir: Path):
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found")
        self.port = free_port()
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        self.executor = TCPExecutor(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(workdir), "--logfile", str(workdir / "redis.log")],
            host="127.0.0.1", port=self.port, timeout=10, sleep=0.05,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        self.executor.start()
        assert self.executor.process is not None  # started, or start() raised
        self.proc = self.executor.process
        self.url = f"redis://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """SIGTERM, and SIGKILL after 10 s (redis-server has no children)."""
        self.executor.stop()

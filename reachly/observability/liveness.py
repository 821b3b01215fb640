"""Worker liveness for Kubernetes exec probes, independent of the broker.

    python -m reachly.observability.liveness /tmp/worker-heartbeat --max-age 60

Exit 0 when the heartbeat file was written less than `--max-age` seconds
ago, 1 otherwise (with the reason on stderr). Workers write that file from a
thread started at worker init (REACHLY_WORKER_HEARTBEAT_FILE), before they
connect to the broker and whether or not the broker is up: a worker waiting
for Redis to come back is alive, and restarting it would not help.

Deliberately imports nothing of Django or Celery: probes run often.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def age(path: Path) -> float:
    """Seconds since the last heartbeat (the time written in the file, else its mtime)."""
    try:
        written = float(path.read_text().strip() or "nan")
    except ValueError:
        written = path.stat().st_mtime
    if written != written:  # NaN: empty file
        written = path.stat().st_mtime
    return time.time() - written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path, help="the worker's REACHLY_WORKER_HEARTBEAT_FILE")
    parser.add_argument("--max-age", type=float, default=60.0, help="seconds (default 60)")
    args = parser.parse_args(argv)
    try:
        seconds = age(args.file)
    except FileNotFoundError:
        sys.stderr.write(f"not alive: no heartbeat file {args.file}\n")
        return 1
    if seconds > args.max_age:
        sys.stderr.write(f"not alive: last heartbeat {seconds:.0f}s ago (max {args.max_age:.0f}s)\n")
        return 1
    sys.stdout.write(f"alive: last heartbeat {seconds:.1f}s ago\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

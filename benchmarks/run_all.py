"""Run every benchmark in this folder, one after the other (`make bench`).

Each prints its figure beside its baseline from the same run. Their
output, stated figures (report.result), exit codes and durations are then
written into docs/benchmarks.md's generated section with the commit they
ran on (report.py); the prose around it explains the figures.

    python benchmarks/run_all.py [--no-write] [name ...]
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import report

HERE = Path(__file__).resolve().parent
SKIP = {"__init__", "harness", "run_all", "report"}


def run(script: Path) -> report.Run:
    """Run one benchmark, echoing its output as it comes, and return the run."""
    load = report.load_average()
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, str(script)], cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        lines.append(line)
    code = proc.wait()
    output = "".join(lines)
    return report.Run(
        name=script.stem,
        exit_code=code,
        seconds=time.monotonic() - started,
        commit=report.commit(),
        date=datetime.now(UTC).strftime("%Y-%m-%d"),
        load_before=load,
        results=report.parse(output),
        output=output,
    )


def main(args: list[str]) -> int:
    write = "--no-write" not in args
    names = [a for a in args if a != "--no-write"]
    scripts = sorted(p for p in HERE.glob("*.py") if p.stem not in SKIP and not p.stem.startswith("_"))
    if names:
        scripts = [p for p in scripts if p.stem in names]
    runs = []
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        runs.append(run(script))
        print(f"({script.stem}: {runs[-1].seconds:.0f} s)", flush=True)
    if write and runs:
        report.write(runs)
        print(f"\nrecorded in {report.DOC.relative_to(report.ROOT)}")
    failed = [r.name for r in runs if r.exit_code]
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Run every benchmark in this folder, one after the other (`make bench`).

Each prints its figure beside its baseline from the same run. Results and
the commands that produced them are recorded in docs/benchmarks.md.

    python benchmarks/run_all.py [name ...]
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SKIP = {"__init__", "harness", "run_all"}


def main(names: list[str]) -> int:
    scripts = sorted(p for p in HERE.glob("*.py") if p.stem not in SKIP and not p.stem.startswith("_"))
    if names:
        scripts = [p for p in scripts if p.stem in names]
    failed = []
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE)
        print(f"({script.stem}: {time.monotonic() - started:.0f} s)", flush=True)
        if code:
            failed.append(script.stem)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

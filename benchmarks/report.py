"""The results of `make bench`, written into docs/benchmarks.md with the
commit they ran on.

A benchmark states each figure it measured with `result(...)`, which
prints one `BENCH-RESULT {json}` line beside its human output. run_all.py
collects each benchmark's output, exit code and duration, and `write()`
replaces the generated section of docs/benchmarks.md (between RESULTS_START
and RESULTS_END), leaving the prose around it alone. The section keeps each
benchmark's last run (in a JSON comment per benchmark), so running one
benchmark updates its rows and leaves the others' rows, each row showing
the commit and date it came from.

Standard library only: benchmarks import it before Django is set up.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
PREFIX = "BENCH-RESULT "
RESULTS_START = "<!-- bench:results:start (written by benchmarks/report.py; edit the prose outside) -->"
RESULTS_END = "<!-- bench:results:end -->"
_STATE = re.compile(r"^<!-- bench:run (\{.*\}) -->$", re.MULTILINE)


def result(claim: str, figure: str, baseline: str = "", target: str = "", met: str = "") -> None:
    """Print one measured figure for run_all.py to record.

    `claim` names what is measured, `figure` the measurement (with its unit),
    `baseline` the comparison measured in the same run, `target` what the
    claim promises and `met` whether it holds ("yes", "no: ..."), all text."""
    row = {"claim": claim, "figure": figure, "baseline": baseline, "target": target, "met": met}
    print(PREFIX + json.dumps(row), flush=True)


@dataclass
class Run:
    """One benchmark's run: `results` are the dicts result() printed."""

    name: str
    exit_code: int
    seconds: float
    commit: str
    date: str
    load_before: str = ""
    results: list[dict[str, str]] = field(default_factory=list)
    output: str = ""


def parse(output: str) -> list[dict[str, str]]:
    """The result() rows in a benchmark's output, in order."""
    rows = []
    for line in output.splitlines():
        if line.startswith(PREFIX):
            rows.append(json.loads(line[len(PREFIX) :]))
    return rows


def human(output: str) -> str:
    """The output without the result() lines (what a person reads)."""
    return "\n".join(line for line in output.splitlines() if not line.startswith(PREFIX)).strip("\n")


def commit() -> str:
    """The short hash of HEAD, with "+changes" when the work tree differs
    from it (so a figure is never credited to a commit it did not run on)."""
    sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    if sha.returncode != 0:
        return "unknown"
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    changed = [line for line in dirty.splitlines() if not line.endswith("docs/benchmarks.md")]
    return sha.stdout.strip() + ("+changes" if changed else "")


def machine() -> str:
    """Cores and memory of this machine, e.g. "2 cores, 24 GiB"."""
    cores = os.cpu_count() or 0
    try:
        kb = int(
            next(
                line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
            ).split()[1]
        )
        return f"{cores} cores, {kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        return f"{cores} cores"


def load_average() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or "—"


def read_runs(doc: str) -> dict[str, Run]:
    """The runs recorded in a document's generated section, by benchmark."""
    runs = {}
    for match in _STATE.finditer(_section(doc)):
        data = json.loads(match.group(1))
        runs[data["name"]] = Run(**data)
    return runs


def render(runs: dict[str, Run], host: str) -> str:
    """The generated section (markers included): one table row per figure,
    then each benchmark's output as it printed it."""
    lines = [
        RESULTS_START,
        "",
        f"Written by `make bench` (`benchmarks/run_all.py`) on {host}. Each row gives the",
        "commit and date of the run it came from; `+changes` means the work tree",
        "differed from that commit.",
        "",
        "| benchmark | claim | figure | baseline (same run) | target | met | commit | date |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in sorted(runs):
        run = runs[name]
        rows = run.results or [{"claim": "(no figure stated: see its output)"}]
        if run.exit_code:
            rows = [*rows, {"claim": f"**failed** (exit {run.exit_code})"}]
        for row in rows:
            cells = [row.get(k, "") for k in ("claim", "figure", "baseline", "target", "met")]
            lines.append(f"| {name} | " + " | ".join(_cell(c) for c in cells) + f" | `{run.commit}` | {run.date} |")
    for name in sorted(runs):
        run = runs[name]
        lines += ["", f"<!-- bench:run {json.dumps(asdict(run))} -->"]
        if not human(run.output):
            continue  # rows copied from an earlier record, without its output
        load = f", load average {run.load_before} before" if run.load_before else ""
        lines += [
            f"`{name}`: commit `{run.commit}`, {run.date}, {run.seconds:.0f} s{load}:",
            "",
            "```",
            human(run.output),
            "```",
        ]
    lines += ["", RESULTS_END]
    return "\n".join(lines)


def _section(doc: str) -> str:
    start, end = doc.find(RESULTS_START), doc.find(RESULTS_END)
    if start < 0 or end < start:
        raise ValueError(f"docs/benchmarks.md has no generated section ({RESULTS_START!r} ... {RESULTS_END!r})")
    return doc[start : end + len(RESULTS_END)]


def update(doc: str, new_runs: list[Run], host: str) -> str:
    """`doc` with its generated section re-rendered: the recorded runs, the
    new ones replacing those of the same benchmark. Raises ValueError when
    the section's markers are missing (the prose is never rewritten)."""
    runs = read_runs(doc)
    runs.update({run.name: run for run in new_runs})
    return doc.replace(_section(doc), render(runs, host))


def write(new_runs: list[Run], path: Path = DOC) -> None:
    """Record `new_runs` in the document at `path` (docs/benchmarks.md)."""
    path.write_text(update(path.read_text(), new_runs, machine()))

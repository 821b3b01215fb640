"""The writer of docs/benchmarks.md's results (benchmarks/report.py and
run_all.py): a benchmark's stated figures become rows with the commit and
date of their run, a later run of one benchmark replaces only its rows, and
the prose outside the generated section is never touched."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from benchmarks import report

BENCHMARKS = Path(report.__file__).parent

DOC = f"""# Benchmarks

Prose before, kept.

{report.RESULTS_START}
(whatever was here)
{report.RESULTS_END}

## Throughput

Prose after, kept.
"""


def run(name: str, commit: str, figure: str, output: str = "") -> report.Run:
    return report.Run(
        name=name,
        exit_code=0,
        seconds=12.0,
        commit=commit,
        date="2026-12-03",
        load_before="0.7",
        results=[{"claim": f"{name} claim", "figure": figure, "baseline": "b", "target": "t", "met": "yes"}],
        output=output,
    )


def test_result_lines_are_parsed_and_kept_out_of_the_quoted_output(capsys):
    sys.stdout.write("throughput (2000 no-op steps):\n")
    report.result("throughput", "359 steps/s", "plain Celery 919 tasks/s", "ratio ≥ 0.5", "no: 0.39")
    out = capsys.readouterr().out
    assert report.parse(out) == [
        {
            "claim": "throughput",
            "figure": "359 steps/s",
            "baseline": "plain Celery 919 tasks/s",
            "target": "ratio ≥ 0.5",
            "met": "no: 0.39",
        }
    ]
    assert report.human(out) == "throughput (2000 no-op steps):"


def test_a_run_becomes_rows_with_its_commit_and_the_prose_stays():
    doc = report.update(DOC, [run("throughput", "abc1234", "359 steps/s", "out\n" + report.PREFIX + "{}")], "2 cores")
    assert doc.startswith("# Benchmarks\n\nProse before, kept.\n\n")
    assert doc.endswith("## Throughput\n\nProse after, kept.\n")
    assert "(whatever was here)" not in doc
    assert "| throughput | throughput claim | 359 steps/s | b | t | yes | `abc1234` | 2026-12-03 |" in doc
    assert "`throughput`: commit `abc1234`, 2026-12-03, 12 s, load average 0.7 before:\n\n```\nout\n```" in doc


def test_running_one_benchmark_replaces_its_rows_only():
    first = report.update(DOC, [run("throughput", "abc1234", "359 steps/s"), run("pause", "abc1234", "56 ms")], "x")
    second = report.update(first, [run("throughput", "def5678", "400 steps/s")], "x")
    assert "| throughput | throughput claim | 400 steps/s | b | t | yes | `def5678` |" in second
    assert "359 steps/s" not in second
    assert "| pause | pause claim | 56 ms | b | t | yes | `abc1234` |" in second
    assert report.update(second, [], "x") == second  # re-rendering is stable


def test_a_failed_benchmark_says_so_and_pipes_do_not_break_the_table():
    failed = run("lead_import", "abc1234", "1 | 2")
    failed.exit_code = 3
    doc = report.update(DOC, [failed], "x")
    assert "| 1 \\| 2 |" in doc
    assert "| lead_import | **failed** (exit 3) |" in doc


def test_a_document_without_the_markers_is_refused():
    with pytest.raises(ValueError, match="no generated section"):
        report.update("# Benchmarks\n\nonly prose\n", [run("x", "abc", "1")], "x")


def test_the_real_document_has_the_section_and_a_row_for_every_benchmark():
    runs = report.read_runs(report.DOC.read_text())
    scripts = {p.stem for p in BENCHMARKS.glob("*.py") if p.stem not in {"__init__", "harness", "run_all", "report"}}
    assert set(runs) == {s for s in scripts if not s.startswith("_")}
    assert all(r.commit and r.date and r.results for r in runs.values())


def test_run_all_records_a_script_output_and_writes_it(tmp_path, monkeypatch):
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import run_all
    finally:
        sys.path.remove(str(BENCHMARKS))
    script = tmp_path / "quick.py"
    script.write_text(
        "import json\n"
        "print('quick: 3 things')\n"
        f"print({report.PREFIX!r} + json.dumps({{'claim': 'quick', 'figure': '3 things'}}))\n"
    )
    recorded = run_all.run(script)
    assert (recorded.name, recorded.exit_code, recorded.results) == (
        "quick",
        0,
        [{"claim": "quick", "figure": "3 things"}],
    )
    assert recorded.commit == report.commit() and recorded.date

    doc = tmp_path / "benchmarks.md"
    doc.write_text(DOC)
    report.write([recorded], doc)
    text = doc.read_text()
    assert f"| quick | quick | 3 things | — | — | — | `{recorded.commit}` |" in text
    assert "quick: 3 things" in text and "Prose after, kept." in text

"""Lead import: a 100,000-row CSV into one campaign, against two baselines.

    python benchmarks/lead_import.py          (BENCH_ROWS=100000 by default)

Same machine, database and file, in the same run:

* reachly    reachly.campaigns.imports.lead_import_csv: streamed decode and
             validation, duplicates checked and reported, rows streamed into
             campaigns_lead with PostgreSQL COPY in one transaction;
* bulk       csv.DictReader + Lead objects + Django bulk_create(batch_size=1000),
             no validation or duplicate report (what a plain Django import does);
* naive      csv.DictReader + Lead.objects.create per row, on a 2,000-row
             sample, extrapolated to the full file (rows per second).

Each variant runs in its own child process, so its peak memory is its own:
"peak RSS" is the process high-water mark minus its resident size before
the import started (Django and the rows' code already loaded).
"""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from report import result

ROWS = int(os.environ.get("BENCH_ROWS", "100000"))
NAIVE_SAMPLE = 2000
HERE = Path(__file__).resolve().parent


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(42)
    firsts = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Linus", "Zoë", "José"]
    lasts = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton", "Torvalds"]
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["LinkedIn URL", "First Name", "Last Name", "Company", "Title", "Email", "Team", "Score"])
        for i in range(rows):
            first, last = rng.choice(firsts), rng.choice(lasts)
            out.writerow(
                [
                    f"https://www.sandbox.test/in/{first.lower()}-{last.lower()}-{i}/",
                    first,
                    last,
                    f"Company {i % 997}",
                    "VP Engineering",
                    f"person.{i}@example.com" if i % 3 else "",
                    f"team-{i % 13}",
                    str(i % 100),
                ]
            )


# ---------------------------------------------------------------------------
# Child side: one variant, timed, with its memory high-water mark
# ---------------------------------------------------------------------------


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _plain_rows(path: Path, limit: int | None = None):
    with path.open(newline="", encoding="utf-8") as f:
        for i, row in enumerate(csv.DictReader(f)):
            if limit is not None and i >= limit:
                return
            yield row


def child(variant: str, csv_path: Path, campaign_id: int) -> None:
    import django

    django.setup()
    from reachly.campaigns.imports import lead_import_csv
    from reachly.campaigns.models import Campaign, Lead

    campaign = Campaign.objects.select_related("tenant").get(pk=campaign_id)

    def lead(row: dict) -> Lead:
        return Lead(
            tenant=campaign.tenant,
            campaign=campaign,
            profile_url=row["LinkedIn URL"],
            first_name=row["First Name"],
            last_name=row["Last Name"],
            company=row["Company"],
            title=row["Title"],
            email=row["Email"],
            custom_fields={"Team": row["Team"], "Score": row["Score"]},
        )

    base = _rss_kb("VmRSS")
    start = time.perf_counter()
    if variant == "reachly":
        with csv_path.open("rb") as f:
            result = lead_import_csv(campaign=campaign, file=f)
        rows = result.created
    elif variant == "bulk":
        objs = [lead(row) for row in _plain_rows(csv_path)]
        rows = len(Lead.objects.bulk_create(objs, batch_size=1000))
    elif variant == "naive":
        rows = 0
        for row in _plain_rows(csv_path, NAIVE_SAMPLE):
            lead(row).save()
            rows += 1
    else:
        raise SystemExit(f"unknown variant {variant}")
    seconds = time.perf_counter() - start
    assert Lead.objects.filter(campaign=campaign).count() == rows
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_rss_mb": (_rss_kb("VmHWM") - base) / 1024}))


# ---------------------------------------------------------------------------
# Parent side
# ---------------------------------------------------------------------------


def run(variant: str, csv_path: Path, campaign_id: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", variant, str(csv_path), str(campaign_id)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(HERE.parent)},
    )
    if out.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from harness import Bench

    with Bench("lead_import") as bench, tempfile.TemporaryDirectory() as tmp:
        from reachly.campaigns.services import campaign_create

        tenant = bench.tenant("bench")
        csv_path = Path(tmp) / "leads.csv"
        write_csv(csv_path, ROWS)
        size_mb = csv_path.stat().st_size / 1e6
        results = {}
        for variant in ("naive", "bulk", "reachly"):
            campaign = campaign_create(tenant=tenant, name=variant)
            results[variant] = run(variant, csv_path, campaign.pk)

        naive = results["naive"]
        naive_rate = naive["rows"] / naive["seconds"]
        print(f"lead import: {ROWS:,}-row CSV ({size_mb:.1f} MB), one campaign, same database, same run")
        print(f"  {'variant':<42} {'rows':>8} {'seconds':>8} {'rows/s':>9} {'peak RSS':>9} {'vs bulk':>8}")
        bulk_rate = results["bulk"]["rows"] / results["bulk"]["seconds"]
        labels = {
            "reachly": "reachly (validate, dedupe, stream COPY)",
            "bulk": "Django bulk_create(1000), no validation",
            "naive": f"Lead.objects.create per row ({NAIVE_SAMPLE:,} rows)",
        }
        for variant in ("reachly", "bulk", "naive"):
            r = results[variant]
            rate = r["rows"] / r["seconds"]
            print(
                f"  {labels[variant]:<42} {r['rows']:>8,} {r['seconds']:>8.2f} {rate:>9,.0f}"
                f" {r['peak_rss_mb']:>7.0f}MB {rate / bulk_rate:>7.2f}x"
            )
        print(f"  naive, extrapolated to {ROWS:,} rows: {ROWS / naive_rate:.0f} s")
        reachly = results["reachly"]
        print(
            f"  reachly: {reachly['rows'] / reachly['seconds'] / naive_rate:.0f}x the naive rate,"
            f" {reachly['rows'] / reachly['seconds'] / bulk_rate:.2f}x bulk_create,"
            f" {reachly['peak_rss_mb'] / max(results['bulk']['peak_rss_mb'], 1):.2f}x its peak memory"
        )
        result(
            f"lead import, {ROWS:,}-row CSV",
            f"{reachly['rows'] / reachly['seconds']:,.0f} rows/s, {reachly['peak_rss_mb']:.0f} MB peak",
            f"bulk_create: {bulk_rate:,.0f} rows/s, {results['bulk']['peak_rss_mb']:.0f} MB",
            "seconds",
            f"{reachly['seconds']:.1f} s",
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reachly.settings")
        child(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]))
    else:
        main()

"""Outreach rate: actions per minute of one browser-worker process on the
sandbox, pacing off, beside raw Playwright doing the same clicks, same run.

Reachly: one Celery browser worker (prefork, one child: one Chromium) works
a job of N leads across 2 sender accounts (outreach steps of 10 leads). Each
lead is two actions: a profile visit and an invitation with a note. The
figure is end to end, job created -> job succeeded, through the dispatcher,
the global limiter (visit/invite caps per account), checkpoints after every
lead, the effect ledger and lead updates. A warm-up job first, so Chromium's
launch and the two sign-ins are not in the figure.

Baseline: a helper process signed in as a third account drives one
Chromium (same flags) through the same pages and clicks in a plain loop:
page.goto(profile), Connect, fill the note, Send; no control plane.

    python benchmarks/outreach_rate.py          (BENCH_LEADS=40)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from _sandbox import PASSWORD, invite_steps, run_job, serve, world
from harness import Bench
from report import result

N = int(os.environ.get("BENCH_LEADS", "40"))
PER_STEP = 10
ACTIONS_PER_LEAD = 2  # visit + invite


def raw_playwright(url: str, login: str, profiles: list[str]) -> None:
    """Helper process: the same visits and invitations in a plain loop."""
    from playwright.sync_api import sync_playwright

    from agents.browser.pool import launch
    from agents.browser.sites import sandbox as sel

    with sync_playwright() as p:
        page = launch(p).new_context().new_page()
        page.goto(url + sel.LOGIN_PATH)
        page.fill(sel.USERNAME, login)
        page.fill(sel.PASSWORD, PASSWORD)
        with page.expect_navigation():
            page.click(sel.SIGN_IN)
        start = time.perf_counter()
        for profile in profiles:
            page.goto(profile, wait_until="domcontentloaded")
            page.click(sel.CONNECT)
            page.fill(sel.NOTE, "Hi, I would love to connect.")
            with page.expect_navigation(wait_until="domcontentloaded"):
                page.click(sel.SEND_INVITATION)
            if page.locator(sel.SEL["pending"]).count() != 1:
                raise RuntimeError(f"invitation to {profile} not confirmed")
        print(time.perf_counter() - start, flush=True)


def main() -> None:
    with Bench("outreach_rate") as bench:
        url = serve(bench)
        bench.procs.worker(["control", "agent.test"], beat=True)
        bench.procs.worker("agent.outreach", concurrency=1, extra_env={"REACHLY_SANDBOX_URL": url})
        tenant = bench.tenant("bench")
        accounts, leads = world(tenant, url, senders=3, leads=N + 2)
        reachly_accounts, raw_account = accounts[:2], accounts[2]
        warm_up, measured = leads[:2], leads[2:]

        run_job(tenant, invite_steps(reachly_accounts, warm_up, per_step=1, prefix="warm-up"))
        start = time.perf_counter()
        run_job(tenant, invite_steps(reachly_accounts, measured, per_step=PER_STEP))
        reachly_seconds = time.perf_counter() - start

        from reachly.sandbox.models import Invitation

        sent = Invitation.objects.filter(recipient__handle__startswith="bench-lead", duplicate=False).count()
        if sent != N + 2:
            raise RuntimeError(f"expected {N + 2} invitations in the sandbox, found {sent}")

        out = subprocess.run(
            [sys.executable, __file__, "--raw", url, raw_account.login, *(lead.profile_url for lead in measured)],
            capture_output=True,
            text=True,
            check=True,
        )
        raw_seconds = float(out.stdout.strip().splitlines()[-1])

        r = N * ACTIONS_PER_LEAD / reachly_seconds * 60
        b = N * ACTIONS_PER_LEAD / raw_seconds * 60
        print(f"outreach rate ({N} leads = {N * ACTIONS_PER_LEAD} actions, 1 browser-worker process, pacing off):")
        print(f"  reachly          {r:7.0f} actions/min  ({N / reachly_seconds * 60:.0f} invitations/min, 2 accounts)")
        print(f"  raw playwright   {b:7.0f} actions/min  (the same clicks in a plain loop, 1 account)")
        print(f"  ratio            {r / b:7.2f}")
        result(
            "outreach actions per browser worker, pacing off",
            f"{r:.0f} actions/min",
            f"raw Playwright loop: {b:.0f}",
            "",
            f"{r / b:.2f}",
        )


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == "--raw":
        raw_playwright(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        main()

"""Browser memory: one browser-worker process serving N sender accounts
(one Chromium, one context per account) vs N separate Chromium processes
(the seeds' model: a browser per user, ~200 MB each), in the same run.

Reachly: a real Celery browser worker (prefork, one child) runs one outreach
step per account against the sandbox (sign in, open a profile, invite); the
pool keeps every account's context open with its page (REACHLY_BROWSER_MAX_CONTEXTS
>= N), then the whole process tree is measured: Celery parent and child,
Playwright's driver, Chromium and its renderers.

Baseline: a helper process (Python + Playwright's driver, like the worker)
launches N browsers, signs each in as one account and opens a profile page:
the same pages, one browser per account.

Both report the sum of RSS over the process tree (as `ps` shows it: a shared
page counts in every process that maps it) and of PSS (a shared page split
between the processes that map it: the memory the tree really costs), and
what each further account adds (N accounts minus one, divided by N - 1).

    python benchmarks/browser_memory.py          (BENCH_ACCOUNTS=10)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
from _sandbox import PASSWORD, invite_steps, run_job, serve, world
from harness import Bench
from report import result

N = int(os.environ.get("BENCH_ACCOUNTS", "10"))
SETTLE_SECONDS = 3.0
MB = 1024 * 1024


def tree_memory(pid: int) -> tuple[int, int, int]:
    """(RSS sum, PSS sum, process count) of a process and its descendants."""
    root = psutil.Process(pid)
    rss = pss = count = 0
    for proc in [root, *root.children(recursive=True)]:
        try:
            info = proc.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        rss, pss, count = rss + info.rss, pss + info.pss, count + 1
    return rss, pss, count


def separate_browsers(url: str, logins: list[str], profiles: list[str]) -> None:
    """Helper process: one Chromium per account, each signed in on a profile
    page. The first browser alone, then (after a line on stdin) the rest."""
    from playwright.sync_api import sync_playwright

    from agents.browser.pool import launch
    from agents.browser.sites.sandbox import SandboxSite

    with sync_playwright() as p:
        browsers = []
        for i, (login, profile) in enumerate(zip(logins, profiles, strict=True)):
            if i == 1:
                sys.stdin.readline()
            browser = launch(p)  # the same flags as the pool's Chromium
            site = SandboxSite(browser.new_context().new_page(), url)
            site.login(login, PASSWORD)
            site.open_profile(profile)
            browsers.append(browser)
            if i in (0, len(logins) - 1):
                print("ready", flush=True)
        sys.stdin.read()  # measured meanwhile; EOF ends the run


def settled(pid: int) -> tuple[int, int, int]:
    time.sleep(SETTLE_SECONDS)
    return tree_memory(pid)


def main() -> None:
    with Bench("browser_memory", REACHLY_BROWSER_MAX_CONTEXTS=str(max(N, 10))) as bench:
        url = serve(bench)
        bench.procs.worker("control", beat=True)
        worker = bench.procs.worker("agent.outreach", concurrency=1, extra_env={"REACHLY_SANDBOX_URL": url})
        tenant = bench.tenant("bench")
        accounts, leads = world(tenant, url, senders=N, leads=N)

        # Reachly: the first account alone, then all N (steps run one by
        # one; every account's context stays open with its page).
        steps = invite_steps(accounts, leads, per_step=1)
        run_job(tenant, steps[:1])
        r1 = settled(worker.pid)
        run_job(tenant, steps[1:])
        rn = settled(worker.pid)

        helper = subprocess.Popen(
            [sys.executable, __file__, "--separate-browsers", url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "BENCH_LOGINS": ",".join(a.login for a in accounts),
                 "BENCH_PROFILES": ",".join(lead.profile_url for lead in leads)},
        )  # fmt: skip
        try:
            if helper.stdout.readline().strip() != "ready":
                raise RuntimeError("the separate-browsers helper failed")
            b1 = settled(helper.pid)
            helper.stdin.write("more\n")
            helper.stdin.flush()
            if helper.stdout.readline().strip() != "ready":
                raise RuntimeError("the separate-browsers helper failed")
            bn = settled(helper.pid)
        finally:
            helper.stdin.close()
            helper.wait(60)

        def mb(value: float) -> str:
            return f"{value / MB:7.0f} MB"

        print(f"browser memory ({N} sender accounts signed in, a profile page open each; RSS sums count a shared")
        print("page in every process mapping it, PSS splits it between them: PSS is what the tree really costs):")
        print(
            f"  reachly: 1 worker, 1 Chromium, {N} contexts    RSS {mb(rn[0])}   PSS {mb(rn[1])}   ({rn[2]} processes)"
        )
        print(f"  baseline: {N} separate Chromium processes    RSS {mb(bn[0])}   PSS {mb(bn[1])}   ({bn[2]} processes)")
        print(f"  ratio reachly / baseline                     RSS {rn[0] / bn[0]:7.2f}      PSS {rn[1] / bn[1]:7.2f}")
        result(
            f"browser memory, {N} accounts",
            f"PSS {rn[1] / MB:,.0f} MB (1 Chromium)",
            f"{N} Chromiums: PSS {bn[1] / MB:,.0f} MB",
            "less",
            ("yes" if rn[1] < bn[1] else "no") + f": {rn[1] / bn[1]:.2f} (RSS {rn[0] / bn[0]:.2f})",
        )
        if N > 1:
            print(
                f"  each further account: reachly PSS {mb((rn[1] - r1[1]) / (N - 1))},"
                f" baseline PSS {mb((bn[1] - b1[1]) / (N - 1))}"
                f"  (ratio {(rn[1] - r1[1]) / (bn[1] - b1[1]):.2f})"
            )


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--separate-browsers":
        separate_browsers(sys.argv[2], os.environ["BENCH_LOGINS"].split(","), os.environ["BENCH_PROFILES"].split(","))
    else:
        main()

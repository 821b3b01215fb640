"""UI requests per watching user: Reachly's live job page against the seeds'
3-second polling (20 requests per minute), watching the same job at once.

Reachly: a Chromium page signed in to the web UI opens a running job's page
and watches it for BENCH_SECONDS (60): every HTTP request the page makes
after it has loaded and every WebSocket message it receives are counted.

Baseline, in the same run, same job, same minute: a page of the same signed-in
user that polls the REST API for the job every 3 seconds
(GET /api/v1/jobs/{id}/, the seeds' model).

Both also report how late they learn that a step finished: for the live page,
receive time minus the event's commit timestamp; for the polling page, the
time a poll first shows a higher "done" count minus the commit timestamps of
the steps it newly counts.

The job: BENCH_STEPS test-agent steps of BENCH_STEP_SECONDS each on two
worker processes, so it changes about once a second throughout the window.

    python benchmarks/ui_requests.py      (BENCH_SECONDS=60 BENCH_STEPS=90 BENCH_STEP_SECONDS=2)
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import urllib.request
from datetime import datetime

from harness import Bench, wait_for
from report import result

SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
STEPS = int(os.environ.get("BENCH_STEPS", "90"))
STEP_SECONDS = float(os.environ.get("BENCH_STEP_SECONDS", "2"))
POLL_SECONDS = 3.0  # the seeds' polling interval
PASSWORD = "bench-pass-123"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

POLLER = """([url, every]) => {
    window.__polls = [];
    const poll = () => fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
        .then(r => r.text())
        .then(t => window.__polls.push([Date.now() / 1000, t.length, JSON.parse(t).progress.done]));
    poll();
    window.__timer = setInterval(poll, every * 1000);
}"""


def serve(bench: Bench) -> str:
    from devtools.processes import free_port

    port = free_port()
    bench.procs.spawn(
        "web",
        [sys.executable, "-m", "uvicorn", "reachly.asgi:application", "--port", str(port), "--log-level", "warning"],
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            with urllib.request.urlopen(f"{base}/login/", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    wait_for(up, timeout=60, interval=0.2, what="uvicorn")
    return base


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    with Bench("ui-requests") as bench:
        from django.contrib.auth import get_user_model

        from reachly.orchestration.graph import StepSpec
        from reachly.orchestration.models import Event, Job
        from reachly.orchestration.services import job_start
        from reachly.tenants.models import Membership
        from reachly.tenants.services import membership_add

        tenant = bench.tenant("watchers", max_concurrent=2)
        user = get_user_model().objects.create_user("watcher", password=PASSWORD)
        membership_add(tenant=tenant, user=user, role=Membership.Role.OWNER)

        bench.procs.worker(["control"], beat=True, name="control")
        bench.procs.worker(["agent.test"], concurrency=2, name="test-agent")
        base = serve(bench)

        steps = [StepSpec(f"step-{i:03d}", "test", {"sleep": STEP_SECONDS}) for i in range(STEPS)]
        job = job_start(tenant=tenant, steps=steps, name="watched job")
        wait_for(lambda: Job.objects.get(pk=job.pk).succeeded_steps >= 2, timeout=60, what="the job to run")

        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # the ORM calls below, beside Playwright's loop
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
            context = browser.new_context()
            live = context.new_page()
            live.goto(f"{base}/login/")
            live.fill("#id_username", "watcher")
            live.fill("#id_password", PASSWORD)
            live.click("button[type=submit]")
            live.wait_for_url(f"{base}/")

            frames: list[tuple[float, str]] = []
            live.on("websocket", lambda ws: ws.on("framereceived", lambda p: frames.append((time.time(), str(p)))))
            live.goto(f"{base}/jobs/{job.pk}/")
            live.wait_for_selector('[data-live-indicator][data-state="live"]')
            live.wait_for_load_state("networkidle")
            poller = context.new_page()
            poller.goto(f"{base}/api/v1/jobs/{job.pk}/")
            poller.wait_for_load_state("networkidle")

            requests: dict[str, list[str]] = {"live": [], "poll": []}
            live.on("request", lambda r: requests["live"].append(r.url))
            poller.on("request", lambda r: requests["poll"].append(r.url))
            replayed = len(frames)  # the history replayed at load is not part of the window
            started = time.time()
            poller.evaluate(POLLER, [f"/api/v1/jobs/{job.pk}/", POLL_SECONDS])
            live.wait_for_timeout(SECONDS * 1000)
            window = time.time() - started
            poller.evaluate("clearInterval(window.__timer)")
            polls = poller.evaluate("window.__polls")
            browser.close()

        job.refresh_from_db()
        done_at = {
            e.data["progress"]["done"]: e.ts.timestamp()
            for e in Event.objects.filter(job=job, type="step.status", data__status="succeeded")
        }

    # Live page: messages in the window, and how late each "succeeded" arrived.
    messages = [(t, p) for t, p in frames[replayed:] if t >= started]
    live_delays = []
    for received, payload in messages:
        event = json.loads(payload)
        if event.get("type") == "step.status" and event.get("status") == "succeeded":
            live_delays.append(received - datetime.fromisoformat(event["ts"]).timestamp())
    # Polling page: a step is seen by the first poll whose count includes it.
    poll_delays = []
    seen = polls[0][2] if polls else 0
    for received, _size, done in polls[1:]:
        for n in range(seen + 1, done + 1):
            if n in done_at:
                poll_delays.append(received - done_at[n])
        seen = max(seen, done)

    per_minute = 60.0 / window
    live_bytes = sum(len(p) for _, p in messages)
    poll_bytes = sum(size for _, size, _ in polls)
    print(f"one user watching job {job.pk} for {window:.0f} s ({job.succeeded_steps}/{job.total_steps} steps done)")
    print(f"{'':34} {'HTTP req/min':>13} {'WS msg/min':>11} {'payload/min':>12} {'median late':>12}")
    print(
        f"{'Reachly live page (WebSocket)':34} {len(requests['live']) * per_minute:13.1f} "
        f"{len(messages) * per_minute:11.1f} {live_bytes * per_minute / 1000:10.1f}kB {median(live_delays):11.3f}s"
    )
    print(
        f"{'seeds: poll every 3 s (REST)':34} {len(requests['poll']) * per_minute:13.1f} {'-':>11} "
        f"{poll_bytes * per_minute / 1000:10.1f}kB {median(poll_delays):11.3f}s"
    )
    live_rate, poll_rate = len(requests["live"]) * per_minute, len(requests["poll"]) * per_minute
    print(
        f"HTTP requests per minute: {live_rate:.1f} vs {poll_rate:.1f} (the seeds: 20 a minute); every WebSocket"
        f" message is a change ({len(messages) * per_minute:.0f}/min, pushed, none empty);"
        f" a finished step shows {median(poll_delays) / max(median(live_delays), 1e-6):.0f}x sooner live"
    )
    result(
        "HTTP requests per watching user",
        f"{live_rate:.0f} per min ({len(messages) * per_minute:.0f} pushed msgs/min)",
        f"3-s polling: {poll_rate:.0f} per min",
        "no polling",
        "yes" if live_rate < 1 else f"no: {live_rate:.1f}/min",
    )


if __name__ == "__main__":
    main()

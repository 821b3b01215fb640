"""The web UI in a real Chromium, against a real ASGI server (uvicorn: HTTP
and WebSocket) and real Celery workers.

Alice signs in, imports a CSV (preview first), starts her campaign's job,
watches its progress move without a reload, pauses and resumes it and sees
it finish; the page makes no status-polling request meanwhile. Bob, of
another tenant, never sees Alice's job: not on a page, not on the socket.

The job's LLM steps ask a gated fake provider (tests/web/gated_llm.py), so
the test decides when each step may finish: it pauses a job that is
certainly running and sees progress advance one step at a time.
"""

from __future__ import annotations

import re
import sys
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from agents.registry import queues_for_group
from devtools.processes import free_port, wait_for
from reachly.campaigns.models import Campaign, Lead
from reachly.campaigns.services import lead_status_set
from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import Job
from reachly.orchestration.services import job_extend, job_pause, job_start
from reachly.tenants.models import Membership, Plan, Tenant
from reachly.tenants.services import membership_add
from tests.helpers import wait_job
from tests.web.conftest import PASSWORD, make_user
from tests.web.gated_llm import GatedLLM

pytestmark = [pytest.mark.workers, pytest.mark.browser]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CSV = (
    "first_name,last_name,company,title,profile_url\n"
    "Ada,Lovelace,Analytical Engines,CTO,https://sandbox.test/in/ada-lovelace\n"
    "Grace,Hopper,Navy Labs,VP Engineering,https://sandbox.test/in/grace-hopper\n"
    "Alan,Turing,Bletchley,Head of Platform,https://sandbox.test/in/alan-turing\n"
    "Bad,Row,Nowhere,Intern,not a profile url\n"
)


@pytest.fixture
def gated_llm() -> Iterator[GatedLLM]:
    server = GatedLLM().start()
    yield server
    server.stop()


class WebServer:
    """uvicorn serving reachly.asgi (HTTP and WebSocket) on a fixed free port."""

    def __init__(self, pool):
        self.pool = pool
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.child = None

    def start(self) -> WebServer:
        cmd = [sys.executable, "-m", "uvicorn", "reachly.asgi:application", "--host", "127.0.0.1"]
        self.child = self.pool.spawn("uvicorn", [*cmd, "--port", str(self.port)])

        def up() -> bool:
            try:
                with urllib.request.urlopen(f"{self.base}/login/", timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False

        try:
            wait_for(up, timeout=60, interval=0.2, what="uvicorn")
        except TimeoutError:
            raise AssertionError(f"uvicorn did not start:\n{self.child.tail()}") from None
        return self

    def stop(self) -> None:
        self.child.stop()
        self.pool.children.remove(self.child)


@pytest.fixture
def server(workers) -> WebServer:
    return WebServer(workers).start()


@pytest.fixture
def web(workers, gated_llm, server) -> str:
    """The web server, a control worker (beat) and a general worker whose
    LLM calls go to the gated provider."""
    workers.start(["control"], beat=True, extra_env=gated_llm.worker_env())
    workers.start(queues_for_group("general"), pool="threads", concurrency=4, extra_env=gated_llm.worker_env())
    return server.base


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls
    # the test makes meanwhile are synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def sign_in(browser, base: str, username: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/")
    return page


def wait_live(page: Page) -> None:
    expect(page.locator("[data-live-indicator]")).to_have_attribute("data-state", "live")
    page.wait_for_load_state("networkidle")


def node(page: Page, key: str):
    return page.locator("g.node").filter(has=page.locator("text.key", has_text=re.compile(f"^{key}$")))


def test_alice_imports_starts_pauses_resumes_and_watches_her_job_finish_live(web, browser, gated_llm, tmp_path):
    pro = Plan.objects.get(code="pro")  # copywriter and analyst, no planner: a two-step job
    acme = Tenant.objects.create(slug="acme", name="Acme Growth", plan=pro)
    globex = Tenant.objects.create(slug="globex", name="Globex Sales", plan=pro)
    membership_add(tenant=acme, user=make_user("alice"), role=Membership.Role.OWNER)
    membership_add(tenant=globex, user=make_user("bob"), role=Membership.Role.OWNER)
    campaign = Campaign.objects.create(tenant=acme, name="Platform leaders", brief="Offer our platform audit.")
    (tmp_path / "leads.csv").write_text(CSV)

    # Bob watches his own dashboard all along: his socket must carry nothing of Acme's.
    bob = sign_in(browser, web, "bob")
    bob_frames: list[str] = []
    bob.on("websocket", lambda ws: ws.on("framereceived", lambda payload: bob_frames.append(str(payload))))
    bob.reload()
    wait_live(bob)

    # --- Alice: import with a preview, then start the job --------------------------
    alice = sign_in(browser, web, "alice")
    alice.get_by_role("link", name="Campaigns").click()
    alice.get_by_role("link", name="Platform leaders").click()
    alice.set_input_files("input[type=file]", str(tmp_path / "leads.csv"))
    expect(alice.locator("[data-preview-summary]")).to_have_text("3 of 4 rows will be imported · 1 rejected")
    expect(alice.locator("[data-preview-result]")).to_contain_text("a URL cannot contain spaces")
    assert Lead.objects.filter(campaign=campaign).count() == 0  # a preview writes nothing
    alice.get_by_role("button", name="Import").click()
    expect(alice.locator("[data-import-result]")).to_contain_text("Imported 3 leads from leads.csv")
    expect(alice.locator("[data-leads] tbody tr")).to_have_count(3)

    alice.get_by_role("button", name="Start job").click()
    expect(alice).to_have_url(re.compile(r"/jobs/\d+/$"))
    job = Job.objects.get(campaign=campaign)
    wait_live(alice)

    # From here on, every request the page makes is recorded.
    requests: list[tuple[str, str]] = []
    alice.on("request", lambda r: requests.append((r.method, r.url.removeprefix(web))))
    sockets = []
    alice.on("websocket", lambda ws: sockets.append(ws.url))
    alice.evaluate("window.__notReloaded = true")

    status = alice.locator("[data-job] [data-job-status] .badge")
    progress = alice.locator(f'[data-progress][data-job-id="{job.pk}"] [data-progress-count]').first
    expect(status).to_have_text("Running")
    expect(progress).to_have_text("0 / 2 steps")
    # The copywriter claimed its step and is waiting for the (gated) model.
    expect(node(alice, "write-copy")).to_have_attribute("data-status", "running")
    expect(alice.locator("[data-event-log]")).to_contain_text("write-copy running (attempt 1)")

    # --- Bob never sees it -----------------------------------------------------------
    response = bob.goto(f"{web}/jobs/{job.pk}/")
    assert response.status == 404
    expect(bob.locator("h1")).to_have_text("Page not found")
    bob.goto(f"{web}/")
    wait_live(bob)
    expect(bob.locator("[data-running-jobs] [data-job-row]")).to_have_count(0)
    closes = bob.evaluate(
        """async ([job, tenant]) => {
            const attempt = (message) => new Promise((resolve) => {
                const ws = new WebSocket(`ws://${location.host}/ws/events/`);
                const got = [];
                ws.onopen = () => ws.send(JSON.stringify(message));
                ws.onmessage = (e) => got.push(e.data);
                ws.onclose = (e) => resolve({code: e.code, got});
            });
            return [await attempt({action: "subscribe", job, after_seq: 0}),
                    await attempt({action: "subscribe", tenant})];
        }""",
        [job.pk, acme.pk],
    )
    assert closes == [{"code": 4403, "got": []}, {"code": 4403, "got": []}]

    # --- Pause while the step is mid-way, then resume ------------------------------
    alice.get_by_role("button", name="Pause").click()
    expect(status).to_have_text("Paused")
    expect(alice.get_by_role("button", name="Resume")).to_be_visible()
    expect(alice.get_by_role("button", name="Pause")).to_be_hidden()
    gated_llm.allow(1)  # the first note arrives; the step stops at its next safe point
    expect(node(alice, "write-copy")).to_have_attribute("data-status", "paused")
    expect(progress).to_have_text("0 / 2 steps")

    alice.get_by_role("button", name="Resume").click()
    expect(status).to_have_text("Running")
    gated_llm.allow(2)  # the other two notes: the copy step succeeds, the summary waits
    expect(progress).to_have_text("1 / 2 steps")
    expect(alice.locator(f'[data-progress][data-job-id="{job.pk}"] [data-progress-percent]').first).to_have_text("50%")
    expect(node(alice, "write-copy")).to_have_attribute("data-status", "succeeded")
    expect(node(alice, "summarise")).to_have_attribute("data-status", "running")

    gated_llm.allow(1)  # the summary
    expect(status).to_have_text("Succeeded")
    expect(progress).to_have_text("2 / 2 steps")
    expect(alice.get_by_role("button", name="Cancel")).to_be_hidden()
    expect(alice.locator("[data-event-log] li").first).to_contain_text("Job succeeded")
    wait_job(job, "succeeded")
    assert gated_llm.answered == 4  # one note per lead (the first not asked again after resume), one summary

    # No reload, one socket, and no request but the two clicks: nothing polled.
    assert alice.evaluate("window.__notReloaded") is True
    assert sockets == []  # no reconnect: the socket opened before recording is the only one
    assert requests == [("POST", f"/jobs/{job.pk}/pause"), ("POST", f"/jobs/{job.pk}/resume")]

    # --- The leads table follows lead status changes live ----------------------------
    alice.get_by_role("link", name="Platform leaders").click()
    wait_live(alice)
    lead = Lead.objects.filter(campaign=campaign).order_by("id").first()
    row = alice.locator(f'[data-lead="{lead.pk}"]')
    expect(row.locator(".badge")).to_have_text("New")
    lead_status_set(lead_id=lead.pk, status="invited", detail="invitation sent", job_id=job.pk)
    expect(row.locator(".badge")).to_have_text("Invited")
    expect(row.locator("[data-lead-detail]")).to_have_text("invitation sent")

    # Bob's socket carried his own tenant's stream only.
    assert bob_frames, "Bob's dashboard subscribed"
    assert not [f for f in bob_frames if f'"tenant": {acme.pk}' in f or f'"job": {job.pk}' in f]


def test_a_page_that_lost_its_socket_catches_up_when_it_reconnects(server, browser):
    """The web server goes away; meanwhile the job is paused. When it is back,
    the job page replays what it missed (after_seq) and the dashboard takes a
    fresh snapshot: both show "Paused" without a reload or a polling request."""
    tenant = Tenant.objects.create(slug="acme", name="Acme", plan=Plan.objects.get(code="pro"))
    membership_add(tenant=tenant, user=make_user("alice"), role=Membership.Role.OWNER)
    job = job_start(
        tenant=tenant, steps=[StepSpec("a", "test"), StepSpec("b", "test", depends_on=["a"])], name="Nightly"
    )

    dashboard = sign_in(browser, server.base, "alice")
    wait_live(dashboard)
    page = dashboard.context.new_page()
    page.goto(f"{server.base}/jobs/{job.pk}/")
    wait_live(page)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    dashboard.on("request", lambda r: requests.append(r.url))
    row = dashboard.locator(f'[data-running-jobs] [data-job-row="{job.pk}"] .badge')
    expect(row).to_have_text("Running")

    server.stop()
    expect(page.locator("[data-live-indicator]")).not_to_have_attribute("data-state", "live")
    job_pause(job)  # while no page can hear it
    server.start()

    expect(page.locator("[data-job] [data-job-status] .badge")).to_have_text("Paused")
    expect(page.locator("[data-event-log] li").first).to_contain_text("Job paused")
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    expect(row).to_have_text("Paused")
    assert requests == []

    # The planner (here: the test) adds steps: the page draws them, fetching
    # the graph once because an event said so.
    job_extend(job, [StepSpec("c", "test", depends_on=["b"])])
    expect(node(page, "c")).to_have_attribute("data-status", "blocked")
    expect(page.locator(f'[data-progress][data-job-id="{job.pk}"] [data-progress-count]')).to_have_text("0 / 3 steps")
    assert requests == [f"{server.base}/jobs/{job.pk}/graph"]

"""The "Queues & capacity" page in a real Chromium: an operator reaches it from
the admin index, sees every agent queue, the live workers and a link to
Flower, and the page picks up new backlog by itself."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect, sync_playwright

from reachly.orchestration.services import job_start
from tests.factories import TenantFactory, test_steps
from tests.ops.conftest import PASSWORD, _user

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser_page(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls
    # the test makes meanwhile are synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(15_000)
        yield page
        browser.close()


def test_an_operator_watches_backlog_arrive_on_the_capacity_page(
    browser_page, live_server, settings, plans, workers, tmp_path
):
    settings.REACHLY_CAPACITY_REFRESH_SECONDS = 0.5
    settings.FLOWER_URL = "http://flower.internal/flower/"
    _user(username="alice", is_staff=True, is_superuser=True)
    worker = workers.start("agent.outreach")  # consumes one queue only
    page = browser_page

    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.click("text=Queues & capacity")
    expect(page).to_have_url(f"{live_server.url}/admin/capacity/")
    expect(page.locator("h1")).to_have_text("Queues & capacity")

    # Every agent queue has a row; the live worker is listed; Flower is linked.
    from agents import registry

    for spec in registry.AGENTS.values():
        expect(page.locator(f'tr[data-queue="{spec.queue}"]')).to_have_count(1)
    expect(page.locator(f'tr[data-worker="{worker.name}"]')).to_contain_text("agent.outreach")
    expect(page.locator("#flower-link")).to_have_attribute("href", "http://flower.internal/flower/")
    expect(page.locator('tr[data-queue="agent.test"] .queue-ready')).to_have_text("0")

    # New work arrives while the page is open: it shows up without a reload,
    # with the tenant's backlog and a recommendation (nobody consumes agent.test).
    tenant = TenantFactory(slug="globex")
    job_start(tenant=tenant, steps=test_steps(3))
    expect(page.locator('tr[data-queue="agent.test"] .queue-ready')).to_have_text("3")
    expect(page.locator('tr[data-tenant="globex"]')).to_contain_text("3")
    expect(page.locator("#recommendations")).to_contain_text("agent.test: 3 steps waiting and no live worker")

    # One tenant's view.
    page.click('tr[data-tenant="globex"] a')
    expect(page.locator(".breadcrumbs")).to_contain_text("globex")
    page.screenshot(path=str(tmp_path / "capacity.png"), full_page=True)


def test_a_user_who_is_not_staff_is_sent_to_the_login_page(browser_page, live_server, db):
    _user(username="charlie", is_staff=False)
    page = browser_page
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "charlie")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/capacity/")
    expect(page).to_have_url(f"{live_server.url}/admin/login/?next=/admin/capacity/")
    expect(page.locator("#capacity")).to_have_count(0)

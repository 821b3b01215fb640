"""The per-process browser pool: one Chromium, one context per account,
session state in and out through callbacks (the database in production),
relaunched when Chromium dies, contexts recycled and bounded."""

from __future__ import annotations

import os
import signal

import psutil
import pytest

from agents.browser.sites.sandbox import SandboxSite
from reachly.sandbox import selectors
from reachly.sandbox import services as sandbox
from tests.browser.conftest import PASSWORD, sender
from tests.conftest import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("loopback_egress")]


class Store:
    """Stands in for SenderAccount.session_state."""

    def __init__(self):
        self.state = None
        self.saves = 0

    def load(self):
        return self.state

    def save(self, state):
        self.state, self.saves = state, self.saves + 1


def _sign_in(pool, key, store, sandbox_url, handle):
    with pool.session(key, load=store.load, save=store.save) as session:
        SandboxSite(session.page, sandbox_url).login(handle, PASSWORD)
        return session.context


def _chromium_pids() -> set[int]:
    pids = set()
    for proc in psutil.Process(os.getpid()).children(recursive=True):
        try:
            if "chrom" in proc.name() and proc.status() != psutil.STATUS_ZOMBIE:
                pids.add(proc.pid)
        except psutil.NoSuchProcess:
            pass
    return pids


def test_a_context_per_account_is_reused_and_its_state_saved_with_cookies_and_local_storage(browser_pool, sandbox_url):
    sender("alice"), sender("bob")
    alice, bob = Store(), Store()
    first = _sign_in(browser_pool, "account:1", alice, sandbox_url, "alice")
    _sign_in(browser_pool, "account:2", bob, sandbox_url, "bob")

    cookies = {c["name"] for c in alice.state["cookies"]}
    storage = {i["name"]: i["value"] for o in alice.state["origins"] for i in o["localStorage"]}
    assert "sbx_session" in cookies and storage["sbx_member"] == "alice"

    with browser_pool.session("account:1", load=alice.load, save=alice.save) as again:
        assert again.context is first  # same stored state: the open context serves again
    alice.state = None  # the session was cleared in the database (e.g. forced re-login)
    with browser_pool.session("account:1", load=alice.load, save=alice.save) as fresh:
        assert fresh.context is not first


def test_a_session_restored_from_saved_state_needs_no_second_login(browser_pool, sandbox_url):
    sender("alice")
    bob = sandbox.member_create(handle="bob", name="Bob")
    store = Store()
    _sign_in(browser_pool, "account:1", store, sandbox_url, "alice")

    browser_pool.close()  # as if the worker restarted: the next session gets a new Chromium
    with browser_pool.session("account:1", load=store.load, save=store.save) as session:
        profile = SandboxSite(session.page, sandbox_url).open_profile(sandbox.profile_url(bob, sandbox_url))
    assert profile.name == "Bob"
    assert selectors.login_count("alice") == 1


def test_chromium_is_relaunched_after_it_dies(browser_pool, sandbox_url):
    sender("alice")
    store = Store()
    _sign_in(browser_pool, "account:1", store, sandbox_url, "alice")
    launches = browser_pool.launches
    for pid in _chromium_pids():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_for(lambda: not _chromium_pids(), timeout=10, what="Chromium to die")

    with browser_pool.session("account:1", load=store.load, save=store.save) as session:
        site = SandboxSite(session.page, sandbox_url)
        site.page.goto(sandbox_url, wait_until="domcontentloaded")
        assert site.page.locator("#me").get_attribute("data-handle") == "alice"  # restored, still signed in
    assert browser_pool.launches == launches + 1
    assert selectors.login_count("alice") == 1


def test_a_context_is_recycled_after_its_page_loads_and_contexts_are_bounded(browser_pool, sandbox_url, settings):
    settings.REACHLY_BROWSER_PAGES_PER_CONTEXT = 3
    settings.REACHLY_BROWSER_MAX_CONTEXTS = 2
    sender("alice")
    store = Store()
    with browser_pool.session("account:1", load=store.load, save=store.save) as session:
        SandboxSite(session.page, sandbox_url).login("alice", PASSWORD)
        for _ in range(3):
            session.page.goto(sandbox_url, wait_until="load")
        before = session.context
        assert session.maybe_recycle()
        assert session.context is not before and session.page_loads == 0
        session.page.goto(sandbox_url, wait_until="domcontentloaded")
        assert session.page.locator("#me").count() == 1  # still signed in
    assert selectors.login_count("alice") == 1

    for key in ("account:7", "account:8", "account:9"):
        with browser_pool.session(key, load=Store().load):
            pass
    assert browser_pool.open_contexts == 2

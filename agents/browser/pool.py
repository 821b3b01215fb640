"""One Chromium per browser-worker process, one context per sender account.

shared/DESIGN.md, principle 8 ("Bounded resources"). The seeds' model was a
Chrome per user (~200 MB each); here a worker process runs one Chromium and
gives each sender account its own browser context (cookies, storage, cache
isolated from the others), which costs a renderer (tens of MB), not a
browser (benchmarks/browser_memory.py).

* Lazy: Chromium is launched on first use in the process that uses it.
  Celery's prefork pool forks its children from the parent, and a browser
  (its driver pipes, its greenlet-bound event loop) does not survive a
  fork, so the parent never launches one; a pool created before a fork is
  left alone by the child, which makes its own (see `get()`).
* Relaunched if it dies: a context about to be reused gets one cheap round
  trip first; a dead browser (or driver) is replaced and the contexts are
  recreated from the session state saved in the database.
* Bounded: at most REACHLY_BROWSER_MAX_CONTEXTS contexts (least recently
  used closed first) and each context is recycled after
  REACHLY_BROWSER_PAGES_PER_CONTEXT page loads (state saved, context closed,
  reopened from the state), since a long-lived context keeps growing.
* Nothing on local disk: plain `launch()` (a throwaway profile that
  Playwright deletes, never a persistent user-data-dir); session state goes
  to and comes from the SenderAccount row (encrypted) through the callbacks
  the agent passes, never to a file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from django.conf import settings
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from agents.egress import current_policy
from agents.egress import proxy as egress_proxy
from agents.egress.policy import Policy
from reachly.observability import metrics

log = logging.getLogger(__name__)

DEBIAN_CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",  # containers: no user namespaces; the pages are our own targets
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Debian's wrapper enables crash reports, written under ~/.config.
    "--disable-crash-reporter",
    "--disable-breakpad",
]


def allow_orm_beside_playwright() -> None:
    """Let Django's ORM run in the thread that drives Playwright.

    Playwright's sync API keeps an asyncio loop in this thread and marks it
    as running between calls (so nested sync use is refused). Django then
    takes every ORM call here for one made inside a coroutine and raises
    SynchronousOnlyOperation. None is: the agent's ORM calls (through the
    StepContext) run in the thread's main greenlet, never inside the loop,
    so the guard is lifted for this process, as Playwright's own docs advise
    for Django.
    """
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


# Chromium features turned off on top of Playwright's own list. Every
# context is a window, and each window loads the omnibox popup WebUI in a
# renderer of its own: ~44 MB PSS per account for a UI nobody sees
# (measured here: 10 contexts on a small page, 1074 -> 670 MB PSS for the
# whole tree; benchmarks/browser_memory.py runs with it off).
EXTRA_DISABLED_FEATURES = ("WebUIOmniboxPopup", "WebUIOmniboxAimPopup")
# Chromium honours only the last --disable-features switch, so ours must
# repeat Playwright's list: read once per process from the first browser's
# command line ("" where that is not possible: then Playwright's list alone).
_playwright_features: str | None = None


def _features_switch(browser: Browser) -> str:
    """The --disable-features switch Playwright launched `browser` with."""
    try:
        cdp = browser.new_browser_cdp_session()
        processes = cdp.send("SystemInfo.getProcessInfo")["processInfo"]
        cdp.detach()
        pid = next(p["id"] for p in processes if p["type"] == "browser")
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().decode(errors="replace").split("\0")
    except (PlaywrightError, OSError, StopIteration, KeyError):
        return ""
    return next((a for a in args if a.startswith("--disable-features=")), "")


def launch(playwright: Playwright) -> Browser:
    """Launch Chromium the way every Reachly browser runs (also used by the
    benchmarks' baselines, so both sides get the same flags)."""
    global _playwright_features
    path = chromium_path(playwright)
    log.info("launching Chromium %s in process %s", path, os.getpid())
    options: dict[str, Any] = {
        "executable_path": path,
        "headless": settings.REACHLY_BROWSER_HEADLESS,
        "args": list(LAUNCH_ARGS),
    }
    if _playwright_features is None:
        browser = playwright.chromium.launch(**options)
        _playwright_features = _features_switch(browser)
        if not _playwright_features:
            return browser
        browser.close()
    if _playwright_features:
        options["ignore_default_args"] = [_playwright_features]
        options["args"].append(",".join([_playwright_features, *EXTRA_DISABLED_FEATURES]))
    return playwright.chromium.launch(**options)


StateLoader = Callable[[], dict[str, Any] | None]
StateSaver = Callable[[dict[str, Any]], None]


def chromium_path(playwright: Playwright | None = None) -> str:
    """REACHLY_CHROMIUM, else Playwright's own build if installed, else Debian's."""
    configured = settings.REACHLY_CHROMIUM or os.environ.get("REACHLY_CHROMIUM", "")
    if configured:
        return configured
    if playwright is not None:
        own = playwright.chromium.executable_path
        if own and os.path.exists(own):
            return own
    return shutil.which("chromium") or DEBIAN_CHROMIUM


def _fingerprint(state: dict[str, Any] | None) -> str:
    if not state:
        return ""
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


class BrowserSession:
    """One account's context and its page, for the duration of a step."""

    def __init__(
        self,
        pool: BrowserPool,
        key: str | None,
        context: BrowserContext,
        fingerprint: str,
        policy: Policy | None = None,
    ):
        self.pool = pool
        self.policy = policy
        self.key = key
        self.context = context
        self.fingerprint = fingerprint
        self.page_loads = 0
        self._page: Page | None = None
        self._save: StateSaver | None = None

    @property
    def page(self) -> Page:
        if self._page is None or self._page.is_closed():
            self._page = self.context.new_page()
            self._page.on("load", self._count_load)
        return self._page

    def _count_load(self, _page: Page) -> None:
        self.page_loads += 1

    def maybe_recycle(self) -> bool:
        """Between two actions: recycle the context once it served its share
        of page loads. Callers holding `page` must take it again."""
        if self.page_loads < settings.REACHLY_BROWSER_PAGES_PER_CONTEXT:
            return False
        self.recycle()
        return True

    def storage_state(self) -> dict[str, Any]:
        # Playwright's StorageState TypedDict, handled here as plain JSON data.
        return cast("dict[str, Any]", self.context.storage_state())

    def save(self) -> dict[str, Any] | None:
        """Write the context's cookies and local storage through the step's
        saver (to the database); skipped when nothing changed."""
        if self._save is None or self.key is None:
            return None
        state = self.storage_state()
        fingerprint = _fingerprint(state)
        if fingerprint != self.fingerprint:
            self._save(state)
            self.fingerprint = fingerprint
        return state

    def recycle(self) -> None:
        state = self.save() if self.key is not None else None
        log.info("browser context %s recycled after %s page loads", self.key, self.page_loads)
        self.close()
        self.context = self.pool.new_context(state, self.policy)
        self.page_loads = 0

    def close(self) -> None:
        self._page = None
        metrics.browser_context_closed()
        try:
            self.context.close()
        except PlaywrightError:
            pass  # the browser is gone already


class BrowserPool:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._sessions: OrderedDict[str, BrowserSession] = OrderedDict()
        self.launches = 0

    # -- the browser -----------------------------------------------------------
    def browser(self) -> Browser:
        if self._browser is not None and self._browser.is_connected():
            return self._browser
        if self._browser is not None:
            log.warning("Chromium died; relaunching (%s contexts lost)", len(self._sessions))
        for _ in self._sessions:
            metrics.browser_context_closed()
        self._sessions.clear()  # contexts die with their browser
        self._browser = None
        try:
            self._browser = self._launch()
        except PlaywrightError:
            # The driver itself may be gone: start Playwright afresh.
            self._stop_playwright()
            self._browser = self._launch()
        self.launches += 1
        return self._browser

    def _launch(self) -> Browser:
        if self._playwright is None:
            allow_orm_beside_playwright()
            self._playwright = sync_playwright().start()
        return launch(self._playwright)

    def alive(self) -> bool:
        return self._browser is not None and self._browser.is_connected()

    def new_context(self, state: dict[str, Any] | None, policy: Policy | None = None) -> BrowserContext:
        """A context whose every connection goes through this process's egress
        proxy under `policy` (default: the configured policy, nothing trusted).

        Service workers are blocked: their requests would be the one kind a
        context's routes do not see (the proxy would, but nothing here needs them).
        """
        options: dict[str, Any] = {
            "storage_state": state or None,
            "locale": "en-US",
            "timezone_id": "UTC",
            "service_workers": "block",
            # Playwright also sends loopback through the proxy (Chromium bypasses it by default).
            "proxy": {"server": egress_proxy.get().server_url(policy or current_policy())},
        }
        try:
            context = self.browser().new_context(**options)
        except PlaywrightError:
            # Chromium died since we last heard from it (its "disconnected"
            # event is only seen during a call): relaunch and try once more.
            self._forget_browser()
            context = self.browser().new_context(**options)
        context.set_default_timeout(settings.REACHLY_BROWSER_TIMEOUT_SECONDS * 1000)
        metrics.browser_context_opened()
        return context

    def _forget_browser(self) -> None:
        log.warning("Chromium is gone; relaunching (%s contexts lost)", len(self._sessions))
        for _ in self._sessions:
            metrics.browser_context_closed()
        self._sessions.clear()
        if self._browser is not None:
            try:
                self._browser.close()
            except PlaywrightError:
                pass
        self._browser = None

    def _responsive(self, session: BrowserSession) -> bool:
        """One cheap round trip to the context: is its browser still there?"""
        try:
            session.context.cookies("http://localhost")
            return True
        except PlaywrightError:
            return False

    # -- sessions ---------------------------------------------------------------
    @contextmanager
    def session(
        self,
        key: str | None,
        *,
        load: StateLoader | None = None,
        save: StateSaver | None = None,
        policy: Policy | None = None,
    ) -> Iterator[BrowserSession]:
        """The context for `key` (a sender account), restored from `load()`.

        An open context is reused when the stored state is the one it was
        created from or last saved (so another process's newer login wins).
        On exit the state is saved through `save` (when it changed). A
        `key` of None is an anonymous, throwaway context. `policy` is the
        egress policy of the context's connections (see `new_context`).
        """
        browser_ok = self.alive()
        if key is None:
            anonymous = BrowserSession(self, None, self.new_context(None, policy), "", policy)
            try:
                yield anonymous
            finally:
                anonymous.close()
            return

        state = load() if load is not None else None
        fingerprint = _fingerprint(state)
        current = self._sessions.get(key) if browser_ok else None
        if current is not None and not self._responsive(current):
            self._forget_browser()
            current = None
        if current is not None and (current.fingerprint != fingerprint or current.policy != policy):
            current.close()
            current = None
        if current is None:
            current = BrowserSession(self, key, self.new_context(state, policy), fingerprint, policy)
            self._sessions[key] = current
            self._evict(keep=key)
        self._sessions.move_to_end(key)
        current._save = save
        try:
            yield current
        finally:
            try:
                if self.alive():
                    current.save()
            except PlaywrightError:
                log.warning("could not save the session of %s", key, exc_info=True)
            finally:
                current._save = None

    def discard(self, key: str) -> None:
        session = self._sessions.pop(key, None)
        if session is not None:
            session.close()

    def _evict(self, keep: str) -> None:
        while len(self._sessions) > settings.REACHLY_BROWSER_MAX_CONTEXTS:
            oldest = next(k for k in self._sessions if k != keep)
            self.discard(oldest)

    @property
    def open_contexts(self) -> int:
        return len(self._sessions)

    # -- shutdown ----------------------------------------------------------------
    def close(self) -> None:
        for key in list(self._sessions):
            self.discard(key)
        if self._browser is not None:
            try:
                self._browser.close()
            except PlaywrightError:
                pass
            self._browser = None
        self._stop_playwright()

    def _stop_playwright(self) -> None:
        if self._playwright is not None:
            try:
                self._playwright.stop()
            except Exception:  # a dead driver; nothing left to stop
                log.debug("playwright stop failed", exc_info=True)
            self._playwright = None


# One pool per process and thread: Playwright's sync API is bound to the
# thread that started it. Browser workers run prefork (one thread per child),
# so in practice this is one pool, one Chromium, per worker child process.
_local = threading.local()


def get() -> BrowserPool:
    pool: BrowserPool | None = getattr(_local, "pool", None)
    if pool is None or pool.pid != os.getpid():
        # Created before a fork: the parent's browser is not ours to use or close.
        pool = _local.pool = BrowserPool()
        _connect_shutdown()
    return pool


def shutdown() -> None:
    pool: BrowserPool | None = getattr(_local, "pool", None)
    if pool is not None and pool.pid == os.getpid():
        pool.close()
    _local.pool = None


_shutdown_connected = False


def _connect_shutdown() -> None:
    """Close the browser when the worker child exits (Chromium would follow
    its driver anyway; this is the tidy path)."""
    global _shutdown_connected
    if _shutdown_connected:
        return
    _shutdown_connected = True
    try:
        from celery.signals import worker_process_shutdown

        worker_process_shutdown.connect(lambda **_kw: shutdown(), weak=False)
    except ImportError:  # pragma: no cover
        pass

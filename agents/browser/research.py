"""The content researcher: visits pages and extracts title, text and links.

Input: `{"urls": [...], "max_chars": 20000, "max_links": 100}`. Output:
`{"pages": [{"url", "final_url", "status", "title", "description", "text",
"text_length", "links": [{"href", "text"}]} | {"url", "error"}], ...}`.

One URL at a time with a safe point, an `acquire("visit")` and a checkpoint
after each, in a throwaway browser context (no account, no stored session).
A page that fails (timeout, refused address) is reported in the output; a
browser that dies fails the attempt, and the retry continues from the
checkpoint.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Route

from agents.base import AgentError, PermanentError, StepContext
from agents.browser import pool as browser_pool

MAX_URLS = 50
# Images, media and fonts carry nothing we extract; skipping them saves
# bandwidth and renderer memory.
SKIPPED_RESOURCES = {"image", "media", "font"}

_EXTRACT = """
({maxChars, maxLinks}) => {
  const text = (document.body ? document.body.innerText : "").replace(/\\n{3,}/g, "\\n\\n").trim();
  const links = [];
  const seen = new Set();
  for (const a of document.querySelectorAll("a[href]")) {
    const href = a.href;
    if (!/^https?:/i.test(href) || seen.has(href)) continue;
    seen.add(href);
    links.push({href, text: (a.innerText || a.textContent || "").trim().slice(0, 200)});
    if (links.length >= maxLinks) break;
  }
  const meta = document.querySelector('meta[name="description"]');
  return {
    title: document.title || "",
    description: meta ? (meta.getAttribute("content") || "") : "",
    text: text.slice(0, maxChars),
    text_length: text.length,
    links,
  };
}
"""


class Refused(Exception):
    pass


def check_destination(url: str) -> None:
    """http(s) only; no private, loopback or link-local hosts unless allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("only http and https URLs can be visited")
    if settings.REACHLY_RESEARCH_ALLOW_PRIVATE:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise Refused(f"cannot resolve {parts.hostname}: {exc}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise Refused(f"{parts.hostname} resolves to a non-public address ({address})")


def _skip_heavy(route: Route) -> None:
    if route.request.resource_type in SKIPPED_RESOURCES:
        route.abort()
    else:
        route.continue_()


class ContentResearcher:
    def run(self, ctx: StepContext) -> dict[str, Any]:
        urls = ctx.input.get("urls")
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) and u for u in urls):
            raise PermanentError("input.urls must be a non-empty list of URLs")
        if len(urls) > MAX_URLS:
            raise PermanentError(f"input.urls: at most {MAX_URLS} per step")
        try:
            limits = {
                "maxChars": int(ctx.input.get("max_chars", 20000)),
                "maxLinks": int(ctx.input.get("max_links", 100)),
            }
        except (TypeError, ValueError):
            raise PermanentError("input.max_chars and input.max_links must be integers") from None

        pages: list[dict[str, Any]] = list(ctx.state.get("pages", []))
        pool = browser_pool.get()
        with pool.session(None) as browser:
            browser.context.route("**/*", _skip_heavy)
            page = browser.page
            for url in urls[len(pages) :]:
                ctx.safe_point()
                ctx.acquire("visit")
                try:
                    check_destination(url)
                    response = page.goto(url, wait_until="domcontentloaded")
                    data = page.evaluate(_EXTRACT, limits)
                    pages.append(
                        {"url": url, "final_url": page.url, "status": response.status if response else None, **data}
                    )
                except Refused as exc:
                    pages.append({"url": url, "error": str(exc)})
                except PlaywrightError as exc:
                    if not pool.alive():
                        raise AgentError(f"browser died: {str(exc).splitlines()[0]}") from None
                    pages.append({"url": url, "error": str(exc).splitlines()[0]})
                ctx.checkpoint({"pages": pages})
        return {"pages": pages, "visited": len(pages), "errors": sum(1 for p in pages if "error" in p)}

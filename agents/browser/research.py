"""The content researcher: visits pages and extracts title, text and links.

Input: `{"urls": [...], "max_chars": 20000, "max_links": 100}`. Output:
`{"pages": [{"url", "final_url", "status", "title", "description", "text",
"text_length", "links": [{"href", "text"}]} | {"url", "error"}], ...}`.

One URL at a time with a safe point, an `acquire("visit")` and a checkpoint
after each, in a throwaway browser context (no account, no stored session).
A page that fails (timeout, refused address) is reported in the output; a
browser that dies fails the attempt, and the retry continues from the
checkpoint. Every request of the page (redirects and sub-resources
included) goes through the egress proxy (agents/egress/proxy.py), which
connects to public addresses only (or REACHLY_EGRESS_ALLOW's exceptions).
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Response, Route

from agents.base import AgentError, PermanentError
from agents.browser import pool as browser_pool
from agents.egress import current_policy
from agents.egress import policy as egress_policy
from agents.egress import proxy as egress_proxy
from agents.egress.policy import DestinationRefused
from agents.egress.proxy import REFUSED_HEADER, Refusal
from agents.ports import StepContext

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


def _refusal(response: Response | None, refusals: list[Refusal], url: str) -> str | None:
    """Why the egress proxy refused this navigation (it or a redirect hop), or None."""
    if response is not None and response.headers.get(REFUSED_HEADER.lower()) == "refused":
        reason = next((r.reason for r in reversed(refusals) if r.url.rstrip("/") == response.url.rstrip("/")), None)
        return f"refused: {reason or response.status_text or 'not a public address'}"
    if response is None and refusals:
        return f"refused: {refusals[0].reason}"
    return None


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
        proxy = egress_proxy.get()
        # Nothing is trusted: every address must be public (or allow-listed).
        with pool.session(None, policy=current_policy()) as browser:
            browser.context.route("**/*", _skip_heavy)
            page = browser.page
            for url in urls[len(pages) :]:
                ctx.safe_point()
                ctx.acquire("visit")
                proxy.take_refusals()
                try:
                    # The proxy vets every request (each redirect hop, each
                    # sub-resource); this early parse only words the common
                    # mistakes (not http, no host) before Chromium is asked.
                    egress_policy.parse(url)
                    response = page.goto(url, wait_until="domcontentloaded")
                    refused = _refusal(response, proxy.take_refusals(), url)
                    if refused:
                        pages.append({"url": url, "error": refused})
                    else:
                        data = page.evaluate(_EXTRACT, limits)
                        pages.append(
                            {"url": url, "final_url": page.url, "status": response.status if response else None, **data}
                        )
                except DestinationRefused as exc:
                    pages.append({"url": url, "error": exc.reason})
                except PlaywrightError as exc:
                    if not pool.alive():
                        raise AgentError(f"browser died: {str(exc).splitlines()[0]}") from None
                    refused = _refusal(None, proxy.take_refusals(), url)
                    pages.append({"url": url, "error": refused or str(exc).splitlines()[0]})
                ctx.checkpoint({"pages": pages})
        return {"pages": pages, "visited": len(pages), "errors": sum(1 for p in pages if "error" in p)}

"""The outreach playbook: connection requests with a note, then follow-ups.

Input (the contract with the planner and the copywriter; do not change):

    {"action": "invite",    "leads": [lead ids], "notes_from": "<step key>"}
    {"action": "follow_up", "leads": [lead ids], "messages_from": "<step key>"}

`notes_from` / `messages_from` name an upstream step whose output is
`{"notes": {"<lead id>": str}, "messages": {"<lead id>": str}}` (the
copywriter's); a lead without a text there gets a personalised default.
Optional: `wait_seconds` and `recheck_seconds` (follow-ups: how long to wait
for invitations to be accepted, how often to look), defaulting to settings.

Per lead, in order, with a checkpoint after each (a retried or resumed step
continues with the next lead):

1. safe point, human pause, `acquire("visit")`; open the profile (signing
   in first if the stored session is gone) and read its state.
2. invite: connected → nothing to do; pending → recorded as already
   invited; available → safe point, pause, `acquire("invite")`, then the
   invitation through `effect("tenant:invite:<lead>")` whose `verify`
   re-reads the profile (pending/connected ⇒ it was sent), so a run that
   died mid-click never sends twice.
   follow_up: connected → `acquire("message")` and the message through
   `effect("tenant:message:<lead>:job<job>")`; pending → wait for it.
3. Leads still waiting for an answer: the step returns to the database
   (RateLimited) and looks again later, until the deadline; then they are
   skipped.

A challenge or "too many requests" page cools the account down and the step
waits (RateLimited): its leads stay to do, other accounts carry on.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.conf import settings
from playwright.sync_api import Error as PlaywrightError

from agents.base import AgentError, PermanentError, RateLimited
from agents.browser import pool as browser_pool
from agents.browser import sites
from agents.browser.sites import (
    LoginFailed,
    NeedsLogin,
    Profile,
    ProfileNotFound,
    ProfileState,
    Pushback,
    Site,
    SiteError,
)
from agents.egress import current_policy
from agents.ports import StepContext

log = logging.getLogger(__name__)
T = TypeVar("T")

INVITE, FOLLOW_UP = "invite", "follow_up"
# A step yields its worker slot after this share of the step time limit and
# continues from its checkpoint in a new run.
TIME_SLICE = 0.8
PACE_SLICE = 0.2  # seconds between safe points while pausing

DEFAULT_NOTE = "Hi {first}, I came across your profile{role} and would love to connect and swap ideas."
DEFAULT_MESSAGE = (
    "Thanks for connecting, {first}! I work with teams{like} on outreach that scales. "
    "Would a short call next week be useful?"
)


@dataclass(frozen=True)
class Plan:
    action: str
    lead_ids: list[int]
    source: str | None
    wait_seconds: float
    recheck_seconds: float


def parse(spec: dict[str, Any]) -> Plan:
    """The step's input, checked; bad input is a permanent error naming the field."""
    action = spec.get("action")
    if action not in (INVITE, FOLLOW_UP):
        raise PermanentError(f"input.action must be {INVITE!r} or {FOLLOW_UP!r}, not {action!r}")
    leads = spec.get("leads")
    if not isinstance(leads, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in leads):
        raise PermanentError("input.leads must be a list of lead ids")
    source_field = "notes_from" if action == INVITE else "messages_from"
    source = spec.get(source_field)
    if source is not None and not isinstance(source, str):
        raise PermanentError(f"input.{source_field} must be a step key")
    try:
        wait = float(spec.get("wait_seconds", settings.REACHLY_FOLLOW_UP_WAIT_SECONDS))
        recheck = float(spec.get("recheck_seconds", settings.REACHLY_FOLLOW_UP_RECHECK_SECONDS))
    except (TypeError, ValueError):
        raise PermanentError("input.wait_seconds and input.recheck_seconds must be numbers") from None
    return Plan(action, list(dict.fromkeys(leads)), source, wait, max(recheck, 1.0))


def fit(text: str, limit: int) -> str:
    """Cut `text` to `limit` characters as the browser counts them (UTF-16
    code units: a textarea's maxlength), at a word boundary, with an ellipsis."""

    def units(s: str) -> int:
        return len(s.encode("utf-16-le")) // 2

    text = " ".join(text.split())
    if units(text) <= limit:
        return text
    cut = text
    while units(cut) > limit - 1:
        cut = cut[:-1]
    if " " in cut[len(cut) // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:-") + "…"


def _first_name(lead: dict[str, Any]) -> str:
    name = lead.get("first_name") or (lead.get("full_name") or "").split(" ")[0]
    return name or "there"


def default_note(lead: dict[str, Any]) -> str:
    title, company = lead.get("title") or "", lead.get("company") or ""
    role = f" ({title} at {company})" if title and company else f" at {company}" if company else ""
    return DEFAULT_NOTE.format(first=_first_name(lead), role=role)


def default_message(lead: dict[str, Any]) -> str:
    company = lead.get("company") or ""
    return DEFAULT_MESSAGE.format(first=_first_name(lead), like=f" like {company}" if company else "")


def _now() -> str:
    return datetime.now(tz=UTC).isoformat()


class Outreach:
    def run(self, ctx: StepContext) -> dict[str, Any]:
        plan = parse(ctx.input)
        account = ctx.sender.data()
        if account is None:
            raise PermanentError("the outreach agent needs a sender account")
        try:
            site_cls = sites.for_network(account["network"])
        except KeyError as exc:
            raise PermanentError(str(exc)) from None
        return _Run(ctx, plan, account, site_cls).execute()


class _Run:
    def __init__(self, ctx: StepContext, plan: Plan, account: dict[str, Any], site_cls: type[Site]):
        self.ctx = ctx
        self.plan = plan
        self.account = account
        self.site_cls = site_cls
        # Set inside `execute`'s browser session, the only place they are used.
        self._site: Site | None = None
        self._browser: browser_pool.BrowserSession | None = None
        self.results: dict[str, dict[str, Any]] = dict(ctx.state.get("results", {}))
        self.wait_until: float | None = ctx.state.get("wait_until")
        self.started = time.monotonic()
        self.texts, self.text_source = self._texts()

    @property
    def site(self) -> Site:
        if self._site is None:
            raise RuntimeError("the site is open only inside the browser session")
        return self._site

    @property
    def browser(self) -> browser_pool.BrowserSession:
        if self._browser is None:
            raise RuntimeError("the browser is open only inside the browser session")
        return self._browser

    # -- the run ---------------------------------------------------------------
    def execute(self) -> dict[str, Any]:
        ctx, key = self.ctx, f"account:{self.account['id']}"
        leads = {lead["id"]: lead for lead in ctx.leads.get(self.plan.lead_ids)}
        pool = browser_pool.get()
        try:
            # The network's own origin is operator configuration (trusted);
            # anything else the pages load must be public.
            policy = current_policy(trusted=[self.site_cls.configured_url()])
            with pool.session(
                key, load=ctx.sender.session_load, save=ctx.sender.session_save, policy=policy
            ) as browser:
                self._browser = browser
                self._site = self.site_cls(browser.page, self.site_cls.configured_url())
                waiting: list[int] = []
                for lead_id in self.plan.lead_ids:
                    if str(lead_id) in self.results:
                        continue
                    self._yield_if_slice_used()
                    if browser.maybe_recycle():
                        self.site.page = browser.page
                    lead = leads.get(lead_id)
                    outcome: dict[str, Any] | None
                    if lead is None:
                        outcome = {"status": "failed", "detail": "no such lead in this tenant"}
                    elif self.plan.action == INVITE:
                        outcome = self._invite(lead)
                    else:
                        outcome = self._follow_up(lead)
                    if outcome is None:
                        waiting.append(lead_id)
                        continue
                    self.results[str(lead_id)] = outcome
                    self._checkpoint()
                if waiting:
                    self._wait_or_skip(waiting)
        except Pushback as trouble:
            self._cool_down(trouble)
        except LoginFailed as exc:
            # The account needs a person (new password, a session upload):
            # its other steps wait instead of failing one by one.
            self.ctx.sender.needs_login(str(exc))
            raise PermanentError(
                f"sign-in to {self.account['network']} failed for account {self.account['name']!r}: {exc}"
            ) from None
        except SiteError as exc:
            raise AgentError(f"{self.account['network']}: {exc}") from None
        except PlaywrightError as exc:
            # A page that timed out, or a browser that died (the pool relaunches it).
            raise AgentError(f"browser: {str(exc).splitlines()[0]}") from None
        return self._output()

    def _output(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for outcome in self.results.values():
            counts[outcome["status"]] = counts.get(outcome["status"], 0) + 1
        return {
            "action": self.plan.action,
            "account": self.account["id"],
            "results": self.results,
            "counts": counts,
        }

    def _checkpoint(self) -> None:
        state: dict[str, Any] = {"results": self.results}
        if self.wait_until is not None:
            state["wait_until"] = self.wait_until
        self.ctx.checkpoint(state)

    def _yield_if_slice_used(self) -> None:
        if time.monotonic() - self.started > settings.REACHLY_STEP_MAX_SECONDS * TIME_SLICE:
            raise RateLimited(0.0, "step time slice used; continuing from the checkpoint")

    def _pace(self) -> None:
        """A human pause before an action, interruptible by pause/cancel."""
        low, high = settings.REACHLY_BROWSER_PACE_MIN_SECONDS, settings.REACHLY_BROWSER_PACE_MAX_SECONDS
        if high <= 0:
            return
        end = time.monotonic() + random.uniform(max(low, 0.0), max(low, high))
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(PACE_SLICE, left))
            self.ctx.safe_point()

    def _cool_down(self, trouble: Pushback) -> None:
        seconds = (
            settings.REACHLY_BROWSER_CHALLENGE_COOL_DOWN_SECONDS
            if trouble.kind == "challenge"
            else settings.REACHLY_BROWSER_TOO_MANY_COOL_DOWN_SECONDS
        )
        reason = f"{trouble.kind}: {trouble}"
        log.warning("account %s cools down for %ss (%s)", self.account["id"], seconds, reason)
        self.ctx.sender.cool_down(seconds, reason)
        raise RateLimited(seconds, f"account {self.account['id']} cooling down after {trouble.kind}")

    # -- texts -------------------------------------------------------------------
    def _texts(self) -> tuple[dict[str, str], str]:
        if not self.plan.source:
            return {}, ""
        output = self.ctx.upstream().get(self.plan.source)
        field = "notes" if self.plan.action == INVITE else "messages"
        texts = output.get(field) if isinstance(output, dict) else None
        if not isinstance(texts, dict):
            log.warning(
                "step %s: no %s from upstream step %r; using defaults", self.ctx.step_id, field, self.plan.source
            )
            return {}, ""
        return {str(k): v for k, v in texts.items() if isinstance(v, str) and v.strip()}, self.plan.source

    def _text_for(self, lead: dict[str, Any]) -> tuple[str, str]:
        written = self.texts.get(str(lead["id"]))
        if written:
            return written, self.text_source
        return (default_note(lead) if self.plan.action == INVITE else default_message(lead)), "default"

    # -- site actions ------------------------------------------------------------
    def _signed_in(self, action: Callable[[], T]) -> T:
        """Run a site action; if the session is gone, sign in and run it again."""
        try:
            return action()
        except NeedsLogin:
            self._login()
        try:
            return action()
        except NeedsLogin:
            raise PermanentError(
                f"signed in to {self.account['network']}, but {self.site.page.url} still asks to sign in:"
                f" do the leads' profile URLs belong to {self.site.base_url}?"
            ) from None

    def _login(self) -> None:
        login, password = self.ctx.sender.credentials()
        if not password:
            raise LoginFailed("the session expired and the account has no password")
        self.ctx.safe_point()
        self.site.login(login, password)
        # Save at once: a crash before the step ends must not cost another sign-in.
        self.browser.save()
        log.info("account %s signed in to %s", self.account["id"], self.account["network"])

    def _visit(self, lead: dict[str, Any]) -> Profile | dict[str, Any]:
        """Open the lead's profile; a missing profile is the lead's failure, not the step's."""
        self.ctx.safe_point()
        if not self.site_cls.owns(lead["profile_url"]):
            # Never navigate elsewhere with the sender's session attached.
            detail = f"the profile URL is not a {self.site_cls.network} profile"
            self.ctx.leads.update(lead["id"], "failed", detail)
            return {"status": "failed", "detail": detail}
        self._pace()
        self.ctx.acquire("visit")
        try:
            return self._signed_in(lambda: self.site.open_profile(lead["profile_url"]))
        except ProfileNotFound as exc:
            self.ctx.leads.update(lead["id"], "failed", str(exc))
            return {"status": "failed", "detail": str(exc)}

    def _invite(self, lead: dict[str, Any]) -> dict[str, Any]:
        profile = self._visit(lead)
        if isinstance(profile, dict):
            return profile
        lead_id, url = lead["id"], lead["profile_url"]
        if profile.state is ProfileState.SELF:
            self.ctx.leads.update(lead_id, "skipped", "the sender's own profile")
            return {"status": "skipped", "detail": "the sender's own profile"}
        if profile.state is ProfileState.CONNECTED:
            self.ctx.leads.update(lead_id, "connected", "already connected")
            return {"status": "already_connected"}

        key = f"tenant:invite:{lead_id}"
        if profile.state is ProfileState.PENDING:
            # Pending already: ours from a run that died mid-click (the ledger
            # entry is in doubt: `verify` settles it) or sent outside Reachly.
            result = self.ctx.effect(
                key,
                lambda: {"sent": False, "found": "pending", "at": _now()},
                verify=lambda: {"sent": True, "verified": "pending", "at": _now()},
            )
            self.ctx.leads.update(lead_id, "invited", "invitation pending")
            return {"status": "invited" if result.get("sent") else "already_pending"}

        note, source = self._text_for(lead)
        note = fit(note, self.site.note_limit)
        self.ctx.safe_point()
        self._pace()
        self.ctx.acquire("invite")

        def send() -> dict[str, Any]:
            self._signed_in(lambda: self.site.connect_with_note(url, note))
            return {"sent": True, "note": note, "source": source, "at": _now()}

        def verify() -> dict[str, Any] | None:
            state = self._signed_in(lambda: self.site.open_profile(url)).state
            if state in (ProfileState.PENDING, ProfileState.CONNECTED):
                return {"sent": True, "verified": str(state), "at": _now()}
            return None

        result = self.ctx.effect(key, send, verify=verify)
        self.ctx.leads.update(lead_id, "invited", "invitation sent")
        outcome = {"status": "invited" if result.get("sent") else "already_pending"}
        if result.get("note") == note:
            outcome["note_source"] = source
        return outcome

    def _follow_up(self, lead: dict[str, Any]) -> dict[str, Any] | None:
        profile = self._visit(lead)
        if isinstance(profile, dict):
            return profile
        lead_id, url = lead["id"], lead["profile_url"]
        if profile.state is ProfileState.PENDING:
            return None  # not accepted yet: wait
        if profile.state is not ProfileState.CONNECTED:
            detail = "no invitation to follow up" if profile.state is ProfileState.AVAILABLE else "own profile"
            self.ctx.leads.update(lead_id, "skipped", detail)
            return {"status": "skipped", "detail": detail}

        text, source = self._text_for(lead)
        self.ctx.safe_point()
        self._pace()
        self.ctx.acquire("message")

        def send() -> dict[str, Any]:
            self._signed_in(lambda: self.site.send_message(url, text))
            return {"sent": True, "at": _now()}

        def verify() -> dict[str, Any] | None:
            if self._signed_in(lambda: self.site.message_sent(url, text)):
                return {"sent": True, "verified": True, "at": _now()}
            return None

        self.ctx.effect(f"tenant:message:{lead_id}:job{self.ctx.job_id}", send, verify=verify)
        self.ctx.leads.update(lead_id, "messaged", "follow-up sent")
        return {"status": "messaged", "message_source": source}

    def _wait_or_skip(self, waiting: list[int]) -> None:
        now = time.time()
        if self.wait_until is None:
            self.wait_until = now + self.plan.wait_seconds
        if now < self.wait_until:
            self._checkpoint()
            raise RateLimited(
                min(self.plan.recheck_seconds, self.wait_until - now),
                f"waiting for {len(waiting)} invitation(s) to be accepted",
            )
        for lead_id in waiting:
            self.ctx.leads.update(lead_id, "skipped", "invitation not accepted in time")
            self.results[str(lead_id)] = {"status": "skipped", "detail": "invitation not accepted in time"}
        self._checkpoint()

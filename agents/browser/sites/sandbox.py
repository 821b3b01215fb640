"""The sandbox network (reachly/sandbox/): every selector and URL pattern the
playbooks need, in one place. If the sandbox's markup changes, this module
changes; nothing else does.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from agents.browser.sites import (
    Challenge,
    LoginFailed,
    NeedsLogin,
    Profile,
    ProfileNotFound,
    ProfileState,
    Site,
    SiteError,
    TooManyRequests,
)

# URL patterns (relative to the site's base URL).
LOGIN_PATH = "login"

# Selectors.
SEL = {
    "me": "#me",
    "login_form": "#login-form",
    "login_error": "#login-error",
    "challenge": "#challenge",
    "too_many": "#too-many-requests",
    "not_found": "#not-found",
    "error": "#error-message",
    "profile": "#profile",
    "name": "#profile-name",
    "title": "#profile-title",
    "company": "#profile-company",
    "connect": "#connect",
    "pending": "#pending",
    "message_link": "#message",
    "thread": "#thread",
}
USERNAME = "#username"
PASSWORD = "#password"
SIGN_IN = "#sign-in"
CONNECT = SEL["connect"]
NOTE_DIALOG = "#note-dialog"
NOTE = "#note"
SEND_INVITATION = "#send-invitation"
MESSAGE_LINK = SEL["message_link"]
MESSAGE_BODY = "#message-body"
SEND_MESSAGE = "#send-message"
MY_MESSAGES = "#thread .message.mine .body"

# One round trip reads what the page is: which markers exist, and their text.
_INSPECT = """
(sel) => {
  const out = {};
  for (const [name, selector] of Object.entries(sel)) {
    const el = document.querySelector(selector);
    out[name] = el ? (el.textContent || "").trim() || true : false;
  }
  return out;
}
"""


class SandboxSite(Site):
    network = "sandbox"
    note_limit = 300
    url_setting = "REACHLY_SANDBOX_URL"
    profile_prefix = "in/"

    # -- reading pages ---------------------------------------------------------
    def _inspect(self) -> dict[str, Any]:
        seen: dict[str, Any] = self.page.evaluate(_INSPECT, SEL)
        return seen

    def _goto(self, url: str) -> dict[str, Any]:
        self.page.goto(url, wait_until="domcontentloaded")
        return self._check()

    def _check(self) -> dict[str, Any]:
        """Raise what the page says went wrong; else return its markers."""
        seen = self._inspect()
        if seen["challenge"]:
            raise Challenge("the network asks for a security check (unusual activity)")
        if seen["too_many"]:
            raise TooManyRequests("the network answers 'too many requests'")
        if seen["login_form"] and not seen["me"]:
            raise NeedsLogin("the network asks to sign in")
        if seen["not_found"]:
            raise ProfileNotFound(f"no such page: {self.page.url}")
        if seen["error"]:
            raise SiteError(f"the network refused: {seen['error']}")
        return seen

    def _on(self, url: str) -> bool:
        return self.page.url.rstrip("/") == url.rstrip("/")

    def _state(self, seen: dict[str, Any]) -> ProfileState:
        if seen["message_link"]:
            return ProfileState.CONNECTED
        if seen["pending"]:
            return ProfileState.PENDING
        if seen["connect"]:
            return ProfileState.AVAILABLE
        if seen["profile"]:
            return ProfileState.SELF
        raise ProfileNotFound(f"not a profile page: {self.page.url}")

    # -- the Site interface ------------------------------------------------------
    def login(self, username: str, password: str) -> None:
        self.page.goto(urljoin(self.base_url, LOGIN_PATH), wait_until="domcontentloaded")
        self.page.fill(USERNAME, username)
        self.page.fill(PASSWORD, password)
        with self.page.expect_navigation(wait_until="domcontentloaded"):
            self.page.click(SIGN_IN)
        seen = self._inspect()
        if seen["login_error"]:
            raise LoginFailed(f"sign-in refused: {seen['login_error']}")
        if not seen["me"]:
            self._check()
            raise SiteError("signed in, but the page does not show who we are")

    def open_profile(self, url: str) -> Profile:
        seen = self._goto(url)
        return self._profile(url, seen)

    def _profile(self, url: str, seen: dict[str, Any]) -> Profile:
        if not seen["profile"]:
            raise ProfileNotFound(f"not a profile page: {self.page.url}")

        def text(key: str) -> str:
            return seen[key] if isinstance(seen[key], str) else ""

        return Profile(url, self._state(seen), text("name"), text("title"), text("company"))

    def connect_with_note(self, url: str, note: str) -> None:
        if len(note) > self.note_limit:
            raise ValueError(f"note of {len(note)} characters; the limit is {self.note_limit}")
        if not (self._on(url) and self.page.locator(CONNECT).count()):
            profile = self.open_profile(url)
            if profile.state is not ProfileState.AVAILABLE:
                raise SiteError(f"no Connect button on {url} (state: {profile.state})")
        self.page.click(CONNECT)
        self.page.wait_for_selector(NOTE_DIALOG, state="visible")
        self.page.fill(NOTE, note)
        with self.page.expect_navigation(wait_until="domcontentloaded"):
            self.page.click(SEND_INVITATION)
        state = self._profile(url, self._check()).state
        if state not in (ProfileState.PENDING, ProfileState.CONNECTED):
            raise SiteError(f"the invitation to {url} was not confirmed (state: {state})")

    def _open_thread(self, url: str) -> bool:
        """Go to our conversation with this profile; False if not connected."""
        seen = self._check() if self._on(url) else self._goto(url)
        if self._profile(url, seen).state is not ProfileState.CONNECTED:
            return False
        href = self.page.get_attribute(MESSAGE_LINK, "href")
        self._goto(urljoin(self.page.url, href or ""))
        return True

    def send_message(self, url: str, text: str) -> None:
        if not self._open_thread(url):
            raise SiteError(f"cannot message {url}: not connected")
        self.page.fill(MESSAGE_BODY, text)
        with self.page.expect_navigation(wait_until="domcontentloaded"):
            self.page.click(SEND_MESSAGE)
        self._check()
        if text.strip() not in self._my_messages():
            raise SiteError(f"the message to {url} was not confirmed")

    def message_sent(self, url: str, text: str) -> bool:
        if not self._open_thread(url):
            return False
        return text.strip() in self._my_messages()

    def _my_messages(self) -> list[str]:
        return [t.strip() for t in self.page.locator(MY_MESSAGES).all_text_contents()]

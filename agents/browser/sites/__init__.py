"""Target networks. A site module holds every selector and URL pattern of
one network behind the `Site` interface; another network is another module
registered in SITES, not a change to the playbooks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from playwright.sync_api import Page

from agents.egress.policy import DestinationRefused, parse


class ProfileState(StrEnum):
    CONNECTED = "connected"
    PENDING = "pending"  # our invitation waits for an answer
    AVAILABLE = "available"  # a Connect button
    SELF = "self"


@dataclass(frozen=True)
class Profile:
    url: str
    state: ProfileState
    name: str = ""
    title: str = ""
    company: str = ""


class SiteError(Exception):
    """The page did not do what the playbook expected (changed markup, a
    refused form). Retrying may help."""


class NeedsLogin(SiteError):
    """The session is gone: the site shows its sign-in page."""


class LoginFailed(SiteError):
    """The site refused the account's credentials."""


class ProfileNotFound(SiteError):
    pass


class Pushback(SiteError):
    """The network pushes back on this account: stop, let it rest."""

    kind: ClassVar[str] = "pushback"


class Challenge(Pushback):
    kind = "challenge"


class TooManyRequests(Pushback):
    kind = "too_many_requests"


class Site(ABC):
    network: ClassVar[str]
    note_limit: ClassVar[int]
    # The setting holding the network's base URL (its sign-in page is there).
    url_setting: ClassVar[str]

    def __init__(self, page: Page, base_url: str):
        self.page = page
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"

    # Where profiles live, relative to the base URL (e.g. "in/").
    profile_prefix: ClassVar[str] = ""

    # Named apart from the instance's `base_url` (normalised, a str), which
    # would otherwise hide this method on every instance.
    @classmethod
    def configured_url(cls) -> str:
        """The network's base URL, from the setting named by `url_setting`."""
        from django.conf import settings

        url: str = getattr(settings, cls.url_setting)
        return url

    @classmethod
    def owns(cls, url: str) -> bool:
        """Whether `url` is a profile page of this network: same origin as the
        network's base URL (WHATWG parsing, as the browser reads it) and a path
        under its profile prefix. The outreach agent opens no other URL."""
        try:
            target, base = parse(url), parse(cls.configured_url())
        except DestinationRefused:
            return False
        prefix = base.path.rstrip("/") + "/" + cls.profile_prefix
        return target.origin == base.origin and target.path.startswith(prefix) and len(target.path) > len(prefix)

    @abstractmethod
    def login(self, username: str, password: str) -> None:
        """Sign in; raises LoginFailed or Pushback."""

    @abstractmethod
    def open_profile(self, url: str) -> Profile:
        """Load a profile and read its connection state; raises NeedsLogin,
        ProfileNotFound or Pushback."""

    @abstractmethod
    def connect_with_note(self, url: str, note: str) -> None:
        """Send a connection request with `note` (at most `note_limit` characters)."""

    @abstractmethod
    def send_message(self, url: str, text: str) -> None:
        """Message a connection."""

    @abstractmethod
    def message_sent(self, url: str, text: str) -> bool:
        """Whether our conversation with this profile holds `text` already."""


def _sites() -> dict[str, type[Site]]:
    from agents.browser.sites.sandbox import SandboxSite

    return {SandboxSite.network: SandboxSite}


def networks() -> list[str]:
    """The networks a site module exists for, sorted."""
    return sorted(_sites())


def for_network(network: str) -> type[Site]:
    """The site module of `network`; KeyError naming it when there is none."""
    sites = _sites()
    try:
        return sites[network]
    except KeyError:
        raise KeyError(f"no site module for network {network!r}") from None

"""Target networks. A site module holds every selector and URL pattern of
one network behind the `Site` interface; another network is another module
registered in SITES, not a change to the playbooks.
"""

from __future__ import annotations

import functools
import re
from abc import ABC, abstractmethod
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

from agents.egress.policy import Destination, DestinationRefused, blocked_reason, parse

if TYPE_CHECKING:  # the import path (reachly.campaigns.imports) needs no browser
    from playwright.sync_api import Page


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
    """The lead's URL shows no profile (gone, or some other page): the
    lead's failure, which no retry can mend."""

    def __init__(self, message: str = "profile not found"):
        super().__init__(message)


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

    @classmethod
    def canonical_profile_url(cls, url: str) -> str:
        """The one spelling of a profile URL of this network, for de-duplication.

        `url` (text) is read with WHATWG rules; the answer is the base URL's
        origin and path prefix, the profile prefix, then the handle, with
        unreserved percent-encodings decoded; no query, fragment, doubled
        or trailing slash. `https://www.sandbox.test//sandbox/in/ava/?x` →
        `http://sandbox.test/sandbox/in/ava` when the base URL is
        `http://sandbox.test/sandbox/`. The handle's case is kept (the
        sandbox looks handles up case-sensitively).

        Raises ValueError with a reason when `url` is not on this network's
        host (`www.` and the scheme aside) or not a profile page: no handle,
        or more path after it (`…/in/ava/connect`).
        """
        target = _parsed(url)
        base = _base(cls.configured_url())
        if _bare_host(target.host) != _bare_host(base.host) or not _same_port(target, base):
            raise ValueError(f"not a {cls.network} URL (expected host {base.host})")
        segments = _segments(target.path)
        prefix = [*_base_segments(base.path), *_base_segments(cls.profile_prefix)]
        if segments[: len(prefix)] != prefix:
            raise ValueError(f"not a {cls.network} profile URL (expected /{'/'.join(prefix)}/<handle>)")
        rest = segments[len(prefix) :]
        if not rest:
            raise ValueError(f"not a {cls.network} profile URL: no profile handle after /{'/'.join(prefix)}/")
        if len(rest) > 1:
            raise ValueError(f"not a {cls.network} profile URL: more path after the handle ({'/'.join(rest)[:80]})")
        return f"{base.scheme}://{_netloc(base)}/{'/'.join(prefix + rest)}"

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


# ---------------------------------------------------------------------------
# Profile URLs: one spelling per profile
# ---------------------------------------------------------------------------

_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# LinkedIn vanity URLs ("/in/<slug>") are case-insensitive: LinkedIn serves
# /in/JaneDoe and /in/janedoe as the same member and its own canonical link
# is lowercase, so the slug is lowercased on linkedin.com (and only there;
# other hosts' paths keep their case).
_CASE_INSENSITIVE_PROFILES = {"linkedin.com": "in"}


def _parsed(url: str) -> Destination:
    try:
        return parse(url)
    except DestinationRefused as exc:
        raise ValueError(exc.reason) from None


@functools.lru_cache(maxsize=64)
def _base(url: str) -> Destination:
    """A configured base URL, parsed (once: a big import asks per row)."""
    return parse(url)


@functools.lru_cache(maxsize=64)
def _base_segments(path: str) -> tuple[str, ...]:
    return tuple(_segments(path))


def _bare_host(host: str) -> str:
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def _same_port(a: Destination, b: Destination) -> bool:
    default = {"http": 80, "https": 443}
    return a.port == b.port or (a.port == default[a.scheme] and b.port == default[b.scheme])


def _netloc(d: Destination) -> str:
    host = f"[{d.host}]" if ":" in d.host else d.host
    return host if d.port == {"http": 80, "https": 443}[d.scheme] else f"{host}:{d.port}"


def _unescape(match: re.Match[str]) -> str:
    char = chr(int(match[1], 16))
    return char if char in _UNRESERVED else "%" + match[1].upper()


def _segments(path: str) -> list[str]:
    """`//in/J%6fhn/` → `["in", "John"]`: empty segments dropped (doubled and
    trailing slashes), unreserved percent-encodings decoded, the others'
    hex digits uppercased."""
    return [_PERCENT.sub(_unescape, s) for s in path.split("/") if s]


def generic_profile_url(url: str) -> str:
    """The canonical spelling of a profile URL on a host no site module owns.

    `HTTP://WWW.LinkedIn.com//in/JaneDoe/?trk=x#top` → `https://linkedin.com/in/janedoe`:
    https; host lowercased, without `www.` or a trailing dot (IDN hosts in
    punycode); the default port dropped; doubled and trailing slashes, the
    query and the fragment dropped; unreserved percent-encodings decoded.
    Path case is kept, except LinkedIn's `/in/<slug>` (case-insensitive
    there, see _CASE_INSENSITIVE_PROFILES).

    Raises ValueError with a reason: not an http(s) URL, credentials, no
    valid host name (one label only, other than localhost), or no path
    (`https://linkedin.com/` is a site, not a profile).
    """
    return _generic(_parsed(url))


def _generic(target: Destination) -> str:
    host = _bare_host(target.host)
    if target.literal is None and "." not in host and host != "localhost":
        raise ValueError("not a valid URL (no host name)")
    port = 443 if target.port == 80 else target.port
    return _generic_parts(f"[{host}]" if ":" in host else host, port, target.path)


def _generic_parts(host: str, port: int, path: str) -> str:
    segments = _segments(path)
    if not segments:
        raise ValueError(f"not a profile URL: {host} with no profile path")
    folder = _CASE_INSENSITIVE_PROFILES.get(host)
    if folder and len(segments) >= 2 and segments[0].lower() == folder:
        segments = [folder, segments[1].lower(), *segments[2:]]
    netloc = host if port == 443 else f"{host}:{port}"
    return f"https://{netloc}/{'/'.join(segments)}"


# The common shape (a plain host name, a path of unreserved characters),
# which WHATWG parsing leaves as it is but for the host's case: no need to
# ask the parser. Dot segments, ports, IDN and numeric hosts take the parser.
_PLAIN = re.compile(
    r"(?:https?)://((?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z][A-Za-z0-9-]{0,62})((?:/[A-Za-z0-9_~-][A-Za-z0-9._~-]*|/)*)"
    r"(?:[?#][\x21-\x7e]*)?",
    re.ASCII | re.IGNORECASE,
)


def _site_for(host: str, target: Destination | None) -> type[Site] | None:
    """The site module on `host` (bare, lowercase), at `target`'s port (None: the default port)."""
    for site in _sites().values():
        try:
            base = _base(site.configured_url())
        except DestinationRefused:
            continue
        if _bare_host(base.host) == host:
            if target is None:
                if base.port == {"http": 80, "https": 443}[base.scheme]:
                    return site
            elif _same_port(target, base):
                return site
    return None


def canonical_profile_url(url: str) -> str:
    """`url` (an absolute http(s) URL) canonicalised by the site module
    whose host it is on (`Site.canonical_profile_url`), else by
    generic_profile_url. Raises ValueError with a reason when it is not a
    profile URL."""
    plain = _PLAIN.fullmatch(url)
    if plain and len(plain[1]) <= 253 and "xn--" not in plain[1].lower():
        host = _bare_host(plain[1])
        site = _site_for(host, None)
        if site is None:
            return _generic_parts(host, 443, plain[2])
        return site.canonical_profile_url(url)
    target = _parsed(url)
    site = _site_for(_bare_host(target.host), target)
    return site.canonical_profile_url(url) if site else _generic(target)


def network_profile_url(url: str, networks: Collection[str]) -> str:
    """`url` (an absolute http(s) URL) canonicalised as a profile of one of `networks`.

    `networks` (network names, e.g. `{"sandbox"}`): the networks of the
    sender accounts that will open the profile. The first of their site
    modules (in name order) whose host `url` is on canonicalises it
    (`Site.canonical_profile_url`); a URL on none of them raises ValueError
    naming the network(s) and their profile URL shape, since no account of
    the campaign could open it.

    Empty `networks` (no account chosen yet, so no network to hold the URL
    to): canonical_profile_url's answer, a registered site's profile or
    any other public host name's; but a host that is an IP address the
    egress policy would refuse (loopback, private, link-local such as
    169.254.169.254...) or `localhost`, unless a registered site lives
    there, raises ValueError: it is never a profile on a network, and a
    lead's URL is opened by a browser agent later.

    Raises ValueError with a reason (also when a name in `networks` has
    no site module).
    """
    if networks:
        registered = _sites()
        unknown = sorted(set(networks) - set(registered))
        if unknown:  # an account saved past check_network (the admin): no site could open the lead
            raise ValueError(f"no site module for network {unknown[0]!r} of this campaign's sender accounts")
        chosen = [registered[name] for name in sorted(set(networks))]
        reason = ""
        for site in chosen:
            try:
                return site.canonical_profile_url(url)
            except ValueError as exc:
                reason = str(exc)
        expected = ", ".join(_shape(site) for site in chosen)
        if len(chosen) == 1:
            raise ValueError(f"{reason}; this campaign's sender accounts are on {expected}")
        raise ValueError(f"not a profile URL of this campaign's networks; expected one of: {expected}")
    canonical = canonical_profile_url(url)
    if any(site.owns(canonical) for site in _sites().values()):
        return canonical
    host = _parsed(canonical)
    bare = _bare_host(host.host)
    refused = blocked_reason(host.literal) if host.literal is not None else None
    if refused is None and (bare == "localhost" or bare.endswith(".localhost")):
        refused = "this machine"
    if refused is not None:
        expected = ", ".join(_shape(site) for _, site in sorted(_sites().items()))
        raise ValueError(f"not a profile URL: {bare} is {refused}; expected a profile on {expected}")
    return canonical


def _shape(site: type[Site]) -> str:
    """A network and its profile URL shape, for messages: `sandbox (http://h/sandbox/in/<handle>)`."""
    return f"{site.network} ({site.configured_url().rstrip('/')}/{site.profile_prefix}<handle>)"


def _sites() -> dict[str, type[Site]]:
    # Lazy: sandbox.py subclasses Site from this module (a cycle at import).
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

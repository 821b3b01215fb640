"""The egress policy: which destinations Reachly may connect to.

Every outbound request (webhook deliveries, LLM providers, every request a
browser agent's Chromium makes) is vetted here, on the address that is
actually connected to:

* URLs are parsed with WHATWG rules (ada, the parser Node.js uses, through
  `ada-url`), the rules Chromium applies. A check that parses with Python's
  `urlsplit` and a browser that parses with WHATWG see different hosts
  (`http://127.0.0.1:8000\\@1.1.1.1/` is 1.1.1.1 to Python, 127.0.0.1 to
  Chromium), so there is one parser, and it is the browser's.
* Numeric host forms (`2130706433`, `0x7f.1`, `127.1`, `017700000001`, `0`)
  are canonicalised by that parser to dotted quads before the check.
* A host name is resolved once; every address it resolves to must pass, and
  the caller connects to one of the addresses checked (`Vetted.addresses`),
  so a DNS answer that changes between check and connection changes nothing.
* An address passes when it is globally routable unicast: not loopback,
  private (RFC 1918, ULA), link-local, CGNAT (100.64.0.0/10, RFC 6598),
  multicast, unspecified, reserved or documentation, and not one of those
  embedded in an IPv6 address (IPv4-mapped ::ffff:0:0/96, IPv4-compatible
  ::/96, NAT64 64:ff9b::/96 and 64:ff9b:1::/48 (RFC 6052, RFC 8215), 6to4
  2002::/16 (RFC 3056)); Teredo (2001::/32, RFC 4380) is refused outright
  since its server and client addresses are not ours to vet.
* `REACHLY_EGRESS_ALLOW` (settings) lists the exceptions, for development:
  addresses or networks, each with an optional port (`127.0.0.1:8000`,
  `10.0.0.0/8`, `[::1]:9000`). Operator-configured origins (a network site's
  own base URL, LLM provider endpoints) are passed by their callers as
  `trusted` origins; tenant-supplied URLs never are.

Nothing here imports Django models: callers pass settings in.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import ada_url

from agents.base import AgentError, PermanentError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 8192  # characters; longer URLs are refused by most servers anyway
MAX_HOST_LENGTH = 253  # RFC 1035, section 2.3.4
MAX_LABEL_LENGTH = 63
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_TEREDO = ipaddress.ip_network("2001::/32")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


class DestinationRefused(PermanentError):
    """The URL points somewhere Reachly must not connect to, or can never work.

    `reason` is a sentence for the tenant (it names the host and why).
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Destination:
    """A parsed http(s) URL: `href` is its WHATWG serialisation; `host` has
    no brackets (an IPv6 literal is bare); `port` is explicit or the scheme's;
    `path` is the WHATWG pathname (dot segments resolved, backslashes as slashes)."""

    href: str
    scheme: str
    host: str
    port: int
    literal: IPAddress | None
    path: str = "/"

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)


@dataclass(frozen=True)
class Vetted:
    """A destination that passed the policy and the addresses it may be reached at."""

    destination: Destination
    addresses: tuple[IPAddress, ...]
    trusted: bool = False


def parse(url: str) -> Destination:
    """Parse `url` as Chromium would; raises DestinationRefused naming the problem.

    Refuses what can never be delivered: not http(s), credentials in the URL,
    control characters or spaces (WHATWG parsers silently drop tabs and
    newlines, which would change what the user sent), no host, a label over
    63 or a host over 253 characters, port 0.
    """
    if not isinstance(url, str) or not url:
        raise DestinationRefused("the URL is empty")
    if len(url) > MAX_URL_LENGTH:
        raise DestinationRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if _CONTROL_OR_SPACE.search(url.strip(" ")):
        raise DestinationRefused("the URL contains spaces or control characters")
    try:
        parts = ada_url.parse_url(url.strip(" "))
    except ValueError:
        raise DestinationRefused(f"not a valid URL: {url[:200]!r}") from None
    scheme = str(parts["protocol"]).rstrip(":")
    if scheme not in ("http", "https"):
        raise DestinationRefused("the URL must start with http:// or https://")
    if parts["username"] or parts["password"]:
        raise DestinationRefused("the URL must not contain credentials")
    host = str(parts["hostname"])
    if not host:
        raise DestinationRefused("the URL has no host")
    port = int(parts["port"]) if parts["port"] else (443 if scheme == "https" else 80)
    if port == 0:
        raise DestinationRefused("port 0 cannot be connected to")
    bare = host[1:-1] if host.startswith("[") else host
    literal: IPAddress | None
    try:
        literal = ipaddress.ip_address(bare)
    except ValueError:
        literal = None
        name = bare.rstrip(".")
        if len(name) > MAX_HOST_LENGTH or any(len(label) > MAX_LABEL_LENGTH for label in name.split(".")):
            raise DestinationRefused(f"{name[:80]}… is not a valid host name (too long)") from None
        if not name or any(not label for label in name.split(".")):
            raise DestinationRefused(f"{bare!r} is not a valid host name") from None
    return Destination(str(parts["href"]), scheme, bare, port, literal, str(parts["pathname"]) or "/")


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), else None."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    packed = int(ip)
    if any(ip in net for net in _NAT64) or (ip in _IPV4_COMPATIBLE and packed > 1):
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    return None


def blocked_reason(ip: IPAddress) -> str | None:
    """Why `ip` may not be connected to (a short phrase), or None if it may."""
    inner = embedded_ipv4(ip)
    if inner is not None:
        reason = blocked_reason(inner)
        return f"{reason} (embedded in {ip})" if reason else None
    if isinstance(ip, ipaddress.IPv6Address) and ip in _TEREDO:
        return "a Teredo address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "a carrier-grade NAT address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved or not ip.is_global:
        return "a reserved address"
    return None


@dataclass(frozen=True)
class AllowEntry:
    network: IPNetwork
    port: int | None = None

    def matches(self, ip: IPAddress, port: int) -> bool:
        return ip in self.network and (self.port is None or self.port == port)


def parse_allow(entries: Iterable[str]) -> tuple[AllowEntry, ...]:
    """`["127.0.0.1:8000", "10.0.0.0/8", "[::1]:9000", "::1"]` -> entries; ValueError names a bad one."""
    out: list[AllowEntry] = []
    for raw in entries:
        text = raw.strip()
        if not text:
            continue
        port: int | None = None
        match = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", text) or re.fullmatch(r"([^:]+):(\d+)", text)
        if match:
            text, port = match.group(1), int(match.group(2)) if match.group(2) else None
        try:
            out.append(AllowEntry(ipaddress.ip_network(text, strict=False), port))
        except ValueError:
            raise ValueError(
                f"REACHLY_EGRESS_ALLOW: {raw!r} is not an address or network (with an optional port)"
            ) from None
    return tuple(out)


def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses `host` resolves to, in the resolver's order (no duplicates).

    Raises a retryable AgentError when resolution fails (DNS may be back later).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AgentError(f"could not resolve {host}: {getattr(exc, 'strerror', None) or exc}") from None
    seen: list[IPAddress] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if ip not in seen:
            seen.append(ip)
    return seen


@dataclass(frozen=True)
class Policy:
    """The address policy with its exceptions (`allow`) and trusted origins.

    `trusted` holds (scheme, host, port) origins configured by the operator;
    a request to one skips the address check (the operator pointed us there).
    """

    allow: tuple[AllowEntry, ...] = ()
    trusted: frozenset[tuple[str, str, int]] = field(default_factory=frozenset)

    def with_trusted(self, urls: Sequence[str]) -> Policy:
        """This policy, also trusting the origins of `urls` (operator configuration)."""
        origins = {parse(u).origin for u in urls if u}
        return Policy(self.allow, self.trusted | origins)

    def refusal(self, ip: IPAddress, port: int) -> str | None:
        """Why this policy refuses (ip, port), or None."""
        reason = blocked_reason(ip)
        if reason is None or any(entry.matches(ip, port) for entry in self.allow):
            return None
        return reason

    def check_literal(self, destination: Destination) -> None:
        """Refuse a literal address before anything is sent (what registration can know)."""
        if destination.literal is not None and destination.origin not in self.trusted:
            reason = self.refusal(destination.literal, destination.port)
            if reason:
                raise DestinationRefused(f"{destination.host} is {reason}; Reachly connects to public addresses only")
        elif destination.literal is None and destination.origin not in self.trusted:
            name = destination.host.rstrip(".").lower()
            if name == "localhost" or name.endswith(".localhost"):
                for ip in (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")):
                    if self.refusal(ip, destination.port) is None:
                        return
                raise DestinationRefused(f"{name} is a loopback address; Reachly connects to public addresses only")

    def vet(self, url: str | Destination) -> Vetted:
        """Parse, resolve once and check every address; raises DestinationRefused
        (or a retryable AgentError when the name cannot be resolved now)."""
        destination = url if isinstance(url, Destination) else parse(url)
        trusted = destination.origin in self.trusted
        self.check_literal(destination)
        addresses = [destination.literal] if destination.literal else resolve(destination.host, destination.port)
        if not trusted:
            for ip in addresses:
                reason = self.refusal(ip, destination.port)
                if reason:
                    raise DestinationRefused(
                        f"{destination.host} resolves to {ip}, {reason}; Reachly connects to public addresses only"
                    )
        return Vetted(destination, tuple(addresses), trusted)


def from_settings(allow: Iterable[str], trusted: Sequence[str] = ()) -> Policy:
    """A Policy from the REACHLY_EGRESS_ALLOW list and trusted URLs."""
    return Policy(parse_allow(allow)).with_trusted(trusted)

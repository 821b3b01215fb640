"""The egress policy (agents/egress/policy.py): one parser (WHATWG, as
Chromium parses), one address policy, for every outbound request."""

from __future__ import annotations

import ipaddress

import pytest

from agents.egress.policy import DestinationRefused, Policy, blocked_reason, parse, parse_allow

STRICT = Policy()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost:8080/x",
        "http://app.localhost/x",
        "http://10.0.0.8/x",
        "http://192.168.1.1/x",
        "http://172.16.5.4/x",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://100.64.0.1/x",  # carrier-grade NAT
        "http://0.0.0.0/x",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",  # IPv4-mapped
        "http://[fe80::1]/x",
        "http://[fd00::1]/x",  # unique local
        "http://224.0.0.1/x",
        "http://[ff02::1]/x",
        # Issue 11, LOW: NAT64 and 6to4 embeddings of 127.0.0.1 passed `is_global`.
        "http://[64:ff9b::7f00:1]/",
        "http://[64:ff9b:1::a9fe:a9fe]/",  # local-use NAT64 of 169.254.169.254
        "http://[2002:7f00:1::]/",
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
        # Issue 11, LOW: numeric loopback forms passed registration.
        "http://2130706433/",
        "http://0x7f.1/",
        "http://127.1/",
        "http://0/",
        "http://017700000001/",
        # Issue 11, HIGH: Python saw host 1.1.1.1, Chromium requests 127.0.0.1.
        "http://127.0.0.1:8000\\@1.1.1.1/../",
    ],
)
def test_non_public_destinations_are_refused_however_they_are_written(url):
    with pytest.raises(DestinationRefused, match="Reachly connects to public addresses only"):
        STRICT.vet(url)


def test_the_host_is_the_one_chromium_would_connect_to():
    destination = parse("http://127.0.0.1:8000\\@1.1.1.1/../")
    assert (destination.host, destination.port, destination.href) == ("127.0.0.1", 8000, "http://127.0.0.1:8000/")
    assert parse("http://0x7f.1/").host == "127.0.0.1"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/x", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("http://user:pw@example.com/", "credentials"),
        ("http://a:99999/", "valid URL"),
        ("http://example.com:0/", "port 0"),
        ("http://exa\r\nmple.com/", "control characters"),
        ("http://example.com/a b", "spaces"),
        (f"http://{'a' * 300}.com/", "too long"),
        ("", "empty"),
    ],
)
def test_urls_that_can_never_work_are_refused_naming_why(url, reason):
    with pytest.raises(DestinationRefused, match=reason):
        STRICT.vet(url)


def test_public_addresses_pass_without_a_network_call():
    vetted = STRICT.vet("https://93.184.215.14/hook")
    assert vetted.destination.host == "93.184.215.14" and [str(a) for a in vetted.addresses] == ["93.184.215.14"]
    assert blocked_reason(ipaddress.ip_address("2606:4700::1111")) is None


def test_the_allow_list_admits_exactly_its_addresses_and_ports():
    policy = Policy(parse_allow(["127.0.0.1:8000", "10.0.0.0/8", "[::1]:9000"]))
    policy.vet("http://127.0.0.1:8000/")
    policy.vet("http://localhost:8000/")  # resolves to an allowed address
    policy.vet("http://10.1.2.3/")
    policy.vet("http://[::1]:9000/")
    for url in ("http://127.0.0.1:8001/", "http://[::1]:9001/", "http://192.168.0.1/"):
        with pytest.raises(DestinationRefused):
            policy.vet(url)
    with pytest.raises(ValueError, match="REACHLY_EGRESS_ALLOW: 'nonsense'"):
        parse_allow(["nonsense"])


def test_trusted_origins_skip_the_address_check_only_for_that_origin():
    policy = STRICT.with_trusted(["http://127.0.0.1:8000/sandbox/"])
    assert policy.vet("http://127.0.0.1:8000/sandbox/in/ava").trusted
    with pytest.raises(DestinationRefused):
        policy.vet("http://127.0.0.1:8001/")


@pytest.mark.parametrize(
    ("url", "owned"),
    [
        ("http://127.0.0.1:8000/sandbox/in/ava", True),
        ("http://127.0.0.1:8000/sandbox/in/", False),  # no profile
        ("http://127.0.0.1:8000/sandbox/in/../../admin/", False),  # dot segments resolved first
        ("http://127.0.0.1:8000/admin/", False),
        ("http://127.0.0.1:8001/sandbox/in/ava", False),  # another origin
        ("http://127.0.0.1:8000\\@evil.example/sandbox/in/a", False),
        ("http://169.254.169.254/latest/meta-data", False),
        ("javascript:alert(1)", False),
    ],
)
def test_a_site_owns_only_its_own_profile_pages(settings, url, owned):
    from agents.browser.sites.sandbox import SandboxSite

    settings.REACHLY_SANDBOX_URL = "http://127.0.0.1:8000/sandbox/"
    assert SandboxSite.owns(url) is owned

"""One spelling per profile: Site.canonical_profile_url and the generic
canonicaliser (issue 11, section 5: an import never silently changes what
the file said, nor makes two leads of one profile)."""

from __future__ import annotations

import pytest

from agents.browser.sites import canonical_profile_url, generic_profile_url
from agents.browser.sites.sandbox import SandboxSite

SANDBOX = "http://127.0.0.1:8000/sandbox/"


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.REACHLY_SANDBOX_URL = SANDBOX


@pytest.mark.parametrize(
    "url",
    [
        "https://linkedin.com/in/jane-doe",
        "http://linkedin.com/in/jane-doe",  # scheme
        "https://www.linkedin.com/in/jane-doe",  # www.
        "HTTPS://WWW.LINKEDIN.COM/in/jane-doe",  # host case
        "https://linkedin.com/in/Jane-Doe",  # slug case: LinkedIn's slugs are case-insensitive
        "https://linkedin.com/in/jane%2Ddoe",  # an unreserved character percent-encoded
        "https://linkedin.com//in/jane-doe",  # a doubled slash
        "https://linkedin.com/in//jane-doe/",  # and a trailing one
        "https://linkedin.com/in/jane-doe?trk=mail#about",  # query and fragment
        "https://linkedin.com./in/jane-doe",  # a trailing dot on the host
        "https://linkedin.com:443/in/jane-doe",  # the default port
    ],
)
def test_spellings_of_one_linkedin_profile_are_one_url(url):
    assert canonical_profile_url(url) == "https://linkedin.com/in/jane-doe"


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://Example.com/People/Ada", "https://example.com/People/Ada"),  # other hosts keep path case
        ("https://example.com/p/%7eada%2f", "https://example.com/p/~ada%2F"),  # reserved stays encoded
        ("https://example.com:8443/p/ada", "https://example.com:8443/p/ada"),
        ("https://bücher.example/in/a", "https://xn--bcher-kva.example/in/a"),
        ("https://example.com/a/./b/../c", "https://example.com/a/c"),
    ],
)
def test_the_generic_canonicaliser(url, canonical):
    assert generic_profile_url(url) == canonical == canonical_profile_url(url)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://linkedin.com/", "no profile path"),
        ("https://linkedin.com", "no profile path"),
        ("https://linkedin.com//?x=1", "no profile path"),
        ("https://intranet/in/ada", "no host name"),
        ("https://a:b@example.com/in/a", "credentials"),
        ("ftp://example.com/in/a", "http"),
    ],
)
def test_what_is_not_a_profile_url_is_refused_with_a_reason(url, reason):
    with pytest.raises(ValueError, match=reason):
        canonical_profile_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/sandbox/in/ava",
        "https://127.0.0.1:8000/sandbox/in/ava",
        "http://127.0.0.1:8000/sandbox//in/ava/",
        "http://127.0.0.1:8000/sandbox/in/%61va?x=1#y",
        "http://127.0.0.1:8000/sandbox/in/x/../ava",
    ],
)
def test_the_sandbox_canonicalises_to_its_base_origin_and_in_handle(url):
    assert SandboxSite.canonical_profile_url(url) == "http://127.0.0.1:8000/sandbox/in/ava"
    assert canonical_profile_url(url) == "http://127.0.0.1:8000/sandbox/in/ava"
    assert SandboxSite.owns(canonical_profile_url(url))


def test_sandbox_handles_keep_their_case():
    # The sandbox looks handles up case-sensitively: Ava and ava are two members.
    assert canonical_profile_url("http://127.0.0.1:8000/sandbox/in/Ava") == "http://127.0.0.1:8000/sandbox/in/Ava"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8000/sandbox/in/", "no profile handle"),
        ("http://127.0.0.1:8000/sandbox/", "expected /sandbox/in/<handle>"),
        ("http://127.0.0.1:8000/admin/in/ava", "expected /sandbox/in/<handle>"),
        ("http://127.0.0.1:8000/sandbox/in/ava/connect", "more path after the handle"),
        ("http://example.com/sandbox/in/ava", "not a sandbox URL"),
    ],
)
def test_the_sandbox_refuses_what_is_not_one_of_its_profiles(url, reason):
    with pytest.raises(ValueError, match=reason):
        SandboxSite.canonical_profile_url(url)


def test_a_sandbox_on_a_default_port_is_found_by_the_fast_path_too(settings):
    settings.REACHLY_SANDBOX_URL = "https://sandbox.example/sandbox/"
    assert (
        canonical_profile_url("https://www.sandbox.example/sandbox/in/ava/") == "https://sandbox.example/sandbox/in/ava"
    )
    with pytest.raises(ValueError, match="no profile handle"):
        canonical_profile_url("https://sandbox.example/sandbox/in/")

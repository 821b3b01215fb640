"""Who sees what: sign-in, tenant scoping (404 for another tenant's objects),
viewers (403 on every change), the tenant switcher, and never a 500."""

from __future__ import annotations

import pytest
from django.test import Client

from reachly.orchestration.models import Job
from reachly.tenants.tenancy import SESSION_KEY
from tests.web.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

INDEX_PAGES = ["/", "/campaigns/", "/campaigns/new", "/jobs/", "/sender-accounts/", "/sender-accounts/new", "/usage/"]
INDEX_PAGES += ["/api-tokens/"]


def test_it_sends_anonymous_visitors_to_the_login_page(alices_world):
    client = Client()
    for url in [*INDEX_PAGES, *alices_world.urls()]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next="), url


def test_it_signs_in_with_a_password_and_out_with_a_post(alice):
    client = Client()
    page = client.get("/login/")
    assert page.status_code == 200
    assert b'name="username"' in page.content
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_a_wrong_password_is_refused_with_a_message(alice):
    response = Client().post("/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_every_page_renders_for_a_member(alice, alices_world):
    for url in [*INDEX_PAGES, *alices_world.urls()]:
        response = alice.client.get(url)
        assert response.status_code == 200, url


def test_another_tenants_objects_answer_404_on_every_page_and_action(charlie, alices_world):
    for url in alices_world.urls():
        assert charlie.client.get(url).status_code == 404, url
    for url in alices_world.posts():
        assert charlie.client.post(url, {"status": "paused", "priority": 5}).status_code == 404, url
    # Nothing of Alice's changed.
    job = Job.objects.get(pk=alices_world.job.pk)
    assert job.status == "running"
    alices_world.token.refresh_from_db()
    assert alices_world.token.revoked_at is None


def test_lists_show_only_the_current_tenants_objects(alice, charlie, alices_world, charlies_world):
    for url in ["/", "/campaigns/", "/jobs/", "/sender-accounts/", "/api-tokens/"]:
        html = charlie.client.get(url).content.decode()
        assert f"/jobs/{alices_world.job.pk}/" not in html, url
        assert f"/campaigns/{alices_world.campaign.pk}/" not in html, url
        assert f"/sender-accounts/{alices_world.account.pk}/" not in html, url
        assert f'data-token="{alices_world.token.pk}"' not in html, url
    assert f"/jobs/{charlies_world.job.pk}/" in charlie.client.get("/jobs/").content.decode()


def test_a_viewer_reads_everything_but_changes_nothing(bob, alices_world):
    for url in [*INDEX_PAGES[:1], "/campaigns/", "/jobs/", "/usage/", *alices_world.urls()[:1]]:
        assert bob.client.get(url).status_code == 200, url
    assert bob.client.get("/campaigns/new").status_code == 403
    assert bob.client.get(f"/campaigns/{alices_world.campaign.pk}/edit").status_code == 403
    for url in alices_world.posts():
        assert bob.client.post(url, {"status": "paused", "priority": 5}).status_code == 403, url
    assert bob.client.post("/api-tokens/", {"name": "mine"}).status_code == 403
    assert Job.objects.get(pk=alices_world.job.pk).status == "running"
    # The pages offer no controls to a viewer.
    html = bob.client.get(f"/jobs/{alices_world.job.pk}/").content.decode()
    assert "data-control" not in html


def test_the_tenant_switcher_scopes_every_page_to_the_chosen_tenant(dave, alice, charlie, charlies_world):
    # Dave starts in his first tenant (by name): Alice's.
    assert b"Alice Co" in dave.client.get("/").content
    assert dave.client.get(f"/jobs/{charlies_world.job.pk}/").status_code == 404
    response = dave.client.post("/tenant/", {"tenant": charlie.tenant.pk, "next": "/jobs/"})
    assert response.status_code == 302 and response["Location"] == "/jobs/"
    assert dave.client.session[SESSION_KEY] == charlie.tenant.pk
    assert dave.client.get(f"/jobs/{charlies_world.job.pk}/").status_code == 200
    # The switcher lists both tenants.
    html = dave.client.get("/").content.decode()
    assert 'id="tenant-select"' in html and "Alice Co" in html and "Charlie Co" in html


def test_switching_to_a_tenant_one_is_not_a_member_of_changes_nothing(alice, charlie):
    response = alice.client.post("/tenant/", {"tenant": charlie.tenant.pk}, follow=True)
    assert b"You are not a member of that workspace." in response.content
    assert alice.client.session[SESSION_KEY] == alice.tenant.pk
    assert alice.client.post("/tenant/", {"tenant": "x"}).status_code == 302
    response = alice.client.post("/tenant/", {"tenant": alice.tenant.pk, "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"  # never off-site


def test_a_user_without_a_tenant_gets_a_page_that_says_so(db, plans):
    user = make_user("eve")
    client = Client()
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 403
    assert b"No workspace yet" in response.content


@pytest.mark.parametrize(
    "url",
    [
        "/jobs/?page=abc",
        "/jobs/?status=nonsense",
        "/jobs/?page=99999",
        "/campaigns/?page=-1",
        "/usage/?day=yesterday",
        "/usage/?day=1999-01-01",
        "/usage/?day=2999-01-01",
        "/jobs/123456789012345678/",
        "/jobs/1234567890123456789/",
        "/campaigns/999999/",
        "/sender-accounts/0/",
    ],
)
def test_odd_urls_never_answer_500(alice, alices_world, url):
    response = alice.client.get(url)
    assert response.status_code in (200, 404), (url, response.status_code)


def test_odd_posts_never_answer_500(alice, alices_world):
    w = alices_world
    for url, data in [
        (f"/campaigns/{w.campaign.pk}/start", {"priority": "soon"}),
        (f"/campaigns/{w.campaign.pk}/leads/import", {}),
        (f"/campaigns/{w.campaign.pk}/leads/preview", {}),
        (f"/sender-accounts/{w.account.pk}/status", {"status": "disabled"}),
        (f"/sender-accounts/{w.account.pk}/session", {"text": "[1, 2"}),
        ("/campaigns/new", {"name": "\x00"}),
        (f"/jobs/{w.job.pk}/explode", {}),
        ("/tenant/", {}),
    ]:
        response = alice.client.post(url, data)
        assert response.status_code < 500, (url, response.status_code)


def test_too_many_wrong_passwords_lock_the_name_out_for_a_while_with_a_clear_message(alice, settings):
    settings.REACHLY_LOGIN_FAILURES_PER_USER_ADDRESS = "3/hour"
    client = Client()
    for _ in range(3):
        assert (
            b"Please enter a correct username" in client.post("/login/", {"username": "alice", "password": "x"}).content
        )
    # The right password does not help now: the name is locked for the hour.
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    assert b"Too many failed sign-ins. Try again in 60 minutes." in response.content
    assert client.get("/").status_code == 302, "not signed in"
    # Another user from the same address is not locked out (per-address limit is higher).
    make_user("dora")
    assert Client().post("/login/", {"username": "dora", "password": PASSWORD}).status_code == 302
    # Issue 11: and the name is not locked for its owner elsewhere: failing on
    # purpose from one address cannot deny a user.
    elsewhere = Client(REMOTE_ADDR="203.0.113.7")
    assert elsewhere.post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 302


def test_a_name_failed_from_many_addresses_is_slowed_but_its_owner_gets_in(alice, settings):
    settings.REACHLY_LOGIN_FAILURES_PER_USER = "3/hour"
    settings.REACHLY_LOGIN_SLOW_SECONDS = 600
    for n in range(3):  # a distributed guesser: one failure per address
        Client(REMOTE_ADDR=f"198.51.100.{n}").post("/login/", {"username": "alice", "password": "x"})
    # Slowed: one password check per 600 s for the name. The owner's is the next one.
    owner = Client(REMOTE_ADDR="203.0.113.9")
    assert owner.post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 302
    guess = Client(REMOTE_ADDR="198.51.100.99").post("/login/", {"username": "alice", "password": "y"})
    assert b"Too many failed sign-ins. Try again in 10 minutes." in guess.content


def test_x_forwarded_for_from_a_client_does_not_change_its_address(settings):
    """Issue 11: rotating X-Forwarded-For bypassed the per-address limit
    (uvicorn trusted every peer). Django reads REMOTE_ADDR only; uvicorn
    rewrites it only for FORWARDED_ALLOW_IPS, which the manifests set to
    the ingress and nothing else."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for path in ("Dockerfile", "k8s/base/web.yaml", "Procfile", "docker-compose.yml"):
        text = (root / path).read_text()
        assert "--forwarded-allow-ips '*'" not in text and 'FORWARDED_ALLOW_IPS="*"' not in text, path
    settings.REACHLY_LOGIN_FAILURES_PER_ADDRESS = "2/hour"
    for n in range(3):
        Client(HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").post("/login/", {"username": f"g{n}", "password": "x"})
    response = Client(HTTP_X_FORWARDED_FOR="192.0.2.200").post("/login/", {"username": "g9", "password": "x"})
    assert b"Too many failed sign-ins" in response.content


def test_failures_from_one_address_are_limited_across_user_names(alice, settings):
    settings.REACHLY_LOGIN_FAILURES_PER_ADDRESS = "4/hour"
    client = Client()
    for n in range(4):
        client.post("/login/", {"username": f"guess{n}", "password": "x"})
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert b"Too many failed sign-ins" in response.content


def test_the_admin_sign_in_is_limited_too(settings):
    settings.REACHLY_LOGIN_FAILURES_PER_USER_ADDRESS = "2/hour"
    make_user("root", is_staff=True, is_superuser=True)
    client = Client()
    for _ in range(2):
        client.post("/admin/login/", {"username": "root", "password": "x"})
    response = client.post("/admin/login/", {"username": "root", "password": PASSWORD})
    assert response.status_code == 200 and b"Too many failed sign-ins" in response.content

"""One tenancy rule at every door (issue 10, item 5; reachly/tenants/tenancy.py).

Each test asks every door — the REST API, a web UI page, the WebSocket and
the SSE stream — which tenant a request acts for, and expects one answer:
the same tenant everywhere, or the same refusal. The doors differ only in
how a choice can be expressed: the `X-Reachly-Tenant` header (API, SSE),
`?tenant=` (WebSocket), the session (all of them; set by the web UI's
switcher).

Dave is a member of Charlie Co (first) and Alice Co (later): "first by
name" and "oldest membership" differ for him, and the rule is by name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from reachly.asgi import application
from reachly.live import tickets
from reachly.orchestration.models import Job
from reachly.orchestration.services import job_cancel, job_start
from reachly.tenants.models import Membership, Tenant
from reachly.tenants.services import api_token_create, membership_add
from reachly.tenants.tenancy import NO_TENANT, SESSION_KEY
from tests.factories import TenantFactory, UserFactory, test_steps

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]

NOT_A_MEMBER = "you are not a member of tenant 'bravo-co'"
# Created in this order (Charlie Co first, so it is the older membership).
SLUGS = {"charlie-co": "Charlie Co", "alice-co": "Alice Co", "bravo-co": "Bravo Co"}


@pytest.fixture
def anyio_backend():
    return "asyncio"


@dataclass
class World:
    tenants: dict[str, Tenant]  # slug -> tenant
    jobs: dict[str, Job]  # slug -> that tenant's one (finished) job

    def slug_of_job(self, job_id: int) -> str:
        return next(slug for slug, job in self.jobs.items() if job.pk == job_id)


@pytest.fixture
def world(plans) -> World:
    tenants = {slug: TenantFactory(slug=slug, name=name) for slug, name in SLUGS.items()}
    jobs = {}
    for slug, tenant in tenants.items():
        job = job_start(tenant=tenant, steps=test_steps(1))
        job_cancel(job)  # finished: its SSE stream replays and ends
        jobs[slug] = Job.objects.get(pk=job.pk)
    return World(tenants, jobs)


def _user(username: str, *memberships: Tenant, **fields) -> object:
    user = UserFactory(username=username, **fields)
    user.save()  # UserFactory skips the save after set_password
    for tenant in memberships:
        membership_add(tenant=tenant, user=user, role=Membership.Role.MEMBER)
    return user


@dataclass
class Caller:
    """One principal, as every door sees it: a session cookie or a token."""

    cookie: str | None = None
    token_key: str | None = None
    token_tenant_id: int | None = None
    token_id: int | None = None
    django_client: Client | None = None

    def http_headers(self, choice: str | None = None) -> dict[str, str]:
        headers = {}
        if self.cookie:
            headers["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={self.cookie}"
        if self.token_key:
            headers["Authorization"] = f"Token {self.token_key}"
        if choice:
            headers["X-Reachly-Tenant"] = choice
        return headers


def _signed_in(user, remembered: Tenant | None = None) -> Caller:
    client = Client()
    client.force_login(user)
    if remembered is not None:
        session = client.session
        session[SESSION_KEY] = remembered.pk
        session.save()
    return Caller(cookie=client.cookies[settings.SESSION_COOKIE_NAME].value, django_client=client)


# ---------------------------------------------------------------- the doors
# Each answers ("tenant", slug) or ("refused", message).


async def _get(path: str, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get(path, headers=headers, timeout=10)


async def api_door(world: World, caller: Caller, choice: str | None = None):
    response = await _get("/api/v1/jobs/", caller.http_headers(choice))
    if response.status_code == 403:
        return "refused", response.json()["error"]["message"]
    assert response.status_code == 200, response.text
    slugs = {world.slug_of_job(job["id"]) for job in response.json()["results"]}
    assert len(slugs) == 1, slugs
    return "tenant", slugs.pop()


async def web_door(world: World, caller: Caller):
    response = await _get("/jobs/", caller.http_headers())
    if response.status_code == 403 and "No workspace yet" in response.text:
        return "refused", NO_TENANT  # the web's page for that refusal
    assert response.status_code == 200, response.status_code
    slugs = {slug for slug, job in world.jobs.items() if f"/jobs/{job.pk}/" in response.text}
    assert len(slugs) == 1, slugs
    return "tenant", slugs.pop()


async def sse_door(world: World, caller: Caller, choice: str | None = None):
    seen = set()
    for slug, job in world.jobs.items():
        response = await _get(f"/api/v1/jobs/{job.pk}/stream", caller.http_headers(choice))
        if response.status_code == 403:
            assert response.json()["error"]["code"] == "permission_denied"
            return "refused", response.json()["error"]["message"]
        if response.status_code == 200:
            assert response.headers["content-type"].startswith("text/event-stream")
            seen.add(slug)
        else:
            assert response.status_code == 404, response.status_code
    assert len(seen) == 1, seen  # exactly one tenant's job can be followed
    return "tenant", seen.pop()


async def _socket(caller: Caller, choice: str | None) -> WebsocketCommunicator:
    query = []
    if caller.token_key:  # API clients trade the token for a ticket
        ticket = await sync_to_async(tickets.issue)(tenant_id=caller.token_tenant_id, token_id=caller.token_id)
        query.append(f"ticket={quote(ticket)}")
    if choice:
        query.append(f"tenant={quote(choice)}")
    headers = [(b"origin", b"http://testserver")]
    if caller.cookie:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={caller.cookie}".encode()))
    communicator = WebsocketCommunicator(application, "/ws/events/?" + "&".join(query), headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def socket_door(world: World, caller: Caller, choice: str | None = None):
    seen = set()
    for slug, tenant in world.tenants.items():
        communicator = await _socket(caller, choice)
        await communicator.send_json_to({"action": "subscribe", "tenant": tenant.pk})
        first = await communicator.receive_output(timeout=2)
        if first["type"] == "websocket.close":
            assert first["code"] == 4403, first  # not this tenant
            continue
        reply = json.loads(first["text"])
        if reply["type"] == "error":  # refused at connect: the frame, then 4403
            assert await communicator.receive_output(timeout=2) == {"type": "websocket.close", "code": 4403}
            return "refused", reply["message"]
        assert reply == {"type": "subscribed", "tenant": tenant.pk, "jobs": []}
        seen.add(slug)
        await communicator.disconnect()
    assert len(seen) == 1, seen
    return "tenant", seen.pop()


async def every_door(world: World, caller: Caller, choice: str | None = None) -> dict[str, tuple[str, str]]:
    """door -> outcome. The web UI is asked last (a page remembers the
    tenant it resolved in the session, which would make the other doors'
    "no choice" a remembered one) and only without a per-request choice:
    its choice is the session, set by the switcher (`switch`)."""
    outcomes = {
        "api": await api_door(world, caller, choice),
        "websocket": await socket_door(world, caller, choice),
        "sse": await sse_door(world, caller, choice),
    }
    if choice is None and caller.cookie:
        outcomes["web"] = await web_door(world, caller)
    return outcomes


def everywhere(outcome: tuple[str, str], web: bool = True) -> dict[str, tuple[str, str]]:
    doors = ("api", "websocket", "sse", "web") if web else ("api", "websocket", "sse")
    return dict.fromkeys(doors, outcome)


async def switch(caller: Caller, tenant: Tenant) -> str:
    """The web UI's tenant switcher; the flash message it answers with."""
    assert caller.django_client is not None
    response = await sync_to_async(caller.django_client.post)("/tenant/", {"tenant": tenant.pk}, follow=True)
    return response.content.decode()


# ---------------------------------------------------------------- the rule


async def test_a_member_of_two_tenants_without_a_choice_acts_for_the_first_by_name_everywhere(world):
    dave = await sync_to_async(_user)("dave", world.tenants["charlie-co"], world.tenants["alice-co"])
    caller = await sync_to_async(_signed_in)(dave)
    assert await every_door(world, caller) == everywhere(("tenant", "alice-co"))


async def test_the_tenant_remembered_in_the_session_is_chosen_everywhere(world):
    dave = await sync_to_async(_user)("dave", world.tenants["charlie-co"], world.tenants["alice-co"])
    caller = await sync_to_async(_signed_in)(dave, remembered=world.tenants["charlie-co"])
    assert await every_door(world, caller) == everywhere(("tenant", "charlie-co"))


async def test_an_explicit_choice_of_ones_own_tenant_wins_at_every_door(world):
    dave = await sync_to_async(_user)("dave", world.tenants["charlie-co"], world.tenants["alice-co"])
    caller = await sync_to_async(_signed_in)(dave, remembered=world.tenants["alice-co"])
    # A header or query choice beats the session's, for that request only.
    assert await every_door(world, caller, choice="charlie-co") == everywhere(("tenant", "charlie-co"), web=False)
    assert await every_door(world, caller) == everywhere(("tenant", "alice-co"))
    # The web UI's choice is the switcher: then every door follows it.
    assert "Switched to Charlie Co." in await switch(caller, world.tenants["charlie-co"])
    assert await every_door(world, caller) == everywhere(("tenant", "charlie-co"))


async def test_a_choice_of_a_tenant_one_is_not_a_member_of_is_the_same_refusal_everywhere(world):
    dave = await sync_to_async(_user)("dave", world.tenants["charlie-co"], world.tenants["alice-co"])
    caller = await sync_to_async(_signed_in)(dave)
    assert await every_door(world, caller, choice="bravo-co") == everywhere(("refused", NOT_A_MEMBER), web=False)
    # The switcher refuses it too, and nothing changes anywhere.
    assert "You are not a member of that workspace." in await switch(caller, world.tenants["bravo-co"])
    assert await every_door(world, caller) == everywhere(("tenant", "alice-co"))


async def test_a_remembered_tenant_one_has_left_since_is_forgotten_everywhere(world):
    dave = await sync_to_async(_user)("dave", world.tenants["charlie-co"], world.tenants["alice-co"])
    caller = await sync_to_async(_signed_in)(dave, remembered=world.tenants["charlie-co"])
    await sync_to_async(Membership.objects.filter(user=dave, tenant=world.tenants["charlie-co"]).delete)()
    assert await every_door(world, caller) == everywhere(("tenant", "alice-co"))


async def test_staff_without_a_membership_get_no_tenant_at_any_door(world):
    root = await sync_to_async(_user)("root", is_staff=True, is_superuser=True)
    caller = await sync_to_async(_signed_in)(root)
    assert await every_door(world, caller) == everywhere(("refused", NO_TENANT))
    # Naming a tenant changes nothing: no membership is checked first (rule 2).
    assert await every_door(world, caller, choice="alice-co") == everywhere(("refused", NO_TENANT), web=False)


async def test_staff_act_for_their_own_tenant_like_anyone_and_never_another(world):
    operator = await sync_to_async(_user)("operator", world.tenants["charlie-co"], is_staff=True)
    caller = await sync_to_async(_signed_in)(operator, remembered=world.tenants["alice-co"])  # never theirs
    assert await every_door(world, caller) == everywhere(("tenant", "charlie-co"))
    assert await every_door(world, caller, choice="alice-co") == everywhere(
        ("refused", "you are not a member of tenant 'alice-co'"), web=False
    )


async def test_a_token_acts_for_its_own_tenant_only_at_every_door(world):
    token, key = await sync_to_async(api_token_create)(tenant=world.tenants["alice-co"], name="bound")
    caller = Caller(token_key=key, token_tenant_id=token.tenant_id, token_id=token.pk)
    assert await every_door(world, caller) == everywhere(("tenant", "alice-co"), web=False)
    assert await every_door(world, caller, choice="alice-co") == everywhere(("tenant", "alice-co"), web=False)
    refusal = "this credential acts for tenant 'alice-co' only, not 'charlie-co'"
    assert await every_door(world, caller, choice="charlie-co") == everywhere(("refused", refusal), web=False)

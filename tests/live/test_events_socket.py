"""/ws/events/: authentication, tenant isolation, replay then live, no polling needed."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from reachly.asgi import application
from reachly.live import tickets
from reachly.orchestration.models import Job
from reachly.orchestration.services import job_cancel, job_pause, job_resume, job_start
from tests.factories import TenantFactory, test_steps

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(autouse=True)
def _plans(plans):
    pass


async def connect(tenant_id=None, ticket=None):
    query = f"?ticket={ticket or tickets.issue(tenant_id=tenant_id)}" if (tenant_id or ticket) else ""
    communicator = WebsocketCommunicator(
        application, f"/ws/events/{query}", headers=[(b"origin", b"http://testserver")]
    )
    connected, code = await communicator.connect()
    return communicator, connected, code


async def receive_all(communicator, timeout=1.0):
    """Everything the server sends until it is quiet for `timeout` seconds.
    (A timeout in receive_json_from would stop the consumer.)"""
    out = []
    while not await communicator.receive_nothing(timeout=timeout):
        out.append(await communicator.receive_json_from())
    return out


async def test_it_refuses_a_socket_without_session_or_ticket_with_the_documented_close_code():
    """Issue 11: the refusal happened at the handshake (an HTTP 403), so the
    documented 4401 never reached a client. Now the socket opens and closes."""
    for ticket in (None, "forged"):
        client, connected, _ = await connect(ticket=ticket)
        assert connected
        assert await client.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}


async def _token_ticket(tenant, http=None):
    import httpx

    from reachly.tenants.services import api_token_create

    token, key = await sync_to_async(api_token_create)(tenant=tenant, name="live")
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post("/api/v1/live/ticket", headers={"Authorization": f"Token {key}"})
    assert response.status_code == 201
    return token, response.json()["ticket"]


async def test_a_ticket_opens_one_socket_and_none_once_its_token_is_revoked():
    from urllib.parse import quote

    from reachly.tenants.services import api_token_revoke

    tenant = await sync_to_async(TenantFactory)()
    token, ticket = await _token_ticket(tenant)
    # Percent-encoded as URLSearchParams writes it (':' -> %3A): accepted.
    first, connected, _ = await connect(ticket=quote(ticket, safe=""))
    assert connected and await first.receive_nothing(timeout=0.2)
    again, _, _ = await connect(ticket=ticket)  # single use
    assert await again.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}

    # Revoking the token closes the socket its ticket opened...
    await sync_to_async(api_token_revoke)(token)
    assert (await first.receive_json_from(timeout=2))["type"] == "error"
    assert await first.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}
    # ...and a ticket issued before the revocation opens nothing.
    token2, ticket2 = await _token_ticket(tenant)
    await sync_to_async(api_token_revoke)(token2)
    late, _, _ = await connect(ticket=ticket2)
    assert await late.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}


async def test_a_client_reconnecting_with_after_seq_gets_exactly_what_it_missed_then_live_events():
    tenant = await sync_to_async(TenantFactory)()
    job = await sync_to_async(job_start)(tenant=tenant, steps=test_steps(2))

    client, connected, _ = await connect(tenant.id)
    assert connected
    await client.send_json_to({"action": "subscribe", "job": job.id, "after_seq": 0})
    first = await receive_all(client, timeout=0.5)
    assert [e.get("seq") for e in first if e["type"] != "subscribed"] == [1]
    await client.disconnect()

    # Offline: three state changes happen.
    await sync_to_async(job_pause)(job)
    await sync_to_async(job_resume)(await sync_to_async(Job.objects.get)(pk=job.pk))
    await sync_to_async(job_pause)(await sync_to_async(Job.objects.get)(pk=job.pk))

    client, connected, _ = await connect(tenant.id)
    await client.send_json_to({"action": "subscribe", "job": job.id, "after_seq": 1})
    replayed = await receive_all(client, timeout=0.5)
    events = [e for e in replayed if e["type"] != "subscribed"]
    assert [e["seq"] for e in events] == [2, 3, 4]
    assert [e["status"] for e in events] == ["paused", "running", "paused"]
    assert replayed[-1] == {"type": "subscribed", "job": job.id, "seq": 4}

    # Then live ones, once each.
    await sync_to_async(job_cancel)(await sync_to_async(Job.objects.get)(pk=job.pk))
    live = await receive_all(client, timeout=1.0)
    assert [(e["seq"], e["type"], e["status"]) for e in live] == [(5, "job.status", "cancelled")]
    await client.disconnect()


async def test_a_client_never_sees_another_tenants_job_or_tenant():
    alice, charlie = await sync_to_async(TenantFactory)(), await sync_to_async(TenantFactory)()
    alices_job = await sync_to_async(job_start)(tenant=alice, steps=test_steps(1))

    client, connected, _ = await connect(charlie.id)
    assert connected
    await client.send_json_to({"action": "subscribe", "job": alices_job.id})
    assert (await client.receive_output(timeout=1))["code"] == 4403

    client, _, _ = await connect(charlie.id)
    await client.send_json_to({"action": "subscribe", "tenant": alice.id})
    assert (await client.receive_output(timeout=1))["code"] == 4403


async def test_a_tenant_subscription_gets_a_snapshot_then_status_changes():
    tenant = await sync_to_async(TenantFactory)()
    job = await sync_to_async(job_start)(tenant=tenant, steps=test_steps(3), name="nightly")
    client, _, _ = await connect(tenant.id)
    await client.send_json_to({"action": "subscribe", "tenant": tenant.id})
    hello = await client.receive_json_from(timeout=1)
    assert hello["type"] == "subscribed"
    assert [(j["job"], j["name"], j["progress"]["total"]) for j in hello["jobs"]] == [(job.id, "nightly", 3)]

    await sync_to_async(job_pause)(job)
    event = await client.receive_json_from(timeout=1)
    assert (event["type"], event["job"], event["status"]) == ("job.status", job.id, "paused")
    await client.disconnect()


async def test_bad_messages_get_an_error_not_a_crash():
    tenant = await sync_to_async(TenantFactory)()
    client, _, _ = await connect(tenant.id)
    await client.send_json_to({"action": "dance"})
    assert (await client.receive_json_from(timeout=1))["type"] == "error"
    await client.send_json_to({"action": "subscribe", "job": "nope"})
    assert "bad subscription" in (await client.receive_json_from(timeout=1))["message"]
    await client.disconnect()


async def test_an_api_client_trades_its_token_for_a_short_lived_ticket():
    import httpx

    from reachly.tenants.services import api_token_create

    tenant = await sync_to_async(TenantFactory)()
    job = await sync_to_async(job_start)(tenant=tenant, steps=test_steps(1))
    _, key = await sync_to_async(api_token_create)(tenant=tenant, name="live")
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.post("/api/v1/live/ticket", headers={"Authorization": f"Token {key}"})
        refused = await http.post("/api/v1/live/ticket")
    assert response.status_code == 201 and refused.status_code == 401
    body = response.json()
    assert body["expires_in"] == 60 and key not in body["url"]

    client, connected, _ = await connect(ticket=body["ticket"])
    assert connected
    await client.send_json_to({"action": "subscribe", "job": job.id})
    assert (await client.receive_json_from(timeout=1))["seq"] == 1
    await client.disconnect()


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        '{"action": "subscribe", "job": Infinity}',
        '{"action": "subscribe", "job": 1e400}',
        '{"action": "subscribe", "job": "\\ud800"}',
        "[" * 100_000 + "]" * 100_000,
    ],
)
async def test_a_frame_that_is_not_acceptable_json_gets_an_error_frame_and_a_close_code(frame):
    """Issue 11: these dropped the connection without a close code."""
    tenant = await sync_to_async(TenantFactory)()
    client, _, _ = await connect(tenant.id)
    await client.send_to(text_data=frame)
    reply = await client.receive_json_from(timeout=2)
    assert reply["type"] == "error" and "not acceptable JSON" in reply["message"]
    closed = await client.receive_output(timeout=2)
    assert closed == {"type": "websocket.close", "code": 4400}


@pytest.mark.parametrize("job", [1.5, True, -3, "12abc", 10**30])
async def test_ids_that_are_not_whole_numbers_are_refused_not_rounded(job):
    tenant = await sync_to_async(TenantFactory)()
    client, _, _ = await connect(tenant.id)
    await client.send_json_to({"action": "subscribe", "job": job})
    reply = await client.receive_json_from(timeout=2)
    assert reply["type"] == "error" and "bad subscription: job must be" in reply["message"]
    await client.disconnect()


async def test_one_token_cannot_hold_more_live_sockets_than_its_cap(settings):
    """Issue 11: 100 SSE streams and 100 sockets from one token took a web
    process to 57 database connections. Past the cap: an error frame and 4429."""
    settings.REACHLY_LIVE_CONNECTIONS_PER_PRINCIPAL = 2
    tenant = await sync_to_async(TenantFactory)()
    token, first_ticket = await _token_ticket(tenant)
    tickets_ = [first_ticket] + [
        await sync_to_async(tickets.issue)(tenant_id=tenant.id, token_id=token.pk) for _ in range(3)
    ]
    one, ok1, _ = await connect(ticket=tickets_[0])
    two, ok2, _ = await connect(ticket=tickets_[1])
    assert ok1 and ok2 and await two.receive_nothing(timeout=0.2)
    three, _, _ = await connect(ticket=tickets_[2])
    assert "too many open live connections" in (await three.receive_json_from(timeout=2))["message"]
    assert await three.receive_output(timeout=2) == {"type": "websocket.close", "code": 4429}
    await one.disconnect()  # a slot is free again
    four, _, _ = await connect(ticket=tickets_[3])
    assert await four.receive_nothing(timeout=0.3)
    await two.disconnect()
    await four.disconnect()

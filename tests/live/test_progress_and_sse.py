"""Progress coalescing across the cluster, and the SSE fallback."""

import asyncio
import json

import httpx
import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from reachly.asgi import application
from reachly.live import groups
from reachly.live.publisher import ProgressCoalescer
from reachly.orchestration.models import Job
from reachly.orchestration.services import job_cancel, job_pause, job_resume, job_start
from reachly.tenants.services import api_token_create
from tests.factories import TenantFactory, test_steps

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(autouse=True)
def _plans(plans):
    pass


async def test_progress_is_coalesced_to_a_few_per_second_and_the_last_value_arrives():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(groups.tenant(99), channel)
    # Two coalescers: two worker processes publishing progress for one job.
    workers = [ProgressCoalescer(), ProgressCoalescer()]

    sent = []
    for seq in range(1, 201):  # a burst of 200 step completions
        event = {"job": 5, "tenant": 99, "seq": seq, "ts": "t", "progress": {"done": seq, "total": 200}}
        out = workers[seq % 2].offer(event)
        if out is not None:
            sent.append(out)
            await layer.group_send(groups.tenant(99), {"type": "live.event", "event": out, "via": "tenant"})

    received = []
    while True:
        try:
            message = await asyncio.wait_for(layer.receive(channel), timeout=1.0)
        except TimeoutError:
            break
        received.append(message["event"])
    # Coalesced: a handful of events for 200 offers (the first, then what the
    # interval lets through); no timing is asserted (benchmarks/ measure it).
    assert len(received) <= 10, [e["seq"] for e in received]
    assert received[-1]["progress"]["done"] == 200, "the final progress must arrive"
    seqs = [e["seq"] for e in received]
    assert seqs == sorted(seqs), "never an older value after a newer one"


async def _stream(token_key: str, path: str):
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get(path, headers={"Authorization": f"Token {token_key}"}, timeout=10)
    events = []
    for block in response.text.split("\n\n"):
        data = [line[6:] for line in block.splitlines() if line.startswith("data: ")]
        if data:
            events.append(json.loads(data[0]))
    return response, events


async def test_the_sse_stream_replays_after_a_sequence_number_then_follows_live_until_the_end():
    tenant = await sync_to_async(TenantFactory)()
    _, key = await sync_to_async(api_token_create)(tenant=tenant, name="sse")
    job = await sync_to_async(job_start)(tenant=tenant, steps=test_steps(2))
    await sync_to_async(job_pause)(job)
    await sync_to_async(job_resume)(await sync_to_async(Job.objects.get)(pk=job.pk))

    async def cancel_soon():
        await asyncio.sleep(0.8)
        await sync_to_async(job_cancel)(await sync_to_async(Job.objects.get)(pk=job.pk))

    canceller = asyncio.create_task(cancel_soon())
    response, events = await _stream(key, f"/api/v1/jobs/{job.id}/stream?after_seq=1")
    await canceller
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert [(e["seq"], e["status"]) for e in events] == [(2, "paused"), (3, "running"), (4, "cancelled")]


async def test_the_sse_stream_is_tenant_scoped_and_authenticated():
    alice, charlie = await sync_to_async(TenantFactory)(), await sync_to_async(TenantFactory)()
    _, charlies_key = await sync_to_async(api_token_create)(tenant=charlie, name="c")
    job = await sync_to_async(job_start)(tenant=alice, steps=test_steps(1))
    response, _ = await _stream(charlies_key, f"/api/v1/jobs/{job.id}/stream")
    assert response.status_code == 404
    response, _ = await _stream("rly_nope_nope", f"/api/v1/jobs/{job.id}/stream")
    assert response.status_code == 401
    # The API's own authentication answers (issue 10): its code for a bad token.
    assert response.json()["error"]["code"] == "authentication_failed"
    assert response.headers["WWW-Authenticate"] == "Token"


async def test_an_sse_stream_of_a_running_job_ends_after_its_maximum_and_tells_the_client_to_reconnect(settings):
    settings.REACHLY_SSE_MAX_SECONDS = 0.5
    tenant = await sync_to_async(TenantFactory)()
    _, key = await sync_to_async(api_token_create)(tenant=tenant, name="sse")
    job = await sync_to_async(job_start)(tenant=tenant, steps=test_steps(1))
    # The stream ends on its own (the client's 10 s timeout would fail it otherwise).
    response, events = await _stream(key, f"/api/v1/jobs/{job.id}/stream")
    assert response.text.startswith("retry: ")
    assert [e["seq"] for e in events] == [1], "the events so far, then the end"


async def test_an_sse_stream_past_the_tokens_cap_is_a_429_with_retry_after(settings):
    from reachly.live import connections

    settings.REACHLY_LIVE_CONNECTIONS_PER_PRINCIPAL = 1
    tenant = await sync_to_async(TenantFactory)()
    token, key = await sync_to_async(api_token_create)(tenant=tenant, name="sse-cap")
    job = await sync_to_async(job_start)(tenant=tenant, steps=test_steps(1))
    held = await sync_to_async(connections.open_lease)(tenant_id=tenant.id, principal=f"token:{token.pk}")
    try:
        response, _ = await _stream(key, f"/api/v1/jobs/{job.id}/stream")
    finally:
        await sync_to_async(connections.close_lease)(held)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "throttled"


def _other_backends() -> int:
    """PostgreSQL connections to this test database but this one (the test
    database is the session's own, test_reachly_<pid>)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


async def test_an_idle_sse_stream_holds_no_database_connection(settings):
    """Issue 11: a stream kept the request's connection for its whole life
    (up to REACHLY_SSE_MAX_SECONDS), so a few idle clients held the web
    process's pool. While it waits for events it must hold none."""
    from django.db import connection

    settings.REACHLY_SSE_MAX_SECONDS = 3
    tenant = await sync_to_async(TenantFactory)()
    _, key = await sync_to_async(api_token_create)(tenant=tenant, name="sse-idle")
    job = await sync_to_async(job_start)(tenant=tenant, steps=test_steps(1))  # running: the stream waits
    # The setup's own connection, in asgiref's shared thread (`connection`
    # looked up there: it is per thread).
    await sync_to_async(lambda: connection.close())()
    before = await sync_to_async(_other_backends)()

    stream = asyncio.create_task(_stream(key, f"/api/v1/jobs/{job.id}/stream"))
    await asyncio.sleep(1.0)  # authenticated, replayed (a database read), now waiting
    assert not stream.done()
    idle = await sync_to_async(_other_backends)()
    response, events = await stream
    assert response.status_code == 200 and [e["seq"] for e in events] == [1]
    assert idle == before, f"the idle stream held {idle - before} database connection(s)"

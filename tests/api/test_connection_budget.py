"""Issue 11, section 2: under ASGI with the default settings, each
concurrent request thread kept its own PostgreSQL connection (40 concurrent
GET /api/v1/agents/ left one web process holding 37). The web process now
shares a bounded pool: a real uvicorn process, 60 concurrent requests, and
its connections counted in pg_stat_activity."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import connection

from devtools.processes import free_port, wait_for
from reachly.tenants.models import Membership
from reachly.tenants.services import api_token_create, membership_add
from tests.factories import TenantFactory, UserFactory

pytestmark = pytest.mark.workers


def _connections(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
            [connection.settings_dict["NAME"], application_name],
        )
        return int(cursor.fetchone()[0])


def test_a_web_process_holds_at_most_its_pool_whatever_the_concurrency(workers):
    tenant = TenantFactory()
    user = UserFactory()
    user.save()
    membership_add(tenant=tenant, user=user, role=Membership.Role.OWNER)
    _, key = api_token_create(tenant=tenant, name="budget", created_by=user)
    port = free_port()
    name = "reachly-web-budget"
    workers.spawn(
        "web",
        [sys.executable, "-m", "uvicorn", "reachly.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning"],
        extra_env={"DB_APPLICATION_NAME": name, "DB_WEB_POOL_MAX": "4", "REACHLY_API_THROTTLE_RATE": "100000/min"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/api/v1/agents/"
    headers = {"Authorization": f"Token {key}"}

    def ok() -> bool:
        try:
            return httpx.get(url, headers=headers, timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(ok, timeout=60, interval=0.2, what="the web server")
    peak = 0
    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(60) as pool:
        futures = [pool.submit(client.get, url, headers=headers) for _ in range(240)]
        while not all(f.done() for f in futures):
            peak = max(peak, _connections(name))
        statuses = {f.result().status_code for f in futures}
    assert statuses == {200}
    assert 1 <= peak <= 4
    assert _connections(name) <= 4

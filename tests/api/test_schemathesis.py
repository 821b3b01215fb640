"""Schemathesis over the whole OpenAPI schema, against a real web process.

The server is uvicorn running reachly.asgi as the Procfile does, with the
settings' defaults: throttling at REACHLY_API_THROTTLE_RATE (1200/min, not
the API tests' generous rate) and the web process's DATABASES (its psycopg
pool, server-side binding), not the test process's. Only the database name,
Redis and the test timings differ (tests/conftest.py). Its data is
committed (transactional tests), since the server is another process.

Every operation gets bounded, derandomized examples (so CI runs are
repeatable) with Alice's token; ids in paths point at Alice's real objects
most of the time (else at random ids), so PATCH, DELETE, import and control
run on real rows. Checks: no 5xx, documented status codes and content
types, responses and headers that match their schemas. Then every operation
once more with Alice's request rate used up: a documented 429 with the
error body and Retry-After.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from django.conf import settings
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import load_all_checks

from devtools.processes import Processes, free_port, wait_for
from reachly import limiter
from reachly.campaigns.accounts import sender_account_create
from reachly.campaigns.services import campaign_create
from reachly.orchestration.graph import StepSpec
from reachly.orchestration.services import job_start
from reachly.tenants.services import api_token_create
from reachly.webhooks.services import webhook_endpoint_create
from reachly.wsgi import application

# Per operation; ~1 minute for the whole schema on a 2-core machine.
EXAMPLES = 15

load_all_checks()
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
]

# The rate the server runs with, read before tests/api/conftest.py's generous
# override applies to this process.
PRODUCTION_RATE = settings.REACHLY_API_THROTTLE_RATE

# Variables that would make the server's throttle or database settings
# differ from the defaults this test is about.
_NOT_DEFAULT = ("DB_", "REACHLY_API_THROTTLE_RATE", "REACHLY_PROCESS")


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, test_environment, tmp_path_factory) -> Iterator[str]:
    """A uvicorn process on the test database, its base URL (stopped after
    the module). Fails when the environment overrides a throttle or
    database setting, since the run would then not be of the defaults."""
    # REACHLY_PROCESS=web is what the server sets for itself (reachly/asgi.py),
    # and what this process holds once a test has imported reachly.asgi.
    overridden = sorted(
        k for k in os.environ if k.startswith(_NOT_DEFAULT) and not (k == "REACHLY_PROCESS" and os.environ[k] == "web")
    )
    if overridden:
        pytest.fail(f"schemathesis runs on the default settings; unset {', '.join(overridden)}")
    with django_db_blocker.unblock():
        from django.db import connection

        db_name = connection.settings_dict["NAME"]
    env = {
        **test_environment,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db_name}",
        "REACHLY_SSE_MAX_SECONDS": "0.2",  # the job stream of a running job ends
        "LOG_LEVEL": "WARNING",
    }
    procs = Processes(env, tmp_path_factory.mktemp("web"))
    port = free_port()
    web = procs.spawn(
        "web",
        [sys.executable, "-m", "uvicorn", "reachly.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning"],
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code < 500
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, timeout=60, interval=0.2, what="uvicorn")
    except TimeoutError:
        procs.stop_all()
        pytest.fail(f"uvicorn did not start:\n{web.tail()}")
    yield base
    procs.stop_all()


@pytest.fixture
def world(alice, server):
    """Alice's objects, one per kind of path (so a DELETE early on does not
    leave the other operations without a target), committed for the server."""
    tenant = alice.tenant
    account = sender_account_create(tenant=tenant, name="Fuzz", login="fuzz@example.com")
    detail_campaign = campaign_create(tenant=tenant, name="Detail")
    child_campaign = campaign_create(tenant=tenant, name="Children")
    job = job_start(tenant=tenant, steps=[StepSpec("a", "test"), StepSpec("b", "test", depends_on=["a"])])
    endpoint, _ = webhook_endpoint_create(tenant=tenant, url="https://example.com/hook", events=["job.completed"])
    spare, _ = api_token_create(tenant=tenant, name="spare")
    targets = {
        "/api/v1/sender-accounts/{id}/": account.pk,
        "/api/v1/campaigns/{id}/": detail_campaign.pk,
        "/api/v1/webhooks/{id}/": endpoint.pk,
        "/api/v1/api-tokens/{id}/": spare.pk,
    }
    return {
        "key": alice.key,
        "token": alice.token.pk,
        "targets": targets,
        "campaign": child_campaign.pk,
        "job": job.pk,
        "base": server,
    }


# Loaded at collection from the app itself (generating it reads no
# database); the requests then go to the server over HTTP.
schema = schemathesis.openapi.from_dict(
    schemathesis.openapi.from_wsgi("/api/schema/?format=json", application).raw_schema
)


def _real_id(path: str, world: dict) -> int | None:
    if path in world["targets"]:
        return world["targets"][path]
    if path.startswith("/api/v1/campaigns/{id}/"):
        return world["campaign"]
    if path.startswith("/api/v1/jobs/{id}"):
        return world["job"]
    return None


def _aim(case, world: dict) -> None:
    path_id = (case.path_parameters or {}).get("id")
    if isinstance(path_id, int) and path_id % 7 != 1:
        real = _real_id(case.operation.path, world)
        if real is not None:
            case.path_parameters["id"] = real


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.django_db(transaction=True)
def test_every_operation_answers_within_its_schema_and_never_5xx(case, world):
    _aim(case, world)
    case.call_and_validate(
        base_url=world["base"], headers={"Authorization": f"Token {world['key']}"}, checks=CHECKS, timeout=30
    )


@pytest.mark.django_db(transaction=True)
def test_every_operation_throttled_answers_its_documented_429(world):
    # The production rate, used up in one weighted use of the same window
    # the throttle counts (api/throttling.py), instead of 1,200 requests.
    rate = limiter.window_from_rate(f"api:token:{world['token']}", PRODUCTION_RATE)
    limiter.acquire([dataclasses.replace(rate, weight=rate.limit)])
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    for operation in operations:
        # The throttle answers before the view reads a body or an id, so one
        # case with a real id (where the path has one) is each operation's.
        path_parameters = {"id": _real_id(operation.path, world) or 1} if "{id}" in operation.path else None
        case = operation.Case(path_parameters=path_parameters)
        response = case.call_and_validate(
            base_url=world["base"], headers={"Authorization": f"Token {world['key']}"}, checks=CHECKS, timeout=30
        )
        assert response.status_code == 429, (operation.label, response.text)
        assert int(response.headers["retry-after"][0]) >= 1  # schemathesis: lower-case names, lists of values
        assert response.json()["error"]["code"] == "throttled"

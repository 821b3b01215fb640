"""Issue 11, section 3: no input gets a 500. Bodies PostgreSQL could not
store (lone surrogates, non-finite numbers, deep nesting) are a 400 naming
where; large imports fit the one body limit; a database that is down is a
JSON 503 with Retry-After. A property test throws generated bodies and
query parameters at the API and asserts no 5xx."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reachly.campaigns.models import Lead
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def post_raw(persona, path: str, text: str):
    return persona.client.post(
        persona.url(path), data=text.encode("utf-8", "surrogatepass"), content_type="application/json"
    )


def error(response) -> dict:
    return response.json()["error"]


@pytest.mark.parametrize(
    ("path", "text", "field"),
    [
        # Each answered 500 before (invalid input syntax for type json / UnicodeEncodeError in COPY).
        ("campaigns/", '{"name": "x", "settings": {"note": "\\ud800"}}', "settings.note"),
        (
            "jobs/",
            '{"name": "x", "steps": [{"key": "a", "agent": "test", "input": {"k": "\\udfff"}}]}',
            "steps[0].input.k",
        ),
        ("campaigns/", '{"name": "\\ud83d", "settings": {}}', "name"),
    ],
)
def test_a_lone_surrogate_is_a_400_naming_the_field(alice, path, text, field):
    response = post_raw(alice, path, text)
    assert response.status_code == 400, response.content
    assert field in error(response)["details"], error(response)
    assert "surrogate" in error(response)["details"][field][0]


def test_a_lone_surrogate_in_an_imported_row_is_a_400_naming_the_row_and_field(alice):
    campaign = CampaignFactory(tenant=alice.tenant)
    text = (
        '[{"profile_url": "https://sandbox.test/in/a", "first_name": "Ann"},'
        ' {"profile_url": "https://sandbox.test/in/b", "first_name": "\\ud800"}]'
    )
    response = post_raw(alice, f"campaigns/{campaign.pk}/leads/import", text)
    assert response.status_code == 400
    assert "[1].first_name" in error(response)["details"]
    assert not Lead.objects.filter(campaign=campaign).exists()


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "x", "settings": {"n": Infinity}}',
        '{"name": "x", "settings": {"n": NaN}}',
        '{"name": "x", "settings": {"n": 1e400}}',
        '{"name": "x", "settings": ' + "[" * 100_000 + "]" * 100_000 + "}",  # RecursionError before
        '{"name": "x", "settings": {"n": ' + "9" * 5000 + "}}",
        '{"name": "x",',
    ],
)
def test_json_that_cannot_be_stored_is_a_400_not_a_500(alice, text):
    response = post_raw(alice, "campaigns/", text)
    assert response.status_code == 400, response.content[:300]
    assert error(response)["code"] in ("parse_error", "invalid")


def test_a_json_import_larger_than_djangos_default_limit_is_accepted(alice):
    """30,000 rows (~3 MB) answered `400 Bad request.` under Django's 2.5 MB default."""
    campaign = CampaignFactory(tenant=alice.tenant)
    rows = [
        {"profile_url": f"https://sandbox.test/in/lead-{i}", "first_name": f"Lead {i}", "company": "Acme"}
        for i in range(30_000)
    ]
    body = json.dumps(rows)
    assert len(body) > 2.5 * 1024 * 1024
    response = alice.client.post(
        alice.url(f"campaigns/{campaign.pk}/leads/import"), data=body, content_type="application/json"
    )
    assert response.status_code == 200, response.content[:300]
    assert response.json()["created"] == 30_000


def test_a_body_over_the_limit_is_a_413_naming_the_limit(alice, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post_raw(alice, "campaigns/", json.dumps({"name": "x", "settings": {"pad": "x" * 2000}}))
    assert response.status_code == 413
    assert error(response)["details"]["max_bytes"] == 1000


def test_a_database_that_is_down_is_a_json_503_with_retry_after(alice):
    """PostgreSQL unreachable (here: the connection pointed at a closed port)."""
    connection.ensure_connection()
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = "1"
    try:
        response = alice.client.get(alice.url("campaigns/"))
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert error(response)["code"] == "unavailable"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
raw_text = st.text(alphabet=st.characters(codec=None), max_size=60)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(["campaigns/", "jobs/", "sender-accounts/", "webhooks/", "api-tokens/"]),
    body=st.one_of(
        st.dictionaries(
            st.sampled_from(["name", "settings", "steps", "input", "url", "events", "network", "login"]), json_values
        ),
        json_values,
        raw_text.map(lambda t: '{"name": "' + t.replace("\\", "\\\\").replace('"', '\\"') + '"}'),
    ),
)
def test_no_generated_body_gets_a_server_error(alice, path, body):
    text = body if isinstance(body, str) else json.dumps(body)
    response = post_raw(alice, path, text)
    assert response.status_code < 500, (path, text[:200], response.content[:300])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(["campaigns/", "jobs/", "usage/", "agents/", "sender-accounts/"]),
    params=st.dictionaries(
        st.sampled_from(
            ["page_size", "cursor", "status", "created_after", "created_before", "system", "campaign", "tz"]
        ),
        st.one_of(
            st.text(max_size=30),
            st.sampled_from(["2026-01-01T00:00:00+23:59", "2026-01-01T00:00:00-16:00", "abc", "-1", "1e400", "\ud800"]),
        ),
        max_size=3,
    ),
)
def test_no_generated_query_gets_a_server_error(alice, path, params):
    params = {k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k, v in params.items()}
    response = alice.client.get(alice.url(path), params)
    assert response.status_code < 500, (path, params, response.content[:300])

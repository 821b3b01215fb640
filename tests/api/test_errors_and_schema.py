"""One error body everywhere, and an OpenAPI 3 schema that covers every endpoint."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from reachly.api.live import stream_position
from reachly.orchestration.services import job_start
from tests.api.conftest import error
from tests.api.test_isolation import api_patterns, methods_of
from tests.factories import test_steps

pytestmark = pytest.mark.django_db


def test_unknown_urls_and_methods_answer_the_error_body(alice):
    missing = alice.client.get("/api/v1/no-such-thing/")
    assert missing.status_code == 404 and error(missing)["code"] == "not_found"
    assert "/api/v1/no-such-thing/" in error(missing)["message"]
    not_an_id = alice.client.get("/api/v1/jobs/12345678901234567890/")
    assert not_an_id.status_code == 404 and error(not_an_id)["code"] == "not_found"
    wrong_method = alice.client.put("/api/v1/campaigns/", {}, format="json")
    assert wrong_method.status_code == 405 and error(wrong_method)["code"] == "method_not_allowed"
    unsupported = alice.client.post("/api/v1/campaigns/", "name=x", content_type="text/plain")
    assert unsupported.status_code == 415 and error(unsupported)["code"] == "unsupported_media_type"


def test_validation_errors_name_nested_fields(alice):
    response = alice.client.post(
        "/api/v1/jobs/",
        {"steps": [{"key": "ok", "agent": "test"}, {"key": 5, "agent": "test", "depends_on": "x"}]},
        format="json",
    )
    err = error(response)
    assert response.status_code == 400 and err["code"] == "invalid"
    assert "steps[1].depends_on" in err["details"]
    assert err["message"].startswith("steps[1].")


def test_the_schema_is_valid_openapi_3_and_documents_every_endpoint_and_method():
    response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    validate(schema)
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": schema["components"]["securitySchemes"]["tokenAuth"]["description"],
    }
    for pattern in api_patterns():
        kwargs = {"pk": 0} if "pk" in pattern.pattern.regex.groupindex else {}
        path = reverse(pattern.name, kwargs=kwargs).replace("/0/", "/{id}/").replace("/0", "/{id}")
        assert path in schema["paths"], path
        for method in methods_of(pattern):
            operation = schema["paths"][path][method]
            assert (
                "200" in operation["responses"] or "201" in operation["responses"] or "204" in operation["responses"]
            ), (method, path)
            for code in ("401", "429"):
                ref = operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/Error", (method, path, code)


def test_the_docs_page_is_served_without_the_internet():
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page and "/api/schema/" in page and "cdn" not in page.lower()


@pytest.mark.django_db
def test_a_missing_slash_is_a_json_308_that_keeps_the_method_and_body(alice):
    """Issue 11: `POST /api/v1/campaigns` answered an HTML 301 (the body is lost on a 301)."""
    response = alice.client.post("/api/v1/campaigns?x=1", {"name": "n"}, format="json")
    assert response.status_code == 308
    assert response["Location"] == "/api/v1/campaigns/?x=1"
    assert response.json()["error"]["details"]["location"] == "/api/v1/campaigns/?x=1"


@pytest.mark.django_db
def test_another_method_on_the_event_stream_is_a_json_405(alice):
    """Issue 11: POST answered Django's HTML CSRF page."""
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/api/v1/jobs/1/stream")
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_bad_integer_and_boolean_query_parameters_are_400s_naming_them(alice):
    """Regression (issue 11): page_size=abc and system=maybe were ignored
    without a word, answering a list the client did not ask for."""
    for query, field in [
        ("page_size=abc", "page_size"),
        ("page_size=0", "page_size"),
        ("page_size=5000", "page_size"),
        ("page_size=-1", "page_size"),
        ("system=maybe", "system"),
        ("campaign=abc", "campaign"),
    ]:
        response = alice.client.get(f"/api/v1/jobs/?{query}")
        assert response.status_code == 400, query
        assert field in error(response)["details"], query
    assert alice.client.get("/api/v1/jobs/?page_size=1000&system=FALSE").status_code == 200
    assert alice.client.get("/api/v1/jobs/?system=1").status_code == 200


def test_a_created_after_offset_beyond_postgresqls_range_is_compared_in_utc(alice):
    """Regression (issue 11): +20:00 is valid ISO 8601 and was a 500 through
    PgBouncer (PostgreSQL takes offsets up to ±15:59)."""
    alice.client.post("/api/v1/jobs/", {"steps": [{"key": "a", "agent": "test"}]}, format="json")
    early = alice.client.get("/api/v1/jobs/", {"created_after": "2026-01-01T00:00:00+20:00"})
    late = alice.client.get("/api/v1/jobs/", {"created_before": "2026-01-01T00:00:00-23:59"})
    assert early.status_code == late.status_code == 200
    assert len(early.json()["results"]) == 1 and late.json()["results"] == []


def test_the_schema_says_what_the_server_accepts_and_returns():
    schema = json.loads(APIClient().get("/api/schema/?format=json").content)
    components = schema["components"]["schemas"]
    for serializer in ("SenderAccountInputRequest", "CampaignInputRequest"):
        assert components[serializer]["properties"]["timezone"]["allOf"] == [
            {"$ref": "#/components/schemas/TimezoneEnum"}
        ]
    zones = components["TimezoneEnum"]["enum"]
    assert "Europe/Paris" in zones and "Mars/Olympus" not in zones
    # A lead without an e-mail address has "" (not a `format: email` string).
    email = components["LeadOutput"]["properties"]["email"]
    assert email.get("format") is None and {"maxLength": 0} in email["anyOf"]


def test_the_event_streams_schema_declares_its_positions_bounds_and_its_400_and_429():
    """Issue 11: `after_seq` had no minimum, Last-Event-ID was not said, and
    the 400/429 the stream answers were not declared with the error body."""
    schema = json.loads(APIClient().get("/api/schema/?format=json").content)
    operation = schema["paths"]["/api/v1/jobs/{id}/stream"]["get"]
    parameters = {(p["in"], p["name"]): p for p in operation["parameters"]}
    for where, name in [("query", "after_seq"), ("header", "Last-Event-ID")]:
        assert parameters[(where, name)]["schema"] == {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}
        assert not parameters[(where, name)].get("required")
    for code in ("400", "429"):
        body = operation["responses"][code]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/Error"}, code
    assert "live connections" in operation["responses"]["429"]["description"]
    assert list(operation["responses"]["200"]["content"]) == ["text/event-stream"]


@pytest.mark.parametrize(
    ("query", "header", "field"),
    [
        ("after_seq=-1", None, "after_seq"),
        ("after_seq=abc", None, "after_seq"),
        ("after_seq=1e3", None, "after_seq"),
        (f"after_seq={10**18}", None, "after_seq"),  # past the bigint's range the schema allows
        ("", "-5", "Last-Event-ID"),
        ("after_seq=3", "x", "Last-Event-ID"),
    ],
)
def test_a_bad_stream_position_is_a_400_naming_it_as_the_schema_says(alice, query, header, field):
    job = job_start(tenant=alice.tenant, steps=test_steps(1))
    extra = {"HTTP_LAST_EVENT_ID": header} if header is not None else {}
    response = alice.client.get(f"/api/v1/jobs/{job.pk}/stream?{query}", **extra)
    assert response.status_code == 400, response.content
    assert field in error(response)["details"]


def test_a_stream_resumes_after_the_larger_of_after_seq_and_last_event_id():
    """A reconnecting EventSource keeps its first URL's `after_seq` and sends
    the newer Last-Event-ID: the larger wins, or events would come twice."""
    assert stream_position(None, None) == 0 and stream_position("", " ") == 0
    assert stream_position("3", None) == 3 and stream_position(None, "7") == 7
    assert stream_position("3", "7") == 7 and stream_position("9", "7") == 9

"""POST /campaigns/{id}/leads/import: every format rule, through the API.

CSV files are sent as real multipart uploads (field `file`), JSON as a list.
"""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.test import override_settings

from reachly.campaigns.accounts import sender_account_create
from reachly.campaigns.imports import lead_import_preview
from reachly.campaigns.models import Lead
from reachly.campaigns.services import campaign_create
from tests.api.conftest import error

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(alice):
    return campaign_create(tenant=alice.tenant, name="Imports")


def upload(persona, campaign, content: bytes, name: str = "leads.csv"):
    f = io.BytesIO(content)
    f.name = name
    return persona.client.post(f"/api/v1/campaigns/{campaign.pk}/leads/import", {"file": f}, format="multipart")


def leads(campaign) -> dict[str, Lead]:
    return {lead.profile_url: lead for lead in Lead.objects.filter(campaign=campaign)}


def test_it_imports_a_utf8_csv_with_aliases_in_any_case_and_keeps_other_columns(alice, campaign):
    csv = (
        b"LinkedIn URL,First Name,LAST_NAME,Company,Job Title,E-mail,Team,Favourite Colour\n"
        b"https://www.sandbox.test/in/ada/,Ada,Lovelace,Analytical Engines,CTO,ada@example.com,R&D,green\n"
        b"sandbox.test/in/grace?utm=x,Grace,Hopper,Navy,Admiral,,,\n"
    )
    response = upload(alice, campaign, csv)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body | {"errors": None, "format": None} == {
        "rows": 2,
        "created": 2,
        "duplicates": 0,
        "rejected": 0,
        "errors": None,
        "errors_truncated": False,
        "format": None,
        "warnings": [],  # a clean UTF-8 file: nothing guessed
    }
    assert body["format"] == {"encoding": "utf-8", "delimiter": ","}
    found = leads(campaign)
    ada = found["https://sandbox.test/in/ada"]  # www. dropped: one spelling per profile (issue 11)
    assert (ada.first_name, ada.last_name, ada.full_name) == ("Ada", "Lovelace", "Ada Lovelace")
    assert (ada.company, ada.title, ada.email) == ("Analytical Engines", "CTO", "ada@example.com")
    assert ada.custom_fields == {"Team": "R&D", "Favourite Colour": "green"}
    assert ada.tenant == alice.tenant and ada.status == "new"
    grace = found["https://sandbox.test/in/grace"]
    assert grace.custom_fields == {}


def test_it_reads_a_utf8_file_with_a_bom_and_semicolons(alice, campaign):
    csv = "\ufeffprofile_url;name;company\nhttps://sandbox.test/in/zoe;Zoë Ångström;Société Générale\n"
    response = upload(alice, campaign, csv.encode("utf-8"))
    assert response.status_code == 200, response.content
    assert response.json()["format"] == {"encoding": "utf-8-sig", "delimiter": ";"}
    zoe = leads(campaign)["https://sandbox.test/in/zoe"]
    assert (zoe.full_name, zoe.first_name, zoe.last_name) == ("Zoë Ångström", "Zoë", "Ångström")
    assert zoe.company == "Société Générale"


def test_it_reads_a_latin1_windows_file(alice, campaign):
    csv = "url;full name;company;notes\r\nhttps://sandbox.test/in/rene;René Müller;Crème & Brûlée;price 5€\r\n"
    response = upload(alice, campaign, csv.encode("cp1252"))
    assert response.status_code == 200, response.content
    assert response.json()["format"] == {"encoding": "cp1252", "delimiter": ";"}
    rene = leads(campaign)["https://sandbox.test/in/rene"]
    assert rene.full_name == "René Müller" and rene.company == "Crème & Brûlée"
    assert rene.custom_fields == {"notes": "price 5€"}


def test_it_reads_plain_latin1_bytes_that_windows_1252_leaves_undefined(alice, campaign):
    raw = b"url,name\nhttps://sandbox.test/in/x,Jos\xe9 \x81\n"
    response = upload(alice, campaign, raw)
    assert response.status_code == 200
    assert leads(campaign)["https://sandbox.test/in/x"].full_name == "José \x81"


def test_it_reads_tabs_and_quoted_fields_with_delimiters_and_newlines(alice, campaign):
    csv = 'url\tname\tbio\nhttps://sandbox.test/in/q\t"Quoted, Name"\t"line one\nline two"\n'
    response = upload(alice, campaign, csv.encode())
    assert response.status_code == 200, response.content
    lead = leads(campaign)["https://sandbox.test/in/q"]
    assert lead.full_name == "Quoted, Name"
    assert lead.custom_fields == {"bio": "line one\nline two"}


def test_bad_rows_are_rejected_with_row_field_and_message_and_the_rest_imported(alice, campaign):
    csv = (
        "profile_url,email,first_name\n"
        "https://sandbox.test/in/ok,ok@example.com,Ok\n"  # row 2
        "not a url,,Bad\n"  # row 3
        "ftp://sandbox.test/in/ftp,,Ftp\n"  # row 4
        "https://sandbox.test/in/mail,not-an-email,Mail\n"  # row 5
        ",x@example.com,Nourl\n"  # row 6
        f"https://sandbox.test/in/long,,{'x' * 101}\n"  # row 7
        "\n"  # blank: skipped, not counted
        "https://sandbox.test/in/ok2,,Ok2\n"  # row 9
    )
    response = upload(alice, campaign, csv.encode())
    body = response.json()
    assert response.status_code == 200
    assert (body["rows"], body["created"], body["rejected"], body["duplicates"]) == (7, 2, 5, 0)
    by_row = {e["row"]: e for e in body["errors"]}
    assert by_row[3]["field"] == "profile_url" and "space" in by_row[3]["message"]
    assert by_row[4]["field"] == "profile_url" and "http" in by_row[4]["message"]
    assert by_row[5] == {"row": 5, "field": "email", "message": "not a valid e-mail address: 'not-an-email'"}
    assert by_row[6]["field"] == "profile_url" and "required" in by_row[6]["message"]
    assert by_row[7]["field"] == "first_name" and "100" in by_row[7]["message"]
    assert set(leads(campaign)) == {"https://sandbox.test/in/ok", "https://sandbox.test/in/ok2"}


def test_duplicates_within_the_file_and_against_the_campaign_are_reported(alice, campaign):
    first = upload(alice, campaign, b"url\nhttps://sandbox.test/in/a\nhttps://sandbox.test/in/b\n")
    assert first.json()["created"] == 2
    csv = (
        "url\n"
        "https://SANDBOX.test/in/a/\n"  # row 2: the same as an existing lead once normalised
        "https://sandbox.test/in/c\n"  # row 3: new
        "https://sandbox.test/in/c?ref=mail\n"  # row 4: duplicate of row 3
    )
    body = upload(alice, campaign, csv.encode()).json()
    assert (body["created"], body["duplicates"], body["rejected"]) == (1, 2, 0)
    assert body["errors"] == [
        {"row": 2, "field": "profile_url", "message": "already a lead of this campaign"},
        {"row": 4, "field": "profile_url", "message": "duplicate of row 3 in this import"},
    ]
    assert len(leads(campaign)) == 3


def test_the_same_lead_may_be_in_two_campaigns(alice, campaign):
    other = campaign_create(tenant=alice.tenant, name="Other")
    csv = b"url\nhttps://sandbox.test/in/shared\n"
    assert upload(alice, campaign, csv).json()["created"] == 1
    assert upload(alice, other, csv).json()["created"] == 1


def test_a_json_list_imports_with_the_same_rules(alice, campaign):
    rows = [
        {"linkedin_url": "https://sandbox.test/in/j1", "Name": "Jay One", "score": 7, "tags": ["a", "b"]},
        {"url": "https://sandbox.test/in/j1"},
        {"profile_url": "javascript:alert(1)"},
        "not an object",
        {"profile_url": "https://sandbox.test/in/j2", "custom_fields": {"tier": "gold"}},
    ]
    response = alice.client.post(f"/api/v1/campaigns/{campaign.pk}/leads/import", rows, format="json")
    body = response.json()
    assert response.status_code == 200, body
    assert (body["rows"], body["created"], body["duplicates"], body["rejected"]) == (5, 2, 1, 2)
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(1, "profile_url"), (2, "profile_url"), (3, "row")]
    found = leads(campaign)
    assert found["https://sandbox.test/in/j1"].custom_fields == {"score": 7, "tags": ["a", "b"]}
    assert found["https://sandbox.test/in/j2"].custom_fields == {"tier": "gold"}


def test_a_json_body_that_is_not_a_list_is_a_400(alice, campaign):
    response = alice.client.post(f"/api/v1/campaigns/{campaign.pk}/leads/import", {"profile_url": "x"}, format="json")
    assert response.status_code == 400
    assert "list" in error(response)["message"]


def test_a_file_without_a_profile_url_column_is_a_400_naming_the_file(alice, campaign):
    response = upload(alice, campaign, b"name,company\nAda,AE\n")
    assert response.status_code == 400
    err = error(response)
    assert "file" in err["details"] and "profile_url" in err["message"]


def test_an_empty_file_or_a_missing_file_field_is_a_400(alice, campaign):
    assert error(upload(alice, campaign, b""))["details"].keys() == {"file"}
    response = alice.client.post(f"/api/v1/campaigns/{campaign.pk}/leads/import", {"other": "x"}, format="multipart")
    assert response.status_code == 400
    assert error(response)["details"].keys() == {"file"}


@override_settings(REACHLY_IMPORT_MAX_BYTES=1000)
def test_a_file_over_the_size_limit_is_a_413_saying_so(alice, campaign):
    csv = b"url\n" + b"".join(b"https://sandbox.test/in/%d\n" % i for i in range(100))
    response = upload(alice, campaign, csv)
    assert response.status_code == 413
    err = error(response)
    assert err["code"] == "too_large" and "limit" in err["message"]
    assert not Lead.objects.filter(campaign=campaign).exists()


@override_settings(REACHLY_IMPORT_MAX_ROWS=5)
def test_more_rows_than_the_limit_is_a_400_and_imports_nothing(alice, campaign):
    csv = b"url\n" + b"".join(b"https://sandbox.test/in/%d\n" % i for i in range(6))
    response = upload(alice, campaign, csv)
    assert response.status_code == 400
    err = error(response)
    assert err["code"] == "too_many_rows" and "5" in err["message"]
    assert not Lead.objects.filter(campaign=campaign).exists()
    rows = [{"url": f"https://sandbox.test/in/{i}"} for i in range(6)]
    response = alice.client.post(f"/api/v1/campaigns/{campaign.pk}/leads/import", rows, format="json")
    assert response.status_code == 400 and error(response)["code"] == "too_many_rows"
    # At the limit, everything is imported.
    assert (
        upload(alice, campaign, b"url\n" + b"\n".join(b"https://s.test/%d" % i for i in range(5))).json()["created"]
        == 5
    )


def test_imported_leads_are_listed_with_status_filters_and_cursor_pages(alice, campaign):
    csv = b"url\n" + b"".join(b"https://sandbox.test/in/p%d\n" % i for i in range(5))
    upload(alice, campaign, csv)
    Lead.objects.filter(profile_url="https://sandbox.test/in/p3").update(status="invited")

    page = alice.client.get(f"/api/v1/campaigns/{campaign.pk}/leads/?page_size=2").json()
    urls = [lead["profile_url"] for lead in page["results"]]
    while page["next"]:
        page = alice.client.get(page["next"]).json()
        urls += [lead["profile_url"] for lead in page["results"]]
    assert urls == [f"https://sandbox.test/in/p{i}" for i in range(5)]

    invited = alice.client.get(f"/api/v1/campaigns/{campaign.pk}/leads/?status=invited").json()["results"]
    assert [lead["profile_url"] for lead in invited] == ["https://sandbox.test/in/p3"]
    bad = alice.client.get(f"/api/v1/campaigns/{campaign.pk}/leads/?status=bogus")
    assert bad.status_code == 400 and "status" in error(bad)["details"]
    future = alice.client.get(f"/api/v1/campaigns/{campaign.pk}/leads/?created_after=2999-01-01T00:00:00Z")
    assert future.json()["results"] == []
    bad_date = alice.client.get(f"/api/v1/campaigns/{campaign.pk}/leads/?created_before=yesterday")
    assert bad_date.status_code == 400 and "created_before" in error(bad_date)["details"]


# -- the network check (issue 11): a lead's URL is a profile an account can open --

NOT_PROFILES = ["http://127.0.0.1/in/x", "http://169.254.169.254/latest/meta-data", "http://localhost/in/x"]


@pytest.fixture
def sandbox_campaign(alice):
    account = sender_account_create(tenant=alice.tenant, name="S", login="s@example.com", network="sandbox")
    return campaign_create(tenant=alice.tenant, name="On the sandbox", sender_accounts=[account])


@pytest.mark.parametrize("with_account", [False, True], ids=["no-accounts", "sandbox-account"])
@pytest.mark.parametrize("url", NOT_PROFILES)
def test_loopback_link_local_and_localhost_urls_are_row_errors_on_profile_url(
    alice, campaign, sandbox_campaign, url, with_account
):
    target = sandbox_campaign if with_account else campaign
    good = f"{settings.REACHLY_SANDBOX_URL}in/ava"
    response = alice.client.post(
        f"/api/v1/campaigns/{target.pk}/leads/import", [{"profile_url": url}, {"profile_url": good}], format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["rejected"]) == (1, 1)
    [row_error] = body["errors"]
    assert row_error["row"] == 0 and row_error["field"] == "profile_url"
    assert "sandbox" in row_error["message"]  # says which network is expected
    assert set(leads(target)) == {good}


def test_a_profile_of_another_network_is_refused_naming_the_expected_one(alice, sandbox_campaign):
    csv = f"profile_url\nhttps://linkedin.com/in/jane-doe\n{settings.REACHLY_SANDBOX_URL}in/ava/?utm=x\n".encode()
    body = upload(alice, sandbox_campaign, csv).json()
    assert (body["created"], body["rejected"]) == (1, 1)
    [row_error] = body["errors"]
    assert row_error["row"] == 2 and row_error["field"] == "profile_url"
    assert "sandbox" in row_error["message"] and settings.REACHLY_SANDBOX_URL.rstrip("/") in row_error["message"]
    assert set(leads(sandbox_campaign)) == {f"{settings.REACHLY_SANDBOX_URL}in/ava"}


def test_the_preview_applies_the_network_check_too(alice, sandbox_campaign):
    f = io.BytesIO(b"url\nhttps://linkedin.com/in/jane-doe\n")
    f.name = "leads.csv"
    preview = lead_import_preview(campaign=sandbox_campaign, file=f)
    assert preview.result.created == 0 and preview.result.errors[0]["field"] == "profile_url"

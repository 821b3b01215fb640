"""Campaign pages: create and edit (errors next to their field), lead import
with a preview that writes nothing, the leads table, starting a job."""

from __future__ import annotations

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from reachly.campaigns.models import Campaign, Lead
from reachly.orchestration.models import Job
from tests.factories import SenderAccountFactory
from tests.web.conftest import field_errors, widget_html

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sandbox_at_sandbox_test(settings):
    # The world's campaign has a sandbox account, so its leads must be
    # sandbox profiles: the files below spell them on sandbox.test.
    settings.REACHLY_SANDBOX_URL = "https://sandbox.test/"


CSV = (
    "Name,LinkedIn URL,Company,Team\n"
    "Ada Lovelace,https://sandbox.test/in/ada,Analytical,R&D\n"
    "Grace Hopper,sandbox.test/in/grace,Navy,\n"
    "Bad Row,not a url,X,\n"
    "Ada Again,https://sandbox.test/in/ada/,Analytical,\n"
)


def upload(text: str = CSV, name: str = "leads.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_it_creates_a_campaign_with_its_accounts_schedule_and_batch_size(alice):
    account = SenderAccountFactory(tenant=alice.tenant)
    response = alice.client.post(
        "/campaigns/new",
        {
            "name": "Spring outreach",
            "brief": "Meet CTOs.",
            "sender_accounts": [account.pk],
            "priority": "1",
            "timezone": "Europe/Paris",
            "schedule_start": "09:00",
            "schedule_end": "17:30",
            "batch_size": "8",
            "status": "active",
        },
    )
    campaign = Campaign.objects.get(tenant=alice.tenant, name="Spring outreach")
    assert response.status_code == 302 and response["Location"] == f"/campaigns/{campaign.pk}/"
    assert list(campaign.sender_accounts.all()) == [account]
    assert (campaign.priority, campaign.timezone, str(campaign.schedule_start)) == (1, "Europe/Paris", "09:00:00")
    assert campaign.settings == {"batch_size": 8}


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"name": ""}, "name", "This field is required."),
        ({"name": "system: mine"}, "name", "are reserved"),
        ({"timezone": "Mars/Olympus"}, "timezone", "Select a valid choice."),
        ({"schedule_start": "09:00"}, "schedule_end", "Set both ends of the window, or neither."),
        ({"schedule_start": "25:00", "schedule_end": "10:00"}, "schedule_start", "Enter a valid time."),
        ({"batch_size": "0"}, "batch_size", "greater than or equal to 1"),
        ({"priority": "3"}, "priority", "Select a valid choice."),
    ],
)
def test_bad_input_is_shown_next_to_its_field(alice, changes, field, message):
    data = {"name": "Fine", "priority": "5", "timezone": "UTC", "status": "active", **changes}
    response = alice.client.post("/campaigns/new", data)
    assert response.status_code == 400
    assert message in field_errors(response, field)
    assert not Campaign.objects.filter(tenant=alice.tenant).exists()


def test_an_invalid_field_is_marked_for_screen_readers(alice):
    response = alice.client.post("/campaigns/new", {"name": "", "priority": "5", "timezone": "UTC"})
    tag = widget_html(response, "name")
    assert 'aria-invalid="true"' in tag and "id_name_error" in tag


def test_another_tenants_sender_account_cannot_be_chosen(alice, charlies_world):
    data = {"name": "Sneaky", "priority": "5", "timezone": "UTC", "status": "active"}
    response = alice.client.post("/campaigns/new", {**data, "sender_accounts": [charlies_world.account.pk]})
    assert response.status_code == 400
    assert "Select a valid choice" in field_errors(response, "sender_accounts")
    # ...and is not even offered.
    # (Matched with its field's name: a bare value="1" is also a priority.)
    page = alice.client.get("/campaigns/new").content.decode()
    offered = re.findall(r'name="sender_accounts" value="(\d+)"', page)
    assert str(charlies_world.account.pk) not in offered


def test_it_edits_a_campaign_and_keeps_its_other_settings(alice, alices_world):
    campaign = alices_world.campaign
    campaign.settings = {"note_template": "Hi {first_name}", "batch_size": 5}
    campaign.save()
    form = alice.client.get(f"/campaigns/{campaign.pk}/edit").content.decode()
    assert 'value="Spring outreach"' in form
    response = alice.client.post(
        f"/campaigns/{campaign.pk}/edit",
        {"name": "Summer outreach", "priority": "10", "timezone": "UTC", "status": "draft", "batch_size": "3"},
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.name, campaign.priority, campaign.status) == ("Summer outreach", 10, "draft")
    assert campaign.settings == {"note_template": "Hi {first_name}", "batch_size": 3}
    assert campaign.sender_accounts.count() == 0


def test_the_preview_shows_columns_first_rows_and_row_errors_and_writes_nothing(alice, alices_world):
    campaign = alices_world.campaign
    before = Lead.objects.filter(campaign=campaign).count()
    response = alice.client.post(
        f"/campaigns/{campaign.pk}/leads/preview", {"file": upload()}, HTTP_X_REACHLY_FRAGMENT="1"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 of 4 rows will be imported · 1 duplicate · 1 rejected" in html
    assert "LinkedIn URL → <b>profile_url</b>" in html and "Team →" in html and "kept as custom" in html
    assert "Ada Lovelace" in html and "Grace Hopper" in html
    assert "a URL cannot contain spaces" in html and "duplicate of row 2 in this import" in html
    assert Lead.objects.filter(campaign=campaign).count() == before
    # Without JavaScript, the preview comes inside the campaign page.
    page = alice.client.post(f"/campaigns/{campaign.pk}/leads/preview", {"file": upload()})
    assert page.status_code == 200 and b'<h2 id="leads-heading">' in page.content
    assert b"2 of 4 rows will be imported" in page.content


def test_the_preview_counts_leads_already_in_the_campaign_as_duplicates(alice, alices_world):
    campaign = alices_world.campaign
    csv = f"profile_url\nhttps://sandbox.test/in/{alice.tenant.slug}-lead\nhttps://sandbox.test/in/new\n"
    response = alice.client.post(f"/campaigns/{campaign.pk}/leads/preview", {"file": upload(csv)})
    assert "1 of 2 rows will be imported · 1 duplicate" in response.content.decode()
    assert "already a lead of this campaign" in response.content.decode()


def test_importing_creates_the_leads_and_shows_the_counts_and_row_errors_once(alice, alices_world):
    campaign = alices_world.campaign
    response = alice.client.post(f"/campaigns/{campaign.pk}/leads/import", {"file": upload()})
    assert response.status_code == 302 and response["Location"] == f"/campaigns/{campaign.pk}/"
    urls = set(Lead.objects.filter(campaign=campaign).values_list("profile_url", flat=True))
    assert {"https://sandbox.test/in/ada", "https://sandbox.test/in/grace"} <= urls
    page = alice.client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "Imported 2 leads from leads.csv" in page
    assert "4 rows read · 2 created · 1 duplicate · 1 rejected" in page
    assert "a URL cannot contain spaces" in page
    assert 'data-lead="' in page and "Grace Hopper" in page
    # The result is shown once; a reload does not import again.
    assert "Imported 2 leads" not in alice.client.get(f"/campaigns/{campaign.pk}/").content.decode()


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "The submitted file is empty."),
        ("name,company\nAda,Analytical\n", "no profile URL column"),
        ("\n\n", "the file is empty"),
    ],
)
def test_a_file_that_cannot_be_imported_says_why_next_to_the_file_field(alice, alices_world, text, message):
    campaign = alices_world.campaign
    for action in ("preview", "import"):
        response = alice.client.post(f"/campaigns/{campaign.pk}/leads/{action}", {"file": upload(text)})
        assert response.status_code == 400
        html = response.content.decode()
        assert message in (field_errors(response, "file") + html), action
    assert Lead.objects.filter(campaign=campaign).count() == 1


def test_a_file_over_the_size_limit_is_refused(alice, alices_world, settings):
    settings.REACHLY_IMPORT_MAX_BYTES = 100
    response = alice.client.post(
        f"/campaigns/{alices_world.campaign.pk}/leads/import", {"file": upload("profile_url\n" + "x" * 200)}
    )
    assert response.status_code == 400
    assert "the limit is" in field_errors(response, "file")


def test_the_leads_table_filters_by_status_and_carries_live_hooks(alice, alices_world):
    campaign = alices_world.campaign
    Lead.objects.filter(campaign=campaign).update(status="invited", status_detail="invitation sent")
    html = alice.client.get(f"/campaigns/{campaign.pk}/?status=invited").content.decode()
    lead = campaign.leads.get()
    assert f'data-lead="{lead.pk}"' in html and "invitation sent" in html
    assert f'data-lead="{lead.pk}"' not in alice.client.get(f"/campaigns/{campaign.pk}/?status=new").content.decode()
    config = json.loads(re.search(r'<script id="live-config" type="application/json">(.*?)</script>', html)[1])
    assert config["tenant"] == alice.tenant.pk and config["page"] == "campaign"
    # The running job is caught up from the seq the page was rendered at.
    alices_world.job.refresh_from_db()
    assert config["catch_up"] == {str(alices_world.job.pk): alices_world.job.last_seq}


def test_starting_a_job_opens_its_page(alice, alices_world):
    campaign = alices_world.campaign
    response = alice.client.post(f"/campaigns/{campaign.pk}/start", {"priority": "1"})
    job = Job.objects.filter(campaign=campaign).order_by("-id").first()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert job.priority == 1 and job.created_by == alice.user


def test_a_campaign_without_leads_cannot_start_and_says_so(alice):
    campaign = Campaign.objects.create(tenant=alice.tenant, name="Empty")
    response = alice.client.post(f"/campaigns/{campaign.pk}/start", {"priority": "5"})
    assert response.status_code == 400
    assert b"the campaign has no leads: import some first" in response.content
    assert not Job.objects.filter(campaign=campaign).exists()


def test_empty_states_guide_a_new_tenant(alice):
    assert b"No campaigns yet" in alice.client.get("/campaigns/").content
    campaign = Campaign.objects.create(tenant=alice.tenant, name="Fresh")
    page = alice.client.get(f"/campaigns/{campaign.pk}/").content
    assert b"No leads yet" in page and b"data-import-card open" in page


def test_the_preview_and_the_import_result_show_every_guess_the_reader_made(alice, alices_world):
    campaign = alices_world.campaign
    text = "url,Team,Team\nhttps://sandbox.test/in/warned,a,b\n"
    preview = alice.client.post(
        f"/campaigns/{campaign.pk}/leads/preview", {"file": upload(text)}, HTTP_X_REACHLY_FRAGMENT="1"
    )
    html = preview.content.decode()
    assert "data-preview-warnings" in html and "column 3 repeats the name &#x27;Team&#x27;" in html
    alice.client.post(f"/campaigns/{campaign.pk}/leads/import", {"file": upload(text)})
    page = alice.client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "data-import-warnings" in page and "kept as custom field &#x27;Team (2)&#x27;" in page

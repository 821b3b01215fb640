"""The sender-account service (reachly/campaigns/accounts.py) and the
control plane's lane it keeps in step (orchestration_lane)."""

from __future__ import annotations

from datetime import time, timedelta
from importlib import import_module

import pytest
from django.apps import apps
from django.utils import timezone

from reachly.campaigns import accounts
from reachly.campaigns.errors import Conflict, Invalid
from reachly.campaigns.models import SenderAccount
from reachly.core import redis as rds
from reachly.orchestration import dispatcher
from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import Lane, Step
from reachly.orchestration.services import job_start
from tests.factories import SenderAccountFactory, TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _plans(plans):
    pass


def lane(account) -> tuple[bool, object, str]:
    row = Lane.objects.get(pk=account.pk)
    return row.admitting, row.resume_at, row.timezone


def stop_flag(account) -> bytes | None:
    return rds.client().get(rds.key("stop", "account", account.pk))


def create(**fields) -> SenderAccount:
    return accounts.sender_account_create(tenant=fields.pop("tenant", None) or TenantFactory(), **{
        "name": "Ada", "login": "ada@example.com", **fields})  # fmt: skip


def test_a_new_account_has_an_open_lane_in_its_time_zone():
    account = create(timezone="Europe/Paris")
    assert lane(account) == (True, None, "Europe/Paris")
    assert Lane.objects.get(pk=account.pk).tenant_id == account.tenant_id


def test_an_account_created_paused_is_paused_in_one_call():
    account = create(status="paused")
    assert (account.status, account.status_reason) == ("paused", "paused by the tenant")
    assert lane(account)[0] is False


def test_create_and_update_refuse_a_status_only_the_system_sets():
    with pytest.raises(Invalid) as err:
        create(status="cooling_down")
    assert err.value.field == "status"
    account = create()
    with pytest.raises(Invalid):
        accounts.sender_account_update(account, status="needs_login")


def test_a_new_time_zone_reaches_the_lane():
    account = create()
    accounts.sender_account_update(account, timezone="America/New_York", daily_invite_cap=3)
    assert lane(account)[2] == "America/New_York"


def test_pause_closes_the_lane_and_asks_the_running_step_to_stop(django_capture_on_commit_callbacks):
    account = create()
    with django_capture_on_commit_callbacks(execute=True):
        accounts.sender_account_pause(account, reason="holiday")
    assert (account.status, account.status_reason) == ("paused", "holiday")
    assert lane(account)[0] is False
    assert stop_flag(account) == b"account_pause"


def test_resume_opens_the_lane_clears_the_flag_and_ends_a_cool_down(django_capture_on_commit_callbacks):
    account = create()
    with django_capture_on_commit_callbacks(execute=True):
        accounts.sender_account_pause(account)
    with django_capture_on_commit_callbacks(execute=True):
        accounts.sender_account_update(account, status="active")
    assert account.status == "active" and lane(account) == (True, None, "UTC")
    assert stop_flag(account) is None

    accounts.sender_account_cool_down(account.pk, timezone.now() + timedelta(hours=1), "challenge")
    accounts.sender_account_resume(account)
    assert (account.status, account.cooling_down_until) == ("active", None)
    assert lane(account)[1] is None


def test_a_cooling_down_account_waits_until_its_cool_down_ends(settings):
    settings.REACHLY_QUEUE_DEPTH = 8
    tenant = TenantFactory()
    resting, fresh = create(tenant=tenant), create(tenant=tenant, login="bob@example.com")
    until = timezone.now() + timedelta(minutes=5)
    accounts.sender_account_cool_down(resting.pk, until, "too many requests " * 30)
    resting.refresh_from_db()
    assert (resting.status, resting.cooling_down_until) == ("cooling_down", until)
    assert len(resting.status_reason) == 255
    assert lane(resting)[:2] == (True, until)
    assert stop_flag(resting) is None  # the flag would outlive the cool-down

    job = job_start(
        tenant=tenant,
        steps=[StepSpec("a", "test", sender_account_id=resting.id), StepSpec("b", "test", sender_account_id=fresh.id)],
    )
    dispatcher.dispatch("test")
    assert list(Step.objects.filter(job=job, status="enqueued").values_list("key", flat=True)) == ["b"]

    Lane.objects.filter(pk=resting.pk).update(resume_at=timezone.now() - timedelta(seconds=1))
    Step.objects.filter(job=job, key="b").update(status="succeeded")
    dispatcher.dispatch("test")
    assert Step.objects.get(job=job, key="a").status == "enqueued"


def test_a_cool_down_never_lifts_a_pause_or_a_needed_login():
    paused = create(status="paused")
    accounts.sender_account_cool_down(paused.pk, timezone.now() + timedelta(minutes=5), "challenge")
    paused.refresh_from_db()
    assert paused.status == "paused" and lane(paused)[0] is False

    locked_out = create(login="bob@example.com")
    accounts.sender_account_needs_login(locked_out.pk, "wrong password")
    accounts.sender_account_cool_down(locked_out.pk, timezone.now() + timedelta(minutes=5), "challenge")
    locked_out.refresh_from_db()
    assert locked_out.status == "needs_login"


def test_a_needed_login_closes_the_lane_until_a_session_is_stored(django_capture_on_commit_callbacks):
    account = create()
    with django_capture_on_commit_callbacks(execute=True):
        accounts.sender_account_needs_login(account.pk, "session expired")
    account.refresh_from_db()
    assert (account.status, account.status_reason) == ("needs_login", "session expired")
    assert lane(account)[0] is False

    state = {"cookies": [{"name": "li_at", "value": "v", "domain": ".sandbox.test"}], "origins": []}
    with django_capture_on_commit_callbacks(execute=True):
        accounts.sender_account_session_save(account.pk, state)
    account.refresh_from_db()
    assert (account.status, account.status_reason) == ("active", "")
    assert lane(account)[0] is True and stop_flag(account) is None
    assert accounts.sender_account_session_load(account.pk) == state


def test_forgetting_the_session_keeps_the_password():
    account = create(
        password="s3cret",
        session_state={"cookies": [{"name": "li_at", "value": "v", "domain": ".sandbox.test"}]},
    )
    accounts.sender_account_session_forget(account)
    account.refresh_from_db()
    assert (account.session_state, account.session_updated_at) == (None, None)
    assert accounts.sender_account_session_load(account.pk) is None
    assert accounts.sender_account_credentials(account.pk) == ("ada@example.com", "s3cret")


def test_a_step_sees_its_account_as_plain_data_without_secrets():
    account = create(password="s3cret", timezone="Asia/Tokyo", working_hours_start=time(9), daily_visit_cap=7)
    data = accounts.sender_account_for_step(account.pk, tenant_id=account.tenant_id)
    assert data is not None
    assert set(data) == {
        "id",
        "name",
        "network",
        "login",
        "timezone",
        "status",
        "cooling_down_until",
        "working_hours_start",
        "working_hours_end",
        "daily_invite_cap",
        "daily_message_cap",
        "daily_visit_cap",
    }
    assert (data["timezone"], data["working_hours_start"], data["daily_visit_cap"]) == ("Asia/Tokyo", time(9), 7)
    assert accounts.sender_account_for_step(account.pk + 1000, tenant_id=account.tenant_id) is None


def test_an_account_whose_cool_down_is_over_is_active_again():
    rested = SenderAccountFactory(status="cooling_down", cooling_down_until=timezone.now() - timedelta(seconds=1))
    resting = SenderAccountFactory(status="cooling_down", cooling_down_until=timezone.now() + timedelta(hours=1))
    assert accounts.sender_account_end_cool_downs() == 1
    rested.refresh_from_db()
    resting.refresh_from_db()
    assert (rested.status, rested.cooling_down_until, rested.status_reason) == ("active", None, "")
    assert lane(rested) == (True, None, "UTC")
    assert resting.status == "cooling_down" and lane(resting)[1] == resting.cooling_down_until


def test_saves_outside_the_service_keep_the_lane_in_step():
    """The admin's change form, fixtures and factories save() the model."""
    account = SenderAccountFactory(status="disabled", timezone="Europe/Berlin")
    assert lane(account) == (False, None, "Europe/Berlin")
    account.status = "active"
    account.save()
    assert lane(account)[0] is True


def test_an_account_without_a_lane_is_not_admitted(settings):
    settings.REACHLY_QUEUE_DEPTH = 8
    account = create()
    job = job_start(tenant=account.tenant, steps=[StepSpec("a", "test", sender_account_id=account.id)])
    Lane.objects.filter(pk=account.pk).delete()
    assert dispatcher.dispatch("test") == 0
    accounts.sender_account_lane_sync(account.pk)
    assert dispatcher.dispatch("test") == 1
    assert Step.objects.get(job=job).status == "enqueued"


def test_delete_refuses_while_steps_use_the_account_and_takes_the_lane_with_it():
    account = create()
    job = job_start(tenant=account.tenant, steps=[StepSpec("a", "test", sender_account_id=account.id)])
    with pytest.raises(Conflict) as err:
        accounts.sender_account_delete(account)
    assert err.value.details == {"steps": 1}
    Step.objects.filter(job=job).update(status="cancelled")
    accounts.sender_account_delete(account)
    assert not Lane.objects.filter(pk=account.pk).exists()


def test_the_migration_gives_every_existing_account_its_lane():
    tenant = TenantFactory()
    until = timezone.now() + timedelta(minutes=3)
    active = SenderAccountFactory(tenant=tenant, timezone="Europe/Paris")
    cooling = SenderAccountFactory(tenant=tenant, status="cooling_down", cooling_down_until=until)
    locked = SenderAccountFactory(tenant=tenant, status="needs_login")
    Lane.objects.all().delete()
    import_module("reachly.orchestration.migrations.0002_lane").fill_lanes(apps, None)
    assert lane(active) == (True, None, "Europe/Paris")
    assert lane(cooling) == (True, until, "UTC")
    assert lane(locked)[0] is False

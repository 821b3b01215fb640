"""The notification agent on a real worker: one e-mail through Django's mail
backend (a file backend here, so the test can read what was sent)."""

from __future__ import annotations

import pytest

from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import Step
from reachly.orchestration.services import job_start
from tests.factories import TenantFactory
from tests.helpers import wait_job

pytestmark = pytest.mark.workers


def test_a_notification_step_sends_one_email(workers, tmp_path):
    outbox = tmp_path / "mail"
    workers.start(["control"], beat=True)
    workers.start(
        "agent.notification",
        extra_env={
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(outbox),
        },
    )
    tenant = TenantFactory()
    job = job_start(
        tenant=tenant,
        steps=[
            StepSpec(
                "mail",
                "notification",
                {"to": ["ada@example.com", "bob@example.com"], "subject": "Campaign done", "body": "20 invited."},
            )
        ],
    )
    wait_job(job, timeout=60)

    [message] = [p.read_text() for p in outbox.iterdir()]
    assert "Subject: Campaign done" in message and "To: ada@example.com, bob@example.com" in message
    assert "20 invited." in message
    assert Step.objects.get(job=job).output == {
        "sent": 1,
        "to": ["ada@example.com", "bob@example.com"],
        "subject": "Campaign done",
    }

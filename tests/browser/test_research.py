"""The content researcher visits pages in a real Chromium (in a worker) and
extracts title, text and links; pages it cannot or may not visit are
reported, not fatal."""

from __future__ import annotations

import pytest

from agents.browser import research
from reachly.core.processes import free_port
from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import Step
from reachly.orchestration.services import job_start
from tests.browser.conftest import browser_env
from tests.factories import TenantFactory
from tests.helpers import wait_job


@pytest.mark.workers
@pytest.mark.browser
def test_it_extracts_title_text_and_links_and_reports_pages_it_cannot_visit(workers, sandbox_url):
    workers.start(["control"], beat=True)
    workers.start(["agent.content_researcher"], extra_env=browser_env(sandbox_url))
    login = f"{sandbox_url}login"
    urls = [login, "file:///etc/passwd", f"http://127.0.0.1:{free_port()}/closed"]

    job = job_start(tenant=TenantFactory(), steps=[StepSpec("research", "content_researcher", {"urls": urls})])
    wait_job(job, timeout=90)

    output = Step.objects.get(job=job).output
    page, local_file, closed = output["pages"]
    assert page["title"] == "Sign in · Sandbox network" and page["status"] == 200
    assert "E-mail or handle" in page["text"]
    assert {"href": sandbox_url, "text": "sandbox"} in page["links"]
    assert "only http and https" in local_file["error"]
    assert "ERR_CONNECTION_REFUSED" in closed["error"]
    assert (output["visited"], output["errors"]) == (3, 2)


def test_private_addresses_are_refused_where_settings_say_so(settings):
    settings.REACHLY_RESEARCH_ALLOW_PRIVATE = False
    for url in ("http://127.0.0.1:8000/", "http://localhost/", "http://169.254.169.254/latest/meta-data"):
        with pytest.raises(research.Refused):
            research.check_destination(url)
    settings.REACHLY_RESEARCH_ALLOW_PRIVATE = True
    research.check_destination("http://127.0.0.1:8000/")

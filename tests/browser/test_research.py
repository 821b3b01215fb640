"""The content researcher visits pages in a real Chromium (in a worker) and
extracts title, text and links; pages it cannot or may not visit are
reported, not fatal."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devtools.processes import free_port
from reachly.orchestration.graph import StepSpec
from reachly.orchestration.models import Step
from reachly.orchestration.services import job_start
from tests.browser.conftest import CountingServer, browser_env
from tests.factories import TenantFactory
from tests.helpers import wait_job


@pytest.mark.workers
@pytest.mark.browser
def test_it_extracts_title_text_and_links_and_reports_pages_it_cannot_visit(workers, sandbox_url):
    workers.start(["control"], beat=True)
    port = sandbox_url.split(":")[2].split("/")[0]
    workers.start(
        ["agent.content_researcher"], extra_env=browser_env(sandbox_url, REACHLY_EGRESS_ALLOW=f"127.0.0.1:{port}")
    )
    login = f"{sandbox_url}login"
    urls = [login, "file:///etc/passwd", f"http://127.0.0.1:{free_port()}/closed"]

    job = job_start(tenant=TenantFactory(), steps=[StepSpec("research", "content_researcher", {"urls": urls})])
    wait_job(job, timeout=90)

    output = Step.objects.get(job=job).output
    page, local_file, closed = output["pages"]
    assert page["title"] == "Sign in · Sandbox network" and page["status"] == 200
    assert "E-mail or handle" in page["text"]
    assert {"href": sandbox_url, "text": "sandbox"} in page["links"]
    assert "http:// or https://" in local_file["error"]
    assert closed["error"].startswith("refused: 127.0.0.1 is a loopback address")
    assert (output["visited"], output["errors"]) == (3, 2)


class Outside(ThreadingHTTPServer):
    """The tenant's "public" site (allow-listed by port): it redirects to, and
    loads sub-resources from, the internal service."""

    def __init__(self, internal_port: int) -> None:
        target = f"http://127.0.0.1:{internal_port}"

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", f"{target}/via-redirect")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(
                    f"""<title>outside</title><p>public page</p>
                    <img src="{target}/img"><iframe src="{target}/frame"></iframe>
                    <script>fetch("{target}/fetch").catch(() => {{}})</script>""".encode()
                )

            def log_message(self, *args) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.mark.workers
@pytest.mark.browser
def test_no_request_of_the_browser_reaches_a_non_public_address(workers):
    """Issue 11, HIGH: the check parsed URLs unlike Chromium, vetted only the
    first URL and resolved names twice. Now every request Chromium makes goes
    through the egress proxy: the internal service is never reached."""
    internal = CountingServer()
    outside = Outside(internal.port)
    try:
        allowed = f"127.0.0.1:{outside.server_address[1]}"
        workers.start(["control"], beat=True)
        workers.start(
            ["agent.content_researcher"], extra_env=browser_env("http://127.0.0.1:9/", REACHLY_EGRESS_ALLOW=allowed)
        )
        inside = f"http://127.0.0.1:{internal.port}"
        urls = [
            f"{inside}/direct",
            f"{inside}\\@1.1.1.1/../",  # WHATWG: host 127.0.0.1; Python's urlsplit: 1.1.1.1
            f"http://localhost:{internal.port}/by-name",
            f"http://[::ffff:127.0.0.1]:{internal.port}/mapped",
            f"http://{allowed}/redirect",
            f"http://{allowed}/page",
        ]
        job = job_start(tenant=TenantFactory(), steps=[StepSpec("research", "content_researcher", {"urls": urls})])
        wait_job(job, timeout=90)

        pages = Step.objects.get(job=job).output["pages"]
        for page in pages[:5]:
            assert page["error"].startswith("refused: ") and "loopback" in page["error"], page
        assert pages[5]["title"] == "outside" and "public page" in pages[5]["text"]
        assert internal.hits == []
    finally:
        internal.shutdown()
        outside.shutdown()

"""Helpers shared by the web UI's views."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest, JsonResponse
from django.utils.http import url_has_allowed_host_and_scheme

PAGE_SIZE = 50


def wants_json(request: HttpRequest) -> bool:
    """A fetch() from live.js/app.js (they ask for JSON); a plain form post otherwise."""
    return "application/json" in request.headers.get("Accept", "")


def is_fragment(request: HttpRequest) -> bool:
    return request.headers.get("X-Reachly-Fragment") == "1"


def json_error(status: int, message: str, field: str | None = None) -> JsonResponse:
    return JsonResponse({"error": {"message": message, "field": field}}, status=status)


def live_config(
    *,
    tenant: int | None = None,
    jobs: dict[int, int] | None = None,
    catch_up: dict[int, int] | None = None,
    rendered: dict[int, int] | None = None,
    page: str = "",
) -> dict[str, Any]:
    """What live.js subscribes to on this page.

    tenant      the tenant's stream (job status and progress, lead changes)
    jobs        {job: after_seq}: job streams, replayed after that seq
    catch_up    {job: seq}: replay a job's events after seq once (what
                happened between rendering and subscribing), then leave it
    rendered    {job: seq}: the page shows the job as of that seq; older
                events only go to the event log
    """
    return {
        "tenant": tenant,
        "jobs": {str(k): v for k, v in (jobs or {}).items()},
        "catch_up": {str(k): v for k, v in (catch_up or {}).items()},
        "rendered": {str(k): v for k, v in (rendered or {}).items()},
        "page": page,
    }


def paginate(request: HttpRequest, queryset, per_page: int = PAGE_SIZE) -> Page:
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback

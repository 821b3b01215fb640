"""Django's CommonMiddleware with the API's manners for a missing slash.

Django answers `POST /api/v1/campaigns` (no slash) with an HTML 301, and a
client following a 301 re-sends as GET without the body (in DEBUG Django
raises instead). Under /api/ the answer is a 308 Permanent Redirect (method
and body are kept, RFC 9110 §15.4.9) with the API's JSON error body naming
the URL to use; elsewhere nothing changes.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.middleware.common import CommonMiddleware as DjangoCommonMiddleware


class CommonMiddleware(DjangoCommonMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if (
            request.path.startswith("/api/")
            and response.status_code == 404
            and self.should_redirect_with_slash(request)
        ):
            location = request.get_full_path(force_append_slash=True)
            redirect: HttpResponse = JsonResponse(
                {
                    "error": {
                        "code": "moved_permanently",
                        "message": f"use {location} (with the trailing slash)",
                        "details": {"location": location},
                    }
                },
                status=308,
            )
            redirect["Location"] = location
            return redirect
        return super().process_response(request, response)

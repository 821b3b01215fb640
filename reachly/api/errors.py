"""One error body everywhere under /api/:

    {"error": {"code": "invalid", "message": "name: This field is required.",
               "details": {"name": ["This field is required."]}}}

`details` maps the field (`steps[0].agent`, `sender_accounts`, `cursor`)
to its messages for bad input; other errors carry what helps (the job's
status for a 409, `retry_after` for a 429). Domain errors are mapped here
and nowhere else: Invalid → 400, Conflict and IllegalTransition → 409,
TooLarge → 413, GraphError → 400 naming `steps[i].field`.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from reachly.campaigns.errors import Conflict, DomainError, Invalid, TooLarge
from reachly.orchestration.graph import GraphError
from reachly.orchestration.states import IllegalTransition
from reachly.tenants.services import TenantError

log = logging.getLogger(__name__)

DOMAIN_STATUS = {Invalid: 400, Conflict: 409, TooLarge: 413}


def body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details if details is not None else {}}}


def flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail → {"steps[0].agent": ["..."]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):
                path = f"{prefix}[{key}]"
            elif key == api_settings.NON_FIELD_ERRORS_KEY and prefix:
                path = prefix  # a nested list's own error: name the list
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten(value, path))
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            if detail:
                out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for i, item in enumerate(detail):
                out.update(flatten(item, f"{prefix}[{i}]"))
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def _summary(details: dict[str, list[str]]) -> str:
    if not details:
        return "Invalid input."
    field, messages = next(iter(details.items()))
    more = sum(len(m) for m in details.values()) - 1
    return f"{field}: {messages[0]}" + (f" (+{more} more)" if more > 0 else "")


def _domain(exc: Exception) -> tuple[int, str, str, Any] | None:
    if isinstance(exc, GraphError):
        details = {k: [v] for k, v in exc.errors.items()}
        return 400, "invalid", _summary(details), details
    if isinstance(exc, IllegalTransition):
        return 409, "illegal_transition", str(exc), {"action": exc.action, "status": exc.status}
    if isinstance(exc, DomainError):
        code = next((s for cls, s in DOMAIN_STATUS.items() if isinstance(exc, cls)), 400)
        message = f"{exc.field}: {exc.message}" if exc.field and code == 400 else exc.message
        return code, exc.code, message, exc.details
    if isinstance(exc, TenantError):
        return 400, "invalid", str(exc), {exc.field: [str(exc).split(": ", 1)[-1]]}
    if isinstance(exc, DjangoValidationError):
        details = flatten(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})
        return 400, "invalid", _summary(details), details
    return None


# PostgreSQL down, restarting or out of connections: a retry soon can help.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER = 5  # seconds


def _unavailable() -> dict[str, Any]:
    return body(
        "unavailable",
        f"The database is unavailable; retry in {DATABASE_RETRY_AFTER} s.",
        {"retry_after": DATABASE_RETRY_AFTER},
    )


def _too_big() -> dict[str, Any]:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return body("too_large", f"The request body is larger than {limit} bytes.", {"max_bytes": limit})


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DATABASE_UNAVAILABLE):
        log.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return Response(_unavailable(), status=503, headers={"Retry-After": str(DATABASE_RETRY_AFTER)})
    if isinstance(exc, RequestDataTooBig):
        return Response(_too_big(), status=413)
    mapped = _domain(exc)
    if mapped is not None:
        code_status, code, message, details = mapped
        set_rollback()
        return Response(body(code, message, details), status=code_status)

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django's 500 handler answers (handler500 below)

    headers: dict[str, str] = {}
    auth_header = getattr(exc, "auth_header", None)  # set by APIView.handle_exception on a 401
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    details = {}
    if isinstance(exc, exceptions.ValidationError):
        details = flatten(exc.detail)
        code, message = "invalid", _summary(details)
    else:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        message = str(exc.detail)
    if isinstance(exc, exceptions.Throttled):
        wait = int(getattr(exc, "wait", None) or 1)  # Throttled sets wait (the stub omits it)
        headers["Retry-After"] = str(wait)
        details = {"retry_after": wait}
        message = f"Too many requests for this token; retry in {wait} s."
        code = "throttled"
    set_rollback()
    return Response(body(code, message, details), status=exc.status_code, headers=headers)


# Django-level handlers (wired in reachly/urls.py): JSON under /api/, the
# usual pages elsewhere. They answer what never reaches a DRF view: an
# unknown URL, a request Django rejects before routing, a crash.


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def handler400(request, exception=None):
    if _is_api(request) and isinstance(exception, RequestDataTooBig):
        return JsonResponse(_too_big(), status=413)
    if _is_api(request):
        return JsonResponse(body("bad_request", "Bad request."), status=status.HTTP_400_BAD_REQUEST)
    return defaults.bad_request(request, exception)


def handler403(request, exception=None):
    if _is_api(request):
        return JsonResponse(body("permission_denied", "Forbidden."), status=status.HTTP_403_FORBIDDEN)
    return defaults.permission_denied(request, exception)


def handler404(request, exception=None):
    if _is_api(request):
        message = f"No such endpoint: {request.method} {request.path}"
        return JsonResponse(body("not_found", message), status=status.HTTP_404_NOT_FOUND)
    return defaults.page_not_found(request, exception)


def handler500(request):
    # Called while the exception is being handled: sys.exc_info() has it.
    if _is_api(request) and isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        response = JsonResponse(_unavailable(), status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER)
        return response
    if _is_api(request):
        return JsonResponse(
            body("server_error", "Something went wrong on our side; it has been logged."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    return defaults.server_error(request)

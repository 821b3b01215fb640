"""OpenAPI details drf-spectacular cannot infer.

* Every operation documents its error answers with the one error body
  (401, 403 and 429 everywhere; 404 on paths with an id; 400 where input is
  read; 409/413 where views say so), so clients and schemathesis know them;
  a 429 with its Retry-After header.
* The token scheme: `Authorization: Token <key>`.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as _AutoSchema
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable: invalid, not_found, illegal_transition, throttled...")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    details = serializers.JSONField(
        help_text='For bad input, the fields and their messages: {"steps[0].agent": ["..."]}.'
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERROR_DESCRIPTIONS = {
    "400": "Bad input; `details` names the fields.",
    "401": "No token, or an invalid or revoked one.",
    "403": "Authenticated, but not allowed.",
    "404": "Not found (or another tenant's).",
    "409": "Not possible in the object's current state.",
    "413": "The request body is over the size limit.",
    "415": "Unsupported Content-Type.",
    "429": "Too many requests for this token; see Retry-After.",
}

RETRY_AFTER_HEADER = {
    "description": "Seconds until a request may succeed again (at least 1).",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}


class AutoSchema(_AutoSchema):
    def _resolve_path_parameters(self, variables):
        """Object ids in paths are integers (the URL pattern takes 1-18 digits)."""
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["name"] == "id":
                parameter["schema"] = {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes = ["401", "403", "429"]
        if "{" in self.path:
            codes.append("404")
        if self.method in ("POST", "PUT", "PATCH") or self._is_list_view() or self.get_filter_backends():
            codes.append("400")
        if self.method in ("POST", "PUT", "PATCH"):
            codes.append("415")
        extra = getattr(self.view, "error_statuses", ())
        if isinstance(extra, dict):
            extra = extra.get(getattr(self.view, "action", None) or self.method.lower(), ())
        codes += [str(c) for c in extra]
        for code in codes:
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                response["description"] = ERROR_DESCRIPTIONS[code]
                responses[code] = response
        if "429" in responses:
            # Every 429 says when to come back (api/errors.py, api/live.py),
            # so clients and schemathesis may rely on the header.
            responses["429"].setdefault("headers", {})["Retry-After"] = RETRY_AFTER_HEADER
        return responses


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "reachly.api.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`. Create keys with `manage.py create_api_token`, the admin or /api-tokens/.",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "reachly.api.authentication.SessionAuthentication"
    name = "cookieAuth"
    priority = 1

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}

"""Outgoing webhook endpoints: `GET, POST /webhooks/`, `GET, PATCH, DELETE /webhooks/{id}/`.

The signing secret is returned once, by the POST that creates the endpoint.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from reachly.api.base import TenantScoped, TextField
from reachly.webhooks import services
from reachly.webhooks.models import WebhookEndpoint, WebhookEvent


class WebhookInput(serializers.Serializer):
    url = TextField(max_length=2000, help_text="http(s) URL receiving signed JSON POSTs.")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.choices), allow_empty=False, max_length=10
    )
    description = TextField(max_length=200, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False)


class WebhookOutput(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.choices))

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "events", "active", "created_at", "updated_at"]
        read_only_fields = fields


class WebhookCreatedOutput(WebhookOutput):
    secret = TextField(help_text="The HMAC-SHA256 signing secret: shown only this once.")

    class Meta(WebhookOutput.Meta):
        fields = [*WebhookOutput.Meta.fields, "secret"]
        read_only_fields = fields


@extend_schema(tags=["webhooks"])
class WebhookViewSet(TenantScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = WebhookEndpoint.objects.defer("secret").order_by("id")
    serializer_class = WebhookOutput

    @extend_schema(
        request=WebhookInput,
        responses={201: WebhookCreatedOutput},
        examples=[
            OpenApiExample(
                "Job outcomes",
                request_only=True,
                value={"url": "https://hooks.example.com/reachly", "events": ["job.completed", "job.failed"]},
            )
        ],
    )
    def create(self, request):
        data = WebhookInput(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint, secret = services.webhook_endpoint_create(tenant=self.acting_tenant, **data.validated_data)
        endpoint.secret = secret
        return Response(WebhookCreatedOutput(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=WebhookInput(partial=True), responses=WebhookOutput)
    def partial_update(self, request, pk=None):
        endpoint = self.get_object()
        data = WebhookInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        return Response(WebhookOutput(services.webhook_endpoint_update(endpoint, **data.validated_data)).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.webhook_endpoint_delete(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

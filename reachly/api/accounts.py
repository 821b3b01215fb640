"""Sender accounts: `GET, POST /sender-accounts/`, `GET, PATCH, DELETE /sender-accounts/{id}/`.

The password and session state are write-only: accepted, stored encrypted,
never returned (`has_session` says whether a session is stored).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from reachly.api.base import MAX_INT, LocalTimeField, TenantScoped, TextField, TimeZoneField, json_object
from reachly.campaigns import accounts as services
from reachly.campaigns.accounts import SENDER_ACCOUNT_FIELDS
from reachly.campaigns.models import SenderAccount


class SenderAccountInput(serializers.Serializer):
    name = TextField(max_length=128)
    network = serializers.SlugField(max_length=32, default="sandbox")
    login = TextField(max_length=255, help_text="Username or e-mail on the network.")
    password = TextField(max_length=500, required=False, allow_null=True, trim_whitespace=False, write_only=True)
    session_state = serializers.JSONField(
        required=False, allow_null=True, validators=[json_object], help_text="Cookies and local storage (write-only)."
    )
    timezone = TimeZoneField(default="UTC")
    working_hours_start = LocalTimeField(required=False, help_text="In the account's time zone.")
    working_hours_end = LocalTimeField(required=False)
    daily_invite_cap = serializers.IntegerField(min_value=0, max_value=MAX_INT, required=False)
    daily_message_cap = serializers.IntegerField(min_value=0, max_value=MAX_INT, required=False)
    daily_visit_cap = serializers.IntegerField(min_value=0, max_value=MAX_INT, required=False)
    status = serializers.ChoiceField(
        choices=[SenderAccount.Status.ACTIVE, SenderAccount.Status.PAUSED],
        required=False,
        help_text="Pause (its steps wait) or resume the account.",
    )


class SenderAccountOutput(serializers.ModelSerializer):
    has_session = serializers.SerializerMethodField()
    working_hours_start = LocalTimeField(read_only=True)
    working_hours_end = LocalTimeField(read_only=True)

    class Meta:
        model = SenderAccount
        fields = [
            "id",
            *SENDER_ACCOUNT_FIELDS,
            "status",
            "status_reason",
            "cooling_down_until",
            "has_session",
            "session_updated_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_has_session(self, account: SenderAccount) -> bool:
        return account.session_updated_at is not None


@extend_schema(tags=["sender-accounts"])
class SenderAccountViewSet(
    TenantScoped,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    queryset = SenderAccount.objects.defer("password", "session_state").order_by("-id")
    serializer_class = SenderAccountOutput
    error_statuses = {"destroy": (409,)}

    @extend_schema(request=SenderAccountInput, responses={201: SenderAccountOutput})
    def create(self, request):
        data = SenderAccountInput(data=request.data)
        data.is_valid(raise_exception=True)
        # The wanted status (paused or active) is part of the one create call.
        account = services.sender_account_create(tenant=self.acting_tenant, **data.validated_data)
        return Response(SenderAccountOutput(account).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SenderAccountInput(partial=True), responses=SenderAccountOutput)
    def partial_update(self, request, pk=None):
        account = self.get_object()
        data = SenderAccountInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        account = services.sender_account_update(account, **data.validated_data)
        return Response(SenderAccountOutput(account).data)

    @extend_schema(responses={204: None}, description="Delete the account (409 while unfinished steps use it).")
    def destroy(self, request, pk=None):
        services.sender_account_delete(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

"""API tokens of the caller's tenant: `GET, POST /api-tokens/`, `GET, DELETE /api-tokens/{id}/`.

The key is returned once, by the POST that creates the token; only its
hash is stored. DELETE revokes (the row stays, with `revoked_at`).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from reachly.api.base import TenantScoped, TextField, acting_user
from reachly.tenants.models import ApiToken
from reachly.tenants.services import api_token_create, api_token_revoke


class TokenInput(serializers.Serializer):
    name = TextField(max_length=128)


class TokenOutput(serializers.ModelSerializer):
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "active", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = fields


class TokenCreatedOutput(TokenOutput):
    key = TextField(help_text="Send as `Authorization: Token <key>`; shown only this once.")

    class Meta(TokenOutput.Meta):
        fields = [*TokenOutput.Meta.fields, "key"]
        read_only_fields = fields


@extend_schema(tags=["api-tokens"])
class TokenViewSet(TenantScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = ApiToken.objects.order_by("-id")
    serializer_class = TokenOutput

    @extend_schema(request=TokenInput, responses={201: TokenCreatedOutput})
    def create(self, request):
        data = TokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = api_token_create(
            tenant=self.acting_tenant, name=data.validated_data["name"], created_by=acting_user(request)
        )
        token.key = key  # type: ignore[attr-defined]  # the one-time key for TokenCreatedOutput; not a field
        return Response(TokenCreatedOutput(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None}, description="Revoke the token (it stops working at once).")
    def destroy(self, request, pk=None):
        api_token_revoke(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

"""Campaigns and their leads.

GET, POST /campaigns/               GET, PATCH, DELETE /campaigns/{id}/
POST /campaigns/{id}/leads/import   CSV (multipart `file`) or a JSON list
GET  /campaigns/{id}/leads/         leads with their per-campaign status
POST /campaigns/{id}/jobs/          start a job for the campaign
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from reachly.api.base import (
    IdListField,
    LocalTimeField,
    TenantScoped,
    TextField,
    TimeZoneField,
    acting_user,
    json_object,
)
from reachly.api.filters import LeadFilter
from reachly.api.jobs import JobOutput
from reachly.api.pagination import Oldest
from reachly.api.parsers import SafeJSONParser
from reachly.campaigns import imports, services
from reachly.campaigns.errors import Invalid, TooLarge
from reachly.campaigns.jobs import campaign_job_start
from reachly.campaigns.models import Campaign, Lead, SenderAccount
from reachly.orchestration.graph import Priority
from reachly.webhooks.fanout import SYSTEM_PREFIX

PRIORITIES = Priority.choices


class CampaignInput(serializers.Serializer):
    name = TextField(max_length=200)
    brief = TextField(max_length=20_000, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=Campaign.Status.choices, required=False)
    sender_accounts = IdListField(required=False, max_length=1000, help_text="Ids of this tenant's sender accounts.")
    priority = serializers.ChoiceField(choices=PRIORITIES, required=False)
    timezone = TimeZoneField(required=False)
    schedule_start = LocalTimeField(required=False, allow_null=True, help_text="In the campaign's time zone.")
    schedule_end = LocalTimeField(required=False, allow_null=True)
    settings = serializers.JSONField(required=False, validators=[json_object], help_text="Free-form options.")

    def validate_name(self, value: str) -> str:
        # A campaign's jobs are named after it; "system:" marks Reachly's own jobs.
        if value.startswith(SYSTEM_PREFIX):
            raise serializers.ValidationError(f"names starting with {SYSTEM_PREFIX!r} are reserved")
        return value


class CampaignOutput(serializers.ModelSerializer):
    sender_accounts: serializers.PrimaryKeyRelatedField[SenderAccount] = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True
    )
    lead_count = serializers.IntegerField(read_only=True)
    schedule_start = LocalTimeField(read_only=True, allow_null=True)
    schedule_end = LocalTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "brief",
            "status",
            "sender_accounts",
            "priority",
            "timezone",
            "schedule_start",
            "schedule_end",
            "settings",
            "lead_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


@extend_schema_field({"type": "string", "anyOf": [{"format": "email"}, {"maxLength": 0}]})
class OptionalEmailOutput(serializers.CharField):
    """An e-mail address, or "" when the lead has none (not `format: email`
    alone, which "" does not satisfy)."""


class LeadOutput(serializers.ModelSerializer):
    email = OptionalEmailOutput(read_only=True)

    class Meta:
        model = Lead
        fields = [
            "id",
            "campaign",
            "profile_url",
            "first_name",
            "last_name",
            "full_name",
            "company",
            "title",
            "email",
            "custom_fields",
            "status",
            "status_detail",
            "sender_account",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class RowErrorOutput(serializers.Serializer):
    row = serializers.IntegerField(help_text="CSV: the spreadsheet row (header = 1). JSON: the list index (from 0).")
    field = TextField()
    message = TextField()


class ImportOutput(serializers.Serializer):
    rows = serializers.IntegerField(help_text="Lead rows read (blank lines skipped).")
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField(help_text="Rows repeating an earlier row or a lead already in the campaign.")
    rejected = serializers.IntegerField(help_text="Rows with an invalid value (see errors).")
    errors = RowErrorOutput(  # type: ignore[assignment]  # a field, not Serializer.errors: the metaclass moves it
        many=True, help_text="Rejected and duplicate rows (at most 1000 listed)."
    )
    errors_truncated = serializers.BooleanField()
    format = serializers.DictField(child=TextField(), help_text="Detected encoding and delimiter.")
    warnings = serializers.ListField(
        child=TextField(),
        help_text="Every guess the reader made (encoding, delimiter) and every column it renamed or set aside.",
    )


class LeadImportInput(serializers.Serializer):
    """One lead of a JSON import (other keys are kept as custom fields)."""

    profile_url = TextField(help_text="Also: linkedin_url, url.")
    first_name = TextField(required=False)
    last_name = TextField(required=False)
    full_name = TextField(required=False, help_text="Also: name.")
    company = TextField(required=False)
    title = TextField(required=False)
    email = TextField(required=False)


class CsvUpload(serializers.Serializer):
    file = serializers.FileField(help_text="CSV: UTF-8 (BOM or not) or Latin-1/Windows-1252; `,` `;` tab or `|`.")


class CampaignJobInput(serializers.Serializer):
    priority = serializers.ChoiceField(choices=PRIORITIES, required=False, help_text="Default: the campaign's.")


@extend_schema(tags=["campaigns"])
class CampaignViewSet(TenantScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Campaign.objects.annotate(lead_count=Count("leads")).prefetch_related("sender_accounts").order_by("-id")
    serializer_class = CampaignOutput
    error_statuses = {"destroy": (409,)}

    def _fresh(self, campaign: Campaign) -> dict:
        return CampaignOutput(self.get_queryset().get(pk=campaign.pk)).data

    @extend_schema(request=CampaignInput, responses={201: CampaignOutput})
    def create(self, request):
        data = CampaignInput(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = services.campaign_create(tenant=self.acting_tenant, **data.validated_data)
        return Response(self._fresh(campaign), status=status.HTTP_201_CREATED)

    @extend_schema(request=CampaignInput(partial=True), responses=CampaignOutput)
    def partial_update(self, request, pk=None):
        campaign = self.get_object()
        data = CampaignInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.campaign_update(campaign, **data.validated_data)
        return Response(self._fresh(campaign))

    @extend_schema(responses={204: None}, description="Delete the campaign and its leads (409 while jobs run).")
    def destroy(self, request, pk=None):
        services.campaign_delete(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class CampaignChild(TenantScoped):
    """Views under /campaigns/{id}/: the campaign must be the caller's."""

    def campaign(self) -> Campaign:
        return self.scoped_get(Campaign.objects.all(), pk=self.kwargs["pk"])


@extend_schema(tags=["campaigns"])
class CampaignLeadList(CampaignChild, generics.ListAPIView):
    serializer_class = LeadOutput
    pagination_class = Oldest
    filterset_class = LeadFilter
    queryset = Lead.objects.all()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Lead.objects.none()
        return self.scope(Lead.objects.filter(campaign=self.campaign()))


@extend_schema(tags=["campaigns"])
class LeadImport(CampaignChild, APIView):
    parser_classes = [MultiPartParser, SafeJSONParser]
    error_statuses = {"post": (413,)}

    @extend_schema(
        request={"multipart/form-data": CsvUpload, "application/json": LeadImportInput(many=True)},
        responses={200: ImportOutput},
        description=(
            "Import leads from a CSV file (multipart field `file`) or a JSON list. Headers match"
            " case-insensitively with aliases (profile_url/linkedin_url/url, first_name, last_name,"
            " full_name/name, company, title, email); other columns are kept as custom fields. Invalid rows are"
            " rejected with {row, field, message}; duplicates (within the file or already in the campaign) are"
            " counted and listed. Over REACHLY_IMPORT_MAX_BYTES: 413; over REACHLY_IMPORT_MAX_ROWS rows: 400."
        ),
        examples=[
            OpenApiExample(
                "JSON",
                value={"profile_url": "https://sandbox.test/in/ada", "name": "Ada Lovelace", "team": "R&D"},
                request_only=True,
                media_type="application/json",
            )
        ],
    )
    def post(self, request, pk=None):
        campaign = self.campaign()
        limit = settings.REACHLY_IMPORT_MAX_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            raise TooLarge(
                f"the upload is {length / 1e6:.1f} MB; the limit is {limit / 1e6:.1f} MB per import",
                details={"max_bytes": limit},
            )
        if request.content_type.startswith("multipart/"):
            upload = request.FILES.get("file")
            if upload is None:
                raise Invalid("send the CSV file in the multipart field `file`", field="file")
            if upload.size > limit:
                raise TooLarge(f"the file is {upload.size / 1e6:.1f} MB; the limit is {limit / 1e6:.1f} MB")
            result = imports.lead_import_csv(campaign=campaign, file=upload.file)
        else:
            result = imports.lead_import_rows(campaign=campaign, rows=request.data)
        return Response(result.as_dict())


@extend_schema(tags=["campaigns"])
class CampaignJobs(CampaignChild, APIView):
    error_statuses = {"post": (409,)}

    @extend_schema(request=CampaignJobInput, responses={201: JobOutput}, description="Start a job for the campaign.")
    def post(self, request, pk=None):
        campaign = self.campaign()
        data = CampaignJobInput(data=request.data)
        data.is_valid(raise_exception=True)
        job = campaign_job_start(campaign, priority=data.validated_data.get("priority"), by=acting_user(request))
        return Response(JobOutput(job).data, status=status.HTTP_201_CREATED)

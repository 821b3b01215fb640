"""Jobs: start, watch, control.

GET, POST /jobs/                     list; start an ad-hoc job from a step graph
GET  /jobs/{id}/                     status and progress
POST /jobs/{id}/pause|resume|cancel  control (409 when the job's state does not allow it)
GET  /jobs/{id}/steps/               its steps
GET  /jobs/{id}/events/?after=<seq>  its event history, for replay
"""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from agents import registry
from reachly.api.base import MAX_ID, TenantScoped, TextField, acting_user, json_object, no_nul
from reachly.api.filters import EventFilter, JobFilter, StepFilter
from reachly.api.pagination import BySeq, Newest, Oldest
from reachly.campaigns.errors import Invalid
from reachly.campaigns.models import Campaign
from reachly.orchestration import graph, services
from reachly.orchestration.graph import Priority
from reachly.orchestration.models import Event, Job, Step
from reachly.webhooks.fanout import SYSTEM_PREFIX

PRIORITIES = Priority.choices


class ProgressOutput(serializers.Serializer):
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    percent = serializers.FloatField()


class JobOutput(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    system = serializers.SerializerMethodField(help_text="A job Reachly runs for itself (webhook deliveries).")

    class Meta:
        model = Job
        fields = [
            "id",
            "name",
            "campaign",
            "status",
            "status_reason",
            "priority",
            "system",
            "progress",
            "last_seq",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(ProgressOutput)
    def get_progress(self, job: Job) -> dict[str, Any]:
        return {
            "total": job.total_steps,
            "done": job.succeeded_steps,
            "failed": job.failed_steps,
            "cancelled": job.cancelled_steps,
            "percent": job.percent,
        }

    def get_system(self, job: Job) -> bool:
        return job.name.startswith(SYSTEM_PREFIX)


class StepInput(serializers.Serializer):
    key = TextField(max_length=100, help_text="Unique in the job: letters, digits, _ . : -")
    agent = serializers.ChoiceField(choices=registry.roles())
    input = serializers.JSONField(required=False, validators=[json_object], help_text="The agent's input.")
    depends_on = serializers.ListField(
        child=TextField(max_length=100), required=False, max_length=1000, help_text="Keys of steps."
    )
    priority = serializers.ChoiceField(choices=PRIORITIES, required=False, allow_null=True)
    sender_account = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True)
    max_attempts = serializers.IntegerField(min_value=1, max_value=100, required=False, allow_null=True)


class JobInput(serializers.Serializer):
    name = TextField(max_length=200, required=False, allow_blank=True)
    priority = serializers.ChoiceField(choices=PRIORITIES, required=False, allow_null=True)
    campaign = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True)
    # What StepInput(many=True, ...) builds; the stubs lack many=True's max_length.
    steps: serializers.ListSerializer[Any] = serializers.ListSerializer(
        child=StepInput(), allow_empty=False, max_length=graph.MAX_STEPS
    )

    def validate_name(self, value: str) -> str:
        if value.startswith(SYSTEM_PREFIX):
            raise serializers.ValidationError(f"names starting with {SYSTEM_PREFIX!r} are reserved")
        return value


class StepOutput(serializers.ModelSerializer):
    error = serializers.SerializerMethodField()

    class Meta:
        model = Step
        fields = [
            "id",
            "key",
            "agent",
            "status",
            "priority",
            "depends_on",
            "sender_account",
            "attempts",
            "max_attempts",
            "wait_reason",
            "next_attempt_at",
            "input",
            "output",
            "error",
            "created_at",
            "enqueued_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.JSONField(allow_null=True))
    def get_error(self, step: Step) -> Any:
        if not isinstance(step.error, dict):
            return step.error
        return {k: v for k, v in step.error.items() if k != "trace"}  # tracebacks stay in the admin


class EventOutput(serializers.ModelSerializer):
    data = serializers.JSONField()  # type: ignore[assignment]  # a field, not Serializer.data: the metaclass moves it

    class Meta:
        model = Event
        fields = ["seq", "type", "ts", "step", "data"]
        read_only_fields = fields


@extend_schema(tags=["jobs"])
class JobViewSet(TenantScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Job.objects.all()
    serializer_class = JobOutput
    pagination_class = Newest
    filterset_class = JobFilter

    @extend_schema(
        request=JobInput,
        responses={201: JobOutput},
        description="Start an ad-hoc job from an explicit step graph. Errors name `steps[i].field`.",
        examples=[
            OpenApiExample(
                "Two steps",
                request_only=True,
                value={
                    "name": "research then write",
                    "priority": 5,
                    "steps": [
                        {"key": "research", "agent": "test", "input": {"items": 2}},
                        {"key": "write", "agent": "test", "depends_on": ["research"], "priority": 1},
                    ],
                },
            )
        ],
    )
    def create(self, request):
        data = JobInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        campaign = None
        if values.get("campaign") is not None:
            campaign = self.scope(Campaign.objects.all()).filter(pk=values["campaign"]).first()
            if campaign is None:
                raise Invalid(f"no campaign {values['campaign']} in this tenant", field="campaign")
        raw = [{k: v for k, v in step.items() if v is not None} for step in values["steps"]]
        job = services.job_start(
            tenant=self.acting_tenant,
            steps=graph.from_dicts(no_nul(raw)),
            campaign=campaign,
            name=values.get("name", ""),
            priority=values.get("priority"),
            created_by=acting_user(request),
        )
        return Response(JobOutput(job).data, status=status.HTTP_201_CREATED)


class JobChild(TenantScoped):
    def job(self) -> Job:
        return self.scoped_get(Job.objects.all(), pk=self.kwargs["pk"])


ACTIONS = {"pause": services.job_pause, "resume": services.job_resume, "cancel": services.job_cancel}


class JobControl(JobChild, APIView):
    """POST /jobs/{id}/<action>: one view per action (see `as_action`)."""

    action_name = ""
    error_statuses = {"post": (409,)}

    @classmethod
    def as_action(cls, name: str):
        description = {
            "pause": "Pause: running steps stop at their next safe point; resume continues from checkpoints.",
            "resume": "Resume a paused job.",
            "cancel": "Cancel: nothing of the job runs afterwards.",
        }[name]

        def post(self, request, pk=None):
            job = ACTIONS[self.action_name](self.job(), by=request.user)
            return Response(JobOutput(job).data)

        post = extend_schema(request=None, responses={200: JobOutput}, description=description, tags=["jobs"])(post)
        view = cast("type[JobControl]", type(f"Job{name.title()}", (cls,), {"action_name": name, "post": post}))
        return view.as_view()


@extend_schema(tags=["jobs"])
class JobSteps(JobChild, generics.ListAPIView):
    serializer_class = StepOutput
    pagination_class = Oldest
    filterset_class = StepFilter
    queryset = Step.objects.all()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Step.objects.none()
        return self.scope(Step.objects.filter(job=self.job()))


@extend_schema(tags=["jobs"])
class JobEvents(JobChild, generics.ListAPIView):
    """A job's events in sequence order; `?after=<seq>` replays what a client missed."""

    serializer_class = EventOutput
    pagination_class = BySeq
    filterset_class = EventFilter
    queryset = Event.objects.all()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Event.objects.none()
        return self.scope(Event.objects.filter(job=self.job()))

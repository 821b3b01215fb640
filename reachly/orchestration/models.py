"""Jobs, steps and everything the control plane records about them.

PostgreSQL is the source of truth (shared/DESIGN.md, principle 1): a step
exists here before any broker message for it exists, and every state change
is a row update plus an Event with the job's next sequence number.

Statuses and their transitions: states.py (STEP_TRANSITIONS,
JOB_TRANSITIONS), performed by the named statements of transitions.py and
drawn in docs/architecture.md ("A step's life").
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from reachly.orchestration import progress
from reachly.orchestration.graph import PRIORITIES
from reachly.tenants.models import Tenant


class JobStatus(models.TextChoices):
    RUNNING = "running"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class StepStatus(models.TextChoices):
    BLOCKED = "blocked"  # waiting for dependencies
    READY = "ready"  # may be admitted once next_attempt_at has passed
    ENQUEUED = "enqueued"  # admitted: a message is (or should be) in agent.<role>
    RUNNING = "running"  # claimed by a worker holding a lease
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STEP_STATUSES = (StepStatus.ENQUEUED, StepStatus.RUNNING)
TERMINAL_STEP_STATUSES = (StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.CANCELLED)
TERMINAL_JOB_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class Job(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="jobs")
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.RUNNING)
    status_reason = models.CharField(max_length=500, blank=True)
    priority = models.PositiveSmallIntegerField(default=5)
    created_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Progress counters, updated in the same statement as the step change.
    total_steps = models.PositiveIntegerField(default=0)
    succeeded_steps = models.PositiveIntegerField(default=0)
    failed_steps = models.PositiveIntegerField(default=0)
    cancelled_steps = models.PositiveIntegerField(default=0)
    # The last Event sequence number; the job row lock orders a job's events.
    last_seq = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_progress_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "status", "-created_at"], name="job_tenant_status"),
            models.Index(fields=["campaign", "-created_at"], name="job_campaign"),
            models.Index(
                fields=["last_progress_at"],
                condition=Q(status="running"),
                name="job_running_progress",
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"job {self.pk}"

    @property
    def percent(self) -> float:
        return progress.percent(self.total_steps, self.succeeded_steps, self.status)


class Step(models.Model):
    # Indexes are kept few on purpose: every status change rewrites the row
    # in every index. `job` is covered by (job, key); tenant-wide reads go
    # through the dispatcher's indexes.
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="steps", db_index=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=100)
    agent = models.CharField(max_length=64)
    input = models.JSONField(default=dict, blank=True)
    output = models.JSONField(null=True, blank=True)
    # Progress saved by the agent at safe points; a resumed step starts here.
    checkpoint = models.JSONField(default=dict, blank=True)
    depends_on = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    # Ids of the steps that depend on this one, and how many of this step's
    # own dependencies are not done yet: completing a step is one UPDATE.
    downstream = ArrayField(models.BigIntegerField(), default=list, blank=True)
    pending_deps = models.PositiveIntegerField(default=0)
    priority = models.PositiveSmallIntegerField(default=5)
    status = models.CharField(max_length=16, choices=StepStatus.choices, default=StepStatus.BLOCKED)
    sender_account = models.ForeignKey(
        "campaigns.SenderAccount",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="steps",
        db_index=False,
    )
    # The dispatcher's fairness lanes: the sender account id, or 0.
    lane = models.BigIntegerField(default=0)
    # Failed executions so far (limits, pauses and lost leases don't count
    # as failures, except a lease lost while running: the worker died).
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=5)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    wait_reason = models.CharField(max_length=255, blank=True)
    error = models.JSONField(null=True, blank=True)
    # Leases: the claim bumps the fencing token; every write from a worker
    # names its token, so a worker whose lease expired cannot write.
    fencing_token = models.BigIntegerField(default=0)
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Counted against monthly limits (once, at the first admission).
    counted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "key"], name="step_unique_key"),
            # Per sender account exclusivity, enforced by the database: at
            # most one step per account is admitted or running, whatever
            # number of dispatchers run.
            models.UniqueConstraint(
                fields=["sender_account"],
                condition=Q(status__in=["enqueued", "running"]),
                name="step_one_active_per_account",
            ),
            models.CheckConstraint(condition=Q(priority__in=PRIORITIES), name="step_priority_levels"),
        ]
        indexes = [
            # The dispatcher's candidate scan: per agent, tenant and lane, by
            # priority then due time, ready steps only.
            models.Index(
                fields=["agent", "tenant", "lane", "priority", "next_attempt_at"],
                condition=Q(status="ready"),
                name="step_dispatch",
            ),
            # The next due time per agent (the dispatcher's wake-up timer).
            models.Index(fields=["agent", "next_attempt_at"], condition=Q(status="ready"), name="step_due"),
            # Admitted and running steps, counted per agent and tenant.
            models.Index(
                fields=["agent", "tenant"],
                condition=Q(status__in=["enqueued", "running"]),
                name="step_active",
            ),
            models.Index(fields=["lease_expires_at"], condition=Q(status="running"), name="step_leases"),
            models.Index(fields=["enqueued_at"], condition=Q(status="enqueued"), name="step_enqueued"),
            models.Index(fields=["sender_account"], condition=Q(sender_account__isnull=False), name="step_account"),
        ]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.key}"


class StepAttempt(models.Model):
    """One execution of a step by a worker, kept with its outcome."""

    class Outcome(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"  # will be retried if attempts remain
        PAUSED = "paused"
        CANCELLED = "cancelled"
        RATE_LIMITED = "rate_limited"  # stopped mid-step by an action limit
        LEASE_LOST = "lease_lost"  # the worker died or stalled; reaped

    # Covered by the unique (step, fencing_token).
    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="attempts_log", db_index=False)
    fencing_token = models.BigIntegerField()
    worker = models.CharField(max_length=200)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["step", "started_at"]
        constraints = [
            models.UniqueConstraint(fields=["step", "fencing_token"], name="attempt_unique_token"),
        ]

    def __str__(self) -> str:
        return f"step {self.step_id} attempt #{self.fencing_token} ({self.outcome})"


class Event(models.Model):
    """A state change, numbered per job (the live stream replays from here)."""

    # job is covered by the unique (job, seq), tenant by (tenant, ts).
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events", db_index=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    seq = models.BigIntegerField()
    type = models.CharField(max_length=64)
    # Events go with their job; a plain reference keeps the log append-only
    # (no index, no cascade query when steps are deleted with the job).
    step = models.ForeignKey(
        Step, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    data = models.JSONField(default=dict, blank=True)
    ts = models.DateTimeField()

    class Meta:
        ordering = ["job", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["job", "seq"], name="event_unique_seq"),
        ]
        indexes = [models.Index(fields=["tenant", "ts"], name="event_tenant_ts")]

    def __str__(self) -> str:
        return f"{self.job_id}#{self.seq} {self.type}"


class Effect(models.Model):
    """The idempotency ledger: one row per external effect, by key.

    A row in `started` means an earlier run began the effect and did not
    record its end (it crashed): whether the effect happened must be checked
    on the target before trying again (see effects.py).
    """

    class State(models.TextChoices):
        STARTED = "started"
        DONE = "done"

    key = models.CharField(max_length=255, unique=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey(Job, null=True, on_delete=models.SET_NULL, related_name="+")
    step = models.ForeignKey(Step, null=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=8, choices=State.choices, default=State.STARTED)
    result = models.JSONField(null=True, blank=True)
    fencing_token = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"


class RateLimit(models.Model):
    """A global limit rule, enforced in Redis across all workers (limiter.py).

    Which steps or actions it applies to: the filled-in fields must match
    (empty = any). `per` splits the counter: one for everyone, one per tenant
    or one per sender account. Periods are sliding windows, except
    `calendar_day`, counted per day in the account's (else tenant's) time zone.
    """

    class Subject(models.TextChoices):
        STEPS = "steps"
        ACTIONS = "actions"
        TOKENS = "tokens"

    class Period(models.TextChoices):
        SECOND = "second"
        MINUTE = "minute"
        HOUR = "hour"
        DAY = "day"
        CALENDAR_DAY = "calendar_day"

    class Per(models.TextChoices):
        GLOBAL = "global"
        TENANT = "tenant"
        ACCOUNT = "account"

    name = models.CharField(max_length=128, blank=True)
    subject = models.CharField(max_length=8, choices=Subject.choices, default=Subject.STEPS)
    agent = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64, blank=True)
    provider = models.CharField(max_length=64, blank=True)
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="rate_limits")
    sender_account = models.ForeignKey(
        "campaigns.SenderAccount", null=True, blank=True, on_delete=models.CASCADE, related_name="rate_limits"
    )
    per = models.CharField(max_length=8, choices=Per.choices, default=Per.GLOBAL)
    limit = models.PositiveIntegerField()
    period = models.CharField(max_length=16, choices=Period.choices)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["subject", "agent", "id"]

    def __str__(self) -> str:
        return self.name or f"{self.limit} {self.subject}/{self.period}"


class UsageCounter(models.Model):
    """Per tenant, agent and month: what was used (for limits and /usage/)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="usage")
    agent = models.CharField(max_length=64)
    month = models.DateField()  # first day of the month, UTC
    steps = models.PositiveIntegerField(default=0)
    actions = models.PositiveIntegerField(default=0)
    llm_tokens = models.PositiveBigIntegerField(default=0)
    llm_cost = models.DecimalField(max_digits=12, decimal_places=6, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "agent", "month"], name="usage_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}:{self.agent}:{self.month:%Y-%m}"


class Lane(models.Model):
    """A sender account's admission state, as the control plane sees it.

    The dispatcher, the reconciler and the runner's limits read this table,
    never campaigns' tables (docs/architecture.md, "Sender accounts and
    lanes"). One row per sender account, written only by
    reachly.orchestration.services.lane_set, which the campaigns accounts
    service calls whenever an account's status, cool-down or time zone
    changes. A step on an account without a lane row is not admitted.

    Admitting now = `admitting` and (`resume_at` is null or past).
    """

    # The lane number of Step.lane: the sender account's id.
    account = models.OneToOneField(
        "campaigns.SenderAccount", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    # No index: the table is one small row per account, read by primary key.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    # False while the account is paused, needs a login or is disabled.
    admitting = models.BooleanField(default=True)
    # The end of a cool-down (UTC); steps wait until then.
    resume_at = models.DateTimeField(null=True, blank=True)
    # The account's IANA time zone: daily caps count calendar days there.
    timezone = models.CharField(max_length=64, default="UTC")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"lane {self.account_id}"


class SinkRecord(models.Model):
    """The `test` agent's stand-in for an external system: one row per effect
    it performs. Deliberately not unique, so a duplicate effect would show."""

    step_id = models.BigIntegerField()
    job_id = models.BigIntegerField()
    item = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["step_id", "item"], name="sink_step_item")]

    def __str__(self) -> str:
        return f"step {self.step_id} item {self.item}"


__all__ = [
    "ACTIVE_STEP_STATUSES",
    "TERMINAL_JOB_STATUSES",
    "TERMINAL_STEP_STATUSES",
    "Effect",
    "Event",
    "Job",
    "JobStatus",
    "Lane",
    "RateLimit",
    "SinkRecord",
    "Step",
    "StepAttempt",
    "StepStatus",
    "UsageCounter",
]

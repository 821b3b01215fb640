"""Every agent role Reachly knows: its kind, queue, worker group and limits.

The queue names are a contract (shared/DESIGN.md, "Contracts"): one Celery
queue per role, `agent.<role>`. Worker groups decide which processes consume
which queues (Procfile, k8s): browser agents need Chromium and memory, LLM and
HTTP agents are I/O bound and run at high concurrency.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agents.base import Agent


class Kind(StrEnum):
    LLM = "llm"
    BROWSER = "browser"
    HTTP = "http"
    TEST = "test"


class Group(StrEnum):
    """Worker process groups (one Deployment each in k8s)."""

    BROWSER = "browser"
    GENERAL = "general"  # LLM and HTTP agents: threads, high concurrency
    CONTROL = "control"


@dataclass(frozen=True)
class LimitSpec:
    """A default limit shipped with a role (operators add more in the admin).

    `subject` is what is counted: "steps" (checked before a step starts) or
    "actions" (checked by the agent before each external action). `per`
    splits the counter: "global" (one counter for everyone), "tenant" or
    "account".
    """

    limit: int
    period: str  # second | minute | hour | day | calendar_day
    subject: str = "steps"
    action: str = ""
    per: str = "global"


@dataclass(frozen=True)
class AgentSpec:
    role: str
    kind: Kind
    title: str
    description: str
    implementation: str  # "module:Class"
    needs_account: bool = False
    standard: bool = True  # one of the seven agents of the plan matrix
    default_priority: int = 5
    limits: tuple[LimitSpec, ...] = field(default_factory=tuple)
    # Steps short enough (milliseconds) to travel several to a message.
    batchable: bool = False

    @property
    def queue(self) -> str:
        return f"agent.{self.role}"

    @property
    def group(self) -> Group:
        return Group.BROWSER if self.kind is Kind.BROWSER else Group.GENERAL


CONTROL_QUEUE = "control"

AGENTS: dict[str, AgentSpec] = {
    spec.role: spec
    for spec in (
        AgentSpec(
            "activity_planner",
            Kind.LLM,
            "Activity planner",
            "Turns a campaign brief into a graph of steps.",
            "agents.llm.roles:ActivityPlanner",
            # The seed: planning always runs urgent, for fast feedback.
            default_priority=1,
        ),
        AgentSpec(
            "copywriter",
            Kind.LLM,
            "Copywriter",
            "Writes connection notes, follow-ups and posts.",
            "agents.llm.roles:Copywriter",
        ),
        AgentSpec(
            "seo_specialist",
            Kind.LLM,
            "SEO specialist",
            "Keyword research and on-page recommendations.",
            "agents.llm.roles:SeoSpecialist",
        ),
        AgentSpec(
            "social_media_manager",
            Kind.LLM,
            "Social media manager",
            "Plans and drafts social posts.",
            "agents.llm.roles:SocialMediaManager",
        ),
        AgentSpec(
            "paid_ads_manager",
            Kind.LLM,
            "Paid ads manager",
            "Drafts ad copy and budgets.",
            "agents.llm.roles:PaidAdsManager",
        ),
        AgentSpec(
            "data_analyst",
            Kind.LLM,
            "Data analyst",
            "Summarises a job's results and metrics.",
            "agents.llm.roles:DataAnalyst",
        ),
        AgentSpec(
            "content_researcher",
            Kind.BROWSER,
            "Content researcher",
            "Visits pages and extracts title, text and links.",
            "agents.browser.research:ContentResearcher",
        ),
        AgentSpec(
            "outreach",
            Kind.BROWSER,
            "Outreach",
            "Visits profiles, sends connection requests with a note, follows up.",
            "agents.browser.outreach:Outreach",
            needs_account=True,
            standard=False,
        ),
        AgentSpec(
            "webhook_delivery",
            Kind.HTTP,
            "Webhook delivery",
            "Delivers leads and results to a tenant's URL, signed.",
            "agents.http.webhooks:WebhookDelivery",
            standard=False,
            # The CSV-merger seed's default delivery rate: per step (one
            # request each, denied before a claim) and per request (steps
            # that deliver several items acquire "deliver" before each).
            limits=(LimitSpec(20, "second"), LimitSpec(20, "second", subject="actions", action="deliver")),
            batchable=True,
        ),
        AgentSpec(
            "notification",
            Kind.HTTP,
            "Notification",
            "Sends e-mail through Django's mail backend.",
            "agents.http.notify:Notification",
            standard=False,
            batchable=True,
        ),
        AgentSpec(
            "test",
            Kind.TEST,
            "Test agent",
            "A configurable no-op / sleep / fail / effect agent for tests and benchmarks.",
            "agents.testing:TestAgent",
            standard=False,
            batchable=True,
        ),
    )
}


def get(role: str) -> AgentSpec:
    try:
        return AGENTS[role]
    except KeyError:
        raise KeyError(f"unknown agent role {role!r}") from None


def roles() -> list[str]:
    return list(AGENTS)


def all_queues() -> list[str]:
    return [spec.queue for spec in AGENTS.values()] + [CONTROL_QUEUE]


def queues_for_group(group: Group | str) -> list[str]:
    if Group(group) is Group.CONTROL:
        return [CONTROL_QUEUE]
    return [spec.queue for spec in AGENTS.values() if spec.group == Group(group)]


@cache
def implementation(role: str) -> Agent:
    """The agent instance for a role (one per process, created on first use)."""
    module_name, _, cls_name = get(role).implementation.partition(":")
    module = importlib.import_module(module_name)
    agent: Agent = getattr(module, cls_name)()
    return agent

"""Webhooks' side of the agent ports (agents/ports.py: WebhookPort).

Registered with the step runner by WebhooksConfig.ready().
"""

from __future__ import annotations

from typing import Any

from reachly.orchestration.ports import StepScope
from reachly.webhooks.services import webhook_endpoint_target


class WebhookAdapter:
    """WebhookPort for one step: the step's tenant's endpoints only."""

    def __init__(self, scope: StepScope):
        self.scope = scope

    def target(self, endpoint_id: int) -> dict[str, Any] | None:
        return webhook_endpoint_target(tenant_id=self.scope.tenant_id, endpoint_id=endpoint_id)

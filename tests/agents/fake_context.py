"""An in-memory StepContext for agent unit tests (agents take plain data;
the real StepRun is exercised by the worker tests)."""

from __future__ import annotations

from typing import Any

from agents.base import RateLimited


class FakeContext:
    def __init__(self, input: dict[str, Any], *, tenant_id: int = 1, step_id: int = 10, leads=None, upstream=None):
        self.step_id = step_id
        self.job_id = 1
        self.tenant_id = tenant_id
        self.role = "webhook_delivery"
        self.input = input
        self.state: dict[str, Any] = {}
        self.attempt = 0
        self.sender_account_id = None
        self.effects: dict[str, Any] = {}
        self.acquired: list[str] = []
        self.deny_after: int | None = None
        self._leads = leads or {}
        self._upstream = upstream or {}

    def safe_point(self) -> None:
        pass

    def checkpoint(self, state: dict[str, Any]) -> None:
        self.state = dict(state)

    def acquire(self, action: str, weight: int = 1) -> None:
        if self.deny_after is not None and len(self.acquired) >= self.deny_after:
            raise RateLimited(1.0, f"test limit on {action}")
        self.acquired.append(action)

    def effect(self, key: str, fn, *, verify=None):
        if key not in self.effects:
            self.effects[key] = fn()
        return self.effects[key]

    def upstream(self) -> dict[str, Any]:
        return self._upstream

    @property
    def leads(self) -> FakeContext:
        return self  # the lead port, in memory

    def get(self, ids: list[int]) -> list[dict[str, Any]]:
        return [self._leads[i] for i in ids if i in self._leads]
